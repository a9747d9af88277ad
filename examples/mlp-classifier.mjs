// A small classifier trained end to end: a 2-layer MLP (fused linear + relu) on three
// Gaussian blobs, cross-entropy loss and the Adam optimizer. Usage: mlp-classifier [--epochs N]
import { Adam, crossEntropy, linear, manualSeed, randn, tensor, tidy, zeros } from 'wasmgrad';

const flag = process.argv.indexOf('--epochs');
const epochs = flag >= 0 ? Number(process.argv[flag + 1]) : 200;
manualSeed(0);

// 3 classes × 100 points around different centres.
const centres = [[2, 0], [-1, 1.7], [-1, -1.7]];
const perClass = 100;
const X = tidy(() => {
  const noise = randn([3 * perClass, 2]).mul(1.0);
  const means = tensor(centres.flatMap((c) => Array.from({ length: perClass }, () => c)));
  return noise.add(means);
});
const y = tensor(centres.flatMap((_, k) => Array(perClass).fill(k)), { dtype: 'int32' });

const hidden = 16;
const params = tidy(() => [
  randn([hidden, 2]).mul(Math.sqrt(2 / 2)).requiresGrad_(),
  zeros([hidden], { requiresGrad: true }),
  randn([3, hidden]).mul(Math.sqrt(1 / hidden)).requiresGrad_(),
  zeros([3], { requiresGrad: true }),
]);
const [w1, b1, w2, b2] = params;
const model = (x) => linear(linear(x, w1, b1, { activation: 'relu' }), w2, b2);
const optimizer = new Adam(params, { lr: 0.05 });

for (let epoch = 0; epoch <= epochs; epoch++) {
  tidy(() => {
    optimizer.zeroGrad();
    const loss = crossEntropy(model(X), y);
    loss.backward();
    optimizer.step();
    if (epoch % 50 === 0) console.log(`epoch ${String(epoch).padStart(4)}: loss = ${loss.item().toFixed(4)}`);
  });
}

const accuracy = tidy(() => {
  const predicted = model(X).data();
  const labels = y.data();
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    const row = predicted.subarray(i * 3, i * 3 + 3);
    if (row.indexOf(Math.max(...row)) === labels[i]) correct++;
  }
  return correct / labels.length;
});
console.log(`training accuracy: ${(accuracy * 100).toFixed(1)}%`);
optimizer.dispose();

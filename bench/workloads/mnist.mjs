// The training step of examples/mnist-mlp.mjs (MLP 784-256-128-10, relu, cross-entropy,
// Adam lr 1e-3, batch 64), wasmgrad against wasmgrad: the model as an nn.Sequential of
// modules, and the same model written with the functional ops (linear with a fused relu,
// crossEntropy) on plain tensors holding the same weights. The difference is what the module
// layer (Module.call, Sequential, CrossEntropyLoss, parameter bookkeeping) costs.
import { wg } from '../lib/libs.mjs';
import { mulberry32, uniform } from '../lib/rng.mjs';
import { moduleStep } from '../lib/steps.mjs';

export const BATCH = 64;
export const SIZES = [784, 256, 128, 10];
export const LR = 1e-3;
export const NAMES = ['0.weight', '0.bias', '2.weight', '2.bias', '4.weight', '4.bias']; // the Sequential's state dict

/** x [64, 784] in [0, 1) (digit-like pixel values), labels in 0…9, weights U(±1/√fan_in) in PyTorch's [out, in] layout. */
export function inputs() {
  const params = {};
  for (let l = 0; l < 3; l++) {
    const [fanIn, fanOut] = [SIZES[l], SIZES[l + 1]];
    const bound = 1 / Math.sqrt(fanIn);
    params[NAMES[2 * l]] = { data: uniform(fanIn * fanOut, -bound, bound, 300 + l), shape: [fanOut, fanIn] };
    params[NAMES[2 * l + 1]] = { data: uniform(fanOut, -bound, bound, 400 + l), shape: [fanOut] };
  }
  const next = mulberry32(5);
  return {
    x: { data: uniform(BATCH * SIZES[0], 0, 1, 4), shape: [BATCH, SIZES[0]] },
    labels: Int32Array.from({ length: BATCH }, () => Math.floor(next() * 10)),
    params,
  };
}

/** check/run/dispose around `step(readLoss)` over `params` (tensors in NAMES order). */
function harness(params, step, dispose) {
  return {
    check() {
      const out = { 'losses of 3 steps': [step(true), step(true), step(true)] };
      NAMES.forEach((n, i) => (out[`${n} after 3 steps`] = params[i].data()));
      return out;
    },
    run: () => step(false),
    dispose,
  };
}

/** The model as modules: nn.Sequential, nn.CrossEntropyLoss. */
function modules({ x: xIn, labels, params: pIn }) {
  const x = wg.tensor(xIn.data, { shape: xIn.shape });
  const y = wg.tensor(labels, { dtype: 'int32' });
  const { nn } = wg;
  const model = new nn.Sequential(new nn.Linear(784, 256), new nn.ReLU(), new nn.Linear(256, 128), new nn.ReLU(), new nn.Linear(128, 10));
  wg.tidy(() => model.loadStateDict(Object.fromEntries(NAMES.map((n) => [n, wg.tensor(pIn[n].data, { shape: pIn[n].shape })]))));
  const lossFn = new nn.CrossEntropyLoss();
  const opt = new wg.Adam(model.parameters(), { lr: LR });
  const step = moduleStep(model, lossFn, opt, x, y);
  const sd = model.stateDict({ clone: false });
  return harness(NAMES.map((n) => sd[n]), step, () => {
    for (const owner of [model, lossFn, opt]) owner.dispose();
    wg.dispose(x, y);
  });
}

/** The same model with functional ops on plain tensors. */
function functional({ x: xIn, labels, params: pIn }) {
  const x = wg.tensor(xIn.data, { shape: xIn.shape });
  const y = wg.tensor(labels, { dtype: 'int32' });
  const [w1, b1, w2, b2, w3, b3] = NAMES.map((n) => wg.tensor(pIn[n].data, { shape: pIn[n].shape, requiresGrad: true }));
  const params = [w1, b1, w2, b2, w3, b3];
  const opt = new wg.Adam(params, { lr: LR });
  const step = (readLoss) =>
    wg.tidy(() => {
      opt.zeroGrad();
      const h1 = wg.linear(x, w1, b1, { activation: 'relu' });
      const h2 = wg.linear(h1, w2, b2, { activation: 'relu' });
      const loss = wg.crossEntropy(wg.linear(h2, w3, b3), y);
      loss.backward();
      opt.step();
      return readLoss ? loss.item() : undefined;
    });
  return harness(params, step, () => {
    opt.dispose();
    wg.dispose(x, y, ...params);
  });
}

export default [
  {
    id: 'mnist-mlp',
    title: `MNIST MLP train step (Adam), batch ${BATCH}`,
    unit: 'samples/s',
    metric: (ms) => BATCH / (ms / 1000),
    // Compared with the functional ops, not TF.js: the target is the module layer's overhead.
    libs: ['wasmgrad', 'wasmgrad-functional'],
    overhead: { baseline: 'wasmgrad-functional', max: 5 },
    maxReps: 60,
    inputs,
    impl: { wasmgrad: modules, 'wasmgrad-functional': functional },
  },
];

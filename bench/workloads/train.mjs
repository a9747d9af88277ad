// Training steps reported as effective GFLOP/s (lib/flops.mjs): the MLP of
// examples/mnist-mlp.mjs and a small CNN, both with cross-entropy and Adam (lr 1e-3), batch 64.
// wasmgrad builds them from nn modules; TF.js from its ops (fused matMul/conv2d + relu,
// maxPool, logSoftmax) with `tf.train.adam(1e-3, 0.9, 0.999, 1e-8)` (PyTorch's epsilon) on
// the same weights, moved to TF.js's layouts: [in, out] matrices, NHWC images, HWIO filters.
import { convFlops, gflops, matmulFlops, TRAIN_FACTOR } from '../lib/flops.mjs';
import { tf, wg } from '../lib/libs.mjs';
import { mulberry32, uniform } from '../lib/rng.mjs';
import { minimizeStep, moduleStep } from '../lib/steps.mjs';
import { CONV_BACKWARD_NA } from './kernels.mjs';
import { BATCH, inputs as mlpInputs, LR, NAMES as MLP_NAMES, SIZES } from './mnist.mjs';

let made = 0; // TF.js variable names must be unique

const MLP_FLOPS = TRAIN_FACTOR * SIZES.slice(1).reduce((acc, out, l) => acc + matmulFlops(BATCH, out, SIZES[l]), 0);

// CNN: conv3×3 1→16 pad 1, relu, maxpool2, conv3×3 16→32 pad 1, relu, maxpool2, flatten, linear 1568→10.
const CNN_NAMES = ['0.weight', '0.bias', '3.weight', '3.bias', '7.weight', '7.bias']; // the Sequential's state dict
const CNN_SHAPES = [[16, 1, 3, 3], [16], [32, 16, 3, 3], [32], [10, 32 * 7 * 7], [10]];
const CNN_FAN_IN = [9, 9, 144, 144, 1568, 1568];
const CNN_FLOPS =
  TRAIN_FACTOR *
  (convFlops({ n: BATCH, cOut: 16, cIn: 1, kh: 3, kw: 3, oh: 28, ow: 28 }) +
    convFlops({ n: BATCH, cOut: 32, cIn: 16, kh: 3, kw: 3, oh: 14, ow: 14 }) +
    matmulFlops(BATCH, 10, 32 * 7 * 7));

/** x [64, 1, 28, 28] in [0, 1), labels in 0…9, weights U(±1/√fan_in) in PyTorch's layouts. */
function cnnInputs() {
  const next = mulberry32(42);
  const params = {};
  CNN_NAMES.forEach((n, i) => {
    const bound = 1 / Math.sqrt(CNN_FAN_IN[i]);
    params[n] = { data: uniform(CNN_SHAPES[i].reduce((a, b) => a * b, 1), -bound, bound, 501 + i), shape: CNN_SHAPES[i] };
  });
  return {
    x: { data: uniform(BATCH * 28 * 28, 0, 1, 41), shape: [BATCH, 1, 28, 28] },
    labels: Int32Array.from({ length: BATCH }, () => Math.floor(next() * 10)),
    params,
  };
}

/**
 * wasmgrad: `model` (an nn.Sequential) loaded with the inputs' weights, nn.CrossEntropyLoss, Adam.
 * check(): the gradients at the initial point, then the losses of 3 steps.
 */
function wasmgradTrainer(makeModel, names) {
  return ({ x: xIn, labels, params: pIn }) => {
    const { nn } = wg;
    const x = wg.tensor(xIn.data, { shape: xIn.shape });
    const y = wg.tensor(labels, { dtype: 'int32' });
    const model = makeModel(nn);
    wg.tidy(() => model.loadStateDict(Object.fromEntries(names.map((n) => [n, wg.tensor(pIn[n].data, { shape: pIn[n].shape })]))));
    const lossFn = new nn.CrossEntropyLoss();
    const opt = new wg.Adam(model.parameters(), { lr: LR });
    const sd = model.stateDict({ clone: false });
    const step = moduleStep(model, lossFn, opt, x, y);
    return {
      check() {
        const out = {};
        wg.tidy(() => lossFn.call(model.call(x), y).backward());
        for (const n of names) out[`grad ${n}`] = sd[n].grad.data();
        opt.zeroGrad();
        out['losses of 3 steps'] = [step(true), step(true), step(true)];
        return out;
      },
      run: () => step(false),
      dispose() {
        for (const owner of [model, lossFn, opt]) owner.dispose();
        wg.dispose(x, y);
      },
    };
  };
}

/**
 * TF.js: `loss(vars, x, oneHot)` on variables made by `toTf` from the inputs' weights;
 * `fromTf[name]` maps a gradient back to PyTorch's layout for the check.
 */
function tfjsTrainer({ names, toTf, fromTf, inputX, logits }) {
  return ({ x: xIn, labels, params: pIn }) => {
    const x = tf.tidy(() => inputX(tf.tensor(xIn.data, xIn.shape)));
    const oneHot = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), 10), 'float32'));
    const vars = names.map((n) => tf.tidy(() => tf.variable(toTf[n](tf.tensor(pIn[n].data, pIn[n].shape)), true, `train_${++made}`)));
    const loss = () => tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits(vars, x))), 1)));
    const optimizer = tf.train.adam(LR, 0.9, 0.999, 1e-8);
    const step = minimizeStep(optimizer, loss, vars);
    return {
      check() {
        const out = {};
        tf.tidy(() => {
          const { grads } = tf.variableGrads(loss, vars);
          names.forEach((n, i) => (out[`grad ${n}`] = fromTf[n](grads[vars[i].name]).dataSync()));
        });
        out['losses of 3 steps'] = [step(true), step(true), step(true)];
        return out;
      },
      run: () => step(false),
      dispose() {
        tf.dispose([x, oneHot, ...vars]);
        optimizer.dispose();
      },
    };
  };
}

/** The first 3 losses must be PyTorch 1.13's from the same inputs (scripts/bench-torch.py), to 1e-4 relative. */
function lossesMatchPyTorch(id, expected) {
  return (out) => {
    const got = out['losses of 3 steps'];
    if (!expected.every((want, i) => Math.abs(got[i] - want) <= 1e-4 * Math.abs(want))) {
      throw new Error(`${id}: losses of 3 steps ${got.join(', ')}, PyTorch 1.13 gives ${expected.join(', ')}`);
    }
  };
}

const same = (t) => t;
const transpose2d = (t) => tf.transpose(t);
const oihwToHwio = (t) => tf.transpose(t, [2, 3, 1, 0]);
const hwioToOihw = (t) => tf.transpose(t, [3, 2, 0, 1]);
// The linear layer after flatten: PyTorch's [10, 1568] reads the features in (c, h, w) order,
// TF.js's NHWC flatten gives (h, w, c), so the weight's columns are permuted to [1568 (h, w, c), 10].
const linearToNhwc = (t) => tf.reshape(tf.transpose(tf.reshape(t, [10, 32, 7, 7]), [2, 3, 1, 0]), [32 * 7 * 7, 10]);
const linearFromNhwc = (t) => tf.reshape(tf.transpose(tf.reshape(t, [7, 7, 32, 10]), [3, 2, 0, 1]), [10, 32 * 7 * 7]);

const mlpTfjs = tfjsTrainer({
  names: MLP_NAMES,
  toTf: Object.fromEntries(MLP_NAMES.map((n) => [n, n.endsWith('weight') ? transpose2d : same])),
  fromTf: Object.fromEntries(MLP_NAMES.map((n) => [n, n.endsWith('weight') ? transpose2d : same])),
  inputX: same,
  logits([w1, b1, w2, b2, w3, b3], x) {
    const h1 = tf.fused.matMul({ a: x, b: w1, bias: b1, activation: 'relu' });
    const h2 = tf.fused.matMul({ a: h1, b: w2, bias: b2, activation: 'relu' });
    return tf.fused.matMul({ a: h2, b: w3, bias: b3 });
  },
});

const cnnTfjs = tfjsTrainer({
  names: CNN_NAMES,
  toTf: { '0.weight': oihwToHwio, '0.bias': same, '3.weight': oihwToHwio, '3.bias': same, '7.weight': linearToNhwc, '7.bias': same },
  fromTf: { '0.weight': hwioToOihw, '0.bias': same, '3.weight': hwioToOihw, '3.bias': same, '7.weight': linearFromNhwc, '7.bias': same },
  inputX: (t) => tf.transpose(t, [0, 2, 3, 1]),
  logits([c1, c1b, c2, c2b, lw, lb], x) {
    const h1 = tf.maxPool(tf.fused.conv2d({ x, filter: c1, strides: 1, pad: 'same', bias: c1b, activation: 'relu' }), 2, 2, 'valid');
    const h2 = tf.maxPool(tf.fused.conv2d({ x: h1, filter: c2, strides: 1, pad: 'same', bias: c2b, activation: 'relu' }), 2, 2, 'valid');
    return tf.fused.matMul({ a: tf.reshape(h2, [BATCH, 32 * 7 * 7]), b: lw, bias: lb });
  },
});

const mlpModel = (nn) => new nn.Sequential(new nn.Linear(784, 256), new nn.ReLU(), new nn.Linear(256, 128), new nn.ReLU(), new nn.Linear(128, 10));
const cnnModel = (nn) =>
  new nn.Sequential(
    new nn.Conv2d(1, 16, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(16, 32, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Flatten(), new nn.Linear(32 * 7 * 7, 10),
  );

export default [
  {
    id: 'mlp-adam-b64',
    title: `MLP 784-256-128-10 train step (Adam), b${BATCH}`,
    unit: 'GFLOP/s',
    flops: MLP_FLOPS,
    metric: gflops(MLP_FLOPS),
    target: { cmp: '>=', relativeTo: 'matmul-1024', factor: 0.8 },
    checkReference: lossesMatchPyTorch('mlp-adam-b64', [2.3182857036590576, 2.2479641437530518, 2.1977598667144775]),
    maxReps: 60,
    inputs: mlpInputs,
    impl: { wasmgrad: wasmgradTrainer(mlpModel, MLP_NAMES), tfjs: mlpTfjs },
  },
  {
    id: 'cnn-adam-b64',
    title: `CNN train step (Adam), b${BATCH}`,
    unit: 'GFLOP/s',
    flops: CNN_FLOPS,
    metric: gflops(CNN_FLOPS),
    target: { cmp: '>=', relativeTo: 'matmul-1024', factor: 0.6 },
    threadsTarget: 1.6, // on every core, over one thread (issue #12)
    unsupported: CONV_BACKWARD_NA,
    checkReference: lossesMatchPyTorch('cnn-adam-b64', [2.3242557048797607, 2.2724215984344482, 2.238476037979126]),
    maxReps: 30,
    inputs: cnnInputs,
    impl: { wasmgrad: wasmgradTrainer(cnnModel, CNN_NAMES), tfjs: cnnTfjs },
  },
];

// Single kernels the CNN rows are made of, and the reductions along rows: maxPool2d against
// relu over the same tensor, amax against sum along rows, each convolution of the CNN alone
// (forward + both gradients) and a depthwise convolution. wasmgrad computes in NCHW with
// OIHW weights; TF.js in its own NHWC / HWIO layouts (inputs moved there untimed, outputs
// moved back for the check).
import { convFlops, gflops, TRAIN_FACTOR } from '../lib/flops.mjs';
import { tf, wg } from '../lib/libs.mjs';
import { uniform } from '../lib/rng.mjs';

const size = (shape) => shape.reduce((a, b) => a * b, 1);
const toNhwc = (t) => tf.transpose(t, [0, 2, 3, 1]);
const toNchw = (t) => tf.transpose(t, [0, 3, 1, 2]);
// TF.js cannot time a convolution's weight gradient here: see the README's "n/a" notes.
export const CONV_BACKWARD_NA = {
  'tfjs-wasm': 'the TF.js wasm backend has no Conv2DBackpropFilter kernel (a conv2d weight gradient throws)',
  'tfjs-cpu': "TF.js cpu's Conv2DBackpropFilter takes seconds per call (2.8 s for conv1's, 25 s for conv2's here)",
};

/**
 * What PyTorch 1.13 computes from the same inputs (scripts/bench-torch.py): sums of |value|
 * of each output, checked on every run because no TF.js backend checks these rows.
 */
export function matchesPyTorch(id, expected) {
  return (out) => {
    for (const [key, want] of Object.entries(expected)) {
      let got = 0;
      for (const v of out[key]) got += Math.abs(v);
      if (!(Math.abs(got - want) <= 1e-4 * Math.abs(want))) throw new Error(`${id}: sum |${key}| = ${got}, PyTorch 1.13 gives ${want}`);
    }
  };
}

/**
 * A unary op on one input `shape` in [-1, 1): `wgOp(x)` and `tfOp(x)`. With `nchw`, TF.js
 * gets the input as NHWC and its output is moved back to NCHW for the check.
 */
function unary({ shape, seed, nchw, wgOp, tfOp }) {
  return {
    inputs: () => ({ x: uniform(size(shape), -1, 1, seed) }),
    impl: {
      wasmgrad: ({ x: xIn }) => {
        const x = wg.tensor(xIn, { shape });
        return {
          check: () => wg.tidy(() => ({ output: wgOp(x).data() })),
          run: () => wg.tidy(() => void wgOp(x)),
          dispose: () => x.dispose(),
        };
      },
      tfjs: ({ x: xIn }) => {
        const x = tf.tidy(() => (nchw ? toNhwc(tf.tensor(xIn, shape)) : tf.tensor(xIn, shape)));
        return {
          check: () => tf.tidy(() => ({ output: (nchw ? toNchw(tfOp(x)) : tfOp(x)).dataSync() })),
          run: () => tf.tidy(() => void tfOp(x)),
          dispose: () => x.dispose(),
        };
      },
    },
  };
}

const POOL_SHAPE = [64, 16, 28, 28];
const ROWS_SHAPE = [1024, 1024];

/**
 * Convolution `x [N, C, H, W] · w [O, C/groups, 3, 3]`, padding 1, stride 1, no bias. With
 * `backward`, one repetition is the forward and both gradients for a fixed upstream gradient
 * (wasmgrad: `grad(y, [x, w], { gradOutputs })`; TF.js: `tf.grads` with `dy`).
 */
function conv({ id, title, x: xShape, w: wShape, groups = 1, backward, pytorch }) {
  const [n, c, h, wd] = xShape;
  const o = wShape[0];
  const yShape = [n, o, h, wd];
  const flops = (backward ? TRAIN_FACTOR : 1) * convFlops({ n, cOut: o, cIn: c, groups, kh: 3, kw: 3, oh: h, ow: wd });
  const wasmgrad = ({ x: xIn, w: wIn, dy: dyIn }) => {
    const x = wg.tensor(xIn, { shape: xShape, requiresGrad: backward });
    const w = wg.tensor(wIn, { shape: wShape, requiresGrad: backward });
    const dy = backward ? wg.tensor(dyIn, { shape: yShape }) : null;
    const compute = () => {
      const y = wg.conv2d(x, w, null, { padding: 1, groups });
      return backward ? [y, ...wg.grad(y, [x, w], { gradOutputs: dy })] : [y];
    };
    return {
      check: () => wg.tidy(() => Object.fromEntries(compute().map((t, i) => [['y', 'dx', 'dw'][i], t.data()]))),
      run: () => wg.tidy(() => void compute()),
      dispose: () => wg.dispose(x, w, ...(dy ? [dy] : [])),
    };
  };
  // TF.js filters: HWIO for a convolution, [kH, kW, C, multiplier] for a depthwise one.
  const depthwise = groups !== 1;
  if (depthwise && (groups !== c || o !== c || backward)) throw new Error(`${id}: only a depthwise forward (groups = C = O) is written for TF.js`);
  const tfjs = ({ x: xIn, w: wIn, dy: dyIn }) => {
    const x = tf.tidy(() => toNhwc(tf.tensor(xIn, xShape)));
    const w = tf.tidy(() => tf.transpose(tf.tensor(wIn, wShape), depthwise ? [2, 3, 0, 1] : [2, 3, 1, 0]));
    const dy = backward ? tf.tidy(() => toNhwc(tf.tensor(dyIn, yShape))) : null;
    const forward = (a, b) => (depthwise ? tf.depthwiseConv2d(a, b, 1, 'same') : tf.conv2d(a, b, 1, 'same'));
    const compute = () => {
      if (!backward) return [forward(x, w)];
      const { value, grads } = tf.valueAndGrads(forward)([x, w], dy);
      return [value, ...grads];
    };
    return {
      check: () =>
        tf.tidy(() => {
          const [y, dx, dw] = compute();
          const out = { y: toNchw(y).dataSync() };
          if (backward) Object.assign(out, { dx: toNchw(dx).dataSync(), dw: tf.transpose(dw, [3, 2, 0, 1]).dataSync() });
          return out;
        }),
      run: () => tf.tidy(() => void compute()),
      dispose: () => tf.dispose([x, w, ...(dy ? [dy] : [])]),
    };
  };
  return {
    id,
    title,
    unit: 'GFLOP/s',
    flops,
    metric: gflops(flops),
    ...(backward ? { unsupported: CONV_BACKWARD_NA, checkReference: matchesPyTorch(id, pytorch) } : {}),
    maxReps: 40,
    inputs: () => ({
      x: uniform(size(xShape), -1, 1, 71),
      w: uniform(size(wShape), -1 / Math.sqrt(9 * (c / groups)), 1 / Math.sqrt(9 * (c / groups)), 72),
      dy: backward ? uniform(size(yShape), -1, 1, 73) : null,
    }),
    impl: { wasmgrad, tfjs },
  };
}

export default [
  {
    id: 'relu-64x16x28x28',
    title: 'relu, [64,16,28,28]',
    unit: 'ms',
    maxReps: 60,
    ...unary({ shape: POOL_SHAPE, seed: 61, nchw: true, wgOp: (x) => x.relu(), tfOp: (x) => tf.relu(x) }),
  },
  {
    id: 'maxpool2d-64x16x28x28',
    title: 'maxPool2d k2 s2, [64,16,28,28]',
    unit: 'ms',
    target: { cmp: '<=', relativeTo: 'relu-64x16x28x28', factor: 2 },
    maxReps: 60,
    ...unary({ shape: POOL_SHAPE, seed: 61, nchw: true, wgOp: (x) => wg.maxPool2d(x, 2), tfOp: (x) => tf.maxPool(x, 2, 2, 'valid') }),
  },
  {
    id: 'sum-rows-1024',
    title: 'sum along rows, [1024,1024]',
    unit: 'ms',
    maxReps: 60,
    ...unary({ shape: ROWS_SHAPE, seed: 62, nchw: false, wgOp: (x) => x.sum(1), tfOp: (x) => tf.sum(x, 1) }),
  },
  {
    id: 'amax-rows-1024',
    title: 'amax along rows, [1024,1024]',
    unit: 'ms',
    maxReps: 60,
    ...unary({ shape: ROWS_SHAPE, seed: 62, nchw: false, wgOp: (x) => x.amax(1), tfOp: (x) => tf.max(x, 1) }),
  },
  conv({
    id: 'conv1-fwd-bwd', title: 'conv 1→16 3×3, [64,1,28,28], fwd+bwd', x: [64, 1, 28, 28], w: [16, 1, 3, 3], backward: true,
    pytorch: { y: 216803.81080349616, dx: 54300.222822429496, dw: 8649.778492808342 },
  }),
  conv({
    id: 'conv2-fwd-bwd', title: 'conv 16→32 3×3, [64,16,14,14], fwd+bwd', x: [64, 16, 14, 14], w: [32, 16, 3, 3], backward: true,
    pytorch: { y: 101117.16792905808, dx: 71572.2967225376, dw: 130533.4584333162 },
  }),
  conv({ id: 'conv-depthwise-fwd', title: 'depthwise conv 3×3, [32,32,28,28], fwd', x: [32, 32, 28, 28], w: [32, 1, 3, 3], groups: 32, backward: false }),
];

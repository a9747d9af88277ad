// Matrix products: 1024² · 1024², 256² · 256², and 512² products with a transposed operand
// (wasmgrad: a transposed view from .t(); TF.js: matMul's transposeA/transposeB flags).
import { tf, wg } from '../lib/libs.mjs';
import { uniform } from '../lib/rng.mjs';

const gflops = (n) => (ms) => (2 * n ** 3) / (ms * 1e6);

/** Speedup on every core (the threads build) that issue #12 asks of products from 256². */
const THREADS_TARGET = 1.8;

function make(n, transposeA, transposeB, target) {
  const inputs = () => ({ a: uniform(n * n, -1, 1, 11), b: uniform(n * n, -1, 1, 12) });
  const wasmgrad = ({ a: aIn, b: bIn }) => {
    const a = wg.tensor(aIn, { shape: [n, n] });
    const b = wg.tensor(bIn, { shape: [n, n] });
    const product = () => (transposeA ? a.t() : a).matmul(transposeB ? b.t() : b);
    return {
      check: () => wg.tidy(() => ({ product: product().data() })),
      run: () => wg.tidy(() => void product()), // frees the view and the product
      dispose: () => wg.dispose(a, b),
    };
  };
  const tfjs = ({ a: aIn, b: bIn }) => {
    const a = tf.tensor(aIn, [n, n]);
    const b = tf.tensor(bIn, [n, n]);
    const product = () => tf.matMul(a, b, transposeA, transposeB);
    return {
      check: () => tf.tidy(() => ({ product: product().dataSync() })),
      run: () => product().dispose(),
      dispose: () => tf.dispose([a, b]),
    };
  };
  const label = `${transposeA ? 'Aᵀ' : 'A'}·${transposeB ? 'Bᵀ' : 'B'}`;
  return {
    id: `matmul-${n}${transposeA ? '-At' : ''}${transposeB ? '-Bt' : ''}`,
    title: `matmul ${label}, ${n}×${n}`,
    unit: 'GFLOP/s',
    metric: gflops(n),
    ...(target === undefined ? {} : { target: { cmp: '>=', value: target } }),
    threadsTarget: THREADS_TARGET,
    maxReps: n >= 1024 ? 15 : 30,
    inputs,
    impl: { wasmgrad, tfjs },
  };
}

export default [make(1024, false, false, 32), make(512, false, true, 30), make(512, true, false, 30), make(256, false, false)];

// Per-op overhead: a chain of 10 000 `y = y + 1` on a scalar, inside tidy, in µs per op.
//  - op-recorded: wasmgrad's scalar requires grad, so every op records a graph node (the
//    target). TF.js records no tape outside a gradient function: its column is its
//    ordinary op path (the same as op-nograd).
//  - op-nograd: nothing requires grad, in both libraries.
//  - op-backward: the chain plus the backward pass through it (wasmgrad: y.backward();
//    TF.js: tf.grad), per forward op.
import { tf, wg } from '../lib/libs.mjs';

const N = 10_000;
const perOp = (ms) => (ms * 1000) / N;

function wasmgradChain(requiresGrad, backward) {
  return () => {
    const x = wg.scalar(0, { requiresGrad });
    const chain = () => {
      let y = x;
      for (let i = 0; i < N; i++) y = y.add(1);
      if (backward) y.backward();
      return y;
    };
    const check = () => {
      const out = wg.tidy(() => ({ y: chain().item() }));
      if (backward) out.grad = x.grad.item();
      x.zeroGrad();
      return out;
    };
    return {
      check,
      run() {
        wg.tidy(() => void chain());
        if (backward) x.zeroGrad();
      },
      dispose: () => x.dispose(),
    };
  };
}

function tfjsChain(backward) {
  return () => {
    const x = tf.scalar(0);
    const chain = (x0) => {
      let y = x0;
      for (let i = 0; i < N; i++) y = tf.add(y, 1);
      return y;
    };
    const check = () =>
      tf.tidy(() => {
        if (!backward) return { y: chain(x).dataSync()[0] };
        const { value, grad } = tf.valueAndGrad(chain)(x);
        return { y: value.dataSync()[0], grad: grad.dataSync()[0] };
      });
    return {
      check,
      run: () => tf.tidy(() => void (backward ? tf.grad(chain)(x) : chain(x))),
      dispose: () => x.dispose(),
    };
  };
}

const workload = (id, title, requiresGrad, backward, target) => ({
  id,
  title,
  unit: 'µs/op',
  metric: perOp,
  target,
  maxReps: 30,
  inputs: () => ({}),
  impl: { wasmgrad: wasmgradChain(requiresGrad, backward), tfjs: tfjsChain(backward) },
});

export default [
  workload('op-recorded', 'op overhead, recorded (tape)', true, false, { cmp: '<=', value: 1 }),
  workload('op-nograd', 'op overhead, no grad', false, false, null),
  workload('op-backward', 'op overhead, forward + backward', true, true, null),
];

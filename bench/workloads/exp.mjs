// Elementwise exp over 1M float32 values (an op that is bound by memory and the exp kernel).
import { tf, wg } from '../lib/libs.mjs';
import { uniform } from '../lib/rng.mjs';

const N = 1 << 20;

export default [
  {
    id: 'exp-1M',
    title: 'exp, 1M f32 (2^20)',
    unit: 'ms',
    target: { cmp: '<=', value: 1 },
    maxReps: 60,
    inputs: () => ({ x: uniform(N, -4, 4, 21) }),
    impl: {
      wasmgrad: ({ x: xIn }) => {
        const x = wg.tensor(xIn);
        return {
          check: () => wg.tidy(() => ({ exp: x.exp().data() })),
          run: () => x.exp().dispose(),
          dispose: () => x.dispose(),
        };
      },
      tfjs: ({ x: xIn }) => {
        const x = tf.tensor1d(xIn);
        return {
          check: () => tf.tidy(() => ({ exp: tf.exp(x).dataSync() })),
          run: () => tf.exp(x).dispose(),
          dispose: () => x.dispose(),
        };
      },
    },
  },
];

// examples/linear-regression.mjs: fit y = w·x + b to 7 points of y = 10x + 1 with MSE and
// a hand-written SGD step (lr 0.01), 500 epochs per repetition, from w = b = 0.
import { tf, wg } from '../lib/libs.mjs';

const EPOCHS = 500;
const LR = 0.01;
const XS = [1, 2, 3, 4, 5, 6, 7];
// What the example (and PyTorch 1.13) prints after 500 epochs.
const EXPECTED = { w: 9.9712, b: 1.1427 };

function wasmgrad() {
  const X = wg.tensor(XS);
  const Y = wg.tidy(() => X.mul(10).add(1));
  let w;
  let b;
  const train = () => {
    wg.dispose(w, b);
    w = wg.scalar(0, { requiresGrad: true });
    b = wg.scalar(0, { requiresGrad: true });
    for (let epoch = 0; epoch < EPOCHS; epoch++) {
      wg.tidy(() => {
        const loss = w.mul(X).add(b).sub(Y).pow(2).mean();
        loss.backward();
        wg.noGrad(() => {
          w.sub_(w.grad.mul(LR));
          b.sub_(b.grad.mul(LR));
        });
        w.grad.zero_();
        b.grad.zero_();
      });
    }
  };
  return {
    check() {
      train();
      return { w: w.item(), b: b.item() };
    },
    run: train,
    dispose: () => wg.dispose(X, Y, w, b),
  };
}

let made = 0; // TF.js variable names must be unique
function tfjs() {
  const X = tf.tensor1d(XS);
  const Y = tf.tidy(() => tf.add(tf.mul(X, 10), 1));
  const w = tf.tidy(() => tf.variable(tf.scalar(0), true, `linreg_w_${++made}`));
  const b = tf.tidy(() => tf.variable(tf.scalar(0), true, `linreg_b_${made}`));
  const train = () => {
    tf.tidy(() => {
      w.assign(tf.zerosLike(w));
      b.assign(tf.zerosLike(b));
    });
    for (let epoch = 0; epoch < EPOCHS; epoch++) {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(tf.add(tf.mul(w, X), b), Y))), [w, b]);
        w.assign(tf.sub(w, tf.mul(grads[w.name], LR)));
        b.assign(tf.sub(b, tf.mul(grads[b.name], LR)));
      });
    }
  };
  return {
    check() {
      train();
      return { w: w.dataSync()[0], b: b.dataSync()[0] };
    },
    run: train,
    dispose: () => tf.dispose([X, Y, w, b]),
  };
}

/** The wasmgrad result must also match the numbers the example documents. */
function checkExpected(out) {
  for (const k of ['w', 'b']) {
    if (Math.abs(out[k] - EXPECTED[k]) > 5e-4) {
      throw new Error(`linreg: ${k} = ${out[k]} after ${EPOCHS} epochs, expected ${EXPECTED[k]} (examples/linear-regression.mjs)`);
    }
  }
}

export default [
  {
    id: 'linreg-500',
    title: 'linear regression, 500 epochs',
    unit: 'ms',
    target: { cmp: '<=', value: 10 },
    maxReps: 25,
    inputs: () => ({}),
    impl: { wasmgrad, tfjs },
    checkReference: checkExpected,
  },
];

// One SGD training step of an MLP 784-256-128-10 (relu, MSE loss), at batch 128 and 32.
import { tf, wg } from '../lib/libs.mjs';
import { uniform } from '../lib/rng.mjs';
import { minimizeStep } from '../lib/steps.mjs';

const SIZES = [784, 256, 128, 10];
const LR = 0.01;
const NAMES = ['W1', 'b1', 'W2', 'b2', 'W3', 'b3'];
let made = 0; // TF.js variable names must be unique

/** Inputs x [batch,784] in [0,1), target [batch,10] in [0,1), weights U(±1/√fan_in). */
function inputs(batch) {
  const params = {};
  for (let l = 0; l < 3; l++) {
    const [fanIn, fanOut] = [SIZES[l], SIZES[l + 1]];
    const bound = 1 / Math.sqrt(fanIn);
    params[`W${l + 1}`] = { data: uniform(fanIn * fanOut, -bound, bound, 100 + l), shape: [fanIn, fanOut] };
    params[`b${l + 1}`] = { data: uniform(fanOut, -bound, bound, 200 + l), shape: [fanOut] };
  }
  return {
    x: { data: uniform(batch * SIZES[0], 0, 1, 1), shape: [batch, SIZES[0]] },
    target: { data: uniform(batch * SIZES[3], 0, 1, 2), shape: [batch, SIZES[3]] },
    params,
  };
}

function wasmgrad({ x: xIn, target: tIn, params: pIn }) {
  const x = wg.tensor(xIn.data, { shape: xIn.shape });
  const target = wg.tensor(tIn.data, { shape: tIn.shape });
  const p = Object.fromEntries(NAMES.map((n) => [n, wg.tensor(pIn[n].data, { shape: pIn[n].shape, requiresGrad: true })]));
  const params = Object.values(p);
  const loss = () => {
    const h1 = x.matmul(p.W1).add(p.b1).relu();
    const h2 = h1.matmul(p.W2).add(p.b2).relu();
    const out = h2.matmul(p.W3).add(p.b3);
    return out.sub(target).pow(2).mean();
  };
  const step = (readLoss) =>
    wg.tidy(() => {
      const l = loss();
      l.backward();
      wg.noGrad(() => {
        for (const q of params) q.sub_(q.grad.mul(LR));
      });
      for (const q of params) q.grad.zero_();
      return readLoss ? l.item() : undefined;
    });
  return {
    check() {
      const out = {};
      wg.tidy(() => loss().backward());
      for (const n of NAMES) out[`grad ${n}`] = p[n].grad.data();
      for (const q of params) q.zeroGrad();
      out['losses of 3 steps'] = [step(true), step(true), step(true)];
      for (const n of NAMES) out[`${n} after 3 steps`] = p[n].data();
      return out;
    },
    run: () => step(false),
    dispose: () => wg.dispose(x, target, ...params),
  };
}

function tfjs({ x: xIn, target: tIn, params: pIn }) {
  const x = tf.tensor(xIn.data, xIn.shape);
  const target = tf.tensor(tIn.data, tIn.shape);
  const p = Object.fromEntries(NAMES.map((n) => [n, tf.tidy(() => tf.variable(tf.tensor(pIn[n].data, pIn[n].shape), true, `mlp_${n}_${++made}`))]));
  const params = Object.values(p);
  const loss = () => {
    const h1 = tf.relu(tf.add(tf.matMul(x, p.W1), p.b1));
    const h2 = tf.relu(tf.add(tf.matMul(h1, p.W2), p.b2));
    const out = tf.add(tf.matMul(h2, p.W3), p.b3);
    return tf.mean(tf.squaredDifference(out, target));
  };
  const optimizer = tf.train.sgd(LR);
  const step = minimizeStep(optimizer, loss, params);
  return {
    check() {
      const out = {};
      tf.tidy(() => {
        const { grads } = tf.variableGrads(loss, params);
        for (const n of NAMES) out[`grad ${n}`] = grads[p[n].name].dataSync();
      });
      out['losses of 3 steps'] = [step(true), step(true), step(true)];
      for (const n of NAMES) out[`${n} after 3 steps`] = p[n].dataSync();
      return out;
    },
    run: () => step(false),
    dispose() {
      tf.dispose([x, target, ...params]);
      optimizer.dispose();
    },
  };
}

const mlp = (batch, target, threadsTarget) => ({
  id: `mlp-b${batch}`,
  title: `MLP train step, batch ${batch}`,
  unit: 'ms',
  target: { cmp: '<=', value: target },
  ...(threadsTarget === undefined ? {} : { threadsTarget }),
  maxReps: 40,
  inputs: () => inputs(batch),
  impl: { wasmgrad, tfjs },
});

// Issue #12: batch 128 at least 1.5× faster on every core than on one thread.
export default [mlp(128, 5, 1.5), mlp(32, 2)];

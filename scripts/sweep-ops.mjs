// Times many ops on one [1024, 1024] float32 tensor on one thread (by hand, never in CI) and
// prints each as ms, ns per element and a multiple of relu's time: a quick way to spot an
// op that fell off the vectorised paths (a libm call or a scalar loop per element shows up
// as 20–150× relu). Each op runs in a tidy and its result is disposed, so nothing piles up.
//
//   node scripts/sweep-ops.mjs [--dist path/to/dist] [--only softmax,pow]
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const { values: opts } = parseArgs({
  options: { dist: { type: 'string', default: new URL('../dist', import.meta.url).pathname }, only: { type: 'string' } },
});
const wg = await import(pathToFileURL(resolve(opts.dist, 'node.js')).href);
await wg.init({ threads: false });

const [R, C] = [1024, 1024];
const x = wg.randn([R, C]);
const y = wg.randn([R, C]);
const pos = wg.rand([R, C]).add(0.1);
const labels = wg.tensor(Int32Array.from({ length: R }, (_, i) => i % C), { dtype: 'int32' });
const mask = wg.triu(wg.full([R, C], -Infinity), 1);

const OPS = {
  relu: () => x.relu(), add: () => x.add(y), mulScalar: () => x.mul(2), addRowBias: () => x.add(y.narrow(0, 0, 1)),
  addColBias: () => x.add(y.narrow(1, 0, 1)), div: () => x.div(pos), maximum: () => wg.maximum(x, y), clamp: () => x.clamp(-1, 1),
  gt: () => x.gt(y), where: () => wg.where(x.gt(0), x, y), abs: () => x.abs(), neg: () => x.neg(), floor: () => x.floor(),
  exp: () => x.exp(), log: () => pos.log(), sqrt: () => pos.sqrt(), rsqrt: () => pos.rsqrt(), pow2: () => x.pow(2), pow3: () => x.pow(3),
  powHalf: () => pos.pow(0.5), pow1_7: () => pos.pow(1.7), sigmoid: () => x.sigmoid(), tanh: () => x.tanh(), silu: () => wg.silu(x),
  gelu: () => wg.gelu(x), softplus: () => wg.softplus(x), elu: () => wg.elu(x), leakyRelu: () => wg.leakyRelu(x), sin: () => x.sin(),
  sum: () => x.sum(), sumRows: () => x.sum(1), sumCols: () => x.sum(0), amaxRows: () => x.amax(1), argmaxRows: () => x.argmax(1),
  varRows: () => x.var(1), logsumexpRows: () => wg.logsumexp(x, 1), prodRows: () => pos.prod(1), cumsumRows: () => wg.cumsum(x, 1),
  norm: () => wg.norm(x), softmax: () => x.softmax(1), softmaxCausal: () => x.add(mask).softmax(1), logSoftmax: () => wg.logSoftmax(x, 1),
  layerNorm: () => wg.layerNorm(x, [C]), crossEntropy: () => wg.crossEntropy(x, labels), mse: () => wg.mseLoss(x, y),
  dropout: () => wg.dropout(x, 0.5, true), cat: () => wg.cat([x, y], 1), flip: () => wg.flip(x, [1]), tril: () => wg.tril(x),
  transposeCopy: () => x.t().clone(),
};

const only = opts.only?.split(',').filter(Boolean);
const run = (f) => wg.tidy(() => void f());
const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
function time(f) {
  for (let i = 0; i < 3; i++) run(f);
  const t = [];
  for (let i = 0; i < 11; i++) {
    const t0 = performance.now();
    run(f);
    t.push(performance.now() - t0);
  }
  return median(t);
}

const relu = time(OPS.relu);
for (const [name, f] of Object.entries(OPS)) {
  if (only && !only.some((o) => name.includes(o))) continue;
  try {
    const ms = time(f);
    console.log(`${name.padEnd(15)} ${ms.toFixed(3).padStart(8)} ms ${((ms * 1e6) / (R * C)).toFixed(2).padStart(6)} ns/element ${(ms / relu).toFixed(1).padStart(6)}× relu`);
  } catch (e) {
    console.log(`${name.padEnd(15)} failed: ${e.message}`);
  }
}
process.exit(0);

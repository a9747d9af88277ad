// Where the time of one training step goes, op by op, at 1 and at N threads (issue #12):
// each op of the MLP batch-128 SGD step (bench/workloads/mlp.mjs) and of the CNN Adam step
// (cnn-adam-b64) is replayed on its own, on inputs of the step's shapes, forward alone and
// forward + its own backward (wg.grad of that one op); the thread counts are interleaved rep
// by rep, and the table gives medians per call and the speedup. The whole steps are timed
// the same way, so the per-op rows can be checked against them.
//
//   node scripts/profile-step.mjs [--threads 2] [--reps 15] [--dist path/to/dist] [--only mlp|cnn]
//
// Needs the threads build (Node loads it by default). Per-op times include each call's
// JS overhead; "bwd" is (forward + backward) − forward, so it carries wg.grad's overhead.
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const { values: opts } = parseArgs({
  options: {
    threads: { type: 'string', default: '2' },
    reps: { type: 'string', default: '15' },
    dist: { type: 'string', default: new URL('../dist', import.meta.url).pathname },
    only: { type: 'string' },
  },
});
const wg = await import(pathToFileURL(resolve(opts.dist, 'node.js')).href);
const THREADS = Number(opts.threads);
const REPS = Number(opts.reps);
wg.tidy(() => wg.scalar(0).item());
if (wg.getNumThreads() < THREADS) wg.setNumThreads(THREADS);
if (wg.getNumThreads() !== THREADS) throw new Error(`cannot run ${THREADS} threads (got ${wg.getNumThreads()}): the threads build is needed`);

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** `fn()` in a tidy that frees its result too (a tidy keeps what its function returns). */
const run = (fn) => wg.tidy(() => void fn());

/** Milliseconds per call of `fn`, calls batched so that one sample takes about 2 ms. */
function sampler(fn) {
  let calls = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) run(fn);
    const ms = performance.now() - t0;
    if (ms > 2 || calls >= 1 << 12) break;
    calls *= 2;
  }
  return () => {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) run(fn);
    return (performance.now() - t0) / calls;
  };
}

/** Median ms per call of each fn at 1 and at THREADS threads, interleaved rep by rep. */
function timeAll(fns) {
  const samplers = fns.map(sampler);
  const times = fns.map(() => ({ 1: [], [THREADS]: [] }));
  for (let r = 0; r < REPS; r++) {
    for (const n of r % 2 ? [THREADS, 1] : [1, THREADS]) {
      wg.setNumThreads(n);
      samplers.forEach((s, i) => times[i][n].push(s()));
    }
  }
  wg.setNumThreads(THREADS);
  return times.map((t) => ({ one: median(t[1]), many: median(t[THREADS]) }));
}

const uniform = (shape, lo = -1, hi = 1) => wg.rand(shape).mul(hi - lo).add(lo);

/**
 * One op of a step: `run(...inputs)` gives its output; `grads` says which inputs the step
 * differentiates (their backward is timed with a gradient of the output's shape).
 */
function profile(title, stages, steps) {
  const rows = [];
  const fns = [];
  for (const s of stages) {
    const inputs = s.inputs();
    const needs = inputs.filter((_, i) => s.grads?.includes(i));
    fns.push(() => wg.noGrad(() => s.run(...inputs)));
    if (needs.length) {
      const g = wg.keep(wg.noGrad(() => wg.randn(wg.tidy(() => s.run(...inputs).shape))));
      fns.push(() => wg.grad(s.run(...inputs), needs, { gradOutputs: g }));
    }
    rows.push({ name: s.name, hasBwd: needs.length > 0 });
  }
  for (const [, step] of steps) fns.push(step);
  // A product that splits well: how much of the second core this run got.
  const a = wg.keep(wg.randn([512, 512]));
  fns.push(() => a.matmul(a));
  const t = timeAll(fns);
  let k = 0;
  const out = [];
  const total = { one: 0, many: 0 };
  for (const r of rows) {
    const fwd = t[k++];
    out.push([`${r.name}`, fwd.one, fwd.many]);
    total.one += fwd.one;
    total.many += fwd.many;
    if (r.hasBwd) {
      const both = t[k++];
      const bwd = { one: both.one - fwd.one, many: both.many - fwd.many };
      out.push([`  ↳ backward`, bwd.one, bwd.many]);
      total.one += bwd.one;
      total.many += bwd.many;
    }
  }
  out.push(['sum of the ops above', total.one, total.many]);
  for (const [name] of steps) {
    const s = t[k++];
    out.push([name, s.one, s.many]);
  }
  const ref = t[k++];
  out.push(['(machine check: matmul 512², 8 row blocks)', ref.one, ref.many]);
  const w = Math.max(...out.map((r) => r[0].length));
  console.log(`\n${title}: ms per call at 1 and ${THREADS} threads (medians of ${REPS} interleaved reps)`);
  console.log(`${'op'.padEnd(w)}  ${'1 thread'.padStart(9)}  ${`${THREADS} threads`.padStart(9)}  speedup  saved`);
  for (const [name, one, many] of out) {
    console.log(`${name.padEnd(w)}  ${one.toFixed(4).padStart(9)}  ${many.toFixed(4).padStart(9)}  ${(one / many).toFixed(2).padStart(6)}×  ${(one - many).toFixed(4).padStart(7)}`);
  }
}

function mlp() {
  const B = 128;
  const kept = (t) => wg.keep(t);
  const x = kept(uniform([B, 784], 0, 1));
  const target = kept(uniform([B, 10], 0, 1));
  const W1 = kept(uniform([784, 256], -0.035, 0.035).requiresGrad_());
  const b1 = kept(uniform([256], -0.035, 0.035).requiresGrad_());
  const W2 = kept(uniform([256, 128], -0.06, 0.06).requiresGrad_());
  const b2 = kept(uniform([128], -0.06, 0.06).requiresGrad_());
  const W3 = kept(uniform([128, 10], -0.09, 0.09).requiresGrad_());
  const b3 = kept(uniform([10], -0.09, 0.09).requiresGrad_());
  const act = (shape) => () => [kept(wg.randn(shape).requiresGrad_())];
  const stages = [
    { name: 'x·W1 [128,784]·[784,256]', inputs: () => [x, W1], run: (a, b) => a.matmul(b), grads: [1] },
    { name: '+b1 [128,256]', inputs: () => [kept(wg.randn([B, 256]).requiresGrad_()), b1], run: (a, b) => a.add(b), grads: [0, 1] },
    { name: 'relu [128,256]', inputs: act([B, 256]), run: (a) => a.relu(), grads: [0] },
    { name: 'h1·W2 [128,256]·[256,128]', inputs: () => [kept(wg.randn([B, 256]).requiresGrad_()), W2], run: (a, b) => a.matmul(b), grads: [0, 1] },
    { name: '+b2 [128,128]', inputs: () => [kept(wg.randn([B, 128]).requiresGrad_()), b2], run: (a, b) => a.add(b), grads: [0, 1] },
    { name: 'relu [128,128]', inputs: act([B, 128]), run: (a) => a.relu(), grads: [0] },
    { name: 'h2·W3 [128,128]·[128,10]', inputs: () => [kept(wg.randn([B, 128]).requiresGrad_()), W3], run: (a, b) => a.matmul(b), grads: [0, 1] },
    { name: '+b3 [128,10]', inputs: () => [kept(wg.randn([B, 10]).requiresGrad_()), b3], run: (a, b) => a.add(b), grads: [0, 1] },
    { name: 'sub target [128,10]', inputs: act([B, 10]), run: (a) => a.sub(target), grads: [0] },
    { name: 'pow 2 [128,10]', inputs: act([B, 10]), run: (a) => a.pow(2), grads: [0] },
    { name: 'mean [128,10]', inputs: act([B, 10]), run: (a) => a.mean(), grads: [0] },
    // On copies, with random gradients: the values random-walk instead of decaying into
    // subnormals, whose arithmetic is slow.
    { name: 'SGD update W1 (mul, sub_)', inputs: () => [kept(W1.detach().clone()), kept(wg.randn([784, 256]))], run: (w, g) => w.sub_(g.mul(0.01)) },
    { name: 'SGD update W2 (mul, sub_)', inputs: () => [kept(W2.detach().clone()), kept(wg.randn([256, 128]))], run: (w, g) => w.sub_(g.mul(0.01)) },
    { name: 'zero_ W1.grad [784,256]', inputs: () => [kept(wg.randn([784, 256]))], run: (g) => g.zero_() },
  ];
  const params = [W1, b1, W2, b2, W3, b3];
  const step = () => {
    const h1 = x.matmul(W1).add(b1).relu();
    const h2 = h1.matmul(W2).add(b2).relu();
    const l = h2.matmul(W3).add(b3).sub(target).pow(2).mean();
    const gs = wg.grad(l, params);
    // The update on copies, so the parameters stay the same from rep to rep.
    wg.noGrad(() => params.forEach((q, i) => q.detach().clone().sub_(gs[i].mul(0.01))));
  };
  profile('MLP 784-256-128-10, batch 128, SGD step', stages, [['whole step (fwd + bwd + update on copies)', step]]);
}

function cnn() {
  const B = 64;
  const kept = (t) => wg.keep(t);
  wg.manualSeed(1);
  const model = new wg.nn.Sequential(
    new wg.nn.Conv2d(1, 16, 3, { padding: 1 }), new wg.nn.ReLU(), new wg.nn.MaxPool2d(2),
    new wg.nn.Conv2d(16, 32, 3, { padding: 1 }), new wg.nn.ReLU(), new wg.nn.MaxPool2d(2),
    new wg.nn.Flatten(), new wg.nn.Linear(32 * 7 * 7, 10),
  );
  const [c1w, c1b, c2w, c2b, lw, lb] = model.parameters();
  const x = kept(wg.rand([B, 1, 28, 28]));
  const labels = kept(wg.tensor(Array.from({ length: B }, (_, i) => (i * 7) % 10), { dtype: 'int32' }));
  const act = (shape) => () => [kept(wg.randn(shape).requiresGrad_())];
  const stages = [
    { name: 'conv1 1→16 [64,1,28,28]', inputs: () => [x, c1w, c1b], run: (a, w, b) => wg.conv2d(a, w, b, { padding: 1 }), grads: [1, 2] },
    { name: 'relu [64,16,28,28]', inputs: act([B, 16, 28, 28]), run: (a) => a.relu(), grads: [0] },
    { name: 'maxpool2 [64,16,28,28]', inputs: act([B, 16, 28, 28]), run: (a) => wg.maxPool2d(a, 2), grads: [0] },
    { name: 'conv2 16→32 [64,16,14,14]', inputs: () => [kept(wg.randn([B, 16, 14, 14]).requiresGrad_()), c2w, c2b], run: (a, w, b) => wg.conv2d(a, w, b, { padding: 1 }), grads: [0, 1, 2] },
    { name: 'relu [64,32,14,14]', inputs: act([B, 32, 14, 14]), run: (a) => a.relu(), grads: [0] },
    { name: 'maxpool2 [64,32,14,14]', inputs: act([B, 32, 14, 14]), run: (a) => wg.maxPool2d(a, 2), grads: [0] },
    { name: 'flatten [64,32,7,7]', inputs: act([B, 32, 7, 7]), run: (a) => a.flatten(1), grads: [0] },
    { name: 'linear [64,1568]·[10,1568]ᵀ', inputs: () => [kept(wg.randn([B, 1568]).requiresGrad_()), lw, lb], run: (a, w, b) => wg.linear(a, w, b), grads: [0, 1, 2] },
    { name: 'crossEntropy [64,10]', inputs: act([B, 10]), run: (a) => wg.crossEntropy(a, labels), grads: [0] },
  ];
  const params = model.parameters();
  const lossFn = new wg.nn.CrossEntropyLoss();
  // Adam on copies of the parameters, so they stay the same from rep to rep.
  const copies = params.map((p) => kept(wg.noGrad(() => p.detach().clone()).requiresGrad_()));
  const adam = new wg.Adam(copies, { lr: 1e-3 });
  for (const [i, p] of copies.entries()) p.grad = kept(wg.randn(params[i].shape));
  stages.push({ name: 'Adam step (6 params)', inputs: () => [], run: () => adam.step() });
  const step = () => {
    const l = lossFn.forward(model.forward(x), labels);
    wg.grad(l, params);
  };
  profile('CNN Adam step, batch 64', stages, [['whole step fwd + bwd (no Adam)', step]]);
}

if (opts.only !== 'cnn') mlp();
if (opts.only !== 'mlp') cnn();

// Per-op profile of the MNIST CNN train step (bench's cnn-adam-b64) on one thread, and an
// A/B of two builds of the package in one process, interleaved rep by rep.
//
//   node [--experimental-wasm-relaxed-simd] scripts/profile-cnn.mjs [--build simd128|relaxed-simd|threads]
//        [--b <dist dir>] [--a <dist dir>] [--reps 30] [--only step,conv1,...]
//
// With only --b (default: ./dist): the median ms of each part. With --a too: per part the
// medians of both and the median of the per-rep ratios B/A (below 1: B is faster). The
// threads build runs with setNumThreads(1).
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const build = opt('build', 'simd128');
const reps = Number(opt('reps', '30'));
const only = opt('only', '')?.split(',').filter(Boolean);

async function load(dir) {
  const wg = await import(pathToFileURL(resolve(dir, 'node.js')).href);
  await wg.init(build === 'threads' ? { threads: true } : { simd: build, threads: false });
  if (build === 'threads') wg.setNumThreads(1);
  if (wg.simdVariant() !== (build === 'threads' ? 'simd128' : build)) throw new Error(`${dir}: got ${wg.simdVariant()}`);
  return wg;
}

/** Seeded uniform values in [lo, hi). */
function uniform(len, lo, hi, seed) {
  let s = seed >>> 0;
  const out = new Float32Array(len);
  for (let i = 0; i < len; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}

const B = 64;
const size = (shape) => shape.reduce((a, b) => a * b, 1);

/** Each part: (wg) => run(), which does the part once and frees what it made. */
const PARTS = {
  step(wg) {
    const { nn } = wg;
    const model = new nn.Sequential(
      new nn.Conv2d(1, 16, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
      new nn.Conv2d(16, 32, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
      new nn.Flatten(), new nn.Linear(32 * 7 * 7, 10),
    );
    const x = wg.tensor(uniform(B * 784, 0, 1, 41), { shape: [B, 1, 28, 28] });
    const y = wg.tensor(Int32Array.from({ length: B }, (_, i) => (i * 7) % 10), { dtype: 'int32' });
    const lossFn = new nn.CrossEntropyLoss();
    const adam = new wg.Adam(model.parameters(), { lr: 1e-3 });
    return () => wg.tidy(() => {
      adam.zeroGrad();
      lossFn.call(model.call(x), y).backward();
      adam.step();
    });
  },
  'conv1-fwd': (wg) => conv(wg, [B, 1, 28, 28], [16, 1, 3, 3], {}),
  'conv1-fwd-nobias': (wg) => conv(wg, [B, 1, 28, 28], [16, 1, 3, 3], { noBias: true }),
  'conv1-fwd-bwd': (wg) => conv(wg, [B, 1, 28, 28], [16, 1, 3, 3], { dw: true, db: true }),
  'conv1-fwd-dw': (wg) => conv(wg, [B, 1, 28, 28], [16, 1, 3, 3], { dw: true }),
  'conv1-fwd-db': (wg) => conv(wg, [B, 1, 28, 28], [16, 1, 3, 3], { db: true }),
  'conv2-fwd': (wg) => conv(wg, [B, 16, 14, 14], [32, 16, 3, 3], {}),
  'conv2-fwd-bwd': (wg) => conv(wg, [B, 16, 14, 14], [32, 16, 3, 3], { dx: true, dw: true, db: true }),
  'conv2-fwd-dx': (wg) => conv(wg, [B, 16, 14, 14], [32, 16, 3, 3], { dx: true }),
  'conv2-fwd-dw': (wg) => conv(wg, [B, 16, 14, 14], [32, 16, 3, 3], { dw: true }),
  'conv2-fwd-db': (wg) => conv(wg, [B, 16, 14, 14], [32, 16, 3, 3], { db: true }),
  'relu-16x28': (wg) => unary(wg, [B, 16, 28, 28], (t) => t.relu(), false),
  'pool-16x28': (wg) => unary(wg, [B, 16, 28, 28], (t) => wg.maxPool2d(t, 2), false),
  'pool-16x28-fwd-bwd': (wg) => unary(wg, [B, 16, 28, 28], (t) => wg.maxPool2d(t, 2), true),
  'relu-32x14-fwd-bwd': (wg) => unary(wg, [B, 32, 14, 14], (t) => t.relu(), true),
  'pool-32x14-fwd-bwd': (wg) => unary(wg, [B, 32, 14, 14], (t) => wg.maxPool2d(t, 2), true),
};

/** conv2d with a bias, padding 1, and the backward to the operands in `grads` ({ dx, dw, db }). */
function conv(wg, xs, ws, grads) {
  const x = wg.tensor(uniform(size(xs), -1, 1, 3), { shape: xs, requiresGrad: !!grads.dx });
  const w = wg.tensor(uniform(size(ws), -0.3, 0.3, 4), { shape: ws, requiresGrad: !!grads.dw });
  const b = wg.tensor(uniform(ws[0], -0.3, 0.3, 5), { shape: [ws[0]], requiresGrad: !!grads.db });
  const leaves = [[grads.dx, x], [grads.dw, w], [grads.db, b]].filter(([on]) => on).map(([, t]) => t);
  const outShape = [xs[0], ws[0], xs[2], xs[3]];
  const gy = wg.tensor(uniform(size(outShape), -1, 1, 7), { shape: outShape });
  return () => wg.tidy(() => {
    const y = wg.conv2d(x, w, grads.noBias ? null : b, { padding: 1 });
    if (leaves.length) {
      y.backward(gy);
      for (const t of leaves) { t.grad.dispose(); t.grad = null; }
    }
  });
}

function unary(wg, shape, f, backward) {
  const x = wg.tensor(uniform(size(shape), -1, 1, 6), { shape, requiresGrad: backward });
  const y0 = wg.noGrad(() => f(x));
  const gy = wg.tensor(uniform(size(y0.shape), -1, 1, 7), { shape: y0.shape });
  y0.dispose();
  return () => wg.tidy(() => {
    const y = f(x);
    if (backward) {
      y.backward(gy);
      x.grad.dispose(); x.grad = null;
    }
  });
}

const median = (v) => { const s = [...v].sort((a, b) => a - b); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

const libB = await load(opt('b', 'dist'));
const libA = opt('a') ? await load(opt('a')) : null;
console.log(`build ${build}, ${reps} reps${libA ? `, A = ${opt('a')}, B = ${opt('b', 'dist')}` : ''}`);
for (const [name, make] of Object.entries(PARTS)) {
  if (only && only.length && !only.some((o) => name.includes(o))) continue;
  const runs = [make(libB), libA && make(libA)].filter(Boolean);
  for (const r of runs) for (let i = 0; i < 3; i++) r();
  const times = runs.map(() => []);
  for (let i = 0; i < reps; i++) {
    // Alternate which goes first so a drift in machine load hits both alike.
    const order = i % 2 ? [...runs.keys()].reverse() : [...runs.keys()];
    for (const k of order) {
      const t0 = performance.now();
      runs[k]();
      times[k].push(performance.now() - t0);
    }
  }
  if (!libA) {
    console.log(`${name.padEnd(22)} ${median(times[0]).toFixed(3)} ms`);
  } else {
    const ratios = times[0].map((t, i) => t / times[1][i]);
    console.log(`${name.padEnd(22)} A ${median(times[1]).toFixed(3)} ms  B ${median(times[0]).toFixed(3)} ms  B/A ${median(ratios).toFixed(3)}`);
  }
}
process.exit(0);

// Elementwise maps, reductions, pooling and softmax on every core (issue #12): on the
// threads builds (projects `threads` and `threads-relaxed`), the same bits for 1, 2, 3 and 4
// threads and as the single-threaded build of the same SIMD variant (a child process with
// WASMGRAD_THREADS=0), on sizes just below, at and above the split threshold with
// NaN/±inf/±0/ties at the chunk edges (test/fixtures/threads-ops-workload.mjs); on every
// build, the large (split) paths against plain-JS references. Tests never look at timings.
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import * as wg from '../ts/node.js';
import { lib } from '../ts/ffi.js';
import { readyWorkers } from '../ts/threads.js';
import { runNode } from './helpers/node-process.js';
// @ts-expect-error: a plain JS fixture, shared with the child process.
import { chunkLen, markEdges, threadsOpsWorkload, values } from './fixtures/threads-ops-workload.mjs';

type Values = (n: number, seed: number, opts?: { lo?: number; hi?: number; ties?: boolean }) => Float32Array;
const workload = threadsOpsWorkload as (w: typeof wg) => Record<string, string>;
const vals = values as Values;
const edges = markEdges as (data: Float32Array, unit?: number) => Float32Array;
const chunk = chunkLen as (len: number, unit: number) => number;

const root = fileURLToPath(new URL('..', import.meta.url));
const threaded = lib().k.maxWorkers > 0;

async function waitForWorkers(n: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (readyWorkers() < n) {
    if (Date.now() > deadline) throw new Error(`only ${readyWorkers()} of ${n} workers started in 30 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The first extreme's index: the first NaN, else the first strictly greatest/least. */
function refArg(vs: ArrayLike<number>, max: boolean, from = 0, step = 1, count = vs.length): number {
  let best = 0;
  for (let k = 1; k < count; k++) {
    const [v, b] = [vs[from + k * step]!, vs[from + best * step]!];
    if (Number.isNaN(b)) break;
    if (Number.isNaN(v) || (max ? v > b : v < b)) best = k;
  }
  return best;
}

describe.skipIf(!threaded)('elementwise, reductions, pooling and softmax on the threads build', () => {
  afterAll(() => wg.setNumThreads(availableParallelism()));

  it('give the same bits with 1, 2, 3 and 4 threads', async () => {
    wg.setNumThreads(4);
    await waitForWorkers(3);
    wg.setNumThreads(1);
    const one = workload(wg);
    expect(Object.keys(one).length).toBeGreaterThan(250);
    for (const n of [2, 3, 4]) {
      wg.setNumThreads(n);
      const got = workload(wg);
      const differ = Object.keys(one).filter((k) => got[k] !== one[k]);
      expect(differ, `${n} threads`).toEqual([]);
    }
  });

  it('give the same bits as the single-threaded build of the same SIMD variant', async () => {
    wg.setNumThreads(3);
    await waitForWorkers(2);
    const here = workload(wg);
    const code = `
      const wg = await import(${JSON.stringify(`${root}dist/node.js`)});
      const { lib } = await import(${JSON.stringify(`${root}dist/ffi.js`)});
      const { threadsOpsWorkload } = await import(${JSON.stringify(`${root}test/fixtures/threads-ops-workload.mjs`)});
      if (lib().k.maxWorkers !== 0 || wg.getNumThreads() !== 1) throw new Error('not the single-threaded build');
      if (wg.simdVariant() !== ${JSON.stringify(wg.simdVariant())}) throw new Error('not the same SIMD variant: ' + wg.simdVariant());
      console.log(JSON.stringify(threadsOpsWorkload(wg)));`;
    const run = await runNode(code, { WASMGRAD_THREADS: '0' }, 120_000);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const there = JSON.parse(run.stdout) as Record<string, string>;
    const differ = Object.keys(here).filter((k) => there[k] !== here[k]);
    expect(differ).toEqual([]);
  });
});

describe('the split paths against plain-JS references', () => {
  afterAll(() => {
    if (threaded) wg.setNumThreads(availableParallelism());
  });
  // Every thread count the build has; on a single-threaded build only 1.
  const counts = threaded ? [1, 2, 3] : [1];

  it('elementwise maps: unary, same shape, a number, a bias row, a column, a bias on the left', () => {
    const n = (1 << 20) + 3;
    const a = edges(vals(n, 1));
    const b = vals(n, 2, { lo: 0.5, hi: 3 });
    for (const t of counts) {
      if (threaded) wg.setNumThreads(t);
      wg.tidy(() => {
        const [ta, tb] = [wg.tensor(a), wg.tensor(b)];
        const relu = ta.relu().data();
        const sum = ta.add(tb).data();
        const scaled = ta.mul(2.5).data();
        const minus = wg.sub(1.5, ta).data();
        for (let i = 0; i < n; i++) {
          const r = Number.isNaN(a[i]!) ? NaN : a[i]! < 0 ? 0 : a[i]!;
          if (!Object.is(relu[i], r)) throw new Error(`relu ${i}: ${relu[i]} vs ${r}`);
          if (!Object.is(sum[i], Math.fround(a[i]! + b[i]!))) throw new Error(`add ${i}`);
          if (!Object.is(scaled[i], Math.fround(a[i]! * 2.5))) throw new Error(`mul ${i}`);
          if (!Object.is(minus[i], Math.fround(1.5 - a[i]!))) throw new Error(`rsub ${i}`);
        }
        const [rows, cols] = [3001, 333];
        const x = edges(vals(rows * cols, 3), cols);
        const bias = vals(cols, 4);
        const column = vals(rows, 5);
        const tx = wg.tensor(x, { shape: [rows, cols] });
        const mul = tx.mul(wg.tensor(bias)).data();
        const left = wg.tensor(bias).sub(tx).data();
        const col = tx.add(wg.tensor(column, { shape: [rows, 1] })).data();
        const transposed = tx.transpose(0, 1).mul(2).data();
        for (let i = 0; i < rows * cols; i++) {
          const [r, c] = [Math.floor(i / cols), i % cols];
          if (!Object.is(transposed[c * rows + r], Math.fround(x[i]! * 2))) throw new Error(`transposed mul ${i}`);
          if (!Object.is(mul[i], Math.fround(x[i]! * bias[c]!))) throw new Error(`bias mul ${i}`);
          if (!Object.is(left[i], Math.fround(bias[c]! - x[i]!))) throw new Error(`bias on the left ${i}`);
          if (!Object.is(col[i], Math.fround(x[i]! + column[r]!))) throw new Error(`column add ${i}`);
        }
      });
    }
  });

  it('in-place updates: sub_, fill_, zero_ and copy_ of whole tensors and of rows inside one', () => {
    const n = (1 << 20) + 3;
    const a = edges(vals(n, 21));
    const b = vals(n, 22);
    const [rows, cols, first, count] = [1031, 1001, 3, 1025];
    const m = vals(rows * cols, 23);
    const s = vals(count * cols, 24);
    for (const t of counts) {
      if (threaded) wg.setNumThreads(t);
      wg.tidy(() => {
        const ta = wg.tensor(a);
        const sub = ta.clone().sub_(wg.tensor(b).mul(0.01)).data();
        const filled = ta.clone().fill_(-0.5).data();
        const zeroed = ta.clone().zero_().data();
        const ints = wg.zeros([n], { dtype: 'int32' }).fill_(7).data();
        const bools = wg.zeros([n], { dtype: 'bool' }).fill_(true).data();
        const c = ta.clone();
        const own = c.copy_(wg.narrow(c, 0, 5, 1)).data();
        for (let i = 0; i < n; i++) {
          if (!Object.is(sub[i], Math.fround(a[i]! - Math.fround(b[i]! * Math.fround(0.01))))) throw new Error(`sub_ ${i}: ${sub[i]}`);
          if (filled[i] !== -0.5 || !Object.is(zeroed[i], 0) || ints[i] !== 7 || bools[i] !== 1) throw new Error(`fill ${i}`);
          if (!Object.is(own[i], a[5])) throw new Error(`copy_ ${i}: ${own[i]} vs ${a[5]}`);
        }
        const tm = wg.tensor(m, { shape: [rows, cols] });
        wg.narrow(tm, 0, first, count).sub_(wg.tensor(s, { shape: [count, cols] }));
        const got = tm.data();
        for (let i = 0; i < rows * cols; i++) {
          const r = Math.floor(i / cols);
          const want = r >= first && r < first + count ? Math.fround(m[i]! - s[i - first * cols]!) : m[i]!;
          if (!Object.is(got[i], want)) throw new Error(`sub_ of rows, element ${i}: ${got[i]} vs ${want}`);
        }
      });
    }
  });

  it('products with too few rows for row blocks (split into blocks of columns), NaN/±inf spreading', () => {
    const cases: [number, number, number, boolean][] = [[10, 64, 1568, true], [20, 300, 1001, false], [1, 5000, 300, false]];
    for (const [m, k, n, transposeA] of cases) {
      const a = vals(m * k, m + 31);
      const b = vals(k * n, n + 32);
      a[k - 1] = NaN; // row 0 (or, transposed, column 0) of A
      b[3 * n + n - 2] = Infinity; // column n − 2 of B
      // A[i][p] and B[p][j] as the product reads them.
      const at = (i: number, p: number) => (transposeA ? a[p * m + i]! : a[i * k + p]!);
      for (const t of counts) {
        if (threaded) wg.setNumThreads(t);
        wg.tidy(() => {
          const ta = transposeA ? wg.tensor(a, { shape: [k, m] }).t() : wg.tensor(a, { shape: [m, k] });
          const got = ta.matmul(wg.tensor(b, { shape: [k, n] })).data();
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < n; j++) {
              let want = 0;
              for (let p = 0; p < k; p++) want += at(i, p) * b[p * n + j]!;
              const g = got[i * n + j]!;
              const ok = Number.isNaN(want) ? Number.isNaN(g) : !Number.isFinite(want) ? g === want : Math.abs(g - want) <= 1e-4 * (1 + Math.abs(want));
              if (!ok) throw new Error(`${m}x${k}·${k}x${n} (${i}, ${j}) on ${t} threads: ${g} vs ${want}`);
            }
          }
        });
      }
    }
  });

  it('reductions: full, rows, columns, with NaN/±inf/ties at the chunk edges', () => {
    const [rows, cols] = [1031, 1029];
    const n = rows * cols;
    const finite = vals(n, 6, { ties: true });
    const marked = edges(finite.slice(), 4096);
    // A tie of the maximum across a chunk edge of the full argmax.
    const c = chunk(n, 4096);
    finite[c - 1] = 5;
    finite[c] = 5;
    for (const t of counts) {
      if (threaded) wg.setNumThreads(t);
      wg.tidy(() => {
        const a = wg.tensor(finite, { shape: [rows, cols] });
        let total = 0;
        for (const v of finite) total += v;
        expect(a.sum().item()).toBeCloseTo(total, 2);
        expect(a.argmax().item()).toBe(c - 1);
        expect(a.amax().item()).toBe(5);
        expect(a.argmin().item()).toBe(refArg(finite, false));
        const m = wg.tensor(marked, { shape: [rows, cols] });
        expect(m.argmax().item()).toBe(refArg(marked, true));
        expect(m.amax().item()).toBeNaN();
        const rowSums = a.sum(1).data();
        const colSums = a.sum(0).data();
        const rowArgs = m.argmax(1).data();
        const colArgs = m.argmin(0).data();
        const rowMax = m.amax(1).data();
        const colMax = m.amax(0).data();
        const rowVar = a.var(1).data();
        const colLse = a.logsumexp(0).data();
        for (let r = 0; r < rows; r++) {
          let s = 0;
          for (let k = 0; k < cols; k++) s += finite[r * cols + k]!;
          expect(Math.abs(rowSums[r]! - s)).toBeLessThan(1e-3);
          let ssd = 0;
          for (let k = 0; k < cols; k++) ssd += (finite[r * cols + k]! - s / cols) ** 2;
          expect(rowVar[r]).toBeCloseTo(ssd / (cols - 1), 5);
          const arg = refArg(marked, true, r * cols, 1, cols);
          expect(rowArgs[r]).toBe(arg);
          expect(Object.is(rowMax[r], marked[r * cols + arg]!) || (Number.isNaN(rowMax[r]!) && Number.isNaN(marked[r * cols + arg]!))).toBe(true);
        }
        for (let k = 0; k < cols; k++) {
          let s = 0;
          for (let r = 0; r < rows; r++) s += finite[r * cols + k]!;
          expect(Math.abs(colSums[k]! - s)).toBeLessThan(1e-3);
          let e = 0;
          for (let r = 0; r < rows; r++) e += Math.exp(finite[r * cols + k]! - 5);
          expect(colLse[k]).toBeCloseTo(Math.log(e) + 5, 4);
          expect(colArgs[k]).toBe(refArg(marked, false, k, cols, rows));
          const arg = refArg(marked, true, k, cols, rows);
          const want = marked[arg * cols + k]!;
          expect(Object.is(colMax[k], want) || (Number.isNaN(colMax[k]!) && Number.isNaN(want))).toBe(true);
        }
      });
    }
  });

  it('maxPool2d and avgPool2d (2x2) forward and backward over many planes', () => {
    const [N, C, H, W] = [16, 16, 29, 31];
    const n = N * C * H * W;
    const data = edges(vals(n, 7, { ties: true }), W);
    const [OH, OW] = [Math.floor(H / 2), Math.floor(W / 2)];
    const planes = N * C;
    for (const t of counts) {
      if (threaded) wg.setNumThreads(t);
      wg.tidy(() => {
        const x = wg.tensor(data, { shape: [N, C, H, W], requiresGrad: true });
        const y = wg.maxPool2d(x, 2);
        y.sum().backward();
        const [out, grad] = [y.data(), x.grad!.data()];
        const want = new Float32Array(planes * OH * OW);
        const wantGrad = new Float32Array(n);
        for (let p = 0; p < planes; p++) {
          for (let oy = 0; oy < OH; oy++) {
            for (let ox = 0; ox < OW; ox++) {
              const taps = [0, 1, W, W + 1].map((d) => p * H * W + 2 * oy * W + 2 * ox + d);
              let best = taps[0]!;
              for (const at of taps.slice(1)) {
                if (Number.isNaN(data[best]!)) break;
                if (Number.isNaN(data[at]!) || data[at]! > data[best]!) best = at;
              }
              want[(p * OH + oy) * OW + ox] = data[best]!;
              wantGrad[best]! += 1;
            }
          }
        }
        for (let i = 0; i < want.length; i++) if (!Object.is(out[i], want[i])) throw new Error(`maxPool2d ${i}: ${out[i]} vs ${want[i]}`);
        for (let i = 0; i < n; i++) if (grad[i] !== wantGrad[i]) throw new Error(`maxPool2d grad ${i}`);
        x.dispose();
        const finite = wg.tensor(vals(n, 8), { shape: [N, C, H, W], requiresGrad: true });
        const fd = finite.data();
        const avg = wg.avgPool2d(finite, 2);
        avg.sum().backward();
        const [ad, ag] = [avg.data(), finite.grad!.data()];
        for (let p = 0; p < planes; p++) {
          for (let oy = 0; oy < OH; oy++) {
            for (let ox = 0; ox < OW; ox++) {
              const base = p * H * W + 2 * oy * W + 2 * ox;
              const mean = (fd[base]! + fd[base + 1]! + fd[base + W]! + fd[base + W + 1]!) / 4;
              expect(Math.abs(ad[(p * OH + oy) * OW + ox]! - mean)).toBeLessThan(1e-6);
            }
          }
        }
        for (let i = 0; i < n; i++) {
          const [y2, x2] = [Math.floor(i / W) % H, i % W];
          const inside = y2 < 2 * OH && x2 < 2 * OW;
          if (ag[i] !== (inside ? 0.25 : 0)) throw new Error(`avgPool2d grad ${i}: ${ag[i]}`);
        }
        finite.dispose();
      });
    }
  });

  it('softmax and logSoftmax over rows', () => {
    const [rows, cols] = [257, 1023];
    const x = vals(rows * cols, 9, { lo: -8, hi: 8 });
    for (const t of counts) {
      if (threaded) wg.setNumThreads(t);
      wg.tidy(() => {
        const tx = wg.tensor(x, { shape: [rows, cols] });
        const [sm, lsm] = [tx.softmax(-1).data(), tx.logSoftmax(-1).data()];
        for (let r = 0; r < rows; r++) {
          let m = -Infinity;
          for (let k = 0; k < cols; k++) m = Math.max(m, x[r * cols + k]!);
          let s = 0;
          for (let k = 0; k < cols; k++) s += Math.exp(x[r * cols + k]! - m);
          for (let k = 0; k < cols; k++) {
            const v = x[r * cols + k]! - m;
            if (!(Math.abs(sm[r * cols + k]! - Math.exp(v) / s) < 1e-6)) throw new Error(`softmax ${r},${k}: ${sm[r * cols + k]}`);
            if (!(Math.abs(lsm[r * cols + k]! - (v - Math.log(s))) < 1e-4)) throw new Error(`logSoftmax ${r},${k}: ${lsm[r * cols + k]}`);
          }
        }
      });
    }
  });
});

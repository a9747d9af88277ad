// The vectorised pooling kernels and the write-once elementwise outputs, bit for bit
// against plain-JS transcriptions of PyTorch's CPU loops (float32 arithmetic through
// Math.fround): odd sizes, outputs spanning several of the core's 1024-element blocks,
// edge columns next to padding, ceil mode, dilation, and NaN / ±inf / ±0 / tied inputs.
import { describe, expect, it } from 'vitest';
import { avgPool2d, maxPool2d, tensor, tidy, type Tensor } from '../ts/node.js';

const f = Math.fround;

/** Deterministic values with ties, ±0, ±inf and NaN mixed in. */
function values(n: number, seed: number, special = true): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    const r = s % 29;
    out[i] = !special ? ((s >>> 8) % 1000) / 64 - 7
      : r === 0 ? NaN : r === 1 ? -Infinity : r === 2 ? Infinity : r === 3 ? -0 : r < 7 ? 1 : ((s >>> 8) % 1000) / 64 - 7;
  }
  return out;
}

/** Equal as float32 bits, any NaN equal to any NaN. */
function expectSameBits(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const [g, w] = [got[i]!, want[i]!];
    if (!(Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w)))) {
      expect.fail(`${what}: element ${i} is ${Object.is(g, -0) ? '-0' : g}, expected ${Object.is(w, -0) ? '-0' : w}`);
    }
  }
}

interface Geometry { shape: [number, number, number, number]; k: [number, number]; s: [number, number]; p: [number, number]; d: [number, number]; ceil: boolean }

function pooled(size: number, k: number, p: number, s: number, d: number, ceil: boolean): number {
  let out = Math.floor((size + 2 * p - d * (k - 1) - 1 + (ceil ? s - 1 : 0)) / s) + 1;
  if (ceil && (out - 1) * s >= size + p) out--;
  return out;
}

/** PyTorch's cpu_max_pool and its backward (`grad_input[argmax] += grad_output`, in output order). */
function refMax(x: Float32Array, gout: Float32Array, g: Geometry): { out: number[]; dx: Float32Array } {
  const [N, C, H, W] = g.shape;
  const [oh, ow] = [pooled(H, g.k[0], g.p[0], g.s[0], g.d[0], g.ceil), pooled(W, g.k[1], g.p[1], g.s[1], g.d[1], g.ceil)];
  const out: number[] = [];
  const dx = new Float32Array(x.length);
  for (let pl = 0; pl < N * C; pl++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let ih0 = oy * g.s[0] - g.p[0];
        let iw0 = ox * g.s[1] - g.p[1];
        const ih1 = Math.min(ih0 + (g.k[0] - 1) * g.d[0] + 1, H);
        const iw1 = Math.min(iw0 + (g.k[1] - 1) * g.d[1] + 1, W);
        while (ih0 < 0) ih0 += g.d[0];
        while (iw0 < 0) iw0 += g.d[1];
        let best = -Infinity;
        let at = ih0 * W + iw0;
        for (let ih = ih0; ih < ih1; ih += g.d[0]) {
          for (let iw = iw0; iw < iw1; iw += g.d[1]) {
            const v = x[pl * H * W + ih * W + iw]!;
            if (v > best || Number.isNaN(v)) [best, at] = [v, ih * W + iw];
          }
        }
        dx[pl * H * W + at] = f(dx[pl * H * W + at]! + gout[out.length]!);
        out.push(best);
      }
    }
  }
  return { out, dx };
}

/** PyTorch's cpu_avg_pool and its backward. */
function refAvg(x: Float32Array, gout: Float32Array, g: Geometry, includePad: boolean, divisor: number): { out: number[]; dx: Float32Array } {
  const [N, C, H, W] = g.shape;
  const [oh, ow] = [pooled(H, g.k[0], g.p[0], g.s[0], 1, g.ceil), pooled(W, g.k[1], g.p[1], g.s[1], 1, g.ceil)];
  const out: number[] = [];
  const dx = new Float32Array(x.length);
  for (let pl = 0; pl < N * C; pl++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let [ih0, iw0] = [oy * g.s[0] - g.p[0], ox * g.s[1] - g.p[1]];
        let ih1 = Math.min(ih0 + g.k[0], H + g.p[0]);
        let iw1 = Math.min(iw0 + g.k[1], W + g.p[1]);
        const poolSize = (ih1 - ih0) * (iw1 - iw0);
        [ih0, iw0, ih1, iw1] = [Math.max(ih0, 0), Math.max(iw0, 0), Math.min(ih1, H), Math.min(iw1, W)];
        if (ih0 >= ih1 || iw0 >= iw1) {
          out.push(0);
          continue;
        }
        const div = divisor > 0 ? divisor : includePad ? poolSize : (ih1 - ih0) * (iw1 - iw0);
        const share = f(gout[out.length]! / div);
        let sum = 0;
        for (let ih = ih0; ih < ih1; ih++) {
          for (let iw = iw0; iw < iw1; iw++) {
            const at = pl * H * W + ih * W + iw;
            sum = f(sum + x[at]!);
            dx[at] = f(dx[at]! + share);
          }
        }
        out.push(f(sum / div));
      }
    }
  }
  return { out, dx };
}

const GEOMETRIES: Geometry[] = [
  { shape: [3, 5, 28, 28], k: [2, 2], s: [2, 2], p: [0, 0], d: [1, 1], ceil: false }, // the CNN case, 7 blocks of output
  { shape: [2, 3, 13, 17], k: [2, 2], s: [2, 2], p: [0, 0], d: [1, 1], ceil: false }, // odd sizes: a dropped row and column
  { shape: [2, 3, 9, 11], k: [2, 2], s: [2, 2], p: [0, 0], d: [1, 1], ceil: true }, // a cut last window
  { shape: [2, 4, 13, 17], k: [3, 3], s: [2, 2], p: [0, 0], d: [1, 1], ceil: false },
  { shape: [2, 4, 13, 19], k: [3, 3], s: [2, 2], p: [1, 1], d: [1, 1], ceil: true },
  { shape: [2, 5, 10, 27], k: [3, 3], s: [1, 1], p: [1, 1], d: [1, 1], ceil: false }, // edge columns both sides
  { shape: [1, 3, 7, 6], k: [2, 3], s: [1, 2], p: [1, 1], d: [1, 1], ceil: false },
  { shape: [1, 2, 5, 3], k: [2, 2], s: [2, 2], p: [0, 0], d: [1, 1], ceil: false }, // fewer than four outputs a row
  // Column pairs (2 wide, 2 apart) under non-overlapping window rows other than k2s2: the
  // backward finds each input row's one window without windows_over's divisions.
  { shape: [2, 3, 11, 12], k: [2, 2], s: [3, 2], p: [1, 0], d: [1, 1], ceil: true }, // row stride 3, row padding, a cut last window
  { shape: [1, 2, 10, 9], k: [2, 2], s: [3, 2], p: [1, 0], d: [2, 1], ceil: false }, // row dilation 2: rows between the taps
  { shape: [2, 2, 9, 14], k: [1, 2], s: [2, 2], p: [0, 0], d: [1, 1], ceil: true }, // one-row windows: every other row has none
  { shape: [2, 2, 12, 23], k: [3, 3], s: [2, 1], p: [1, 1], d: [2, 2], ceil: false }, // dilation: the general loop
  { shape: [1, 2, 6, 40], k: [1, 4], s: [1, 2], p: [0, 2], d: [1, 1], ceil: false },
  { shape: [2, 1, 4, 1100], k: [2, 2], s: [2, 2], p: [0, 0], d: [1, 1], ceil: false }, // input rows longer than a block
  // Planes of whole 2×2 windows: the backward takes the stacked planes by row pairs.
  { shape: [3, 5, 10, 14], k: [2, 2], s: [2, 2], p: [0, 0], d: [1, 1], ceil: false }, // 7 outputs a row: overlapping vectors
  { shape: [2, 3, 8, 6], k: [2, 2], s: [2, 2], p: [0, 0], d: [1, 1], ceil: false }, // 3 outputs a row: the per-row path
  { shape: [1, 2, 3, 2100], k: [1, 3], s: [1, 1], p: [0, 1], d: [1, 1], ceil: false }, // output rows longer than a block
];

function label(g: Geometry): string {
  return `${g.shape.join('x')} k${g.k} s${g.s} p${g.p} d${g.d}${g.ceil ? ' ceil' : ''}`;
}

function forwardAndGrad(x0: Float32Array, gout: Float32Array, g: Geometry, pool: (x: Tensor) => Tensor): { out: number[]; dx: number[]; values: number[] } {
  return tidy(() => {
    const x = tensor(x0, { shape: g.shape, requiresGrad: true });
    const y = pool(x);
    y.backward(tensor(gout, { shape: y.shape }));
    const values = Array.from(tidy(() => pool(tensor(x0, { shape: g.shape }))).data());
    const r = { out: Array.from(y.data()), dx: Array.from(x.grad!.data()), values };
    return r;
  });
}

describe('maxPool2d kernels', () => {
  for (const g of GEOMETRIES) {
    it(`matches PyTorch's loop bit for bit: ${label(g)}`, () => {
      const n = g.shape.reduce((a, b) => a * b);
      const x = values(n, n + g.k[0]);
      const opts = { stride: g.s, padding: g.p, dilation: g.d, ceilMode: g.ceil };
      const outShape = tidy(() => maxPool2d(tensor(x, { shape: g.shape }), g.k, opts).shape);
      const gout = values(outShape.reduce((a, b) => a * b), 7, false).map((v, i) => (i % 11 === 0 ? -0 : i % 13 === 0 ? NaN : v));
      const want = refMax(x, gout, g);
      const got = forwardAndGrad(x, gout, g, (t) => maxPool2d(t, g.k, opts));
      expectSameBits(got.out, want.out, 'forward');
      expectSameBits(got.values, want.out, 'forward without grad (no indices)');
      expectSameBits(got.dx, want.dx, 'backward');
    });
  }

  // Without NaN, 2×2/2 windows take a pmax fold (and fall back to the compare-and-select
  // fold when the taps' sums are NaN): these inputs keep whole blocks free of NaN, so the
  // fast fold is what answers, ties of −0 and +0 included.
  const nanFree: [string, number[]][] = [
    ['signed zeros, −1 and −∞ (ties of ±0 at the max)', [-0, 0, -1, -Infinity, 0, -0, -2]],
    ['ties, −∞ and finite values', [1, 1, -Infinity, -0, 0.5, 3, -7.25, 1]],
    ['both infinities (their sums are NaN: the exact fold again)', [Infinity, -Infinity, 1, -0, 0, 2]],
  ];
  const pairGeometries: Geometry[] = [
    ...GEOMETRIES.filter((g) => g.k[0] === 2 && g.k[1] === 2 && g.s[1] === 2),
    { shape: [3, 16, 28, 28], k: [2, 2], s: [2, 2], p: [0, 0], d: [1, 1], ceil: false }, // the CNN's shape, many blocks
    { shape: [2, 3, 12, 15], k: [2, 2], s: [2, 2], p: [1, 1], d: [1, 1], ceil: false }, // padding: edge columns, clipped rows
    { shape: [1, 2, 27, 26], k: [2, 2], s: [2, 2], p: [0, 0], d: [1, 1], ceil: true }, // odd height: planes not stacked
  ];
  for (const [what, pool] of nanFree) {
    for (const g of pairGeometries) {
      it(`k2-wide pairs without NaN, ${what}: ${label(g)}`, () => {
        const n = g.shape.reduce((a, b) => a * b);
        let s = n >>> 0;
        const x = new Float32Array(n).map(() => {
          s = (s * 1664525 + 1013904223) >>> 0;
          return pool[(s >>> 8) % pool.length]!;
        });
        const opts = { stride: g.s, padding: g.p, dilation: g.d, ceilMode: g.ceil };
        const outShape = tidy(() => maxPool2d(tensor(x, { shape: g.shape }), g.k, opts).shape);
        const gout = values(outShape.reduce((a, b) => a * b), 5, false);
        const want = refMax(x, gout, g);
        const got = forwardAndGrad(x, gout, g, (t) => maxPool2d(t, g.k, opts));
        expectSameBits(got.values, want.out, 'forward without grad (no indices)');
        expectSameBits(got.out, want.out, 'forward');
        expectSameBits(got.dx, want.dx, 'backward');
      });
    }
  }

  it('NaN wins at its last position, ties keep the first, an all −∞ window points at its first tap', () => {
    // Windows (k2s2) of one 2x8 plane: [NaN 1 | 2 NaN], [3 3 | 3 3], [-inf -inf | -inf -inf], [-0 0 | 0 -0]
    const x = [NaN, 1, 3, 3, -Infinity, -Infinity, -0, 0, 2, NaN, 3, 3, -Infinity, -Infinity, 0, -0];
    const got = tidy(() => {
      const t = tensor(x, { shape: [1, 1, 2, 8], requiresGrad: true });
      const y = maxPool2d(t, 2);
      y.backward(tensor([1, 2, 3, 4], { shape: [1, 1, 1, 4] }));
      return { y: Array.from(y.data()), dx: Array.from(t.grad!.data()) };
    });
    expectSameBits(got.y, [NaN, 3, -Infinity, -0], 'values');
    expectSameBits(got.dx, [0, 0, 2, 0, 3, 0, 4, 0, 0, 1, 0, 0, 0, 0, 0, 0], 'gradient at the argmax');
  });
});

describe('avgPool2d kernels', () => {
  const modes: [boolean, number][] = [[true, 0], [false, 0], [true, 3], [false, 5]];
  for (const g0 of GEOMETRIES.filter((g) => g.d[0] === 1 && g.d[1] === 1)) {
    it(`matches PyTorch's loop bit for bit: ${label(g0)}`, () => {
      const g = g0;
      const n = g.shape.reduce((a, b) => a * b);
      const x = values(n, n + 3, false);
      for (const [countIncludePad, divisor] of modes) {
        const opts = { stride: g.s, padding: g.p, ceilMode: g.ceil, countIncludePad, ...(divisor > 0 ? { divisorOverride: divisor } : {}) };
        const outShape = tidy(() => avgPool2d(tensor(x, { shape: g.shape }), g.k, opts).shape);
        const gout = values(outShape.reduce((a, b) => a * b), 9).map((v, i) => (i % 11 === 0 ? -0 : v));
        const want = refAvg(x, gout, g, countIncludePad, divisor);
        const got = forwardAndGrad(x, gout, g, (t) => avgPool2d(t, g.k, opts));
        expectSameBits(got.out, want.out, `forward ${countIncludePad} ${divisor}`);
        expectSameBits(got.dx, want.dx, `backward ${countIncludePad} ${divisor}`);
      }
    });
  }

  it('propagates NaN and ±inf through the window sums', () => {
    const got = tidy(() => Array.from(avgPool2d(tensor([NaN, 1, Infinity, 1, 2, 3, Infinity, -Infinity, 5, 6, 7, 8, 1, 2, 3, 4], { shape: [1, 1, 2, 8] }), 2).data()));
    expectSameBits(got, [NaN, Infinity, 2, NaN], 'values');
  });
});

describe('elementwise outputs built block by block', () => {
  const sizes = [0, 1, 7, 1023, 1024, 1025, 2501, 4099];
  it('unary maps and slice kernels match per-element results at every size', () => {
    for (const n of sizes) {
      const x = values(n, n);
      const got = tidy(() => {
        const t = tensor(x);
        return { relu: Array.from(t.relu().data()), neg: Array.from(t.neg().data()), exp: Array.from(t.exp().data()), tanh: Array.from(t.tanh().data()) };
      });
      expectSameBits(got.relu, Array.from(x, (v) => (v < 0 ? 0 : v)), `relu ${n}`);
      expectSameBits(got.neg, Array.from(x, (v) => -v), `neg ${n}`);
      // exp and tanh element by element (a tensor of one: the scalar path) give the same bits.
      const one = tidy(() => Array.from(x, (v) => { const t = tensor([v]); return [t.exp().item(), t.tanh().item()]; }));
      expectSameBits(got.exp, one.map((p) => p[0]!), `exp ${n}`);
      expectSameBits(got.tanh, one.map((p) => p[1]!), `tanh ${n}`);
    }
  });

  it('binary ops: same shapes, a number, bias blocks short and long, views', () => {
    for (const n of sizes) {
      const [a, b] = [values(n, 1 + n), values(n, 2 + n)];
      const got = tidy(() => {
        const [ta, tb] = [tensor(a), tensor(b)];
        return { add: Array.from(ta.add(tb).data()), mul: Array.from(ta.mul(tb).data()), sub1: Array.from(ta.sub(1.5).data()), rsub: Array.from(tensor([2.5]).sub(tb).data()) };
      });
      expectSameBits(got.add, Array.from(a, (v, i) => f(v + b[i]!)), `add ${n}`);
      expectSameBits(got.mul, Array.from(a, (v, i) => f(v * b[i]!)), `mul ${n}`);
      expectSameBits(got.sub1, Array.from(a, (v) => f(v - 1.5)), `sub number ${n}`);
      expectSameBits(got.rsub, Array.from(b, (v) => f(2.5 - v)), `number sub ${n}`);
    }
    // [rows, m] + [m] with m short (several repeats per block), one block, and longer than a block.
    for (const [rows, m] of [[700, 5], [3, 1024], [5, 1500], [0, 9], [3, 2049]] as const) {
      const [a, bias] = [values(rows * m, m), values(m, m + 1)];
      const got = tidy(() => {
        const [ta, tb] = [tensor(a, { shape: [rows, m] }), tensor(bias)];
        return { right: Array.from(ta.add(tb).data()), left: Array.from(tb.mul(ta).data()) };
      });
      expectSameBits(got.right, Array.from(a, (v, i) => f(v + bias[i % m]!)), `bias add ${rows}x${m}`);
      expectSameBits(got.left, Array.from(a, (v, i) => f(bias[i % m]! * v)), `bias mul ${rows}x${m}`);
    }
    // A transposed view walks the strided path (zero-filled, then written).
    const x = values(37 * 41, 5);
    const got = tidy(() => Array.from(tensor(x, { shape: [37, 41] }).t().add(1).data()));
    expectSameBits(got, Array.from({ length: 37 * 41 }, (_, i) => f(x[(i % 37) * 41 + Math.floor(i / 37)]! + 1)), 'transposed + 1');
  });
});

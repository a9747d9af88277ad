// The packed matrix product (crates/core/src/kernels/matmul.rs and matmul/micro.rs) against
// a plain float64 reference written here, on each SIMD build: every size around the
// register tile's edges (4 rows × 8 columns, row tails split in two, 4-wide column
// panels), the K, M and N blocks (256, 128, 512), transposed operands (packed by
// gathering), row-major B read in place (the convolutions' shapes), accumulation into a
// weight gradient (gemm_acc), NaN/±inf, and a block of rows equal bit for bit to the
// same rows of the whole product.
import { describe, expect, it } from 'vitest';
import { conv2d, tensor, tidy, type Tensor } from '../ts/node.js';

/** Deterministic values in [-1, 1) (a 32-bit LCG), so failures reproduce. */
function values(len: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(len);
  for (let i = 0; i < len; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** a·b in float64 for row-major a (m×k) and b (k×n): IEEE semantics for NaN and ±inf. */
function reference(a: Float32Array, b: Float32Array, m: number, n: number, k: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p]! * b[p * n + j]!;
      out[i * n + j] = s;
    }
  }
  return out;
}

/** Row-major r×c data transposed (c×r). */
function transposed(x: Float32Array, r: number, c: number): Float32Array {
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = x[i * c + j]!;
  return out;
}

/** The first element where `got` misses `want` (NaN where NaN, same infinity, else close), or null. */
function firstMismatch(got: ArrayLike<number>, want: ArrayLike<number>, k: number): string | null {
  if (got.length !== want.length) return `length ${got.length} vs ${want.length}`;
  const tol = 1e-6 * Math.max(1, k);
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    const ok = Number.isNaN(w) ? Number.isNaN(g) : Number.isFinite(w) ? Math.abs(g - w) <= tol * (1 + Math.abs(w)) : g === w;
    if (!ok) return `[${i}] got ${g}, expected ${w}`;
  }
  return null;
}

/**
 * a·b through the library with a and b row-major m×k and k×n, each optionally stored
 * transposed (so the product reads it through `.t()`, a column-major view).
 */
function product(a: Float32Array, b: Float32Array, m: number, n: number, k: number, ta: boolean, tb: boolean): Float32Array {
  return tidy(() => {
    const at = ta ? tensor(transposed(a, m, k), { shape: [k, m] }).t() : tensor(a, { shape: [m, k] });
    const bt = tb ? tensor(transposed(b, k, n), { shape: [n, k] }).t() : tensor(b, { shape: [k, n] });
    return at.matmul(bt).data() as Float32Array;
  });
}

function check(m: number, n: number, k: number, seed: number, layouts: [boolean, boolean][]): void {
  const a = values(m * k, seed);
  const b = values(k * n, seed + 1);
  const want = reference(a, b, m, n, k);
  for (const [ta, tb] of layouts) {
    const bad = firstMismatch(product(a, b, m, n, k, ta, tb), want, k);
    expect(bad, `${m}×${k}·${k}×${n} ta=${ta} tb=${tb}`).toBeNull();
  }
}

const ALL: [boolean, boolean][] = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
];

describe('packed matrix product: tile edges', () => {
  // Rows: 1–3 tiles of 4 and every tail (5–7 rows split in two tiles); columns: 1–3
  // tiles of 8, tails of 1–7 (4-wide and 8-wide panels). A transposed B always takes the
  // packed path, however small the product.
  const ROWS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 13];
  const COLS = [1, 3, 4, 5, 7, 8, 9, 12, 13, 17, 20, 25];
  for (const k of [1, 2, 3, 9, 33]) {
    it(`every M × N edge, k = ${k}`, () => {
      for (const m of ROWS) for (const n of COLS) check(m, n, k, m * 1000 + n * 10 + k, [[false, true], [true, true]]);
    });
  }

  it('products above the small-product path, all four layouts', () => {
    for (const [m, n, k] of [
      [13, 25, 33],
      [7, 17, 70],
      [9, 12, 129],
      [5, 196, 7],
      [32, 196, 144],
      [17, 197, 31],
    ] as const) {
      check(m, n, k, m + n + k, ALL);
    }
  });

  it('K across the 256-deep blocks, M across the 128-row blocks, N across the 512-column blocks', () => {
    check(11, 9, 257, 1, ALL);
    check(6, 13, 513, 2, ALL);
    check(129, 10, 20, 3, ALL);
    check(245, 6, 9, 4, [[false, false], [true, true]]);
    check(3, 513, 17, 5, ALL);
    check(5, 1029, 6, 6, [[false, false], [false, true]]);
  });

  it('row-major B read in place or packed (row strides, block sizes, row counts around the limits)', () => {
    // In place: 32×196×144 (the convolution's forward product), 10×196×160, 5×100×400 (two
    // K-blocks), 64 rows. Packed: strides of 64, 128, 256 floats, a K-block over 128 KB,
    // more than 64 rows.
    for (const [m, n, k] of [
      [32, 196, 144],
      [144, 392, 32],
      [10, 196, 160],
      [10, 196, 170],
      [64, 45, 300],
      [65, 45, 300],
      [9, 64, 65],
      [7, 128, 33],
      [6, 256, 300],
      [5, 100, 400],
    ] as const) {
      check(m, n, k, 7 * m + n, [[false, false], [true, false]]);
    }
  });

  it('empty dimensions give empty or zero results', () => {
    for (const [m, n, k] of [
      [0, 5, 3],
      [4, 0, 3],
      [4, 5, 0],
      [0, 0, 0],
    ] as const) {
      for (const [ta, tb] of ALL) {
        const got = product(values(m * k, 1), values(k * n, 2), m, n, k, ta, tb);
        expect(Array.from(got), `${m}×${k}·${k}×${n}`).toEqual(new Array(m * n).fill(0));
      }
    }
  });
});

describe('packed matrix product: NaN and ±inf', () => {
  it('propagate like IEEE float arithmetic (0·inf = NaN, inf − inf = NaN) in every tile position', () => {
    for (const [m, n, k] of [
      [7, 13, 9],
      [13, 25, 40],
      [32, 196, 144],
    ] as const) {
      const a = values(m * k, m);
      const b = values(k * n, n);
      a[0] = Number.POSITIVE_INFINITY; // row 0: inf·b, and 0·inf where b is 0
      a[(m - 1) * k + (k >> 1)] = Number.NaN; // the last row (an edge tile): NaN
      b[(k - 1) * n + (n - 1)] = Number.NEGATIVE_INFINITY; // the last column (an edge panel)
      b[n >> 1] = 0; // with a[0] = inf: NaN in row 0
      if (m > 2) a[k + 1] = Number.NEGATIVE_INFINITY; // row 1: −inf
      if (k > 1 && m > 1) b[n + 2] = Number.POSITIVE_INFINITY; // with row 1: −inf·inf
      const want = reference(a, b, m, n, k);
      expect(want.some(Number.isNaN) && want.some((x) => x === Number.POSITIVE_INFINITY || x === Number.NEGATIVE_INFINITY)).toBe(true);
      for (const [ta, tb] of ALL) {
        const bad = firstMismatch(product(a, b, m, n, k, ta, tb), want, k);
        expect(bad, `${m}×${k}·${k}×${n} ta=${ta} tb=${tb}`).toBeNull();
      }
    }
  });
});

describe('packed matrix product: sums do not depend on the tiling', () => {
  it('a block of rows equals the same rows of the whole product, bit for bit', () => {
    const [m, n, k] = [37, 45, 300];
    const a = values(m * k, 11);
    const b = values(k * n, 12);
    for (const [ta, tb] of ALL) {
      const whole = product(a, b, m, n, k, ta, tb);
      // Blocks whose row tiles differ from the whole's (4-row tiles at other offsets, split tails).
      for (const [r0, rows] of [
        [0, 5],
        [3, 14],
        [9, 7],
        [30, 7],
        [1, 36],
      ] as const) {
        const block = product(a.subarray(r0 * k, (r0 + rows) * k), b, rows, n, k, ta, tb);
        const same = block.every((x, i) => Object.is(x, whole[r0 * n + i]));
        expect(same, `rows ${r0}..${r0 + rows} ta=${ta} tb=${tb}`).toBe(true);
      }
    }
  });
});

describe('accumulated products (the weight gradient of a convolution)', () => {
  /** dW of sum(conv2d(x, w, pad) · g) in float64: Σ over images and positions of g · x. */
  function weightGradient(x: Float32Array, g: Float32Array, dims: { n: number; c: number; o: number; h: number; w: number; kh: number; kw: number; pad: number }): Float64Array {
    const { n, c, o, h, w, kh, kw, pad } = dims;
    const oh = h + 2 * pad - kh + 1;
    const ow = w + 2 * pad - kw + 1;
    const dw = new Float64Array(o * c * kh * kw);
    for (let b = 0; b < n; b++)
      for (let oc = 0; oc < o; oc++)
        for (let y = 0; y < oh; y++)
          for (let z = 0; z < ow; z++) {
            const gv = g[((b * o + oc) * oh + y) * ow + z]!;
            for (let ic = 0; ic < c; ic++)
              for (let i = 0; i < kh; i++)
                for (let j = 0; j < kw; j++) {
                  const yy = y + i - pad;
                  const zz = z + j - pad;
                  if (yy < 0 || yy >= h || zz < 0 || zz >= w) continue;
                  dw[((oc * c + ic) * kh + i) * kw + j]! += gv * x[((b * c + ic) * h + yy) * w + zz]!;
                }
          }
    return dw;
  }

  it('odd channel counts and image sizes, several images', () => {
    for (const dims of [
      { n: 3, c: 3, o: 5, h: 9, w: 7, kh: 3, kw: 3, pad: 1 },
      { n: 5, c: 16, o: 32, h: 14, w: 14, kh: 3, kw: 3, pad: 1 },
      { n: 2, c: 7, o: 9, h: 11, w: 13, kh: 2, kw: 3, pad: 0 },
    ]) {
      const { n, c, o, h, w, kh, kw, pad } = dims;
      const oh = h + 2 * pad - kh + 1;
      const ow = w + 2 * pad - kw + 1;
      const x = values(n * c * h * w, c);
      const wt = values(o * c * kh * kw, o);
      const g = values(n * o * oh * ow, h);
      const got = tidy(() => {
        const wv = tensor(wt, { shape: [o, c, kh, kw], requiresGrad: true });
        const y: Tensor = conv2d(tensor(x, { shape: [n, c, h, w] }), wv, undefined, { padding: pad });
        y.mul(tensor(g, { shape: [n, o, oh, ow] })).sum().backward();
        const data = wv.grad!.data();
        wv.dispose();
        return data;
      });
      const bad = firstMismatch(got, weightGradient(x, g, dims), n * oh * ow);
      expect(bad, JSON.stringify(dims)).toBeNull();
    }
  });
});

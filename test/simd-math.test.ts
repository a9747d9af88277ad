// The SIMD elementary functions (crates/core/src/kernels/math.rs) on wasm, through the
// public API: ulp error against Math.* rounded to float32 over 100k+ inputs per op
// (extremes, denormals, NaN, ±Infinity), SIMD lanes vs the scalar tail (lengths 1..17),
// the per-block fast path vs its general form, and non-contiguous input.
import { describe, expect, it } from 'vitest';
import { silu, tensor, tidy, type Tensor } from '../ts/node.js';
import { rng } from './helpers/reference.js';

type Op = 'exp' | 'expm1' | 'log' | 'log1p' | 'tanh' | 'sigmoid' | 'softplus';

const f32 = new Float32Array(1);
const i32 = new Int32Array(f32.buffer);

/** Position of `x` (rounded to float32) on the integer line of float32 values: adjacent
 * floats differ by 1, -0 and +0 coincide, denormals are evenly spaced. */
function ordinal(x: number): number {
  f32[0] = x;
  const i = i32[0]!;
  return i < 0 ? -(i & 0x7fffffff) : i;
}

/** Distance in float32 ulps between `got` and the float32 rounding of `want`. NaN must
 * meet NaN, infinities must be equal. */
function ulps(got: number, want: number): number {
  if (Number.isNaN(want) || Number.isNaN(got)) return Number.isNaN(want) && Number.isNaN(got) ? 0 : Infinity;
  const w = Math.fround(want);
  if (!Number.isFinite(w) || !Number.isFinite(got)) return w === got ? 0 : Infinity;
  return Math.abs(ordinal(got) - ordinal(w));
}

/** float64 references with the expected IEEE special values. */
const REF: Record<Op, (x: number) => number> = {
  exp: Math.exp,
  expm1: Math.expm1,
  log: Math.log,
  log1p: Math.log1p,
  tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  softplus: (x) => (x > 20 ? x : Math.log1p(Math.exp(x))),
};

/** Max distance allowed, in float32 ulps, from the float32 rounding of the float64
 * reference. (math.rs measures the error against the exact values over all 2^32 inputs:
 * exp 0.99, expm1 1.53, log 0.83, log1p 1.44, tanh 1.95, sigmoid 2.48 ulp; every 13th float32 on
 * wasm gives these integer distances at most.) */
const BOUND: Record<Op, number> = { exp: 1, expm1: 2, log: 1, log1p: 2, tanh: 2, sigmoid: 2, softplus: 2 };

const fromBits = (bits: number): number => {
  i32[0] = bits | 0;
  return f32[0]!;
};


const SPECIAL = [
  0, -0, 1, -1, NaN, Infinity, -Infinity, fromBits(1), fromBits(0x807fffff), 1.1754943508222875e-38,
  -1.1754943508222875e-38, 3.4028234663852886e38, -3.4028234663852886e38, 88.72283172607422,
  88.72283935546875, 89, -87.33654022216797, -87.5, -103.97207641601562, -103.97208404541016, -104, 86.5,
  -86.5, 86.49999237060547, 0.625, 9.01, -9.01, 20, 1e-7, -1e-7, 0.5, 2,
];

/** 100k+ float32 inputs for `op`: every 2^32/40000-th bit pattern (all magnitudes, both
 * signs), a dense uniform sweep of the interesting range, and the special values. */
function sweep(op: Op): Float32Array {
  const out: number[] = [];
  for (let k = 0; k < 40000; k++) out.push(fromBits(Math.floor((k * 4294967296) / 40000) + 12345));
  const ranges: Record<Op, [number, number]> = { exp: [-110, 100], expm1: [-30, 95], log: [0, 4], log1p: [-1, 4], tanh: [-12, 12], sigmoid: [-110, 40], softplus: [-110, 40] };
  const [lo, hi] = ranges[op];
  const r = rng(7);
  for (let k = 0; k < 50000; k++) out.push(lo + (hi - lo) * r());
  // Small magnitudes and, for log, the neighbourhood of 1.
  for (let k = 0; k < 10000; k++) out.push((r() - 0.5) * 2 ** (-30 * r()));
  if (op === 'log') for (let k = -5000; k < 5000; k++) out.push(fromBits(0x3f800000 + k));
  out.push(...SPECIAL);
  return Float32Array.from(out);
}

const apply = (op: Op, t: Tensor): Tensor => t[op]();

/** `op` over `values` as a 1-D tensor, read back. */
function run(op: Op, values: Float32Array): Float32Array {
  return tidy(() => apply(op, tensor(values)).data() as Float32Array);
}

/** The worst element of `got` against REF[op] on `inputs`. */
function worst(op: Op, inputs: Float32Array, got: Float32Array): { ulps: number; x: number; got: number } {
  let w = { ulps: 0, x: NaN, got: NaN };
  for (let i = 0; i < inputs.length; i++) {
    const e = ulps(got[i]!, REF[op](inputs[i]!));
    if (e > w.ulps) w = { ulps: e, x: inputs[i]!, got: got[i]! };
  }
  return w;
}

const sameBits = (a: number, b: number): boolean => (Number.isNaN(a) ? Number.isNaN(b) : Object.is(a, b));

const OPS: Op[] = ['exp', 'expm1', 'log', 'log1p', 'tanh', 'sigmoid', 'softplus'];

describe.each(OPS)('%s on wasm (simd)', (op) => {
  it(`is within ${BOUND[op]} ulp of Math.* (rounded to float32) over 100k+ inputs`, () => {
    const inputs = sweep(op);
    expect(inputs.length).toBeGreaterThan(100_000);
    const w = worst(op, inputs, run(op, inputs));
    expect(w.ulps, `${op}(${w.x}) = ${w.got}, expected ${Math.fround(REF[op](w.x))}`).toBeLessThanOrEqual(BOUND[op]);
  });

  it('gives the IEEE special values', () => {
    const cases: Record<Op, [number, number][]> = {
      exp: [[-Infinity, 0], [Infinity, Infinity], [NaN, NaN], [0, 1], [-0, 1], [89, Infinity],
        [88.72283935546875, Infinity], [-104, 0], [-200, 0], [1000, Infinity]],
      expm1: [[-Infinity, -1], [Infinity, Infinity], [NaN, NaN], [0, 0], [-0, -0], [Math.fround(1e-30), Math.fround(1e-30)], [89, Infinity],
        [-30, -1], [1000, Infinity]],
      log: [[0, -Infinity], [-0, -Infinity], [-1, NaN], [-fromBits(1), NaN], [-Infinity, NaN], [Infinity, Infinity],
        [NaN, NaN], [1, 0]],
      log1p: [[0, 0], [-0, -0], [-1, -Infinity], [-1.5, NaN], [-Infinity, NaN], [Infinity, Infinity], [NaN, NaN],
        [Math.fround(1e-30), Math.fround(1e-30)], [-fromBits(1), -fromBits(1)]],
      tanh: [[Infinity, 1], [-Infinity, -1], [NaN, NaN], [0, 0], [-0, -0], [50, 1], [-50, -1]],
      sigmoid: [[Infinity, 1], [-Infinity, 0], [NaN, NaN], [0, 0.5], [-0, 0.5], [100, 1], [-120, 0]],
      softplus: [[Infinity, Infinity], [-Infinity, 0], [NaN, NaN], [0, Math.fround(Math.LN2)], [-0, Math.fround(Math.LN2)], [100, 100], [-200, 0]],
    };
    const inputs = Float32Array.from(cases[op].map(([x]) => x));
    const got = run(op, inputs);
    cases[op].forEach(([x, want], i) => expect(sameBits(got[i]!, want), `${op}(${x}) = ${got[i]}, expected ${want}`).toBe(true));
    if (op === 'exp') {
      // The largest finite result and a gradual-underflow (denormal) one, rounded once.
      const [big, tiny] = run(op, Float32Array.from([88.72283172607422, -100]));
      expect(big).toBe(Math.fround(Math.exp(88.72283172607422)));
      expect(ulps(tiny!, Math.exp(-100))).toBeLessThanOrEqual(1);
      expect(tiny).toBeGreaterThan(0);
    }
    if (op === 'log') {
      for (const d of [fromBits(1), fromBits(0x7fffff), fromBits(0x1234)]) {
        expect(ulps(run(op, Float32Array.from([d]))[0]!, Math.log(d)), `log(${d})`).toBeLessThanOrEqual(1);
      }
    }
  });

  it('gives the same bits in SIMD lanes and the scalar tail (lengths 1..17, 255..257, 1023, 1025)', () => {
    const r = rng(11);
    const base = new Float32Array(1025);
    for (let i = 0; i < base.length; i++) base[i] = op === 'log' ? 8 * r() : 40 * r() - 20;
    base.set(Float32Array.from([0.5, -0, 3, NaN, op === 'log' ? 1e-40 : -95, Infinity, 1e-30]), 8);
    const full = run(op, base);
    for (const n of [...Array.from({ length: 17 }, (_, i) => i + 1), 255, 256, 257, 1023]) {
      const part = run(op, base.subarray(0, n));
      for (let i = 0; i < n; i++) {
        expect(sameBits(part[i]!, full[i]!), `length ${n}, element ${i}: ${op}(${base[i]}) = ${part[i]} vs ${full[i]}`).toBe(true);
      }
    }
  });

  it('gives the same bits in a block with one rare input as in a clean block', () => {
    // The kernel runs a cheap form over each block of 256 and redoes the block with the
    // general form when one input is outside the cheap form's range.
    const r = rng(5);
    const clean = Float32Array.from({ length: 1024 }, () => (op === 'log' ? 0.1 + 8 * r() : 20 * r() - 10));
    const dirty = clean.slice();
    dirty[300] = op === 'log' ? -1 : NaN;
    dirty[700] = op === 'log' ? fromBits(5) : -100;
    const [a, b] = [run(op, clean), run(op, dirty)];
    for (let i = 0; i < clean.length; i++) {
      if (i === 300 || i === 700) continue;
      expect(sameBits(a[i]!, b[i]!), `element ${i}`).toBe(true);
    }
    expect(b[300]).toBeNaN();
    expect(ulps(b[700]!, REF[op](dirty[700]!))).toBeLessThanOrEqual(BOUND[op]);
  });

  it('reads a non-contiguous (transposed) input in logical order', () => {
    const r = rng(3);
    const [m, n] = [37, 19];
    const data = Float32Array.from({ length: m * n }, () => (op === 'log' ? 10 * r() : 30 * r() - 15));
    const got = tidy(() => apply(op, tensor(data, { shape: [m, n] }).t()).data() as Float32Array);
    const transposed = new Float32Array(m * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) transposed[i * m + j] = data[j * n + i]!;
    const w = worst(op, transposed, got);
    expect(w.ulps, `${op}(${w.x}) = ${w.got}`).toBeLessThanOrEqual(BOUND[op]);
    expect(Array.from(got)).toEqual(Array.from(run(op, transposed)));
  });
});

describe('binary ops on the SIMD broadcast paths', () => {
  // f32 add/mul of two float32 values, computed exactly in float64 and rounded once.
  const OPS = { add: (x: number, y: number) => Math.fround(x + y), mul: (x: number, y: number) => Math.fround(x * y) };

  it.each(Object.keys(OPS) as ('add' | 'mul')[])('%s: [B, N] with [N], [N] with [B, N], [1, N] with [B, 1, N]', (op) => {
    const r = rng(9);
    const rand = (n: number) => Float32Array.from({ length: n }, () => 4 * r() - 2);
    for (const b of [1, 3, 9]) {
      for (const n of [2, 3, 4, 5, 8, 17]) {
        const [big, row] = [rand(b * n), rand(n)];
        const want = (i: number) => OPS[op](big[i]!, row[i % n]!);
        const [ab, ba, lead] = tidy(() => {
          const [x, y] = [tensor(big, { shape: [b, n] }), tensor(row)];
          return [x[op](y).data(), y[op](x).data(), tensor(row, { shape: [1, n] })[op](tensor(big, { shape: [b, 1, n] })).data()];
        });
        for (let i = 0; i < b * n; i++) {
          expect(ab[i], `[${b}, ${n}] ${op} [${n}] at ${i}`).toBe(want(i));
          expect(ba[i], `[${n}] ${op} [${b}, ${n}] at ${i}`).toBe(want(i));
          expect(lead[i], `[1, ${n}] ${op} [${b}, 1, ${n}] at ${i}`).toBe(want(i));
        }
      }
    }
  });
});

describe('silu on wasm (simd)', () => {
  it('is x times sigmoid(x), bit for bit, in lanes, tails and blocks with rare inputs', () => {
    const r = rng(17);
    const x = Float32Array.from({ length: 1031 }, () => 40 * r() - 20);
    x.set(Float32Array.from([NaN, -Infinity, Infinity, -0, -100, -95, 100, 1e-30]), 300);
    const [got, sig] = tidy(() => {
      const t = tensor(x);
      return [silu(t).data() as Float32Array, t.sigmoid().data() as Float32Array];
    });
    for (let i = 0; i < x.length; i++) {
      expect(sameBits(got[i]!, Math.fround(x[i]! * sig[i]!)), `silu(${x[i]}) = ${got[i]}`).toBe(true);
    }
  });
});

describe.each(['sin', 'cos'] as const)('%s on wasm (simd)', (op) => {
  const ref = op === 'sin' ? Math.sin : Math.cos;
  const apply = (values: Float32Array) => tidy(() => tensor(values)[op]().data() as Float32Array);

  it('is within 2 ulp of Math (1.2e-7 absolute near its zeros) over 100k+ inputs, libm beyond |x| = 4096', () => {
    const r = rng(23);
    const inputs: number[] = [];
    for (let k = 0; k < 40000; k++) inputs.push(fromBits(Math.floor((k * 4294967296) / 40000) + 777));
    for (let k = 0; k < 60000; k++) inputs.push(10000 * r() - 5000);
    for (let k = 0; k < 10000; k++) inputs.push((r() - 0.5) * 2 ** (-30 * r()));
    inputs.push(...[Math.PI, -Math.PI, Math.PI / 2, 4095.99, 4096, 4097, 1e30, 3.4028234663852886e38].map(Math.fround));
    const x = Float32Array.from(inputs.filter(Number.isFinite));
    const got = apply(x);
    let worst = { err: 0, x: NaN };
    x.forEach((v, i) => {
      const want = ref(v);
      const err = Math.abs(want) < 1e-3 ? Math.abs(got[i]! - want) / 2 ** -24 : ulps(got[i]!, want);
      if (err > worst.err) worst = { err, x: v };
    });
    expect(worst.err, `${op}(${worst.x})`).toBeLessThanOrEqual(2);
  });

  it('gives NaN at ±inf and NaN, sin(±0) = ±0, cos(±0) = 1, and the same bits in lanes, tails and blocks with a rare input', () => {
    const special = apply(Float32Array.from([Infinity, -Infinity, NaN, 0, -0]));
    expect(special.slice(0, 3).every(Number.isNaN)).toBe(true);
    if (op === 'sin') expect([Object.is(special[3], 0), Object.is(special[4], -0)]).toEqual([true, true]);
    else expect(Array.from(special.slice(3))).toEqual([1, 1]);
    const r = rng(29);
    const base = Float32Array.from({ length: 1025 }, () => 200 * r() - 100);
    const full = apply(base);
    for (const n of [1, 2, 3, 4, 5, 7, 8, 9, 17, 255, 257]) {
      const part = apply(base.slice(0, n));
      for (let i = 0; i < n; i++) expect(sameBits(part[i]!, full[i]!), `${op} length ${n} at ${i}`).toBe(true);
    }
    // A huge input sends its block of 256 to the general form: the others keep their bits.
    const dirty = base.slice();
    dirty[300] = 1e20;
    const again = apply(dirty);
    for (let i = 0; i < base.length; i++) if (i !== 300) expect(sameBits(again[i]!, full[i]!), `${op} at ${i}`).toBe(true);
    expect(ulps(again[300]!, ref(dirty[300]!)), `${op}(${dirty[300]})`).toBeLessThanOrEqual(1);
  });
});

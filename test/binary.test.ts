// Elementwise binary ops: tensor–tensor, tensor–number and number–tensor forms,
// broadcasting (including empty and non-contiguous operands), errors, and gradients
// summed back to the input shapes.
import { describe, expect, it } from 'vitest';
import * as wg from '../ts/node.js';
import { ArgumentError, DTypeError, ShapeError, tensor, tidy, type Operand, type Tensor } from '../ts/node.js';
import { expectClose, gradcheck } from './helpers/gradcheck.js';
import { expand, map, numel, permute, randomNd, rng, zip, type Nd } from './helpers/reference.js';
import { T, run, thrown } from './helpers/snapshot.js';

type BinaryName = 'add' | 'sub' | 'mul' | 'div' | 'pow';

const REF: Record<BinaryName, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
};
const NAMES = Object.keys(REF) as BinaryName[];

/** Function form, which also accepts numbers on either side. */
const fn = (name: BinaryName, a: Operand, b: Operand): Tensor => wg[name](a, b);
/** Method form (`a` must be a tensor). */
const meth = (name: BinaryName, a: Tensor, b: Operand): Tensor => a[name](b);

/**
 * Inputs suited to `name`: the left operand positive for pow (real-valued result for any
 * exponent), the right operand bounded away from 0 for div.
 */
function operands(name: BinaryName, sa: number[], sb: number[], seed: number): [Nd, Nd] {
  const a = name === 'pow' ? randomNd(sa, seed, 0.5, 2) : randomNd(sa, seed);
  let b = randomNd(sb, seed + 1);
  if (name === 'div') b = map(b, (v) => Math.fround(v >= 0 ? v + 0.5 : v - 0.5));
  return [a, b];
}

/** The gap between |v| (rounded to float32) and the next float32 up. */
function ulp(v: number): number {
  const f32 = new Float32Array([Math.abs(v)]);
  const bits = new Uint32Array(f32.buffer);
  const lo = f32[0]!;
  bits[0] = bits[0]! + 1;
  return Math.max(f32[0]! - lo, 2 ** -149);
}

const FWD_ATOL = 1e-6;
const FWD_RTOL = 1e-5;

describe.each(NAMES)('%s forward', (name) => {
  const ref = REF[name];

  const checkTT = (sa: number[], sb: number[], seed: number, prep: (a: Tensor, b: Tensor) => [Tensor, Tensor] = (a, b) => [a, b], refPrep: (a: Nd, b: Nd) => [Nd, Nd] = (a, b) => [a, b]) => {
    const [a, b] = operands(name, sa, sb, seed);
    const [ra, rb] = refPrep(a, b);
    const expected = zip(ra, rb, ref);
    const got = run(() => {
      const [x, y] = prep(T(a), T(b));
      return meth(name, x, y);
    });
    expect(got.shape, 'shape').toEqual(expected.shape);
    expectClose(got.data, expected.data, FWD_ATOL, FWD_RTOL, `${name} [${sa}] with [${sb}]`);
  };

  it('tensor–tensor, same shape', () => checkTT([3, 4], [3, 4], 1));
  it('0-d tensor with a matrix, both orders', () => {
    checkTT([], [2, 3], 2);
    checkTT([2, 3], [], 3);
  });
  it('size-1 dims on both sides: [3, 1] with [1, 4] -> [3, 4]', () => {
    checkTT([3, 1], [1, 4], 4);
    checkTT([1, 4], [3, 1], 5);
  });
  it('rank mismatch: [2, 3, 4] with [4] and [4] with [2, 3, 4]', () => {
    checkTT([2, 3, 4], [4], 6);
    checkTT([4], [2, 3, 4], 7);
    checkTT([2, 1, 4], [3, 1], 8);
  });
  it('empty tensors: [0, 3] with [3] -> [0, 3]; [0] with a 0-d tensor -> [0]; [2, 0] with [2, 1]', () => {
    checkTT([0, 3], [3], 9);
    checkTT([3], [0, 3], 9);
    checkTT([0], [], 10);
    checkTT([], [0], 10);
    checkTT([2, 0], [2, 1], 11);
  });
  it('non-contiguous operands from .t() and .permute()', () => {
    // a: [4, 3] stored as [3, 4]; b: contiguous [4, 3]
    checkTT([3, 4], [4, 3], 12, (a, b) => [a.t(), b], (a, b) => [permute(a, [1, 0]), b]);
    // both transposed
    checkTT([3, 4], [3, 4], 13, (a, b) => [a.t(), b.t()], (a, b) => [permute(a, [1, 0]), permute(b, [1, 0])]);
    // 3-D permutation against a contiguous tensor, and with broadcasting
    checkTT([2, 3, 4], [4, 2, 3], 14, (a, b) => [a.permute(2, 0, 1), b], (a, b) => [permute(a, [2, 0, 1]), b]);
    checkTT([2, 3, 4], [3], 15, (a, b) => [a.permute(2, 0, 1), b], (a, b) => [permute(a, [2, 0, 1]), b]);
    // transposed right operand broadcast against a larger left operand
    checkTT([2, 4, 3], [3, 4], 16, (a, b) => [a, b.t()], (a, b) => [a, permute(b, [1, 0])]);
  });
  it('expanded (stride-0) operands', () => {
    checkTT([3, 1], [3, 4], 17, (a, b) => [a.expand(3, 4), b], (a, b) => [expand(a, [3, 4]), b]);
    checkTT([1, 4], [1, 4], 18, (a, b) => [a.expand(3, 4), b.expand(3, 4)], (a, b) => [expand(a, [3, 4]), expand(b, [3, 4])]);
  });

  const scalars = name === 'pow' ? [2, 0.5, -1, 3, 0] : [2.5, -1.5, 0.5, 3];
  it('tensor–number (method and function form)', () => {
    const [a] = operands(name, [2, 3], [1], 20);
    for (const s of scalars) {
      const expected = map(a, (v) => ref(v, Math.fround(s)));
      const m = run(() => meth(name, T(a), s));
      const f = run(() => fn(name, T(a), s));
      expect(m.shape).toEqual([2, 3]);
      expectClose(m.data, expected.data, FWD_ATOL, FWD_RTOL, `${name}(x, ${s})`);
      expect(f.data).toEqual(m.data);
    }
  });
  it('number–tensor (function form, e.g. sub(1, x))', () => {
    const x = name === 'div' ? operands(name, [1], [2, 3], 21)[1] : randomNd([2, 3], 21, name === 'pow' ? -3 : -2, name === 'pow' ? 3 : 2);
    for (const s of name === 'pow' ? [2, 0.5, 3] : scalars) {
      const expected = map(x, (v) => ref(Math.fround(s), v));
      const got = run(() => fn(name, s, T(x)));
      expect(got.shape).toEqual([2, 3]);
      expectClose(got.data, expected.data, FWD_ATOL, FWD_RTOL, `${name}(${s}, x)`);
    }
  });
  it('number operand with a 0-d tensor gives a 0-d result', () => {
    const got = run(() => fn(name, 2, tensor(1.5)));
    expect(got.shape).toEqual([]);
    expectClose(got.data, [ref(2, 1.5)], FWD_ATOL, FWD_RTOL, `${name}(2, 1.5)`);
  });

  it('incompatible shapes throw ShapeError naming the op and both shapes', () => {
    for (const [sa, sb] of [[[2, 3], [4, 2]], [[3], [4]], [[2, 3], [3, 2]], [[2, 3, 4], [3, 3]], [[0, 3], [2, 3]]] as const) {
      const err = thrown(() => meth(name, wg.ones([...sa]), wg.ones([...sb])));
      expect(err).toBeInstanceOf(ShapeError);
      expect(err.message).toContain(name);
      expect(err.message).toContain(`[${sa.join(', ')}]`);
      expect(err.message).toContain(`[${sb.join(', ')}]`);
    }
  });
  it('int32 operands throw DTypeError', () => {
    tidy(() => {
      const i = tensor(new Int32Array([1, 2, 3]));
      const f = wg.ones([3]);
      expect(() => meth(name, i, f)).toThrow(DTypeError);
      expect(() => meth(name, f, i)).toThrow(DTypeError);
      expect(() => fn(name, i, 2)).toThrow(DTypeError);
      expect(() => fn(name, 2, i)).toThrow(DTypeError);
    });
  });
  it('two numbers throw ArgumentError', () => {
    expect(() => fn(name, 1, 2)).toThrow(ArgumentError);
  });
  it('does not modify its inputs', () => {
    const [a, b] = operands(name, [2, 3], [2, 3], 22);
    const after = tidy(() => {
      const x = T(a);
      const y = T(b);
      meth(name, x, y);
      return [Array.from(x.data()), Array.from(y.data())];
    });
    expect(after).toEqual([Array.from(a.data), Array.from(b.data)]);
  });
});

describe('binary special values', () => {
  it('division by zero gives ±Infinity and 0/0 gives NaN', () => {
    const got = run(() => wg.div(tensor([1, -1, 0]), tensor([0, 0, 0])));
    expect(got.data.slice(0, 2)).toEqual([Infinity, -Infinity]);
    expect(got.data[2]).toBeNaN();
  });
  it('pow of a negative base with a non-integer exponent is NaN; x^0 is 1 even for 0 and NaN', () => {
    const got = run(() => wg.pow(tensor([-2, -2, 0, NaN]), tensor([0.5, 2, 0, 0])));
    expect(got.data[0]).toBeNaN();
    expect(got.data.slice(1)).toEqual([4, 1, 1]);
  });
  it('pow by the exponents PyTorch computes without pow (2, 3, ±0.5, −1, −2, 1) gives its values at ±0, ±inf, NaN and extremes', () => {
    // torch 1.13: torch.pow(x, e) for these x; 0.5 and −0.5 are sqrt and 1/sqrt there, so
    // −0 gives −0 / −inf and −inf gives NaN (powf would give +0, +inf).
    const x = [-0, 0, -1, -2.5, Infinity, -Infinity, NaN, 1e-30, 3e38, -3e38, 1e-45, 7];
    const I = Infinity;
    const want: Record<string, number[]> = {
      2: [0, 0, 1, 6.25, I, I, NaN, 0, I, I, 0, 49],
      3: [-0, 0, -1, -15.625, I, -I, NaN, 0, I, -I, 0, 343],
      0.5: [-0, 0, NaN, NaN, I, NaN, NaN, 1.0000000036274937e-15, 1.7320507716308828e19, NaN, 3.743392066509216e-23, 2.6457512378692627],
      '-0.5': [-I, I, NaN, NaN, 0, NaN, NaN, 999999986991104, 5.773502894474484e-20, NaN, 2.671373844909537e22, 0.37796449661254883],
      '-1': [-I, I, -1, -0.4000000059604645, 0, -0, NaN, 1.0000000150474662e30, 3.333333116818801e-39, -3.333333116818801e-39, I, 0.1428571492433548],
      '-2': [I, I, 1, 0.1599999964237213, 0, 0, NaN, I, 0, 0, I, 0.020408162847161293],
      1: [-0, 0, -1, -2.5, I, -I, NaN, 1.0000000031710769e-30, 3.0000000054977558e38, -3.0000000054977558e38, 1.401298464324817e-45, 7],
    };
    for (const [e, expected] of Object.entries(want)) {
      const got = run(() => tensor(x).pow(Number(e)));
      expected.forEach((v, i) => expect(Object.is(got.data[i], v) || (Number.isNaN(v) && Number.isNaN(got.data[i])), `pow(${x[i]}, ${e}) = ${got.data[i]}, torch ${v}`).toBe(true));
    }
  });
  it('the gradient of x.pow(e) is e·x.pow(e − 1) by the same kernels, and 0 for e = 0 (torch 1.13)', () => {
    const cases: [number, number[]][] = [[2, [2.200000047683716, 4.599999904632568, -1.399999976158142]], [0, [0, 0, 0]]];
    for (const [e, want] of cases) {
      const g = run(() => {
        const x = tensor([1.1, 2.3, -0.7], { requiresGrad: true });
        x.pow(e).sum().backward();
        return x.grad!;
      });
      expect(Array.from(g.data), `d/dx x^${e}`).toEqual(want);
    }
    // 0.5·(1/sqrt(x)): +inf at +0 and −inf at −0, as 0.5·rsqrt gives in torch.
    const g = run(() => {
      const x = tensor([0, -0, 4], { requiresGrad: true });
      x.pow(0.5).sum().backward();
      return x.grad!;
    });
    expect(Array.from(g.data)).toEqual([Infinity, -Infinity, 0.25]);
  });
  it('pow by other exponents gives torch 1.13 values at ±0, ±1, ±inf, NaN, denormals and extremes, the same bits contiguous, strided and tensor–tensor', () => {
    const x = [0, -0, 1, -1, 2, -2, 0.5, -0.5, Infinity, -Infinity, NaN, 1e-45, -1e-45, 3e38, -3e38, 1.5, -1.5];
    const [I, N] = [Infinity, NaN];
    // torch.pow(torch.tensor(x), e) and torch.pow(x, torch.full_like(x, e)) (the same).
    const want: [number, number[]][] = [
      [1.7, [0, 0, 1, N, 3.249009609222412, N, 0.30778610706329346, N, I, I, N, 0, N, I, N, 1.9923019409179688, N]],
      [-2.5, [I, I, 1, N, 0.1767766922712326, N, 5.656854152679443, N, 0, 0, N, I, N, 0, N, 0.36288735270500183, N]],
      [0.25, [0, 0, 1, N, 1.1892070770263672, N, 0.8408964276313782, N, I, I, N, 6.118326765364168e-12, N, 4161791488, N, 1.1066819429397583, N]],
      [4, [0, 0, 1, 1, 16, 16, 0.0625, 0.0625, I, I, N, 0, 0, I, I, 5.0625, 5.0625]],
      [-3, [I, -I, 1, -1, 0.125, -0.125, 8, -8, 0, -0, N, I, -I, 0, -0, 0.29629629850387573, -0.29629629850387573]],
      [5, [0, -0, 1, -1, 32, -32, 0.03125, -0.03125, I, -I, N, 0, -0, I, -I, 7.59375, -7.59375]],
      [1e10, [0, 0, 1, 1, I, I, 0, 0, I, I, N, 0, 0, I, I, I, I]],
      [-I, [I, I, 1, 1, 0, 0, I, I, 0, 0, N, I, I, 0, 0, 0, 0]],
      [N, [N, N, 1, N, N, N, N, N, N, N, N, N, N, N, N, N, N]],
    ];
    // torch's vectorised loop (Sleef, 1 ulp) and its scalar tail (std::pow in double) can
    // differ in the last bit; ours is the correctly rounded one wherever we checked, so
    // finite non-zero results may be 1 ulp from torch's, the rest must be its bits.
    const same = (a: number, b: number) =>
      Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)) || (Number.isFinite(b) && b !== 0 && Math.abs(a - b) <= ulp(b));
    for (const [e, expected] of want) {
      const contiguous = run(() => tensor(x).pow(e)).data;
      // Every other element of a [17, 2] tensor: the strided loop.
      const strided = run(() => tensor(x.flatMap((v) => [v, 7]), { shape: [17, 2] }).narrow(1, 0, 1).pow(e)).data;
      const tt = run(() => tensor(x).pow(wg.full([17], e))).data;
      expected.forEach((v, i) => {
        expect(same(contiguous[i]!, v), `pow(${x[i]}, ${e}) = ${contiguous[i]}, torch ${v}`).toBe(true);
        expect(same(strided[i]!, v), `strided pow(${x[i]}, ${e}) = ${strided[i]}, torch ${v}`).toBe(true);
        expect(same(tt[i]!, v), `pow(${x[i]}, full(${e})) = ${tt[i]}, torch ${v}`).toBe(true);
      });
    }
  });
  it('pow by other exponents is within half an ulp of the exact power over the whole float range', () => {
    const next = rng(91);
    const bits = new Uint32Array(1);
    const f32 = new Float32Array(bits.buffer);
    const xs: number[] = [];
    const es: number[] = [];
    for (let i = 0; i < 3000; i++) {
      // Any finite float as the base (random sign, exponent and mantissa); exponents small,
      // large enough to overflow and underflow, and integers (negative bases then count).
      bits[0] = Math.floor(next() * 2 ** 32) & 0xff7fffff;
      xs.push(f32[0]!);
      es.push(Math.fround(i % 3 === 0 ? next() * 20 - 10 : i % 3 === 1 ? (next() - 0.5) * 2 ** (next() * 8) : Math.round(next() * 60 - 30)));
    }
    // A number exponent is a float32 to the kernel, as in torch's vectorised loop.
    for (const e of [1.7, -0.3, 7.25]) {
      const got = run(() => tensor(xs).pow(e)).data;
      xs.forEach((v, i) => {
        const exact = Math.pow(v, Math.fround(e));
        if (Number.isNaN(exact)) return expect(got[i], `pow(${v}, ${e})`).toBeNaN();
        if (!Number.isFinite(Math.fround(exact)) || exact === 0) return expect(got[i], `pow(${v}, ${e})`).toBe(Math.fround(exact));
        expect(Math.abs(got[i]! - exact) / ulp(exact), `pow(${v}, ${e}) = ${got[i]}, exact ${exact}`).toBeLessThanOrEqual(0.51);
      });
    }
    const got = run(() => tensor(xs).pow(tensor(es))).data;
    xs.forEach((v, i) => {
      const exact = Math.pow(v, es[i]!);
      if (Number.isNaN(exact)) return expect(got[i], `pow(${v}, ${es[i]})`).toBeNaN();
      if (!Number.isFinite(Math.fround(exact)) || exact === 0) return expect(got[i], `pow(${v}, ${es[i]})`).toBe(Math.fround(exact));
      expect(Math.abs(got[i]! - exact) / ulp(exact), `pow(${v}, ${es[i]}) = ${got[i]}, exact ${exact}`).toBeLessThanOrEqual(0.51);
    });
  });
  it('NaN propagates through add/sub/mul/div', () => {
    for (const name of ['add', 'sub', 'mul', 'div'] as const) {
      const got = run(() => fn(name, tensor([NaN, 1]), tensor([2, NaN])));
      expect(got.data[0], name).toBeNaN();
      expect(got.data[1], name).toBeNaN();
    }
  });
});

describe.each(NAMES)('%s gradients', (name) => {
  const ref = REF[name];
  const refZip = (a: Nd, b: Nd) => zip(a, b, ref);
  const check = (sa: number[], sb: number[], seed: number) =>
    gradcheck((a, b) => meth(name, a!, b!), refZip, operands(name, sa, sb, seed));

  it('same shape', () => check([3, 4], [3, 4], 31));
  it('broadcast [3, 1] with [1, 4] (both gradients summed back)', () => check([3, 1], [1, 4], 32));
  it('broadcast [2, 3, 4] with [4] and [4] with [2, 3, 4]', () => {
    check([2, 3, 4], [4], 33);
    check([4], [2, 3, 4], 34);
  });
  it('broadcast a 0-d tensor with a matrix, both orders', () => {
    check([], [2, 3], 35);
    check([2, 3], [], 36);
  });
  it('broadcast with a leading size-1 dim: [1, 3] with [2, 1, 3]', () => check([1, 3], [2, 1, 3], 37));
  it('empty broadcast: [0, 3] with [3] (gradient of [3] is zeros)', () => {
    check([0, 3], [3], 38);
    const g = tidy(() => {
      const x = wg.zeros([0, 3], { requiresGrad: true });
      const y = wg.ones([3], { requiresGrad: true });
      meth(name, x, y).sum().backward();
      return { xs: [...x.grad!.shape], ys: [...y.grad!.shape], y: Array.from(y.grad!.data()) };
    });
    expect(g).toEqual({ xs: [0, 3], ys: [3], y: [0, 0, 0] });
  });
  it('non-contiguous operands', () => {
    const [a, b] = operands(name, [3, 4], [4, 3], 39);
    gradcheck((x, y) => meth(name, x!.t(), y!), (x, y) => refZip(permute(x, [1, 0]), y), [a, b]);
    const [c, d] = operands(name, [2, 3, 4], [3, 2], 40);
    gradcheck((x, y) => meth(name, x!.permute(2, 0, 1), y!.t()), (x, y) => refZip(permute(x, [2, 0, 1]), permute(y, [1, 0])), [c, d]);
  });
  it('tensor–number and number–tensor', () => {
    const [a] = operands(name, [2, 3], [1], 41);
    const s = name === 'pow' ? 3 : 2.5;
    gradcheck((x) => fn(name, x!, s), (x) => map(x, (v) => ref(v, s)), [a]);
    const x = name === 'div' ? operands(name, [1], [2, 3], 42)[1] : randomNd([2, 3], 42);
    const base = name === 'pow' ? 1.5 : -1.5;
    gradcheck((t) => fn(name, base, t!), (t) => map(t, (v) => ref(base, v)), [x]);
  });
  it('the same tensor on both sides accumulates both gradients', () => {
    const [a] = operands(name, [2, 3], [1], 43);
    gradcheck((x) => meth(name, x!, x!), (x) => zip(x, x, ref), [a]);
  });
});

describe('pow gradients', () => {
  it('tensor exponent with a positive base: both gradients', () => {
    const base = randomNd([3, 4], 50, 0.5, 2.5);
    const exponent = randomNd([3, 4], 51, -2, 2);
    gradcheck((a, b) => wg.pow(a!, b!), (a, b) => zip(a, b, Math.pow), [base, exponent]);
  });
  it('tensor exponent broadcast against the base: [2, 3] ** [3] and [3, 1] ** [1, 4]', () => {
    gradcheck((a, b) => a!.pow(b!), (a, b) => zip(a, b, Math.pow), [randomNd([2, 3], 52, 0.5, 2.5), randomNd([3], 53, -2, 2)]);
    gradcheck((a, b) => a!.pow(b!), (a, b) => zip(a, b, Math.pow), [randomNd([3, 1], 54, 0.5, 2.5), randomNd([1, 4], 55, -2, 2)]);
  });
  it('integer exponents accept negative bases: x^2, x^3, x^-1', () => {
    const x = map(randomNd([2, 3], 56), (v) => Math.fround(v >= 0 ? v + 0.5 : v - 0.5));
    for (const e of [2, 3, -1]) gradcheck((t) => t!.pow(e), (t) => map(t, (v) => Math.pow(v, e)), [x]);
  });
  it('fractional exponent of a positive base: x^0.5, x^-1.5', () => {
    const x = randomNd([2, 3], 57, 0.5, 3);
    for (const e of [0.5, -1.5]) gradcheck((t) => t!.pow(e), (t) => map(t, (v) => Math.pow(v, e)), [x]);
  });
  it('d/dx x^0 is 0 everywhere, including x = 0 (PyTorch masks exponent == 0)', () => {
    const g = tidy(() => {
      const x = tensor([0, 1.5, -2], { requiresGrad: true });
      x.pow(0).sum().backward();
      const y = tensor([0, 3], { requiresGrad: true });
      y.pow(tensor([0, 0])).sum().backward();
      return [...Array.from(x.grad!.data()), ...Array.from(y.grad!.data())];
    });
    // `+ 0` folds -0 into +0: the sign of a zero gradient is not what is checked here.
    expect(g.map((v) => v + 0)).toEqual([0, 0, 0, 0, 0]);
  });
  it('d/d(exponent) of 0^b is 0 for b >= 0 (PyTorch masks base == 0), not NaN', () => {
    const g = tidy(() => {
      const x = tensor([0, 2], { requiresGrad: true });
      const e = tensor([2, 2], { requiresGrad: true });
      x.pow(e).sum().backward();
      return { x: Array.from(x.grad!.data()), e: Array.from(e.grad!.data()) };
    });
    expect(g.x).toEqual([0, 4]);
    expect(g.e[0]).toBe(0);
    expectClose([g.e[1]!], [4 * Math.log(2)], 1e-6, 1e-5, 'd/de 2^e');
  });
});

describe('broadcast gradient shapes', () => {
  it('gradients have the shapes of the inputs, not of the output', () => {
    const shapes = tidy(() => {
      const a = wg.ones([3, 1], { requiresGrad: true });
      const b = wg.ones([2, 1, 4], { requiresGrad: true });
      const c = tensor(2, { requiresGrad: true });
      wg.mul(wg.add(a, b), c).sum().backward();
      return [a.grad!.shape, b.grad!.shape, c.grad!.shape].map((s) => [...s]);
    });
    expect(shapes).toEqual([[3, 1], [2, 1, 4], []]);
  });
  it('the gradient of a broadcast operand is the sum over the broadcast dims', () => {
    // d/da sum(a * w) for a: [3, 1], w: [2, 3, 4] = sum of w over dims 0 and 2
    const w = randomNd([2, 3, 4], 60);
    const expected = new Float64Array(3);
    for (let i = 0; i < numel(w.shape); i++) expected[Math.floor(i / 4) % 3]! += w.data[i]!;
    const g = tidy(() => {
      const a = wg.ones([3, 1], { requiresGrad: true });
      a.mul(T(w)).sum().backward();
      return Array.from(a.grad!.data());
    });
    expectClose(g, expected, 1e-5, 1e-5, 'grad a');
  });
});

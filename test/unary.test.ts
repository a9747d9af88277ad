// Elementwise unary ops: forward vs Math.* (float64), special values vs PyTorch,
// gradients vs finite differences, method/function forms and dtype validation.
import { describe, expect, it } from 'vitest';
import * as wg from '../ts/node.js';
import { DTypeError, tensor, tidy, type Tensor } from '../ts/node.js';
import { expectClose, gradcheck } from './helpers/gradcheck.js';
import { map, nd, permute, randomNd, type Nd } from './helpers/reference.js';

type UnaryName = 'neg' | 'exp' | 'log' | 'sqrt' | 'abs' | 'relu' | 'sigmoid' | 'tanh';

interface UnaryCase {
  name: UnaryName;
  /** Independent float64 reference, with PyTorch's NaN/±Infinity semantics. */
  ref: (v: number) => number;
  /** Finite inputs for the forward sweep. */
  sweep: number[];
  /** [input, PyTorch's output] for NaN/±Infinity and domain edges. */
  special: [number, number][];
  /** Gradcheck input range; `awayFromZero` shifts values off the kink at 0. */
  lo: number;
  hi: number;
  awayFromZero?: boolean;
  /** Forward tolerances vs the float64 reference. */
  atol: number;
  rtol: number;
}

const wide = [0, -0, 1, -1, 0.5, -0.5, 2.25, -3.75, 1e-7, -1e-7, 7, -7, 12.5, -12.5, 30, -30];

const CASES: UnaryCase[] = [
  {
    name: 'neg', ref: (v) => -v, sweep: [...wide, 1e30, -1e30, 3.4e38],
    special: [[NaN, NaN], [Infinity, -Infinity], [-Infinity, Infinity]],
    lo: -3, hi: 3, atol: 0, rtol: 0,
  },
  {
    // exp grows fast: relative tolerance only (1 ulp of float32 is ~6e-8 relative).
    name: 'exp', ref: Math.exp, sweep: [...wide, 20, -20, 50, -50, 80, -80, 88, -87],
    special: [[-Infinity, 0], [Infinity, Infinity], [NaN, NaN], [100, Infinity], [-200, 0]],
    lo: -3, hi: 3, atol: 0, rtol: 2e-6,
  },
  {
    name: 'log', ref: Math.log, sweep: [1, 0.5, 2, 1e-7, 1e-30, 3.5, 10, 1e10, 1e30, 3e38, 0.999, 1.001],
    special: [[0, -Infinity], [-0, -Infinity], [-1, NaN], [-1e-6, NaN], [Infinity, Infinity], [-Infinity, NaN], [NaN, NaN]],
    lo: 0.5, hi: 3, atol: 1e-6, rtol: 1e-6,
  },
  {
    name: 'sqrt', ref: Math.sqrt, sweep: [0, 1, 4, 2, 0.25, 1e-7, 1e-30, 9, 1e10, 1e30, 3e38],
    special: [[-1, NaN], [-1e-6, NaN], [Infinity, Infinity], [-Infinity, NaN], [NaN, NaN]],
    lo: 0.5, hi: 3, atol: 0, rtol: 1e-6,
  },
  {
    name: 'abs', ref: Math.abs, sweep: [...wide, 1e30, -1e30],
    special: [[-Infinity, Infinity], [Infinity, Infinity], [NaN, NaN]],
    lo: -2, hi: 2, awayFromZero: true, atol: 0, rtol: 0,
  },
  {
    // Math.max propagates NaN, as torch.relu does: relu(NaN) = NaN.
    name: 'relu', ref: (v) => Math.max(v, 0), sweep: [...wide, 1e30, -1e30],
    special: [[NaN, NaN], [Infinity, Infinity], [-Infinity, 0]],
    lo: -2, hi: 2, awayFromZero: true, atol: 0, rtol: 0,
  },
  {
    // For x < -88 the exact value is a float32 denormal; an absolute tolerance covers it.
    name: 'sigmoid', ref: (v) => 1 / (1 + Math.exp(-v)), sweep: [...wide, 50, -50, 88, -88, 100, -100],
    special: [[-Infinity, 0], [Infinity, 1], [NaN, NaN]],
    lo: -3, hi: 3, atol: 1e-30, rtol: 1e-6,
  },
  {
    name: 'tanh', ref: Math.tanh, sweep: [...wide, 0.01, -0.01, 50, -50, 100, -100],
    special: [[-Infinity, -1], [Infinity, 1], [NaN, NaN]],
    lo: -3, hi: 3, atol: 1e-7, rtol: 1e-6,
  },
];

/** Applies op `name` through the method form. */
const method = (name: UnaryName, x: Tensor): Tensor => x[name]();
/** Applies op `name` through the function form. */
const func = (name: UnaryName, x: Tensor): Tensor => wg[name](x);

const f32 = (vs: number[]) => vs.map(Math.fround);

/** Forward of `name` on `values` (1-D), read back as plain numbers. */
function forward(name: UnaryName, values: number[]): number[] {
  return tidy(() => Array.from(method(name, tensor(values)).data()));
}

/** Inputs for the gradient check, away from 0 when the op has a kink there. */
function gradInput(c: UnaryCase, shape: number[], seed: number): Nd {
  const x = randomNd(shape, seed, c.lo, c.hi);
  return c.awayFromZero ? map(x, (v) => Math.fround(v >= 0 ? v + 0.25 : v - 0.25)) : x;
}

const refNd = (c: UnaryCase) => (x: Nd) => map(x, c.ref);

describe.each(CASES)('$name', (c) => {
  it('matches the float64 reference over a sweep of values', () => {
    const inputs = f32(c.sweep);
    const expected = inputs.map(c.ref);
    expectClose(forward(c.name, inputs), expected, c.atol, c.rtol, `${c.name} sweep`);
  });

  it('matches the reference on random values of a 3-D tensor and keeps the shape', () => {
    const x = gradInput(c, [2, 3, 4], 7);
    const out = tidy(() => {
      const y = method(c.name, tensor(Array.from(x.data), { shape: x.shape }));
      return { shape: [...y.shape], data: Array.from(y.data()) };
    });
    expect(out.shape).toEqual([2, 3, 4]);
    expectClose(out.data, map(x, c.ref).data, c.atol, Math.max(c.rtol, 1e-6), `${c.name} random`);
  });

  it('propagates NaN and ±Infinity as PyTorch does', () => {
    const inputs = c.special.map(([v]) => v);
    const expected = c.special.map(([, e]) => e);
    const got = forward(c.name, inputs);
    for (let i = 0; i < inputs.length; i++) {
      const want = expected[i]!;
      if (Number.isNaN(want)) expect(got[i], `${c.name}(${inputs[i]})`).toBeNaN();
      else expect(got[i], `${c.name}(${inputs[i]})`).toBe(want);
    }
  });

  it('handles 0-d and empty tensors', () => {
    const r = tidy(() => {
      const s = method(c.name, tensor(0.75));
      const e = method(c.name, wg.zeros([0, 3]));
      return { sShape: [...s.shape], s: Number(s.item()), eShape: [...e.shape], eSize: e.size };
    });
    expect(r.sShape).toEqual([]);
    expectClose([r.s], [c.ref(0.75)], 1e-7, 1e-6, `${c.name}(0.75)`);
    expect(r.eShape).toEqual([0, 3]);
    expect(r.eSize).toBe(0);
  });

  it('reads non-contiguous (transposed) input in logical order', () => {
    const x = gradInput(c, [3, 5], 11);
    const got = tidy(() => Array.from(method(c.name, tensor(Array.from(x.data), { shape: x.shape }).t()).data()));
    expectClose(got, map(permute(x, [1, 0]), c.ref).data, c.atol, Math.max(c.rtol, 1e-6), `${c.name} transposed`);
  });

  it('method form and function form agree', () => {
    const x = gradInput(c, [4, 3], 3);
    const [a, b] = tidy(() => {
      const t = tensor(Array.from(x.data), { shape: x.shape });
      return [Array.from(method(c.name, t).data()), Array.from(func(c.name, t).data())];
    });
    expect(b).toEqual(a);
  });

  it('rejects int32 input with DTypeError (method and function form)', () => {
    tidy(() => {
      const i = tensor(new Int32Array([1, 2, 3]));
      expect(() => method(c.name, i)).toThrow(DTypeError);
      expect(() => func(c.name, i)).toThrow(DTypeError);
    });
  });

  it('gradcheck on a [3, 4] input', () => {
    gradcheck((x) => method(c.name, x), refNd(c), [gradInput(c, [3, 4], 42)]);
  });

  it('gradcheck through a transposed (non-contiguous) input', () => {
    gradcheck((x) => func(c.name, x.t()), (x) => refNd(c)(permute(x, [1, 0])), [gradInput(c, [3, 4], 43)]);
  });

  it('gradcheck on a 0-d input', () => {
    const v = c.awayFromZero ? -0.75 : (c.lo + c.hi) / 2 + 0.3;
    gradcheck((x) => method(c.name, x), refNd(c), [nd([], [Math.fround(v)])]);
  });
});

describe('unary gradients at special points (PyTorch values)', () => {
  /** Gradient of sum(op(x)) at each of `values`. */
  const gradAt = (name: UnaryName, values: number[]): number[] =>
    tidy(() => {
      const x = tensor(values, { requiresGrad: true });
      method(name, x).sum().backward();
      return Array.from(x.grad!.data());
    });

  it('relu and abs have gradient 0 at 0 (PyTorch convention)', () => {
    expect(gradAt('relu', [0, -2, 3])).toEqual([0, 0, 1]);
    expect(gradAt('abs', [0, -2, 3])).toEqual([0, -1, 1]);
  });

  it('sqrt has gradient +Infinity at 0', () => {
    expect(gradAt('sqrt', [0])).toEqual([Infinity]);
  });

  it('sigmoid and tanh gradients saturate to 0 at large |x| without NaN', () => {
    for (const g of [...gradAt('sigmoid', [-100, 100, -30, 30]), ...gradAt('tanh', [-100, 100, -30, 30])]) {
      expect(Number.isNaN(g)).toBe(false);
      expect(Math.abs(g)).toBeLessThan(1e-12);
    }
  });

  it('exp of a chained op: d/dx exp(neg(x)) = -exp(-x)', () => {
    const xs = f32([-1.5, 0, 0.5, 2]);
    const g = tidy(() => {
      const x = tensor(xs, { requiresGrad: true });
      x.neg().exp().sum().backward();
      return Array.from(x.grad!.data());
    });
    expectClose(g, xs.map((v) => -Math.exp(-v)), 1e-6, 1e-5, 'grad exp(neg(x))');
  });
});

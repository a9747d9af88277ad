// More elementwise unary ops: log1p expm1 rsqrt reciprocal square sin cos tan silu
// softplus floor ceil round — forward vs float64 Math references, gradcheck, special values.
import { describe, expect, it } from 'vitest';
import * as wg from '../ts/node.js';
import { tensor, tidy, type Tensor } from '../ts/node.js';
import { expectClose, gradcheck } from './helpers/gradcheck.js';
import { map, randomNd } from './helpers/reference.js';
import { run } from './helpers/snapshot.js';

type Name = 'log1p' | 'expm1' | 'rsqrt' | 'reciprocal' | 'square' | 'sin' | 'cos' | 'tan' | 'silu' | 'softplus';

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
const CASES: { name: Name; ref: (v: number) => number; lo: number; hi: number; sweep: number[] }[] = [
  { name: 'log1p', ref: Math.log1p, lo: -0.5, hi: 3, sweep: [0, 1e-8, -1e-8, 0.5, -0.9, 10, 1e6] },
  { name: 'expm1', ref: Math.expm1, lo: -2, hi: 2, sweep: [0, 1e-8, -1e-8, 0.5, -3, 10, -20] },
  { name: 'rsqrt', ref: (v) => 1 / Math.sqrt(v), lo: 0.5, hi: 3, sweep: [1, 4, 0.25, 1e-6, 1e6] },
  { name: 'reciprocal', ref: (v) => 1 / v, lo: 0.5, hi: 3, sweep: [1, -2, 0.25, 1e-6, -1e6] },
  { name: 'square', ref: (v) => v * v, lo: -2, hi: 2, sweep: [0, -3, 1.5, 1e-3, 1e10] },
  { name: 'sin', ref: Math.sin, lo: -3, hi: 3, sweep: [0, 1, -1, 3.14159, 100, -50] },
  { name: 'cos', ref: Math.cos, lo: -3, hi: 3, sweep: [0, 1, -1, 3.14159, 100, -50] },
  { name: 'tan', ref: Math.tan, lo: -1.2, hi: 1.2, sweep: [0, 1, -1, 0.5, 1.5] },
  { name: 'silu', ref: (v) => v * sigmoid(v), lo: -3, hi: 3, sweep: [0, 1, -1, 10, -10, 50, -50] },
  { name: 'softplus', ref: (v) => (v > 20 ? v : Math.log1p(Math.exp(v))), lo: -3, hi: 3, sweep: [0, 1, -1, 19, 21, 50, -50] },
];

describe.each(CASES)('$name', ({ name, ref, lo, hi, sweep }) => {
  it('forward matches the float64 reference (method and function forms)', () => {
    const inputs = sweep.map(Math.fround);
    const expected = inputs.map(ref);
    const method = run(() => (tensor(inputs)[name] as () => Tensor).call(tensor(inputs)));
    expectClose(method.data, expected, 1e-6, 4e-6, name);
    const fn = run(() => (wg[name] as (x: Tensor) => Tensor)(tensor(inputs)));
    expect(fn.data).toEqual(method.data);
  });
  it('gradient matches finite differences', () => {
    gradcheck((x) => (wg[name] as (x: Tensor) => Tensor)(x), (x) => map(x, ref), [randomNd([2, 5], 41, lo, hi)]);
  });
});

describe('floor, ceil, round', () => {
  const xs = [-2.5, -1.5, -0.5, -0.4, 0, 0.4, 0.5, 1.5, 2.5, 2.6, -2.6];
  it('match PyTorch (round halves to even: torch.round(tensor([0.5, 1.5, 2.5])) = [0., 2., 2.])', () => {
    const plusZero = (vs: number[]) => vs.map((v) => v + 0); // -0 and 0 compare equal here
    expect(plusZero(run(() => tensor(xs).floor()).data)).toEqual(plusZero(xs.map(Math.floor)));
    expect(plusZero(run(() => tensor(xs).ceil()).data)).toEqual(plusZero(xs.map(Math.ceil)));
    expect(run(() => tensor([0.5, 1.5, 2.5, -0.5, -1.5, 2.6]).round()).data.map((v) => v + 0)).toEqual([0, 2, 2, 0, -2, 3]);
  });
  it('have zero gradients, as in PyTorch', () => {
    const grads = tidy(() => {
      const x = tensor([0.3, 1.7], { requiresGrad: true });
      x.floor().add(x.ceil()).add(x.round()).sum().backward();
      return Array.from(x.grad!.data());
    });
    expect(grads).toEqual([0, 0]);
  });
});

describe('special values', () => {
  it('follow IEEE like PyTorch', () => {
    const d = (name: Name, v: number) => tidy(() => (tensor([v])[name] as () => Tensor).call(tensor([v])).item());
    expect(d('log1p', -1)).toBe(-Infinity);
    expect(Number.isNaN(d('log1p', -2))).toBe(true);
    expect(d('rsqrt', 0)).toBe(Infinity);
    expect(d('reciprocal', -0)).toBe(-Infinity);
    expect(d('expm1', -Infinity)).toBe(-1);
    expect(d('softplus', 100)).toBe(100);
    expect(Number.isNaN(d('silu', NaN))).toBe(true);
  });
});

describe('leakyRelu and elu', () => {
  it('match the references away from the kink, with gradients', () => {
    const x = map(randomNd([2, 6], 43, -3, 3), (v) => (Math.abs(v) < 0.05 ? v + 0.1 : v));
    gradcheck((t) => wg.leakyRelu(t, 0.2), (t) => map(t, (v) => (v > 0 ? v : 0.2 * v)), [x]);
    gradcheck((t) => t.leakyRelu(), (t) => map(t, (v) => (v > 0 ? v : 0.01 * v)), [x]);
    gradcheck((t) => wg.elu(t, 1.5), (t) => map(t, (v) => (v > 0 ? v : 1.5 * Math.expm1(v))), [x]);
  });
});

// PyTorch 1.13's F.hardtanh at special values (its row in op-cases.ts checks gradients and
// golden values).
describe('hardtanh at special values', () => {
  it('NaN stays NaN, ±inf clamps, min > max gives max (as PyTorch)', () => {
    tidy(() => {
      expect(Array.from(wg.hardtanh(tensor([NaN, Infinity, -Infinity])).data())).toEqual([NaN, 1, -1]);
      expect(Array.from(tensor([0.5]).hardtanh(2, 1).data())).toEqual([1]);
      expect(Array.from(tensor([-3, 0.2, 3]).hardtanh(-0.5, 0.5).data())).toEqual([-0.5, Math.fround(0.2), 0.5]);
    });
  });
  it('the gradient is 0 at the bounds', () => {
    tidy(() => {
      const x = tensor([-1, 0, 1], { requiresGrad: true });
      const [g] = wg.grad(x.hardtanh().sum(), x);
      expect(Array.from(g!.data())).toEqual([0, 1, 0]);
      expect(x.hardtanh().gradFn).toBe('HardtanhBackward0');
    });
  });
});

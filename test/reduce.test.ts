// sum and mean: all dims, one dim, several dims, negative dims, keepdim, 0-d, empty and
// non-contiguous inputs; gradients; invalid dims.
import { describe, expect, it } from 'vitest';
import * as wg from '../ts/node.js';
import { ArgumentError, DTypeError, tensor, tidy, type Tensor } from '../ts/node.js';
import { expectClose, gradcheck } from './helpers/gradcheck.js';
import { mean, nd, permute, randomNd, sum, type Nd } from './helpers/reference.js';
import { T, run } from './helpers/snapshot.js';

type ReduceName = 'sum' | 'mean';
type Dim = number | number[] | undefined;

const REF: Record<ReduceName, (x: Nd, axes?: number[], keepdim?: boolean) => Nd> = { sum, mean };
const axesOf = (dim: Dim): number[] | undefined => (dim === undefined ? undefined : typeof dim === 'number' ? [dim] : dim);

interface Case {
  label: string;
  shape: number[];
  dim: Dim;
}

const CASES: Case[] = [
  { label: 'all dims of a 3-D tensor', shape: [2, 3, 4], dim: undefined },
  { label: 'all dims of a 1-D tensor', shape: [5], dim: undefined },
  { label: 'dim 0', shape: [2, 3, 4], dim: 0 },
  { label: 'dim 1', shape: [2, 3, 4], dim: 1 },
  { label: 'dim 2 (innermost)', shape: [2, 3, 4], dim: 2 },
  { label: 'dim -1', shape: [2, 3, 4], dim: -1 },
  { label: 'dim -3', shape: [2, 3, 4], dim: -3 },
  { label: 'dims [0, 2]', shape: [2, 3, 4], dim: [0, 2] },
  { label: 'dims [2, 0] (unsorted)', shape: [2, 3, 4], dim: [2, 0] },
  { label: 'dims [-1, 0] (mixed signs)', shape: [2, 3, 4], dim: [-1, 0] },
  { label: 'dims [0, 1, 2] (all, as a list)', shape: [2, 3, 4], dim: [0, 1, 2] },
  { label: 'dims [1, 2] of a 4-D tensor', shape: [2, 3, 4, 5], dim: [1, 2] },
  { label: 'a size-1 dim', shape: [3, 1, 4], dim: 1 },
  { label: 'dim 0 of a 0-d tensor', shape: [], dim: 0 },
  { label: 'dim -1 of a 0-d tensor', shape: [], dim: -1 },
  { label: 'all dims of a 0-d tensor', shape: [], dim: undefined },
];

describe.each(['sum', 'mean'] as const)('%s', (name: ReduceName) => {
  const ref = REF[name];
  const apply = (x: Tensor, dim: Dim, keepdim: boolean): Tensor => x[name](dim, keepdim);

  describe.each(CASES)('$label', ({ shape, dim }) => {
    it.each([false, true])('keepdim=%s: forward matches the reference', (keepdim) => {
      const x = randomNd(shape, 100 + shape.length);
      // keepdim on a 0-d tensor keeps it 0-d, as in PyTorch.
      const expected = ref(x, axesOf(dim), keepdim);
      const got = run(() => apply(T(x), dim, keepdim));
      expect(got.shape).toEqual(expected.shape);
      expectClose(got.data, expected.data, 1e-5, 1e-5, `${name}`);
    });
    it.each([false, true])('keepdim=%s: gradcheck', (keepdim) => {
      gradcheck((x) => apply(x!, dim, keepdim), (x) => ref(x, axesOf(dim), keepdim), [randomNd(shape, 200 + shape.length)]);
    });
  });

  it('method and function forms agree', () => {
    const x = randomNd([3, 4], 7);
    const a = run(() => apply(T(x), [1], true));
    const b = run(() => wg[name](T(x), [1], true));
    expect(b).toEqual(a);
    const c = run(() => wg[name](T(x)));
    expect(c.shape).toEqual([]);
  });

  it('reads non-contiguous input (transposed, permuted, expanded) in logical order', () => {
    const x = randomNd([3, 4], 8);
    const y = randomNd([2, 3, 4], 9);
    const z = randomNd([3, 1], 10);
    const cases: [() => Tensor, Nd][] = [
      [() => apply(T(x).t(), 0, false), ref(permute(x, [1, 0]), [0])],
      [() => apply(T(x).t(), 1, true), ref(permute(x, [1, 0]), [1], true)],
      [() => apply(T(x).t(), undefined, false), ref(permute(x, [1, 0]))],
      [() => apply(T(y).permute(2, 0, 1), [0, 2], false), ref(permute(y, [2, 0, 1]), [0, 2])],
      [() => apply(T(y).permute(1, 2, 0), -1, false), ref(permute(y, [1, 2, 0]), [-1])],
      [() => apply(T(z).expand(3, 5), 1, false), ref(nd([3, 5], Array.from({ length: 15 }, (_, i) => z.data[Math.floor(i / 5)]!)), [1])],
    ];
    for (const [f, expected] of cases) {
      const got = run(f);
      expect(got.shape).toEqual(expected.shape);
      expectClose(got.data, expected.data, 1e-5, 1e-5, name);
    }
  });

  it('gradcheck through non-contiguous input', () => {
    gradcheck((x) => apply(x!.t(), 0, false), (x) => ref(permute(x, [1, 0]), [0]), [randomNd([3, 4], 11)]);
    gradcheck((x) => apply(x!.permute(2, 0, 1), [0, 2], true), (x) => ref(permute(x, [2, 0, 1]), [0, 2], true), [randomNd([2, 3, 4], 12)]);
  });

  it('out-of-range dims throw ArgumentError', () => {
    tidy(() => {
      const x = wg.ones([2, 3, 4]);
      for (const d of [3, -4, 100]) expect(() => apply(x, d, false), `dim ${d}`).toThrow(ArgumentError);
      expect(() => apply(x, [0, 3], false)).toThrow(ArgumentError);
      const s = tensor(1);
      for (const d of [1, -2]) expect(() => apply(s, d, false), `0-d dim ${d}`).toThrow(ArgumentError);
    });
  });

  it('non-integer dims throw ArgumentError', () => {
    tidy(() => {
      expect(() => apply(wg.ones([2, 3]), 0.5, false)).toThrow(ArgumentError);
    });
  });

  it('a repeated dim throws ArgumentError (also when spelled with a negative index)', () => {
    tidy(() => {
      const x = wg.ones([2, 3, 4]);
      expect(() => apply(x, [1, 1], false)).toThrow(ArgumentError);
      expect(() => apply(x, [1, -2], false)).toThrow(ArgumentError);
      expect(() => apply(x, [0, 2, -3], true)).toThrow(ArgumentError);
    });
  });

  it('a repeated dim of a 0-d tensor throws, as in PyTorch', () => {
    tidy(() => {
      const s = tensor(1);
      expect(() => apply(s, [0, 0], false)).toThrow(ArgumentError);
      expect(() => apply(s, [0, -1], false)).toThrow(ArgumentError);
    });
  });

  it('int32 input throws DTypeError', () => {
    tidy(() => {
      expect(() => apply(tensor(new Int32Array([1, 2])), undefined, false)).toThrow(DTypeError);
    });
  });
});

describe('reductions of empty tensors (PyTorch semantics)', () => {
  it('sum of an empty tensor is 0; mean is NaN', () => {
    const r = tidy(() => ({
      s: wg.zeros([0]).sum().item(),
      m: wg.zeros([0]).mean().item(),
      s2: wg.zeros([2, 0, 3]).sum().item(),
      m2: wg.zeros([2, 0, 3]).mean().item(),
    }));
    expect(r.s).toBe(0);
    expect(r.s2).toBe(0);
    expect(r.m).toBeNaN();
    expect(r.m2).toBeNaN();
  });
  it('reducing the empty dim gives zeros (sum) or NaN (mean) of the remaining shape', () => {
    const s = run(() => wg.zeros([0, 3]).sum(0));
    expect(s).toEqual({ shape: [3], data: [0, 0, 0] });
    const sk = run(() => wg.zeros([0, 3]).sum(0, true));
    expect(sk).toEqual({ shape: [1, 3], data: [0, 0, 0] });
    const m = run(() => wg.zeros([2, 0]).mean(1));
    expect(m.shape).toEqual([2]);
    for (const v of m.data) expect(v).toBeNaN();
  });
  it('reducing a non-empty dim of an empty tensor stays empty', () => {
    expect(run(() => wg.zeros([0, 3]).sum(1))).toEqual({ shape: [0], data: [] });
    expect(run(() => wg.zeros([0, 3]).mean(1, true))).toEqual({ shape: [0, 1], data: [] });
  });
  it('gradcheck of empty reductions (gradients are empty)', () => {
    gradcheck((x) => x!.sum(), (x) => sum(x), [nd([0, 3], [])]);
    gradcheck((x) => x!.sum(1), (x) => sum(x, [1]), [nd([0, 3], [])]);
    gradcheck((x) => x!.mean(0), (x) => mean(x, [0]), [nd([0, 3], [])]);
  });
});

describe('reduction accuracy and gradient values', () => {
  it('sums 100 000 values accurately (float32 data, float64 reference)', () => {
    const x = randomNd([100_000], 300, 0, 1);
    let total = 0;
    for (const v of x.data) total += v;
    const got = tidy(() => Number(T(x).sum().item()));
    expectClose([got], [total], 0, 1e-6, 'sum of 1e5');
  });
  it('sums a long strided column accurately', () => {
    const x = randomNd([5000, 3], 301, 0, 1);
    const expected = sum(x, [0]);
    const got = run(() => T(x).sum(0));
    expectClose(got.data, expected.data, 0, 1e-6, 'column sums');
  });
  it('the gradient of mean over a dim is 1/n at every element', () => {
    const g = tidy(() => {
      const x = wg.ones([2, 4], { requiresGrad: true });
      x.mean(1).sum().backward();
      return Array.from(x.grad!.data());
    });
    expect(g).toEqual(new Array(8).fill(0.25));
  });
  it('the gradient of a full sum is 1 at every element, including for a 0-d input', () => {
    const g = tidy(() => {
      const x = wg.ones([2, 3], { requiresGrad: true });
      const s = tensor(5, { requiresGrad: true });
      x.sum().backward();
      s.sum(0).backward();
      return [Array.from(x.grad!.data()), s.grad!.item()];
    });
    expect(g).toEqual([[1, 1, 1, 1, 1, 1], 1]);
  });
});

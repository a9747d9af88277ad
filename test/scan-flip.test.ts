// cumsum and flip: values vs float64 references (0-d, size-0 and size-1 dims,
// non-contiguous inputs), gradients through gradcheck, accuracy of long running sums,
// PyTorch goldens, errors.
import { describe, expect, it } from 'vitest';
import { ArgumentError, cumsum, flip, tensor, tidy } from '../ts/node.js';
import { gradcheck } from './helpers/gradcheck.js';
import { nd, permute, randomNd } from './helpers/reference.js';
import { run, T, thrown } from './helpers/snapshot.js';
import { refCumsum, refFlip } from './helpers/reference-ops.js';

describe('cumsum', () => {
  const cases: [number[], number][] = [[[5], 0], [[3, 4], 0], [[3, 4], 1], [[3, 4], -1], [[2, 3, 4], 1], [[1, 4], 0], [[4, 1], 1]];
  for (const [shape, dim] of cases) {
    it(`along dim ${dim} of [${shape.join(', ')}]`, () => {
      gradcheck((t) => t.cumsum(dim), (t) => refCumsum(t, dim), [randomNd(shape, 301 + shape.length + dim)]);
    });
  }
  it('0-d, empty and non-contiguous inputs', () => {
    expect(run(() => tensor(3).cumsum(0))).toEqual({ shape: [], data: [3] });
    expect(run(() => tensor(3).cumsum(-1))).toEqual({ shape: [], data: [3] });
    expect(run(() => tensor([], { shape: [0, 3] }).cumsum(0))).toEqual({ shape: [0, 3], data: [] });
    expect(run(() => tensor([], { shape: [2, 0] }).cumsum(0))).toEqual({ shape: [2, 0], data: [] });
    // Along an empty last dim (the row loop's own path).
    expect(run(() => tensor([], { shape: [2, 0] }).cumsum(1))).toEqual({ shape: [2, 0], data: [] });
    expect(run(() => tensor([], { shape: [0, 3] }).cumsum(1))).toEqual({ shape: [0, 3], data: [] });
    gradcheck((t) => cumsum(t.t(), 1), (t) => refCumsum(permute(t, [1, 0]), 1), [randomNd([3, 4], 310)]);
    gradcheck((t) => t.slice(1, 0, 5, 2).cumsum(1), (t) => refCumsum(nd([2, 3], [0, 2, 4, 5, 7, 9].map((k) => t.data[k]!)), 1), [randomNd([2, 5], 311)]);
  });
  it('accumulates in float64: 100 000 × 0.1 stays accurate', () => {
    const n = 100_000;
    const last = tidy(() => tensor(new Float32Array(n).fill(0.1)).cumsum(0).slice(0, n - 1).item());
    expect(last).toBe(Math.fround(n * Math.fround(0.1)));
  });
  it('matches PyTorch values and gradients', () => {
    const got = tidy(() => {
      const x = tensor([[1, 2, 3], [4, 5, 6]], { requiresGrad: true });
      const y = x.cumsum(1);
      y.backward(tensor([[1, 0, 2], [0.5, 1, -1]]));
      return { y: y.toArray(), g: x.grad!.toArray(), fn: y.gradFn };
    });
    expect(got).toEqual({ y: [[1, 3, 6], [4, 9, 15]], g: [[3, 2, 2], [0.5, 0, -1]], fn: 'CumsumBackward0' });
  });
  it('errors: dim out of range, int32 input', () => {
    const e = thrown(() => tensor([1, 2]).cumsum(1));
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e.message).toMatch(/^cumsum: dimension 1 is out of range for a tensor of rank 1/);
    expect(thrown(() => tensor([1, 2], { dtype: 'int32' }).cumsum(0)).message).toMatch(/^cumsum: expected a float32 tensor/);
    expect(run(() => tensor([1, 2]).cumsum(0)).data).toEqual([1, 3]);
  });
});

describe('flip', () => {
  const cases: [number[], number[]][] = [[[5], [0]], [[3, 4], [0]], [[3, 4], [1]], [[3, 4], [0, 1]], [[2, 3, 4], [0, 2]], [[2, 3, 4], [-2]], [[2, 1, 3], [1, 2]], [[3, 4], []]];
  for (const [shape, dims] of cases) {
    it(`dims [${dims.join(', ')}] of [${shape.join(', ')}]`, () => {
      gradcheck((t) => t.flip(dims), (t) => refFlip(t, dims), [randomNd(shape, 320 + shape.length + dims.length)]);
    });
  }
  it('copies (the input is unchanged), takes dims as arguments or an array, and matches PyTorch', () => {
    const x = tensor(Array.from({ length: 24 }, (_, i) => i), { shape: [2, 3, 4] });
    const expected = [15, 14, 13, 12, 19, 18, 17, 16, 23, 22, 21, 20, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8];
    expect(run(() => x.flip(0, 2)).data).toEqual(expected);
    expect(run(() => flip(x, [0, -1])).data).toEqual(expected);
    expect(run(() => x.flip([2, 0]).flip(0, 2))).toEqual(run(() => x.reshape(2, 3, 4)));
    expect(tidy(() => x.flip(1).gradFn)).toBeNull();
    expect(tidy(() => x.detach().requiresGrad_().flip(1).gradFn)).toBe('FlipBackward0');
    x.dispose();
  });
  it('0-d, empty and non-contiguous inputs', () => {
    expect(run(() => tensor(7).flip(0))).toEqual({ shape: [], data: [7] });
    expect(run(() => tensor(7).flip())).toEqual({ shape: [], data: [7] });
    expect(run(() => tensor([], { shape: [0, 3] }).flip(0, 1))).toEqual({ shape: [0, 3], data: [] });
    gradcheck((t) => t.t().flip(1), (t) => refFlip(permute(t, [1, 0]), [1]), [randomNd([3, 4], 330)]);
    gradcheck((t) => t.permute(2, 0, 1).flip(0, 2), (t) => refFlip(permute(t, [2, 0, 1]), [0, 2]), [randomNd([2, 3, 4], 331)]);
    const x = randomNd([4, 6], 332);
    expect(run(() => T(x).slice(1, 1, 6, 2).flip(-1)).data).toEqual(
      Array.from(refFlip(nd([4, 3], Array.from({ length: 12 }, (_, k) => x.data[Math.floor(k / 3) * 6 + 1 + 2 * (k % 3)]!)), [1]).data),
    );
  });
  it('errors: repeated and out-of-range dims', () => {
    const x = tensor([[1, 2], [3, 4]]);
    const e = thrown(() => x.flip(0, -2));
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e.message).toMatch(/^flip: dimension -2 appears more than once/);
    expect(thrown(() => x.flip(2)).message).toMatch(/^flip: dimension 2 is out of range/);
    expect(run(() => x.flip(1)).data).toEqual([2, 1, 4, 3]);
    x.dispose();
  });
});

// PyTorch 1.13's torch.logcumsumexp at special values (the op's row in op-cases.ts checks
// gradients, second derivatives and golden values).
describe('logcumsumexp at special values', () => {
  const values = (x: number[], dim = 0): number[] => tidy(() => Array.from(tensor(x).logcumsumexp(dim).data()));
  it('-inf, +inf and NaN as PyTorch', () => {
    expect(values([-Infinity, 0, Infinity, 1])).toEqual([-Infinity, 0, Infinity, Infinity]);
    expect(values([-Infinity, -Infinity, 1])).toEqual([-Infinity, -Infinity, 1]);
    expect(values([1, NaN, 1])).toEqual([1, NaN, NaN]);
  });
  it('large values do not overflow; 0-d and empty tensors', () => {
    expect(values([1000, 1000])).toEqual([1000, Math.fround(1000 + Math.log(2))]);
    expect(tidy(() => tensor(2).logcumsumexp(0).item())).toBe(2);
    expect(tidy(() => tensor([]).logcumsumexp(0).shape)).toEqual([0]);
  });
  it('int32 input and a bad dim are typed errors', () => {
    tidy(() => {
      expect(thrown(() => tensor([1, 2], { dtype: 'int32' }).logcumsumexp(0))).toMatchObject({ name: 'DTypeError' });
      expect(thrown(() => tensor([1, 2]).logcumsumexp(1))).toMatchObject({ name: 'ArgumentError', message: expect.stringMatching(/logcumsumexp/) });
      expect(thrown(() => tensor([1, 2]).logcumsumexp(0.5))).toBeInstanceOf(ArgumentError);
    });
  });
});

// gather, scatter (tensor and number forms) and scatterAdd: values vs float64 references,
// gradients through gradcheck (repeated indices, index smaller than src, non-contiguous
// inputs and indices, 0-d and empty cases), PyTorch goldens, validation errors.
import { describe, expect, it } from 'vitest';
import { ArgumentError, DTypeError, gather, scatter, scatterAdd, ShapeError, tensor, tidy, zeros, type Tensor } from '../ts/node.js';
import { gradcheck } from './helpers/gradcheck.js';
import { nd, numel, permute, randomNd } from './helpers/reference.js';
import { run, T, thrown } from './helpers/snapshot.js';
import { refGather, refScatter, type Index } from './helpers/reference-ops.js';

const I = (ix: Index): Tensor => tensor(ix.values, { shape: ix.shape, dtype: 'int32' });

const rows: Index = { shape: [2, 4], values: [2, 0, 1, 2, 0, 0, 2, 1] };

describe('gather', () => {
  it('along each dim, with repeated indices accumulating in the gradient', () => {
    gradcheck((x) => x.gather(0, I(rows)), (x) => refGather(x, 0, rows), [randomNd([3, 4], 401)]);
    const cols: Index = { shape: [3, 2], values: [3, 3, 0, 1, 2, 0] };
    gradcheck((x) => gather(x, 1, I(cols)), (x) => refGather(x, 1, cols), [randomNd([3, 4], 402)]);
    const deep: Index = { shape: [2, 2, 3], values: [0, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1] };
    gradcheck((x) => x.gather(-1, I(deep)), (x) => refGather(x, 2, deep), [randomNd([2, 3, 2], 403)]);
  });
  it('index may be longer than the input along dim and shorter elsewhere', () => {
    const ix: Index = { shape: [5, 2], values: [0, 1, 2, 2, 1, 0, 0, 0, 2, 1] };
    gradcheck((x) => x.gather(0, I(ix)), (x) => refGather(x, 0, ix), [randomNd([3, 4], 404)]);
  });
  it('non-contiguous input and index, 0-d and empty cases', () => {
    const ix: Index = { shape: [4, 2], values: [2, 0, 1, 1, 0, 2, 2, 2] };
    gradcheck((x) => x.t().gather(1, I(ix)), (x) => refGather(permute(x, [1, 0]), 1, ix), [randomNd([3, 4], 405)]);
    const x = randomNd([3, 3], 406);
    // A transposed index: [[0, 1, 1], [2, 0, 2]]ᵀ is [[0, 2], [1, 0], [1, 2]].
    const viaT = run(() => T(x).gather(0, tensor([[0, 1, 1], [2, 0, 2]], { dtype: 'int32' }).t()));
    expect(viaT).toEqual({ shape: [3, 2], data: Array.from(refGather(x, 0, { shape: [3, 2], values: [0, 2, 1, 0, 1, 2] }).data, Math.fround) });
    expect(run(() => tensor(5).gather(0, tensor(0, { dtype: 'int32' })))).toEqual({ shape: [], data: [5] });
    expect(run(() => tensor(5).gather(-1, tensor([0, 0], { dtype: 'int32' })))).toEqual({ shape: [2], data: [5, 5] });
    expect(run(() => tensor([5, 6]).gather(0, tensor(1, { dtype: 'int32' })))).toEqual({ shape: [], data: [6] });
    expect(run(() => tensor([[1, 2]]).gather(1, tensor([], { shape: [0, 3], dtype: 'int32' })))).toEqual({ shape: [0, 3], data: [] });
    gradcheck((t) => t.gather(0, I({ shape: [], values: [0] })), (t) => t, [nd([], [1.5])]);
  });
  it('matches PyTorch values and gradients', () => {
    const got = tidy(() => {
      const x = tensor([[1, 2, 3], [4, 5, 6]], { requiresGrad: true });
      const y = x.gather(1, tensor([[2, 0], [1, 1]], { dtype: 'int32' }));
      y.backward(tensor([[1, 2], [3, 4]]));
      return { y: y.toArray(), g: x.grad!.toArray(), fn: y.gradFn };
    });
    expect(got).toEqual({ y: [[3, 1], [5, 5]], g: [[2, 0, 1], [0, 7, 0]], fn: 'GatherBackward0' });
  });
});

describe('scatterAdd', () => {
  const ix: Index = { shape: [2, 3], values: [2, 0, 1, 2, 2, 0] };
  it('gradients for self and src, with repeated indices and an index smaller than src', () => {
    gradcheck((x, s) => x.scatterAdd(0, I(ix), s), (x, s) => refScatter(x, 0, ix, s, true), [randomNd([3, 4], 411), randomNd([3, 4], 412)]);
    gradcheck((x, s) => scatterAdd(x, 1, I(ix), s), (x, s) => refScatter(x, 1, ix, s, true), [randomNd([2, 3], 413), randomNd([2, 3], 414)]);
    const ix3: Index = { shape: [1, 2, 2], values: [1, 0, 0, 0] };
    gradcheck((x, s) => x.scatterAdd(-1, I(ix3), s), (x, s) => refScatter(x, 2, ix3, s, true), [randomNd([2, 2, 2], 415), randomNd([1, 3, 2], 416)]);
  });
  it('non-contiguous operands and 0-d ones', () => {
    gradcheck((x, s) => x.t().scatterAdd(0, I(ix), s.t()), (x, s) => refScatter(permute(x, [1, 0]), 0, ix, permute(s, [1, 0]), true), [randomNd([4, 3], 417), randomNd([4, 2], 418)]);
    expect(run(() => tensor(1).scatterAdd(0, tensor([0, 0], { dtype: 'int32' }), tensor([2, 3])))).toEqual({ shape: [], data: [6] });
  });
  it('matches PyTorch', () => {
    const got = run(() => zeros([3, 4]).scatterAdd(0, tensor([[2, 0, 1, 2], [2, 1, 2, 0]], { dtype: 'int32' }), tensor([[1, 2, 3, 4], [5, 6, 7, 8]])));
    expect(got.data).toEqual([0, 2, 0, 8, 0, 6, 3, 0, 6, 0, 7, 4]);
    expect(tidy(() => zeros([2]).scatterAdd(0, tensor([1], { dtype: 'int32' }), tensor([1], { requiresGrad: true })).gradFn)).toBe('ScatterAddBackward0');
  });
});

describe('scatter', () => {
  it('gradients for self (zero where overwritten) and src', () => {
    const perm: Index = { shape: [2, 4], values: [2, 0, 1, 2, 0, 1, 2, 0] };
    gradcheck((x, s) => x.scatter(0, I(perm), s), (x, s) => refScatter(x, 0, perm, s, false), [randomNd([3, 4], 421), randomNd([2, 5], 422)]);
  });
  it('repeated indices: the last write wins and alone gets the gradient', () => {
    const dup: Index = { shape: [3, 2], values: [1, 0, 1, 1, 0, 1] };
    gradcheck((x, s) => x.scatter(0, I(dup), s), (x, s) => refScatter(x, 0, dup, s, false), [randomNd([2, 2], 423), randomNd([3, 2], 424)]);
    const got = tidy(() => {
      const src = tensor([1, 2, 3], { requiresGrad: true });
      const y = zeros([2]).scatter(0, tensor([1, 1, 0], { dtype: 'int32' }), src);
      y.backward(tensor([10, 20]));
      return { y: Array.from(y.data()), g: Array.from(src.grad!.data()) };
    });
    expect(got).toEqual({ y: [3, 2], g: [0, 20, 10] });
  });
  it('a number value', () => {
    const ix: Index = { shape: [2, 1], values: [1, 0] };
    gradcheck((x) => x.scatter(1, I(ix), 9.5), (x) => refScatter(x, 1, ix, 9.5, false), [randomNd([2, 2], 425)]);
    expect(run(() => scatter(tensor([[0, 1], [2, 3]]), 1, I(ix), 9.5)).data).toEqual([0, 9.5, 9.5, 3]);
    expect(tidy(() => zeros([2]).requiresGrad_().scatter(0, I({ shape: [1], values: [0] }), 1).gradFn)).toBe('ScatterBackward1');
  });
  it('matches PyTorch', () => {
    const got = tidy(() => {
      const src = tensor([[1, 2, 3, 4], [5, 6, 7, 8]], { requiresGrad: true });
      const y = zeros([3, 4]).scatter(0, tensor([[2, 0, 1, 2], [0, 1, 2, 0]], { dtype: 'int32' }), src);
      return { y: y.toArray(), fn: y.gradFn };
    });
    expect(got).toEqual({ y: [[5, 2, 0, 8], [0, 6, 3, 0], [1, 0, 7, 4]], fn: 'ScatterBackward0' });
  });
  it('empty index leaves the input unchanged', () => {
    const x = randomNd([2, 3], 426);
    const got = run(() => T(x).scatter(1, tensor([], { shape: [2, 0], dtype: 'int32' }), tensor([], { shape: [2, 0] })));
    expect(got.data).toEqual(Array.from(x.data));
    expect(numel(got.shape)).toBe(6);
  });
});

describe('validation', () => {
  const x = () => tensor([[1, 2, 3], [4, 5, 6]]);
  const ix = (v: number[][]) => tensor(v, { dtype: 'int32' });
  it('index dtype, rank and sizes', () => {
    let e = thrown(() => x().gather(1, tensor([[0]])));
    expect(e).toBeInstanceOf(DTypeError);
    expect(e.message).toBe('gather: index must be an int32 tensor, got float32 of shape [1, 1]');
    e = thrown(() => x().gather(0, tensor([0], { dtype: 'int32' })));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toBe('gather: index of shape [1] must have as many dimensions as the input of shape [2, 3]');
    e = thrown(() => x().gather(0, ix([[0, 0, 0, 0]])));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toMatch(/^gather: index of shape \[1, 4\] is larger than the input of shape \[2, 3\] at dimension 1/);
    e = thrown(() => x().scatterAdd(0, ix([[0, 1]]), tensor([[1]])));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toBe('scatterAdd: index of shape [1, 2] is larger than src of shape [1, 1] at dimension 1');
    e = thrown(() => x().scatter(0, ix([[0]]), tensor([1])));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toMatch(/^scatter: src of shape \[1\] must have as many dimensions/);
    expect(thrown(() => x().scatter(0, ix([[0]]), tensor([[1]], { dtype: 'int32' })))).toBeInstanceOf(DTypeError);
  });
  it('index values in range, negative ones rejected as in PyTorch; dim in range', () => {
    let e = thrown(() => x().gather(0, ix([[2]])));
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e.message).toBe('gather: index 2 is out of bounds for dimension 0 with size 2 (input of shape [2, 3])');
    e = thrown(() => x().scatter(1, ix([[-1]]), 0));
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e.message).toMatch(/^scatter: index -1 is out of bounds for dimension 1 with size 3 .*negative indices are not supported/);
    expect(thrown(() => x().scatterAdd(2, ix([[0]]), tensor([[1]])))).toBeInstanceOf(ArgumentError);
    expect(thrown(() => (x().scatterAdd as (...a: unknown[]) => unknown)(0, ix([[0]]), 1))).toBeInstanceOf(ArgumentError);
    // The module keeps working after the errors.
    expect(run(() => x().gather(0, ix([[1, 0, 1]]))).data).toEqual([4, 2, 6]);
  });
});

// Comparisons (bool, no gradient), where and maskedFill: values vs references,
// broadcasting, NaN, gradients of where.
import { describe, expect, it } from 'vitest';
import { eq, ge, gt, le, lt, maskedFill, ne, ShapeError, tensor, tidy, where } from '../ts/node.js';
import { gradcheck } from './helpers/gradcheck.js';
import { nd, randomNd } from './helpers/reference.js';
import { run, thrown } from './helpers/snapshot.js';

describe('comparisons', () => {
  const a = [1, 2, NaN, -1, 3];
  const b = [1, 3, NaN, -2, 3];
  const cases = [
    ['eq', eq, (x: number, y: number) => x === y],
    ['ne', ne, (x: number, y: number) => x !== y],
    ['lt', lt, (x: number, y: number) => x < y],
    ['le', le, (x: number, y: number) => x <= y],
    ['gt', gt, (x: number, y: number) => x > y],
    ['ge', ge, (x: number, y: number) => x >= y],
  ] as const;
  for (const [name, fn, ref] of cases) {
    it(`${name} gives bool flags with IEEE NaN semantics`, () => {
      const got = tidy(() => {
        const r = fn(tensor(a), tensor(b));
        return { dtype: r.dtype, grad: r.requiresGrad, data: Array.from(r.data()) };
      });
      expect(got).toEqual({ dtype: 'bool', grad: false, data: a.map((x, i) => Number(ref(x, b[i]!))) });
    });
  }
  it('broadcast, accept numbers and int32 operands (argmax vs labels)', () => {
    expect(run(() => tensor([[1], [3]]).gt(tensor([0, 2, 4])))).toEqual({ shape: [2, 3], data: [1, 0, 0, 1, 1, 0] });
    expect(run(() => lt(2, tensor([1, 3]))).data).toEqual([0, 1]);
    const accuracy = tidy(() => tensor([[0.1, 0.9], [0.8, 0.2]]).argmax(1).eq(tensor([1, 1], { dtype: 'int32' })).to('float32').mean().item());
    expect(accuracy).toBe(0.5);
  });
});

describe('where and maskedFill', () => {
  it('select with broadcasting and pass gradients only to the chosen branch', () => {
    const cond = [1, 0, 0, 1, 1, 0];
    gradcheck(
      (x, y) => where(tensor(cond, { shape: [2, 3], dtype: 'int32' }), x, y),
      (x, y) => nd([2, 3], Array.from(x.data, (v, i) => (cond[i] ? v : y.data[i]!))),
      [randomNd([2, 3], 111), randomNd([2, 3], 112)],
    );
    gradcheck((x) => where(x.gt(0), x, 0), (x) => nd(x.shape, Array.from(x.data, (v) => (v > 0 ? v : 0))), [randomNd([6], 113)]);
  });
  it('never leaks the unselected branch (no inf · 0 = NaN)', () => {
    expect(run(() => where(tensor([1, 0], { dtype: 'int32' }), tensor([Infinity, Infinity]), tensor([1, 2]))).data).toEqual([Infinity, 2]);
  });
  it('maskedFill fills where the mask is set', () => {
    expect(run(() => maskedFill(tensor([[1, 2], [3, 4]]), tensor([[1, 0], [0, 1]], { dtype: 'int32' }), -Infinity)).data).toEqual([-Infinity, 2, 3, -Infinity]);
    expect(run(() => tensor([1, 2, 3]).maskedFill(tensor([1, 2, 3]).ge(2), 0)).data).toEqual([1, 0, 0]);
  });
  it('rejects shapes that do not broadcast', () => {
    expect(thrown(() => where(tensor([1, 0], { dtype: 'int32' }), tensor([1, 2, 3]), 0))).toBeInstanceOf(ShapeError);
  });
});

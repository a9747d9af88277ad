// prod: values vs a float64 reference (all elements or one dim, keepdim, 0-d, empty and
// non-contiguous inputs), gradients through gradcheck including inputs with one and with
// several zeros in a group, PyTorch goldens, errors.
import { describe, expect, it } from 'vitest';
import { ArgumentError, prod, tensor, tidy } from '../ts/node.js';
import { gradcheck } from './helpers/gradcheck.js';
import { nd, randomNd, type Nd } from './helpers/reference.js';
import { run, T, thrown } from './helpers/snapshot.js';
import { refProd } from './helpers/reference-ops.js';

/** Random values away from 0 (so `out / x` is well conditioned), with chosen exact zeros. */
function withZeros(shape: number[], seed: number, zeros: number[]): Nd {
  const x = randomNd(shape, seed, 0.5, 1.5);
  x.data.forEach((v, i) => (x.data[i] = i % 2 === 0 ? v : -v));
  for (const z of zeros) x.data[z] = 0;
  return x;
}

describe('prod', () => {
  it('over all elements and over one dim, with keepdim and negative dims', () => {
    const x = withZeros([3, 4], 201, []);
    gradcheck((t) => t.prod(), (t) => refProd(t), [x]);
    gradcheck((t) => t.prod(1), (t) => refProd(t, 1), [x]);
    gradcheck((t) => prod(t, -2, true), (t) => refProd(t, 0, true), [x]);
    gradcheck((t) => t.prod(1, true), (t) => refProd(t, 1, true), [withZeros([2, 3, 2], 202, [])]);
  });
  it('gradients are exact with one zero (product of the others) and with several (zero)', () => {
    // Row 0 has one zero, row 1 two, row 2 none.
    const x = withZeros([3, 4], 203, [1, 4, 6]);
    gradcheck((t) => t.prod(1), (t) => refProd(t, 1), [x]);
    gradcheck((t) => t.prod(0, true), (t) => refProd(t, 0, true), [x]);
    gradcheck((t) => t.prod(), (t) => refProd(t), [withZeros([5], 204, [2])]);
    gradcheck((t) => t.prod(), (t) => refProd(t), [withZeros([2, 2], 205, [0, 3])]);
  });
  it('matches PyTorch values and gradients', () => {
    const got = tidy(() => {
      const x = tensor([[1, 0, 3], [0, 0, 2], [2, 3, 4]], { requiresGrad: true });
      const y = x.prod(1);
      y.sum().backward();
      return { y: Array.from(y.data()), g: x.grad!.toArray(), fn: y.gradFn };
    });
    expect(got).toEqual({ y: [0, 0, 24], g: [[0, 3, 0], [0, 0, 0], [12, 8, 6]], fn: 'ProdBackward1' });
    const all = tidy(() => {
      const x = tensor([[1.5, -2, 3], [0.5, 4, -1]], { requiresGrad: true });
      const y = x.prod();
      y.backward();
      return { y: y.item(), g: x.grad!.toArray(), fn: y.gradFn };
    });
    expect(all).toEqual({ y: 18, g: [[12, -9, 6], [36, 4.5, -18]], fn: 'ProdBackward0' });
  });
  it('0-d, empty and non-contiguous inputs', () => {
    expect(run(() => tensor(2.5).prod())).toEqual({ shape: [], data: [2.5] });
    expect(run(() => tensor(2.5).prod(0, true))).toEqual({ shape: [], data: [2.5] });
    expect(run(() => tensor([]).prod())).toEqual({ shape: [], data: [1] });
    expect(run(() => tensor([], { shape: [0, 3] }).prod(0))).toEqual({ shape: [3], data: [1, 1, 1] });
    expect(run(() => tensor([], { shape: [2, 0] }).prod(0, true))).toEqual({ shape: [1, 0], data: [] });
    const x = randomNd([3, 4], 206, 0.5, 1.5);
    const transposed = (t: Nd) => nd([4, 3], Array.from({ length: 12 }, (_, k) => t.data[(k % 3) * 4 + Math.floor(k / 3)]!));
    gradcheck((t) => t.t().prod(1), (t) => refProd(transposed(t), 1), [x]);
    gradcheck((t) => t.t().prod(), (t) => refProd(transposed(t)), [withZeros([3, 4], 207, [5])]);
    expect(run(() => T(x).t().prod(0)).shape).toEqual([3]);
  });
  it('rejects several dims and out-of-range dims, then keeps working', () => {
    const x = tensor([[1, 2], [3, 4]]);
    const e = thrown(() => x.prod(2));
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e.message).toMatch(/^prod: dimension 2 is out of range/);
    expect(thrown(() => (x.prod as (d: unknown) => unknown)([0, 1]))).toBeInstanceOf(ArgumentError);
    expect(tidy(() => x.prod().item())).toBe(24);
    x.dispose();
  });
});

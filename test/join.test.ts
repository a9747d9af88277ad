// slice / narrow / split / chunk (views) and cat / stack: values vs float64 references,
// gradients through gradcheck, Python's slicing rules, errors.
import { describe, expect, it } from 'vitest';
import { ArgumentError, cat, chunk, ShapeError, stack, tensor, tidy } from '../ts/node.js';
import { gradcheck } from './helpers/gradcheck.js';
import { nd, numel, randomNd, refSlice, stridesOf, unravel, type Nd } from './helpers/reference.js';
import { run, T, thrown } from './helpers/snapshot.js';

/** Reference concatenation along `dim`. */
function refCat(xs: Nd[], dim: number): Nd {
  const shape = [...xs[0]!.shape];
  shape[dim] = xs.reduce((a, x) => a + x.shape[dim]!, 0);
  const data = Array.from({ length: numel(shape) }, (_, i) => {
    const m = unravel(i, shape);
    let k = m[dim]!;
    const x = xs.find((x) => (k < x.shape[dim]! ? true : ((k -= x.shape[dim]!), false)))!;
    m[dim] = k;
    return x.data[m.reduce((o, v, j) => o + v * stridesOf(x.shape)[j]!, 0)]!;
  });
  return nd(shape, data);
}

describe('slice', () => {
  const cases: [number, number, number, number][] = [[0, 1, 3, 1], [1, 0, 5, 2], [1, -3, 5, 1], [-1, 1, 100, 3], [0, 2, 1, 1], [1, -100, -1, 2]];
  for (const [dim, start, end, step] of cases) {
    it(`x.slice(${dim}, ${start}, ${end}, ${step}) of a [3, 5] tensor`, () => {
      const x = randomNd([3, 5], 61);
      const py = (s: number, n: number) => (s < 0 ? Math.max(s + n, 0) : Math.min(s, n));
      const d = dim < 0 ? dim + 2 : dim;
      const n = x.shape[d]!;
      gradcheck((t) => t.slice(dim, start, end, step), (t) => refSlice(t, dim, py(start, n), py(end, n), step), [x]);
    });
  }
  it('is a view of a non-contiguous tensor, and narrow/split/chunk agree', () => {
    const x = randomNd([4, 6], 62);
    const got = run(() => T(x).t().slice(0, 1, 5, 2));
    const xt = nd([6, 4], Array.from({ length: 24 }, (_, k) => x.data[(k % 4) * 6 + Math.floor(k / 4)]!));
    expect(got.data).toEqual(Array.from(refSlice(xt, 0, 1, 5, 2).data));
    expect(run(() => T(x).narrow(1, 2, 3)).data).toEqual(run(() => T(x).slice(1, 2, 5)).data);
    const pieces = tidy(() => T(x).split([1, 2, 3], 1).map((p) => [...p.shape]));
    expect(pieces).toEqual([[4, 1], [4, 2], [4, 3]]);
    expect(tidy(() => chunk(T(x), 4, 1).map((p) => p.shape[1]))).toEqual([2, 2, 2]);
    expect(tidy(() => T(x).split(4).map((p) => p.shape[0]))).toEqual([4]);
  });
  it('errors: step ≤ 0, 0-d input, narrow out of range, bad split sizes', () => {
    expect(thrown(() => tensor([1, 2]).slice(0, 0, 2, 0))).toBeInstanceOf(ArgumentError);
    expect(thrown(() => tensor(1).slice(0))).toBeInstanceOf(ShapeError);
    expect(thrown(() => tensor([1, 2]).narrow(0, 1, 2))).toBeInstanceOf(ArgumentError);
    expect(thrown(() => tensor([1, 2]).split([1, 2]))).toBeInstanceOf(ArgumentError);
  });
});

describe('cat and stack', () => {
  it('cat along each dim, with gradients to every input', () => {
    gradcheck((a, b) => cat([a, b], 0), (a, b) => refCat([a, b], 0), [randomNd([2, 3], 63), randomNd([1, 3], 64)]);
    gradcheck((a, b, c) => cat([a, b, c], -1), (a, b, c) => refCat([a, b, c], 1), [randomNd([2, 1], 65), randomNd([2, 3], 66), randomNd([2, 2], 67)]);
  });
  it('stack adds a dim', () => {
    gradcheck((a, b) => stack([a, b], 1), (a, b) => refCat([nd([2, 1, 3], a.data), nd([2, 1, 3], b.data)], 1), [randomNd([2, 3], 68), randomNd([2, 3], 69)]);
  });
  it('more than 64 tensors', () => {
    const got = run(() => cat(Array.from({ length: 150 }, (_, i) => tensor([i])), 0));
    expect(got.data).toEqual(Array.from({ length: 150 }, (_, i) => i));
  });
  it('errors: mismatched shapes, 0-d tensors, an empty list', () => {
    expect(thrown(() => cat([tensor([[1, 2]]), tensor([[1, 2, 3]])], 0))).toBeInstanceOf(ShapeError);
    expect(thrown(() => cat([tensor(1), tensor(2)]))).toBeInstanceOf(ShapeError);
    expect(thrown(() => cat([]))).toBeInstanceOf(ArgumentError);
  });
});

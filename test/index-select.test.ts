// indexSelect and embedding: gathered values, gradients that accumulate at repeated
// indices, errors (negative indices are out of range, as in PyTorch).
import { describe, expect, it } from 'vitest';
import { ArgumentError, DTypeError, embedding, indexSelect, tensor, tidy } from '../ts/node.js';
import { gradcheck } from './helpers/gradcheck.js';
import { nd, randomNd, type Nd } from './helpers/reference.js';
import { run, thrown } from './helpers/snapshot.js';

const idx = (v: number[]) => tensor(v, { dtype: 'int32' });

/** Reference: rows of a [r, c] matrix (dim 0) or columns (dim 1). */
function pick(x: Nd, dim: 0 | 1, picks: number[]): Nd {
  const [r, c] = x.shape as [number, number];
  if (dim === 0) return nd([picks.length, c], picks.flatMap((p) => Array.from(x.data.slice(p * c, p * c + c))));
  return nd([r, picks.length], Array.from({ length: r }, (_, i) => picks.map((p) => x.data[i * c + p]!)).flat());
}

describe('indexSelect', () => {
  it('picks rows or columns, repeats accumulate in the gradient', () => {
    gradcheck((x) => x.indexSelect(0, idx([2, 0, 2, 1])), (x) => pick(x, 0, [2, 0, 2, 1]), [randomNd([3, 4], 121)]);
    gradcheck((x) => indexSelect(x, 1, idx([1, 1, 3])), (x) => pick(x, 1, [1, 1, 3]), [randomNd([2, 4], 122)]);
    const g = tidy(() => {
      const x = tensor([1, 2, 3], { requiresGrad: true });
      x.indexSelect(0, idx([0, 0, 2])).sum().backward();
      return Array.from(x.grad!.data());
    });
    expect(g).toEqual([2, 0, 1]);
  });
  it('rejects float or 2-D indices and out-of-range ones', () => {
    expect(thrown(() => tensor([1, 2]).indexSelect(0, tensor([0])))).toBeInstanceOf(DTypeError);
    expect(thrown(() => tensor([1, 2]).indexSelect(0, idx([2])))).toBeInstanceOf(ArgumentError);
    // PyTorch raises "index out of range in self" for negative indices too; they once wrapped.
    const negative = thrown(() => tensor([1, 2, 3]).indexSelect(0, idx([-1])));
    expect(negative).toBeInstanceOf(ArgumentError);
    expect(negative.message).toBe('indexSelect: index -1 is out of range for dimension 0 of size 3');
    expect(thrown(() => tensor([1, 2]).indexSelect(0, tensor([[0]], { dtype: 'int32' })))).toBeInstanceOf(DTypeError);
  });
});

describe('embedding', () => {
  it('looks up rows for indices of any shape and trains the table', () => {
    const table = randomNd([5, 3], 123);
    const got = run(() => embedding(idx([4, 1, 1, 0]).reshape(2, 2), tensor(Array.from(table.data), { shape: [5, 3] })));
    expect(got.shape).toEqual([2, 2, 3]);
    expect(got.data).toEqual(Array.from(pick(table, 0, [4, 1, 1, 0]).data));
    gradcheck((w) => embedding(idx([3, 3, 0]), w), (w) => pick(w, 0, [3, 3, 0]), [table]);
  });
});

// Shape and movement ops: reshape/view/flatten, permute/transpose/t, squeeze/unsqueeze,
// expand — values vs the reference, views of non-contiguous tensors, errors, gradients.
import { describe, expect, it } from 'vitest';
import * as wg from '../ts/node.js';
import { ArgumentError, ShapeError, tensor, tidy, type Tensor } from '../ts/node.js';
import { expectClose, gradcheck } from './helpers/gradcheck.js';
import { expand, nd, permute, randomNd, reshape, sum, type Nd } from './helpers/reference.js';
import { T, run } from './helpers/snapshot.js';

/** Movement ops copy values exactly, so the comparison is exact. */
function expectSame(f: () => Tensor, expected: Nd, what = 'values'): void {
  const got = run(f);
  expect(got.shape, `${what}: shape`).toEqual(expected.shape);
  expect(got.data, what).toEqual(Array.from(expected.data));
}

const X = randomNd([2, 3, 4], 1);
const flat = (x: Nd): number[] => Array.from(x.data);

describe('reshape / view / flatten', () => {
  it('reshape keeps row-major order for explicit shapes (spread and array forms)', () => {
    expectSame(() => T(X).reshape(6, 4), reshape(X, [6, 4]));
    expectSame(() => T(X).reshape([4, 6]), reshape(X, [4, 6]));
    expectSame(() => T(X).reshape(24), reshape(X, [24]));
    expectSame(() => T(X).reshape(1, 2, 1, 12, 1), reshape(X, [1, 2, 1, 12, 1]));
    expectSame(() => wg.reshape(T(X), [3, 8]), reshape(X, [3, 8]));
  });
  it('reshape infers one -1 dim', () => {
    expectSame(() => T(X).reshape(-1), reshape(X, [24]));
    expectSame(() => T(X).reshape(4, -1), reshape(X, [4, 6]));
    expectSame(() => T(X).reshape(-1, 2, 3), reshape(X, [4, 2, 3]));
    expectSame(() => wg.zeros([0, 3]).reshape(-1, 3), nd([0, 3], []));
  });
  it('reshape of 0-d and to 0-d', () => {
    expectSame(() => tensor(2.5).reshape(1, 1), nd([1, 1], [2.5]));
    expectSame(() => tensor([2.5]).reshape([]), nd([], [2.5]));
    expectSame(() => tensor(2.5).reshape(-1), nd([1], [2.5]));
  });
  it('reshape of empty tensors', () => {
    expectSame(() => wg.zeros([0, 3]).reshape(3, 0), nd([3, 0], []));
    expectSame(() => wg.zeros([2, 0]).reshape(0), nd([0], []));
  });
  it('invalid reshapes throw ShapeError naming the shapes', () => {
    tidy(() => {
      const x = T(X);
      for (const s of [[5, 5], [4, -1, 5], [-1, -1], [7, -1], [-2, -12], [25], [0, -1]]) {
        let err: unknown;
        try {
          x.reshape(s);
        } catch (e) {
          err = e;
        }
        expect(err, `reshape(${s})`).toBeInstanceOf(ShapeError);
        expect((err as Error).message).toContain('reshape');
        expect((err as Error).message).toContain('[2, 3, 4]');
      }
      // A -1 that cannot be inferred: 0 elements into [0, -1].
      expect(() => wg.zeros([0, 3]).reshape(0, -1)).toThrow(ShapeError);
    });
  });
  it('non-integer sizes throw ArgumentError', () => {
    tidy(() => {
      expect(() => T(X).reshape(2.5, 4)).toThrow(ArgumentError);
    });
  });
  it('view is reshape', () => {
    expectSame(() => T(X).view(3, -1), reshape(X, [3, 8]));
    expectSame(() => T(X).view([12, 2]), reshape(X, [12, 2]));
    expect(() => tidy(() => T(X).view(5, 5))).toThrow(ShapeError);
  });
  it('flatten gives 1-D in row-major order; a 0-d tensor flattens to [1]', () => {
    expectSame(() => T(X).flatten(), reshape(X, [24]));
    expectSame(() => tensor(3).flatten(), nd([1], [3]));
    expectSame(() => wg.zeros([2, 0, 3]).flatten(), nd([0], []));
  });
  it('reshape and flatten after a transpose copy in logical order', () => {
    const P = permute(X, [2, 0, 1]);
    expectSame(() => T(X).permute(2, 0, 1).reshape(4, 6), reshape(P, [4, 6]), 'permute→reshape');
    expectSame(() => T(X).permute(2, 0, 1).flatten(), reshape(P, [24]), 'permute→flatten');
    const M = randomNd([3, 5], 2);
    expectSame(() => T(M).t().reshape(-1), reshape(permute(M, [1, 0]), [15]), 't→reshape');
    expectSame(() => T(M).t().view(5, 3, 1), reshape(permute(M, [1, 0]), [5, 3, 1]), 't→view');
    expectSame(() => T(X).transpose(0, 2).reshape(2, 12), reshape(permute(X, [2, 1, 0]), [2, 12]), 'transpose→reshape');
  });
  it('reshape of an expanded tensor materialises the repeated values', () => {
    const V = randomNd([3, 1], 3);
    const E = expand(V, [2, 3, 4]);
    expectSame(() => T(V).expand(2, 3, 4).reshape(6, 4), reshape(E, [6, 4]));
  });
  it('reshape does not modify its input', () => {
    const got = run(() => {
      const x = T(X);
      x.reshape(4, 6);
      x.permute(2, 1, 0).reshape(-1);
      return x;
    });
    expect(got).toEqual({ shape: [2, 3, 4], data: flat(X) });
  });
});

describe('permute / transpose / t', () => {
  it('permute matches the reference for every permutation of 3 dims', () => {
    for (const p of [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]) {
      expectSame(() => T(X).permute(p), permute(X, p), `permute(${p})`);
      expectSame(() => T(X).permute(...p), permute(X, p), `permute(...${p})`);
    }
  });
  it('permute accepts negative dims and works on 4-D, 1-D and 0-d tensors', () => {
    expectSame(() => T(X).permute(-1, 0, -2), permute(X, [2, 0, 1]));
    const Y = randomNd([2, 1, 3, 2], 4);
    expectSame(() => wg.permute(T(Y), [3, 1, 0, 2]), permute(Y, [3, 1, 0, 2]));
    expectSame(() => tensor([1, 2, 3]).permute(0), nd([3], [1, 2, 3]));
    expectSame(() => tensor(7).permute([]), nd([], [7]));
  });
  it('permute of a permuted view composes', () => {
    expectSame(() => T(X).permute(2, 0, 1).permute(1, 2, 0), permute(permute(X, [2, 0, 1]), [1, 2, 0]));
  });
  it('invalid permutations throw ArgumentError', () => {
    tidy(() => {
      const x = T(X);
      for (const p of [[0, 1], [0, 1, 2, 3], [0, 0, 1], [0, 1, 3], [0, 1, -4], [2, -1, 0]]) {
        expect(() => x.permute(p), `permute(${p})`).toThrow(ArgumentError);
      }
      expect(() => x.permute(0, 1.5, 2)).toThrow(ArgumentError);
    });
  });
  it('transpose swaps two dims (negative dims allowed; same dim is the identity)', () => {
    expectSame(() => T(X).transpose(0, 2), permute(X, [2, 1, 0]));
    expectSame(() => T(X).transpose(-1, -2), permute(X, [0, 2, 1]));
    expectSame(() => wg.transpose(T(X), 1, 0), permute(X, [1, 0, 2]));
    expectSame(() => T(X).transpose(1, 1), X);
  });
  it('transpose with an out-of-range dim throws ArgumentError', () => {
    tidy(() => {
      expect(() => T(X).transpose(0, 3)).toThrow(ArgumentError);
      expect(() => T(X).transpose(-4, 0)).toThrow(ArgumentError);
    });
  });
  it('t transposes a matrix and leaves 1-D and 0-d tensors unchanged', () => {
    const M = randomNd([3, 5], 5);
    expectSame(() => T(M).t(), permute(M, [1, 0]));
    expectSame(() => wg.t(T(M)).t(), M);
    expectSame(() => tensor([1, 2, 3]).t(), nd([3], [1, 2, 3]));
    expectSame(() => tensor(4).t(), nd([], [4]));
  });
  it('t of a tensor with more than 2 dims throws ShapeError', () => {
    tidy(() => {
      expect(() => T(X).t()).toThrow(ShapeError);
      expect(() => wg.t(T(X))).toThrow(ShapeError);
    });
  });
});

describe('squeeze / unsqueeze', () => {
  const S = randomNd([1, 3, 1, 2], 6);
  it('squeeze() removes every size-1 dim', () => {
    expectSame(() => T(S).squeeze(), reshape(S, [3, 2]));
    expectSame(() => wg.ones([1, 1]).squeeze(), nd([], [1]));
    expectSame(() => tensor(5).squeeze(), nd([], [5]));
    expectSame(() => wg.zeros([1, 0, 1]).squeeze(), nd([0], []));
  });
  it('squeeze(dim) removes only that dim, and only if its size is 1', () => {
    expectSame(() => T(S).squeeze(0), reshape(S, [3, 1, 2]));
    expectSame(() => T(S).squeeze(2), reshape(S, [1, 3, 2]));
    expectSame(() => T(S).squeeze(1), S);
    expectSame(() => T(S).squeeze(-2), reshape(S, [1, 3, 2]));
    expectSame(() => T(S).squeeze(-4), reshape(S, [3, 1, 2]));
    expectSame(() => wg.squeeze(T(S), 2), reshape(S, [1, 3, 2]));
    expectSame(() => tensor(5).squeeze(0), nd([], [5]));
    expectSame(() => tensor(5).squeeze(-1), nd([], [5]));
  });
  it('squeeze with an out-of-range dim throws ArgumentError', () => {
    tidy(() => {
      expect(() => T(S).squeeze(4)).toThrow(ArgumentError);
      expect(() => T(S).squeeze(-5)).toThrow(ArgumentError);
    });
  });
  it('unsqueeze inserts a size-1 dim (positive and negative positions)', () => {
    expectSame(() => T(X).unsqueeze(0), reshape(X, [1, 2, 3, 4]));
    expectSame(() => T(X).unsqueeze(1), reshape(X, [2, 1, 3, 4]));
    expectSame(() => T(X).unsqueeze(3), reshape(X, [2, 3, 4, 1]));
    expectSame(() => T(X).unsqueeze(-1), reshape(X, [2, 3, 4, 1]));
    expectSame(() => T(X).unsqueeze(-2), reshape(X, [2, 3, 1, 4]));
    expectSame(() => T(X).unsqueeze(-4), reshape(X, [1, 2, 3, 4]));
    expectSame(() => wg.unsqueeze(tensor(3), 0), nd([1], [3]));
    expectSame(() => tensor(3).unsqueeze(-1), nd([1], [3]));
  });
  it('unsqueeze with an out-of-range dim throws ArgumentError', () => {
    tidy(() => {
      expect(() => T(X).unsqueeze(4)).toThrow(ArgumentError);
      expect(() => T(X).unsqueeze(-5)).toThrow(ArgumentError);
    });
  });
  it('squeeze and unsqueeze of non-contiguous tensors keep logical order', () => {
    const P = permute(S, [3, 1, 0, 2]); // [2, 3, 1, 1]
    expectSame(() => T(S).permute(3, 1, 0, 2).squeeze(), reshape(P, [2, 3]));
    const M = randomNd([3, 4], 7);
    expectSame(() => T(M).t().unsqueeze(1), reshape(permute(M, [1, 0]), [4, 1, 3]));
  });
});

describe('expand', () => {
  const V = randomNd([3, 1], 8);
  it('expands size-1 dims and adds leading dims', () => {
    expectSame(() => T(V).expand(3, 4), expand(V, [3, 4]));
    expectSame(() => T(V).expand([2, 3, 5]), expand(V, [2, 3, 5]));
    expectSame(() => wg.expand(T(V), [3, 1]), V);
    expectSame(() => tensor(1.5).expand(2, 2), nd([2, 2], [1.5, 1.5, 1.5, 1.5]));
  });
  it('-1 keeps an existing dim', () => {
    expectSame(() => T(V).expand(-1, 4), expand(V, [3, 4]));
    expectSame(() => T(V).expand(2, -1, -1), expand(V, [2, 3, 1]));
  });
  it('expands a size-1 dim to 0', () => {
    expectSame(() => T(V).expand(3, 0), nd([3, 0], []));
  });
  it('invalid expansions throw ShapeError', () => {
    tidy(() => {
      const v = T(V);
      expect(() => v.expand(4, 4)).toThrow(ShapeError); // 3 is not 1
      expect(() => v.expand(4)).toThrow(ShapeError); // fewer dims
      expect(() => v.expand(-1, 3, 4)).toThrow(ShapeError); // -1 for a new leading dim
      expect(() => v.expand(3, -2)).toThrow(ShapeError);
      let err: unknown;
      try {
        v.expand(6, 4);
      } catch (e) {
        err = e;
      }
      expect((err as Error).message).toContain('[3, 1]');
    });
  });
  it('expand of a transposed view, and arithmetic on the expanded view', () => {
    const R = randomNd([1, 3], 9);
    expectSame(() => T(R).t().expand(3, 2), expand(permute(R, [1, 0]), [3, 2]));
    const got = run(() => T(V).expand(3, 4).mul(2));
    expect(got.data).toEqual(Array.from(expand(V, [3, 4]).data, (v) => v * 2));
  });
});

describe('movement gradients', () => {
  it('reshape (including -1) and view', () => {
    gradcheck((x) => x!.reshape(4, -1), (x) => reshape(x, [4, 6]), [X]);
    gradcheck((x) => x!.view(6, 4), (x) => reshape(x, [6, 4]), [X]);
  });
  it('flatten', () => {
    gradcheck((x) => x!.flatten(), (x) => reshape(x, [24]), [X]);
  });
  it('permute', () => {
    gradcheck((x) => x!.permute(2, 0, 1), (x) => permute(x, [2, 0, 1]), [X]);
  });
  it('transpose and t', () => {
    gradcheck((x) => x!.transpose(0, 2), (x) => permute(x, [2, 1, 0]), [X]);
    gradcheck((x) => x!.t(), (x) => permute(x, [1, 0]), [randomNd([3, 5], 10)]);
  });
  it('squeeze and unsqueeze', () => {
    gradcheck((x) => x!.squeeze(), (x) => reshape(x, [3, 2]), [randomNd([1, 3, 1, 2], 11)]);
    gradcheck((x) => x!.squeeze(2), (x) => reshape(x, [1, 3, 2]), [randomNd([1, 3, 1, 2], 12)]);
    gradcheck((x) => x!.unsqueeze(-2), (x) => reshape(x, [2, 3, 1, 4]), [X]);
  });
  it('expand (gradient summed over the expanded dims)', () => {
    gradcheck((x) => x!.expand(3, 4), (x) => expand(x, [3, 4]), [randomNd([3, 1], 13)]);
    gradcheck((x) => x!.expand(2, 3, 4), (x) => expand(x, [2, 3, 4]), [randomNd([3, 1], 14)]);
    gradcheck((x) => x!.expand(2, 2), (x) => expand(x, [2, 2]), [nd([], [Math.fround(0.3)])]);
  });
  it('reshape of a transposed (non-contiguous) tensor', () => {
    gradcheck((x) => x!.transpose(0, 2).reshape(4, 6), (x) => reshape(permute(x, [2, 1, 0]), [4, 6]), [X]);
  });
  it('chained views: permute → reshape → expand → sum', () => {
    const chain = (x: Tensor) => x.permute(2, 0, 1).reshape(4, 1, 6).expand(4, 5, 6).sum(1);
    const refChain = (x: Nd) => sum(expand(reshape(permute(x, [2, 0, 1]), [4, 1, 6]), [4, 5, 6]), [1]);
    gradcheck((x) => chain(x!), refChain, [X]);
  });
  it('chained views used twice accumulate into one gradient', () => {
    const g = tidy(() => {
      const x = T(X);
      x.requiresGrad = true;
      const a = x.permute(2, 1, 0).reshape(-1);
      const b = x.reshape(24);
      a.add(b.mul(2)).sum().backward();
      return Array.from(x.grad!.data());
    });
    expectClose(g, new Array(24).fill(3), 0, 0, 'grad');
  });
});

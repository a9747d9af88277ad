// Regressions from the reliability issue (numerics): each case failed before its fix.
// Expected values marked "PyTorch 1.13" were computed with torch 1.13 (float32) by hand.
import { describe, expect, it } from 'vitest';
import {
  arange, ArgumentError, binaryCrossEntropy, embedding, full, fullLike, linear, oneHot, ones, OutOfMemoryError, tensor, tidy,
  zeros, type Tensor,
} from '../ts/node.js';
import { thrown } from './helpers/snapshot.js';

const int32 = (v: number[]) => tensor(v, { dtype: 'int32' });

/** Value and input gradients of `f(...xs)` (summed before backward), as plain numbers. */
function valueAndGrads(f: (...xs: Tensor[]) => Tensor, ...inputs: (number | number[] | number[][])[]): { y: unknown; g: unknown[] } {
  return tidy(() => {
    const xs = inputs.map((v) => tensor(v, { requiresGrad: true }));
    const y = f(...xs);
    y.sum().backward();
    return { y: y.toArray(), g: xs.map((x) => x.grad!.toArray()) };
  });
}

describe('tril/triu select instead of multiplying', () => {
  it('keeps -inf above the diagonal and writes exact zeros elsewhere (the causal-mask idiom)', () => {
    const got = tidy(() => [full([3, 3], -Infinity).triu(1).toArray(), full([3, 3], -Infinity).tril(-1).toArray()]);
    // PyTorch 1.13: torch.full([3, 3], -inf).triu(1) and .tril(-1)
    expect(got).toEqual([
      [[0, -Infinity, -Infinity], [0, 0, -Infinity], [0, 0, 0]],
      [[0, 0, 0], [-Infinity, 0, 0], [-Infinity, -Infinity, 0]],
    ]);
    // NaN in the dropped part does not leak; NaN kept stays NaN; the gradient is tril of ones.
    const nan = valueAndGrads((x) => x.tril(), [[NaN, 1], [2, NaN]]);
    expect(nan).toEqual({ y: [[NaN, 0], [2, NaN]], g: [[[1, 0], [1, 1]]] });
  });
  it('is a core op with its own gradient node, keeping the dtype', () => {
    const got = tidy(() => {
      const x = ones([2, 2], { requiresGrad: true });
      return {
        fns: [x.tril().gradFn, x.triu(1).gradFn],
        dtypes: [int32([1, 2, 3, 4]).reshape(2, 2).triu().dtype, full([2, 2], true).tril().dtype],
        ints: int32([1, 2, 3, 4]).reshape(2, 2).triu().toArray(),
      };
    });
    expect(got).toEqual({ fns: ['TrilBackward0', 'TriuBackward0'], dtypes: ['int32', 'bool'], ints: [[1, 2], [0, 4]] });
  });
});

describe('binaryCrossEntropy gradients and domain (PyTorch 1.13)', () => {
  it('sigmoid(20) = 1 exactly against target 1: loss 0, gradient 0', () => {
    const got = tidy(() => {
      const z = tensor([20], { requiresGrad: true });
      const loss = binaryCrossEntropy(z.sigmoid(), tensor([1]));
      loss.backward();
      return [loss.item(), z.grad!.item()];
    });
    expect(got).toEqual([0, 0]);
  });
  it('inputs exactly 0 or 1: logs clamped at -100, gradient (x - t) / max((1 - x)·x, 1e-12)', () => {
    const f = (x: Tensor, t: number[]) => binaryCrossEntropy(x, tensor(t));
    expect(valueAndGrads((x) => f(x, [1]), [0])).toEqual({ y: 100, g: [[Math.fround(-1e12)]] });
    expect(valueAndGrads((x) => f(x, [0]), [1])).toEqual({ y: 100, g: [[Math.fround(1e12)]] });
    expect(valueAndGrads((x) => f(x, [1]), [1])).toEqual({ y: 0, g: [[0]] });
    const mixed = valueAndGrads((x) => f(x, [0, 1, 0.3]), [0, 1, 0.5]);
    expect(mixed.y).toBeCloseTo(0.2310490608215332, 6);
    expect(mixed.g).toEqual([[0, 0, Math.fround(0.2666666507720947)]]);
  });
  it('rejects inputs outside [0, 1] and NaN, as PyTorch does', () => {
    for (const bad of [1.5, -0.1, NaN]) {
      const e = thrown(() => binaryCrossEntropy(tensor([0.5, bad]), tensor([1, 1])));
      expect(e, String(bad)).toBeInstanceOf(ArgumentError);
      expect(e.message).toMatch(/^binaryCrossEntropy: all elements of input should be between 0 and 1/);
    }
  });
});

describe('norm at zero and at underflow (PyTorch 1.13)', () => {
  it('the 2-norm of zeros has gradient 0, over all elements and along a dim', () => {
    expect(valueAndGrads((x) => x.norm(), [0, 0])).toEqual({ y: 0, g: [[0, 0]] });
    const along = valueAndGrads((x) => x.norm(2, 1), [[0, 0], [3, 4]]);
    expect(along).toEqual({ y: [0, 5], g: [[[0, 0], [Math.fround(0.6), Math.fround(0.8)]]] });
  });
  it('underflow gives 0 with gradient 0, overflow inf with gradient 0', () => {
    expect(valueAndGrads((x) => x.norm(), [1e-25])).toEqual({ y: 0, g: [[0]] });
    expect(valueAndGrads((x) => x.norm(), [3e20, 4e20])).toEqual({ y: Infinity, g: [[0, 0]] });
    // Subnormal squares still count: PyTorch gives 2.999998935444287e-20 and gradient
    // 1.0000003576278687 (x / norm; computed here as 2x · 1 / (2·norm), one ulp away).
    const tiny = valueAndGrads((x) => x.norm(), [3e-20]);
    expect(tiny.y).toBe(2.999998935444287e-20);
    expect((tiny.g as number[][])[0]![0]).toBeCloseTo(1.0000003576278687, 6);
  });
});

describe('std and var (PyTorch 1.13)', () => {
  it('std of a constant has gradient 0', () => {
    expect(valueAndGrads((x) => x.std(), [2, 2, 2])).toEqual({ y: 0, g: [[0, 0, 0]] });
    const along = valueAndGrads((x) => x.std(1), [[2, 2], [1, 3]]);
    expect(along).toEqual({ y: [0, Math.fround(Math.SQRT2)], g: [[[0, 0], [-Math.fround(Math.SQRT1_2), Math.fround(Math.SQRT1_2)]]] });
  });
  it('one element: unbiased is NaN (gradient NaN), biased is 0 (gradient 0)', () => {
    for (const op of ['std', 'var'] as const) {
      expect(valueAndGrads((x) => x[op](1), [[2], [3]]), op).toEqual({ y: [NaN, NaN], g: [[[NaN], [NaN]]] });
      expect(valueAndGrads((x) => x[op](), [2]), op).toEqual({ y: NaN, g: [[NaN]] });
      expect(valueAndGrads((x) => x[op](undefined, false), [2]), op).toEqual({ y: 0, g: [[0]] });
    }
  });
  it('over an empty dim: NaN, and backward gives empty gradients', () => {
    const ops: ((x: Tensor) => Tensor)[] = [(x) => x.var(1), (x) => x.std(1), (x) => x.var(1, false), (x) => x.var(), (x) => x.std()];
    const got = ops.map((f) =>
      tidy(() => {
        const x = zeros([2, 0], { requiresGrad: true });
        const y = f(x);
        y.sum().backward();
        return { y: y.toArray(), grad: x.grad!.shape };
      }),
    );
    const along = { y: [NaN, NaN], grad: [2, 0] };
    expect(got).toEqual([along, along, along, { y: NaN, grad: [2, 0] }, { y: NaN, grad: [2, 0] }]);
  });
});

describe('logsumexp over an empty dim is -inf (PyTorch 1.13)', () => {
  it('forward and backward', () => {
    const got = tidy(() => {
      const x = zeros([2, 0], { requiresGrad: true });
      const y = x.logsumexp(1);
      y.sum().backward();
      return { y: y.toArray(), g: x.grad!.shape, all: zeros([0]).logsumexp(0).item() };
    });
    expect(got).toEqual({ y: [-Infinity, -Infinity], g: [2, 0], all: -Infinity });
  });
});

describe('indices out of range are rejected, never wrapped', () => {
  it('indexSelect and embedding with -1 or size', () => {
    for (const bad of [-1, 3]) {
      const e = thrown(() => arange(3).indexSelect(0, int32([0, bad])));
      expect(e).toBeInstanceOf(ArgumentError);
      expect(e.message).toBe(`indexSelect: index ${bad} is out of range for dimension 0 of size 3`);
      const f = thrown(() => embedding(int32([bad]), ones([3, 2])));
      expect(f).toBeInstanceOf(ArgumentError);
      expect(f.message).toBe(`embedding: index ${bad} is out of range for dimension 0 of size 3`);
    }
  });
});

describe('creation arguments', () => {
  it('full rejects a fill value that is not a number or boolean', () => {
    for (const v of ['x', undefined, null, {}]) {
      const e = thrown(() => full([2], v as never));
      expect(e, String(v)).toBeInstanceOf(ArgumentError);
      expect(e.message).toMatch(/^full: /);
    }
  });
  it('int32 rejects values it cannot hold and truncates the rest toward zero', () => {
    for (const v of [NaN, Infinity, -Infinity, 3e9, -3e9, 2147483648, 2147483647.5, -2147483649]) {
      expect(thrown(() => tensor([1, v], { dtype: 'int32' })), `tensor ${v}`).toBeInstanceOf(ArgumentError);
      // (-2147483649 rounds to -2³¹ in a Float32Array, which int32 holds.)
      if (v !== -2147483649) expect(thrown(() => tensor(new Float32Array([v]), { dtype: 'int32' })), `Float32Array ${v}`).toBeInstanceOf(ArgumentError);
      expect(thrown(() => full([2], v, { dtype: 'int32' })), `full ${v}`).toBeInstanceOf(ArgumentError);
      expect(thrown(() => fullLike(zeros([1], { dtype: 'int32' }), v)), `fullLike ${v}`).toBeInstanceOf(ArgumentError);
    }
    const got = tidy(() => [
      tensor([2.7, -2.7, 2147483647, -2147483648], { dtype: 'int32' }).toArray(),
      full([2], -2.7, { dtype: 'int32' }).toArray(),
    ]);
    // PyTorch 1.13: torch.tensor([2.7, -2.7, 2147483647, -2147483648], dtype=torch.int32)
    expect(got).toEqual([[2, -2, 2147483647, -2147483648], [-2, -2]]);
  });
  it('repeat rejects negative and non-integer counts; 0 gives an empty result', () => {
    expect(thrown(() => ones([1, 3]).repeat([-1, 1]))).toBeInstanceOf(ArgumentError);
    expect(thrown(() => ones([1, 3]).repeat([1.5, 1]))).toBeInstanceOf(ArgumentError);
    const got = tidy(() => {
      const x = ones([1, 3], { requiresGrad: true });
      const y = x.repeat([0, 2]);
      y.sum().backward();
      return { shape: y.shape, extra: x.repeat(2, 0, 1).shape, g: x.grad!.toArray() };
    });
    // PyTorch 1.13: torch.ones(1, 3).repeat(0, 2) has shape [0, 6], gradient zeros.
    expect(got).toEqual({ shape: [0, 6], extra: [2, 0, 3], g: [[0, 0, 0]] });
  });
});

describe('oneHot with absurd class counts', () => {
  it('throws a typed error before allocating', () => {
    const big = thrown(() => oneHot(int32([0]), 1e9));
    expect(big).toBeInstanceOf(OutOfMemoryError);
    expect(big.message).toMatch(/^oneHot: .*4000000000 bytes/);
    for (const n of [1.5, -2, NaN, Infinity]) expect(thrown(() => oneHot(int32([0]), n)), String(n)).toBeInstanceOf(ArgumentError);
    expect(tidy(() => oneHot(int32([1, 0]), 2).toArray())).toEqual([[0, 1], [1, 0]]);
  });
});

describe('linear with zero input features (PyTorch 1.13)', () => {
  it('gives the bias (or zeros) and empty gradients of the right shapes', () => {
    const got = [true, false].map((withBias) =>
      tidy(() => {
        const x = zeros([2, 0], { requiresGrad: true });
        const w = zeros([3, 0], { requiresGrad: true });
        const b = tensor([1, 2, 3], { requiresGrad: true });
        const y = linear(x, w, withBias ? b : null);
        y.sum().backward();
        return { y: y.toArray(), shapes: [x.grad!.shape, w.grad!.shape], gb: b.grad?.toArray() ?? null };
      }),
    );
    expect(got).toEqual([
      { y: [[1, 2, 3], [1, 2, 3]], shapes: [[2, 0], [3, 0]], gb: [2, 2, 2] },
      { y: [[0, 0, 0], [0, 0, 0]], shapes: [[2, 0], [3, 0]], gb: null },
    ]);
  });
});

describe('prod of a bool tensor', () => {
  it('counts true as 1, like sum', () => {
    const got = tidy(() => {
      const m = tensor([true, false, true]);
      return [m.prod().item(), m.prod().dtype, full([2, 2], true).prod(1).toArray(), m.sum().item()];
    });
    expect(got).toEqual([0, 'float32', [1, 1], 2]);
  });
});

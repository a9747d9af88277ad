// The bool dtype: creation, casts, comparison results, masks in where/maskedFill, logical
// ops and any/all against plain-JS references (broadcasting, non-contiguous inputs),
// promotion to float32 in arithmetic, printing against PyTorch 1.13, and errors.
import { describe, expect, it } from 'vitest';
import {
  adaptiveAvgPool2d, all, any, arange, ArgumentError, avgPool2d, batchNorm, binaryCrossEntropy, cat, conv1d, conv2d, convTranspose2d,
  crossEntropy, dropout, DTypeError, embedding, eye, full, fullLike, groupNorm, layerNorm, linear, logicalAnd, logicalNot,
  logicalOr, logicalXor, maxPool2d, memory, mseLoss, nllLoss, oneHot, ones, pad, PoisonedError, rand, scalar,
  scaledDotProductAttention, SGD, stack, tensor, TensorError, tidy, where, zeros, type Tensor,
} from '../ts/node.js';
import { gradcheck } from './helpers/gradcheck.js';
import { broadcastShape, nd, numel, randomNd, rng, unravel, type Nd } from './helpers/reference.js';
import { thrown } from './helpers/snapshot.js';

/** dtype, shape and the elements as toArray() gives them, disposing everything. */
function snap(f: () => Tensor): { dtype: string; shape: number[]; values: unknown } {
  return tidy(() => {
    const t = f();
    return { dtype: t.dtype, shape: [...t.shape], values: t.toArray() };
  });
}

/** dtype and flat 0/1 data of a bool result. */
function flags(f: () => Tensor): { dtype: string; shape: number[]; data: number[] } {
  return tidy(() => {
    const t = f();
    return { dtype: t.dtype, shape: [...t.shape], data: Array.from(t.data()) };
  });
}

const truthy = (v: number): boolean => v !== 0; // NaN is true, as in PyTorch

/** Values drawn from {0, -0, 1, -2.5, NaN} (truth values of every kind). */
function mixedNd(shape: number[], seed: number): Nd {
  const r = rng(seed);
  const pool = [0, -0, 1, -2.5, NaN];
  return nd(shape, Array.from({ length: numel(shape) }, () => pool[Math.floor(r() * pool.length)]!));
}

/** Broadcast truth-value reference of a logical binary op. */
function logicalRef(a: Nd, b: Nd, f: (x: boolean, y: boolean) => boolean): { shape: number[]; data: number[] } {
  const shape = broadcastShape(a.shape, b.shape);
  const at = (x: Nd, idx: number[]) => {
    const lead = idx.length - x.shape.length;
    let off = 0;
    let stride = 1;
    for (let d = x.shape.length - 1; d >= 0; d--) {
      off += (x.shape[d] === 1 ? 0 : idx[lead + d]!) * stride;
      stride *= x.shape[d]!;
    }
    return x.data[off]!;
  };
  const data = Array.from({ length: numel(shape) }, (_, i) => {
    const idx = unravel(i, shape);
    return Number(f(truthy(at(a, idx)), truthy(at(b, idx))));
  });
  return { shape, data };
}

const T = (x: Nd, dtype?: 'float32' | 'int32' | 'bool'): Tensor =>
  tensor(Array.from(x.data), { shape: x.shape, ...(dtype ? { dtype } : {}) });

describe('bool creation', () => {
  it('infers bool from booleans, nested, and 0-d; data() is a Uint8Array, toArray() booleans, item() a boolean', () => {
    expect(snap(() => tensor([true, false, true]))).toEqual({ dtype: 'bool', shape: [3], values: [true, false, true] });
    expect(snap(() => tensor([[true], [false]]))).toEqual({ dtype: 'bool', shape: [2, 1], values: [[true], [false]] });
    expect(snap(() => scalar(true))).toEqual({ dtype: 'bool', shape: [], values: true });
    const r = tidy(() => {
      const t = tensor([false, true]);
      const d = t.data();
      return { isU8: d instanceof Uint8Array, data: Array.from(d), item: t.slice(0, 1, 2).item(), one: scalar(false).item() };
    });
    expect(r).toEqual({ isU8: true, data: [0, 1], item: true, one: false });
  });

  it("numbers with dtype 'bool' are true when non-zero (NaN too); mixed booleans and numbers are float32", () => {
    expect(snap(() => tensor([1, 0, NaN, -0, -2], { dtype: 'bool' })).values).toEqual([true, false, true, false, true]);
    expect(snap(() => tensor(new Float32Array([0, 0.5]), { dtype: 'bool' })).values).toEqual([false, true]);
    expect(snap(() => tensor([true, 2.5]))).toEqual({ dtype: 'float32', shape: [2], values: [1, 2.5] });
    expect(snap(() => tensor([true, false], { dtype: 'int32' }))).toEqual({ dtype: 'int32', shape: [2], values: [1, 0] });
  });

  it('a Uint8Array is int32 unless told, and round-trips a bool tensor with { dtype }', () => {
    expect(snap(() => tensor(new Uint8Array([3, 0])))).toEqual({ dtype: 'int32', shape: [2], values: [3, 0] });
    const back = snap(() => {
      const m = tensor([true, false, true]);
      return tensor(m.data(), { dtype: m.dtype, shape: [3, 1] });
    });
    expect(back).toEqual({ dtype: 'bool', shape: [3, 1], values: [[true], [false], [true]] });
  });

  it('zeros, ones, full (bool inferred from a boolean), fullLike and eye', () => {
    expect(snap(() => zeros([2], { dtype: 'bool' })).values).toEqual([false, false]);
    expect(snap(() => ones([1, 2], { dtype: 'bool' })).values).toEqual([[true, true]]);
    expect(snap(() => full([2], true))).toEqual({ dtype: 'bool', shape: [2], values: [true, true] });
    expect(snap(() => full([2], NaN, { dtype: 'bool' })).values).toEqual([true, true]);
    expect(snap(() => full([2], true, { dtype: 'float32' }))).toEqual({ dtype: 'float32', shape: [2], values: [1, 1] });
    expect(snap(() => fullLike(tensor([true, false]), 0)).values).toEqual([false, false]);
    expect(snap(() => eye(2, 3, { dtype: 'bool' })).values).toEqual([[true, false, false], [false, true, false]]);
  });

  it('stores one byte per element', () => {
    const before = memory().numBytes;
    const t = zeros([1000], { dtype: 'bool' });
    expect(memory().numBytes - before).toBe(1000);
    t.dispose();
  });
});

describe('casts', () => {
  it("to('bool'): non-zero and NaN are true, from float32 and int32, also from a non-contiguous view", () => {
    expect(snap(() => tensor([0, -0, 0.5, -3, NaN, Infinity]).to('bool')).values).toEqual([false, false, true, true, true, true]);
    expect(snap(() => tensor([0, 7, -1], { dtype: 'int32' }).to('bool')).values).toEqual([false, true, true]);
    expect(snap(() => tensor([[0, 1], [2, 0]]).t().to('bool')).values).toEqual([[false, true], [true, false]]);
  });

  it('bool to float32 and int32 gives 1 and 0; to its own dtype returns the same tensor', () => {
    expect(snap(() => tensor([true, false]).to('float32'))).toEqual({ dtype: 'float32', shape: [2], values: [1, 0] });
    expect(snap(() => tensor([true, false]).to('int32'))).toEqual({ dtype: 'int32', shape: [2], values: [1, 0] });
    tidy(() => {
      const m = tensor([true]);
      expect(m.to('bool')).toBe(m);
    });
  });
});

describe('comparisons give bool', () => {
  it('for float32, int32 and bool operands, numbers on either side, broadcasting', () => {
    expect(flags(() => tensor([[1], [3]]).gt(tensor([0, 2, 4])))).toEqual({ dtype: 'bool', shape: [2, 3], data: [1, 0, 0, 1, 1, 0] });
    expect(flags(() => tensor([1, 2], { dtype: 'int32' }).eq(1))).toEqual({ dtype: 'bool', shape: [2], data: [1, 0] });
    expect(flags(() => tensor([true, false]).eq(tensor([true, true])))).toEqual({ dtype: 'bool', shape: [2], data: [1, 0] });
    expect(flags(() => tensor([true, false]).lt(0.5)).data).toEqual([0, 1]);
  });

  it('never require grad, even from inputs that do', () => {
    const r = tidy(() => {
      const x = tensor([1, -1], { requiresGrad: true });
      const m = x.gt(0);
      return { requiresGrad: m.requiresGrad, gradFn: m.gradFn };
    });
    expect(r).toEqual({ requiresGrad: false, gradFn: null });
  });
});

describe('where and maskedFill with bool masks', () => {
  it('select by a bool mask, broadcast and non-contiguous, and pass gradients to the chosen branch', () => {
    const mask = [true, false, false, true, true, false];
    gradcheck(
      (x, y) => where(tensor(mask).reshape([3, 2]).t(), x, y),
      (x, y) => {
        const picked = [0, 2, 4, 1, 3, 5].map((j) => mask[j]!); // the transpose of the [3, 2] mask
        return nd([2, 3], Array.from(x.data, (v, i) => (picked[i] ? v : y.data[i]!)));
      },
      [randomNd([2, 3], 401), randomNd([2, 3], 402)],
    );
    expect(flags(() => where(tensor([[true], [false]]), tensor([1, 2]), tensor(0))).data).toEqual([1, 2, 0, 0]);
  });

  it('maskedFill with a comparison result and with a broadcast bool row', () => {
    expect(flags(() => tensor([1, 2, 3]).maskedFill(tensor([1, 2, 3]).ge(2), 0)).data).toEqual([1, 0, 0]);
    expect(flags(() => tensor([[1, 2], [3, 4]]).maskedFill(tensor([false, true]), -Infinity)).data).toEqual([1, -Infinity, 3, -Infinity]);
  });

  it('scaledDotProductAttention keeps keys where a bool attnMask is true (same as a -inf float mask)', () => {
    const r = tidy(() => {
      const [q, k, v] = [rand([2, 3]), rand([4, 3]), rand([4, 2])];
      const keep = tensor([[true, false, true, true], [false, true, true, false]]);
      const additive = tensor([[0, -Infinity, 0, 0], [-Infinity, 0, 0, -Infinity]]);
      return [scaledDotProductAttention(q, k, v, { attnMask: keep }).toArray(), scaledDotProductAttention(q, k, v, { attnMask: additive }).toArray()];
    });
    expect(r[0]).toEqual(r[1]);
  });
});

describe('logical ops', () => {
  const ops = [
    ['logicalAnd', logicalAnd, (x: boolean, y: boolean) => x && y],
    ['logicalOr', logicalOr, (x: boolean, y: boolean) => x || y],
    ['logicalXor', logicalXor, (x: boolean, y: boolean) => x !== y],
  ] as const;
  const shapes: [number[], number[]][] = [[[6], [6]], [[2, 3], [3]], [[4, 1], [1, 5]], [[2, 1, 3], [4, 1]], [[], [2, 2]]];
  for (const [name, fn, ref] of ops) {
    it(`${name} matches the reference across broadcast shapes and dtypes`, () => {
      for (const [i, [sa, sb]] of shapes.entries()) {
        const [a, b] = [mixedNd(sa, 500 + i), mixedNd(sb, 600 + i)];
        const want = { dtype: 'bool', ...logicalRef(a, b, ref) };
        expect(flags(() => fn(T(a), T(b))), `${name} ${sa} ${sb}`).toEqual(want);
        expect(flags(() => fn(T(a).to('bool'), T(b).to('int32'))), `${name} bool/int32 ${sa} ${sb}`).toEqual(
          { dtype: 'bool', ...logicalRef(a, nd(b.shape, Array.from(b.data, (v) => (Number.isNaN(v) ? 0 : Math.trunc(v)))), ref) },
        );
      }
    });
    it(`${name} reads non-contiguous inputs (transposed, stepped, expanded) and numbers`, () => {
      const a = mixedNd([3, 4], 700);
      const b = mixedNd([4, 3], 701);
      const at = nd([4, 3], Array.from({ length: 12 }, (_, i) => a.data[(i % 3) * 4 + Math.floor(i / 3)]!));
      expect(flags(() => fn(T(a).t(), T(b).to('bool')))).toEqual({ dtype: 'bool', ...logicalRef(at, b, ref) });
      const stepped = nd([3, 2], Array.from({ length: 6 }, (_, i) => a.data[Math.floor(i / 2) * 4 + (i % 2) * 2]!));
      expect(flags(() => fn(T(a).slice(1, 0, 4, 2), T(b).slice(0, 0, 1).reshape([3]).unsqueeze(1).expand([3, 2])))).toEqual({
        dtype: 'bool',
        ...logicalRef(stepped, nd([3, 2], [0, 0, 1, 1, 2, 2].map((j) => b.data[j]!)), ref),
      });
      expect(flags(() => fn(tensor([0, 2, NaN]), 1)).data).toEqual([false, true, true].map((x) => Number(ref(x, true))));
    });
  }

  it('logicalNot of every dtype, and of a non-contiguous view', () => {
    expect(flags(() => logicalNot(tensor([0, -0, 1, NaN, -Infinity])))).toEqual({ dtype: 'bool', shape: [5], data: [1, 1, 0, 0, 0] });
    expect(flags(() => tensor([0, 3], { dtype: 'int32' }).logicalNot()).data).toEqual([1, 0]);
    expect(flags(() => tensor([true, false]).logicalNot()).data).toEqual([0, 1]);
    expect(flags(() => tensor([[0, 1], [2, 0]]).t().logicalNot()).data).toEqual([1, 0, 0, 1]);
  });

  it('give no gradient and record nothing', () => {
    const r = tidy(() => {
      const x = tensor([1, 0], { requiresGrad: true });
      return [x.logicalNot(), x.logicalAnd(x), logicalOr(1, x), x.any()].map((t) => [t.requiresGrad, t.gradFn]);
    });
    expect(r).toEqual(Array(4).fill([false, null]));
  });
});

describe('any and all', () => {
  it('reduce everything, or dims (negative, several, keepdim), over any dtype', () => {
    const x = tensor([[0, 1, NaN], [2, 0, 0]]);
    const r = tidy(() => ({
      any: [x.any().item(), x.any(0).toArray(), x.any(1, true).toArray(), any(x, [0, -1]).item()],
      all: [x.all().item(), all(x, 1).toArray(), x.all(-2, true).toArray(), tensor([true, true]).all().item()],
      dtypes: [x.any().dtype, x.all(0).dtype, tensor([3], { dtype: 'int32' }).any().dtype],
    }));
    x.dispose();
    expect(r).toEqual({
      any: [true, [true, true, true], [[true], [true]], true],
      all: [false, [false, false], [[false, false, false]], true],
      dtypes: ['bool', 'bool', 'bool'],
    });
  });

  it('match a reference on non-contiguous input, and use their identities on empty dims', () => {
    const a = mixedNd([3, 4, 2], 800);
    const want = (every: boolean) => {
      const out: boolean[] = [];
      for (let k = 0; k < 2; k++) {
        for (let j = 0; j < 4; j++) {
          const v = [0, 1, 2].map((i) => truthy(a.data[i * 8 + j * 2 + k]!));
          out.push(every ? v.every(Boolean) : v.some(Boolean));
        }
      }
      return out.map(Number);
    };
    expect(flags(() => T(a).permute([2, 1, 0]).any(-1)).data).toEqual(want(false));
    expect(flags(() => T(a).permute([2, 1, 0]).all(2)).data).toEqual(want(true));
    expect(snap(() => zeros([0]).any())).toEqual({ dtype: 'bool', shape: [], values: false });
    expect(snap(() => zeros([2, 0]).all(1))).toEqual({ dtype: 'bool', shape: [2], values: [true, true] });
  });
});

describe('bool in arithmetic counts as float32 0/1', () => {
  it('sum and mean count, mul masks with gradients to the float operand, add of bools is float', () => {
    const r = tidy(() => {
      const m = tensor([true, false, true, true]);
      const x = tensor([1.5, 2, 3, 4], { requiresGrad: true });
      const y = m.mul(x);
      y.sum().backward();
      return {
        sum: [m.sum().dtype, m.sum().item(), m.reshape([2, 2]).sum(0).toArray()],
        // prod once threw DTypeError here (a hand-numbered op id picked it for any/all's path).
        prod: [m.prod().dtype, m.prod().item(), m.reshape([2, 2]).prod(0).toArray()],
        mean: m.mean().item(),
        y: y.toArray(),
        grad: x.grad!.toArray(),
        add: [m.add(m).dtype, m.add(m).toArray()],
        neg: m.neg().toArray(),
        matmul: m.reshape([2, 2]).matmul(tensor([[1, 2], [3, 4]])).toArray(),
      };
    });
    expect(r).toEqual({
      sum: ['float32', 3, [2, 1]],
      prod: ['float32', 0, [1, 0]],
      mean: 0.75,
      y: [1.5, 0, 3, 4],
      grad: [1, 0, 1, 1],
      add: ['float32', [2, 0, 2, 2]],
      neg: [-1, -0, -1, -1],
      matmul: [[1, 2], [4, 6]],
    });
  });

  it('in-place arithmetic takes a bool source but not a bool target; copy_, fill_ and zero_ write bool', () => {
    expect(snap(() => tensor([1, 2]).mul_(tensor([true, false]))).values).toEqual([1, 0]);
    expect(snap(() => tensor([1, 2]).copy_(tensor([true, false]))).values).toEqual([1, 0]);
    expect(thrown(() => tensor([true]).add_(1))).toBeInstanceOf(DTypeError);
    expect(snap(() => tensor([false, true, false]).slice(0, 0, 3, 2).fill_(true)).values).toEqual([true, true]);
    expect(snap(() => tensor([true, true]).copy_(tensor([0, NaN]))).values).toEqual([false, true]);
    expect(snap(() => tensor([true, true]).zero_()).values).toEqual([false, false]);
    const strided = tidy(() => {
      const m = tensor([false, false, false]);
      m.slice(0, 0, 3, 2).fill_(1);
      return m.toArray();
    });
    expect(strided).toEqual([true, false, true]);
  });

  it('views keep bool; cat and stack keep one dtype and mix into float32', () => {
    expect(snap(() => tensor([[true, false, true]]).t())).toEqual({ dtype: 'bool', shape: [3, 1], values: [[true], [false], [true]] });
    expect(snap(() => tensor([true, false]).expand([2, 2]).slice(1, 1))).toEqual({ dtype: 'bool', shape: [2, 1], values: [[false], [false]] });
    expect(snap(() => cat([tensor([true]), tensor([false, true]).slice(0, 1)]))).toEqual({ dtype: 'bool', shape: [2], values: [true, true] });
    expect(snap(() => stack([tensor([true, false]), tensor([false, false])]))).toEqual({ dtype: 'bool', shape: [2, 2], values: [[true, false], [false, false]] });
    expect(snap(() => cat([tensor([true]), tensor([2.5])]))).toEqual({ dtype: 'float32', shape: [2], values: [1, 2.5] });
  });
});

describe('printing (PyTorch 1.13)', () => {
  const str = (make: () => Tensor): string => tidy(() => make().toString());
  it('pads True to the width of False, and names the dtype only when empty', () => {
    expect(str(() => tensor([true, false, true]))).toBe('tensor([ True, False,  True])');
    expect(str(() => tensor([true, true]))).toBe('tensor([True, True])');
    expect(str(() => tensor([false, false]))).toBe('tensor([False, False])');
    expect(str(() => scalar(true))).toBe('tensor(True)');
    expect(str(() => scalar(false))).toBe('tensor(False)');
    expect(str(() => tensor([[true, false], [false, true]]))).toBe('tensor([[ True, False],\n        [False,  True]])');
    expect(str(() => zeros([0], { dtype: 'bool' }))).toBe('tensor([], dtype=bool)');
    expect(str(() => zeros([2, 0], { dtype: 'bool' }))).toBe('tensor([], size=(2, 0), dtype=bool)');
  });
  it('summarises and wraps like PyTorch', () => {
    expect(str(() => ones([1001], { dtype: 'bool' }))).toBe('tensor([True, True, True,  ..., True, True, True])');
    const row = `[${Array(12).fill('True').join(', ')},\n         ${Array(8).fill('True').join(', ')}]`;
    expect(str(() => ones([3, 20], { dtype: 'bool' }))).toBe(`tensor([${row},\n        ${row},\n        ${row}])`);
  });
});

describe('errors', () => {
  it('every op given bool tensors returns a result or throws a typed error, never traps', () => {
    const m = (shape: number[]) => tensor(Array.from({ length: numel(shape) }, (_, i) => i % 3 === 0), { shape });
    const int = (values: number[]) => tensor(values, { dtype: 'int32' });
    const calls: [string, () => unknown][] = [
      ...(['neg', 'exp', 'log', 'sqrt', 'abs', 'relu', 'sigmoid', 'tanh', 'sign', 'floor', 'round', 'sin', 'square', 'silu',
        'softplus', 'rsqrt', 'reciprocal', 'expm1', 'log1p', 'gelu', 'elu', 'leakyRelu', 'flatten', 'tril', 'detach'] as const)
        .map((f): [string, () => unknown] => [f, () => m([2, 3])[f]()]),
      ...(['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum'] as const).flatMap((f): [string, () => unknown][] => [
        [f, () => m([2, 3])[f](m([3]))],
        [`${f} scalar`, () => m([3])[f](2)],
        [`float ${f} bool`, () => rand([2, 3])[f](m([2, 3]))],
      ]),
      ...(['amax', 'amin', 'argmax', 'argmin', 'var', 'std', 'sum', 'mean', 'any', 'prod'] as const)
        .map((f): [string, () => unknown] => [f, () => m([2, 3])[f](1)]),
      ['max', () => m([2, 3]).max(1)],
      ['norm', () => m([2, 3]).norm(1, 0)],
      ['clamp', () => m([3]).clamp(0.5, 1)],
      ['softmax', () => m([2, 3]).softmax(0)],
      ['logSoftmax', () => m([2, 3]).logSoftmax(1)],
      ['logsumexp', () => m([2, 3]).logsumexp(1)],
      ['matmul', () => m([2, 3]).matmul(m([3, 2]))],
      ['dot', () => m([3]).matmul(rand([3]))],
      ['repeat', () => m([2, 3]).repeat(2, 1)],
      ['split', () => m([2, 3]).split(1, 1)],
      ['indexSelect', () => m([3]).indexSelect(0, int([0, 2]))],
      ['where', () => where(m([3]), m([3]), m([3]))],
      ['maskedFill', () => m([3]).maskedFill(m([3]), 1)],
      ['add_ bool source', () => rand([3]).add_(m([3]))],
      ['copy_ bool source', () => rand([3]).copy_(m([3]))],
      ['copy_ into bool', () => m([3]).copy_(rand([3]))],
      ['zero_ bool', () => m([3]).zero_()],
      ['crossEntropy bool logits', () => crossEntropy(m([2, 3]), int([0, 2]))],
      ['crossEntropy bool probabilities', () => crossEntropy(rand([2, 3]), m([2, 3]))],
      ['crossEntropy bool indices', () => crossEntropy(rand([2, 3]), m([2]))],
      ['linear', () => linear(m([2, 3]), m([4, 3]), m([4]))],
      ['conv2d', () => conv2d(m([1, 2, 4, 4]), m([3, 2, 2, 2]), m([3]))],
      ['conv1d', () => conv1d(m([1, 2, 5]), m([1, 2, 3]))],
      ['convTranspose2d', () => convTranspose2d(m([1, 2, 3, 3]), m([2, 3, 2, 2]), m([3]))],
      ['maxPool2d', () => maxPool2d(m([1, 1, 4, 4]), 2)],
      ['avgPool2d', () => avgPool2d(m([1, 1, 4, 4]), 2)],
      ['adaptiveAvgPool2d', () => adaptiveAvgPool2d(m([1, 1, 4, 4]), 2)],
      ['mseLoss', () => mseLoss(m([3]), rand([3]))],
      ['binaryCrossEntropy', () => binaryCrossEntropy(rand([3]), m([3]))],
      ['nllLoss bool input', () => nllLoss(m([2, 3]), int([1, 0]))],
      ['nllLoss bool target', () => nllLoss(rand([2, 3]), m([2]))],
      ['layerNorm', () => layerNorm(m([2, 3]), [3])],
      ['batchNorm', () => batchNorm(m([2, 3]), null, null)],
      ['groupNorm', () => groupNorm(m([2, 4]), 2)],
      ['pad', () => pad(m([2, 3]), [1, 1])],
      ['dropout', () => dropout(m([3]), 0.5)],
      ['oneHot', () => oneHot(m([3]))],
      ['embedding bool indices', () => embedding(m([2]), rand([3, 2]))],
      ['embedding bool weight', () => embedding(int([1]), m([3, 2]))],
      ['attention', () => scaledDotProductAttention(m([2, 3]), m([4, 3]), m([4, 2]))],
      ['backward', () => m([1]).backward()],
      ['optimizer', () => new SGD([m([2])], { lr: 0.1 }).dispose()],
    ];
    for (const [name, call] of calls) {
      let err: unknown;
      try {
        tidy(() => {
          call();
        });
      } catch (e) {
        err = e;
      }
      if (err !== undefined) {
        expect(err, name).toBeInstanceOf(TensorError);
        expect(err, name).not.toBeInstanceOf(PoisonedError);
      }
    }
    expect(tidy(() => tensor([1, 2]).gt(1).logicalOr(tensor([true, false])).toArray())).toEqual([true, true]);
  });

  it('a bool tensor cannot require grad', () => {
    expect(thrown(() => tensor([true], { requiresGrad: true }))).toBeInstanceOf(DTypeError);
    expect(thrown(() => zeros([2], { dtype: 'bool', requiresGrad: true }))).toBeInstanceOf(DTypeError);
    expect(thrown(() => tensor([true]).requiresGrad_())).toBeInstanceOf(DTypeError);
    expect(String(thrown(() => tensor([false]).requiresGrad_()))).toMatch(/bool/);
  });

  it('bool where a float32 tensor or int32 indices are needed', () => {
    expect(thrown(() => tensor([1, 2], { requiresGrad: true }).mul(2).backward(tensor([true, false])))).toBeInstanceOf(DTypeError);
    tidy(() => {
      const x = tensor([1, 2], { requiresGrad: true });
      expect(thrown(() => (x.grad = tensor([true, true])))).toBeInstanceOf(DTypeError);
    });
    expect(thrown(() => tensor([1, 2]).indexSelect(0, tensor([true])))).toBeInstanceOf(DTypeError);
    expect(thrown(() => arange(3, undefined, 1, { dtype: 'bool' }))).toBeInstanceOf(DTypeError);
    expect(thrown(() => rand([2], { dtype: 'bool' }))).toBeInstanceOf(DTypeError);
  });

  it('unknown dtypes and shape mismatches are typed errors', () => {
    expect(thrown(() => tensor([1]).to('uint8' as 'bool'))).toBeInstanceOf(ArgumentError);
    expect(thrown(() => logicalAnd(tensor([true, false]), tensor([1, 2, 3])))).toMatchObject({ name: 'ShapeError', message: expect.stringMatching(/logicalAnd/) });
    expect(thrown(() => tensor([true, false]).any(2))).toBeInstanceOf(ArgumentError);
  });
});

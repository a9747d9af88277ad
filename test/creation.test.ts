// Creating tensors: from data, constants, ranges, identity, seeded random values;
// properties, read-back and dtype conversion.
import { describe, expect, it } from 'vitest';
import {
  arange, ArgumentError, DTypeError, eye, full, fullLike, linspace, manualSeed, memory, ones, onesLike, rand, randn, scalar,
  ShapeError, tensor, TensorError, tidy, zeros, zerosLike, type Tensor,
} from '../ts/node.js';
import { expectClose } from './helpers/gradcheck.js';

interface Snapshot {
  shape: number[];
  dtype: string;
  data: number[];
}

function snap(f: () => Tensor): Snapshot {
  return tidy(() => {
    const t = f();
    return { shape: [...t.shape], dtype: t.dtype, data: Array.from(t.data()) };
  });
}

const f32 = (vs: number[]) => vs.map(Math.fround);

describe('tensor()', () => {
  it('from nested arrays: shape from nesting, float32, values rounded to float32', () => {
    expect(snap(() => tensor([[1, 2, 3], [4, 5, 6]]))).toEqual({ shape: [2, 3], dtype: 'float32', data: [1, 2, 3, 4, 5, 6] });
    expect(snap(() => tensor([[[0.1], [0.2]], [[0.3], [-0.4]]]))).toEqual({
      shape: [2, 2, 1], dtype: 'float32', data: f32([0.1, 0.2, 0.3, -0.4]),
    });
    expect(snap(() => tensor([1.5, NaN, -Infinity])).data).toEqual([1.5, NaN, -Infinity]);
  });
  it('from empty nested arrays', () => {
    expect(snap(() => tensor([]))).toEqual({ shape: [0], dtype: 'float32', data: [] });
    expect(snap(() => tensor([[], []]))).toEqual({ shape: [2, 0], dtype: 'float32', data: [] });
  });
  it('from a Float32Array (a copy: later writes to the array do not reach the tensor)', () => {
    const src = new Float32Array([1.25, -2, 3.5]);
    const r = tidy(() => {
      const t = tensor(src);
      src[0] = 99;
      return { shape: [...t.shape], dtype: t.dtype, data: Array.from(t.data()) };
    });
    expect(r).toEqual({ shape: [3], dtype: 'float32', data: [1.25, -2, 3.5] });
  });
  it('from an Int32Array: dtype int32, exact values', () => {
    const big = 2 ** 31 - 1;
    expect(snap(() => tensor(new Int32Array([1, -2, big, -big - 1])))).toEqual({
      shape: [4], dtype: 'int32', data: [1, -2, big, -big - 1],
    });
  });
  it('from a number: 0-d', () => {
    expect(snap(() => tensor(2.5))).toEqual({ shape: [], dtype: 'float32', data: [2.5] });
    expect(snap(() => scalar(-3))).toEqual({ shape: [], dtype: 'float32', data: [-3] });
  });
  it('with { shape }: reshapes flat data (arrays and typed arrays)', () => {
    expect(snap(() => tensor([1, 2, 3, 4, 5, 6], { shape: [2, 3] }))).toEqual({ shape: [2, 3], dtype: 'float32', data: [1, 2, 3, 4, 5, 6] });
    expect(snap(() => tensor(new Float32Array([1, 2, 3, 4]), { shape: [2, 1, 2] })).shape).toEqual([2, 1, 2]);
    expect(snap(() => tensor(new Int32Array([7, 8]), { shape: [2, 1] }))).toEqual({ shape: [2, 1], dtype: 'int32', data: [7, 8] });
    expect(snap(() => tensor([5], { shape: [] }))).toEqual({ shape: [], dtype: 'float32', data: [5] });
    expect(snap(() => tensor([], { shape: [3, 0] })).shape).toEqual([3, 0]);
  });
  it('with { dtype: "int32" } from numbers truncates toward zero', () => {
    expect(snap(() => tensor([1.7, -1.7, 2, -0.2], { dtype: 'int32' }))).toEqual({ shape: [4], dtype: 'int32', data: [1, -1, 2, 0] });
  });
  it('ragged nested arrays throw ShapeError', () => {
    expect(() => tensor([[1, 2], [3]])).toThrow(ShapeError);
    expect(() => tensor([[1, 2], 3] as never)).toThrow(ShapeError);
    expect(() => tensor([1, [2]] as never)).toThrow(ShapeError);
    expect(() => tensor([[[1], [2]], [[3]]])).toThrow(ShapeError);
    expect(() => tensor([[], [1]])).toThrow(ShapeError);
  });
  it('data that does not fill { shape } throws ShapeError', () => {
    expect(() => tensor([1, 2, 3], { shape: [2, 2] })).toThrow(ShapeError);
    expect(() => tensor(new Float32Array(5), { shape: [2, 3] })).toThrow(ShapeError);
    expect(() => tensor([[1, 2], [3, 4]], { shape: [3] })).toThrow(ShapeError);
    expect(() => tensor([1, 2], { shape: [-1, 2] })).toThrow(ShapeError);
  });
  it('non-numeric data throws', () => {
    expect(() => tensor(['a'] as never)).toThrow(TensorError);
    expect(() => tensor('abc' as never)).toThrow(ArgumentError);
  });
});

describe('constant constructors', () => {
  it('zeros / ones / full with a number or an array shape', () => {
    expect(snap(() => zeros([2, 3]))).toEqual({ shape: [2, 3], dtype: 'float32', data: new Array(6).fill(0) });
    expect(snap(() => ones(4))).toEqual({ shape: [4], dtype: 'float32', data: [1, 1, 1, 1] });
    expect(snap(() => full([2, 2], -1.5))).toEqual({ shape: [2, 2], dtype: 'float32', data: [-1.5, -1.5, -1.5, -1.5] });
    expect(snap(() => full([], 7))).toEqual({ shape: [], dtype: 'float32', data: [7] });
    expect(snap(() => zeros([3, 0]))).toEqual({ shape: [3, 0], dtype: 'float32', data: [] });
    expect(snap(() => full([2], 0.1)).data).toEqual(f32([0.1, 0.1]));
  });
  it('int32 dtype (full truncates toward zero)', () => {
    expect(snap(() => zeros([2], { dtype: 'int32' }))).toEqual({ shape: [2], dtype: 'int32', data: [0, 0] });
    expect(snap(() => ones([2], { dtype: 'int32' }))).toEqual({ shape: [2], dtype: 'int32', data: [1, 1] });
    expect(snap(() => full([3], -2.7, { dtype: 'int32' }))).toEqual({ shape: [3], dtype: 'int32', data: [-2, -2, -2] });
  });
  it('invalid shapes throw ShapeError', () => {
    expect(() => zeros([-1])).toThrow(ShapeError);
    expect(() => ones([2, 1.5])).toThrow(ShapeError);
    expect(() => full(NaN, 1)).toThrow(ShapeError);
  });
  it('an unknown dtype throws ArgumentError', () => {
    expect(() => zeros([2], { dtype: 'float64' as never })).toThrow(ArgumentError);
  });
  it('zerosLike / onesLike / fullLike follow shape and dtype; dtype can be overridden', () => {
    const r = tidy(() => {
      const f = tensor([[1, 2, 3]]);
      const i = tensor(new Int32Array([4, 5]));
      return [
        snap(() => zerosLike(f)), snap(() => onesLike(f)), snap(() => fullLike(f, 2.5)),
        snap(() => zerosLike(i)), snap(() => onesLike(i)), snap(() => fullLike(i, 9.9)),
        snap(() => onesLike(i, { dtype: 'float32' })), snap(() => fullLike(f, 3.9, { dtype: 'int32' })),
      ];
    });
    expect(r).toEqual([
      { shape: [1, 3], dtype: 'float32', data: [0, 0, 0] },
      { shape: [1, 3], dtype: 'float32', data: [1, 1, 1] },
      { shape: [1, 3], dtype: 'float32', data: [2.5, 2.5, 2.5] },
      { shape: [2], dtype: 'int32', data: [0, 0] },
      { shape: [2], dtype: 'int32', data: [1, 1] },
      { shape: [2], dtype: 'int32', data: [9, 9] },
      { shape: [2], dtype: 'float32', data: [1, 1] },
      { shape: [1, 3], dtype: 'int32', data: [3, 3, 3] },
    ]);
  });
  it('*Like of a 0-d and an empty tensor', () => {
    const r = tidy(() => [snap(() => onesLike(tensor(3))), snap(() => fullLike(zeros([0, 2]), 1))]);
    expect(r).toEqual([{ shape: [], dtype: 'float32', data: [1] }, { shape: [0, 2], dtype: 'float32', data: [] }]);
  });
});

describe('arange', () => {
  it('1-argument form: 0 … n-1', () => {
    expect(snap(() => arange(5))).toEqual({ shape: [5], dtype: 'float32', data: [0, 1, 2, 3, 4] });
  });
  it('2-argument form: start … end-1', () => {
    expect(snap(() => arange(2, 6)).data).toEqual([2, 3, 4, 5]);
    expect(snap(() => arange(-3, 1)).data).toEqual([-3, -2, -1, 0]);
  });
  it('3-argument form, end exclusive', () => {
    expect(snap(() => arange(1, 10, 3)).data).toEqual([1, 4, 7]);
    expect(snap(() => arange(1, 11, 3)).data).toEqual([1, 4, 7, 10]);
  });
  it('negative step', () => {
    expect(snap(() => arange(5, 0, -1)).data).toEqual([5, 4, 3, 2, 1]);
    expect(snap(() => arange(5, 0, -1.5)).data).toEqual([5, 3.5, 2, 0.5]);
  });
  it('float step: length ceil((end - start) / step), values start + i·step', () => {
    for (const [start, end, step] of [[0, 1, 0.1], [0, 1, 0.3], [-1, 1, 0.25], [0.5, 2, 0.2]] as const) {
      const n = Math.ceil((end - start) / step);
      const expected = Array.from({ length: n }, (_, i) => start + i * step);
      const got = snap(() => arange(start, end, step));
      expect(got.shape, `arange(${start}, ${end}, ${step})`).toEqual([n]);
      expectClose(got.data, expected, 1e-7, 1e-6, `arange(${start}, ${end}, ${step})`);
    }
  });
  it('empty range', () => {
    expect(snap(() => arange(0))).toEqual({ shape: [0], dtype: 'float32', data: [] });
    expect(snap(() => arange(3, 3))).toEqual({ shape: [0], dtype: 'float32', data: [] });
    expect(snap(() => arange(3, 3, -1)).shape).toEqual([0]);
  });
  it('int32 dtype', () => {
    expect(snap(() => arange(0, 4, 1, { dtype: 'int32' }))).toEqual({ shape: [4], dtype: 'int32', data: [0, 1, 2, 3] });
  });
  it('a zero or non-finite step or bound throws ArgumentError', () => {
    expect(() => arange(0, 1, 0)).toThrow(ArgumentError);
    expect(() => arange(0, 1, NaN)).toThrow(ArgumentError);
    expect(() => arange(0, Infinity)).toThrow(ArgumentError);
  });
});

describe('linspace', () => {
  it('evenly spaced with exact endpoints', () => {
    expect(snap(() => linspace(-1, 1, 5))).toEqual({ shape: [5], dtype: 'float32', data: [-1, -0.5, 0, 0.5, 1] });
    for (const [start, end, steps] of [[0, 1, 7], [0.1, 0.7, 11], [3, -2, 4], [-10, 10, 1000]] as const) {
      const got = snap(() => linspace(start, end, steps)).data;
      expect(got.length).toBe(steps);
      expect(got[0], 'first').toBe(Math.fround(start));
      expect(got[steps - 1], 'last').toBe(Math.fround(end));
      const expected = Array.from({ length: steps }, (_, i) => start + ((end - start) * i) / (steps - 1));
      expectClose(got, expected, 1e-6, 1e-6, `linspace(${start}, ${end}, ${steps})`);
    }
  });
  it('steps = 1 gives [start] (as torch.linspace)', () => {
    expect(snap(() => linspace(3, 7, 1)).data).toEqual([3]);
  });
  it('steps = 0 gives an empty tensor', () => {
    expect(snap(() => linspace(3, 7, 0))).toEqual({ shape: [0], dtype: 'float32', data: [] });
  });
  it('start = end repeats the value', () => {
    expect(snap(() => linspace(2, 2, 3)).data).toEqual([2, 2, 2]);
  });
  it('negative or fractional steps throw ArgumentError, an int32 dtype DTypeError', () => {
    expect(() => linspace(0, 1, -1)).toThrow(ArgumentError);
    expect(() => linspace(0, 1, 2.5)).toThrow(ArgumentError);
    expect(() => linspace(0, 1, 3, { dtype: 'int32' })).toThrow(DTypeError);
  });
});

describe('eye', () => {
  const identity = (n: number, m: number) => Array.from({ length: n * m }, (_, k) => (Math.floor(k / m) === k % m ? 1 : 0));
  it('n × n', () => {
    expect(snap(() => eye(3))).toEqual({ shape: [3, 3], dtype: 'float32', data: identity(3, 3) });
    expect(snap(() => eye(1)).data).toEqual([1]);
  });
  it('n × m, wide and tall', () => {
    expect(snap(() => eye(2, 4))).toEqual({ shape: [2, 4], dtype: 'float32', data: identity(2, 4) });
    expect(snap(() => eye(4, 2))).toEqual({ shape: [4, 2], dtype: 'float32', data: identity(4, 2) });
  });
  it('zero size and int32', () => {
    expect(snap(() => eye(0)).shape).toEqual([0, 0]);
    expect(snap(() => eye(3, 0)).shape).toEqual([3, 0]);
    expect(snap(() => eye(2, 2, { dtype: 'int32' }))).toEqual({ shape: [2, 2], dtype: 'int32', data: [1, 0, 0, 1] });
  });
  it('negative or fractional sizes throw ArgumentError', () => {
    expect(() => eye(-1)).toThrow(ArgumentError);
    expect(() => eye(2, 1.5)).toThrow(ArgumentError);
  });
});

describe('random', () => {
  it('rand: float32 values in [0, 1) with roughly uniform mean and spread', () => {
    manualSeed(1);
    const r = snap(() => rand([100, 100]));
    expect(r.shape).toEqual([100, 100]);
    expect(r.dtype).toBe('float32');
    let lo = Infinity;
    let hi = -Infinity;
    let total = 0;
    let below = 0;
    for (const v of r.data) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
      total += v;
      if (v < 0.5) below++;
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    // 10 000 uniforms: the mean has sd 0.0029; 0.02 is ~7 sd.
    expect(Math.abs(total / r.data.length - 0.5)).toBeLessThan(0.02);
    expect(Math.abs(below / r.data.length - 0.5)).toBeLessThan(0.04);
    expect(new Set(r.data).size).toBeGreaterThan(9000);
  });
  it('randn: mean ≈ 0, std ≈ 1 over 10 000 samples', () => {
    manualSeed(2);
    const r = snap(() => randn(10_000));
    expect(r.shape).toEqual([10_000]);
    expect(r.dtype).toBe('float32');
    const n = r.data.length;
    const m = r.data.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(r.data.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1));
    // Standard errors: mean 0.01, std 0.007; the bounds are ~5 sd.
    expect(Math.abs(m)).toBeLessThan(0.05);
    expect(Math.abs(sd - 1)).toBeLessThan(0.05);
    // About 68% within one sd, and both tails present.
    const within = r.data.filter((v) => Math.abs(v) < 1).length / n;
    expect(Math.abs(within - 0.6827)).toBeLessThan(0.03);
    expect(r.data.some((v) => v < -2.5)).toBe(true);
    expect(r.data.some((v) => v > 2.5)).toBe(true);
    expect(r.data.every(Number.isFinite)).toBe(true);
  });
  it('rand / randn shapes: 0-d, empty, number shape', () => {
    expect(snap(() => rand([])).shape).toEqual([]);
    expect(snap(() => randn([0, 4])).shape).toEqual([0, 4]);
    expect(snap(() => rand(3)).shape).toEqual([3]);
  });
  it('manualSeed: same seed gives identical data, different seeds differ', () => {
    manualSeed(42);
    const a1 = snap(() => rand([50]));
    const b1 = snap(() => randn([50]));
    manualSeed(42);
    const a2 = snap(() => rand([50]));
    const b2 = snap(() => randn([50]));
    expect(a2.data).toEqual(a1.data);
    expect(b2.data).toEqual(b1.data);
    manualSeed(43);
    const a3 = snap(() => rand([50]));
    expect(a3.data).not.toEqual(a1.data);
    // The generator advances: two draws after one seed differ.
    manualSeed(42);
    const first = snap(() => rand([50]));
    const second = snap(() => rand([50]));
    expect(second.data).not.toEqual(first.data);
  });
  it('manualSeed rejects negative and non-integer seeds', () => {
    expect(() => manualSeed(-1)).toThrow(ArgumentError);
    expect(() => manualSeed(1.5)).toThrow(ArgumentError);
  });
  it('rand / randn with an integer dtype throw instead of silently returning float32 (as torch.rand)', () => {
    expect(() => rand([2], { dtype: 'int32' })).toThrow(TensorError);
    expect(() => randn([2], { dtype: 'int32' })).toThrow(TensorError);
  });
});

describe('requiresGrad option', () => {
  it('makes a leaf that requires grad; the default is false', () => {
    const r = tidy(() =>
      [
        tensor([1, 2], { requiresGrad: true }), zeros([2], { requiresGrad: true }), ones([2], { requiresGrad: true }),
        full([2], 3, { requiresGrad: true }), rand([2], { requiresGrad: true }), randn([2], { requiresGrad: true }),
        arange(3, undefined, 1, { requiresGrad: true }), linspace(0, 1, 3, { requiresGrad: true }), eye(2, 2, { requiresGrad: true }),
        zerosLike(ones([2]), { requiresGrad: true }), tensor(3, { requiresGrad: true }),
      ].map((t) => [t.requiresGrad, t.isLeaf, t.gradFn]),
    );
    for (const v of r) expect(v).toEqual([true, true, null]);
    const d = tidy(() => [tensor([1]), zeros([1]), rand([1])].map((t) => t.requiresGrad));
    expect(d).toEqual([false, false, false]);
  });
  it('the leaf receives a gradient', () => {
    const g = tidy(() => {
      const x = tensor([1, 2, 3], { requiresGrad: true });
      x.mul(x).sum().backward();
      return Array.from(x.grad!.data());
    });
    expect(g).toEqual([2, 4, 6]);
  });
  it('int32 tensors cannot require grad (DTypeError), and nothing leaks', () => {
    expect(() => tensor(new Int32Array([1]), { requiresGrad: true })).toThrow(DTypeError);
    expect(() => zeros([2], { dtype: 'int32', requiresGrad: true })).toThrow(DTypeError);
  });
});

describe('properties', () => {
  it('shape, dtype, size, ndim', () => {
    const r = tidy(() =>
      [tensor(1), tensor([1, 2, 3]), zeros([2, 3, 4]), zeros([3, 0]), tensor(new Int32Array([1, 2]))].map((t) => ({
        shape: [...t.shape], dtype: t.dtype, size: t.size, ndim: t.ndim,
      })),
    );
    expect(r).toEqual([
      { shape: [], dtype: 'float32', size: 1, ndim: 0 },
      { shape: [3], dtype: 'float32', size: 3, ndim: 1 },
      { shape: [2, 3, 4], dtype: 'float32', size: 24, ndim: 3 },
      { shape: [3, 0], dtype: 'float32', size: 0, ndim: 2 },
      { shape: [2], dtype: 'int32', size: 2, ndim: 1 },
    ]);
  });
  it('shape cannot be mutated through the returned array', () => {
    const s = tidy(() => {
      const t = zeros([2, 3]);
      try {
        (t.shape as number[])[0] = 5;
      } catch {
        // frozen: writes throw in strict mode
      }
      return [...t.shape];
    });
    expect(s).toEqual([2, 3]);
  });
});

describe('read-back: toArray / data / item', () => {
  it('toArray returns nested arrays matching the shape', () => {
    const r = tidy(() => ({
      m: tensor([[1, 2, 3], [4, 5, 6]]).toArray(),
      c: tensor([1, 2, 3, 4, 5, 6, 7, 8], { shape: [2, 2, 2] }).toArray(),
      s: tensor(2.5).toArray(),
      e: zeros([2, 0]).toArray(),
      e0: zeros([0, 2]).toArray(),
      i: tensor(new Int32Array([3, -4])).toArray(),
      t: tensor([[1, 2, 3], [4, 5, 6]]).t().toArray(),
    }));
    expect(r.m).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(r.c).toEqual([[[1, 2], [3, 4]], [[5, 6], [7, 8]]]);
    expect(r.s).toBe(2.5);
    expect(r.e).toEqual([[], []]);
    expect(r.e0).toEqual([]);
    expect(r.i).toEqual([3, -4]);
    expect(r.t).toEqual([[1, 4], [2, 5], [3, 6]]);
  });
  it('data returns a copy as Float32Array or Int32Array', () => {
    const r = tidy(() => {
      const t = tensor([1, 2]);
      const d = t.data();
      d[0] = 100;
      const i = tensor(new Int32Array([5])).data();
      return { isF32: d instanceof Float32Array, again: Array.from(t.data()), isI32: i instanceof Int32Array };
    });
    expect(r).toEqual({ isF32: true, again: [1, 2], isI32: true });
  });
  it('item returns the value of any one-element tensor', () => {
    const r = tidy(() => [tensor(2.5).item(), tensor([[[-3]]]).item(), tensor(new Int32Array([7])).item()]);
    expect(r).toEqual([2.5, -3, 7]);
  });
  it('item on a tensor with more (or fewer) than one element throws ShapeError', () => {
    tidy(() => {
      expect(() => tensor([1, 2]).item()).toThrow(ShapeError);
      expect(() => zeros([0]).item()).toThrow(ShapeError);
    });
  });
});

describe('to(dtype)', () => {
  it("to('int32') truncates toward zero; back to float32 keeps the integers", () => {
    const r = tidy(() => {
      const x = tensor([-2.7, -0.5, 0.5, 2.7, -3, 3.99, 1e6 + 0.5]);
      const i = x.to('int32');
      const f = i.to('float32');
      return { i: snap(() => i), f: snap(() => f) };
    });
    expect(r.i).toEqual({ shape: [7], dtype: 'int32', data: [-2, 0, 0, 2, -3, 3, 1000000] });
    expect(r.f).toEqual({ shape: [7], dtype: 'float32', data: [-2, 0, 0, 2, -3, 3, 1000000] });
  });
  it('int32 → float32 of large values rounds to the nearest float32', () => {
    const r = snap(() => tensor(new Int32Array([16777217, -2147483648])).to('float32'));
    expect(r).toEqual({ shape: [2], dtype: 'float32', data: [16777216, -2147483648] });
  });
  it('to() of a non-contiguous tensor converts in logical order and keeps the shape', () => {
    const r = snap(() => tensor([[1.5, 2.5, 3.5], [-1.5, -2.5, -3.5]]).t().to('int32'));
    expect(r).toEqual({ shape: [3, 2], dtype: 'int32', data: [1, -1, 2, -2, 3, -3] });
  });
  it('to() the same dtype returns the tensor itself', () => {
    const same = tidy(() => {
      const x = tensor([1]);
      const i = tensor(new Int32Array([1]));
      return [x.to('float32') === x, i.to('int32') === i];
    });
    expect(same).toEqual([true, true]);
  });
  it("to() the same dtype of a leaf's gradient leaks no handle", () => {
    const before = memory();
    tidy(() => {
      const x = tensor([1, 2], { requiresGrad: true });
      x.mul(2).sum().backward();
      x.grad!.to('float32');
    });
    const after = memory();
    expect({ n: after.numTensors, b: after.numBytes }).toEqual({ n: before.numTensors, b: before.numBytes });
  });
  it('an unknown dtype throws ArgumentError', () => {
    tidy(() => {
      expect(() => tensor([1]).to('float64' as never)).toThrow(ArgumentError);
    });
  });
});

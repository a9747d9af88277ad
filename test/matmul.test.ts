// matmul with PyTorch's rules: 1-D promotion, batching with broadcasting, strided
// operands, zero-size dims, a size that crosses the kernel's blocking, gradients, errors.
import { describe, expect, it } from 'vitest';
import * as wg from '../ts/node.js';
import { DTypeError, ShapeError, tensor, tidy, type Tensor } from '../ts/node.js';
import { expectClose, gradcheck } from './helpers/gradcheck.js';
import { matmul, nd, permute, randomNd, type Nd } from './helpers/reference.js';
import { T, run, thrown } from './helpers/snapshot.js';

/** Forward of a·b (method form) vs the float64 reference; also checks the function form. */
function checkForward(sa: number[], sb: number[], expectedShape: number[], seed: number, atol = 1e-5, rtol = 1e-5): void {
  const a = randomNd(sa, seed);
  const b = randomNd(sb, seed + 1);
  const expected = matmul(a, b);
  expect(expected.shape, 'reference shape').toEqual(expectedShape);
  const got = run(() => T(a).matmul(T(b)));
  expect(got.shape).toEqual(expectedShape);
  expectClose(got.data, expected.data, atol, rtol, `[${sa}]·[${sb}]`);
  const viaFn = run(() => wg.matmul(T(a), T(b)));
  expect(viaFn).toEqual(got);
}

const SHAPES: [string, number[], number[], number[]][] = [
  ['1-D · 1-D (dot product, 0-d result)', [5], [5], []],
  ['1-D · 2-D', [3], [3, 4], [4]],
  ['2-D · 1-D', [2, 3], [3], [2]],
  ['2-D · 2-D', [2, 3], [3, 4], [2, 4]],
  ['batched 3-D · 3-D', [2, 3, 4], [2, 4, 5], [2, 3, 5]],
  ['batched broadcast [2,1,3,4] · [5,4,2]', [2, 1, 3, 4], [5, 4, 2], [2, 5, 3, 2]],
  ['3-D · 2-D', [2, 3, 4], [4, 5], [2, 3, 5]],
  ['2-D · 3-D', [3, 4], [2, 4, 5], [2, 3, 5]],
  ['1-D · 3-D', [4], [2, 4, 5], [2, 5]],
  ['3-D · 1-D', [2, 3, 4], [4], [2, 3]],
  ['size-1 batch dims on both sides [1,3,4] · [2,1,4,2]', [1, 3, 4], [2, 1, 4, 2], [2, 1, 3, 2]],
  ['1×1 matrices', [1, 1], [1, 1], [1, 1]],
];

describe('matmul forward', () => {
  it.each(SHAPES)('%s', (_label, sa, sb, out) => checkForward(sa, sb, out, sa.length * 10 + sb.length));

  it('a known small product', () => {
    const got = run(() => tensor([[1, 2], [3, 4]]).matmul(tensor([[5, 6], [7, 8]])));
    expect(got).toEqual({ shape: [2, 2], data: [19, 22, 43, 50] });
  });

  it('transposed (non-contiguous) operands via .t() and .transpose()', () => {
    const a = randomNd([4, 3], 1); // used as aᵀ: [3, 4]
    const b = randomNd([5, 4], 2); // used as bᵀ: [4, 5]
    const c = randomNd([3, 4], 3);
    const d = randomNd([4, 5], 4);
    const cases: [() => Tensor, Nd][] = [
      [() => T(a).t().matmul(T(d)), matmul(permute(a, [1, 0]), d)],
      [() => T(c).matmul(T(b).t()), matmul(c, permute(b, [1, 0]))],
      [() => T(a).t().matmul(T(b).t()), matmul(permute(a, [1, 0]), permute(b, [1, 0]))],
      [() => T(a).transpose(0, 1).matmul(T(b).transpose(-1, -2)), matmul(permute(a, [1, 0]), permute(b, [1, 0]))],
    ];
    for (const [f, expected] of cases) {
      const got = run(f);
      expect(got.shape).toEqual(expected.shape);
      expectClose(got.data, expected.data, 1e-5, 1e-5, 'transposed');
    }
  });

  it('batched operands with transposed matrices and permuted batch dims', () => {
    const a = randomNd([2, 4, 3], 5); // transpose(1, 2) -> [2, 3, 4]
    const b = randomNd([4, 2, 5], 6); // permute(1, 0, 2) -> [2, 4, 5]
    const expected = matmul(permute(a, [0, 2, 1]), permute(b, [1, 0, 2]));
    const got = run(() => T(a).transpose(1, 2).matmul(T(b).permute(1, 0, 2)));
    expect(got.shape).toEqual([2, 3, 5]);
    expectClose(got.data, expected.data, 1e-5, 1e-5, 'batched strided');
  });

  it('expanded (stride-0) operands', () => {
    const a = randomNd([1, 3, 4], 7);
    const b = randomNd([4, 1], 8);
    const ea = nd([2, 3, 4], [...a.data, ...a.data]);
    const eb = nd([4, 3], Array.from({ length: 12 }, (_, i) => b.data[Math.floor(i / 3)]!));
    const expected = matmul(ea, eb);
    const got = run(() => T(a).expand(2, 3, 4).matmul(T(b).expand(4, 3)));
    expect(got.shape).toEqual([2, 3, 3]);
    expectClose(got.data, expected.data, 1e-5, 1e-5, 'expanded');
  });

  it('1-D operands that are strided (expanded) views', () => {
    const m = randomNd([4, 3], 9);
    const sv = Math.fround(1.25);
    const filled = nd([4], [sv, sv, sv, sv]);
    const mv = run(() => T(m).t().matmul(tensor([sv]).expand(4)));
    expect(mv.shape).toEqual([3]);
    expectClose(mv.data, matmul(permute(m, [1, 0]), filled).data, 1e-5, 1e-5, 'mᵀ·expanded');
  });

  it('1-D · 1-D with an expanded (stride-0) operand', () => {
    const v = randomNd([4], 10);
    const sv = Math.fround(1.25);
    const dot = run(() => tensor([sv]).expand(4).matmul(T(v)));
    expect(dot.shape).toEqual([]);
    expectClose(dot.data, matmul(nd([4], [sv, sv, sv, sv]), v).data, 1e-5, 1e-5, 'expanded·v');
  });

  describe('zero-size dims', () => {
    it('k = 0 gives zeros of shape [m, n]', () => {
      expect(run(() => wg.ones([2, 0]).matmul(wg.ones([0, 3])))).toEqual({ shape: [2, 3], data: [0, 0, 0, 0, 0, 0] });
      expect(run(() => wg.ones([2, 2, 0]).matmul(wg.ones([0, 1])))).toEqual({ shape: [2, 2, 1], data: [0, 0, 0, 0] });
    });
    it('the dot product of two empty vectors is a 0-d zero', () => {
      expect(run(() => wg.ones([0]).matmul(wg.ones([0])))).toEqual({ shape: [], data: [0] });
    });
    it('m = 0, n = 0 and an empty batch give empty results', () => {
      expect(run(() => wg.ones([0, 4]).matmul(wg.ones([4, 3])))).toEqual({ shape: [0, 3], data: [] });
      expect(run(() => wg.ones([2, 4]).matmul(wg.ones([4, 0])))).toEqual({ shape: [2, 0], data: [] });
      expect(run(() => wg.ones([0, 2, 3]).matmul(wg.ones([3, 4])))).toEqual({ shape: [0, 2, 4], data: [] });
    });
    it('gradients with zero-size dims (k = 0 gives empty grads; m = 0 gives zero grad for b)', () => {
      gradcheck((a, b) => a!.matmul(b!), matmul, [nd([2, 0], []), nd([0, 3], [])]);
      gradcheck((a, b) => a!.matmul(b!), matmul, [nd([0, 4], []), randomNd([4, 3], 11)]);
    });
  });

  it('a larger product (65×130 · 130×33) crossing any blocking boundary', () => {
    // k = 130 float32 products: rounding grows ~sqrt(k)·eps·|terms|, so 1e-4 absolute.
    checkForward([65, 130], [130, 33], [65, 33], 12, 1e-4, 1e-4);
  });

  it('k larger than 256 (the kernel blocks k by 256), with a transposed right operand', () => {
    // k = 300: same reasoning as above for the tolerance.
    const a = randomNd([7, 300], 13);
    const b = randomNd([5, 300], 14);
    const expected = matmul(a, permute(b, [1, 0]));
    const got = run(() => T(a).matmul(T(b).t()));
    expect(got.shape).toEqual([7, 5]);
    expectClose(got.data, expected.data, 1e-4, 1e-4, 'k=300');
    checkForward([3, 2, 513], [513, 4], [3, 2, 4], 15, 2e-4, 1e-4);
  });
});

describe('matmul gradients', () => {
  const cases: [string, number[], number[]][] = [
    ['2-D · 2-D', [2, 3], [3, 4]],
    ['1-D · 1-D', [4], [4]],
    ['1-D · 2-D', [3], [3, 4]],
    ['2-D · 1-D', [2, 3], [3]],
    ['batched 3-D · 3-D', [2, 2, 3], [2, 3, 2]],
    ['batched broadcast [2,1,3,4] · [5,4,2] (gradients summed over broadcast batch)', [2, 1, 3, 4], [5, 4, 2]],
    ['3-D · 2-D', [2, 3, 4], [4, 2]],
    ['2-D · 3-D', [3, 4], [2, 4, 2]],
    ['1-D · 3-D', [3], [2, 3, 2]],
    ['3-D · 1-D', [2, 2, 3], [3]],
  ];
  it.each(cases)('%s', (_label, sa, sb) => {
    gradcheck((a, b) => a!.matmul(b!), matmul, [randomNd(sa, sa.length + 20), randomNd(sb, sb.length + 30)]);
  });

  it('transposed operands', () => {
    gradcheck((a, b) => a!.t().matmul(b!.t()), (a, b) => matmul(permute(a, [1, 0]), permute(b, [1, 0])), [randomNd([3, 2], 40), randomNd([4, 3], 41)]);
    gradcheck(
      (a, b) => a!.transpose(1, 2).matmul(b!),
      (a, b) => matmul(permute(a, [0, 2, 1]), b),
      [randomNd([2, 4, 3], 42), randomNd([4, 2], 43)],
    );
  });

  it('the same tensor on both sides (x · xᵀ)', () => {
    gradcheck((x) => x!.matmul(x!.t()), (x) => matmul(x, permute(x, [1, 0])), [randomNd([3, 4], 44)]);
  });

  it('only one operand requiring grad', () => {
    const b = randomNd([3, 2], 45);
    const a = randomNd([2, 3], 46);
    const g = tidy(() => {
      const ta = tensor(Array.from(a.data), { shape: a.shape, requiresGrad: true });
      const tb = T(b);
      ta.matmul(tb).sum().backward();
      return { ga: Array.from(ta.grad!.data()), gb: tb.grad };
    });
    // d/dA sum(A·B) = 1·Bᵀ: every row of the gradient holds the row sums of B.
    const rowSums = [0, 1, 2].map((i) => b.data[i * 2]! + b.data[i * 2 + 1]!);
    expectClose(g.ga, [...rowSums, ...rowSums], 1e-6, 1e-5, 'grad A');
    expect(g.gb).toBeNull();
  });
});

describe('matmul errors', () => {
  it('mismatched inner dims throw ShapeError naming both shapes', () => {
    for (const [sa, sb] of [[[2, 3], [4, 5]], [[3], [4]], [[3], [4, 2]], [[2, 3], [2]], [[2, 2, 3], [2, 4, 2]]]) {
      const err = thrown(() => wg.ones(sa!).matmul(wg.ones(sb!)));
      expect(err).toBeInstanceOf(ShapeError);
      expect(err.message).toContain('matmul');
      expect(err.message).toContain(`[${sa!.join(', ')}]`);
      expect(err.message).toContain(`[${sb!.join(', ')}]`);
    }
  });
  it('non-broadcastable batch dims throw ShapeError', () => {
    const err = thrown(() => wg.ones([2, 3, 4]).matmul(wg.ones([3, 4, 5])));
    expect(err).toBeInstanceOf(ShapeError);
    expect(err.message).toContain('matmul');
  });
  it('a 0-d operand throws ShapeError (either side)', () => {
    expect(thrown(() => wg.ones([2, 3]).matmul(tensor(2)))).toBeInstanceOf(ShapeError);
    expect(thrown(() => tensor(2).matmul(wg.ones([2, 3])))).toBeInstanceOf(ShapeError);
    expect(thrown(() => tensor(2).matmul(tensor(3)))).toBeInstanceOf(ShapeError);
  });
  it('int32 operands throw DTypeError', () => {
    expect(thrown(() => tensor(new Int32Array([1, 2])).matmul(wg.ones([2])))).toBeInstanceOf(DTypeError);
    expect(thrown(() => wg.ones([2, 2]).matmul(tensor(new Int32Array([1, 2]))))).toBeInstanceOf(DTypeError);
  });
});

// maximum, minimum, clamp/clip: forward vs float64 references with broadcasting, NaN
// propagation, gradients (ties split as in PyTorch 1.13), bounds handling.
import { describe, expect, it } from 'vitest';
import { ArgumentError, clamp, grad, maximum, minimum, simdVariant, tensor, tidy, type Tensor } from '../ts/node.js';
import { gradcheck } from './helpers/gradcheck.js';
import { map, randomNd, zip } from './helpers/reference.js';
import { run, thrown } from './helpers/snapshot.js';

describe('maximum and minimum', () => {
  it('broadcast and match the reference; gradients go to the larger (smaller) operand', () => {
    gradcheck((a, b) => a.maximum(b), (a, b) => zip(a, b, Math.max), [randomNd([3, 4], 51), randomNd([4], 52)]);
    gradcheck((a, b) => minimum(a, b), (a, b) => zip(a, b, Math.min), [randomNd([2, 1, 3], 53), randomNd([4, 1], 54)]);
  });
  it('accept numbers on either side', () => {
    expect(run(() => maximum(tensor([-1, 2]), 0)).data).toEqual([0, 2]);
    expect(run(() => minimum(1, tensor([-1, 2]))).data).toEqual([-1, 1]);
  });
  it('keep the first operand when the two compare equal, so signed zeros come out as in torch 1.13 (simd128 builds)', () => {
    // With relaxed-simd the compiler may turn the compare-and-select into relaxed max/min,
    // whose sign at a tie of zeros is the hardware's: there the zeros only have to be zeros.
    const exact = simdVariant() !== 'relaxed-simd';
    const a = tensor([-0, 0, -0, 0]);
    const b = tensor([0, -0, -0, 0]);
    const signs = (t: Tensor) => Array.from(t.data() as Float32Array, (v) => (Object.is(v, -0) ? '-0' : v === 0 && !exact ? '-0' : String(v)));
    const want = (w: string[]) => (exact ? w : w.map((v) => (v === '0' ? '-0' : v)));
    // torch.maximum / torch.minimum(a, b) for these: [-0., 0., -0., 0.] both.
    expect(tidy(() => signs(maximum(a, b)))).toEqual(want(['-0', '0', '-0', '0']));
    expect(tidy(() => signs(minimum(a, b)))).toEqual(want(['-0', '0', '-0', '0']));
    // torch.clamp(tensor([-0., 0.]), min=0.) and (min=-0.): [-0., 0.]; clamp(x, -0., 0.) keeps each.
    const z = tensor([-0, 0]);
    expect(tidy(() => signs(clamp(z, 0)))).toEqual(want(['-0', '0']));
    expect(tidy(() => signs(clamp(z, -0)))).toEqual(want(['-0', '0']));
    expect(tidy(() => signs(clamp(z, -0, 0)))).toEqual(want(['-0', '0']));
    a.dispose(); b.dispose(); z.dispose();
  });
  it('propagate NaN like torch.maximum', () => {
    const got = run(() => maximum(tensor([NaN, 1]), tensor([0, NaN]))).data;
    expect(got.every(Number.isNaN)).toBe(true);
    expect(run(() => minimum(tensor([NaN]), 0)).data.every(Number.isNaN)).toBe(true);
  });
  it('split the gradient on ties (PyTorch: a.grad [0.5, 1, 0], b.grad [0.5, 0, 1])', () => {
    const grads = tidy(() => {
      const a = tensor([1, 2, 3], { requiresGrad: true });
      const b = tensor([1, 0, 5], { requiresGrad: true });
      maximum(a, b).sum().backward();
      return [Array.from(a.grad!.data()), Array.from(b.grad!.data())];
    });
    expect(grads).toEqual([[0.5, 1, 0], [0.5, 0, 1]]);
  });
});

describe('clamp', () => {
  it('limits to [min, max], either bound optional, tensors or numbers', () => {
    expect(run(() => tensor([-2, 0.5, 3]).clamp(0, 1)).data).toEqual([0, 0.5, 1]);
    expect(run(() => tensor([-2, 0.5, 3]).clamp(0)).data).toEqual([0, 0.5, 3]);
    expect(run(() => tensor([-2, 0.5, 3]).clip(null, 1)).data).toEqual([-2, 0.5, 1]);
    expect(run(() => clamp(tensor([[-2, 5]]), tensor([-1, 0]), tensor([[1], [2]]))).data).toEqual([-1, 1, -1, 2]);
  });
  it('passes the gradient inside the range only (PyTorch: [0, 1, 0])', () => {
    const g = tidy(() => {
      const x = tensor([-2, 0.5, 3], { requiresGrad: true });
      x.clamp(0, 1).sum().backward();
      return Array.from(x.grad!.data());
    });
    expect(g).toEqual([0, 1, 0]);
    gradcheck((x) => x.clamp(-0.5, 0.7), (x) => map(x, (v) => Math.min(Math.max(v, -0.5), 0.7)), [randomNd([8], 55)]);
  });
  it('needs at least one bound', () => {
    expect(thrown(() => tensor([1]).clamp(null))).toBeInstanceOf(ArgumentError);
  });
});

describe('clamp with number bounds is one core op (PyTorch 1.13 at NaN, ±inf, min > max)', () => {
  const X = [-2, 0.5, 3, NaN, -Infinity, Infinity];
  const valueAndGrad = (f: (x: Tensor) => Tensor) =>
    tidy(() => {
      const x = tensor(X, { requiresGrad: true });
      const y = f(x);
      y.sum().backward();
      return { y: y.toArray(), g: x.grad!.toArray(), node: y.gradFn };
    });
  it('keeps NaN, gives max everywhere when min > max, NaN for a NaN bound; gradient 0 outside and at NaN', () => {
    expect(valueAndGrad((x) => x.clamp(0, 1))).toEqual({ y: [0, 0.5, 1, NaN, 0, 1], g: [0, 1, 0, 0, 0, 0], node: 'ClampBackward1' });
    expect(valueAndGrad((x) => x.clamp(null, 1))).toEqual({ y: [-2, 0.5, 1, NaN, -Infinity, 1], g: [1, 1, 0, 0, 1, 0], node: 'ClampBackward1' });
    expect(valueAndGrad((x) => x.clip(0))).toEqual({ y: [0, 0.5, 3, NaN, 0, Infinity], g: [0, 1, 1, 0, 0, 1], node: 'ClampBackward1' });
    expect(valueAndGrad((x) => x.clamp(2, 1))).toEqual({ y: [1, 1, 1, NaN, 1, 1], g: [0, 0, 0, 0, 0, 0], node: 'ClampBackward1' });
    const nan = { y: [NaN, NaN, NaN, NaN, NaN, NaN], g: [0, 0, 0, 0, 0, 0], node: 'ClampBackward1' };
    expect(valueAndGrad((x) => x.clamp(NaN, 1))).toEqual(nan);
    expect(valueAndGrad((x) => x.clamp(0, NaN))).toEqual(nan);
  });
  it('passes 1 at the bounds, and its second derivative goes through the recorded gradient', () => {
    const got = tidy(() => {
      const x = tensor([0, 0.5, 1, 2], { requiresGrad: true });
      const y = x.clamp(0, 1).mul(x).sum();
      const [g] = grad([y], [x], { createGraph: true });
      const [h] = grad([g!.sum()], [x]);
      return { g: g!.toArray(), h: h!.toArray() };
    });
    // y = clamp(x)·x: dy/dx = mask·x + clamp(x); d²y/dx² = 2·mask (PyTorch 1.13).
    expect(got).toEqual({ g: [0, 1, 2, 1], h: [2, 2, 2, 0] });
  });
});

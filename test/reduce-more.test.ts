// amax/amin, argmax/argmin, max/min with dim, var/std, logsumexp, norm: values vs float64
// references, gradients through gradcheck, ties, NaN, empty inputs.
import { describe, expect, it } from 'vitest';
import { ArgumentError, logsumexp, norm, ShapeError, std, tensor, tidy, variance, type Tensor } from '../ts/node.js';
import { gradcheck } from './helpers/gradcheck.js';
import { fold, map, randomNd, sum, zip } from './helpers/reference.js';
import { run, T, thrown } from './helpers/snapshot.js';

const varOf = (unbiased: boolean) => (vs: number[]) => {
  const m = vs.reduce((a, b) => a + b, 0) / vs.length;
  return vs.reduce((a, v) => a + (v - m) ** 2, 0) / (vs.length - (unbiased ? 1 : 0));
};

describe('amax and amin', () => {
  it('over all elements and over dims, with gradients', () => {
    gradcheck((x) => x.amax(), (x) => fold(x, undefined, false, (v) => Math.max(...v)), [randomNd([3, 4], 71)]);
    gradcheck((x) => x.amin(1, true), (x) => fold(x, [1], true, (v) => Math.min(...v)), [randomNd([3, 4], 72)]);
    gradcheck((x) => x.amax([0, 2]), (x) => fold(x, [0, 2], false, (v) => Math.max(...v)), [randomNd([2, 3, 2], 73)]);
  });
  it('share the gradient between ties (PyTorch: amax([1, 3, 3]) grad [0, 0.5, 0.5])', () => {
    const g = tidy(() => {
      const x = tensor([1, 3, 3], { requiresGrad: true });
      x.amax().backward();
      return Array.from(x.grad!.data());
    });
    expect(g).toEqual([0, 0.5, 0.5]);
  });
  it('propagate NaN and reject empty reductions', () => {
    expect(Number.isNaN(tidy(() => tensor([1, NaN, 3]).amax().item()))).toBe(true);
    expect(thrown(() => tensor([]).amax())).toBeInstanceOf(ShapeError);
  });
});

describe('argmax, argmin and max/min with a dim', () => {
  it('give int32 indices of the first extreme', () => {
    const x = tensor([[1, 5, 5], [7, 0, 7]]);
    expect(tidy(() => [x.argmax().item(), x.argmin().item(), x.argmax().dtype])).toEqual([3, 4, 'int32']);
    expect(run(() => x.argmax(1)).data).toEqual([1, 0]);
    expect(run(() => x.argmin(0, true))).toEqual({ shape: [1, 3], data: [0, 1, 0] });
    const { values, indices } = tidy(() => {
      const r = x.max(1);
      return { values: Array.from(r.values.data()), indices: Array.from(r.indices.data()) };
    });
    expect(values).toEqual([5, 7]);
    expect(indices).toEqual([1, 0]);
    expect(tidy(() => x.min().item())).toBe(0);
    x.dispose();
  });
  it('indices never require grad', () => {
    expect(tidy(() => tensor([1, 2], { requiresGrad: true }).argmax().requiresGrad)).toBe(false);
  });
});

describe('var, std, logsumexp, norm', () => {
  for (const unbiased of [true, false]) {
    it(`var and std (unbiased ${unbiased})`, () => {
      gradcheck((x) => x.var(undefined, unbiased), (x) => fold(x, undefined, false, varOf(unbiased)), [randomNd([3, 4], 74)]);
      gradcheck((x) => std(x, 1, unbiased, true), (x) => map(fold(x, [1], true, varOf(unbiased)), Math.sqrt), [randomNd([3, 4], 75)]);
      gradcheck((x) => variance(x, [0], unbiased), (x) => fold(x, [0], false, varOf(unbiased)), [randomNd([5, 2], 76)]);
    });
  }
  // Trailing reductions of contiguous inputs run row by row (blocks of 256 for
  // logsumexp's exp): long rows with a ragged end, −∞ entries, a shifted mean.
  it('var, std and logsumexp over long contiguous rows match float64', () => {
    const x = randomNd([3, 1000], 79, -20, 20);
    const data = Float32Array.from(x.data, (v, i) => (i % 13 === 5 ? -Infinity : v + 1000));
    const lseRow = (vs: number[]) => { const m = Math.max(...vs); return m + Math.log(vs.reduce((a, v) => a + Math.exp(v - m), 0)); };
    const rows = [0, 1, 2].map((r) => Array.from(data.subarray(r * 1000, (r + 1) * 1000)));
    const got = run(() => tensor(data, { shape: [3, 1000] }).logsumexp(1)).data;
    rows.forEach((row, r) => expect(Math.abs(got[r]! - lseRow(row)) / Math.abs(lseRow(row)), `logsumexp row ${r}`).toBeLessThan(2e-7));
    const finite = Float32Array.from(x.data, (v) => v + 1000);
    for (const [shape, dims] of [[[3, 1000], [1]], [[2, 3, 500], [1, 2]], [[3000], [0]]] as [number[], number[]][]) {
      const v = run(() => tensor(finite, { shape }).var(dims, true)).data;
      const sd = run(() => tensor(finite, { shape }).std(dims, true)).data;
      const n = dims.reduce((a, d) => a * shape[d]!, 1);
      for (let r = 0; r < v.length; r++) {
        const want = varOf(true)(Array.from(finite.subarray(r * n, (r + 1) * n)));
        expect(Math.abs(v[r]! - want) / want, `var ${shape} row ${r}`).toBeLessThan(1e-6);
        expect(Math.abs(sd[r]! - Math.sqrt(want)) / Math.sqrt(want), `std ${shape} row ${r}`).toBeLessThan(1e-6);
      }
    }
  });
  it('logsumexp is stable and differentiable', () => {
    const lse = (vs: number[]) => Math.log(vs.reduce((a, v) => a + Math.exp(v), 0));
    gradcheck((x) => logsumexp(x, 1), (x) => fold(x, [1], false, lse), [randomNd([3, 4], 77)]);
    gradcheck((x) => x.logsumexp([0, 1], true), (x) => fold(x, undefined, true, lse), [randomNd([2, 3], 78)]);
    expect(run(() => tensor([[1000, 1000], [-Infinity, -Infinity]]).logsumexp(1)).data).toEqual([Math.fround(1000 + Math.log(2)), -Infinity]);
  });
  it('norm with p = 1, 2, Infinity', () => {
    const x = randomNd([3, 4], 79);
    gradcheck((t) => t.norm(), (t) => map(sum(zip(t, t, (a, b) => a * b)), Math.sqrt), [x]);
    gradcheck((t) => norm(t, 1, 1), (t) => sum(map(t, Math.abs), [1]), [x]);
    gradcheck((t) => t.norm(Infinity, 0, true), (t) => fold(map(t, Math.abs), [0], true, (v) => Math.max(...v)), [x]);
    expect(run(() => T(x).norm()).shape).toEqual([]);
  });
});

describe('var, std and logsumexp are single core ops (PyTorch 1.13 edges)', () => {
  const valueAndGrad = (f: (x: Tensor) => Tensor, v: number[] | number[][]) =>
    tidy(() => {
      const x = tensor(v, { requiresGrad: true });
      const y = f(x);
      y.sum().backward();
      return { y: y.toArray(), g: x.grad!.toArray(), node: y.gradFn };
    });
  it('logsumexp at ±inf and NaN: values and gradients as torch.logsumexp', () => {
    const lse = (x: Tensor) => x.logsumexp(0);
    const rows: [number[], number, number[]][] = [
      [[1, Infinity], Infinity, [0, NaN]],
      [[Infinity, Infinity], Infinity, [NaN, NaN]],
      [[-Infinity, -Infinity], -Infinity, [NaN, NaN]],
      [[NaN, 1], NaN, [NaN, NaN]],
      [[Infinity, -Infinity], Infinity, [NaN, 0]],
      [[-Infinity, 1], 1, [0, 1]],
      [[1e38, 3e38], 3.0000000054977558e38, [0, 1]],
      [[1000, 1000], 1000.6931762695312, [0.4999854564666748, 0.4999854564666748]],
    ];
    for (const [v, y, g] of rows) expect(valueAndGrad(lse, v), String(v)).toEqual({ y, g, node: 'LogsumexpBackward0' });
    // Without dim: over all elements.
    expect(tidy(() => tensor([[1, 2], [3, 4]]).logsumexp().item())).toBe(Math.fround(4.440189698561196));
  });
  it('var/std take PyTorch\'s correction as a number', () => {
    // torch.var(x, 1, correction=2)
    expect(valueAndGrad((x) => x.var(1, 2), [[1, 2, 4, 7], [0.5, -1, 3, 2]])).toEqual({
      y: [10.5, 4.59375], g: [[-2.5, -1.5, 0.5, 3.5], [-0.625, -2.125, 1.875, 0.875]], node: 'VarBackward0',
    });
    expect(valueAndGrad((x) => x.std(undefined, 0), [3, 3]).node).toBe('StdBackward0');
    // n − correction ≤ 0 divides by 0 (torch: inf, or NaN for 0/0); a negative correction is allowed.
    expect(tidy(() => [tensor([1, 2, 3]).var(0, 4).item(), tensor([2, 2]).var(0, 2).item(), tensor([1, 2]).var(0, -1).item()]))
      .toEqual([Infinity, NaN, Math.fround(0.5 / 3)]);
    for (const bad of [NaN, Infinity, '1' as unknown as number]) {
      expect(thrown(() => tensor([1, 2]).var(0, bad))).toBeInstanceOf(ArgumentError);
    }
    expect(thrown(() => tensor([1, 2]).std(2))).toBeInstanceOf(ArgumentError);
  });
});

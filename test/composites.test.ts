// Ops composed in TypeScript from differentiable primitives: bmm, dot, outer, repeat,
// tile, tril, triu, unflatten, broadcastTo, layerNorm, scaledDotProductAttention,
// dropout, oneHot — values vs float64 references, gradients through gradcheck.
import { describe, expect, it } from 'vitest';
import {
  bmm, dot, dropout, layerNorm, manualSeed, oneHot, outer, scaledDotProductAttention, ShapeError, tensor, tidy,
} from '../ts/node.js';
import { expectClose, gradcheck } from './helpers/gradcheck.js';
import { matmul, nd, numel, permute, randomNd, unravel, type Nd } from './helpers/reference.js';
import { run, thrown } from './helpers/snapshot.js';

/** Reference for `repeat`: out[i] = x[i mod shape]. */
function refRepeat(x: Nd, reps: number[]): Nd {
  const shape = [...Array(reps.length - x.shape.length).fill(1), ...x.shape] as number[];
  const out = shape.map((d, i) => d * reps[i]!);
  const data = Array.from({ length: numel(out) }, (_, i) => {
    const m = unravel(i, out).map((v, k) => v % shape[k]!);
    return x.data[m.reduce((o, v, k) => o * shape[k]! + v, 0)]!;
  });
  return nd(out, data);
}

describe('products', () => {
  it('bmm, dot and outer', () => {
    gradcheck((a, b) => bmm(a, b), (a, b) => matmul(a, b), [randomNd([2, 3, 4], 91), randomNd([2, 4, 2], 92)]);
    gradcheck((a, b) => dot(a, b), (a, b) => matmul(a, b), [randomNd([5], 93), randomNd([5], 94)]);
    gradcheck((a, b) => outer(a, b), (a, b) => matmul(nd([3, 1], a.data), nd([1, 4], b.data)), [randomNd([3], 95), randomNd([4], 96)]);
    expect(thrown(() => bmm(tensor([[1]]), tensor([[1]])))).toBeInstanceOf(ShapeError);
    expect(thrown(() => dot(tensor([[1]]), tensor([1])))).toBeInstanceOf(ShapeError);
  });
});

describe('shape composites', () => {
  it('repeat and tile', () => {
    gradcheck((x) => x.repeat(2, 1, 3), (x) => refRepeat(x, [2, 1, 3]), [randomNd([2, 2], 97)]);
    gradcheck((x) => x.tile([2]), (x) => refRepeat(x, [1, 2]), [randomNd([2, 3], 98)]);
    expect(thrown(() => tensor([[1]]).repeat(2))).toBeInstanceOf(Error);
  });
  it('tril and triu (with diagonals)', () => {
    const tri = (x: Nd, k: number, lower: boolean) =>
      nd(x.shape, Array.from(x.data, (v, i) => {
        const [r, c] = unravel(i, x.shape).slice(-2) as [number, number];
        return (lower ? c - r <= k : c - r >= k) ? v : 0;
      }));
    gradcheck((x) => x.tril(), (x) => tri(x, 0, true), [randomNd([3, 4], 99)]);
    gradcheck((x) => x.triu(1), (x) => tri(x, 1, false), [randomNd([2, 3, 3], 100)]);
    gradcheck((x) => x.tril(-1), (x) => tri(x, -1, true), [randomNd([4, 3], 101)]);
  });
  it('unflatten and broadcastTo', () => {
    expect(run(() => tensor([1, 2, 3, 4, 5, 6]).unflatten(0, [2, -1])).shape).toEqual([2, 3]);
    expect(run(() => tensor([1, 2]).broadcastTo([3, 2]))).toEqual({ shape: [3, 2], data: [1, 2, 1, 2, 1, 2] });
  });
});

describe('layerNorm', () => {
  const ref = (x: Nd, w: Nd, b: Nd, eps = 1e-5): Nd => {
    const n = x.shape[x.shape.length - 1]!;
    const out = Array.from(x.data);
    for (let r = 0; r < x.data.length / n; r++) {
      const row = out.slice(r * n, (r + 1) * n);
      const m = row.reduce((a, v) => a + v, 0) / n;
      const v = row.reduce((a, u) => a + (u - m) ** 2, 0) / n;
      row.forEach((u, i) => (out[r * n + i] = ((u - m) / Math.sqrt(v + eps)) * w.data[i]! + b.data[i]!));
    }
    return nd(x.shape, out);
  };
  it('matches the reference and PyTorch, with gradients for input, weight and bias', () => {
    gradcheck((x, w, b) => layerNorm(x, [4], w, b), (x, w, b) => ref(x, w, b), [randomNd([3, 4], 102), randomNd([4], 103), randomNd([4], 104)], { atol: 2e-4 });
    // F.layer_norm(tensor([[1,2,4],[0,-1,3]]), [3], tensor([1,.5,2]), tensor([0,1,-1]))
    const golden = [-1.06904137134552, 0.8663698434829712, 1.6726036071777344, -0.3922315537929535, 0.5097105503082275, 1.7456212043762207];
    const got = run(() => layerNorm(tensor([[1, 2, 4], [0, -1, 3]]), [3], tensor([1, 0.5, 2]), tensor([0, 1, -1])));
    expectClose(got.data, golden, 1e-5, 1e-5, 'layerNorm');
    expect(thrown(() => layerNorm(tensor([[1, 2]]), [3]))).toBeInstanceOf(ShapeError);
  });
});

describe('scaledDotProductAttention', () => {
  const ref = (q: Nd, k: Nd, v: Nd, causal: boolean): Nd => {
    const d = q.shape[q.shape.length - 1]!;
    const s = matmul(q, permute(k, [1, 0]));
    const [L, S] = s.shape as [number, number];
    const p = Array.from(s.data, (x, i) => (causal && i % S > Math.floor(i / S) ? -Infinity : x / Math.sqrt(d)));
    for (let r = 0; r < L; r++) {
      const row = p.slice(r * S, (r + 1) * S);
      const m = Math.max(...row);
      const z = row.reduce((a, x) => a + Math.exp(x - m), 0);
      row.forEach((x, j) => (p[r * S + j] = Math.exp(x - m) / z));
    }
    return matmul(nd([L, S], p), v);
  };
  for (const causal of [false, true]) {
    it(`matches the reference (isCausal ${causal}), with gradients for q, k and v`, () => {
      gradcheck((q, k, v) => scaledDotProductAttention(q, k, v, { isCausal: causal }), (q, k, v) => ref(q, k, v, causal), [randomNd([3, 2], 105), randomNd([3, 2], 106), randomNd([3, 2], 107)]);
    });
  }
});

describe('dropout', () => {
  it('keeps about 1 − p of the elements, scaled by 1/(1 − p), reproducibly', () => {
    const stats = (seed: number) =>
      tidy(() => {
        manualSeed(seed);
        const y = Array.from(dropout(tensor(new Float32Array(10000).fill(1)), 0.3).data());
        return { kept: y.filter((v) => v !== 0).length, values: new Set(y.map((v) => v.toFixed(5))) };
      });
    const a = stats(5);
    expect(Math.abs(a.kept - 7000)).toBeLessThan(300);
    expect([...a.values].sort()).toEqual(['0.00000', (1 / 0.7).toFixed(5)]);
    expect(stats(5).kept).toBe(a.kept);
  });
  it('is the identity when not training, and validates p', () => {
    expect(run(() => dropout(tensor([1, 2]), 0.5, false)).data).toEqual([1, 2]);
    expect(thrown(() => dropout(tensor([1]), 1.5))).toBeInstanceOf(Error);
  });
});

describe('oneHot', () => {
  it('builds float rows from int32 indices', () => {
    expect(run(() => oneHot(tensor([2, 0], { dtype: 'int32' }), 3))).toEqual({ shape: [2, 3], data: [0, 0, 1, 1, 0, 0] });
    expect(run(() => oneHot(tensor([[1]], { dtype: 'int32' }))).shape).toEqual([1, 1, 2]);
    expect(thrown(() => oneHot(tensor([3], { dtype: 'int32' }), 2))).toBeInstanceOf(Error);
  });
});

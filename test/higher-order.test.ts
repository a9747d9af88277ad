// Second derivatives: createGraph in backward() and grad(), checked against nested finite
// differences of float64 references (gradgradcheck), plus the named cases.
import { describe, expect, it } from 'vitest';
import {
  AutogradError, binaryCrossEntropy, cat, where, binaryCrossEntropyWithLogits, conv2d, crossEntropy, grad, l1Loss, layerNorm,
  linear, maxPool2d, mseLoss, nllLoss, smoothL1Loss, tensor, tidy, type Tensor,
} from '../ts/node.js';
import { gradgradcheck } from './helpers/gradcheck.js';
import { map, matmul, nd, randomNd, sum, zip, type Nd } from './helpers/reference.js';

const x6 = randomNd([2, 3], 11, -1.5, 1.5);
const positive = randomNd([2, 3], 12, 0.3, 2);

/** Row-wise log-softmax over the last dim of a 2-D Nd. */
function logSoftmaxRows(x: Nd): Nd {
  const [n, c] = x.shape as [number, number];
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < n; i++) {
    const row = x.data.subarray(i * c, (i + 1) * c);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
    for (let j = 0; j < c; j++) out[i * c + j] = row[j]! - lse;
  }
  return nd(x.shape, out);
}
const scalar = (v: number): Nd => nd([], [v]);
const meanAll = (x: Nd): Nd => scalar(x.data.reduce((a, v) => a + v, 0) / x.data.length);

describe('second derivatives named by the issue', () => {
  it('d²/dx² x³ = 6x, through backward({ createGraph }) and through grad()', () => {
    tidy(() => {
      const x = tensor([0.5, -2, 3], { requiresGrad: true });
      x.pow(3).sum().backward(undefined, { createGraph: true });
      const g = x.grad!;
      expect(g.requiresGrad).toBe(true);
      expect(Array.from(g.data())).toEqual([0.75, 12, 27]);
      const [d2] = grad(g.sum(), x);
      expect(Array.from(d2!.data())).toEqual([3, -12, 18]);
      x.grad = null;
    });
  });

  it("d²/dx² tanh x = −2 tanh x (1 − tanh² x), and the third derivative", () => {
    tidy(() => {
      const xs = [-1.2, -0.3, 0, 0.7, 2];
      const x = tensor(xs, { requiresGrad: true });
      const [d1] = grad(x.tanh().sum(), x, { createGraph: true });
      const [d2] = grad(d1!.sum(), x, { createGraph: true });
      const [d3] = grad(d2!.sum(), x);
      const t = xs.map(Math.tanh);
      const close = (a: Float32Array, e: number[]) => e.forEach((v, i) => expect(a[i]).toBeCloseTo(v, 5));
      close(d2!.data() as Float32Array, t.map((v) => -2 * v * (1 - v * v)));
      close(d3!.data() as Float32Array, t.map((v) => (1 - v * v) * (6 * v * v - 2)));
    });
  });

  it('Hessian-vector product of an MLP loss matches finite differences of its gradient', () => {
    // loss(W1, b1, W2, b2) = crossEntropy(linear(tanh(linear(x, W1, b1)), W2, b2), y)
    const x = randomNd([4, 3], 1);
    const labels = [0, 2, 1, 2];
    const params = [randomNd([5, 3], 2, -0.8, 0.8), randomNd([5], 3, -0.5, 0.5), randomNd([3, 5], 4, -0.8, 0.8), randomNd([3], 5, -0.5, 0.5)];
    const ref = (w1: Nd, b1: Nd, w2: Nd, b2: Nd): Nd => {
      const affine = (a: Nd, w: Nd, b: Nd) => {
        const wt = nd([w.shape[1]!, w.shape[0]!], Array.from({ length: w.data.length }, (_, k) => {
          const [i, j] = [Math.floor(k / w.shape[0]!), k % w.shape[0]!];
          return w.data[j * w.shape[1]! + i]!;
        }));
        const p = matmul(a, wt);
        return nd(p.shape, p.data.map((v, k) => v + b.data[k % b.data.length]!));
      };
      const logits = affine(map(affine(x, w1, b1), Math.tanh), w2, b2);
      const lp = logSoftmaxRows(logits);
      return scalar(-labels.reduce((a, l, i) => a + lp.data[i * 3 + l]!, 0) / labels.length);
    };
    gradgradcheck(
      (w1, b1, w2, b2) => {
        const xt = tensor(Array.from(x.data), { shape: x.shape });
        const y = tensor(labels, { dtype: 'int32' });
        return crossEntropy(linear(linear(xt, w1!, b1).tanh(), w2!, b2), y);
      },
      ref,
      params,
    );
  });
});

describe('deep graphs', () => {
  it('a second derivative through a 5 000-op chain (no recursion over the graph)', () => {
    tidy(() => {
      const x = tensor([0.5], { requiresGrad: true });
      let y = x;
      for (let i = 0; i < 5000; i++) y = y.mul(1.0001).sin().add(y.mul(0.5)).mul(0.6);
      const [g] = grad(y.sum(), x, { createGraph: true });
      const [h] = grad(g!.sum(), x);
      expect(Number.isFinite(Number(g!.item()))).toBe(true);
      expect(Number.isFinite(Number(h!.item()))).toBe(true);
    });
  });
});

describe('gradgradcheck: elementwise ops', () => {
  const unary: [string, (t: Tensor) => Tensor, (v: number) => number, Nd?][] = [
    ['exp', (t) => t.exp(), Math.exp],
    ['log', (t) => t.log(), Math.log, positive],
    ['log1p', (t) => t.log1p(), Math.log1p, positive],
    ['expm1', (t) => t.expm1(), Math.expm1],
    ['sqrt', (t) => t.sqrt(), Math.sqrt, positive],
    ['rsqrt', (t) => t.rsqrt(), (v) => 1 / Math.sqrt(v), positive],
    ['reciprocal', (t) => t.reciprocal(), (v) => 1 / v, positive],
    ['square', (t) => t.square(), (v) => v * v],
    ['sin', (t) => t.sin(), Math.sin],
    ['cos', (t) => t.cos(), Math.cos],
    ['tan', (t) => t.tan(), Math.tan],
    ['tanh', (t) => t.tanh(), Math.tanh],
    ['sigmoid', (t) => t.sigmoid(), (v) => 1 / (1 + Math.exp(-v))],
    ['silu', (t) => t.silu(), (v) => v / (1 + Math.exp(-v))],
    ['softplus', (t) => t.softplus(), (v) => Math.log1p(Math.exp(v))],
    ['elu', (t) => t.elu(), (v) => (v > 0 ? v : Math.expm1(v))],
    ['gelu (tanh)', (t) => t.gelu({ approximate: 'tanh' }), (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)))],
    ['abs (zero second derivative)', (t) => t.abs().mul(t), (v) => Math.abs(v) * v],
    ['relu', (t) => t.relu().mul(t), (v) => Math.max(v, 0) * v],
    ['leakyRelu', (t) => t.leakyRelu(0.1).mul(t), (v) => (v > 0 ? v : 0.1 * v) * v],
    ['pow (scalar exponent)', (t) => t.pow(3), (v) => v ** 3],
    ['pow (fractional exponent)', (t) => t.pow(2.5), (v) => v ** 2.5, positive],
    ['clamp', (t) => t.clamp(-0.5, 0.8).mul(t), (v) => Math.min(Math.max(v, -0.5), 0.8) * v],
  ];
  for (const [name, fn, f, input] of unary) {
    it(name, () => gradgradcheck(fn, (x) => map(x, f), [input ?? x6]));
  }

  it('gelu (exact)', () => {
    // Φ via a high-accuracy erf (Abramowitz–Stegun 7.1.26 is too coarse for second differences).
    const erf = (v: number) => {
      let term = v, total = v;
      for (let n = 1; n < 60; n++) {
        term *= (-v * v) / n;
        total += term / (2 * n + 1);
      }
      return (2 / Math.sqrt(Math.PI)) * total;
    };
    gradgradcheck((t) => t.gelu(), (x) => map(x, (v) => 0.5 * v * (1 + erf(v / Math.SQRT2))), [x6]);
  });

  const binary: [string, (a: Tensor, b: Tensor) => Tensor, (x: number, y: number) => number, Nd, Nd][] = [
    ['add', (a, b) => a.add(b).mul(a), (x, y) => (x + y) * x, x6, randomNd([3], 13)],
    ['sub', (a, b) => a.sub(b).square(), (x, y) => (x - y) ** 2, x6, randomNd([2, 1], 14)],
    ['mul', (a, b) => a.mul(b), (x, y) => x * y, x6, randomNd([2, 3], 15)],
    ['div', (a, b) => a.div(b), (x, y) => x / y, x6, positive],
    ['pow (tensor exponent)', (a, b) => a.pow(b), (x, y) => x ** y, positive, randomNd([2, 3], 16, -1.5, 1.5)],
    ['maximum', (a, b) => a.maximum(b).mul(a), (x, y) => Math.max(x, y) * x, x6, randomNd([2, 3], 17)],
    ['minimum', (a, b) => a.minimum(b).mul(b), (x, y) => Math.min(x, y) * y, x6, randomNd([2, 3], 18)],
  ];
  for (const [name, fn, f, a, b] of binary) {
    it(name, () => gradgradcheck(fn, (x, y) => zip(x, y, f), [a, b]));
  }

  it('where', () => {
    const cond = [1, 0, 1, 0, 0, 1];
    gradgradcheck(
      (a, b) => where(tidy(() => tensor(cond, { shape: [2, 3], dtype: 'int32' }).ne(0)), a.square(), b.mul(a)),
      (a, b) => nd(a.shape, a.data.map((v, i) => (cond[i] ? v * v : b.data[i]! * v))),
      [x6, randomNd([2, 3], 19)],
    );
  });
});

describe('gradgradcheck: matmul, reductions, movement', () => {
  it('matmul (both operands)', () => gradgradcheck((a, b) => a.matmul(b).square(), (a, b) => map(matmul(a, b), (v) => v * v), [x6, randomNd([3, 2], 20)]));
  it('batched matmul with broadcasting', () =>
    gradgradcheck((a, b) => a.matmul(b).tanh(), (a, b) => {
      const out: number[] = [];
      for (let k = 0; k < 2; k++) out.push(...matmul(nd([2, 3], a.data.subarray(k * 6, k * 6 + 6)), b).data);
      return map(nd([2, 2, 2], out), Math.tanh);
    }, [randomNd([2, 2, 3], 21), randomNd([3, 2], 22)]));
  it('sum over a dim, squared', () => gradgradcheck((t) => t.sum(1).square(), (x) => map(sum(x, [1]), (v) => v * v), [x6]));
  it('mean, cubed', () => gradgradcheck((t) => t.mean().pow(3), (x) => map(sum(x), (v) => (v / 6) ** 3), [x6]));
  it('amax', () => gradgradcheck((t) => t.amax(1).square(), (x) => nd([2], [0, 1].map((i) => Math.max(...x.data.subarray(i * 3, i * 3 + 3)) ** 2)), [x6]));
  it('var (unbiased)', () => gradgradcheck((t) => t.var(1), (x) => nd([2], [0, 1].map((i) => {
    const r = Array.from(x.data.subarray(i * 3, i * 3 + 3));
    const m = r.reduce((a, v) => a + v, 0) / 3;
    return r.reduce((a, v) => a + (v - m) ** 2, 0) / 2;
  })), [x6]));
  it('logsumexp', () => gradgradcheck((t) => t.logsumexp(1), (x) => nd([2], [0, 1].map((i) => Math.log(x.data.subarray(i * 3, i * 3 + 3).reduce((a, v) => a + Math.exp(v), 0)))), [x6]));
  it('norm (p = 2)', () => gradgradcheck((t) => t.norm(2), (x) => scalar(Math.hypot(...x.data)), [x6]));
  it('softmax', () => gradgradcheck((t) => t.softmax(1), (x) => map(logSoftmaxRows(x), Math.exp), [x6]));
  it('logSoftmax', () => gradgradcheck((t) => t.logSoftmax(1).square(), (x) => map(logSoftmaxRows(x), (v) => v * v), [x6]));
  it('slice, permute, reshape, expand', () =>
    gradgradcheck((t) => t.slice(1, 0, 3, 2).t().reshape(4).square().expand(2, 4), (x) => {
      const picked = [x.data[0]!, x.data[3]!, x.data[2]!, x.data[5]!].map((v) => v * v);
      return nd([2, 4], [...picked, ...picked]);
    }, [x6]));
  it('indexSelect', () =>
    gradgradcheck((t) => tidy(() => t.indexSelect(1, tensor([2, 0, 2], { dtype: 'int32' }))).square(), (x) =>
      nd([2, 3], [0, 1].flatMap((i) => [2, 0, 2].map((j) => x.data[i * 3 + j]! ** 2))), [x6]));
  it('cat and layerNorm', () =>
    gradgradcheck((a, b) => layerNorm(cat([a, b], 1), [5]), (a, b) => {
      const rows = [0, 1].map((i) => [...a.data.subarray(i * 3, i * 3 + 3), ...b.data.subarray(i * 2, i * 2 + 2)]);
      return nd([2, 5], rows.flatMap((r) => {
        const m = r.reduce((s, v) => s + v, 0) / 5;
        const v = r.reduce((s, u) => s + (u - m) ** 2, 0) / 5;
        return r.map((u) => (u - m) / Math.sqrt(v + 1e-5));
      }));
    }, [x6, randomNd([2, 2], 23)]));
});

describe('gradgradcheck: losses', () => {
  const target = randomNd([2, 3], 30);
  const probs = randomNd([2, 3], 31, 0.05, 0.95);
  const constant = (t: Nd) => tidy(() => tensor(Array.from(t.data), { shape: t.shape }));
  it('mseLoss', () => gradgradcheck((x) => mseLoss(x.tanh(), constant(target)), (x) => meanAll(zip(map(x, Math.tanh), target, (a, b) => (a - b) ** 2)), [x6]));
  it('l1Loss', () => gradgradcheck((x) => l1Loss(x.square(), constant(target)), (x) => meanAll(zip(map(x, (v) => v * v), target, (a, b) => Math.abs(a - b))), [x6]));
  it('smoothL1Loss', () =>
    gradgradcheck((x) => smoothL1Loss(x, constant(target), { beta: 2 }), (x) => meanAll(zip(x, target, (a, b) => {
      const d = Math.abs(a - b);
      return d < 2 ? (0.5 * d * d) / 2 : d - 1;
    })), [x6]));
  it('binaryCrossEntropy', () =>
    gradgradcheck((x) => binaryCrossEntropy(x.sigmoid(), constant(probs)), (x) => meanAll(zip(map(x, (v) => 1 / (1 + Math.exp(-v))), probs, (p, t) => -(t * Math.log(p) + (1 - t) * Math.log(1 - p)))), [x6]));
  it('binaryCrossEntropyWithLogits', () =>
    gradgradcheck((x) => binaryCrossEntropyWithLogits(x, constant(probs)), (x) => meanAll(zip(x, probs, (v, t) => Math.log1p(Math.exp(v)) - t * v)), [x6]));
  const labels = [2, 0];
  it('crossEntropy with class indices and label smoothing', () =>
    gradgradcheck((x) => crossEntropy(x, tidy(() => tensor(labels, { dtype: 'int32' })), { labelSmoothing: 0.2 }), (x) => {
      const lp = logSoftmaxRows(x);
      let total = 0;
      labels.forEach((l, i) => {
        for (let c = 0; c < 3; c++) total -= ((c === l ? 0.8 : 0) + 0.2 / 3) * lp.data[i * 3 + c]!;
      });
      return scalar(total / 2);
    }, [x6]));
  it('crossEntropy with probabilities, reduction none', () =>
    gradgradcheck((x) => crossEntropy(x, constant(probs), { reduction: 'none' }), (x) => {
      const lp = logSoftmaxRows(x);
      return nd([2], [0, 1].map((i) => -[0, 1, 2].reduce((a, c) => a + probs.data[i * 3 + c]! * lp.data[i * 3 + c]!, 0)));
    }, [x6]));
  it('nllLoss on logSoftmax', () =>
    gradgradcheck((x) => nllLoss(x.logSoftmax(1), tidy(() => tensor(labels, { dtype: 'int32' }))), (x) => {
      const lp = logSoftmaxRows(x);
      return scalar(-(lp.data[2]! + lp.data[3]!) / 2);
    }, [x6]));
});

describe('ops without a double backward say so', () => {
  // (Convolutions differentiate to any order: test/conv-transpose.test.ts.)
  it('maxPool2d: a clear AutogradError, and the module keeps working', () => {
    tidy(() => {
      const x = tensor(Array.from({ length: 16 }, (_, i) => Math.sin(i)), { shape: [1, 1, 4, 4], requiresGrad: true });
      const w = tensor([0.5, -1, 0.25, 2], { shape: [1, 1, 2, 2], requiresGrad: true });
      for (const y of [maxPool2d(x, 2).square().sum()]) {
        const [g] = grad(y, x, { createGraph: true });
        expect(() => grad(g!.sum(), x)).toThrow(AutogradError);
        expect(() => grad(g!.sum(), x)).toThrow(/not differentiable|double backward/);
      }
      // First order with createGraph still works, and so does everything afterwards.
      const [g1] = grad(conv2d(x, w).sum(), w);
      expect(Array.from(g1!.data()).every(Number.isFinite)).toBe(true);
    });
  });
});

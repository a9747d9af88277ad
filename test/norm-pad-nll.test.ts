// batchNorm (with running statistics), groupNorm, pad and nllLoss: PyTorch 1.13 golden
// values, float64 references and gradients.
import { describe, expect, it } from 'vitest';
import { ArgumentError, batchNorm, groupNorm, nllLoss, pad, ShapeError, tensor, tidy, zeros, ones } from '../ts/node.js';
import { expectClose, gradcheck } from './helpers/gradcheck.js';
import { nd, numel, randomNd, unravel, type Nd } from './helpers/reference.js';
import { run, thrown } from './helpers/snapshot.js';

describe('batchNorm', () => {
  it('training: PyTorch values and running statistics', () => {
    // F.batch_norm(x, rm=zeros(2), rv=ones(2), w=[1,2], b=[0,1], training=True, momentum=0.1)
    const got = tidy(() => {
      const rm = zeros([2]);
      const rv = ones([2]);
      const x = tensor([1, 2, 3, 5, 0, -1, 2, 4], { shape: [2, 2, 2] });
      const y = batchNorm(x, rm, rv, { weight: tensor([1, 2]), bias: tensor([0, 1]), training: true });
      return { y: Array.from(y.data()), rm: Array.from(rm.data()), rv: Array.from(rv.data()) };
    });
    expectClose(got.y, [0.4472118, 1.3416355, 0.1055763, 3.6832707, -0.4472118, -1.3416355, -1.6832709, 1.8944235], 1e-5, 1e-5, 'y');
    expectClose(got.rm, [0.05, 0.35], 1e-6, 1e-6, 'runningMean');
    expectClose(got.rv, [1.0666666, 1.0666666], 1e-6, 1e-6, 'runningVar');
  });
  it('evaluation uses the running statistics; gradients in training mode', () => {
    expect(run(() => batchNorm(tensor([[3], [5]]), tensor([1]), tensor([4]), { eps: 0 })).data).toEqual([1, 2]);
    const ref = (x: Nd): Nd => {
      const [n, c] = x.shape as [number, number];
      const out = Array.from(x.data);
      for (let j = 0; j < c; j++) {
        const col = Array.from({ length: n }, (_, i) => x.data[i * c + j]!);
        const m = col.reduce((a, b) => a + b, 0) / n;
        const v = col.reduce((a, b) => a + (b - m) ** 2, 0) / n;
        col.forEach((u, i) => (out[i * c + j] = (u - m) / Math.sqrt(v + 1e-5)));
      }
      return nd(x.shape, out);
    };
    gradcheck((x) => batchNorm(x, null, null, { training: true }), ref, [randomNd([5, 3], 131)], { atol: 3e-4 });
  });
});

describe('groupNorm', () => {
  it('matches PyTorch (F.group_norm(arange(12).reshape(1,4,3), 2, w, b))', () => {
    const got = run(() => groupNorm(tensor(Array.from({ length: 12 }, (_, i) => i), { shape: [1, 4, 3] }), 2, tensor([1, 2, 1, 0.5]), tensor([0, 0, 1, 1])));
    const golden = [-1.4638476, -0.8783086, -0.2927696, 0.5855390, 1.7566171, 2.9276953, -0.4638475, 0.1216915, 0.7072306, 1.1463848, 1.4391544, 1.7319238];
    expectClose(got.data, golden, 1e-5, 1e-5, 'groupNorm');
    expect(thrown(() => groupNorm(zeros([1, 3, 2]), 2))).toBeInstanceOf(ShapeError);
  });
});

describe('pad', () => {
  const refPad = (x: Nd, p: number[], value: number): Nd => {
    const shape = x.shape.map((d, k) => {
      const i = x.shape.length - 1 - k;
      return i < p.length / 2 ? d + p[2 * i]! + p[2 * i + 1]! : d;
    });
    const data = Array.from({ length: numel(shape) }, (_, j) => {
      const m = unravel(j, shape).map((v, k) => {
        const i = x.shape.length - 1 - k;
        return i < p.length / 2 ? v - p[2 * i]! : v;
      });
      if (m.some((v, k) => v < 0 || v >= x.shape[k]!)) return value;
      return x.data[m.reduce((o, v, k) => o * x.shape[k]! + v, 0)]!;
    });
    return nd(shape, data);
  };
  it('pads the last dims with a constant, differentiably', () => {
    gradcheck((x) => pad(x, [1, 2]), (x) => refPad(x, [1, 2], 0), [randomNd([2, 3], 132)]);
    gradcheck((x) => pad(x, [0, 1, 2, 0], -1), (x) => refPad(x, [0, 1, 2, 0], -1), [randomNd([2, 2, 2], 133)]);
    expect(thrown(() => pad(tensor([1]), [1]))).toBeInstanceOf(ArgumentError);
  });
});

describe('nllLoss', () => {
  it('matches PyTorch with ignoreIndex, and its gradient picks the target entries', () => {
    // F.nll_loss(tensor([[-1,-2,-.5],[-.3,-3,-1]]), tensor([2,-100])) == 0.5
    expect(tidy(() => nllLoss(tensor([[-1, -2, -0.5], [-0.3, -3, -1]]), tensor([2, -100], { dtype: 'int32' })).item())).toBeCloseTo(0.5, 6);
    const t = [1, 0, 2];
    gradcheck((x) => nllLoss(x, tensor(t, { dtype: 'int32' }), { reduction: 'sum' }), (x) => nd([], [-t.reduce((a, c, i) => a + x.data[i * 3 + c]!, 0)]), [randomNd([3, 3], 134)]);
    expect(thrown(() => nllLoss(tensor([[1]]), tensor([0])))).toBeInstanceOf(Error);
  });
});

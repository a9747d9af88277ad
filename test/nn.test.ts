// NN functional ops: softmax, logSoftmax, crossEntropy, linear — forward against float64
// references (helpers/reference-nn.ts), gradients through gradcheck, PyTorch golden values, errors.
import { describe, expect, it } from 'vitest';
import { ArgumentError, crossEntropy, DTypeError, linear, logSoftmax, ShapeError, softmax, tensor, tidy } from '../ts/node.js';
import { expectClose, gradcheck } from './helpers/gradcheck.js';
import { nd, randomNd, type Nd } from './helpers/reference.js';
import { refCrossEntropy, refSoftmax } from './helpers/reference-nn.js';
import { run, thrown } from './helpers/snapshot.js';

describe('softmax and logSoftmax', () => {
  const cases: [number[], number][] = [[[5], 0], [[3, 4], 1], [[3, 4], 0], [[2, 3, 4], 1], [[2, 3, 4], -1], [[]  , 0]];
  for (const [shape, dim] of cases) {
    it(`softmax over dim ${dim} of [${shape}] matches the reference and gradcheck`, () => {
      // A 0-d input is softmaxed as a one-element vector and keeps its shape.
      const ref = (x: Nd, log: boolean) => (shape.length ? refSoftmax(x, dim, log) : nd([], refSoftmax(nd([1], x.data), 0, log).data));
      gradcheck((x) => x.softmax(dim), (x) => ref(x, false), [randomNd(shape, 7)]);
      gradcheck((x) => logSoftmax(x, dim), (x) => ref(x, true), [randomNd(shape, 8)]);
    });
  }
  it('is stable for large logits and rows sum to 1', () => {
    const got = run(() => softmax(tensor([[1000, 1001, 1002], [-1000, -1000, -1000]]), 1));
    expectClose(got.data, refSoftmax(nd([2, 3], [1000, 1001, 1002, -1000, -1000, -1000]), 1, false).data, 1e-6, 1e-6, 'softmax');
    const lsm = run(() => logSoftmax(tensor([0, 1e4]), 0));
    expectClose(lsm.data, [-1e4, 0], 1e-3, 0, 'logSoftmax');
  });
  it('works on a non-contiguous input', () => {
    const x = randomNd([3, 4], 3);
    const got = run(() => tensor(Array.from(x.data), { shape: [3, 4] }).t().softmax(1));
    const xt = nd([4, 3], Array.from({ length: 12 }, (_, k) => x.data[(k % 3) * 4 + Math.floor(k / 3)]!));
    expectClose(got.data, refSoftmax(xt, 1, false).data, 1e-6, 1e-5, 'softmax(xᵀ)');
  });
  it('rejects an out-of-range dim', () => {
    expect(thrown(() => tensor([[1, 2]]).softmax(2))).toBeInstanceOf(ArgumentError);
  });
  // The kernel works in blocks of 256 elements (and of 256 columns when dim is not the
  // last): rows longer than a block, with a ragged end, −∞ masks (exp of −∞ takes exp's
  // underflow lanes) and a row holding a NaN (all NaN, as in PyTorch).
  for (const [shape, dim] of [[[3, 1000], 1], [[2, 257], -1], [[2, 5, 300], 1]] as [number[], number][]) {
    it(`softmax and logSoftmax over dim ${dim} of [${shape}] with −∞ masks and a NaN`, () => {
      const x = randomNd(shape, 11, -30, 30);
      const masked = Float32Array.from(x.data, (v, i) => (i % 7 === 3 || i % 11 === 0 ? -Infinity : v));
      masked[5] = NaN;
      const xm = nd(shape, Array.from(masked));
      for (const log of [false, true]) {
        const got = run(() => (log ? logSoftmax(tensor(masked, { shape }), dim) : softmax(tensor(masked, { shape }), dim)));
        expectClose(got.data, refSoftmax(xm, dim, log).data, 1e-6, 2e-6, log ? 'logSoftmax' : 'softmax');
      }
    });
  }
});

describe('crossEntropy', () => {
  const idx = (values: number[]) => tensor(values, { dtype: 'int32' });
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    it(`class indices, reduction ${reduction}`, () => {
      const t = [2, 0, 3];
      gradcheck((x) => crossEntropy(x, idx(t), { reduction }), (x) => refCrossEntropy(x, t, false, reduction), [randomNd([3, 4], 11)]);
    });
  }
  it('ignoreIndex skips rows (and the mean counts only the others)', () => {
    const t = [1, -100, 2, 1];
    gradcheck((x) => crossEntropy(x, idx(t)), (x) => refCrossEntropy(x, t, false, 'mean'), [randomNd([4, 3], 12)]);
    const t2 = [1, 7, 2];
    gradcheck((x) => crossEntropy(x, idx(t2), { ignoreIndex: 7, reduction: 'sum' }), (x) => refCrossEntropy(x, t2, false, 'sum', 7), [randomNd([3, 8], 13)]);
  });
  it('labelSmoothing mixes in the uniform distribution', () => {
    const t = [0, 2];
    gradcheck((x) => crossEntropy(x, idx(t), { labelSmoothing: 0.1 }), (x) => refCrossEntropy(x, t, false, 'mean', -100, 0.1), [randomNd([2, 5], 14)]);
  });
  it('probability targets (with smoothing)', () => {
    const p = [0.2, 0.3, 0.5, 1, 0, 0];
    gradcheck((x) => crossEntropy(x, tensor(p, { shape: [2, 3] }), { labelSmoothing: 0.2 }), (x) => refCrossEntropy(x, p, true, 'mean', -100, 0.2), [randomNd([2, 3], 15)]);
  });
  it('spatial logits [N, C, H, W] and a single sample [C]', () => {
    const t = [0, 1, 2, 1, 0, 2, 2, 2];
    gradcheck((x) => crossEntropy(x, idx(t).reshape(2, 2, 2), { reduction: 'none' }), (x) => refCrossEntropy(x, t, false, 'none'), [randomNd([2, 3, 2, 2], 16)]);
    gradcheck((x) => crossEntropy(x, tensor(3, { dtype: 'int32' })), (x) => refCrossEntropy(x, [3], false, 'mean'), [randomNd([5], 17)]);
  });
  it('matches PyTorch 1.13 golden values', () => {
    // torch.nn.functional.cross_entropy(torch.tensor([[1., 2., 3.], [1., -1., 0.5]]),
    //   torch.tensor([2, 0]), label_smoothing=0.1).item() == 0.5729480981826782
    const value = tidy(() => crossEntropy(tensor([[1, 2, 3], [1, -1, 0.5]]), idx([2, 0]), { labelSmoothing: 0.1 }).item());
    expect(value).toBeCloseTo(0.572948, 5);
  });
  it('errors: out-of-range class, shape mismatch, integer logits, bad reduction', () => {
    expect(thrown(() => crossEntropy(tensor([[1, 2]]), idx([2])))).toBeInstanceOf(ArgumentError);
    expect(thrown(() => crossEntropy(tensor([[1, 2]]), idx([-1])))).toBeInstanceOf(ArgumentError);
    expect(thrown(() => crossEntropy(tensor([[1, 2]]), idx([0, 1])))).toBeInstanceOf(ShapeError);
    expect(thrown(() => crossEntropy(tensor([[1, 2]], { dtype: 'int32' }), idx([0])))).toBeInstanceOf(DTypeError);
    expect(thrown(() => crossEntropy(tensor([[1, 2]]), idx([0]), { reduction: 'avg' as never }))).toBeInstanceOf(ArgumentError);
    expect(thrown(() => crossEntropy(tensor([[1, 2]]), idx([0]), { labelSmoothing: 2 }))).toBeInstanceOf(ArgumentError);
  });
});

describe('linear', () => {
  const refLinear = (x: Nd, w: Nd, b: Nd | null, relu: boolean): Nd => {
    const [out, inF] = w.shape as [number, number];
    const rows = x.data.length / inF;
    const data = new Float64Array(rows * out);
    for (let r = 0; r < rows; r++)
      for (let o = 0; o < out; o++) {
        let acc = b ? b.data[o]! : 0;
        for (let i = 0; i < inF; i++) acc += x.data[r * inF + i]! * w.data[o * inF + i]!;
        data[r * out + o] = relu ? Math.max(acc, 0) : acc;
      }
    return { shape: [...x.shape.slice(0, -1), out], data };
  };
  it('x·wᵀ + b, with and without bias, 2-D and batched 3-D', () => {
    gradcheck((x, w, b) => linear(x, w, b), (x, w, b) => refLinear(x, w, b!, false), [randomNd([5, 3], 21), randomNd([4, 3], 22), randomNd([4], 23)]);
    gradcheck((x, w) => linear(x, w), (x, w) => refLinear(x, w, null, false), [randomNd([2, 5, 3], 24), randomNd([4, 3], 25)]);
  });
  it('fused relu', () => {
    // Inputs shifted away from the kink so finite differences are valid.
    const x = randomNd([6, 3], 26);
    const w = randomNd([4, 3], 27);
    const b = nd([4], [0.31, -0.27, 0.43, -0.19]);
    gradcheck((x, w, b) => linear(x, w, b, { activation: 'relu' }), (x, w, b) => refLinear(x, w, b!, true), [x, w, b], { eps: 1e-7 });
  });
  it('errors: mismatched weight and bias shapes', () => {
    expect(thrown(() => linear(tensor([[1, 2]]), tensor([[1, 2, 3]])))).toBeInstanceOf(ShapeError);
    expect(thrown(() => linear(tensor([[1, 2]]), tensor([[1, 2]]), tensor([1, 2])))).toBeInstanceOf(ShapeError);
    expect(thrown(() => linear(tensor([[1, 2]]), tensor([[1, 2]]), null, { activation: 'tanh' as never }))).toBeInstanceOf(ArgumentError);
  });
  it('records one node, named as in PyTorch', () => {
    const name = tidy(() => linear(tensor([[1, 2]], { requiresGrad: true }), tensor([[1, 2]])).gradFn);
    expect(name).toBe('AddmmBackward0');
  });
});

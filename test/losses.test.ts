// Losses composed from primitives: mseLoss, l1Loss, smoothL1Loss, binaryCrossEntropy,
// binaryCrossEntropyWithLogits — float64 references, gradcheck, PyTorch golden values.
import { describe, expect, it } from 'vitest';
import {
  ArgumentError, binaryCrossEntropy, binaryCrossEntropyWithLogits, l1Loss, mseLoss, smoothL1Loss, tensor, tidy,
} from '../ts/node.js';
import { gradcheck } from './helpers/gradcheck.js';
import { mean, nd, randomNd, sum, zip, type Nd } from './helpers/reference.js';
import { thrown } from './helpers/snapshot.js';

const reduceRef = (x: Nd, r: string) => (r === 'none' ? x : r === 'sum' ? sum(x) : mean(x));
const smooth = (beta: number) => (a: number, b: number) => {
  const d = Math.abs(a - b);
  return d < beta ? (0.5 * d * d) / beta : d - 0.5 * beta;
};

describe.each(['mean', 'sum', 'none'] as const)('reduction %s', (reduction) => {
  const [x, y] = [randomNd([3, 4], 81), randomNd([3, 4], 82)];
  it('mseLoss, l1Loss and smoothL1Loss match the references', () => {
    gradcheck((a, b) => mseLoss(a, b, { reduction }), (a, b) => reduceRef(zip(a, b, (p, q) => (p - q) ** 2), reduction), [x, y]);
    gradcheck((a, b) => l1Loss(a, b, { reduction }), (a, b) => reduceRef(zip(a, b, (p, q) => Math.abs(p - q)), reduction), [x, y]);
    gradcheck((a, b) => smoothL1Loss(a, b, { reduction, beta: 0.7 }), (a, b) => reduceRef(zip(a, b, smooth(0.7)), reduction), [x, y]);
  });
  it('binary cross-entropy on probabilities and on logits', () => {
    const p = randomNd([6], 83, 0.05, 0.95);
    const t = nd([6], [0, 1, 1, 0, 0.3, 0.8]);
    const bce = (q: number, s: number) => -(s * Math.log(q) + (1 - s) * Math.log(1 - q));
    gradcheck((a, b) => binaryCrossEntropy(a, b, { reduction }), (a, b) => reduceRef(zip(a, b, bce), reduction), [p, t]);
    const z = randomNd([6], 84, -4, 4);
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    gradcheck((a, b) => binaryCrossEntropyWithLogits(a, b, { reduction }), (a, b) => reduceRef(zip(a, b, (v, s) => bce(sig(v), s)), reduction), [z, t]);
  });
});

describe('PyTorch 1.13 golden values', () => {
  it('match', () => {
    const got = tidy(() => [
      binaryCrossEntropy(tensor([0.2, 0.9, 0.5, 0.01]), tensor([0, 1, 1, 0])).item(), // 0.2579253911972046
      binaryCrossEntropy(tensor([0, 1]), tensor([1, 0])).item(), // 100.0 (log clamped at -100)
      binaryCrossEntropyWithLogits(tensor([-3, 0.5, 20, -20]), tensor([0, 1, 1, 0]), { reduction: 'sum' }).item(), // 0.5226643085479736
      ...smoothL1Loss(tensor([0, 0.5, 2, -3]), tensor([0.2, 0, 0, 0]), { reduction: 'none' }).data(), // [0.02, 0.125, 1.5, 2.5]
    ]);
    const want = [0.2579253911972046, 100, 0.5226643085479736, 0.020000001415610313, 0.125, 1.5, 2.5];
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
  });
  it('reject a bad reduction or beta', () => {
    expect(thrown(() => mseLoss(tensor([1]), tensor([1]), { reduction: 'avg' as never }))).toBeInstanceOf(ArgumentError);
    expect(thrown(() => smoothL1Loss(tensor([1]), tensor([1]), { beta: -1 }))).toBeInstanceOf(ArgumentError);
  });
});

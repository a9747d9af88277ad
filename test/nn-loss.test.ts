// Losses as modules (values against PyTorch are in test/nn-golden.test.ts): options,
// reductions, buffers, errors; and nn.utils' gradient clipping.
import { describe, expect, it } from 'vitest';
import { ArgumentError, nn, ShapeError, tensor, tidy, type Tensor } from '../ts/node.js';
import { expectClose } from './helpers/gradcheck.js';
import { thrown } from './helpers/snapshot.js';

describe('loss modules', () => {
  it('keep their options and reductions; a bad reduction is an ArgumentError naming the loss', () => {
    using ce = new nn.CrossEntropyLoss({ ignoreIndex: 2, labelSmoothing: 0.1, reduction: 'sum' });
    expect([ce.ignoreIndex, ce.labelSmoothing, ce.reduction]).toEqual([2, 0.1, 'sum']);
    const e = thrown(() => new nn.MSELoss({ reduction: 'avg' as 'mean' }));
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e.message).toContain('MSELoss: reduction must be one of');
    expect(thrown(() => new nn.SmoothL1Loss({ beta: -1 }))).toBeInstanceOf(ArgumentError);
    expect(thrown(() => new nn.CrossEntropyLoss({ labelSmoothing: 2 }))).toBeInstanceOf(ArgumentError);
  });
  it('CrossEntropyLoss with int32 classes equals NLLLoss of logSoftmax', () => {
    using ce = new nn.CrossEntropyLoss();
    using nll = new nn.NLLLoss();
    const [a, b] = tidy(() => {
      const x = tensor([[1, 2, 3], [0.5, -1, 2]]);
      const y = tensor([2, 0], { dtype: 'int32' });
      return [Number(ce.call(x, y).item()), Number(nll.call(x.logSoftmax(1), y).item())];
    });
    expect(a).toBeCloseTo(b, 6);
  });
  it('BCEWithLogitsLoss copies posWeight into the buffer pos_weight (in its state dict)', () => {
    const pw = tensor([2, 0.5]);
    using loss = new nn.BCEWithLogitsLoss({ posWeight: pw });
    pw.dispose(); // the loss holds its own copy
    expect(Object.keys(loss.stateDict({ clone: false }))).toEqual(['pos_weight']);
    const v = tidy(() => Number(loss.call(tensor([[0.3, -1]]), tensor([[1, 1]])).item()));
    // −[p·log σ(x)] averaged: (2·softplus(−0.3) + 0.5·softplus(1)) / 2
    const softplus = (z: number) => Math.log1p(Math.exp(z));
    expect(v).toBeCloseTo((2 * softplus(-0.3) + 0.5 * softplus(1)) / 2, 5);
    expect(thrown(() => loss.call(tensor([1, 2]), tensor([1])))).toBeInstanceOf(ShapeError);
  });
  it('losses have no parameters and print as PyTorch', () => {
    for (const l of [new nn.MSELoss(), new nn.L1Loss(), new nn.SmoothL1Loss(), new nn.CrossEntropyLoss(), new nn.NLLLoss(), new nn.BCELoss(), new nn.BCEWithLogitsLoss()]) {
      expect(l.parameters()).toEqual([]);
      expect(l.repr()).toBe(`${l.constructor.name}()`);
      l.dispose();
    }
  });
});

describe('nn.utils gradient clipping', () => {
  const withGrads = (grads: number[][]): Tensor[] =>
    grads.map((g) => {
      const p = tensor(g.map(() => 0), { requiresGrad: true });
      using grad = tensor(g);
      p.grad = grad; // the leaf holds its own reference
      return p;
    });
  const gradValues = (ps: Tensor[]) => ps.map((p) => Array.from(p.grad!.data()));

  it('clipGradNorm_ (2-norm) returns the total norm and scales all gradients together', () => {
    const ps = withGrads([[3, 4], [12]]);
    const total = nn.utils.clipGradNorm_(ps, 6.5);
    expect(total).toBeCloseTo(13, 5);
    expectClose(gradValues(ps).flat(), [1.5, 2, 6], 1e-6, 1e-5, 'clipped');
    expect(nn.utils.clipGradNorm_(ps, 100)).toBeCloseTo(6.5, 5); // under the limit: unchanged
    expectClose(gradValues(ps).flat(), [1.5, 2, 6], 1e-6, 1e-5, 'unchanged');
    ps.forEach((p) => p.dispose());
  });
  it('clipGradNorm_ with Infinity and 1 norms; parameters without grad are skipped', () => {
    const ps = withGrads([[3, -4], [12]]);
    const none = tensor([1], { requiresGrad: true });
    expect(nn.utils.clipGradNorm_([...ps, none], 6, Infinity)).toBe(12);
    expectClose(gradValues(ps).flat(), [1.5, -2, 6], 1e-6, 1e-5, 'inf-clipped');
    expect(nn.utils.clipGradNorm_(ps, 1000, 1)).toBeCloseTo(9.5, 5);
    expect(nn.utils.clipGradNorm_([none], 1)).toBe(0);
    [...ps, none].forEach((p) => p.dispose());
  });
  it('errorIfNonfinite and bad arguments', () => {
    const ps = withGrads([[NaN, 1]]);
    expect(thrown(() => nn.utils.clipGradNorm_(ps, 1, 2, { errorIfNonfinite: true }))).toBeInstanceOf(ArgumentError);
    expect(thrown(() => nn.utils.clipGradNorm_(ps, 1, -1))).toBeInstanceOf(ArgumentError);
    expect(thrown(() => nn.utils.clipGradValue_(ps, -1))).toBeInstanceOf(ArgumentError);
    ps.forEach((p) => p.dispose());
  });
  it('clipGradValue_ clamps each element', () => {
    using lin = new nn.Linear(2, 1);
    tidy(() => lin.call(tensor([[10, -10]])).sum().backward());
    nn.utils.clipGradValue_(lin.parameters(), 0.5);
    expect(gradValues(lin.parameters())).toEqual([[0.5, -0.5], [0.5]]);
  });
});

// nn layers beyond the PyTorch golden cases (test/nn-golden.test.ts): output shapes,
// parameter shapes and counts, train vs eval (Dropout, BatchNorm's running statistics and
// num_batches_tracked), Embedding's padding row, attention options, unbatched inputs.
import { describe, expect, it } from 'vitest';
import { manualSeed, nn, ones, randn, ShapeError, tensor, tidy, zeros, type Tensor } from '../ts/node.js';
import { thrown } from './helpers/snapshot.js';

const shapeOf = (m: nn.Module, ...inputs: (() => Tensor)[]) => tidy(() => [...(m.call(...inputs.map((f) => f())) as Tensor).shape]);
const paramShapes = (m: nn.Module) => Object.fromEntries(m.namedParameters().map(([n, p]) => [n, [...p.shape]]));

describe('output and parameter shapes (as PyTorch’s)', () => {
  it('each layer', () => {
    const cases: [nn.Module, () => Tensor, number[], Record<string, number[]>][] = [
      [new nn.Linear(6, 4), () => zeros([2, 3, 6]), [2, 3, 4], { weight: [4, 6], bias: [4] }],
      [new nn.Conv1d(3, 5, 3, { padding: 'same' }), () => zeros([2, 3, 10]), [2, 5, 10], { weight: [5, 3, 3], bias: [5] }],
      [new nn.Conv2d(3, 8, [3, 5], { stride: 2, bias: false }), () => zeros([3, 9, 11]), [8, 4, 4], { weight: [8, 3, 3, 5] }],
      [new nn.MaxPool2d(2), () => zeros([1, 2, 5, 5]), [1, 2, 2, 2], {}],
      [new nn.AvgPool2d(2, { ceilMode: true }), () => zeros([1, 2, 5, 5]), [1, 2, 3, 3], {}],
      [new nn.AdaptiveAvgPool2d(1), () => zeros([4, 6, 7, 3]), [4, 6, 1, 1], {}],
      [new nn.BatchNorm1d(4), () => randn([5, 4, 3]), [5, 4, 3], { weight: [4], bias: [4] }],
      [new nn.GroupNorm(3, 6, { affine: false }), () => randn([2, 6, 4]), [2, 6, 4], {}],
      [new nn.LayerNorm([4, 5], { bias: false }), () => randn([2, 4, 5]), [2, 4, 5], { weight: [4, 5] }],
      [new nn.RMSNorm(5, { elementwiseAffine: false }), () => randn([3, 5]), [3, 5], {}],
      [new nn.Embedding(7, 3), () => tensor([[1, 2], [3, 6]], { dtype: 'int32' }), [2, 2, 3], { weight: [7, 3] }],
      [new nn.Flatten(), () => zeros([2, 3, 4, 5]), [2, 60], {}],
      [new nn.Flatten(0, 1), () => zeros([2, 3, 4]), [6, 4], {}],
      [new nn.Unflatten(-1, [2, 2]), () => zeros([3, 4]), [3, 2, 2], {}],
      [new nn.Softmax(0), () => zeros([3, 4]), [3, 4], {}],
    ];
    for (const [m, input, out, params] of cases) {
      expect(shapeOf(m, input), m.repr()).toEqual(out);
      expect(paramShapes(m), m.repr()).toEqual(params);
      m.dispose();
    }
  });
  it('MultiheadAttention and TransformerEncoderLayer parameter layout', () => {
    using mha = new nn.MultiheadAttention(16, 4);
    expect(paramShapes(mha)).toEqual({ in_proj_weight: [48, 16], in_proj_bias: [48], 'out_proj.weight': [16, 16], 'out_proj.bias': [16] });
    using layer = new nn.TransformerEncoderLayer(16, 4);
    const shapes = paramShapes(layer);
    expect(Object.keys(shapes)).toEqual([
      'self_attn.in_proj_weight', 'self_attn.in_proj_bias', 'self_attn.out_proj.weight', 'self_attn.out_proj.bias',
      'linear1.weight', 'linear1.bias', 'linear2.weight', 'linear2.bias', 'norm1.weight', 'norm1.bias', 'norm2.weight', 'norm2.bias',
    ]);
    expect(shapes['linear1.weight']).toEqual([2048, 16]); // dim_feedforward defaults to 2048
    expect(layer.dropout.p).toBe(0.1);
    expect(layer.activation).toBe('relu');
  });
});

describe('train and eval', () => {
  it('Dropout zeroes about p of the elements and scales the rest in training; the identity in eval', () => {
    manualSeed(7);
    using d = new nn.Dropout(0.3);
    const v = tidy(() => Array.from(d.call(ones([20000])).data()));
    const zerosFrac = v.filter((x) => x === 0).length / v.length;
    expect(Math.abs(zerosFrac - 0.3)).toBeLessThan(0.015);
    expect(v.filter((x) => x !== 0).every((x) => Math.abs(x - 1 / 0.7) < 1e-6)).toBe(true);
    d.eval();
    expect(tidy(() => Array.from(d.call(tensor([1, 2, 3])).data()))).toEqual([1, 2, 3]);
    manualSeed(7);
    d.train();
    expect(tidy(() => Array.from(d.call(ones([20000])).data()))).toEqual(v);
  });
  it('BatchNorm counts batches, updates running statistics only in training, and uses them in eval', () => {
    manualSeed(2);
    using bn = new nn.BatchNorm1d(3, { momentum: null }); // cumulative average
    const batches = tidy(() => [randn([6, 3]).mul(2).add(1), randn([6, 3]).add(-1), randn([6, 3])]);
    const means = tidy(() => batches.map((b) => Array.from(b.mean(0).data())));
    for (const b of batches) tidy(() => void bn.call(b));
    expect(bn.numBatchesTracked!.item()).toBe(3);
    const expected = [0, 1, 2].map((c) => (means[0]![c]! + means[1]![c]! + means[2]![c]!) / 3);
    tidy(() => Array.from(bn.runningMean!.data())).forEach((v, c) => expect(v).toBeCloseTo(expected[c]!, 5));
    bn.eval();
    const before = tidy(() => Array.from(bn.runningMean!.data()));
    const out = tidy(() => Array.from(bn.call(batches[0]!).data()));
    expect(bn.numBatchesTracked!.item()).toBe(3);
    expect(tidy(() => Array.from(bn.runningMean!.data()))).toEqual(before);
    // eval: (x − running_mean) / √(running_var + eps)
    const x0 = tidy(() => Array.from(batches[0]!.data()));
    const rv = tidy(() => Array.from(bn.runningVar!.data()));
    expect(out[4]!).toBeCloseTo((x0[4]! - before[1]!) / Math.sqrt(rv[1]! + 1e-5), 5);
    bn.resetRunningStats();
    expect(bn.numBatchesTracked!.item()).toBe(0);
    batches.forEach((b) => b.dispose());
  });
  it('BatchNorm without running statistics uses batch statistics in eval too', () => {
    using bn = new nn.BatchNorm2d(2, { trackRunningStats: false });
    expect(bn.buffers()).toEqual([]);
    bn.eval();
    const m = tidy(() => Number(bn.call(randn([3, 2, 4, 4]).mul(5).add(3)).mean().item()));
    expect(Math.abs(m)).toBeLessThan(1e-5);
  });
});

describe('layer details', () => {
  it('Embedding: the padding row gets no gradient, other rows accumulate', () => {
    using e = new nn.Embedding(4, 2, { paddingIdx: 0 });
    tidy(() => e.call(tensor([0, 2, 2, 0], { dtype: 'int32' })).sum().backward());
    expect(tidy(() => e.weight.grad!.toArray())).toEqual([[0, 0], [0, 0], [2, 2], [0, 0]]);
  });
  it('Softplus follows the input above the threshold', () => {
    using sp = new nn.Softplus(1, 2);
    const [a, b] = tidy(() => Array.from(sp.call(tensor([1, 3])).data()));
    expect(a).toBeCloseTo(Math.log1p(Math.E), 5);
    expect(b).toBe(3);
  });
  it('MultiheadAttention: needWeights false, per-head weights, unbatched; a key padding mask hides keys', () => {
    manualSeed(4);
    using mha = new nn.MultiheadAttention(8, 2, { batchFirst: true });
    tidy(() => {
      const x = randn([2, 3, 8]);
      const [o, w] = mha.call(x, x, x, { needWeights: false });
      expect(o.shape).toEqual([2, 3, 8]);
      expect(w).toBeNull();
      const [, perHead] = mha.call(x, x, x, { averageAttnWeights: false, keyPaddingMask: tensor([[false, false, true], [false, false, false]]) });
      expect(perHead!.shape).toEqual([2, 2, 3, 3]);
      const hidden = perHead!.index('0, :, :, 2');
      expect(Array.from(hidden.data())).toEqual([0, 0, 0, 0, 0, 0]);
      const [ou, wu] = mha.call(x.index(0), x.index(0), x.index(0));
      expect(ou.shape).toEqual([3, 8]);
      expect(wu!.shape).toEqual([3, 3]);
    });
    expect(thrown(() => mha.call(zeros([2, 3, 8]), zeros([2, 3, 8]), zeros([2, 3, 8]), { attnMask: zeros([2, 2]) }))).toBeInstanceOf(ShapeError);
    expect(thrown(() => mha.call(zeros([2, 3, 7]), zeros([2, 3, 7]), zeros([2, 3, 7]))).message).toContain('does not fit embed_dim=8');
  });
  it('TransformerEncoder runs its layers (dropout active in training, none in eval)', () => {
    manualSeed(5);
    using enc = new nn.TransformerEncoder(new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, batchFirst: true }), 2);
    const x = randn([2, 4, 8]);
    const a = tidy(() => Array.from(enc.call(x).data()));
    const b = tidy(() => Array.from(enc.call(x).data()));
    expect(a).not.toEqual(b);
    enc.eval();
    const c = tidy(() => Array.from(enc.call(x).data()));
    expect(tidy(() => Array.from(enc.call(x).data()))).toEqual(c);
    expect(tidy(() => [...enc.call(x, { mask: zeros([4, 4]) }).shape])).toEqual([2, 4, 8]);
    x.dispose();
  });
});

describe('ConvTranspose2d', () => {
  it('has PyTorch’s parameter layout, repr, default init bounds, and runs convTranspose2d', () => {
    const m = new nn.ConvTranspose2d(16, 33, 3, { stride: 2, padding: 1, outputPadding: 1 });
    const g = new nn.ConvTranspose2d(4, 6, [3, 5], { groups: 2, bias: false, dilation: 2 });
    try {
      expect(paramShapes(m)).toEqual({ weight: [16, 33, 3, 3], bias: [33] });
      expect(paramShapes(g)).toEqual({ weight: [4, 3, 3, 5] });
      // repr(torch.nn.ConvTranspose2d(…)) in PyTorch 1.13:
      expect(m.repr()).toBe('ConvTranspose2d(16, 33, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), output_padding=(1, 1))');
      expect(g.repr()).toBe('ConvTranspose2d(4, 6, kernel_size=(3, 5), stride=(1, 1), dilation=(2, 2), groups=2, bias=False)');
      // kaiming_uniform_(a=√5) over fan_in = weight.size(1)·k² = 33·9: bound 1/√fan_in, as the bias.
      const bound = 1 / Math.sqrt(33 * 9);
      const w = Array.from(m.weight.data());
      expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
      expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.9 * bound);
      expect(Math.max(...Array.from(m.bias!.data(), Math.abs))).toBeLessThanOrEqual(bound);
      tidy(() => {
        const x = randn([2, 16, 5, 5]);
        const y = m.call(x) as Tensor;
        expect([...y.shape]).toEqual([2, 33, 10, 10]);
        const want = nn.functional.convTranspose2d(x, m.weight, m.bias, { stride: 2, padding: 1, outputPadding: 1 });
        expect(Array.from(y.data())).toEqual(Array.from(want.data()));
        expect(thrown(() => m.call(zeros([2, 15, 5, 5])))).toBeInstanceOf(ShapeError);
      });
    } finally {
      m.dispose();
      g.dispose();
    }
  });
});

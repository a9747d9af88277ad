// nn.init and every layer's default initialisation: the distributions and bounds PyTorch
// uses (checked by mean, standard deviation and range over large tensors), drawn from the
// seeded generator (manualSeed makes them reproducible).
import { describe, expect, it } from 'vitest';
import { ArgumentError, manualSeed, nn, tidy, zeros, type Tensor } from '../ts/node.js';
import { thrown } from './helpers/snapshot.js';

const { init } = nn;

function stats(t: Tensor): { mean: number; std: number; min: number; max: number; n: number } {
  const v = Array.from(tidy(() => t.data()), Number);
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
  return { mean, std, min: Math.min(...v), max: Math.max(...v), n: v.length };
}
/** Uniform on (−bound, bound): mean 0, std bound/√3, inside the bounds and reaching near them. */
function expectUniform(t: Tensor, bound: number, what: string): void {
  const s = stats(t);
  const std = bound / Math.sqrt(3);
  expect(Math.abs(s.mean), `${what} mean`).toBeLessThan((4 * std) / Math.sqrt(s.n));
  expect(Math.abs(s.std - std) / std, `${what} std`).toBeLessThan(0.03);
  const slack = bound * 1e-6; // the bound itself rounded to float32
  expect(s.min, `${what} min`).toBeGreaterThanOrEqual(-bound - slack);
  expect(s.max, `${what} max`).toBeLessThanOrEqual(bound + slack);
  expect(s.max, `${what} max`).toBeGreaterThan(bound * 0.98);
}
function expectNormal(t: Tensor, mean: number, std: number, what: string): void {
  const s = stats(t);
  expect(Math.abs(s.mean - mean), `${what} mean`).toBeLessThan((4 * std) / Math.sqrt(s.n));
  expect(Math.abs(s.std - std) / std, `${what} std`).toBeLessThan(0.03);
}
const constant = (t: Tensor, v: number) => expect(Array.from(tidy(() => t.data())).every((x) => x === v)).toBe(true);

describe('default initialisation of the layers (PyTorch’s distributions and bounds)', () => {
  it('Linear: weight and bias U(±1/√in_features)', () => {
    manualSeed(0);
    using lin = new nn.Linear(400, 300);
    expectUniform(lin.weight, 1 / 20, 'weight');
    using wide = new nn.Linear(100, 5000);
    expectUniform(wide.bias!, 1 / 10, 'bias');
  });
  it('Conv1d/Conv2d: U(±1/√fan_in), fan_in = in/groups · kernel size', () => {
    using c2 = new nn.Conv2d(16, 32, 3);
    expectUniform(c2.weight, 1 / 12, 'conv2d weight');
    using g = new nn.Conv2d(16, 64, 3, { groups: 4 });
    expectUniform(g.weight, 1 / 6, 'grouped weight');
    using c1 = new nn.Conv1d(8, 2000, 5);
    expectUniform(c1.weight, 1 / Math.sqrt(40), 'conv1d weight');
    expectUniform(c1.bias!, 1 / Math.sqrt(40), 'conv1d bias');
  });
  it('Embedding: N(0, 1), the padding row zero', () => {
    using e = new nn.Embedding(1000, 64, { paddingIdx: 3 });
    expectNormal(e.weight, 0, 1, 'embedding');
    expect(tidy(() => Array.from(e.weight.index(3).data()))).toEqual(Array(64).fill(0));
  });
  it('MultiheadAttention: in_proj_weight xavier-uniform, out_proj.weight as Linear, biases zero', () => {
    using m = new nn.MultiheadAttention(128, 4);
    expectUniform(m.inProjWeight, Math.sqrt(6 / (128 + 384)), 'in_proj_weight');
    expectUniform(m.outProj.weight, 1 / Math.sqrt(128), 'out_proj.weight');
    constant(m.inProjBias!, 0);
    constant(m.outProj.bias!, 0);
  });
  it('normalisation layers: weight ones, bias zeros; BatchNorm running mean 0, var 1, no batches', () => {
    using bn = new nn.BatchNorm2d(5);
    constant(bn.weight!, 1);
    constant(bn.bias!, 0);
    constant(bn.runningMean!, 0);
    constant(bn.runningVar!, 1);
    expect(bn.numBatchesTracked!.dtype).toBe('int32');
    expect(bn.numBatchesTracked!.shape).toEqual([]);
    for (const m of [new nn.LayerNorm([2, 3]), new nn.GroupNorm(2, 4), new nn.RMSNorm(4)]) {
      constant((m as nn.LayerNorm).weight!, 1);
      if ('bias' in m) constant((m as nn.LayerNorm).bias!, 0);
      m.dispose();
    }
  });
  it('is reproducible after manualSeed', () => {
    const draw = () => {
      manualSeed(42);
      using lin = new nn.Linear(3, 2);
      return tidy(() => Array.from(lin.weight.data()));
    };
    expect(draw()).toEqual(draw());
  });
});

describe('nn.init functions', () => {
  it('uniform_, normal_, constant_, zeros_, ones_ fill in place and return the tensor', () => {
    using t = zeros([200, 100]);
    expect(init.uniform_(t, -2, 3)).toBe(t);
    const s = stats(t);
    expect(s.min).toBeGreaterThanOrEqual(-2);
    expect(s.max).toBeLessThan(3);
    expect(Math.abs(s.mean - 0.5)).toBeLessThan(0.05);
    init.normal_(t, 2, 3);
    expectNormal(t, 2, 3, 'normal_');
    init.constant_(t, 0.25);
    constant(t, 0.25);
    init.ones_(t);
    constant(t, 1);
    init.zeros_(t);
    constant(t, 0);
  });
  it('xavier and kaiming: the std of PyTorch’s formulas', () => {
    using w = zeros([300, 200]);
    init.xavierUniform_(w, 2);
    expectUniform(w, 2 * Math.sqrt(6 / 500), 'xavierUniform_');
    init.xavierNormal_(w);
    expectNormal(w, 0, Math.sqrt(2 / 500), 'xavierNormal_');
    init.kaimingUniform_(w, 0, 'fan_in', 'relu');
    expectUniform(w, Math.sqrt(2) * Math.sqrt(3 / 200), 'kaimingUniform_');
    init.kaimingNormal_(w, 0, 'fan_out', 'relu');
    expectNormal(w, 0, Math.sqrt(2 / 300), 'kaimingNormal_ fan_out');
    using conv = zeros([64, 16, 3, 3]);
    init.kaimingNormal_(conv, 0.2);
    expectNormal(conv, 0, Math.sqrt(2 / (1 + 0.04)) / Math.sqrt(144), 'kaimingNormal_ leaky_relu 0.2');
  });
  it('truncNormal_: inside [a, b], with the truncated normal’s mean and std', () => {
    using t = zeros([100000]);
    init.truncNormal_(t);
    const s = stats(t);
    expect(s.min).toBeGreaterThanOrEqual(-2);
    expect(s.max).toBeLessThanOrEqual(2);
    expect(Math.abs(s.mean)).toBeLessThan(0.01);
    expect(Math.abs(s.std - 0.87962566)).toBeLessThan(0.01); // std of N(0, 1) cut at ±2
    init.truncNormal_(t, 1, 0.5, 0, 1.25);
    const s2 = stats(t);
    expect(s2.min).toBeGreaterThanOrEqual(0);
    expect(s2.max).toBeLessThanOrEqual(1.25);
    expect(s2.max).toBeGreaterThan(1.24);
  });
  it('calculateGain as PyTorch', () => {
    expect(init.calculateGain('linear')).toBe(1);
    expect(init.calculateGain('sigmoid')).toBe(1);
    expect(init.calculateGain('tanh')).toBeCloseTo(5 / 3, 12);
    expect(init.calculateGain('relu')).toBeCloseTo(Math.SQRT2, 12);
    expect(init.calculateGain('leaky_relu')).toBeCloseTo(Math.sqrt(2 / (1 + 0.01 ** 2)), 12);
    expect(init.calculateGain('leaky_relu', 0.2)).toBeCloseTo(Math.sqrt(2 / 1.04), 12);
    expect(init.calculateGain('selu')).toBe(0.75);
  });
  it('errors: fans of a 1-D tensor, a bad mode or nonlinearity, a non-float tensor', () => {
    using v = zeros([5]);
    expect(thrown(() => init.xavierUniform_(v))).toBeInstanceOf(ArgumentError);
    using w = zeros([2, 2]);
    expect(thrown(() => init.kaimingUniform_(w, 0, 'fanIn' as 'fan_in'))).toBeInstanceOf(ArgumentError);
    expect(thrown(() => init.calculateGain('swish' as 'relu'))).toBeInstanceOf(ArgumentError);
    using i = zeros([2], { dtype: 'int32' });
    expect(thrown(() => init.normal_(i))).toBeInstanceOf(ArgumentError);
  });
});

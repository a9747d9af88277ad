// PyTorch golden values: every case of test/golden/pytorch.json (written by hand-run
// scripts/golden.py from PyTorch 1.13, in float64) replayed through wasmgrad's API —
// forward values, and the gradient of every float input for the recorded upstream gradient.
import { describe, expect, it } from 'vitest';
import { readJson } from './helpers/read-json.js';
import * as wg from '../ts/node.js';
import { tensor, tidy, type Tensor } from '../ts/node.js';

// ---- the JSON ------------------------------------------------------------------------------

type Value = number | 'inf' | '-inf' | 'nan';
interface Stored {
  shape: number[];
  values: Value[];
  dtype?: 'float32' | 'int32';
}
interface Input extends Stored {
  name: string;
  requiresGrad: boolean;
}
// Args are spelled as in wasmgrad's API; `any` lets each runner pass them on as they are.
type Args = Record<string, any>;
interface GoldenCase {
  name: string;
  op: string;
  args: Args;
  inputs: Input[];
  outputs: Stored[];
  upstream: (Stored | null)[];
  grads: Record<string, Stored>;
  updated?: Record<string, Stored>;
}

const decode = (v: Value): number => (v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v === 'nan' ? NaN : v);
const GOLDEN = (await readJson(new URL('./golden/pytorch.json', import.meta.url))) as { torch: string; cases: GoldenCase[] };

/** Tolerances: float32 results against float64 goldens. */
const RTOL = 1e-5;
const ATOL = 1e-6;

// ---- how each op of the JSON is called -----------------------------------------------------

/** Inputs by name, and in order (for cat/stack). */
interface Inputs {
  [name: string]: Tensor;
}
interface Runner {
  run: (t: Inputs, a: Args, list: Tensor[]) => Tensor | Tensor[];
  /**
   * The op records no gradient in wasmgrad (its output does not require grad) where
   * PyTorch's gradient is identically zero: the test checks both halves of that.
   */
  zeroGradIsNone?: true;
}

const UNARY = [
  'neg', 'exp', 'log', 'log1p', 'expm1', 'sqrt', 'rsqrt', 'abs', 'sin', 'cos', 'tan', 'tanh', 'sigmoid', 'relu',
  'silu', 'softplus', 'reciprocal', 'square', 'floor', 'ceil', 'round',
] as const;
const BINARY = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum'] as const;
const REDUCE = ['sum', 'mean', 'amax', 'amin'] as const;
const PAIR_LOSSES = ['mseLoss', 'l1Loss', 'smoothL1Loss', 'binaryCrossEntropy', 'binaryCrossEntropyWithLogits'] as const;
const pairOf = (r: { values: Tensor; indices: Tensor }): Tensor[] => [r.values, r.indices];
const norm = (p: number | string): number => (p === 'inf' ? Infinity : (p as number));

const RUNNERS: Record<string, Runner> = {
  ...Object.fromEntries(UNARY.map((name) => [name, { run: (t: Inputs) => wg[name](t.x!) }])),
  ...Object.fromEntries(
    BINARY.map((name) => [
      name,
      {
        run: (t: Inputs, a: Args) =>
          a.scalar === undefined ? wg[name](t.a!, t.b!) : a.reversed ? wg[name](a.scalar, t.x!) : wg[name](t.x!, a.scalar),
      },
    ]),
  ),
  ...Object.fromEntries(REDUCE.map((name) => [name, { run: (t: Inputs, a: Args) => t.x![name](a.dim, a.keepdim) }])),
  ...Object.fromEntries(PAIR_LOSSES.map((name) => [name, { run: (t: Inputs, a: Args) => wg[name](t.input!, t.target!, a) }])),
  sign: { run: (t) => t.x!.sign(), zeroGradIsNone: true },
  leakyRelu: { run: (t, a) => t.x!.leakyRelu(a.negativeSlope) },
  elu: { run: (t, a) => wg.elu(t.x!, a.alpha) },
  gelu: { run: (t, a) => t.x!.gelu({ approximate: a.approximate }) },
  clamp: { run: (t, a) => wg.clamp(t.x!, a.min ?? null, a.max ?? null) },
  max: { run: (t, a) => (a.dim === undefined ? t.x!.max() : pairOf(t.x!.max(a.dim, a.keepdim))) },
  min: { run: (t, a) => (a.dim === undefined ? t.x!.min() : pairOf(t.x!.min(a.dim, a.keepdim))) },
  var: { run: (t, a) => t.x!.var(a.dim, a.unbiased, a.keepdim) },
  std: { run: (t, a) => wg.std(t.x!, a.dim, a.unbiased, a.keepdim) },
  logsumexp: { run: (t, a) => t.x!.logsumexp(a.dim, a.keepdim) },
  norm: { run: (t, a) => t.x!.norm(norm(a.p ?? 2), a.dim, a.keepdim) },
  matmul: { run: (t) => t.a!.matmul(t.b!) },
  bmm: { run: (t) => wg.bmm(t.a!, t.b!) },
  outer: { run: (t) => wg.outer(t.a!, t.b!) },
  dot: { run: (t) => wg.dot(t.a!, t.b!) },
  reshape: { run: (t, a) => t.x!.reshape(a.shape) },
  permute: { run: (t, a) => t.x!.permute(a.dims) },
  transpose: { run: (t, a) => t.x!.transpose(a.dim0, a.dim1) },
  expand: { run: (t, a) => t.x!.expand(a.shape) },
  slice: { run: (t, a) => t.x!.slice(a.dim, a.start, a.end, a.step) },
  repeat: { run: (t, a) => t.x!.repeat(a.repeats) },
  tile: { run: (t, a) => wg.tile(t.x!, a.repeats) },
  tril: { run: (t, a) => t.x!.tril(a.diagonal) },
  triu: { run: (t, a) => wg.triu(t.x!, a.diagonal) },
  pad: { run: (t, a) => wg.pad(t.x!, a.padding, a.value) },
  cat: { run: (_, a, list) => wg.cat(list, a.dim) },
  stack: { run: (_, a, list) => wg.stack(list, a.dim) },
  where: { run: (t) => wg.where(t.cond!, t.a!, t.b!) },
  maskedFill: { run: (t, a) => t.x!.maskedFill(t.mask!, a.value) },
  indexSelect: { run: (t, a) => t.x!.indexSelect(a.dim, t.index!) },
  embedding: { run: (t) => wg.embedding(t.indices!, t.weight!) },
  softmax: { run: (t, a) => wg.softmax(t.x!, a.dim) },
  logSoftmax: { run: (t, a) => t.x!.logSoftmax(a.dim) },
  crossEntropy: { run: (t, a) => wg.crossEntropy(t.input!, t.target!, a) },
  nllLoss: { run: (t, a) => wg.nllLoss(t.input!, t.target!, a) },
  linear: { run: (t, a) => wg.linear(t.x!, t.weight!, t.bias, a) },
  conv1d: { run: (t, a) => wg.conv1d(t.input!, t.weight!, t.bias, a) },
  conv2d: { run: (t, a) => wg.conv2d(t.input!, t.weight!, t.bias, a) },
  maxPool2d: { run: (t, a) => wg.maxPool2d(t.input!, a.kernelSize, a) },
  avgPool2d: { run: (t, a) => wg.avgPool2d(t.input!, a.kernelSize, a) },
  adaptiveAvgPool2d: { run: (t, a) => wg.adaptiveAvgPool2d(t.input!, a.outputSize) },
  layerNorm: { run: (t, a) => wg.layerNorm(t.x!, a.normalizedShape, t.weight, t.bias, a.eps) },
  batchNorm: {
    run: (t, a) => wg.batchNorm(t.x!, t.runningMean ?? null, t.runningVar ?? null, { ...a, weight: t.weight, bias: t.bias }),
  },
  groupNorm: { run: (t, a) => wg.groupNorm(t.x!, a.numGroups, t.weight, t.bias, a.eps) },
  scaledDotProductAttention: { run: (t, a) => wg.scaledDotProductAttention(t.q!, t.k!, t.v!, a) },
};

// ---- comparison ----------------------------------------------------------------------------

function expectMatches(actual: ArrayLike<number>, expected: Stored, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.values.length);
  const bad: string[] = [];
  expected.values.forEach((v, i) => {
    const e = decode(v);
    const a = actual[i]!;
    const ok = Number.isNaN(e) ? Number.isNaN(a) : !Number.isFinite(e) ? a === e : Math.abs(a - e) <= ATOL + RTOL * Math.abs(e);
    if (!ok) bad.push(`[${i}] wasmgrad ${a}, PyTorch ${e}`);
  });
  expect(bad, `${what} differs from PyTorch ${GOLDEN.torch} (rtol ${RTOL}, atol ${ATOL})`).toEqual([]);
}

const make = (s: Input): Tensor =>
  tensor(s.values.map(decode), { shape: s.shape, dtype: s.dtype, requiresGrad: s.requiresGrad && s.dtype === 'float32' });

function replay(c: GoldenCase): void {
  const runner = RUNNERS[c.op];
  expect(runner, `no runner for op '${c.op}': add one to RUNNERS in test/golden.test.ts`).toBeDefined();
  tidy(() => {
    const list = c.inputs.map(make);
    const byName: Inputs = Object.fromEntries(c.inputs.map((s, i) => [s.name, list[i]!]));
    const result = runner!.run(byName, c.args, list);
    const outs = Array.isArray(result) ? result : [result];
    expect(outs.length, 'number of outputs').toBe(c.outputs.length);
    outs.forEach((o, k) => {
      const want = c.outputs[k]!;
      expect([...o.shape], `output ${k} shape`).toEqual(want.shape);
      expect(o.dtype, `output ${k} dtype`).toBe(want.dtype);
      expectMatches(o.data(), want, `output ${k}`);
    });
    for (const [name, want] of Object.entries(c.updated ?? {})) {
      expectMatches(byName[name]!.data(), want, `${name} after the op`);
    }

    const gradNames = Object.keys(c.grads);
    if (gradNames.length === 0) return;
    if (runner!.zeroGradIsNone) {
      for (const name of gradNames) expect(c.grads[name]!.values.every((v) => v === 0), `PyTorch's gradient of ${name} is zero`).toBe(true);
      outs.forEach((o, k) => expect(o.requiresGrad, `output ${k} requires grad`).toBe(false));
      return;
    }
    const seeded = outs.flatMap((o, k) => {
      const up = c.upstream[k];
      return up ? [{ o, up: tensor(up.values.map(decode), { shape: up.shape }) }] : [];
    });
    if (seeded.length === 1) seeded[0]!.o.backward(seeded[0]!.up);
    else seeded.map(({ o, up }) => o.mul(up).sum()).reduce((x, y) => x.add(y)).backward();
    for (const name of gradNames) {
      const g = byName[name]!.grad;
      expect(g, `gradient of ${name}`).not.toBeNull();
      expect([...g!.shape], `gradient of ${name}: shape`).toEqual(c.grads[name]!.shape);
      expectMatches(g!.data(), c.grads[name]!, `gradient of ${name}`);
    }
  });
}

describe(`PyTorch ${GOLDEN.torch} golden values (test/golden/pytorch.json)`, () => {
  it('has at least 80 cases with unique names', () => {
    expect(GOLDEN.cases.length).toBeGreaterThanOrEqual(80);
    expect(new Set(GOLDEN.cases.map((c) => c.name)).size).toBe(GOLDEN.cases.length);
  });
  for (const c of GOLDEN.cases) {
    it(`${c.name}: ${c.op}(${c.inputs.map((i) => `${i.name}[${i.shape.join(',')}]`).join(', ')}${Object.keys(c.args).length ? `, ${JSON.stringify(c.args)}` : ''})`, () => replay(c));
  }
});

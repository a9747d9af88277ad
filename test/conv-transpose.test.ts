// convTranspose2d: PyTorch 1.13 golden cases (test/golden/conv-transpose.json, written by
// scripts/golden_conv_transpose.py: output, first and second gradients), the float64
// reference (gradcheck and gradgradcheck), its duality with conv2d, and errors.
// Convolutions differentiate to any order now: conv2d's second derivatives are here too.
import { describe, expect, it } from 'vitest';
import { readJson } from './helpers/read-json.js';
import {
  ArgumentError, conv1d, conv2d, convTranspose2d, DTypeError, grad, OutOfMemoryError, ShapeError, tensor, tidy,
  type ConvTranspose2dOptions, type Tensor,
} from '../ts/node.js';
import { expectClose, gradcheck, gradgradcheck } from './helpers/gradcheck.js';
import { nd, permute, randomNd, type Nd } from './helpers/reference.js';
import { refConv1d, refConv2d, refConvTranspose2d, type ConvCfg, type ConvTransposeCfg } from './helpers/reference-nn.js';
import { run, thrown } from './helpers/snapshot.js';

interface GoldenCase {
  name: string;
  options: ConvTranspose2dOptions;
  input: { shape: number[]; data: number[] };
  weight: { shape: number[]; data: number[] };
  bias: number[] | null;
  upstream: number[];
  output: { shape: number[]; data: number[] };
  grads: number[][];
  gradgrads: number[][];
}

const GOLDEN = (await readJson(new URL('./golden/conv-transpose.json', import.meta.url))) as { cases: GoldenCase[] };

const pairOf = (v: number | readonly [number, number] | undefined, d: number): [number, number] =>
  v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : [v[0], v[1]];
/** The reference's configuration for API options. */
const cfgOf = (o: ConvTranspose2dOptions): ConvTransposeCfg => ({
  stride: pairOf(o.stride, 1), pad: pairOf(o.padding, 0), outputPad: pairOf(o.outputPadding, 0), dilation: pairOf(o.dilation, 1), groups: o.groups ?? 1,
});

// Sums of tens of float32 products, against float64: a few float32 ulps of the largest term.
const ATOL = 1e-4;
const RTOL = 1e-4;
const CONV_TOL = { forwardAtol: 1e-4, forwardRtol: 1e-4 };

describe('convTranspose2d against PyTorch (test/golden/conv-transpose.json)', () => {
  it('has the cases the script writes', () => {
    expect(GOLDEN.cases.length).toBeGreaterThanOrEqual(20);
  });

  for (const c of GOLDEN.cases) {
    it(`${c.name}: output, gradients, second gradients`, () => {
      tidy(() => {
        const xs = [c.input, c.weight, ...(c.bias === null ? [] : [{ shape: [c.bias.length], data: c.bias }])].map((t) =>
          tensor(t.data, { shape: t.shape, requiresGrad: true }),
        );
        const y = convTranspose2d(xs[0]!, xs[1]!, xs[2] ?? null, c.options);
        expect([...y.shape], 'output shape').toEqual(c.output.shape);
        expectClose(y.data(), c.output.data, ATOL, RTOL, 'output');
        const firsts = grad(y.mul(tensor(c.upstream, { shape: c.output.shape })).sum(), xs, { createGraph: true });
        firsts.forEach((g, i) => expectClose(g!.data(), c.grads[i]!, ATOL, RTOL, `gradient ${i}`));
        const total = firsts.map((g) => g!.square().sum()).reduce((a, b) => a.add(b));
        const seconds = grad(total, xs, { allowUnused: true });
        seconds.forEach((g, i) =>
          expectClose(g === null ? new Array<number>(xs[i]!.size).fill(0) : g.data(), c.gradgrads[i]!, 1e-3, RTOL, `second gradient ${i}`),
        );
      });
    });
  }
});

describe('convTranspose2d against the float64 reference', () => {
  const cases: [string, number[], number[], boolean, ConvTranspose2dOptions][] = [
    ['stride 2, padding 1, k 4', [2, 3, 3, 3], [3, 2, 4, 4], true, { stride: 2, padding: 1 }],
    ['groups 2, dilation [1, 2], outputPadding [1, 1]', [1, 4, 3, 3], [4, 1, 2, 3], true, { groups: 2, dilation: [1, 2], stride: [2, 1], outputPadding: [1, 1] }],
    ['depthwise', [2, 3, 3, 4], [3, 1, 3, 3], false, { groups: 3, padding: 1 }],
    ['unbatched, 1x1', [3, 2, 3], [3, 2, 1, 1], true, { stride: [1, 2] }],
  ];
  for (const [name, xs, ws, bias, options] of cases) {
    const inputs = [randomNd(xs, 11), randomNd(ws, 12, -1, 1), ...(bias ? [randomNd([ws[1]! * (options.groups ?? 1)], 13, -1, 1)] : [])];
    const fn = (x: Tensor, w: Tensor, b?: Tensor) => convTranspose2d(x, w, b, options);
    const ref = (x: Nd, w: Nd, b?: Nd) => refConvTranspose2d(x, w, b ?? null, cfgOf(options));
    it(`${name}: forward and gradient`, () => gradcheck(fn, ref, inputs, CONV_TOL));
    it(`${name}: second derivative`, () => gradgradcheck(fn, ref, inputs));
  }

  it('a non-contiguous weight and input (permuted views) give the same values', () => {
    const x = randomNd([2, 3, 3, 2], 21);
    const w = randomNd([3, 2, 2, 2], 22, -1, 1);
    const want = run(() => convTranspose2d(tensor(Array.from(x.data), { shape: x.shape }), tensor(Array.from(w.data), { shape: w.shape }), null, { stride: 2 }));
    const got = run(() => {
      // The same logical tensors, stored with their first and last dims swapped.
      const xt = tensor(Array.from(permute(x, [3, 1, 2, 0]).data), { shape: [2, 3, 3, 2] }).transpose(0, 3);
      const wt = tensor(Array.from(permute(w, [1, 0, 2, 3]).data), { shape: [2, 3, 2, 2] }).transpose(0, 1);
      return convTranspose2d(xt, wt, null, { stride: 2 });
    });
    expect(got.shape).toEqual(want.shape);
    expectClose(got.data, want.data, 0, 0, 'permuted views');
  });

  it('is the adjoint of conv2d in its input: ⟨conv2d(x, w), y⟩ = ⟨x, convTranspose2d(y, w)⟩', () => {
    const opts = { stride: [2, 3] as [number, number], padding: [1, 2] as [number, number], dilation: [2, 1] as [number, number], groups: 2 };
    const x = randomNd([2, 4, 9, 10], 31);
    const w = randomNd([6, 2, 3, 4], 32, -1, 1);
    tidy(() => {
      const [xt, wt] = [x, w].map((t) => tensor(Array.from(t.data), { shape: t.shape }));
      const y = conv2d(xt!, wt!, null, opts);
      const u = tensor(Array.from(randomNd([...y.shape], 33).data), { shape: y.shape });
      // conv2d's input of 9×10 maps to 4×4; back from 4×4 the transposed convolution gives
      // 9×9 unless outputPadding restores the column the stride skipped.
      const back = convTranspose2d(u, wt!, null, { ...opts, outputPadding: [0, 1] });
      expect([...back.shape]).toEqual(x.shape);
      const lhs = Number(y.mul(u).sum().item());
      const rhs = Number(xt!.mul(back).sum().item());
      expect(Math.abs(lhs - rhs)).toBeLessThan(1e-3 * Math.max(1, Math.abs(lhs)));
    });
  });

  it('an empty batch gives an empty output and zero weight and bias gradients', () => {
    tidy(() => {
      const x = tensor([], { shape: [0, 2, 3, 3], requiresGrad: true });
      const w = tensor(Array.from(randomNd([2, 3, 2, 2], 41).data), { shape: [2, 3, 2, 2], requiresGrad: true });
      const b = tensor([1, 2, 3], { requiresGrad: true });
      const y = convTranspose2d(x, w, b, { stride: 2 });
      expect([...y.shape]).toEqual([0, 3, 6, 6]);
      y.sum().backward();
      expect([...x.grad!.shape]).toEqual([0, 2, 3, 3]);
      expect(Array.from(w.grad!.data())).toEqual(new Array(24).fill(0));
      expect(Array.from(b.grad!.data())).toEqual([0, 0, 0]);
    });
  });
});

describe('conv2d and conv1d differentiate twice (their backward is made of the conv maps)', () => {
  const cases: [string, number[], number[], ConvCfg, Parameters<typeof conv2d>[3]][] = [
    ['groups 2, stride 2, dilation 2', [1, 4, 6, 7], [4, 2, 2, 3], { groups: 2, stride: [2, 2], dilation: [2, 2] }, { groups: 2, stride: 2, dilation: 2 }],
    ["padding 'same' with an even kernel (asymmetric)", [1, 2, 4, 5], [3, 2, 2, 4], { pad: [0, 1], padEnd: [1, 2] }, { padding: 'same' }],
    ['depthwise, padding 1', [2, 3, 4, 4], [3, 1, 3, 3], { groups: 3, pad: [1, 1] }, { groups: 3, padding: 1 }],
    ['1x1 (pointwise)', [2, 3, 2, 3], [2, 3, 1, 1], {}, {}],
  ];
  for (const [name, xs, ws, cfg, options] of cases) {
    it(`conv2d, ${name}`, () =>
      gradgradcheck(
        (x, w, b) => conv2d(x, w, b, options),
        (x, w, b) => refConv2d(x, w, b!, cfg),
        [randomNd(xs, 51), randomNd(ws, 52, -1, 1), randomNd([ws[0]!], 53, -1, 1)],
      ));
  }
  it('conv1d, stride 2, padding 1, unbatched', () =>
    gradgradcheck(
      (x, w, b) => conv1d(x, w, b, { stride: 2, padding: 1 }),
      (x, w, b) => refConv1d(x, w, b!, 2, 1),
      [randomNd([2, 7], 61), randomNd([3, 2, 3], 62, -1, 1), randomNd([3], 63, -1, 1)],
    ));

  it('third derivatives through conv2d (a Hessian of a Hessian-vector product) are finite and recorded', () => {
    tidy(() => {
      const x = tensor(Array.from(randomNd([1, 2, 4, 4], 71).data), { shape: [1, 2, 4, 4], requiresGrad: true });
      const w = tensor(Array.from(randomNd([2, 2, 3, 3], 72).data), { shape: [2, 2, 3, 3], requiresGrad: true });
      const y = conv2d(x, w, null, { padding: 1 }).pow(3).sum();
      const [gx] = grad(y, x, { createGraph: true });
      const [gw] = grad(gx!.square().sum(), w, { createGraph: true });
      expect(gw!.requiresGrad).toBe(true);
      const [gx3] = grad(gw!.sum(), x);
      expect(Array.from(gx3!.data()).every(Number.isFinite)).toBe(true);
    });
  });
});

describe('convTranspose2d errors', () => {
  const x4 = (c = 4, h = 3, w = 3) => tensor(new Float32Array(2 * c * h * w), { shape: [2, c, h, w] });
  const w4 = (i = 4, o = 3, k = 3) => tensor(new Float32Array(i * o * k * k), { shape: [i, o, k, k] });
  const expectError = (f: () => unknown, cls: new (...args: never[]) => Error, ...parts: string[]) => {
    const err = thrown(f);
    expect(err).toBeInstanceOf(cls);
    expect(err.message).toContain('convTranspose2d');
    for (const p of parts) expect(err.message).toContain(p);
  };

  it('ranks, channels, groups, bias, empty dims', () => {
    expectError(() => convTranspose2d(tensor([[1, 2]]), w4()), ShapeError, '[1, 2]');
    expectError(() => convTranspose2d(tensor(new Float32Array(4), { shape: [1, 1, 1, 2, 2] }), w4()), ShapeError, '[1, 1, 1, 2, 2]');
    expectError(() => convTranspose2d(x4(), tensor([[[1]]])), ShapeError, '4-D weight', '[1, 1, 1]');
    expectError(() => convTranspose2d(x4(3), w4()), ShapeError, '[4, 3, 3, 3]', '[2, 3, 3, 3]', '3 channels');
    expectError(() => convTranspose2d(x4(), w4(), null, { groups: 3 }), ShapeError, 'groups=3', '[4, 3, 3, 3]');
    expectError(() => convTranspose2d(x4(), w4(), tensor([1, 2, 3, 4, 5])), ShapeError, 'bias', '[5]', '[3]');
    expectError(() => convTranspose2d(x4(), w4(), tensor([1, 2, 3]), { groups: 2 }), ShapeError, 'bias', 'groups=2', '[6]');
    expectError(() => convTranspose2d(x4(), tensor([], { shape: [4, 0, 3, 3] })), ShapeError, 'no channels');
    expectError(() => convTranspose2d(tensor([], { shape: [1, 0, 3, 3] }), tensor([], { shape: [0, 3, 3, 3] })), ShapeError, 'no channels');
    expectError(() => convTranspose2d(x4(), tensor([], { shape: [4, 3, 0, 3] })), ShapeError, 'empty kernel');
    expectError(() => convTranspose2d(tensor([], { shape: [1, 4, 0, 3] }), w4()), ShapeError, 'only the batch may be empty', '[1, 4, 0, 3]');
  });

  it('stride, padding, outputPadding, dilation, groups, output size', () => {
    expectError(() => convTranspose2d(x4(), w4(), null, { outputPadding: 1 }), ArgumentError, 'outputPadding must be smaller than either stride or dilation');
    expectError(() => convTranspose2d(x4(), w4(), null, { stride: 2, outputPadding: [1, 2] }), ArgumentError, 'outputPadding');
    expectError(() => convTranspose2d(x4(), w4(), null, { stride: [1, 0] }), ArgumentError, 'stride');
    expectError(() => convTranspose2d(x4(), w4(), null, { padding: -1 }), ArgumentError, 'padding');
    expectError(() => convTranspose2d(x4(), w4(), null, { outputPadding: -1 }), ArgumentError, 'outputPadding');
    expectError(() => convTranspose2d(x4(), w4(), null, { dilation: 0 }), ArgumentError, 'dilation');
    expectError(() => convTranspose2d(x4(), w4(), null, { groups: 0 }), ArgumentError, 'groups');
    expectError(() => convTranspose2d(x4(), w4(), null, { stride: 1.5 }), ArgumentError);
    expectError(() => convTranspose2d(x4(), w4(), null, { stride: [1, 2, 3] as never }), ArgumentError, 'stride');
    expectError(() => convTranspose2d(x4(), w4(), null, { padding: 'same' as never }), ArgumentError, 'padding');
    // (3 − 1)·1 − 2·3 + 2 + 1 = −1.
    expectError(() => convTranspose2d(x4(), w4(), null, { padding: 3 }), ShapeError, 'too small', '[-1, -1]');
    expectError(() => convTranspose2d(x4(), w4(), null, { stride: 2 ** 40 }), ShapeError, 'exceeds the maximum size');
    expectError(() => convTranspose2d(x4().to('int32'), w4()), DTypeError);
    expectError(() => convTranspose2d(x4(), w4(), tensor([1, 2, 3]).to('int32')), DTypeError);
  });

  it('a column matrix too large for memory is an OutOfMemoryError, not a trap; the instance keeps working', () => {
    // Its column matrix [1023·32·32, 32·32] holds just under 2³⁰ elements: 4 GiB.
    const x = tensor(new Float32Array(32 * 32), { shape: [1, 1, 32, 32] });
    const w = tensor(new Float32Array(1023 * 32 * 32), { shape: [1, 1023, 32, 32] });
    expectError(() => convTranspose2d(x, w), OutOfMemoryError);
    x.dispose();
    w.dispose();
    expect(run(() => convTranspose2d(tensor([[[[2]]]]), tensor([[[[3]]]]))).data).toEqual([6]);
  });

  it('huge strides and dilations where they cannot matter compute, as in PyTorch (no trap)', () => {
    // One input pixel: the stride never applies; a 1-tap kernel: the dilation never does.
    const x = nd([1, 2, 1, 1], [1, -2]);
    const w = nd([2, 1, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
    const big = 2 ** 40;
    const got = run(() => convTranspose2d(tensor(Array.from(x.data), { shape: x.shape }), tensor(Array.from(w.data), { shape: w.shape }), null, { stride: big, outputPadding: 1 }));
    const want = refConvTranspose2d(x, w, null, { stride: [big, big], outputPad: [1, 1] });
    expect(got.shape).toEqual(want.shape);
    expectClose(got.data, want.data, 0, 0, 'huge stride');
    const dil = run(() => convTranspose2d(tensor([1, 2, 3, 4], { shape: [1, 1, 2, 2] }), tensor([2], { shape: [1, 1, 1, 1] }), null, { dilation: big }));
    expect(dil.data).toEqual([2, 4, 6, 8]);
    // conv2d: a huge stride over a kernel-sized input gives its one output position.
    expect(run(() => conv2d(tensor([1, 2, 3, 4], { shape: [1, 1, 2, 2] }), tensor([1, 1, 1, 1], { shape: [1, 1, 2, 2] }), null, { stride: big })).data).toEqual([10]);
  });
});

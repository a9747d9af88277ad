// Convolution and pooling: conv2d, conv1d, maxPool2d, avgPool2d, adaptiveAvgPool2d —
// forward against direct nested-loop float64 references (helpers/reference-nn.ts), gradients through
// gradcheck, PyTorch 1.13 golden values, errors.
import { describe, expect, it } from 'vitest';
import {
  adaptiveAvgPool2d, ArgumentError, AutogradError, avgPool2d, conv1d, conv2d, DTypeError, maxPool2d, noGrad,
  OutOfMemoryError, ShapeError, tensor, tidy, type Tensor,
} from '../ts/node.js';
import { expectClose, gradcheck } from './helpers/gradcheck.js';
import { nd, numel, permute, randomNd, type Nd } from './helpers/reference.js';
import {
  refAdaptiveAvgPool2d, refAvgPool2d, refConv1d, refConv2d, refMaxPool2d, type ConvCfg, type PoolCfg,
} from './helpers/reference-nn.js';
import { run, T, thrown } from './helpers/snapshot.js';

/** Deterministic exact float32 values `((i·a) mod m − off) / div` (the golden inputs). */
const seq = (shape: number[], a: number, m: number, off: number, div: number): Nd =>
  nd(shape, Array.from({ length: numel(shape) }, (_, i) => (((i * a) % m) - off) / div));

/** Forward and `(y · c).sum()` gradients of `f` for golden-value checks. */
function forwardAndGrads(f: (...xs: Tensor[]) => Tensor, inputs: Nd[], c: (shape: number[]) => Nd) {
  return tidy(() => {
    const ts = inputs.map((x) => tensor(Array.from(x.data), { shape: x.shape, requiresGrad: true }));
    const y = f(...ts);
    y.mul(T(c([...y.shape]))).sum().backward();
    return { shape: [...y.shape], y: Array.from(y.data()), grads: ts.map((t) => Array.from(t.grad!.data())) };
  });
}

const CONV_TOL = { forwardAtol: 1e-4, forwardRtol: 1e-4 };

// ---- conv2d --------------------------------------------------------------------------------

describe('conv2d', () => {
  const cases: [string, number[], number[], boolean, ConvCfg][] = [
    ['3x3, padding 1, batch 2, bias', [2, 3, 6, 5], [4, 3, 3, 3], true, { pad: [1, 1] }],
    ['stride 2, padding 1', [2, 3, 7, 7], [2, 3, 3, 3], true, { stride: [2, 2], pad: [1, 1] }],
    ['dilation 2, padding [2, 1], no bias', [1, 2, 8, 7], [3, 2, 3, 3], false, { dilation: [2, 2], pad: [2, 1] }],
    ['groups 2', [2, 4, 5, 5], [6, 2, 3, 3], true, { groups: 2 }],
    ['depthwise (groups = C), stride [1, 2]', [2, 3, 6, 6], [3, 1, 3, 3], true, { groups: 3, pad: [1, 1], stride: [1, 2] }],
    ['depthwise with multiplier 2, dilation', [1, 3, 7, 6], [6, 1, 3, 2], false, { groups: 3, pad: [2, 1], dilation: [2, 1] }],
    ['single input channel, 9 filters', [2, 1, 6, 6], [9, 1, 3, 3], true, { pad: [1, 0], stride: [2, 1] }],
    ['one channel per group, 4 filters each', [1, 2, 5, 5], [8, 1, 3, 3], true, { groups: 2, pad: [1, 1] }],
    ['1x1 depthwise', [2, 4, 3, 3], [4, 1, 1, 1], false, { groups: 4 }],
    ['1x1 kernel (the input is the column matrix)', [2, 5, 4, 3], [3, 5, 1, 1], true, {}],
    ['1x1 kernel, stride 2 and padding 1', [1, 4, 5, 4], [3, 4, 1, 1], true, { stride: [2, 2], pad: [1, 1] }],
    ['non-square 2x4 kernel, stride [2, 1], padding [1, 2]', [2, 3, 5, 6], [4, 3, 2, 4], true, { stride: [2, 1], pad: [1, 2] }],
    ['kernel as large as the input', [1, 2, 3, 4], [2, 2, 3, 4], true, {}],
  ];
  for (const [label, xs, ws, bias, cfg] of cases) {
    it(`${label}: forward and gradients of input, weight${bias ? ', bias' : ''}`, () => {
      const inputs = [randomNd(xs, 1), randomNd(ws, 2), ...(bias ? [randomNd([ws[0]!], 3)] : [])];
      const options = { stride: cfg.stride, padding: cfg.pad, dilation: cfg.dilation, groups: cfg.groups };
      gradcheck((x, w, b) => conv2d(x, w, b ?? null, options), (x, w, b) => refConv2d(x, w, b ?? null, cfg), inputs, CONV_TOL);
    });
  }

  it('unbatched [C, H, W] input gives [O, OH, OW]', () => {
    gradcheck((x, w, b) => conv2d(x, w, b, { padding: 1, stride: [2, 1] }), (x, w, b) => refConv2d(x, w, b, { pad: [1, 1], stride: [2, 1] }),
      [randomNd([3, 5, 6], 4), randomNd([2, 3, 3, 3], 5), randomNd([2], 6)], CONV_TOL);
  });

  it('sizes that take the packed GEMM path (forward and all gradients)', () => {
    gradcheck((x, w, b) => conv2d(x, w, b, { padding: 1 }), (x, w, b) => refConv2d(x, w, b, { pad: [1, 1] }),
      [randomNd([1, 8, 9, 9], 7), randomNd([12, 8, 3, 3], 8), randomNd([12], 9)], CONV_TOL);
  });

  it('a larger forward (batch 2, 16 → 32 channels, 14x14)', () => {
    const [x, w, b] = [randomNd([2, 16, 14, 14], 10), randomNd([32, 16, 3, 3], 11), randomNd([32], 12)];
    const got = run(() => conv2d(T(x), T(w), T(b), { padding: 1, stride: 1 }));
    const ref = refConv2d(x, w, b, { pad: [1, 1] });
    expect(got.shape).toEqual(ref.shape);
    expectClose(got.data, ref.data, 1e-3, 1e-4, 'conv2d');
  });

  it("padding 'same' (an even kernel pads one more after) and 'valid'", () => {
    const inputs = [randomNd([1, 2, 5, 6], 13), randomNd([3, 2, 4, 3], 14)];
    gradcheck((x, w) => conv2d(x, w, null, { padding: 'same', dilation: [1, 2] }),
      (x, w) => refConv2d(x, w, null, { pad: [1, 2], padEnd: [2, 2], dilation: [1, 2] }), inputs, CONV_TOL);
    const valid = run(() => conv2d(T(inputs[0]!), T(inputs[1]!), null, { padding: 'valid' }));
    expect(valid.shape).toEqual([1, 3, 2, 4]);
    expectClose(valid.data, refConv2d(inputs[0]!, inputs[1]!, null).data, 1e-4, 1e-4, "padding 'valid'");
  });

  it('reads a non-contiguous input (a permuted view)', () => {
    const xt = randomNd([2, 5, 3, 4], 15); // [N, H, C, W]
    const w = randomNd([2, 3, 2, 2], 16);
    const got = run(() => conv2d(T(xt).permute(0, 2, 1, 3), T(w), null, { padding: 1 }));
    expectClose(got.data, refConv2d(permute(xt, [0, 2, 1, 3]), w, null, { pad: [1, 1] }).data, 1e-4, 1e-4, 'conv2d(permuted)');
  });

  it('gradients only where required, and one node named as in PyTorch', () => {
    const [xv, wv] = [randomNd([1, 2, 4, 4], 17), randomNd([3, 2, 3, 3], 18)];
    const result = tidy(() => {
      const x = T(xv);
      const w = tensor(Array.from(wv.data), { shape: wv.shape, requiresGrad: true });
      const b = tensor([0.5, -1, 2], { requiresGrad: true });
      const y = conv2d(x, w, b);
      y.sum().backward();
      return { name: y.gradFn, xGrad: x.grad, wGrad: Array.from(w.grad!.data()), bGrad: Array.from(b.grad!.data()) };
    });
    expect(result.name).toBe('ConvolutionBackward0');
    expect(result.xGrad).toBeNull();
    expect(result.bGrad).toEqual([4, 4, 4]); // 2x2 outputs per channel
    // dL/dw[o, c, i, j] = Σ over the 2x2 outputs of the input they read.
    const expected = Array.from({ length: 3 * 2 * 9 }, (_, k) => {
      const [c, i, j] = [Math.floor(k / 9) % 2, Math.floor(k / 3) % 3, k % 3];
      let s = 0;
      for (let oy = 0; oy < 2; oy++) for (let ox = 0; ox < 2; ox++) s += xv.data[(c * 4 + oy + i) * 4 + ox + j]!;
      return s;
    });
    expectClose(result.wGrad, expected, 1e-5, 1e-5, 'weight grad');
  });

  it('backward after an in-place change of the saved input throws', () => {
    const err = thrown(() => {
      const x = tensor(Array.from(randomNd([1, 1, 3, 3], 19).data), { shape: [1, 1, 3, 3], requiresGrad: true });
      const y = conv2d(x, tensor([[[[1, 2], [3, 4]]]], { requiresGrad: true }));
      noGrad(() => x.add_(1));
      y.sum().backward();
    });
    expect(err).toBeInstanceOf(AutogradError);
  });

  it('matches PyTorch 1.13 golden values (stride, padding, dilation, groups, bias)', () => {
    // x = seq([2,4,5,5], 37, 17, 8, 8); w = seq([6,2,3,3], 13, 11, 5, 5); b = seq([6], 1, 100, 2, 4)
    //   with seq(shape, a, m, off, div)[i] = ((i*a) % m - off) / div, all requires_grad
    // y = F.conv2d(x, w, b, stride=(2,1), padding=(1,2), dilation=(1,2), groups=2)
    // (y * seq(y.shape, 7, 6, 2, 2)).sum().backward()
    const got = forwardAndGrads((x, w, b) => conv2d(x, w, b, { stride: [2, 1], padding: [1, 2], dilation: [1, 2], groups: 2 }),
      [seq([2, 4, 5, 5], 37, 17, 8, 8), seq([6, 2, 3, 3], 13, 11, 5, 5), seq([6], 1, 100, 2, 4)], (s) => seq(s, 7, 6, 2, 2));
    expect(got.shape).toEqual([2, 6, 3, 5]);
    // y.flatten()[:8]
    expectClose(got.y.slice(0, 8), [-2.2249999046325684, -0.8500000238418579, -0.10000002384185791, 0.6000001430511475,
      -0.9500000476837158, -2.75, -1.3249999284744263, -0.824999988079071], 1e-5, 1e-5, 'y');
    // x.grad.flatten()[:12]
    expectClose(got.grads[0]!.slice(0, 12), [0.5, -2.1999998092651367, -3.799999952316284, -1.1920928955078125e-7, -0.19999998807907104,
      -0.6000000238418579, -0.6000000238418579, 2.5, 0.5, 1.2000000476837158, 1.4000000953674316, 0.5], 1e-5, 1e-5, 'x.grad');
    // w.grad.flatten()[:12]
    expectClose(got.grads[1]!.slice(0, 12), [-0.6875, 3.25, 2.5, -1.125, -1.1875, 1.125, -0.125, -2.625, -0.3125, -0.125, 2.6875, -2.3125],
      1e-5, 1e-5, 'w.grad');
    // b.grad
    expectClose(got.grads[2]!, [3, 12, 3, 12, 3, 12], 1e-6, 0, 'b.grad');
  });
});

// ---- conv1d --------------------------------------------------------------------------------

describe('conv1d', () => {
  it('stride 2, padding 1, dilation 2, bias: forward and gradients', () => {
    gradcheck((x, w, b) => conv1d(x, w, b, { stride: 2, padding: 1, dilation: 2 }), (x, w, b) => refConv1d(x, w, b, 2, 1, 2),
      [randomNd([2, 3, 11], 20), randomNd([4, 3, 3], 21), randomNd([4], 22)], CONV_TOL);
  });
  it('groups, and an unbatched [C, L] input', () => {
    gradcheck((x, w) => conv1d(x, w, null, { groups: 2, padding: [2] }), (x, w) => refConv1d(x, w, null, 1, 2, 1, 2),
      [randomNd([2, 4, 6], 23), randomNd([6, 2, 3], 24)], CONV_TOL);
    gradcheck((x, w, b) => conv1d(x, w, b), (x, w, b) => refConv1d(x, w, b), [randomNd([3, 7], 25), randomNd([2, 3, 4], 26), randomNd([2], 27)], CONV_TOL);
  });
  it('records ConvolutionBackward0', () => {
    expect(tidy(() => conv1d(tensor([[[1, 2, 3]]], { requiresGrad: true }), tensor([[[1, 1]]])).gradFn)).toBe('ConvolutionBackward0');
  });
  it('matches PyTorch 1.13 golden values', () => {
    const x = seq([1, 2, 7], 5, 7, 3, 2);
    const w = seq([3, 2, 4], 3, 5, 2, 2);
    // F.conv1d(x, w, padding='same') with x = seq([1,2,7], 5, 7, 3, 2), w = seq([3,2,4], 3, 5, 2, 2)
    const same = run(() => conv1d(T(x), T(w), null, { padding: 'same' }));
    expect(same.shape).toEqual([1, 3, 7]);
    expectClose(same.data, [0.75, 0.5, -0.25, 0.75, 0, -1.75, -0.25, -2.5, 0.75, 0.75, -2.75, 0.75, 1.75, -0.25, 0.5, -0.25, 0.5, 1.25, 0.25, -1, -0.25],
      1e-6, 1e-6, "padding 'same'");
    // F.conv1d(x, w, None, 2, 1, 2, 1)  (stride 2, padding 1, dilation 2)
    const strided = run(() => conv1d(T(x), T(w), null, { stride: 2, padding: 1, dilation: 2 }));
    expect(strided.shape).toEqual([1, 3, 2]);
    expectClose(strided.data, [-0.25, -0.5, 1.75, -1, 0, -0.25], 1e-6, 1e-6, 'strided');
  });
});

// ---- pooling -------------------------------------------------------------------------------

describe('maxPool2d', () => {
  const cases: [string, number[], [number, number], PoolCfg][] = [
    ['2x2 (stride defaults to the kernel)', [2, 3, 6, 5], [2, 2], {}],
    ['3x3 stride 2 padding 1 (overlapping windows)', [2, 2, 7, 6], [3, 3], { stride: [2, 2], pad: [1, 1] }],
    ['3x3 stride 1 (heavily overlapping)', [1, 2, 5, 5], [3, 3], { stride: [1, 1] }],
    ['dilation 2', [1, 2, 8, 9], [3, 2], { stride: [1, 2], dilation: [2, 2], pad: [1, 1] }],
    ['non-square kernel, ceilMode', [2, 1, 7, 8], [2, 3], { stride: [2, 2], pad: [1, 1], ceil: true }],
    ['unbatched [C, H, W]', [3, 5, 6], [2, 2], { stride: [1, 2] }],
  ];
  for (const [label, xs, k, cfg] of cases) {
    it(`${label}: forward and gradient`, () => {
      const options = { stride: cfg.stride, padding: cfg.pad, dilation: cfg.dilation, ceilMode: cfg.ceil };
      gradcheck((x) => maxPool2d(x, k, options), (x) => refMaxPool2d(x, k, cfg).out, [randomNd(xs, 30)]);
    });
  }

  it('ties send the gradient to the first maximum (row-major), as PyTorch; NaN wins', () => {
    const x = nd([1, 1, 4, 5], [1, 1, 0, 2, 2, 1, 1, 0, 2, 2, 0, 0, 0, 0, 0, 3, 3, 3, 3, 3]);
    const cfg: PoolCfg = { stride: [1, 1], pad: [1, 1] };
    const { out, argmax } = refMaxPool2d(x, [3, 3], cfg);
    const result = tidy(() => {
      const t = tensor(Array.from(x.data), { shape: x.shape, requiresGrad: true });
      const y = maxPool2d(t, 3, { stride: 1, padding: 1 });
      const up = Array.from({ length: y.size }, (_, i) => i + 1);
      y.backward(tensor(up, { shape: [...y.shape] }));
      return { y: Array.from(y.data()), grad: Array.from(t.grad!.data()), up };
    });
    expect(result.y).toEqual(Array.from(out.data));
    const expected = new Array<number>(x.data.length).fill(0);
    argmax.forEach((at, o) => (expected[at]! += result.up[o]!));
    expect(result.grad).toEqual(expected);

    const nan = run(() => maxPool2d(tensor([[[[1, NaN], [5, 2]]]]), 2));
    expect(Number.isNaN(nan.data[0])).toBe(true);
    const allNegInf = run(() => maxPool2d(tensor([[[[-Infinity, -Infinity], [-Infinity, -Infinity]]]]), 2));
    expect(allNegInf.data).toEqual([-Infinity]);
  });

  it('records MaxPool2DWithIndicesBackward0', () => {
    expect(tidy(() => maxPool2d(tensor([[[[1, 2], [3, 4]]]], { requiresGrad: true }), 2).gradFn)).toBe('MaxPool2DWithIndicesBackward0');
  });

  it('matches PyTorch 1.13 golden values (ties, padding, ceil_mode)', () => {
    // x = seq([1,1,5,5], 3, 4, 0, 1) (values 0..3 with many ties), requires_grad
    // y = F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True); (y * (arange(9) + 1)).sum().backward()
    const got = forwardAndGrads((x) => maxPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true }), [seq([1, 1, 5, 5], 3, 4, 0, 1)],
      (s) => nd(s, Array.from({ length: numel(s) }, (_, i) => i + 1)));
    expect(got.shape).toEqual([1, 1, 3, 3]);
    expect(got.y).toEqual([3, 3, 3, 3, 3, 3, 3, 3, 2]);
    expect(got.grads[0]).toEqual([0, 3, 0, 0, 0, 4, 0, 0, 0, 9, 0, 0, 0, 5, 0, 0, 0, 8, 9, 0, 0, 7, 0, 0, 0]);
  });
});

describe('avgPool2d', () => {
  const cases: [string, number[], [number, number], PoolCfg & { countIncludePad?: boolean; divisor?: number }][] = [
    ['2x2', [2, 3, 6, 4], [2, 2], {}],
    ['3x3 stride 2 padding 1, padding counted', [2, 2, 7, 6], [3, 3], { stride: [2, 2], pad: [1, 1] }],
    ['3x3 stride 2 padding 1, padding not counted', [2, 2, 7, 6], [3, 3], { stride: [2, 2], pad: [1, 1], countIncludePad: false }],
    ['overlapping 3x2 stride 1, ceilMode', [1, 2, 5, 6], [3, 2], { stride: [1, 1], pad: [1, 1], ceil: true, countIncludePad: false }],
    ['ceilMode with stride 2 (a partial last window)', [1, 1, 6, 7], [3, 3], { stride: [2, 2], pad: [1, 0], ceil: true }],
    ['divisorOverride', [1, 2, 5, 5], [2, 3], { stride: [1, 2], pad: [1, 1], divisor: 5 }],
    ['unbatched [C, H, W]', [2, 5, 5], [2, 2], { stride: [1, 1] }],
  ];
  for (const [label, xs, k, cfg] of cases) {
    it(`${label}: forward and gradient`, () => {
      const options = { stride: cfg.stride, padding: cfg.pad, ceilMode: cfg.ceil, countIncludePad: cfg.countIncludePad, divisorOverride: cfg.divisor };
      gradcheck((x) => avgPool2d(x, k, options), (x) => refAvgPool2d(x, k, cfg), [randomNd(xs, 31)]);
    });
  }

  it('records AvgPool2DBackward0', () => {
    expect(tidy(() => avgPool2d(tensor([[[[1, 2], [3, 4]]]], { requiresGrad: true }), 2).gradFn)).toBe('AvgPool2DBackward0');
  });

  it('matches PyTorch 1.13 golden values', () => {
    const x = seq([1, 2, 5, 6], 5, 11, 4, 4);
    // y = F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
    // (y * seq(y.shape, 3, 7, 3, 2)).sum().backward()
    const got = forwardAndGrads((t) => avgPool2d(t, 3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }), [x],
      (s) => seq(s, 3, 7, 3, 2));
    expect(got.shape).toEqual([1, 2, 3, 4]);
    expectClose(got.y, [-0.0625, 0.2083333283662796, -0.0416666679084301, -0.625, 0.4166666567325592, 0.3055555522441864, 0.0555555559694767,
      0.0833333358168602, 0.4375, 0.25, 0, -0.125, 0.3125, 0.125, 0.3333333432674408, 1.125, 0.3333333432674408, 0.2222222238779068,
      0.2777777910232544, 0, 0.125, 0.1666666716337204, 0.375, 0.25], 1e-6, 1e-6, 'y');
    expectClose(got.grads[0]!, [-0.375, -0.375, 0, 0.25, 0.25, 0, -0.2083333283662796, -0.3194444477558136, -0.1111111119389534, 0.1944444477558136,
      0.3055555522441864, -0.4444444477558136, 0.1666666716337204, 0.055555559694767, -0.1111111119389534, -0.0555555559694767, 0.0555555559694767,
      -0.4444444477558136, 0.1666666716337204, 0.3055555522441864, 0.1388888955116272, 0.1111111119389534, -0.0277777798473835, -0.027777791023254395,
      0, 0.25, 0.25, 0.1666666567325592, -0.0833333358168602, 0.4166666567325592, -0.25, -0.1666666567325592, 0.0833333358168602, -0.1666666567325592,
      -0.25, -0.25, 0, 0.027777787297964096, 0.0277777798473835, -0.1111110970377922, -0.1388888955116272, -0.472222238779068, 0.25, 0.1944444477558136,
      -0.0555555559694767, 0.0555555559694767, 0.1111111119389534, -0.222222238779068, 0.375, 0.0694444477558136, -0.3055555522441864,
      -0.1944444477558136, 0.1111111119389534, 0.5277777910232544, 0.125, -0.125, -0.25, -0.25, 0, 0.75], 1e-6, 1e-6, 'x.grad');
    // F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=True)
    const included = run(() => avgPool2d(T(x), 3, { stride: 2, padding: 1, ceilMode: true }));
    expectClose(included.data, [-0.02777777798473835, 0.1388888955116272, -0.02777777798473835, -0.2083333283662796, 0.2777777910232544,
      0.3055555522441864, 0.0555555559694767, 0.0416666679084301, 0.1944444477558136, 0.1666666716337204, 0, -0.0416666679084301,
      0.1388888955116272, 0.0833333358168602, 0.2222222238779068, 0.375, 0.2222222238779068, 0.2222222238779068, 0.2777777910232544, 0,
      0.0555555559694767, 0.1111111119389534, 0.25, 0.0833333358168602], 1e-6, 1e-6, 'count_include_pad=True');
    // F.avg_pool2d(x, (2,3), stride=(1,2), padding=(1,1), divisor_override=5)
    const overridden = run(() => avgPool2d(T(x), [2, 3], { stride: [1, 2], padding: [1, 1], divisorOverride: 5 }));
    expect(overridden.shape).toEqual([1, 2, 6, 3]);
    expectClose(overridden.data, [-0.15, 0.35, 0.2, -0.05, 0.25, -0.05, 0.45, 0.45, 0.15, 0.4, 0.65, 0.35, 0.35, 0.3, 0, 0.3, 0.2, 0.05, 0, -0.25,
      0.15, 0.25, 0.15, 0.4, 0.2, 0.35, 0.6, 0.15, 0, 0.25, 0.1, 0.2, 0.45, -0.1, 0.15, 0.55], 1e-6, 1e-6, 'divisor_override=5');
  });
});

describe('adaptiveAvgPool2d', () => {
  it('overlapping windows (7x5 → 3x4): forward and gradient', () => {
    gradcheck((x) => adaptiveAvgPool2d(x, [3, 4]), (x) => refAdaptiveAvgPool2d(x, 3, 4), [randomNd([2, 3, 7, 5], 40)]);
  });
  it('global pooling (output 1), upsampling (4x3 → 6x5), unbatched, null keeps a size', () => {
    gradcheck((x) => adaptiveAvgPool2d(x, 1), (x) => refAdaptiveAvgPool2d(x, 1, 1), [randomNd([2, 3, 5, 4], 41)]);
    gradcheck((x) => adaptiveAvgPool2d(x, [6, 5]), (x) => refAdaptiveAvgPool2d(x, 6, 5), [randomNd([1, 2, 4, 3], 42)]);
    gradcheck((x) => adaptiveAvgPool2d(x, [2, null]), (x) => refAdaptiveAvgPool2d(x, 2, 6), [randomNd([3, 5, 6], 43)]);
  });
  it('records AdaptiveAvgPool2DBackward0', () => {
    expect(tidy(() => adaptiveAvgPool2d(tensor([[[[1, 2], [3, 4]]]], { requiresGrad: true }), 1).gradFn)).toBe('AdaptiveAvgPool2DBackward0');
  });
  it('matches PyTorch 1.13 golden values', () => {
    // x = seq([1,2,7,5], 11, 13, 6, 4), requires_grad; y = F.adaptive_avg_pool2d(x, (3,4))
    // (y * seq(y.shape, 3, 5, 2, 1)).sum().backward()
    const got = forwardAndGrads((x) => adaptiveAvgPool2d(x, [3, 4]), [seq([1, 2, 7, 5], 11, 13, 6, 4)], (s) => seq(s, 3, 5, 2, 1));
    const third = 0.3333333432674408;
    const sixth = 0.1666666716337204;
    expectClose(got.y, [-0.4583333432674408, 0.125, sixth, 0.2083333283662796, 0.5, 0, -0.5, -0.4583333432674408, -sixth, -0.125, 0.4583333432674408,
      0.5, 0.4583333432674408, 0.5, 0, -0.5, -0.2083333283662796, -sixth, -0.125, 0.4583333432674408, 0.2083333283662796, 0.25, -0.25,
      -0.2083333283662796], 1e-6, 1e-6, 'y');
    expectClose(got.grads[0]!, [-third, -sixth, 0, sixth, third, -third, -sixth, 0, sixth, third, -third, -0.5, -sixth, sixth, sixth, 0, -third,
      -sixth, 0, -sixth, third, 0, -0.5, -sixth, 0, third, third, -third, -sixth, sixth, third, third, -third, -sixth, sixth, -sixth, sixth, third,
      -third, -third, -sixth, sixth, third, -third, -third, 0, sixth, 0.5, 0, -third, sixth, 0, sixth, third, 0, -sixth, -sixth, sixth, 0.5, third,
      -third, -sixth, 0, sixth, third, -third, -sixth, 0, sixth, third], 1e-6, 1e-6, 'x.grad');
  });
});

// ---- errors --------------------------------------------------------------------------------

describe('convolution and pooling errors', () => {
  const x4 = () => tensor(new Float32Array(2 * 3 * 5 * 5), { shape: [2, 3, 5, 5] });
  const w4 = (o = 4, c = 3, k = 3) => tensor(new Float32Array(o * c * k * k), { shape: [o, c, k, k] });
  const expectError = (f: () => unknown, cls: new (...args: never[]) => Error, ...parts: string[]) => {
    const err = thrown(f);
    expect(err).toBeInstanceOf(cls);
    for (const p of parts) expect(err.message).toContain(p);
  };

  it('conv2d: ranks, channels, groups, bias, sizes, arguments, dtype', () => {
    expectError(() => conv2d(tensor([[1, 2]]), w4()), ShapeError, 'conv2d', '[1, 2]');
    expectError(() => conv2d(x4(), tensor([[[1]]])), ShapeError, 'conv2d', '[1, 1, 1]');
    expectError(() => conv2d(x4(), w4(4, 2)), ShapeError, 'groups=1', '[4, 2, 3, 3]', '[2, 3, 5, 5]');
    expectError(() => conv2d(x4(), w4(5, 1), null, { groups: 3 }), ShapeError, 'groups=3');
    expectError(() => conv2d(x4(), w4(4, 1), null, { groups: 2 }), ShapeError, 'conv2d');
    expectError(() => conv2d(x4(), w4(), tensor([1, 2])), ShapeError, 'bias', '[2]');
    expectError(() => conv2d(x4(), w4(4, 3, 7)), ShapeError, 'smaller than the kernel');
    expectError(() => conv2d(x4(), w4(4, 3, 3), null, { dilation: 3 }), ShapeError, 'conv2d');
    expectError(() => conv2d(x4(), w4(), null, { padding: -1 }), ArgumentError, 'padding');
    expectError(() => conv2d(x4(), w4(), null, { stride: [1, 0] }), ArgumentError, 'stride');
    expectError(() => conv2d(x4(), w4(), null, { dilation: 0 }), ArgumentError, 'dilation');
    expectError(() => conv2d(x4(), w4(), null, { groups: 0 }), ArgumentError, 'groups');
    expectError(() => conv2d(x4(), w4(), null, { stride: 1.5 }), ArgumentError, 'conv2d');
    expectError(() => conv2d(x4(), w4(), null, { stride: [1, 2, 3] as never }), ArgumentError, 'stride');
    expectError(() => conv2d(x4(), w4(), null, { padding: 'full' as never }), ArgumentError, 'padding');
    expectError(() => conv2d(x4(), w4(), null, { padding: 'same', stride: 2 }), ArgumentError, "'same'");
    expectError(() => conv2d(x4().to('int32'), w4()), DTypeError, 'conv2d');
    expectError(() => conv2d(x4(), w4(), tensor([1, 2, 3, 4]).to('int32')), DTypeError, 'conv2d');
  });

  it('conv2d: a column matrix too large for memory is an OutOfMemoryError, not a trap', () => {
    const x = () => tensor(new Float32Array(64), { shape: [1, 64, 1, 1] });
    expectError(() => conv2d(x(), w4(1, 64, 3), null, { padding: 2000 }), OutOfMemoryError, 'conv2d');
    expectError(() => conv2d(x(), w4(1, 64, 3), null, { padding: 2 ** 31 - 1 }), ArgumentError, 'conv2d');
    // The instance still works.
    expect(run(() => conv2d(tensor([[[[2]]]]), tensor([[[[3]]]]))).data).toEqual([6]);
  });

  it('conv1d: ranks and channels', () => {
    expectError(() => conv1d(x4(), tensor([[[1]]])), ShapeError, 'conv1d', '[2, 3, 5, 5]');
    expectError(() => conv1d(tensor([[[1, 2, 3]]]), w4()), ShapeError, 'conv1d', '[4, 3, 3, 3]');
    expectError(() => conv1d(tensor([[[1, 2, 3]]]), tensor([[[1], [2]]])), ShapeError, 'conv1d');
    expectError(() => conv1d(tensor([[[1, 2, 3]]]), tensor([[[1, 1]]]), null, { stride: [1, 1] as never }), ArgumentError, 'stride');
  });

  it('pooling: ranks, padding over half the kernel, output too small, bad arguments', () => {
    expectError(() => maxPool2d(tensor([1, 2, 3]), 2), ShapeError, 'maxPool2d', '[3]');
    expectError(() => maxPool2d(x4(), 3, { padding: 2 }), ArgumentError, 'half of the kernel');
    expectError(() => avgPool2d(x4(), 2, { padding: [0, 2] }), ArgumentError, 'half of the kernel');
    expectError(() => maxPool2d(x4(), 6), ShapeError, 'too small');
    expectError(() => maxPool2d(x4(), 0), ArgumentError, 'kernel');
    expectError(() => maxPool2d(x4(), 2, { stride: 0 }), ArgumentError, 'stride');
    expectError(() => maxPool2d(x4(), 2, { dilation: 0 }), ArgumentError, 'dilation');
    expectError(() => avgPool2d(x4(), 2, { divisorOverride: 0 }), ArgumentError, 'divisorOverride');
    expectError(() => avgPool2d(x4().to('int32'), 2), DTypeError, 'avgPool2d');
    expectError(() => maxPool2d(tensor(new Float32Array(0), { shape: [1, 0, 4, 4] }), 2), ShapeError, 'non-zero');
    expectError(() => adaptiveAvgPool2d(x4(), -1), ArgumentError, 'output size');
    expectError(() => adaptiveAvgPool2d(x4(), [1, 2, 3] as never), ArgumentError, 'outputSize');
    expectError(() => adaptiveAvgPool2d(tensor(new Float32Array(0), { shape: [2, 3, 0] }), 1), ShapeError, 'adaptiveAvgPool2d');
    // An empty batch is fine.
    expect(run(() => maxPool2d(tensor(new Float32Array(0), { shape: [0, 2, 4, 4] }), 2)).shape).toEqual([0, 2, 2, 2]);
  });
});

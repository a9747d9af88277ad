// conv2d's kernel paths (kernels/conv.rs): the packed GEMM (im2col per image, the weight
// gradient one product accumulated over the batch), a single input channel (forward and
// weight gradient from a zero-padded plane, kernels/conv_single.rs), and the
// vectorised direct loops of one-channel groups (four output columns at a time inside
// the row, one at a time at the edges). Shapes are chosen so rows are wider than a vector
// with a remainder, against the float64 reference, gradients finite-difference checked.
import { describe, expect, it } from 'vitest';
import { conv2d, tensor, tidy } from '../ts/node.js';
import { expectClose } from './helpers/gradcheck.js';
import { randomNd } from './helpers/reference.js';
import { gradcheckConvCases, type ConvCase } from './helpers/conv-cases.js';
import { refConv2d } from './helpers/reference-nn.js';
import { run, T } from './helpers/snapshot.js';


describe('conv2d kernel paths', () => {
  const cases: ConvCase[] = [
    ['one input channel, 16 filters, odd 11x13, batch 3', [3, 1, 11, 13], [16, 1, 3, 3], true, { pad: [1, 1] }],
    ['one input channel, stride 2, batch 1', [1, 1, 13, 15], [5, 1, 3, 3], true, { stride: [2, 2], pad: [1, 1] }],
    ['one input channel, row stride 2, column dilation 2', [2, 1, 9, 11], [6, 1, 3, 3], true, { stride: [2, 1], dilation: [1, 2], pad: [1, 2] }],
    ['one channel per group, 4 filters each, 10 columns', [1, 2, 7, 10], [8, 1, 3, 3], false, { groups: 2, pad: [1, 1] }],
    ['one input channel, no padding, output narrower than a vector', [2, 1, 4, 5], [4, 1, 3, 3], true, {}],
    ['GEMM path, 5 → 7 channels, odd 9x14', [1, 5, 9, 14], [7, 5, 3, 3], true, { pad: [1, 1] }],
    ['depthwise, odd 13x15 rows, batch 3', [3, 6, 13, 15], [6, 1, 3, 3], true, { groups: 6, pad: [1, 1] }],
    ['one channel per group, 2 filters each, dilation 2, 3x2 kernel', [2, 3, 9, 13], [6, 1, 3, 2], false, { groups: 3, pad: [2, 1], dilation: [2, 2] }],
    ['depthwise, stride 2 (scalar columns)', [1, 4, 10, 17], [4, 1, 3, 3], true, { groups: 4, stride: [2, 2], pad: [1, 1] }],
    ['depthwise 1x5 kernel, 19 columns', [3, 2, 4, 19], [4, 1, 1, 5], true, { groups: 2, pad: [0, 2] }],
    ['depthwise, no padding, batch 1', [1, 3, 6, 12], [3, 1, 3, 3], false, { groups: 3 }],
  ];
  gradcheckConvCases(cases, 21);

  it('the MNIST shapes (batch 3): forward against the reference', () => {
    for (const [xs, ws] of [[[3, 1, 28, 28], [16, 1, 3, 3]], [[3, 16, 14, 14], [32, 16, 3, 3]]] as const) {
      const [x, w, b] = [randomNd([...xs], 24), randomNd([...ws], 25), randomNd([ws[0]], 26)];
      const got = run(() => conv2d(T(x), T(w), T(b), { padding: 1 }));
      const ref = refConv2d(x, w, b, { pad: [1, 1] });
      expect(got.shape).toEqual(ref.shape);
      expectClose(got.data, ref.data, 1e-3, 1e-4, `conv2d ${xs}`);
    }
  });

  it('GEMM path: the bias, added image by image as each image is done, is conv(x, w) + b to the bit (NaN and ±inf biases)', () => {
    // 5 → 6 channels, batch 5, 7x9: each image is one GEMM; the bias is added per image.
    const [x, w] = [randomNd([5, 5, 7, 9], 31), randomNd([6, 5, 3, 3], 32)];
    const b = Float32Array.from([0.25, NaN, -1.5, Infinity, -Infinity, 3]);
    const { biased, plain } = tidy(() => ({
      biased: Array.from(conv2d(T(x), T(w), tensor(b), { padding: 1 }).data()),
      plain: Array.from(conv2d(T(x), T(w), null, { padding: 1 }).data()),
    }));
    const plane = 7 * 9;
    const want = plain.map((v, i) => Math.fround(v + b[Math.floor(i / plane) % 6]!));
    expect(biased.length).toBe(5 * 6 * plane);
    for (let i = 0; i < want.length; i++) {
      if (Number.isNaN(want[i])) expect(Number.isNaN(biased[i]), `element ${i}`).toBe(true);
      else expect(biased[i], `element ${i}`).toBe(want[i]);
    }
    // The NaN channel is NaN in every image; the infinite ones are infinite.
    expect(biased.filter((_, i) => Math.floor(i / plane) % 6 === 1).every(Number.isNaN)).toBe(true);
    expect(biased.filter((_, i) => Math.floor(i / plane) % 6 === 3).every((v) => v === Infinity)).toBe(true);
  });

  it('an empty batch gives an empty output and zero weight gradients', () => {
    for (const [cin, ws, groups] of [[1, [16, 1, 3, 3], 1], [4, [4, 1, 3, 3], 4], [3, [5, 3, 3, 3], 1]] as const) {
      const { shape, wgrad } = tidy(() => {
        const x = tensor(new Float32Array(0), { shape: [0, cin, 7, 9], requiresGrad: true });
        const w = tensor(Array.from(randomNd([...ws], 27).data), { shape: [...ws], requiresGrad: true });
        const y = conv2d(x, w, null, { padding: 1, groups });
        y.sum().backward();
        return { shape: [...y.shape], wgrad: Array.from(w.grad!.data()) };
      });
      expect(shape).toEqual([0, ws[0], 7, 9]);
      expect(wgrad.every((v) => v === 0)).toBe(true);
    }
  });

  it('single-channel weight gradient: NaN reaches exactly the taps that read it (7 columns: a partial last vector)', () => {
    // x[0, 6] (top-right corner) is NaN: with padding 1 only the taps i ∈ {0, 1},
    // j ∈ {1, 2} read it. Output column 7 does not exist, so the last vector's
    // extra lane, which would read it through tap j = 0, must add nothing.
    const data = new Float32Array(5 * 7).map((_, i) => (i % 5) - 2);
    data[6] = NaN;
    const wgrad = tidy(() => {
      const x = tensor(data, { shape: [1, 1, 5, 7] });
      const w = tensor(new Float32Array(4 * 9).fill(0.5), { shape: [4, 1, 3, 3], requiresGrad: true });
      conv2d(x, w, null, { padding: 1 }).sum().backward();
      return Array.from(w.grad!.data());
    });
    for (let o = 0; o < 4; o++) {
      const taps = wgrad.slice(o * 9, o * 9 + 9).map((v) => Number.isNaN(v));
      expect(taps).toEqual([false, true, true, false, true, true, false, false, false]);
    }
  });

  it('NaN and ±inf propagate on the depthwise and single-channel paths', () => {
    const data = new Float32Array(2 * 11).fill(1);
    data[3] = NaN;
    data[11 + 8] = Infinity;
    for (const [ws, groups] of [[[2, 1, 1, 3], 2], [[1, 1, 1, 3], 1]] as const) {
      const cin = groups;
      const x = data.subarray(0, cin * 11);
      const y = run(() => conv2d(tensor(x, { shape: [1, cin, 1, 11] }), tensor(new Float32Array(ws[0] * 3).fill(1), { shape: [...ws] }), null, { padding: [0, 1], groups }));
      expect(Array.from(y.data.slice(0, 11)).map((v) => (Number.isNaN(v) ? 'nan' : v))).toEqual([2, 3, 'nan', 'nan', 'nan', 3, 3, 3, 3, 3, 2]);
      if (groups === 2) expect(Array.from(y.data.slice(11))).toEqual([2, 3, 3, 3, 3, 3, 3, Infinity, Infinity, Infinity, 2]);
    }
  });
});

// conv2d over blocks of images (kernels/conv_block.rs): for small feature maps the forward
// and the input gradient lay several images' column matrices side by side and make one
// wide GEMM per group. Checked against the float64 reference with finite-difference
// gradients (odd sizes, stride, padding, dilation, groups, batches 1/3/5), and bit for bit
// against each image run alone, including a batch the block size does not divide.
import { describe, expect, it } from 'vitest';
import { conv2d, tensor, tidy } from '../ts/node.js';
import { expectClose } from './helpers/gradcheck.js';
import { randomNd } from './helpers/reference.js';
import { gradcheckConvCases, type ConvCase } from './helpers/conv-cases.js';
import { refConv2d } from './helpers/reference-nn.js';


describe('conv2d over blocks of images', () => {
  const cases: ConvCase[] = [
    ['3 → 4 channels, odd 7x9, batch 3', [3, 3, 7, 9], [4, 3, 3, 3], true, { pad: [1, 1] }],
    ['stride 2, no padding, batch 5', [5, 2, 9, 7], [3, 2, 3, 3], false, { stride: [2, 2] }],
    ['dilation 2, 3x2 kernel, uneven padding, batch 3', [3, 2, 8, 9], [5, 2, 3, 2], true, { pad: [2, 1], dilation: [2, 2] }],
    ['2 groups of 2 channels, row stride 2, batch 5', [5, 4, 7, 6], [6, 2, 3, 3], true, { groups: 2, stride: [2, 1], pad: [1, 1] }],
    ['one input channel (input gradient blocked), batch 3', [3, 1, 6, 7], [8, 1, 3, 3], true, { pad: [1, 1] }],
    ['batch 1 (one image per GEMM)', [1, 3, 5, 6], [4, 3, 3, 3], true, { pad: [1, 1] }],
  ];
  gradcheckConvCases(cases, 31);

  it('each image gets the bits it gets alone (batch 9 in blocks of 2)', () => {
    const [N, C, H, W, O] = [9, 16, 14, 14, 32];
    const x = randomNd([N, C, H, W], 34);
    const w = randomNd([O, C, 3, 3], 35);
    const up = randomNd([N, O, H, W], 36);
    // Forward output and input gradient of x[n0, n0 + count) for the upstream gradient.
    const pass = (n0: number, count: number) =>
      tidy(() => {
        const xs = tensor(Array.from(x.data.slice(n0 * C * H * W, (n0 + count) * C * H * W)), { shape: [count, C, H, W], requiresGrad: true });
        const y = conv2d(xs, tensor(Array.from(w.data), { shape: w.shape }), null, { padding: 1 });
        y.backward(tensor(Array.from(up.data.slice(n0 * O * H * W, (n0 + count) * O * H * W)), { shape: [count, O, H, W] }));
        return { y: Array.from(y.data()), dx: Array.from(xs.grad!.data()) };
      });
    const all = pass(0, N);
    expectClose(all.y, refConv2d(x, w, null, { pad: [1, 1] }).data, 1e-3, 1e-4, 'forward');
    for (const n of [0, 3, 6, 7, 8]) {
      const alone = pass(n, 1);
      expect(all.y.slice(n * O * H * W, (n + 1) * O * H * W), `forward image ${n}`).toEqual(alone.y);
      expect(all.dx.slice(n * C * H * W, (n + 1) * C * H * W), `input gradient image ${n}`).toEqual(alone.dx);
    }
  });
});

// Convolution over blocks of images and weight-gradient groups (kernels/conv_parallel.rs):
// the forward and the input gradient run in tasks of a fixed number of images, the weight
// gradient sums fixed groups of images (about eight groups, from the shape only) and adds
// the groups' sums in order, on one thread or several. Small shapes with batches the
// groups do not divide, finite-difference checked (they stay on the calling thread, with
// the same groups); shapes large enough to run on threads (over 2^20 multiply-adds) against
// float64 loops, with NaN and ±inf, and bit for bit across thread counts where the threads
// build runs.
import { describe, expect, it } from 'vitest';
import { conv2d, convTranspose2d, getNumThreads, setNumThreads, tensor, tidy } from '../ts/node.js';
import { gradcheckConvCases, type ConvCase } from './helpers/conv-cases.js';
import { randomNd, type Nd } from './helpers/reference.js';
import { refConv2d, refConv2dGrads as refConvGrads, type ConvCfg } from './helpers/reference-nn.js';

/**
 * `expectClose` (NaN where NaN is expected, the same infinities, finite values within
 * `atol + rtol·|e|`) with one `expect` for the whole array: these arrays are long.
 */
function expectNear(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let bad: string | undefined;
  for (let i = 0; i < expected.length && bad === undefined; i++) {
    const [a, e] = [actual[i]!, expected[i]!];
    const ok = Number.isNaN(e) ? Number.isNaN(a) : Number.isFinite(e) ? Math.abs(a - e) <= atol + rtol * Math.abs(e) : a === e;
    if (!ok) bad = `${what}[${i}]: got ${a}, expected ${e} (atol ${atol}, rtol ${rtol})`;
  }
  expect(bad).toBeUndefined();
}

/** Whether every array of `b` holds the same float32 bits as the one of `a` under the same key. */
function sameBits(a: Record<string, Float32Array>, b: Record<string, Float32Array>): boolean {
  return Object.keys(a).every((k) => {
    const [x, y] = [new Uint32Array(a[k]!.buffer, a[k]!.byteOffset, a[k]!.length), new Uint32Array(b[k]!.buffer, b[k]!.byteOffset, b[k]!.length)];
    return x.length === y.length && x.every((v, i) => v === y[i]);
  });
}

/** conv2d's forward and gradients on wasm for upstream gradient `up`. */
function wasmConv(x: Nd, w: Nd, b: Nd, up: Nd, cfg: ConvCfg) {
  return tidy(() => {
    const [xt, wt, bt] = [x, w, b].map((v) => tensor(Array.from(v.data), { shape: v.shape, requiresGrad: true }));
    const y = conv2d(xt!, wt!, bt!, { stride: cfg.stride, padding: cfg.pad, dilation: cfg.dilation, groups: cfg.groups });
    y.backward(tensor(Array.from(up.data), { shape: up.shape }));
    return { y: y.data(), dx: xt!.grad!.data(), dw: wt!.grad!.data(), db: bt!.grad!.data() };
  });
}

/** Thread counts to compare: 1, 2 and 3 where the threads build runs (else just 1). */
function eachThreadCount<T>(f: () => T): T[] {
  const before = getNumThreads();
  try {
    return [1, 2, 3].map((n) => {
      setNumThreads(n);
      return f();
    });
  } finally {
    setNumThreads(before);
  }
}

describe('convolution over image blocks and weight-gradient groups', () => {
  const cases: ConvCase[] = [
    ['GEMM path, batch 11 (6 weight groups, the last short)', [11, 2, 4, 5], [3, 2, 3, 3], true, { pad: [1, 1] }],
    ['depthwise, batch 17', [17, 2, 3, 5], [2, 1, 3, 3], true, { groups: 2, pad: [1, 1] }],
    ['one input channel, 4 filters, batch 9', [9, 1, 5, 6], [4, 1, 3, 3], true, { pad: [1, 1] }],
    ['pointwise, batch 10', [10, 3, 3, 4], [2, 3, 1, 1], false, {}],
    ['2 groups, row stride 2, batch 13', [13, 4, 5, 7], [4, 2, 3, 3], true, { groups: 2, stride: [2, 1], pad: [1, 1] }],
  ];
  gradcheckConvCases(cases, 41);

  // Each large enough to be split among threads: the GEMM path with image blocks of the
  // input gradient (11x11: blocks of 4, tasks of 4 and 3 images), one input channel,
  // depthwise, grouped with stride and dilation.
  const large: [string, number[], number[], ConvCfg][] = [
    ['16 -> 24 channels 11x11, batch 7', [7, 16, 11, 11], [24, 16, 3, 3], { pad: [1, 1] }],
    ['1 -> 16 channels 28x27, batch 11', [11, 1, 28, 27], [16, 1, 3, 3], { pad: [1, 1] }],
    ['depthwise 12 channels 23x21, batch 21', [21, 12, 23, 21], [12, 1, 3, 3], { groups: 12, pad: [1, 1] }],
    ['3 groups, stride [2, 1], dilation [1, 2], batch 13', [13, 12, 19, 17], [9, 4, 3, 5], { groups: 3, stride: [2, 1], pad: [2, 3], dilation: [1, 2] }],
  ];
  for (const [label, xs, ws, cfg] of large) {
    it(`${label}: forward and gradients against float64 loops, the same bits on every thread count`, () => {
      const [x, w, b] = [randomNd(xs, 51), randomNd(ws, 52), randomNd([ws[0]!], 53)];
      const ref = refConv2d(x, w, b, cfg);
      const up = randomNd(ref.shape, 54);
      const grads = refConvGrads(x, w, up, cfg);
      const runs = eachThreadCount(() => wasmConv(x, w, b, up, cfg));
      const [first] = runs;
      expectNear(first!.y, ref.data, 1e-3, 1e-4, 'forward');
      expectNear(first!.dx, grads.dx, 1e-3, 1e-4, 'input gradient');
      expectNear(first!.dw, grads.dw, 1e-2, 1e-4, 'weight gradient');
      expectNear(first!.db, grads.db, 1e-2, 1e-4, 'bias gradient');
      for (const run of runs.slice(1)) expect(sameBits(run, first!)).toBe(true);
    });
  }

  it('NaN and ±inf in some images reach exactly the outputs and weight gradients that read them', () => {
    const [xs, ws, cfg] = [[13, 6, 11, 9], [16, 6, 3, 3], { pad: [1, 1] } as ConvCfg];
    const x = randomNd(xs, 61);
    const chw = 6 * 11 * 9;
    x.data[2 * chw + 40] = NaN; // image 2 (weight group 1 of 7)
    x.data[9 * chw + 99 + 4 * 9 + 8] = Infinity; // image 9, channel 1, a right edge
    x.data[12 * chw + 2 * 99] = -Infinity; // the last image (a short group), a corner
    const [w, b] = [randomNd(ws, 62), randomNd([16], 63)];
    const ref = refConv2d(x, w, b, cfg);
    const up = randomNd(ref.shape, 64);
    const grads = refConvGrads(x, w, up, cfg);
    expect(grads.dw.some(Number.isNaN)).toBe(true);
    const runs = eachThreadCount(() => wasmConv(x, w, b, up, cfg));
    const [first] = runs;
    expectNear(first!.y, ref.data, 1e-3, 1e-4, 'forward');
    expectNear(first!.dx, grads.dx, 1e-3, 1e-4, 'input gradient');
    expectNear(first!.dw, grads.dw, 1e-2, 1e-4, 'weight gradient');
    for (const run of runs.slice(1)) expect(sameBits(run, first!)).toBe(true);
  });

  it('conv_transpose2d (the input-gradient map) with a bias: the same bits on every thread count, and as conv2d\'s input gradient', () => {
    const [x, w, b] = [randomNd([17, 12, 9, 11], 71), randomNd([12, 6, 3, 3], 72), randomNd([6], 73)];
    const runs = eachThreadCount(() =>
      tidy(() => {
        const [xt, wt] = [tensor(Array.from(x.data), { shape: x.shape }), tensor(Array.from(w.data), { shape: w.shape })];
        const y = convTranspose2d(xt, wt, tensor(Array.from(b.data), { shape: [6] }), { padding: 1 });
        // conv2d's input gradient for the upstream gradient x is the same map, without the bias.
        const z = tensor(new Float32Array(17 * 6 * 9 * 11), { shape: [17, 6, 9, 11], requiresGrad: true });
        conv2d(z, wt, null, { padding: 1 }).backward(xt);
        return { y: y.data(), dz: z.grad!.data() };
      }),
    );
    const [first] = runs;
    for (const run of runs.slice(1)) expect(sameBits(run, first!)).toBe(true);
    const biased = first!.dz.map((v, i) => Math.fround(v + b.data[Math.floor(i / 99) % 6]!));
    expect(sameBits({ y: first!.y }, { y: biased })).toBe(true);
  });

  it('an empty batch of a large geometry gives an empty output and zero gradients', () => {
    const { shape, dw } = tidy(() => {
      const x = tensor(new Float32Array(0), { shape: [0, 16, 14, 14], requiresGrad: true });
      const w = tensor(Array.from(randomNd([32, 16, 3, 3], 81).data), { shape: [32, 16, 3, 3], requiresGrad: true });
      const y = conv2d(x, w, null, { padding: 1 });
      y.sum().backward();
      return { shape: [...y.shape], dw: Array.from(w.grad!.data()) };
    });
    expect(shape).toEqual([0, 32, 14, 14]);
    expect(dw.every((v) => v === 0)).toBe(true);
  });
});

// Soak: long training loops must not leak. After a warm-up, the live tensors and tensor
// bytes (memory()), the wasm memory's size and the JS heap (after a forced GC) must stay
// flat. Two loops: 10 000 Adam steps of a small MLP (8→16→4, batch 8), and 2 000 steps of
// a model with conv2d, a gradient hook (registerHook), a custom function (defineFunction)
// and a gradient penalty through grad(…, { createGraph: true }). Each prints a SOAK line
// with its figures (steps/s, memory before/after) to quote. SOAK_MLP_STEPS and
// SOAK_CONV_STEPS (environment) run longer loops by hand.
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { lib } from '../ts/ffi.js';
import {
  Adam, conv2d, crossEntropy, defineFunction, grad, linear, manualSeed, memory, randn, tensor, tidy, type Tensor,
} from '../ts/node.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** The JS heap may drift by this much after warm-up (V8 keeps compiled code, ICs, …). */
const HEAP_TOLERANCE = 2 * 1024 * 1024;

interface Snapshot {
  numTensors: number;
  numBytes: number;
  wasmBytes: number;
  heapUsed: number;
}

function snapshot(): Snapshot {
  gc();
  gc();
  const m = memory();
  return { numTensors: m.numTensors, numBytes: m.numBytes, wasmBytes: lib().raw.memory.buffer.byteLength, heapUsed: process.memoryUsage().heapUsed };
}

/** A parameter: scaled standard normal values, a leaf that requires grad. */
const param = (shape: number[], scale: number): Tensor => tidy(() => randn(shape).mul(scale)).requiresGrad_();

const mb = (b: number) => `${(b / 1024 / 1024).toFixed(2)} MB`;

/**
 * Runs `warmup` then `steps` calls of `step`, checking memory() is exactly flat every
 * `every` steps and that wasm memory and the heap are flat at the end.
 */
function soak(name: string, warmup: number, steps: number, every: number, step: (i: number) => number): void {
  const losses: number[] = [step(0)];
  for (let i = 1; i < warmup; i++) step(i);
  const before = snapshot();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    const loss = step(warmup + i);
    if (i === steps - 1) losses.push(loss);
    if ((i + 1) % every === 0) {
      const m = memory();
      expect({ numTensors: m.numTensors, numBytes: m.numBytes }, `${name}: memory() after step ${warmup + i + 1}`).toEqual({
        numTensors: before.numTensors,
        numBytes: before.numBytes,
      });
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const after = snapshot();
  const figures = {
    name,
    steps,
    warmup,
    stepsPerSecond: Math.round(steps / seconds),
    seconds: Number(seconds.toFixed(2)),
    liveTensors: [before.numTensors, after.numTensors],
    tensorBytes: [before.numBytes, after.numBytes],
    wasmMemory: [mb(before.wasmBytes), mb(after.wasmBytes)],
    heapUsed: [mb(before.heapUsed), mb(after.heapUsed)],
    heapGrowthBytes: after.heapUsed - before.heapUsed,
    lossFirstLast: losses.map((l) => Number(l.toPrecision(4))),
  };
  console.log(`SOAK ${JSON.stringify(figures)}`);
  expect(after.numTensors, `${name}: live tensors`).toBe(before.numTensors);
  expect(after.numBytes, `${name}: tensor bytes`).toBe(before.numBytes);
  expect(after.wasmBytes, `${name}: wasm memory grew after warm-up`).toBe(before.wasmBytes);
  expect(after.heapUsed - before.heapUsed, `${name}: JS heap growth after warm-up`).toBeLessThan(HEAP_TOLERANCE);
  expect(losses[1]!, `${name}: the loss went down`).toBeLessThan(losses[0]!);
}

describe('soak: memory stays flat over long training loops', () => {
  it('10 000 Adam steps of an 8→16→4 MLP, batch 8, in tidy', () => {
    manualSeed(1);
    const w1 = param([16, 8], 0.3);
    const b1 = tensor(new Float32Array(16), { requiresGrad: true });
    const w2 = param([4, 16], 0.3);
    const b2 = tensor(new Float32Array(4), { requiresGrad: true });
    // 64 samples of 4 Gaussian blobs; each step takes a batch of 8 as views (slices).
    const centers = tidy(() => randn([4, 8]).mul(2));
    const labels = Array.from({ length: 64 }, (_, i) => i % 4);
    const X = tidy(() => centers.indexSelect(0, tensor(labels, { dtype: 'int32' })).add(randn([64, 8]).mul(0.5)));
    const Y = tensor(labels, { dtype: 'int32' });
    const opt = new Adam([w1, b1, w2, b2], { lr: 1e-2 });
    try {
      soak('mlp', 500, Number(process.env.SOAK_MLP_STEPS ?? 10_000), 1000, (i) =>
        tidy(() => {
          const at = (i % 8) * 8;
          opt.zeroGrad();
          const h = linear(X.slice(0, at, at + 8), w1, b1, { activation: 'relu' });
          const loss = crossEntropy(linear(h, w2, b2), Y.slice(0, at, at + 8));
          loss.backward();
          opt.step();
          return Number(loss.item());
        }),
      );
    } finally {
      opt.dispose();
      for (const t of [w1, b1, w2, b2, centers, X, Y]) t.dispose();
    }
  });

  it('2 000 steps with conv2d, a hook, a custom function and a createGraph gradient penalty', () => {
    manualSeed(2);
    const wc = param([4, 1, 3, 3], 0.3);
    const bc = tensor(new Float32Array(4), { requiresGrad: true });
    const w1 = param([8, 4 * 6 * 6], 0.05);
    const b1 = tensor(new Float32Array(8), { requiresGrad: true });
    const w2 = param([2, 8], 0.3);
    const params = [wc, bc, w1, b1, w2];
    // A custom activation: x·sigmoid(x) with its gradient written out (saved tensors).
    const Swish = defineFunction({
      name: 'Swish',
      forward(ctx, x: Tensor) {
        const s = x.sigmoid();
        ctx.saveForBackward(x, s);
        return x.mul(s);
      },
      backward(ctx, g) {
        const [x, s] = ctx.savedTensors as [Tensor, Tensor];
        return g.mul(s.mul(x.mul(s.neg().add(1)).add(1)));
      },
    });
    // Class 1 images have a bright centre.
    const images = tidy(() => {
      const noise = randn([16, 1, 6, 6]).mul(0.3);
      const mask = tensor(Array.from({ length: 36 }, (_, k) => (k % 6 >= 2 && k % 6 < 4 && k >= 12 && k < 24 ? 1 : 0)), { shape: [1, 1, 6, 6] });
      const cls = tensor(Array.from({ length: 16 }, (_, i) => i % 2), { shape: [16, 1, 1, 1] });
      return noise.add(mask.mul(cls).mul(2));
    });
    const Y = tensor(Array.from({ length: 16 }, (_, i) => i % 2), { dtype: 'int32' });
    const opt = new Adam(params, { lr: 5e-3 });
    let hookCalls = 0;
    try {
      soak('conv-hook-function-penalty', 100, Number(process.env.SOAK_CONV_STEPS ?? 2_000), 250, (i) =>
        tidy(() => {
          const at = (i % 4) * 4;
          opt.zeroGrad();
          const conv = conv2d(images.slice(0, at, at + 4), wc, bc, { padding: 1 });
          const act = Swish.apply(conv);
          act.registerHook((g) => {
            hookCalls++;
            return g.clamp(-1, 1);
          });
          const feat = act.reshape(4, -1);
          const head = (f: Tensor) => linear(linear(f, w1, b1).tanh(), w2);
          const logits = head(feat);
          // Gradient penalty: ‖∂Σlogits/∂feat‖², differentiated again in backward().
          const [gFeat] = grad(logits.sum(), feat, { createGraph: true });
          const loss = crossEntropy(logits, Y.slice(0, at, at + 4)).add(gFeat!.square().sum().mul(1e-3));
          loss.backward();
          opt.step();
          return Number(loss.item());
        }),
      );
      expect(hookCalls).toBeGreaterThanOrEqual(2_100);
    } finally {
      opt.dispose();
      for (const t of [...params, images, Y]) t.dispose();
    }
  });
});

// Addresses above 2 GiB: pointers cross the boundary as unsigned numbers, so once wasm
// memory has grown past 2 GiB (and 3 GiB) reads, hooks, custom functions and grad() keep
// working. Its own file: the process keeps the grown memory until the file ends.
import { describe, expect, it } from 'vitest';
import { defineFunction, grad, OutOfMemoryError, tensor, tidy, wasmMemory, zeros, type Tensor } from '../ts/node.js';
import { lib } from '../ts/ffi.js';

const GiB = 2 ** 30;
const fillers: Tensor[] = [];

/** Grows the core's memory to at least `bytes` by keeping float32 filler tensors (≤ 1 GiB each). */
function growTo(bytes: number): void {
  while (wasmMemory().wasmBytes < bytes) {
    const want = Math.min(GiB, bytes - wasmMemory().wasmBytes + 2 ** 20);
    fillers.push(zeros([Math.ceil(want / 4)]));
  }
}

function everythingWorks(): void {
  tidy(() => {
    // A tensor whose data lies above 2 GiB: the case that used to read as negative. Small
    // allocations may first fill free chunks below, so make them until one lands above.
    let t = tensor([1.5, -2, 3]);
    for (let i = 0; i < 100_000 && lib().raw.wg_data_ptr(t.handle) >>> 0 < 2 * GiB; i++) t = tensor([1.5, -2, 3]);
    expect(lib().raw.wg_data_ptr(t.handle) >>> 0).toBeGreaterThan(2 * GiB);
    expect(Array.from(t.data())).toEqual([1.5, -2, 3]);
    expect(t.toArray()).toEqual([1.5, -2, 3]);
    expect(t.sum().item()).toBe(2.5);
    expect(t.toString()).toBe('tensor([ 1.5000, -2.0000,  3.0000])');
    const m = tensor([[1, 2], [3, 4]]);
    expect(m.t().toArray()).toEqual([[1, 3], [2, 4]]); // a strided view, read through a copy

    const x = tensor([1, 2, 3], { requiresGrad: true });
    const seen: number[][] = [];
    const y = x.mul(2);
    y.registerHook((g) => {
      seen.push(Array.from(g.data()));
      return g.mul(10);
    });
    const Cube = defineFunction({
      name: 'Cube',
      forward(ctx, v: Tensor) {
        ctx.saveForBackward(v);
        return v.pow(3);
      },
      backward(ctx, g) {
        const [v] = ctx.savedTensors;
        return g.mul(v!.pow(2).mul(3));
      },
    });
    const [gx] = grad(Cube.apply(y).sum(), x, { createGraph: true });
    expect(seen).toEqual([[12, 48, 108]]); // 3·y² at y = 2x
    expect(Array.from(gx!.data())).toEqual([240, 960, 2160]);
    const [g2] = grad(gx!.sum(), x);
    // The hook (×10) runs in the second pass too: d/dx of 2·10·3y² through y = 2x is 2·10·(10·6y)·... = 4800x.
    expect(Array.from(g2!.data())).toEqual([4800, 9600, 14400]);
  });
}

describe('memory beyond 2 GiB', () => {
  it('one tensor of 2 GiB or more is refused with the real limit in the message', () => {
    expect(() => zeros([2 ** 29])).toThrow(OutOfMemoryError);
    expect(() => zeros([2 ** 29])).toThrow(/at most 2147483647 bytes .*536870911 float32 elements/);
    expect(() => zeros([65536, 65536])).toThrow(/at most 2 GiB - 1 bytes/);
  });

  it('past 2 GiB, and past 3 GiB, every read, hook, custom function and grad() works', () => {
    try {
      growTo(2 * GiB + 64 * 2 ** 20);
      expect(wasmMemory().wasmBytes).toBeGreaterThan(2 * GiB);
      everythingWorks();
      growTo(3 * GiB + 64 * 2 ** 20);
      expect(wasmMemory().wasmBytes).toBeGreaterThan(3 * GiB);
      expect(wasmMemory().heapBytes).toBeGreaterThan(3 * GiB);
      everythingWorks();
    } finally {
      for (const f of fillers.splice(0)) f.dispose();
    }
  });
});

describe('real out-of-memory at 4 GiB', () => {
  it('with every byte of wasm memory taken, ops throw OutOfMemoryError and nothing is lost', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const w = tensor([[0.5, -1], [2, 1], [0, 3]], { requiresGrad: true });
    const fillers: Tensor[] = [];
    try {
      for (let size = GiB; size >= 16; ) {
        try {
          fillers.push(zeros([size / 4]));
        } catch (err) {
          expect(err).toBeInstanceOf(OutOfMemoryError);
          size /= 2;
        }
      }
      expect(wasmMemory().wasmBytes).toBe(4 * GiB);
      const attempts: [string, () => unknown][] = [
        ['add', () => x.add(1)],
        ['matmul', () => x.matmul(w)],
        ['backward', () => x.matmul(w).sum().backward()],
        ['grad createGraph', () => grad(x.pow(3).sum(), x, { createGraph: true })],
        ['argmax', () => x.argmax()],
        ['tensor', () => tensor([1, 2])],
      ];
      for (const [name, attempt] of attempts) {
        let error: unknown = null;
        try {
          tidy(() => void attempt());
        } catch (err) {
          error = err;
        }
        expect(error, name).toBeInstanceOf(OutOfMemoryError);
        expect(String(error), name).toMatch(/\d+ bytes requested.*\d+ bytes are available/);
      }
      // What existed is intact, and readable while memory is full.
      expect(x.toArray()).toEqual([1, 2, 3]);
      expect(x.grad).toBeNull();
      expect(w.toArray()).toEqual([[0.5, -1], [2, 1], [0, 3]]);
    } finally {
      for (const f of fillers) f.dispose();
    }
    // Freed: everything works again.
    tidy(() => x.matmul(w).sum().backward());
    expect(Array.from(x.grad!.data())).toEqual([-0.5, 3, 3]);
    x.dispose();
    w.dispose();
  });
});

// Each vitest project runs the suite on the build it names (see vitest.config.ts), so the
// relaxed-simd kernels are tested on wasm, not only the simd128 ones, with and without threads.
import { describe, expect, it } from 'vitest';
import { lib } from '../ts/ffi.js';
import { init, relaxedSimdSupported, simdVariant, tensor, TensorError, tidy } from '../ts/node.js';

describe('simd build selection', () => {
  it('runs the build WASMGRAD_SIMD and WASMGRAD_THREADS name', () => {
    expect(tidy(() => tensor([1, 2]).matmul(tensor([3, 4])).item())).toBe(11);
    expect(simdVariant()).toBe(process.env.WASMGRAD_SIMD);
    expect(lib().k.relaxedSimd).toBe(process.env.WASMGRAD_SIMD === 'relaxed-simd');
    // Threads unless WASMGRAD_THREADS=0: Node can always start workers.
    expect(lib().k.maxWorkers > 0).toBe(process.env.WASMGRAD_THREADS !== '0');
  });

  it('detects relaxed-simd support by validation', () => {
    // Node 20 has relaxed-simd only behind the flag; later versions enable it by default.
    const flagged = process.execArgv.includes('--experimental-wasm-relaxed-simd');
    const nodeMajor = Number(process.versions.node.split('.')[0]);
    expect(relaxedSimdSupported()).toBe(flagged || nodeMajor > 20);
  });

  it('refuses to switch builds once loaded, and rejects unknown builds', async () => {
    const other = simdVariant() === 'simd128' ? 'relaxed-simd' : 'simd128';
    await expect(init({ simd: other })).rejects.toThrow(TensorError);
    await expect(init({ simd: 'avx' as never })).rejects.toThrow(/unknown simd variant/);
    await expect(init()).resolves.toBeUndefined();
  });
});

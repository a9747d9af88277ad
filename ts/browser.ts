/**
 * Browser / bundler entry: call `await init()` once before creating tensors.
 * @module
 */
import { setLocator } from './ffi.js';

setLocator({
  // Literal URLs so bundlers find and copy both binaries.
  source: async (variant) =>
    variant === 'relaxed-simd'
      ? new URL('../dist/wasmgrad-relaxed.wasm', import.meta.url)
      : new URL('../dist/wasmgrad.wasm', import.meta.url),
});

export * from './index.js';

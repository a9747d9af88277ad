/**
 * Browser / bundler entry: call `await init()` once before creating tensors.
 * @module
 */
import { setLocator } from './load.js';

// Listed in package.json's `sideEffects`: a bundler must keep this registration. The URLs
// are literal so that bundlers find, copy and rename both binaries.
setLocator({
  source: (variant) =>
    variant === 'relaxed-simd'
      ? new URL('../dist/wasmgrad-relaxed.wasm', import.meta.url)
      : new URL('../dist/wasmgrad.wasm', import.meta.url),
});

export * from './index.js';

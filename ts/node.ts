/**
 * Node entry: loads the wasm core from disk synchronously on first use, so no `init()`
 * call is needed (calling it first is how to choose a build explicitly).
 * @module
 */
import { readFileSync } from 'node:fs';
import { setLocator, type SimdVariant } from './ffi.js';

// Relative to both ts/ (tests) and dist/ (the package): the binaries live in dist/.
const FILES: Record<SimdVariant, URL> = {
  simd128: new URL('../dist/wasmgrad.wasm', import.meta.url),
  'relaxed-simd': new URL('../dist/wasmgrad-relaxed.wasm', import.meta.url),
};

setLocator({
  sync: (variant) => new WebAssembly.Module(readFileSync(FILES[variant])),
  source: async (variant) => readFileSync(FILES[variant]),
  forced: () => (process.env.WASMGRAD_SIMD || undefined) as SimdVariant | undefined,
});

export * from './index.js';
export { loadCheckpointFile, loadFile, readHeaderFile, saveCheckpointFile, saveFile } from './io/node.js';

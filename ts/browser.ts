/**
 * Browser / bundler entry: call `await init()` once before creating tensors.
 * @module
 */
import { setDefaultSource } from './ffi.js';

setDefaultSource(async () => new URL('../dist/wasmgrad.wasm', import.meta.url));

export * from './index.js';

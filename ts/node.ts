/**
 * Node entry: loads `wasmgrad.wasm` from disk synchronously on first use, so no `init()`
 * call is needed (calling it is harmless).
 * @module
 */
import { readFileSync } from 'node:fs';
import { setDefaultSource, setSyncSource } from './ffi.js';

// Relative to both ts/ (tests) and dist/ (the package): the binary lives in dist/.
const WASM_URL = new URL('../dist/wasmgrad.wasm', import.meta.url);

setSyncSource(() => new WebAssembly.Module(readFileSync(WASM_URL)));
setDefaultSource(async () => readFileSync(WASM_URL));

export * from './index.js';

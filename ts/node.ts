/**
 * Node entry: loads the wasm core from disk synchronously on first use, so no `init()`
 * call is needed (calling it first is how to choose a build explicitly).
 * @module
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { LoadError } from './errors.js';
import type { SimdVariant } from './ffi.js';
import { setLocator } from './load.js';

const FILE_NAMES: Record<SimdVariant, string> = { simd128: 'wasmgrad.wasm', 'relaxed-simd': 'wasmgrad-relaxed.wasm' };

/**
 * Where a build may be, in order: the package's dist/ (also from ts/ in this repository's
 * tests; bundlers for Node rewrite these literal URLs to the files they copy), next to a
 * bundle that did not copy them (esbuild), and wherever Node resolves the package from.
 */
function candidates(variant: SimdVariant): (string | URL)[] {
  const found: (string | URL)[] = [];
  const attempt = (f: () => string | URL): void => {
    try {
      found.push(f());
    } catch {
      // import.meta.url is empty in a CommonJS bundle, and the package may not resolve.
    }
  };
  if (variant === 'relaxed-simd') {
    attempt(() => new URL('../dist/wasmgrad-relaxed.wasm', import.meta.url));
    attempt(() => new URL('./wasmgrad-relaxed.wasm', import.meta.url));
  } else {
    attempt(() => new URL('../dist/wasmgrad.wasm', import.meta.url));
    attempt(() => new URL('./wasmgrad.wasm', import.meta.url));
  }
  attempt(() => createRequire(import.meta.url).resolve(`wasmgrad/${FILE_NAMES[variant]}`));
  attempt(() => createRequire(`${process.cwd()}/`).resolve(`wasmgrad/${FILE_NAMES[variant]}`));
  return found;
}

function readBinary(variant: SimdVariant): Uint8Array<ArrayBuffer> {
  const tried = candidates(variant);
  for (const path of tried) {
    try {
      return readFileSync(path) as Uint8Array<ArrayBuffer>;
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOENT') throw err;
    }
  }
  throw new LoadError(
    `wasmgrad: ${FILE_NAMES[variant]} was not found (looked at ${tried.map(String).join(', ')}). If you bundle for ` +
      'Node, copy node_modules/wasmgrad/dist/*.wasm next to the bundle or keep wasmgrad external, or call ' +
      "init({ wasm: { simd128: '…/wasmgrad.wasm', relaxedSimd: '…/wasmgrad-relaxed.wasm' } }) first",
  );
}

// Listed in package.json's `sideEffects`: a bundler must keep this registration.
setLocator({
  sync: (variant) => new WebAssembly.Module(readBinary(variant)),
  source: (variant) => readBinary(variant),
  readFile: async (url) => (await readFile(url)) as Uint8Array<ArrayBuffer>,
  forced: () => (process.env.WASMGRAD_SIMD || undefined) as SimdVariant | undefined,
});

export * from './index.js';
export { loadCheckpointFile, loadFile, readHeaderFile, saveCheckpointFile, saveFile } from './io/node.js';

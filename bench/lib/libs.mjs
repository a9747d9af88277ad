// The three contenders, loaded into this one Node process: wasmgrad (from the repo's dist/)
// and TensorFlow.js with its wasm and cpu backends.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as wg from '../../dist/node.js';
import { lib } from '../../dist/ffi.js';

export { tf, wg };

// tfjs-core's Node build registers no gradients: load its register_all_gradients module
// (see tfjs-esm-hooks.mjs for why this needs a hook).
register('./tfjs-esm-hooks.mjs', import.meta.url);
await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');

/**
 * wasmgrad runs on one thread (the column compared with TF.js, which runs on one thread
 * too) and, when the threads build is loaded (Node's default), once more per thread count
 * in `threadCounts` as `wasmgrad-t<N>` — by default every core. All are the same build;
 * only setNumThreads differs.
 */
wg.tidy(() => wg.scalar(0).item()); // loads wasmgrad: which build, hence how many threads
export const THREADS = wg.getNumThreads();
const TFJS_LIBS = ['tfjs-wasm', 'tfjs-cpu'];
/** The contenders' columns, in order: see {@link setThreadCounts}. */
export let LIBS = THREADS > 1 ? ['wasmgrad', `wasmgrad-t${THREADS}`, ...TFJS_LIBS] : ['wasmgrad', ...TFJS_LIBS];

/** The extra wasmgrad columns: one per thread count above 1 (needs the threads build). */
export function setThreadCounts(counts) {
  if (counts.some((n) => n > 1) && THREADS === 1) throw new Error('--threads needs the threads build (unset WASMGRAD_THREADS=0)');
  LIBS = ['wasmgrad', ...[...new Set(counts)].filter((n) => n > 1).sort((a, b) => a - b).map((n) => `wasmgrad-t${n}`), ...TFJS_LIBS];
}

/** The thread count of a wasmgrad column (`wasmgrad-t4` = 4, any other wasmgrad one = 1), or null for TF.js. */
export function threadsOf(lib) {
  if (!lib.startsWith('wasmgrad')) return null;
  const m = /^wasmgrad-t(\d+)$/.exec(lib);
  return m ? Number(m[1]) : 1;
}
const BACKEND = { 'tfjs-wasm': 'wasm', 'tfjs-cpu': 'cpu' };

const WASM_DIR = fileURLToPath(new URL('../node_modules/@tensorflow/tfjs-backend-wasm/dist/', import.meta.url));
const WASM_BINARIES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];

/**
 * Initialises TF.js's wasm backend (one thread) and reports what it loaded. The binaries are
 * given as a file map wrapped in a Proxy, so the name the backend looks up at init is the
 * binary it instantiates.
 */
export async function initLibs() {
  tf.enableProdMode(); // only silences TF.js's console warnings; no effect on kernels
  const requested = [];
  let recording = false;
  const map = Object.fromEntries(WASM_BINARIES.map((n) => [n, WASM_DIR + n]));
  setWasmPaths(
    new Proxy(map, {
      get(target, key) {
        if (recording && typeof key === 'string' && key.endsWith('.wasm')) requested.push(key);
        return target[key];
      },
    }),
  );
  recording = true;
  setThreadsCount(1);
  if (!(await tf.setBackend('wasm'))) throw new Error('TF.js wasm backend failed to initialise');
  await tf.ready();
  recording = false;
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  const binary = [...new Set(requested)].join(', ') || 'unknown';
  if (!(await tf.setBackend('cpu'))) throw new Error('TF.js cpu backend failed to initialise');
  await tf.ready();
  // Make sure wasmgrad's module is loaded before anything is timed.
  wg.tidy(() => wg.scalar(1).add(1).item());
  return { tfjsWasm: { binary, simd, threads }, tfjsVersion: tf.version_core, wasmgradBuild: wasmgradBuild() };
}

/** Switches TF.js to the backend of `lib` (wasmgrad needs nothing). */
export async function useLib(lib) {
  const threads = threadsOf(lib);
  if (threads !== null) wg.setNumThreads(threads);
  const backend = BACKEND[lib];
  if (backend === undefined) return;
  if (tf.getBackend() !== backend && !(await tf.setBackend(backend))) throw new Error(`cannot switch TF.js to ${backend}`);
}

/** Live tensors of `lib`, to catch a workload that leaks (and would slow down later ones). */
export function liveTensors(lib) {
  return lib.startsWith('wasmgrad') ? wg.memory().numTensors : tf.memory().numTensors;
}

/**
 * Which build was measured (others rebuild it while they work): the one the loader picked,
 * threads or not × simd128 or relaxed-simd (threads-relaxed needs relaxed-simd: Node ≥ 22,
 * or Node 20 with --experimental-wasm-relaxed-simd).
 */
function wasmgradBuild() {
  const threads = lib().k.maxWorkers > 0;
  const relaxed = lib().k.relaxedSimd;
  const name = `wasmgrad${threads ? '-threads' : ''}${relaxed ? '-relaxed' : ''}.wasm`;
  const file = new URL(`../../dist/${name}`, import.meta.url);
  const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 12);
  return { wasmFile: `dist/${name}`, wasmSha256: sha256, wasmModified: statSync(file).mtime.toISOString() };
}

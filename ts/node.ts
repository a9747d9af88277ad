/**
 * Node entry: loads the wasm core from disk synchronously on first use, so no `init()`
 * call is needed (calling it first is how to choose a build explicitly).
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { LoadError } from './errors.js';
import type { Build, SimdVariant } from './ffi.js';
import { setLocator } from './load.js';
import { setThreadPlatform, type WorkerReport } from './threads.js';
import type { FromSupervisor, SupervisorData, ToSupervisor } from './threads-worker-node.js';

const FILE_NAMES: Record<Build, string> = {
  simd128: 'wasmgrad.wasm',
  'relaxed-simd': 'wasmgrad-relaxed.wasm',
  threads: 'wasmgrad-threads.wasm',
  'threads-relaxed': 'wasmgrad-threads-relaxed.wasm',
};

/**
 * Where a build may be, in order: the package's dist/ (also from ts/ in this repository's
 * tests; bundlers for Node rewrite these literal URLs to the files they copy), next to a
 * bundle that did not copy them (esbuild), and wherever Node resolves the package from.
 */
function candidates(variant: Build): (string | URL)[] {
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
  } else if (variant === 'threads') {
    attempt(() => new URL('../dist/wasmgrad-threads.wasm', import.meta.url));
    attempt(() => new URL('./wasmgrad-threads.wasm', import.meta.url));
  } else if (variant === 'threads-relaxed') {
    attempt(() => new URL('../dist/wasmgrad-threads-relaxed.wasm', import.meta.url));
    attempt(() => new URL('./wasmgrad-threads-relaxed.wasm', import.meta.url));
  } else {
    attempt(() => new URL('../dist/wasmgrad.wasm', import.meta.url));
    attempt(() => new URL('./wasmgrad.wasm', import.meta.url));
  }
  attempt(() => createRequire(import.meta.url).resolve(`wasmgrad/${FILE_NAMES[variant]}`));
  attempt(() => createRequire(`${process.cwd()}/`).resolve(`wasmgrad/${FILE_NAMES[variant]}`));
  return found;
}

function readBinary(variant: Build): Uint8Array<ArrayBuffer> {
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
      "init({ wasm: { simd128: '…/wasmgrad.wasm', relaxedSimd: '…/wasmgrad-relaxed.wasm', threads: '…/wasmgrad-threads.wasm', " +
      "threadsRelaxed: '…/wasmgrad-threads-relaxed.wasm' } }) first",
  );
}

// Listed in package.json's `sideEffects`: a bundler must keep this registration.
setLocator({
  sync: (variant) => new WebAssembly.Module(readBinary(variant)),
  source: (variant) => readBinary(variant),
  readFile: async (url) => (await readFile(url)) as Uint8Array<ArrayBuffer>,
  forced: () => (process.env.WASMGRAD_SIMD || undefined) as SimdVariant | undefined,
  forcedThreads: () => {
    const v = process.env.WASMGRAD_THREADS;
    if (v === undefined || v === '') return undefined;
    return !/^(0|false|no|off)$/i.test(v);
  },
});

/**
 * The worker script of the threads build, found like the binaries: the package's dist/,
 * next to a bundle, or wherever Node resolves the package from (`wasmgrad/threads-worker-node.js`).
 */
function workerScript(): string | URL {
  const tried: (string | URL)[] = [];
  const attempt = (f: () => string | URL): void => {
    try {
      tried.push(f());
    } catch {
      // As in candidates().
    }
  };
  attempt(() => new URL('../dist/threads-worker-node.js', import.meta.url));
  attempt(() => new URL('./threads-worker-node.js', import.meta.url));
  attempt(() => createRequire(import.meta.url).resolve('wasmgrad/threads-worker-node.js'));
  attempt(() => createRequire(`${process.cwd()}/`).resolve('wasmgrad/threads-worker-node.js'));
  const found = tried.find((p) => existsSync(p));
  if (found === undefined) throw new Error(`threads-worker-node.js was not found (looked at ${tried.map(String).join(', ')})`);
  return found;
}

/**
 * The supervisor thread (threads-worker-node.ts): it starts the pool workers and hears
 * when one dies, which the main thread cannot while it spins in wasm. Started with the
 * first worker; unref'ed, so an idle pool never keeps the process alive.
 */
let supervisor: Worker | null = null;
const workerListeners = new Map<number, { onReport: (r: WorkerReport) => void; onError: (message: string) => void }>();

/**
 * Starts the supervisor with the main thread's Node options, less those a worker refuses:
 * `--input-type` (`node -e`), with which a worker fails to start, and V8 options such as
 * `--experimental-wasm-relaxed-simd` (which Node 20 needs for the threads-relaxed build) or
 * `--max-old-space-size`, which `Worker` rejects (ERR_WORKER_INVALID_EXEC_ARGV, naming them)
 * and which apply to every thread of the process anyway. The supervisor starts the pool
 * workers with the same options.
 */
function startSupervisor(script: string | URL): Worker {
  let execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
  for (;;) {
    const data: SupervisorData = { supervisor: true, script: String(script), execArgv };
    try {
      return new Worker(script, { workerData: data, execArgv });
    } catch (err) {
      const refused = (err as { code?: string }).code === 'ERR_WORKER_INVALID_EXEC_ARGV' ? /flags: (.*)$/.exec((err as Error).message) : null;
      const names = new Set(refused?.[1]?.split(', '));
      const kept = execArgv.filter((a) => !names.has(a));
      if (kept.length === execArgv.length) throw err;
      execArgv = kept;
    }
  }
}

function supervisorThread(): Worker {
  if (supervisor !== null) return supervisor;
  const thread = startSupervisor(workerScript());
  const all = (message: string): void => workerListeners.forEach((l) => l.onError(message));
  thread.on('message', (m: FromSupervisor) => {
    const l = workerListeners.get(m.index);
    if ('report' in m) l?.onReport(m.report);
    else l?.onError(m.error);
  });
  thread.on('error', (err) => all(`the supervisor thread failed: ${err.message}`));
  thread.on('exit', (code) => all(`the supervisor thread exited (code ${code})`));
  // After the listeners: adding a 'message' listener refs the worker's port again.
  thread.unref();
  supervisor = thread;
  return thread;
}

setThreadPlatform({
  start: (init, onReport, onError) => {
    workerListeners.set(init.index, { onReport, onError });
    const message: ToSupervisor = { type: 'start', init };
    supervisorThread().postMessage(message);
  },
  defaultThreads: () => availableParallelism(),
  cores: () => availableParallelism(),
  terminateForTest: (index, afterMs) => {
    const message: ToSupervisor = { type: 'terminate', index, afterMs };
    supervisorThread().postMessage(message);
  },
});

export * from './index.js';
export { loadCheckpointFile, loadFile, readHeaderFile, saveCheckpointFile, saveFile } from './io/node.js';

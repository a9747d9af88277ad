/**
 * Threads: the worker pool of the threads builds (`wasmgrad-threads.wasm`: simd128 plus
 * atomics, on a shared `WebAssembly.Memory`; `wasmgrad-threads-relaxed.wasm`: the same with
 * relaxed-simd). The main instance runs ops as usual; large
 * ops (matrix products, convolutions, pooling, optimizer updates, …) are split into blocks
 * that workers take too (crates/wasm/src/threads.rs). Each worker instantiates the same compiled module on
 * the same memory, with its own stack and thread-local storage, and then waits for work
 * inside wasm. Worker scripts: threads-worker-node.ts, threads-worker-browser.ts.
 *
 * This file has no platform imports: the entry points (node.ts, browser.ts) say how a
 * worker is started.
 * @module
 */
import { ArgumentError } from './errors.js';

/** Initial pages of the shared memory: the threads build is linked with `--initial-memory=2097152`. */
export const THREADS_INITIAL_PAGES = 32;
/** Bytes of stack per worker (the main thread's is 1 MiB too). */
const WORKER_STACK_BYTES = 1 << 20;

/** What a worker needs to join the pool (posted to it; Module and shared Memory clone). */
export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Top of the worker's own stack. */
  stackTop: number;
  /** The worker's thread-local-storage block. */
  tls: number;
  /** The worker's number (0-based). */
  index: number;
  /** Address of the pool's shared words (`wt_shared`). */
  shared: number;
}

/** Messages a worker sends back. */
export type WorkerReport = { type: 'ready'; index: number } | { type: 'failed'; index: number; message: string };

/** @internal How an entry point starts a worker: `onReport` gets its messages, `onError` any failure. */
export type StartWorker = (init: WorkerInit, onReport: (r: WorkerReport) => void, onError: (message: string) => void) => void;

/** The i32 words of the pool state (see `Shared` in threads.rs). */
const WORD_POISONED = 1;
const WORD_REGISTERED = 3;

/**
 * @internal Marks the pool in `memory` (its words at `shared`) as poisoned, from any
 * thread: a calling thread spinning until a dead worker's task is done stops, and every
 * later parallel call throws.
 */
export function poisonPool(memory: WebAssembly.Memory, shared: number): void {
  Atomics.store(new Int32Array(memory.buffer, shared, 4), WORD_POISONED, 1);
}

/** The shared memory of the threads build: up to 4 GiB, else 1 GiB where that is refused (iOS). */
export function createSharedMemory(): WebAssembly.Memory {
  try {
    return new WebAssembly.Memory({ initial: THREADS_INITIAL_PAGES, maximum: 65536, shared: true });
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    return new WebAssembly.Memory({ initial: THREADS_INITIAL_PAGES, maximum: 16384, shared: true });
  }
}

/** A module with one shared memory: it validates iff threads (shared memory, atomics) work. */
const SHARED_MEMORY_PROBE = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x05, 0x04, 0x01, 0x03, 0x01, 0x01]);

/**
 * Whether the threads builds can run here: `SharedArrayBuffer` exists, the page is
 * cross-origin isolated (browsers; Node always is), and wasm shared memory validates.
 */
export function threadsSupported(): boolean {
  const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
  if (typeof SharedArrayBuffer === 'undefined') return false;
  if (!isNode && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== true) return false;
  try {
    return WebAssembly.validate(SHARED_MEMORY_PROBE);
  } catch {
    return false;
  }
}

/** The raw exports the pool uses (present in the threads build only). */
interface PoolExports {
  wt_shared(): number;
  wt_set_threads(n: number, spin: number): void;
  wt_alloc_stack(size: number): number;
  wt_alloc_tls(size: number, align: number): number;
  __tls_size: WebAssembly.Global;
  __tls_align: WebAssembly.Global;
}

/** The running pool: workers started so far, and the thread count asked for. */
export class ThreadPool {
  private readonly shared: number;
  private started = 0;
  private threads = 1;
  /** Why the pool is poisoned, once it is. */
  failure: string | null = null;
  /** Why workers could not be started, if they could not (the pool then runs one thread). */
  startFailure: string | null = null;

  constructor(
    private readonly exports: PoolExports,
    private readonly module: WebAssembly.Module,
    private readonly memory: WebAssembly.Memory,
    private readonly maxWorkers: number,
    private readonly start: StartWorker,
    private readonly cores: number,
  ) {
    this.shared = exports.wt_shared() >>> 0;
  }

  /** The pool's i32 words, viewed afresh (a grown shared memory has a new buffer). */
  private words(): Int32Array {
    return new Int32Array(this.memory.buffer, this.shared, 4);
  }

  /** Workers that have started waiting for work. */
  get ready(): number {
    return Atomics.load(this.words(), WORD_REGISTERED);
  }

  get threadCount(): number {
    return this.threads;
  }

  get maxThreads(): number {
    return this.maxWorkers + 1;
  }

  /** Uses `n` threads (the calling one included), starting the workers that are missing. */
  setThreads(n: number): void {
    if (this.startFailure !== null) return;
    this.threads = Math.min(n, this.maxThreads);
    // Idle workers spin before they block, unless there are more threads than cores.
    this.exports.wt_set_threads(this.threads, this.threads <= this.cores ? 1 : 0);
    while (this.started < this.threads - 1 && this.failure === null && this.startFailure === null) this.startWorker(this.started++);
  }

  /** Marks the pool as poisoned: the next parallel op throws instead of waiting for a dead worker. */
  poison(message: string): void {
    this.failure ??= message;
    poisonPool(this.memory, this.shared);
  }

  private startWorker(index: number): void {
    const stackTop = this.exports.wt_alloc_stack(WORKER_STACK_BYTES) >>> 0;
    const tls = this.exports.wt_alloc_tls(this.exports.__tls_size.value as number, this.exports.__tls_align.value as number) >>> 0;
    if (stackTop === 0 || tls === 0) {
      this.poison(`wasmgrad: no memory for the stack of worker ${index}`);
      return;
    }
    const init: WorkerInit = { module: this.module, memory: this.memory, stackTop, tls, index, shared: this.shared };
    let ready = false;
    const onError = (message: string): void => {
      if (ready) {
        // It may have been inside a job: the caller must not wait for it.
        this.poison(`wasmgrad: worker ${index} failed: ${message}`);
      } else {
        // It never joined (its script or module did not load): no job waits for it.
        this.cannotStart(`wasmgrad: worker ${index} could not start (${message}); running on one thread`);
      }
    };
    try {
      this.start(init, (r) => {
        if (r.type === 'ready') ready = true;
        else onError(r.message);
      }, onError);
    } catch (err) {
      onError((err as Error).message);
    }
  }

  /** Workers cannot start here (a bundle without the worker script, say): use one thread. */
  private cannotStart(message: string): void {
    if (this.startFailure !== null) return;
    this.startFailure = message;
    this.threads = 1;
    this.exports.wt_set_threads(1, 0);
    console.warn(message);
  }
}

/**
 * The worker side: joins the pool and waits for work (never returns unless the worker
 * traps; then it poisons the pool so the main thread stops waiting, and reports why).
 */
export function runWorker(init: WorkerInit, report: (r: WorkerReport) => void): void {
  const { module, memory, stackTop, tls, index, shared } = init;
  let panicAt = 0;
  let joined = false;
  try {
    const refuse = (): never => {
      throw new Error('wasmgrad: a worker thread called back into JavaScript');
    };
    const instance = new WebAssembly.Instance(module, {
      env: { memory },
      wasmgrad: { wg_host_call: refuse, wg_host_release: refuse },
    });
    const x = instance.exports as unknown as {
      __stack_pointer: WebAssembly.Global;
      __wasm_init_tls(tls: number): void;
      wg_panic_record(): number;
      wt_worker_loop(index: number): void;
    };
    // Before any call that uses the stack: every instance starts on the same static stack.
    x.__stack_pointer.value = stackTop;
    x.__wasm_init_tls(tls);
    panicAt = x.wg_panic_record() >>> 0;
    report({ type: 'ready', index });
    joined = true;
    x.wt_worker_loop(index);
    throw new Error('the worker loop returned');
  } catch (err) {
    // A worker that joined may have died inside a job: the caller must stop waiting. One
    // that never joined is not waited for (the main thread then runs on fewer threads).
    if (joined) poisonPool(memory, shared);
    let panic = '';
    if (panicAt !== 0) {
      const len = Math.min(new Uint32Array(memory.buffer, panicAt, 1)[0]!, 1024);
      panic = new TextDecoder().decode(new Uint8Array(memory.buffer, panicAt + 4, len).slice());
    }
    report({ type: 'failed', index, message: `${(err as Error).message}${panic === '' ? '' : `: ${panic}`}` });
  }
}

/** Checks a thread count given by the user. */
export function checkThreadCount(n: unknown): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
    throw new ArgumentError(`setNumThreads: expected a whole number >= 1, got ${String(n)}`);
  }
  return n;
}

// ---- the pool of the loaded core, and the thread count ----------------------------------

/** @internal How the platform starts workers and how many threads it uses by default. */
export interface ThreadPlatform {
  start: StartWorker;
  defaultThreads: () => number;
  /** Logical cores (more threads than this oversubscribe them). */
  cores: () => number;
  /** Test only: ends worker `index` abruptly (no catch runs in it) after `afterMs`. */
  terminateForTest?: (index: number, afterMs: number) => void;
}

let platform: ThreadPlatform | null = null;
let pool: ThreadPool | null = null;
/** The count `setNumThreads` asked for (null: the platform's default). */
let wanted: number | null = null;
/** A single-threaded build is loaded: there is no pool, and one thread. */
let singleThreaded = false;

/** @internal Called once by the entry point (node.ts / browser.ts). */
export function setThreadPlatform(p: ThreadPlatform): void {
  platform = p;
}

/** @internal Whether this platform can start workers (an entry point said how). */
export function canStartWorkers(): boolean {
  return platform !== null;
}

/** @internal Called when the core is instantiated: starts the pool of the threads build. */
export function attachPool(exports: WebAssembly.Exports | null, module: WebAssembly.Module, memory: WebAssembly.Memory | null, maxWorkers: number): void {
  if (exports === null || memory === null || maxWorkers === 0 || platform === null) {
    singleThreaded = true;
    return;
  }
  pool = new ThreadPool(exports as unknown as PoolExports, module, memory, maxWorkers, platform.start, Math.max(1, Math.floor(platform.cores())));
  pool.setThreads(wanted ?? Math.max(1, Math.floor(platform.defaultThreads())));
}

/** @internal Why the pool was poisoned, if it was. */
export function poolFailure(): string | null {
  return pool?.failure ?? null;
}

/**
 * @internal Test only: kills worker `index` after `afterMs` ms the way an out-of-memory
 * isolate dies (no catch runs in it), where the platform can (Node).
 */
export function testTerminateWorker(index: number, afterMs: number): void {
  if (platform?.terminateForTest === undefined) throw new Error('testTerminateWorker: this platform cannot terminate workers');
  platform.terminateForTest(index, afterMs);
}

/** @internal Workers that have joined the pool (tests wait for them). */
export function readyWorkers(): number {
  return pool?.ready ?? 0;
}

/**
 * Sets how many threads ops may use, the calling thread included: `1` runs everything
 * on the calling thread. Only the threads builds (`wasmgrad-threads.wasm` and
 * `wasmgrad-threads-relaxed.wasm`, picked in Node and in cross-origin-isolated pages; see
 * the README's "Threads") have more than one;
 * elsewhere the count is remembered and has no effect. Results are the same bits for
 * every count. May be called before the core is loaded; workers start in the
 * background, and ops run with the ones that are ready.
 *
 * The default is `os.availableParallelism()` in Node and
 * `min(4, navigator.hardwareConcurrency)` in browsers. At most 64.
 */
export function setNumThreads(n: number): void {
  wanted = checkThreadCount(n);
  pool?.setThreads(wanted);
}

/**
 * How many threads ops use, the calling thread included: 1 with a single-threaded
 * build; before the core is loaded, what it will use if it is the threads build.
 */
export function getNumThreads(): number {
  if (pool !== null) return pool.threadCount;
  if (singleThreaded) return 1;
  return Math.min(wanted ?? Math.max(1, Math.floor(platform?.defaultThreads() ?? 1)), 64);
}

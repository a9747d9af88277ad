/**
 * A Web Worker of the threads build (a module worker): joins the pool with the first
 * message the main thread posts (see threads.ts). No top-level await: bundlers may emit
 * workers as classic scripts.
 * @internal
 * @module
 */
import { runWorker, type WorkerInit, type WorkerReport } from './threads.js';

const scope = globalThis as unknown as {
  onmessage: ((e: { data: WorkerInit }) => void) | null;
  postMessage(r: WorkerReport): void;
};
scope.onmessage = (e) => {
  scope.onmessage = null;
  runWorker(e.data, (r) => scope.postMessage(r));
};

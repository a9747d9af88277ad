/**
 * Browser / bundler entry: call `await init()` once before creating tensors.
 * @module
 */
import { setLocator } from './load.js';
import { setThreadPlatform, type WorkerReport } from './threads.js';

// Listed in package.json's `sideEffects`: a bundler must keep this registration. The URLs
// are literal so that bundlers find, copy and rename the binaries and the worker script.
setLocator({
  source: (build) =>
    build === 'relaxed-simd'
      ? new URL('../dist/wasmgrad-relaxed.wasm', import.meta.url)
      : build === 'threads'
        ? new URL('../dist/wasmgrad-threads.wasm', import.meta.url)
        : build === 'threads-relaxed'
          ? new URL('../dist/wasmgrad-threads-relaxed.wasm', import.meta.url)
          : new URL('../dist/wasmgrad.wasm', import.meta.url),
});

setThreadPlatform({
  // Module workers, given the compiled module and the shared memory in their first message.
  // The threads build is only picked in cross-origin-isolated pages (threadsSupported).
  start: (init, onReport, onError) => {
    const worker = new Worker(new URL('./threads-worker-browser.js', import.meta.url), { type: 'module' });
    worker.onmessage = (e: MessageEvent<WorkerReport>) => onReport(e.data);
    worker.onerror = (e) => onError(e.message || 'the worker script failed to load');
    worker.postMessage(init);
  },
  defaultThreads: () => Math.min(4, globalThis.navigator?.hardwareConcurrency ?? 1),
  cores: () => globalThis.navigator?.hardwareConcurrency ?? 1,
});

export * from './index.js';

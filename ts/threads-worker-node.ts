/**
 * A worker thread of the threads build in Node (`worker_threads`): joins the pool with
 * what the main thread passed as `workerData` (see threads.ts).
 * @internal
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runWorker, type WorkerInit } from './threads.js';

runWorker(workerData as WorkerInit, (r) => parentPort!.postMessage(r));

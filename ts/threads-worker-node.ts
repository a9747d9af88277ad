/**
 * A thread of the threads build in Node (`worker_threads`), in one of two roles, from
 * what its parent passed as `workerData`:
 *
 * - a **pool worker** joins the pool (see threads.ts);
 * - the **supervisor** (one per process, started by node.ts) starts the pool workers and
 *   watches them. A worker can die without its own catch running (terminated, its isolate
 *   out of memory); only its parent hears of that, and the main thread may be spinning
 *   inside wasm waiting for that worker's task, unable to run any event handler. The
 *   supervisor's thread is idle, so it hears the exit and poisons the pool: the main
 *   thread stops waiting and throws a `PoisonedError` instead of hanging.
 *
 * One script for both, so a bundle needs one file next to it, not two.
 * @internal
 * @module
 */
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { poisonPool, runWorker, type WorkerInit, type WorkerReport } from './threads.js';

/** What node.ts passes to the supervisor. */
export interface SupervisorData {
  supervisor: true;
  /** This script (a path or a `file:` URL), to start the pool workers with. */
  script: string;
  execArgv: string[];
}

/** Messages from the main thread to the supervisor. */
export type ToSupervisor = { type: 'start'; init: WorkerInit } | { type: 'terminate'; index: number; afterMs: number };

/** Messages from the supervisor to the main thread, about pool worker `index`. */
export type FromSupervisor = { index: number; report: WorkerReport } | { index: number; error: string };

function supervise({ script, execArgv }: SupervisorData): void {
  const port = parentPort!;
  const send = (m: FromSupervisor): void => port.postMessage(m);
  const workers = new Map<number, Worker>();
  port.on('message', (m: ToSupervisor) => {
    if (m.type === 'terminate') {
      setTimeout(() => void workers.get(m.index)?.terminate(), m.afterMs);
      return;
    }
    const { init } = m;
    const { index } = init;
    let joined = false;
    const worker = new Worker(script.startsWith('file:') ? new URL(script) : script, { workerData: init, execArgv });
    workers.set(index, worker);
    worker.on('message', (r: WorkerReport) => {
      if (r.type === 'ready') joined = true;
      send({ index, report: r });
    });
    worker.on('error', (err) => send({ index, error: err.message }));
    worker.on('exit', (code) => {
      // Its messages (a 'ready', a 'failed' report) came first. One that had joined may
      // have died inside a job.
      if (joined) poisonPool(init.memory, init.shared);
      send({ index, error: `exited (code ${code})` });
    });
  });
}

const data = workerData as WorkerInit | SupervisorData;
if ('supervisor' in data) supervise(data);
else runWorker(data, (r) => parentPort!.postMessage(r));

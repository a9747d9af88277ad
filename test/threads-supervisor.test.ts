// A pool worker that dies without its own catch running (terminated, or its isolate out of
// memory) while the calling thread spins in wasm waiting for its task: the supervisor
// thread (ts/threads-worker-node.ts) hears the exit and poisons the pool, so the op throws
// a PoisonedError instead of hanging. In a fresh Node process on the built package, like a
// user's script; without the supervisor the child process hangs and this test times out.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runNode } from './helpers/node-process.js';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('the threads build in Node, a worker killed mid-job', () => {
  it('gives a PoisonedError on that op and every later one, never a hang', async () => {
    const code = `
      const wg = await import(${JSON.stringify(`${root}dist/node.js`)});
      const { readyWorkers, testTerminateWorker } = await import(${JSON.stringify(`${root}dist/threads.js`)});
      wg.setNumThreads(2);
      wg.zeros([1]).dispose();
      while (readyWorkers() < 1) await new Promise((r) => setTimeout(r, 10));
      const a = wg.randn([1024, 1024]);
      wg.matmul(a, a).dispose(); // both threads take part
      const result = {};
      const attempt = (name, f) => { try { f(); result[name] = 'no error'; } catch (e) { result[name] = e.name + ': ' + e.message; } };
      testTerminateWorker(0, 100);
      // Products of ~50 ms each, for up to 10 s: the kill lands inside one of them.
      const start = Date.now();
      attempt('during', () => { while (Date.now() - start < 10_000) wg.matmul(a, a).dispose(); });
      attempt('later', () => wg.matmul(wg.randn([256, 256]), wg.randn([256, 256])));
      console.log(JSON.stringify(result));`;
    const run = await runNode(code, { WASMGRAD_THREADS: '1' }, 45_000);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as Record<string, string>;
    expect(result.during).toMatch(/^PoisonedError: .*a worker thread of the thread pool died/s);
    expect(result.later).toMatch(/^PoisonedError: /);
  }, 60_000);
});

// A pool worker that dies without its own catch running (terminated, or its isolate out of
// memory) while the calling thread spins in wasm waiting for its task: the supervisor
// thread (ts/threads-worker-node.ts) hears the exit and poisons the pool, so the op throws
// a PoisonedError instead of hanging. In a fresh Node process on the built package, like a
// user's script; without the supervisor the child process hangs and this test times out.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

function runNode(code: string, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
      cwd: root,
      env: { ...process.env, WASMGRAD_SIMD: 'simd128', WASMGRAD_THREADS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the child process hung: no exit within ${timeoutMs} ms (stdout: ${stdout}, stderr: ${stderr})`));
    }, timeoutMs);
    child.on('exit', (exitCode) => {
      clearTimeout(timer);
      resolve({ code: exitCode, stdout, stderr });
    });
  });
}

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
    const run = await runNode(code, 45_000);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as Record<string, string>;
    expect(result.during).toMatch(/^PoisonedError: .*a worker thread of the thread pool died/s);
    expect(result.later).toMatch(/^PoisonedError: /);
  }, 60_000);
});

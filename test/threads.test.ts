// The threads builds (wasmgrad-threads.wasm, the `threads` vitest project, and
// wasmgrad-threads-relaxed.wasm, `threads-relaxed`): the same bits for every thread count
// and as the single-threaded build of the same SIMD variant (matrix products, MLP and
// CNN training steps, convolutions: test/fixtures/threads-workload.mjs), a process that exits
// by itself with workers running, and a dead worker reported as an error, never a hang.
// Child processes run the built package (dist/), like a user's script.
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import * as wg from '../ts/node.js';
import { lib } from '../ts/ffi.js';
import { readyWorkers } from '../ts/threads.js';
import { runNode } from './helpers/node-process.js';
// @ts-expect-error: a plain JS fixture, shared with the child processes.
import { threadsWorkload } from './fixtures/threads-workload.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const workload = threadsWorkload as (w: typeof wg) => Record<string, string>;

async function waitForWorkers(n: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (readyWorkers() < n) {
    if (Date.now() > deadline) throw new Error(`only ${readyWorkers()} of ${n} workers started in 30 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const DIST = JSON.stringify(`${root}dist/node.js`);
const DIST_FFI = JSON.stringify(`${root}dist/ffi.js`);
const DIST_THREADS = JSON.stringify(`${root}dist/threads.js`);
const WORKLOAD = JSON.stringify(`${root}test/fixtures/threads-workload.mjs`);
// The core loads on first use (a tensor), and starts its workers then.
/** A child's prelude: wasmgrad as `wg` on 2 threads, waiting until the worker is ready. */
const ON_TWO_THREADS = `
      const wg = await import(${DIST});
      const { readyWorkers } = await import(${DIST_THREADS});
      wg.setNumThreads(2);
      wg.zeros([1]).dispose();
      while (readyWorkers() < 1) await new Promise((r) => setTimeout(r, 10));`;

describe(`the threads build (${process.env.WASMGRAD_SIMD})`, () => {
  afterAll(() => wg.setNumThreads(availableParallelism()));

  it('is the build Node loads, with os.availableParallelism() threads by default', () => {
    expect(lib().k.maxWorkers).toBeGreaterThan(0);
    expect(wg.simdVariant()).toBe(process.env.WASMGRAD_SIMD);
    expect(lib().k.relaxedSimd).toBe(process.env.WASMGRAD_SIMD === 'relaxed-simd');
    expect(wg.threadsSupported()).toBe(true);
    expect(wg.getNumThreads()).toBe(Math.min(availableParallelism(), lib().k.maxWorkers + 1));
  });

  it('init() accepts threads: true once loaded, and refuses to switch to threads: false', async () => {
    await expect(wg.init()).resolves.toBeUndefined();
    await expect(wg.init({ threads: true })).resolves.toBeUndefined();
    await expect(wg.init({ threads: false })).rejects.toThrow(wg.TensorError);
    await expect(wg.init({ threads: 'yes' as unknown as boolean })).rejects.toThrow(wg.ArgumentError);
  });

  it('setNumThreads takes whole numbers from 1', () => {
    for (const bad of [0, -1, 1.5, NaN, '2']) expect(() => wg.setNumThreads(bad as number)).toThrow(wg.ArgumentError);
    wg.setNumThreads(3);
    expect(wg.getNumThreads()).toBe(3);
  });

  it('gives the same bits with 1, 2, 3 and 4 threads', async () => {
    wg.setNumThreads(4);
    await waitForWorkers(3);
    wg.setNumThreads(1);
    const one = workload(wg);
    expect(Object.keys(one).length).toBeGreaterThan(10);
    for (const n of [2, 3, 4]) {
      wg.setNumThreads(n);
      expect(workload(wg), `${n} threads`).toEqual(one);
    }
  });

  it('gives the same bits as the single-threaded build of its SIMD variant (a process with WASMGRAD_THREADS=0)', async () => {
    wg.setNumThreads(2);
    await waitForWorkers(1);
    const threaded = workload(wg);
    const code = `
      const wg = await import(${DIST});
      const { lib } = await import(${DIST_FFI});
      const { threadsWorkload } = await import(${WORKLOAD});
      if (lib().k.maxWorkers !== 0 || wg.getNumThreads() !== 1) throw new Error('not the single-threaded build');
      if (wg.simdVariant() !== ${JSON.stringify(wg.simdVariant())}) throw new Error('not the same SIMD variant: ' + wg.simdVariant());
      console.log(JSON.stringify(threadsWorkload(wg)));`;
    const run = await runNode(code, { WASMGRAD_THREADS: '0' });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(threaded);
  });

  it('lets a Node process that used threads exit by itself', async () => {
    const code = `
      ${ON_TWO_THREADS}
      const c = wg.matmul(wg.randn([256, 256]), wg.randn([256, 256]));
      console.log(wg.getNumThreads(), c.shape.join('x'));`;
    const run = await runNode(code, {}, 30_000);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe('2 256x256');
  });

  it('starts its workers when Node runs with V8 options a Worker refuses (they apply to every thread anyway)', async () => {
    // --max-old-space-size here; the relaxed-simd flag too in project threads-relaxed.
    const code = `
      ${ON_TWO_THREADS}
      const flags = ['--max-old-space-size=2048', '--experimental-wasm-relaxed-simd'].filter((f) => process.execArgv.includes(f));
      console.log(readyWorkers(), wg.simdVariant(), flags.join(' '));`;
    const run = await runNode(code, {}, 30_000, ['--max-old-space-size=2048']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const relaxedFlag = process.env.WASMGRAD_SIMD === 'relaxed-simd' ? ' --experimental-wasm-relaxed-simd' : '';
    expect(run.stdout.trim()).toBe(`1 ${process.env.WASMGRAD_SIMD} --max-old-space-size=2048${relaxedFlag}`);
  });

  it('wakes workers that a lower thread count parked once the count goes up again', async () => {
    // At two threads the second worker sleeps on the thread count after its next job
    // rather than on the job word; back at three, a job whose tasks trap only on that
    // worker must find it taking part.
    const code = `
      const wg = await import(${DIST});
      const { readyWorkers } = await import(${DIST_THREADS});
      const { lib } = await import(${DIST_FFI});
      wg.setNumThreads(3);
      wg.zeros([1]).dispose();
      while (readyWorkers() < 2) await new Promise((r) => setTimeout(r, 10));
      wg.setNumThreads(2);
      for (let i = 0; i < 3; i++) wg.matmul(wg.randn([256, 256]), wg.randn([256, 256]));
      await new Promise((r) => setTimeout(r, 50));
      wg.setNumThreads(3);
      let result = 'no error';
      try { lib().raw.wt_test_plant_worker_failure(64, 1); } catch (e) { result = e.name; }
      console.log(result);`;
    const run = await runNode(code, {}, 60_000);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe('PoisonedError');
  });

  it('reports a worker that traps as a PoisonedError on that and every later call, never hanging', async () => {
    const code = `
      ${ON_TWO_THREADS}
      const { lib } = await import(${DIST_FFI});
      const result = {};
      const attempt = (name, f) => { try { f(); result[name] = 'no error'; } catch (e) { result[name] = e.name + ': ' + e.message; } };
      attempt('planted', () => lib().raw.wt_test_plant_worker_failure(64, 0));
      attempt('matmul', () => wg.matmul(wg.randn([256, 256]), wg.randn([256, 256])));
      console.log(JSON.stringify(result));`;
    const run = await runNode(code, {}, 60_000);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as Record<string, string>;
    expect(result.planted).toMatch(/^PoisonedError: .*a worker thread of the thread pool died.*; the worker: .*planted worker failure \(test only\) in task \d+/s);
    expect(result.matmul).toMatch(/^PoisonedError: /);
  });
});

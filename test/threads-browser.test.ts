// The threads builds in a browser: a cross-origin-isolated page (scripts/serve.mjs sends
// COOP/COEP) in Debian's Chromium (playwright-core), which has relaxed-simd, loads
// wasmgrad-threads-relaxed.wasm with `await init()` (project `threads-relaxed`) or
// wasmgrad-threads.wasm with `init({ simd: 'simd128' })` (project `threads`), starts module
// Web Workers, and computes the same bits with 1 and 2 threads as this Node process does on
// the same build (test/fixtures/threads-workload.mjs). Runs in Node; the page's tensors live
// in the browser.
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as wg from '../ts/node.js';
import { serve, type StaticServer } from '../scripts/serve.mjs';
// @ts-expect-error: a plain JS fixture, shared with the page.
import { threadsWorkload } from './fixtures/threads-workload.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let server: StaticServer;
let browser: Browser;

beforeAll(async () => {
  server = await serve({ port: 0 });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

interface PageReport {
  isolated: boolean;
  build: number;
  relaxedSimd: boolean;
  variant: string;
  defaultThreads: number;
  hardwareConcurrency: number;
  ready: number;
  results: Record<string, Record<string, string>>;
}

describe('the threads build in Chromium', () => {
  const relaxed = process.env.WASMGRAD_SIMD === 'relaxed-simd';
  it(`loads ${relaxed ? 'threads-relaxed by default' : "threads with simd: 'simd128'"} in a cross-origin-isolated page and gives the bits Node gives, with 1 and 2 threads`, async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      // HTTP errors are checked by URL below (the browser asks for /favicon.ico by itself).
      if ((m.type() === 'error' || m.type() === 'warning') && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
    });
    page.on('response', (r) => {
      if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) errors.push(`HTTP ${r.status()} ${r.url()}`);
    });
    await page.goto(`${server.url}test/fixtures/threads-page.html`);
    // A string, so that vitest's transform leaves its dynamic imports alone.
    const report = (await page.evaluate(`(async () => {
      const w = await import('/dist/browser.js');
      const { lib } = await import('/dist/ffi.js');
      const { readyWorkers } = await import('/dist/threads.js');
      const { threadsWorkload } = await import('/test/fixtures/threads-workload.mjs');
      await w.init(${relaxed ? '' : "{ simd: 'simd128' }"});
      const defaultThreads = w.getNumThreads();
      w.setNumThreads(2);
      const deadline = Date.now() + 30000;
      while (readyWorkers() < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const results = {};
      for (const n of [1, 2]) {
        w.setNumThreads(n);
        results[n] = threadsWorkload(w);
      }
      return {
        isolated: globalThis.crossOriginIsolated,
        build: lib().k.maxWorkers,
        relaxedSimd: lib().k.relaxedSimd,
        variant: w.simdVariant(),
        ready: readyWorkers(),
        defaultThreads,
        hardwareConcurrency: navigator.hardwareConcurrency,
        results,
      };
    })()`)) as PageReport;
    await page.close();
    expect(errors).toEqual([]);
    expect(report.isolated).toBe(true);
    expect(report.build).toBeGreaterThan(0);
    expect(report.variant).toBe(process.env.WASMGRAD_SIMD);
    expect(report.relaxedSimd).toBe(relaxed);
    expect(report.ready).toBe(1);
    expect(report.defaultThreads).toBe(Math.min(4, report.hardwareConcurrency));
    const node = (threadsWorkload as (w: typeof wg) => Record<string, string>)(wg);
    expect(wg.simdVariant()).toBe(process.env.WASMGRAD_SIMD);
    expect(report.results[1]).toEqual(node);
    expect(report.results[2]).toEqual(node);
  }, 120_000);
});

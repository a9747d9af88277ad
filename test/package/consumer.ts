// Consumers of the packed tarball: a throwaway project with the package installed as a user
// installs it, served to Chromium when it is a web page.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, inject } from 'vitest';
import { serve as serveStatic } from '../../scripts/serve.mjs';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));

/** The project the tarball was installed into by the global setup. */
export function consumerRoot(): string {
  return inject('consumerRoot');
}

/** A fresh directory inside the consumer project holding the fixtures (resolving `wasmgrad` from its node_modules). */
export function scenario(name: string): string {
  const dir = join(consumerRoot(), name);
  mkdirSync(dir, { recursive: true });
  cpSync(FIXTURES, dir, { recursive: true });
  return dir;
}

export function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
}

/** Runs `node file` and parses the last line it prints as JSON. */
export function runNode(file: string, cwd: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): unknown {
  const r = run(process.execPath, [...args, file], cwd, { WASMGRAD_SIMD: '', WASMGRAD_THREADS: '', ...env });
  if (r.status !== 0) throw new Error(`node ${file} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

/** Serves `root` on a free port as the demo server does (cross-origin isolated; 404 for anything missing). */
export async function serve(root: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server = await serveStatic({ root, port: 0 });
  return { url: server.url, close: () => server.close() };
}

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

/** What the consumer app reports (test/package/fixtures/app.js; a page adds the last two). */
export interface AppReport {
  firstLoss: number;
  w: number;
  b: number;
  prediction: number;
  output: number;
  variant: string;
  leaked: number;
  crossOriginIsolated?: boolean;
  error?: string;
}

/** The README's linear-regression numbers (PyTorch 1.13 prints the same) and the module's known output. */
export function expectTrained(r: AppReport): void {
  expect(r.error).toBeUndefined();
  expect(r.firstLoss).toBe(2081);
  expect(r.w).toBeCloseTo(9.9712, 3);
  expect(r.b).toBeCloseTo(1.1427, 3);
  expect(r.prediction).toBeCloseTo(80.912, 2);
  expect(r.output).toBe(3 - 8 + 0.25);
  expect(r.leaked).toBe(0);
}

/** Opens `url` in Chromium and returns what the page reports, with any console errors. */
export async function openPage(url: string): Promise<{ report: AppReport; errors: string[] }> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForSelector('#out[data-done]', { timeout: 60_000 });
    const report = JSON.parse((await page.textContent('#out'))!) as AppReport;
    return { report, errors };
  } finally {
    await browser.close();
  }
}

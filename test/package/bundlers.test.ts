// The page a user bundles with Vite, webpack or esbuild trains and infers in Chromium,
// from the packed tarball, with each bundler's production settings and no wasmgrad-specific
// configuration (esbuild: the documented file loader and init({ wasm }) override).
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectTrained, openPage, REPO, scenario, serve, type AppReport } from './consumer.js';

const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const close of closers) await close();
});

async function open(dir: string): Promise<{ report: AppReport; errors: string[] }> {
  const server = await serve(dir);
  closers.push(server.close);
  return openPage(`${server.url}index.html`);
}

function expectWorks({ report, errors }: { report: AppReport; errors: string[] }, variant = 'relaxed-simd'): void {
  expect(errors).toEqual([]);
  expectTrained(report);
  // The page is cross-origin isolated and Chromium has relaxed-simd: init() picks the
  // threads-relaxed build, and the bundler copied it and the worker script (an error or
  // warning above otherwise).
  expect(report.variant).toBe(variant);
  expect(report.crossOriginIsolated).toBe(true);
}

describe('the tarball bundled for the browser', () => {
  it('Vite production build', async () => {
    const { build } = await import('vite');
    const dir = scenario('vite');
    const outDir = join(dir, 'dist-vite');
    await build({ root: join(dir, 'web'), logLevel: 'error', configFile: false, build: { outDir, emptyOutDir: true } });
    expectWorks(await open(outDir));
  });

  for (const mode of ['production', 'development'] as const) {
    it(`webpack 5 ${mode} build`, async () => {
      const { default: webpack } = await import('webpack');
      const dir = scenario(`webpack-${mode}`);
      const outDir = join(dir, 'dist-webpack');
      const stats = await new Promise<import('webpack').Stats>((ok, fail) =>
        webpack({ mode, context: dir, entry: './web/main.js', output: { path: outDir, filename: 'main.js' } }, (err, s) =>
          err ? fail(err) : ok(s!),
        ),
      );
      expect(stats.hasErrors(), stats.toString('errors-only')).toBe(false);
      copyFileSync(join(dir, 'web', 'index.html'), join(outDir, 'index.html'));
      expectWorks(await open(outDir));
    });
  }

  it('esbuild with the file loader and init({ wasm })', async () => {
    const { build } = await import('esbuild');
    const dir = scenario('esbuild');
    const outDir = join(dir, 'dist-esbuild');
    await build({
      entryPoints: { main: join(dir, 'web', 'main-esbuild.js') }, bundle: true, format: 'esm', platform: 'browser',
      minify: true, outdir: outDir, loader: { '.wasm': 'file' }, logLevel: 'error', absWorkingDir: REPO,
    });
    copyFileSync(join(dir, 'web', 'index.html'), join(outDir, 'index.html'));
    // No threads binary among those given: the fastest single-threaded build (Chromium has relaxed-simd).
    expectWorks(await open(outDir), 'relaxed-simd');
  });

  it('a missing binary is a LoadError naming the URL and the HTTP status, not a CompileError', async () => {
    const { build } = await import('esbuild');
    const dir = scenario('esbuild-404');
    const outDir = join(dir, 'dist');
    await build({ entryPoints: { main: join(dir, 'web', 'main.js') }, bundle: true, format: 'esm', outdir: outDir, logLevel: 'error', absWorkingDir: REPO });
    copyFileSync(join(dir, 'web', 'index.html'), join(outDir, 'index.html'));
    rmSync(join(outDir, 'wasmgrad.wasm'), { force: true });
    const { report } = await open(outDir);
    expect(report.error).toMatch(/^LoadError: init: fetching http:\/\/127\.0\.0\.1:\d+\/.*wasmgrad-threads-relaxed\.wasm failed: HTTP 404/);
    expect(report.error).toMatch(/init\(\{ wasm: \{ simd128: /);
  });
});

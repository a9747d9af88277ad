// Node consumers of the packed tarball: ESM, CommonJS (require of the ESM package), and
// bundles made for Node, none of which call init().
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { expectTrained, REPO, runNode, scenario, type AppReport } from './consumer.js';

describe('the tarball in a Node project', () => {
  it('installs without install scripts or warnings about them', () => {
    const log = inject('installLog');
    expect(log).not.toMatch(/install-scripts|install script|prepare|cargo|rustc/i);
    expect(log).toMatch(/added 1 package/);
  });

  it('trains from ESM without init()', () => {
    const r = runNode('node-esm.mjs', scenario('node-esm')) as AppReport;
    expectTrained(r);
    // The threads build (simd128 math), whose unref'ed workers let the process exit.
    expect(r.variant).toBe('simd128');
  });

  it('picks relaxed-simd where the runtime has it, with threads turned off', () => {
    const r = runNode('node-esm.mjs', scenario('node-relaxed'), ['--experimental-wasm-relaxed-simd'], { WASMGRAD_THREADS: '0' }) as AppReport;
    expectTrained(r);
    expect(r.variant).toBe('relaxed-simd');
  });

  it('works through require() from CommonJS', () => {
    const r = runNode('node-cjs.cjs', scenario('node-cjs'), ['--no-warnings']) as { sum: number; variant: string };
    expect(r).toEqual({ sum: 12, variant: 'simd128' });
  });

  for (const format of ['esm', 'cjs'] as const) {
    it(`loads synchronously when esbuild bundles it for Node (${format})`, async () => {
      const { build } = await import('esbuild');
      const dir = scenario(`esbuild-node-${format}`);
      const outfile = join(dir, 'out', format === 'esm' ? 'app.mjs' : 'app.cjs');
      await build({ entryPoints: [join(dir, 'node-esm.mjs')], bundle: true, platform: 'node', format, outfile, logLevel: 'error', absWorkingDir: REPO });
      expectTrained(runNode(outfile, dir) as AppReport);
    });
  }
});

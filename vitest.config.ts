import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { playwright } from '@vitest/browser-playwright';
import type { BrowserCommand } from 'vitest/node';
import { defineConfig } from 'vitest/config';

// The suite runs three times in Node: against the simd128 build, against the relaxed-simd
// (FMA) build, which Node 20 only enables behind a flag, and against the threads build; the
// threads tests also run against the threads-relaxed build. WASMGRAD_SIMD and
// WASMGRAD_THREADS force the build.
// It also runs in Chromium (vitest browser mode, Debian's /usr/bin/chromium through
// playwright; CHROMIUM_PATH overrides): the test files that need no Node API, against the
// browser entry (ts/browser.ts, `await init()`), with the relaxed-simd build (what Chromium
// picks by itself) and the op files once more with simd128; and a parity check compares
// every op-cases row's results in Chromium and in Node bit for bit (test/browser/).

const root = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/** Test files that need Node, with the reason; every other test file also runs in Chromium. */
const NODE_ONLY: Record<string, string> = {
  'test/examples.test.ts': 'runs the examples as Node processes (node:child_process)',
  'test/checkpoint.test.ts': 'saves and loads files (node:fs, the Node entry’s file API)',
  'test/safetensors.test.ts': 'compares with fixture files and checks the Node entry’s file API (node:fs)',
  'test/fuzz.test.ts': 'reads and writes its regression corpus (node:fs) and takes its knobs from process.env',
  'test/leaks.test.ts': 'forces garbage collection (node:v8, node:vm)',
  'test/soak.test.ts': 'forces garbage collection (node:v8, node:vm) and reads process.memoryUsage()',
  'test/nn-safetensors.test.ts': 'loads fixture files with the Node entry’s file API (loadFile, readHeaderFile)',
  'test/simd-variant.test.ts': 'checks the build against Node’s flags (process.execArgv, WASMGRAD_SIMD)',
  'test/loading.test.ts': 'loads fresh copies of the Node entry from files (node:fs, file: URLs)',
  'test/wasm-build.test.ts': 'reads the shipped binaries from dist/ (node:fs, node:zlib)',
  'test/threads.test.ts': 'the threads build in Node (worker_threads, child processes)',
  'test/threads-supervisor.test.ts': 'kills a worker of the threads build in a Node child process',
  'test/threads-ops.test.ts': 'compares thread counts of the threads build in Node and a child process (node:os, node:child_process)',
  'test/threads-browser.test.ts': 'serves a cross-origin-isolated page and drives its own Chromium (node:http, playwright-core)',
  'test/browser-demo.test.ts': 'starts the demo server and drives its own Chromium (node:http, playwright-core)',
  'test/package/**': 'packs and installs the package, runs bundlers and Node (node:child_process)',
};

const chromium = playwright({
  launchOptions: {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  },
});

/**
 * Parity check (test/browser/parity.test.ts): every op-cases row printed by a Node process
 * that runs `variant` the way the Node projects do (WASMGRAD_SIMD, the relaxed-simd flag).
 * test/browser/node-prints.ts is bundled with esbuild into target/ (one level below the
 * root, so ts/node.ts still finds ../dist/*.wasm); `vitest` stays external (op-cases.ts
 * uses its expect). Once per build and run.
 */
const prints = new Map<string, Promise<unknown>>();
const nodeOpFingerprints: BrowserCommand<[variant: string]> = (_ctx, variant) => {
  if (variant !== 'simd128' && variant !== 'relaxed-simd') throw new Error(`nodeOpFingerprints: unknown build ${variant}`);
  if (!prints.has(variant)) {
    prints.set(variant, (async () => {
      const { build } = await import('esbuild');
      mkdirSync(root('./target'), { recursive: true });
      const outfile = root(`./target/parity-node-prints-${variant}.mjs`);
      await build({
        entryPoints: [root('./test/browser/node-prints.ts')],
        outfile,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        external: ['vitest'],
        ignoreAnnotations: true, // package.json's sideEffects names dist/ files; ts/node.ts's setLocator must run
        logLevel: 'error',
      });
      const flags = variant === 'relaxed-simd' ? ['--experimental-wasm-relaxed-simd'] : [];
      const { stdout } = await promisify(execFile)(process.execPath, [...flags, outfile], {
        cwd: root('./'),
        env: { ...process.env, WASMGRAD_SIMD: variant, WASMGRAD_THREADS: '0' },
        maxBuffer: 256 * 2 ** 20,
        timeout: 300_000,
      });
      return JSON.parse(stdout) as unknown;
    })());
  }
  return prints.get(variant)!;
};

/** A Chromium project: test imports of the Node entry (ts/node.js) get the browser entry. */
function browserProject(name: string, simd: 'relaxed-simd' | 'simd128', include: string[]) {
  return {
    extends: true as const,
    resolve: { alias: [{ find: /^(?:\.\.\/)+ts\/node\.js$/, replacement: root('./ts/browser.ts') }] },
    test: {
      name,
      include,
      exclude: Object.keys(NODE_ONLY),
      // Added to the root's test/helpers/setup.ts (the leak check, which so applies here
      // too): `await init()` with the project's build before the test file is imported.
      setupFiles: ['test/browser/setup.ts'],
      provide: { wasmgradSimd: simd },
      browser: {
        enabled: true,
        provider: chromium,
        headless: true,
        screenshotFailures: false,
        instances: [{ browser: 'chromium' as const }],
        commands: { nodeOpFingerprints },
      },
    },
  };
}

export default defineConfig({
  test: {
    setupFiles: ['test/helpers/setup.ts'],
    testTimeout: 60_000,
    reporters: ['default', 'json'],
    outputFile: { json: 'target/vitest-report.json' },
    projects: [
      {
        extends: true,
        test: {
          name: 'simd128',
          include: ['test/**/*.test.ts'],
          exclude: ['test/browser/**', 'test/package/**', 'test/threads.test.ts', 'test/threads-supervisor.test.ts', 'test/threads-browser.test.ts'],
          // The single-threaded build: Node would load the threads build by default.
          env: { WASMGRAD_SIMD: 'simd128', WASMGRAD_THREADS: '0' },
        },
      },
      {
        extends: true,
        test: {
          name: 'relaxed-simd',
          include: ['test/**/*.test.ts'],
          // Examples and the demo run in their own processes and browser: once is enough.
          exclude: ['test/examples.test.ts', 'test/browser-demo.test.ts', 'test/browser/**', 'test/package/**', 'test/threads.test.ts', 'test/threads-supervisor.test.ts', 'test/threads-browser.test.ts'],
          execArgv: ['--experimental-wasm-relaxed-simd'],
          // The single-threaded build: Node would load the threads-relaxed build by default.
          env: { WASMGRAD_SIMD: 'relaxed-simd', WASMGRAD_THREADS: '0' },
        },
      },
      {
        // The threads build (simd128 on a worker pool), what Node loads by default: its own
        // tests (the same bits for every thread count and as the simd128 build, exiting,
        // a dead worker), and the whole op suite again with every core taking part.
        extends: true,
        test: {
          name: 'threads',
          include: ['test/**/*.test.ts'],
          // What does not depend on the build, or checks the choice of build itself, runs once.
          exclude: ['test/browser/**', 'test/package/**', 'test/examples.test.ts', 'test/browser-demo.test.ts', 'test/simd-variant.test.ts', 'test/wasm-build.test.ts', 'test/loading.test.ts'],
          env: { WASMGRAD_SIMD: 'simd128', WASMGRAD_THREADS: '1' },
        },
      },
      {
        // The threads-relaxed build (relaxed-simd on a worker pool), what Node ≥ 22 and
        // cross-origin-isolated Chromium load by default: the threads tests (the same bits
        // for every thread count and as the single-threaded relaxed-simd build, in Node and
        // in Chromium), the op table, and the files of the kernels that split among threads
        // (products, convolutions, pooling, reductions, optimizers). The whole suite here
        // took 2 min 10 s (2 cores), these 51 s; the rest runs on both SIMD variants and
        // on threads already.
        extends: true,
        test: {
          name: 'threads-relaxed',
          include: [
            'test/threads.test.ts', 'test/threads-ops.test.ts', 'test/threads-browser.test.ts', 'test/conv-threads.test.ts',
            'test/gemm-tiles.test.ts', 'test/simd-variant.test.ts', 'test/matmul.test.ts', 'test/conv.test.ts',
            'test/conv-paths.test.ts', 'test/pool-kernels.test.ts', 'test/reduce.test.ts', 'test/optim.test.ts', 'test/op-table.test.ts',
          ],
          execArgv: ['--experimental-wasm-relaxed-simd'],
          env: { WASMGRAD_SIMD: 'relaxed-simd', WASMGRAD_THREADS: '1' },
        },
      },
      {
        // The packed tarball installed into throwaway projects: Node, TypeScript, bundlers, Chromium.
        extends: true,
        test: { name: 'package', include: ['test/package/**/*.test.ts'], globalSetup: ['test/package/global-setup.ts'], testTimeout: 180_000 },
      },
      browserProject('chromium', 'relaxed-simd', ['test/**/*.test.ts']),
      // simd128 in the browser: the op table, the parity check, and the files where the two
      // builds' kernels differ most (matmul and convolution, fused multiply-add or not).
      browserProject('chromium-simd128', 'simd128', [
        'test/op-table.test.ts', 'test/matmul.test.ts', 'test/conv.test.ts', 'test/conv-transpose.test.ts', 'test/browser/**/*.test.ts',
      ]),
    ],
  },
});

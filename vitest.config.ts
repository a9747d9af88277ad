import { defineConfig } from 'vitest/config';

// The suite runs twice: against the simd128 build, and against the relaxed-simd (FMA)
// build, which Node 20 only enables behind a flag. WASMGRAD_SIMD forces the build.
export default defineConfig({
  test: {
    setupFiles: ['test/helpers/setup.ts'],
    testTimeout: 60_000,
    reporters: ['default', 'json'],
    outputFile: { json: 'target/vitest-report.json' },
    projects: [
      {
        extends: true,
        test: { name: 'simd128', include: ['test/**/*.test.ts'], exclude: ['test/package/**'], env: { WASMGRAD_SIMD: 'simd128' } },
      },
      {
        extends: true,
        test: {
          name: 'relaxed-simd',
          include: ['test/**/*.test.ts'],
          exclude: ['test/examples.test.ts', 'test/browser-demo.test.ts', 'test/package/**'], // own processes / own browser: once is enough
          execArgv: ['--experimental-wasm-relaxed-simd'],
          env: { WASMGRAD_SIMD: 'relaxed-simd' },
        },
      },
      {
        // The packed tarball installed into throwaway projects: Node, TypeScript, bundlers, Chromium.
        extends: true,
        test: { name: 'package', include: ['test/package/**/*.test.ts'], globalSetup: ['test/package/global-setup.ts'], testTimeout: 180_000 },
      },
    ],
  },
});

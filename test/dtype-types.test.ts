// The published declarations as a TypeScript consumer sees them: test/types/ is a small
// consumer project (lib es2022 + dom, no @types/node, strict, skipLibCheck false) that
// imports 'wasmgrad'. It is copied to a temporary directory next to a node_modules/wasmgrad
// holding the package's package.json and dist/**/*.d.ts (copies, not a symlink, so that
// nothing resolves to this repository's node_modules/@types), then type-checked with
// `tsc --noEmit` under moduleResolution bundler, node16 and nodenext, with and without
// lib esnext.disposable / esnext. The `// @ts-expect-error` lines in test/types/*.ts are
// checked too: an expected error that does not occur fails the compile.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const TEMPLATE = join(ROOT, 'test/types');
const DIST = join(ROOT, 'dist');

/** Every .d.ts under `dir`, as paths relative to `base`. */
function declarations(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return declarations(path, base);
    return name.endsWith('.d.ts') ? [relative(base, path)] : [];
  });
}

function tsc(cwd: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TSC, ...args], { cwd, encoding: 'utf8', timeout: 240_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

// Type-only: runs once, not again in the relaxed-simd project.
describe.skipIf(process.env.WASMGRAD_SIMD === 'relaxed-simd')('published declarations (tsc on test/types)', () => {
  let dir = '';
  let files: string[] = [];

  beforeAll(() => {
    expect(existsSync(join(DIST, 'index.d.ts')), 'dist/index.d.ts is missing: run `npm run build:ts`').toBe(true);
    dir = mkdtempSync(join(tmpdir(), 'wasmgrad-types-'));
    cpSync(TEMPLATE, dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    const pkg = join(dir, 'node_modules/wasmgrad');
    mkdirSync(pkg, { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
    files = declarations(DIST);
    for (const f of files) {
      mkdirSync(join(pkg, 'dist', f, '..'), { recursive: true });
      cpSync(join(DIST, f), join(pkg, 'dist', f));
    }
    // Every declaration file except the Node-only entry's, on its own (not only those the
    // entry points reach), checked with DOM-only libs.
    const portable = files.filter((f) => f !== 'node.d.ts' && f !== 'io/node.d.ts');
    writeFileSync(
      join(dir, 'tsconfig.all.json'),
      JSON.stringify({ extends: './tsconfig.bundler.json', files: portable.map((f) => `node_modules/wasmgrad/dist/${f}`) }),
    );
  });
  afterAll(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  const cases: [config: string, lib: string | undefined][] = [
    ['tsconfig.all.json', undefined],
    ['tsconfig.bundler.json', undefined],
    ['tsconfig.node16.json', undefined],
    ['tsconfig.nodenext.json', undefined],
    // The shipped Disposable/Symbol.dispose declarations coexist with TypeScript's own.
    ['tsconfig.bundler.json', 'es2022,dom,esnext.disposable'],
    ['tsconfig.nodenext.json', 'esnext,dom'],
    ['tsconfig.all.json', 'esnext,dom'],
  ];
  it.each(cases)('%s with lib %s compiles', async (config, lib) => {
    const { code, output } = await tsc(dir, ['-p', config, ...(lib === undefined ? [] : ['--lib', lib])]);
    expect(output).toBe('');
    expect(code).toBe(0);
  }, 240_000);

  it('resolves the declarations the package exports (not some other copy)', async () => {
    const { output } = await tsc(dir, ['-p', 'tsconfig.bundler.json', '--listFilesOnly']);
    expect(output).toMatch(/node_modules\/wasmgrad\/dist\/(index|browser)\.d\.ts/);
    expect(output).not.toMatch(/@types\/node/);
  }, 240_000);
});

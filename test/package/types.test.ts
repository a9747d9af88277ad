// The published declarations as a TypeScript consumer of the installed tarball sees them:
// test/types/ is a small consumer project (lib es2022 + dom, no @types/node, strict,
// skipLibCheck false) importing 'wasmgrad', type-checked with `tsc --noEmit` under
// moduleResolution bundler, node16 and nodenext, with and without lib esnext.disposable /
// esnext. Its `// @ts-expect-error` lines are checked too: an expected error that does not
// occur fails the compile. Every shipped declaration but the Node entry's is also checked
// on its own with the DOM-only libs.
import { execFile } from 'node:child_process';
import { cpSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { consumerRoot, REPO } from './consumer.js';

const TSC = join(REPO, 'node_modules/typescript/bin/tsc');

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

describe('the tarball in a TypeScript project', () => {
  // Beside the installed package (consumer/node_modules/wasmgrad), not inside this repository.
  const dir = (): string => join(consumerRoot(), 'types');

  beforeAll(() => {
    cpSync(join(REPO, 'test/types'), dir(), { recursive: true });
    const pkg = join(consumerRoot(), 'node_modules/wasmgrad/dist');
    const portable = declarations(pkg).filter((f) => f !== 'node.d.ts' && f !== 'io/node.d.ts');
    writeFileSync(
      join(dir(), 'tsconfig.all.json'),
      JSON.stringify({ extends: './tsconfig.bundler.json', files: portable.map((f) => `../node_modules/wasmgrad/dist/${f}`) }),
    );
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
    const { code, output } = await tsc(dir(), ['-p', config, ...(lib === undefined ? [] : ['--lib', lib])]);
    expect(output).toBe('');
    expect(code).toBe(0);
  }, 240_000);

  it('resolves the declarations the package exports (not some other copy)', async () => {
    const { output } = await tsc(dir(), ['-p', 'tsconfig.bundler.json', '--listFilesOnly']);
    expect(output).toMatch(/node_modules\/wasmgrad\/dist\/browser\.d\.ts/);
    expect(output).not.toMatch(/@types\/node/);
  }, 240_000);
});

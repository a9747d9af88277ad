// The packed tarball as npm would publish it: publint and "Are the types wrong?" find
// nothing, it holds what it needs and nothing of the repository's, and every source map
// carries the sources it maps.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { consumerRoot, REPO, run } from './consumer.js';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

describe('the packed tarball', () => {
  const installed = (): string => join(consumerRoot(), 'node_modules', 'wasmgrad');

  it('passes publint with no message', async () => {
    const { publint } = await import('publint');
    const tarball = readFileSync(inject('tarball'));
    const { messages } = await publint({ pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) }, level: 'suggestion', strict: true });
    expect(messages).toEqual([]);
  });

  it('passes "Are the types wrong?" (ESM-only profile: CommonJS gets the package through require(esm))', () => {
    const r = run(process.execPath, [join(REPO, 'node_modules/@arethetypeswrong/cli/dist/index.js'), inject('tarball'), '--profile', 'esm-only', '--format', 'json'], REPO);
    // The profile ignores CommonJS resolution (Node ≥ 20.19 require()s ESM) and node10; nothing else may show.
    const { problems } = JSON.parse(r.stdout) as { problems: Record<string, { resolutionKind: string }[]> };
    const counted = Object.values(problems).flat().filter((p) => !['node16-cjs', 'node10'].includes(p.resolutionKind));
    expect(counted).toEqual([]);
    expect(r.status).toBe(0);
  });

  it('ships the binaries, JS, types, docs and nothing else', () => {
    const shipped = files(installed()).map((f) => relative(installed(), f));
    for (const f of ['dist/wasmgrad.wasm', 'dist/wasmgrad-relaxed.wasm', 'dist/wasmgrad-threads.wasm', 'dist/wasmgrad-threads-relaxed.wasm', 'dist/threads-worker-node.js', 'dist/threads-worker-browser.js', 'dist/node.js', 'dist/browser.js', 'dist/node.d.ts', 'dist/browser.d.ts', 'README.md', 'LICENSE', 'CHANGELOG.md', 'package.json']) {
      expect(shipped).toContain(f);
    }
    expect(shipped.filter((f) => !/^dist\/.*\.(js|d\.ts|js\.map|wasm)$|^(README|CHANGELOG)\.md$|^LICENSE$|^package\.json$/.test(f))).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(installed(), 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
    for (const hook of ['preinstall', 'install', 'postinstall']) expect(pkg.scripts?.[hook]).toBeUndefined();
  });

  it('every source map carries its sources', () => {
    const maps = files(join(installed(), 'dist')).filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(10);
    for (const map of maps) {
      const { sources, sourcesContent } = JSON.parse(readFileSync(map, 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
      expect(sourcesContent?.length, map).toBe(sources.length);
      expect(sourcesContent!.every((s) => typeof s === 'string' && s.length > 0), map).toBe(true);
    }
  });

  it('every module with an import-time effect is declared in sideEffects', () => {
    const pkg = JSON.parse(readFileSync(join(installed(), 'package.json'), 'utf8')) as { sideEffects: string[] };
    // A module body that calls something at the top level (not in a declaration) has an effect.
    const effectful = files(join(installed(), 'dist'))
      .filter((f) => f.endsWith('.js'))
      .filter((f) => /^(?!export |import |const |let |var |function |async |class |\/|\s|\}|\*|$)[\w$.()[\]]+\s*(\(|\?\?=|=(?!=))/m.test(readFileSync(f, 'utf8')))
      .map((f) => `./${relative(installed(), f)}`);
    expect(effectful.sort()).toEqual([...pkg.sideEffects].sort());
  });
});

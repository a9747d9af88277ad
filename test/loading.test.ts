// init(): where the binary comes from, which build is chosen, and the errors a wrong
// location gives. Each case loads a fresh copy of the package (a new module graph), since
// a page or process has one core and this test file's own is already loaded.
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

type Wasmgrad = typeof import('../ts/node.js');
const SIMD128 = fileURLToPath(new URL('../dist/wasmgrad.wasm', import.meta.url));
const RELAXED = fileURLToPath(new URL('../dist/wasmgrad-relaxed.wasm', import.meta.url));
const bytes = (path: string): Uint8Array<ArrayBuffer> => new Uint8Array(readFileSync(path));

async function fresh(): Promise<Wasmgrad> {
  vi.resetModules();
  return import('../ts/node.js');
}

/** Loads with `options`, runs one op, and reports the build. */
async function load(options: Parameters<Wasmgrad['init']>[0]): Promise<string | null> {
  const wg = await fresh();
  await wg.init(options);
  expect(wg.tidy(() => wg.tensor([1, 2, 3]).mul(2).sum().item())).toBe(12);
  return wg.simdVariant();
}

describe('init({ wasm })', () => {
  // The test projects force a build through WASMGRAD_SIMD; these cases are about the choice.
  const forced = process.env.WASMGRAD_SIMD;
  beforeAll(() => {
    delete process.env.WASMGRAD_SIMD;
  });
  afterAll(() => {
    process.env.WASMGRAD_SIMD = forced;
  });
  const relaxed = (): boolean => process.execArgv.includes('--experimental-wasm-relaxed-simd');

  it('one binary per build keeps the automatic choice', async () => {
    expect(await load({ wasm: { simd128: bytes(SIMD128), relaxedSimd: bytes(RELAXED) } })).toBe(relaxed() ? 'relaxed-simd' : 'simd128');
    expect(await load({ wasm: { simd128: bytes(SIMD128) } })).toBe('simd128');
  });

  it('one binary is whichever build it is', async () => {
    expect(await load({ wasm: bytes(SIMD128) })).toBe('simd128');
    expect(await load({ wasm: new WebAssembly.Module(bytes(SIMD128)) })).toBe('simd128');
    if (relaxed()) expect(await load({ wasm: bytes(RELAXED) })).toBe('relaxed-simd');
  });

  it('a binary that is not the build asked for is refused before it becomes the core', async () => {
    expect(await load({ wasm: bytes(SIMD128), simd: 'simd128' })).toBe('simd128');
    const wg = await fresh();
    if (relaxed()) {
      await expect(wg.init({ wasm: bytes(SIMD128), simd: 'relaxed-simd' })).rejects.toThrow(/the simd128 build, not the relaxed-simd build/);
      await expect(wg.init({ wasm: bytes(RELAXED), simd: 'simd128' })).rejects.toThrow(/the relaxed-simd build, not the simd128 build/);
      expect(wg.simdVariant()).toBeNull();
    } else {
      await expect(wg.init({ wasm: bytes(RELAXED) })).rejects.toThrow(/does not compile here.*relaxed-simd/);
      await expect(wg.init({ simd: 'relaxed-simd' })).rejects.toThrow(/does not support relaxed-simd/);
    }
  });

  it('a file: URL and a Response served with the wrong MIME type load', async () => {
    expect(await load({ wasm: pathToFileURL(SIMD128) })).toBe('simd128');
    expect(await load({ wasm: { simd128: pathToFileURL(SIMD128).href } })).toBe('simd128');
    const response = new Response(bytes(SIMD128), { headers: { 'content-type': 'application/octet-stream' } });
    expect(await load({ wasm: response })).toBe('simd128');
  });

  it('a 404, an HTML page or a missing file is a LoadError naming what came back', async () => {
    const wg = await fresh();
    const notFound = new Response('<!doctype html><p>Not found', { status: 404, statusText: 'Not Found' });
    await expect(wg.init({ wasm: notFound })).rejects.toThrow(wg.LoadError);
    await expect(wg.init({ wasm: new Response('x', { status: 404, statusText: 'Not Found' }) })).rejects.toThrow(/HTTP 404 Not Found\. Serve the \.wasm files/);
    const html = new Response('<!doctype html><title>app</title>', { headers: { 'content-type': 'text/html' } });
    await expect(wg.init({ wasm: html })).rejects.toThrow(/is not a WebAssembly binary: it starts with "<!doctype html><" \(an HTML page/);
    await expect(wg.init({ wasm: new Uint8Array([1, 2]) })).rejects.toThrow(/the bytes passed to init\(\) is not a WebAssembly binary/);
    await expect(wg.init({ wasm: pathToFileURL('/nonexistent/wasmgrad.wasm') })).rejects.toThrow(/reading file:\/\/\/nonexistent\/wasmgrad\.wasm failed: ENOENT/);
    // Failed attempts leave nothing behind: the next init() loads.
    await wg.init({ wasm: bytes(SIMD128) });
    expect(wg.simdVariant()).toBe('simd128');
  });

  it('options are checked', async () => {
    const wg = await fresh();
    await expect(wg.init({ simd: 'sse' as never })).rejects.toThrow(/unknown simd variant sse/);
    await expect(wg.init({ wasm: { relaxedSimd: bytes(RELAXED) }, simd: 'simd128' })).rejects.toThrow(/has no simd128 binary/);
    if (!relaxed()) await expect(wg.init({ wasm: { relaxedSimd: bytes(RELAXED) } })).rejects.toThrow(/only a relaxed-simd binary was given/);
  });

  it('a second init() with another binary is refused once the core is loaded', async () => {
    const wg = await fresh();
    await wg.init({ wasm: bytes(SIMD128) });
    await wg.init(); // the same: nothing to do
    await expect(wg.init({ wasm: bytes(SIMD128) })).rejects.toThrow(/already initialised \(simd128\)/);
  });
});

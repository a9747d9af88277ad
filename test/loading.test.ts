// init(): where the binary comes from, which build is chosen, and the errors a wrong
// location gives. Each case loads a fresh copy of the package (a new module graph), since
// a page or process has one core and this test file's own is already loaded.
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

type Wasmgrad = typeof import('../ts/node.js');
const SIMD128 = fileURLToPath(new URL('../dist/wasmgrad.wasm', import.meta.url));
const RELAXED = fileURLToPath(new URL('../dist/wasmgrad-relaxed.wasm', import.meta.url));
const THREADS = fileURLToPath(new URL('../dist/wasmgrad-threads.wasm', import.meta.url));
const THREADS_RELAXED = fileURLToPath(new URL('../dist/wasmgrad-threads-relaxed.wasm', import.meta.url));
const bytes = (path: string): Uint8Array<ArrayBuffer> => new Uint8Array(readFileSync(path));

async function fresh(): Promise<Wasmgrad> {
  vi.resetModules();
  return import('../ts/node.js');
}

/** Loads with `options`, runs one op, and reports the SIMD variant. */
async function load(options: Parameters<Wasmgrad['init']>[0]): Promise<string | null> {
  const wg = await fresh();
  await wg.init(options);
  expect(wg.tidy(() => wg.tensor([1, 2, 3]).mul(2).sum().item())).toBe(12);
  return wg.simdVariant();
}

/** Loads with `options` and reports the whole build: its SIMD variant, with threads or not. */
async function loadBuild(options?: Parameters<Wasmgrad['init']>[0]): Promise<string> {
  const variant = await load(options);
  // The ffi module of the graph `load` just made (no reset since).
  const { lib } = await import('../ts/ffi.js');
  const threads = lib().k.maxWorkers > 0;
  expect(lib().k.relaxedSimd).toBe(variant === 'relaxed-simd');
  return threads ? (variant === 'relaxed-simd' ? 'threads-relaxed' : 'threads') : String(variant);
}

/** Runs `f` with the environment variables `env` (undefined: unset), then restores them. */
async function withEnv<T>(env: Record<string, string | undefined>, f: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const set = (vars: Record<string, string | undefined>): void => {
    for (const [k, v] of Object.entries(vars)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  set(env);
  try {
    return await f();
  } finally {
    set(before);
  }
}

// The test projects force a build through WASMGRAD_SIMD and WASMGRAD_THREADS; these cases
// are about the choice.
const forced = { simd: process.env.WASMGRAD_SIMD, threads: process.env.WASMGRAD_THREADS };
beforeAll(() => {
  delete process.env.WASMGRAD_SIMD;
  delete process.env.WASMGRAD_THREADS;
});
afterAll(() => {
  process.env.WASMGRAD_SIMD = forced.simd;
  if (forced.threads === undefined) delete process.env.WASMGRAD_THREADS;
  else process.env.WASMGRAD_THREADS = forced.threads;
});
const relaxed = (): boolean => process.execArgv.includes('--experimental-wasm-relaxed-simd');

describe('the build: threads × SIMD variant', () => {
  const all = () => ({ simd128: bytes(SIMD128), relaxedSimd: bytes(RELAXED), threads: bytes(THREADS), threadsRelaxed: bytes(THREADS_RELAXED) });

  it('by default, threads with relaxed-simd where it runs, else threads with simd128', async () => {
    const best = relaxed() ? 'threads-relaxed' : 'threads';
    expect(await loadBuild()).toBe(best);
    expect(await loadBuild({ wasm: all() })).toBe(best);
  });

  it('simd and threads combine, from init() and from WASMGRAD_SIMD / WASMGRAD_THREADS', async () => {
    const single = relaxed() ? 'relaxed-simd' : 'simd128';
    expect(await loadBuild({ wasm: all(), threads: false })).toBe(single);
    expect(await loadBuild({ threads: false })).toBe(single);
    expect(await loadBuild({ wasm: all(), simd: 'simd128' })).toBe('threads');
    expect(await loadBuild({ wasm: all(), simd: 'simd128', threads: true })).toBe('threads');
    expect(await loadBuild({ simd: 'simd128', threads: false })).toBe('simd128');
    expect(await withEnv({ WASMGRAD_THREADS: '0' }, () => loadBuild())).toBe(single);
    expect(await withEnv({ WASMGRAD_SIMD: 'simd128' }, () => loadBuild())).toBe('threads');
    expect(await withEnv({ WASMGRAD_SIMD: 'simd128', WASMGRAD_THREADS: '0' }, () => loadBuild())).toBe('simd128');
    // Options win over the environment.
    expect(await withEnv({ WASMGRAD_THREADS: '0' }, () => loadBuild({ simd: 'simd128', threads: true }))).toBe('threads');
    if (relaxed()) {
      // relaxed-simd no longer turns threads off.
      expect(await loadBuild({ wasm: all(), simd: 'relaxed-simd' })).toBe('threads-relaxed');
      expect(await loadBuild({ simd: 'relaxed-simd', threads: true })).toBe('threads-relaxed');
      expect(await loadBuild({ wasm: all(), simd: 'relaxed-simd', threads: false })).toBe('relaxed-simd');
      expect(await withEnv({ WASMGRAD_SIMD: 'relaxed-simd' }, () => loadBuild())).toBe('threads-relaxed');
      expect(await withEnv({ WASMGRAD_SIMD: 'relaxed-simd', WASMGRAD_THREADS: '0' }, () => loadBuild())).toBe('relaxed-simd');
    } else {
      const wg = await fresh();
      await expect(wg.init({ simd: 'relaxed-simd', threads: true })).rejects.toThrow(/does not support relaxed-simd \(Node 20 needs --experimental-wasm-relaxed-simd\)/);
      await expect(withEnv({ WASMGRAD_SIMD: 'relaxed-simd' }, () => wg.init())).rejects.toThrow(/does not support relaxed-simd/);
    }
  });

  it('some binaries given: the fastest of those that fit', async () => {
    expect(await loadBuild({ wasm: { simd128: bytes(SIMD128), threads: bytes(THREADS) } })).toBe('threads');
    expect(await loadBuild({ wasm: { relaxedSimd: bytes(RELAXED), simd128: bytes(SIMD128) } })).toBe(relaxed() ? 'relaxed-simd' : 'simd128');
    expect(await loadBuild({ wasm: { threadsRelaxed: bytes(THREADS_RELAXED), simd128: bytes(SIMD128) } })).toBe(relaxed() ? 'threads-relaxed' : 'simd128');
    expect(await loadBuild({ wasm: { threadsRelaxed: bytes(THREADS_RELAXED), threads: bytes(THREADS) } })).toBe(relaxed() ? 'threads-relaxed' : 'threads');
    if (relaxed()) expect(await loadBuild({ wasm: { relaxedSimd: bytes(RELAXED), threads: bytes(THREADS) }, threads: false })).toBe('relaxed-simd');
  });

  it('errors say what is missing', async () => {
    const wg = await fresh();
    await expect(wg.init({ wasm: { threads: bytes(THREADS) }, threads: false })).rejects.toThrow(
      relaxed() ? /needs one of relaxedSimd, simd128, but only threads was given/ : /needs one of simd128, but only threads was given/,
    );
    await expect(wg.init({ wasm: { simd128: bytes(SIMD128) }, threads: true })).rejects.toThrow(
      relaxed() ? /needs one of threadsRelaxed, threads, but only simd128 was given/ : /needs one of threads, but only simd128 was given/,
    );
    await expect(wg.init({ wasm: { threadsRelaxed: bytes(THREADS_RELAXED), relaxedSimd: bytes(RELAXED) }, simd: 'simd128' })).rejects.toThrow(
      /needs one of threads, simd128, but only relaxedSimd, threadsRelaxed were given/,
    );
    await expect(wg.init({ wasm: {} })).rejects.toThrow(/but no binary was given/);
    if (!relaxed()) {
      await expect(wg.init({ wasm: { threadsRelaxed: bytes(THREADS_RELAXED) } })).rejects.toThrow(
        /only threadsRelaxed was given, and this runtime does not support relaxed-simd/,
      );
    }
    // One binary: it must be what `simd` and `threads` ask for.
    await expect(wg.init({ wasm: bytes(THREADS), threads: false })).rejects.toThrow(/the threads build, but a single-threaded build was asked for/);
    await expect(wg.init({ wasm: bytes(SIMD128), threads: true })).rejects.toThrow(/the simd128 build, but a threads build was asked for/);
    if (relaxed()) {
      await expect(wg.init({ wasm: bytes(THREADS_RELAXED), simd: 'simd128' })).rejects.toThrow(/the threads-relaxed build, but a simd128 build was asked for/);
      await expect(wg.init({ wasm: bytes(THREADS), simd: 'relaxed-simd', threads: true })).rejects.toThrow(
        /the threads build, but a threads relaxed-simd build was asked for/,
      );
    }
    expect(wg.simdVariant()).toBeNull();
    expect(await loadBuild({ wasm: bytes(THREADS), simd: 'simd128', threads: true })).toBe('threads');
    if (relaxed()) expect(await loadBuild({ wasm: bytes(THREADS_RELAXED) })).toBe('threads-relaxed');
  });
});

describe('init({ wasm })', () => {
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
      await expect(wg.init({ wasm: bytes(SIMD128), simd: 'relaxed-simd' })).rejects.toThrow(/the simd128 build, but a relaxed-simd build was asked for/);
      await expect(wg.init({ wasm: bytes(RELAXED), simd: 'simd128' })).rejects.toThrow(/the relaxed-simd build, but a simd128 build was asked for/);
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
    await expect(wg.init({ wasm: { relaxedSimd: bytes(RELAXED) }, simd: 'simd128' })).rejects.toThrow(/needs one of threads, simd128, but only relaxedSimd was given/);
    if (!relaxed()) {
      await expect(wg.init({ wasm: { relaxedSimd: bytes(RELAXED) } })).rejects.toThrow(/only relaxedSimd was given, and this runtime does not support relaxed-simd/);
    }
  });

  it('a second init() with another binary is refused once the core is loaded', async () => {
    const wg = await fresh();
    await wg.init({ wasm: bytes(SIMD128) });
    await wg.init(); // the same: nothing to do
    await expect(wg.init({ wasm: bytes(SIMD128) })).rejects.toThrow(/already initialised \(the simd128 build\)/);
  });
});

/**
 * Loading the wasm core: choosing a build, finding its binary, compiling it. The entry
 * points (node.ts, browser.ts) say where their platform finds the binaries; `init()` lets a
 * user say it instead, per build.
 * @module
 */
import { ArgumentError, LoadError, TensorError } from './errors.js';
import { buildOf, buildParts, instantiate, loadedCore, setLazyLoader, simdVariant, type Build, type BuildWanted, type Core, type SimdVariant } from './ffi.js';
import { canStartWorkers, threadsSupported } from './threads.js';

/** One binary of the core: a URL to fetch, its bytes, a fetched `Response`, or a compiled module. */
export type WasmSource = WebAssembly.Module | BufferSource | URL | string | Response;

/**
 * A binary per build, so that `init()` still picks the fastest build the runtime runs
 * among those given (any may be left out).
 */
export interface WasmSources {
  /** The simd128 build (`wasmgrad/wasmgrad.wasm`): runs everywhere wasmgrad runs. */
  simd128?: WasmSource;
  /**
   * The relaxed-simd build (`wasmgrad/wasmgrad-relaxed.wasm`): fused multiply-add, Chrome
   * ≥ 114, Node ≥ 22.
   */
  relaxedSimd?: WasmSource;
  /**
   * The threads build (`wasmgrad/wasmgrad-threads.wasm`): simd128 on several threads, where
   * `SharedArrayBuffer` works (Node; cross-origin-isolated pages).
   */
  threads?: WasmSource;
  /**
   * The threads build with relaxed-simd (`wasmgrad/wasmgrad-threads-relaxed.wasm`): fused
   * multiply-add on several threads, where both run (Node ≥ 22; cross-origin-isolated pages
   * in Chrome ≥ 114). The fastest build where it runs.
   */
  threadsRelaxed?: WasmSource;
}

/** The key of {@link WasmSources} that holds each build. */
const SOURCE_KEYS: Record<Build, keyof WasmSources> = {
  simd128: 'simd128',
  'relaxed-simd': 'relaxedSimd',
  threads: 'threads',
  'threads-relaxed': 'threadsRelaxed',
};

/** Options of {@link init}. */
export interface InitOptions {
  /**
   * Where the binaries are, when the default location does not work (esbuild, a CDN, a
   * strict CSP): `{ simd128, relaxedSimd, threads, threadsRelaxed }` (any may be left
   * out), or one binary of any build.
   */
  wasm?: WasmSource | WasmSources;
  /**
   * Forces a SIMD variant instead of the fastest one the runtime supports, with or without
   * threads (see `threads`). In Node, `WASMGRAD_SIMD` says the same.
   */
  simd?: SimdVariant;
  /**
   * `false`: never load a threads build (one thread, no workers). `true`: require one
   * (a {@link LoadError} where it cannot run). Left out: a threads build wherever it runs.
   * Combines with `simd`: `{ simd: 'relaxed-simd', threads: true }` is the threads build
   * with relaxed-simd. In Node, `WASMGRAD_THREADS=0` (or `1`) says the same. See
   * {@link setNumThreads}.
   */
  threads?: boolean;
}

/** @internal Where an entry point finds each build. */
export interface WasmLocator {
  /** Synchronous load (Node), so the first op can load the core without `init()`. */
  sync?: (build: Build) => WebAssembly.Module;
  /** The default source for `init()`. */
  source: (build: Build) => WasmSource | Promise<WasmSource>;
  /** Reads a `file:` URL (Node's fetch cannot). */
  readFile?: (url: URL) => Promise<Uint8Array<ArrayBuffer>>;
  /** A SIMD variant forced by the environment (`WASMGRAD_SIMD`), if any. */
  forced?: () => SimdVariant | undefined;
  /** Threads forced on or off by the environment (`WASMGRAD_THREADS`), if at all. */
  forcedThreads?: () => boolean | undefined;
}

let locator: WasmLocator | null = null;

/** @internal Called once by the entry point (node.ts / browser.ts) when it is evaluated. */
export function setLocator(l: WasmLocator): void {
  locator = l;
  const sync = l.sync;
  setLazyLoader(sync === undefined ? null : (): Core => {
    const build = chooseBuild(undefined, undefined);
    return instantiate(sync(build), build);
  });
}

/** A module whose only function uses `f32x4.relaxed_madd`: it validates iff relaxed-simd works. */
const RELAXED_SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, 0x03, 0x02, 0x01, 0x00,
  0x0a, 0x3d, 0x01, 0x3b, 0x00, ...[0, 1, 2].flatMap(() => [0xfd, 0x0c, ...new Array<number>(16).fill(0)]), 0xfd, 0x85,
  0x02, 0x0b,
]);

/** Whether this runtime runs relaxed-simd (Chrome ≥ 114; Node 20 only with --experimental-wasm-relaxed-simd). */
export function relaxedSimdSupported(): boolean {
  try {
    return WebAssembly.validate(RELAXED_SIMD_PROBE);
  } catch {
    return false;
  }
}

const RELAXED_MISSING =
  "this runtime does not support relaxed-simd (Node 20 needs --experimental-wasm-relaxed-simd); use simd: 'simd128'";

function checkVariant(wanted: unknown): SimdVariant | undefined {
  if (wanted === undefined) return undefined;
  if (wanted !== 'relaxed-simd' && wanted !== 'simd128') {
    throw new ArgumentError(`init: unknown simd variant ${String(wanted)}; expected 'relaxed-simd' or 'simd128'`);
  }
  if (wanted === 'relaxed-simd' && !relaxedSimdSupported()) throw new LoadError(`init: ${RELAXED_MISSING}`);
  return wanted;
}

function checkThreads(wanted: unknown): boolean | undefined {
  if (wanted === undefined || typeof wanted === 'boolean') return wanted;
  throw new ArgumentError(`init: threads must be true or false, got ${String(wanted)}`);
}

const THREADS_MISSING =
  'the threads build needs SharedArrayBuffer: Node, or a cross-origin-isolated page (COOP/COEP headers, README: "Threads")';

/**
 * The build to load, threads × SIMD variant: threads unless turned off (by `threads` or
 * `WASMGRAD_THREADS`) or the runtime cannot start workers; relaxed-simd where it validates
 * unless simd128 is asked for (by `simd` or `WASMGRAD_SIMD`). With `available` (the binaries
 * a user passed), the fastest of those that fit.
 */
function chooseBuild(requested: SimdVariant | undefined, threads: boolean | undefined, available?: WasmSources): Build {
  const wantThreads = checkThreads(threads) ?? locator?.forcedThreads?.();
  const simd = checkVariant(requested ?? locator?.forced?.());
  const threadsRunnable = threadsSupported() && canStartWorkers();
  if (wantThreads === true && !threadsRunnable) throw new LoadError(`init: threads: true, but ${THREADS_MISSING}`);
  const relaxed = relaxedSimdSupported();
  const fitting: Build[] = [];
  for (const onThreads of [true, false]) {
    if (onThreads ? wantThreads === false || !threadsRunnable : wantThreads === true) continue;
    for (const variant of ['relaxed-simd', 'simd128'] as const) {
      if (simd !== undefined && simd !== variant) continue;
      if (variant === 'relaxed-simd' && !relaxed) continue;
      fitting.push(buildOf(onThreads, variant));
    }
  }
  if (available === undefined) {
    // simd128 always runs, so one build fits unless relaxed-simd was asked for where it
    // does not run, which checkVariant already refused.
    return fitting[0]!;
  }
  const found = fitting.find((b) => available[SOURCE_KEYS[b]] !== undefined);
  if (found !== undefined) return found;
  const given = (Object.keys(SOURCE_KEYS) as Build[]).filter((b) => available[SOURCE_KEYS[b]] !== undefined);
  const why = given.length === 0 ? 'no binary was given' : `only ${given.map((b) => SOURCE_KEYS[b]).join(', ')} ${given.length === 1 ? 'was' : 'were'} given`;
  const relaxedHint = !relaxed && given.some((b) => buildParts(b).simd === 'relaxed-simd') ? `, and ${RELAXED_MISSING}` : '';
  const threadsHint = wantThreads !== false && !threadsRunnable && given.some((b) => buildParts(b).threads) ? `, and ${THREADS_MISSING}` : '';
  throw new LoadError(
    `init: { wasm } has no binary this runtime can load as asked: it needs one of ${fitting.map((b) => SOURCE_KEYS[b]).join(', ')}, ` +
      `but ${why}${relaxedHint}${threadsHint}`,
  );
}

function isResponse(x: unknown): x is Response {
  return typeof Response !== 'undefined' && x instanceof Response;
}

function isSourceMap(wasm: WasmSource | WasmSources): wasm is WasmSources {
  return (
    typeof wasm === 'object' &&
    !(wasm instanceof WebAssembly.Module) &&
    !(wasm instanceof URL) &&
    !ArrayBuffer.isView(wasm) &&
    !(wasm instanceof ArrayBuffer) &&
    !(typeof SharedArrayBuffer !== 'undefined' && wasm instanceof SharedArrayBuffer) &&
    !isResponse(wasm)
  );
}

const HOW_TO_LOCATE =
  'Serve the .wasm files of the package (wasmgrad/wasmgrad.wasm, wasmgrad/wasmgrad-relaxed.wasm, wasmgrad/wasmgrad-threads.wasm, ' +
  "wasmgrad/wasmgrad-threads-relaxed.wasm) and tell init() where they are: init({ wasm: { simd128: '/assets/wasmgrad.wasm', " +
  "relaxedSimd: '/assets/wasmgrad-relaxed.wasm', threads: '/assets/wasmgrad-threads.wasm', " +
  "threadsRelaxed: '/assets/wasmgrad-threads-relaxed.wasm' } }) (README: \"Bundlers\")";

/** The start of a binary that is not wasm, printable, to say what came instead. */
function describeStart(bytes: Uint8Array): string {
  const text = Array.from(bytes.subarray(0, 16), (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
  const html = /^\s*</.test(text) ? ' (an HTML page: a server answering a missing file with its index page?)' : '';
  return `it starts with "${text}"${html}`;
}

async function compileBytes(bytes: BufferSource, what: string): Promise<WebAssembly.Module> {
  const view = ArrayBuffer.isView(bytes)
    ? new Uint8Array(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 16))
    : new Uint8Array(bytes, 0, Math.min(bytes.byteLength, 16));
  if (view.length < 4 || view[0] !== 0x00 || view[1] !== 0x61 || view[2] !== 0x73 || view[3] !== 0x6d) {
    throw new LoadError(`init: ${what} is not a WebAssembly binary: ${describeStart(view)}. ${HOW_TO_LOCATE}`);
  }
  try {
    return await WebAssembly.compile(bytes);
  } catch (err) {
    const hint = relaxedSimdSupported() ? '' : ` (if it is a relaxed-simd build: ${RELAXED_MISSING})`;
    throw new LoadError(`init: ${what} does not compile here: ${(err as Error).message}${hint}`);
  }
}

async function compileResponse(response: Response, what: string): Promise<WebAssembly.Module> {
  if (!response.ok) {
    throw new LoadError(`init: fetching ${what} failed: HTTP ${response.status} ${response.statusText}. ${HOW_TO_LOCATE}`);
  }
  if (typeof WebAssembly.compileStreaming === 'function') {
    try {
      return await WebAssembly.compileStreaming(response.clone());
    } catch {
      // A server sending the wrong MIME type, or not wasm at all: the bytes say which.
    }
  }
  return compileBytes(await response.arrayBuffer(), what);
}

async function compile(source: WasmSource): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  if (typeof source === 'string' || source instanceof URL) {
    const url = source instanceof URL ? source : new URL(source, globalThis.location?.href);
    if (url.protocol === 'file:' && locator?.readFile) {
      let bytes: Uint8Array<ArrayBuffer>;
      try {
        bytes = await locator.readFile(url);
      } catch (err) {
        throw new LoadError(`init: reading ${url.href} failed: ${(err as Error).message}`);
      }
      return compileBytes(bytes, url.href);
    }
    let response: Response;
    try {
      response = await fetch(url);
    } catch (err) {
      throw new LoadError(`init: fetching ${url.href} failed: ${(err as Error).message}. ${HOW_TO_LOCATE}`);
    }
    return compileResponse(response, url.href);
  }
  if (isResponse(source)) return compileResponse(source, source.url || 'the Response');
  return compileBytes(source, 'the bytes passed to init()');
}

/**
 * Loads the wasm core. Node loads it by itself on first use; in browsers call
 * `await init()` once before creating tensors.
 *
 * By default the fastest build the runtime supports is loaded (a threads build where
 * workers and `SharedArrayBuffer` run; relaxed-simd where it validates, else simd128)
 * from where the package keeps it; bundlers that copy `new URL('…', import.meta.url)`
 * assets (Vite, webpack, Rollup, Parcel) need nothing more. Otherwise pass `wasm`:
 * `{ simd128, relaxedSimd, threads, threadsRelaxed }` keeps the automatic choice among the
 * binaries given. In Node the environment variables `WASMGRAD_SIMD` and `WASMGRAD_THREADS`
 * force a SIMD variant and threads like `simd` and `threads` do.
 *
 * Throws a {@link LoadError} naming the URL when a binary cannot be fetched or is not
 * wasm (a 404 page, say).
 */
export async function init(options: InitOptions = {}): Promise<void> {
  const requested = checkVariant(options.simd);
  const threads = checkThreads(options.threads);
  if (loadedCore()) {
    const threadsMatch = threads === undefined || threads === (loadedCore()!.k.maxWorkers > 0);
    if (options.wasm === undefined && (requested === undefined || requested === simdVariant()) && threadsMatch) return;
    const loaded = buildOf(loadedCore()!.k.maxWorkers > 0, simdVariant()!);
    throw new TensorError(`init: wasmgrad is already initialised (the ${loaded} build); call init() before creating any tensor`);
  }
  const { wasm } = options;
  let source: WasmSource | undefined;
  let build: Build | undefined;
  let expected: BuildWanted | undefined;
  if (wasm === undefined) {
    build = chooseBuild(requested, threads);
    source = await locator?.source(build);
    if (source === undefined) throw new LoadError(`init: no wasm location is known here. ${HOW_TO_LOCATE}`);
  } else if (isSourceMap(wasm)) {
    build = chooseBuild(requested, threads, wasm);
    // chooseBuild picks only builds whose binary was given.
    source = wasm[SOURCE_KEYS[build]]!;
  } else {
    // One binary: the build is whatever it is, unless `simd` or `threads` says which it must be.
    expected = { threads, simd: requested };
    source = wasm;
  }
  const module = await compile(source);
  if (loadedCore()) throw new TensorError('init: wasmgrad was initialised while this call was loading; call init() once');
  instantiate(module, build ?? expected);
}

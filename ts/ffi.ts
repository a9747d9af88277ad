/**
 * The boundary to the wasm core: loading, trap guarding, error read-back, and the
 * scratch area through which shapes and axes are passed without allocating.
 * @internal
 * @module
 */
import { errorFromCode, PoisonedError, TensorError } from './errors.js';

/** Raw exports of `wasmgrad.wasm` (see crates/wasm/src/lib.rs for the conventions). */
export interface RawExports {
  memory: WebAssembly.Memory;
  wg_scratch(): number;
  wg_fscratch(): number;
  wg_text_ptr(): number;
  wg_catalog(): number;
  wg_error_code(): number;
  wg_error_message(): number;
  wg_memory(): void;
  wg_manual_seed(seed: number): void;
  wg_set_grad_enabled(enabled: number): number;
  wg_create(op: number, dtype: number, ndim: number, a: number, b: number, c: number): number;
  wg_data_ptr(h: number): number;
  wg_dispose(h: number): void;
  wg_shape(h: number): number;
  wg_info(h: number): number;
  wg_set_requires_grad(h: number, flag: number): number;
  wg_grad(h: number): number;
  wg_set_grad(h: number, g: number): number;
  wg_grad_fn_name(h: number): number;
  wg_detach(h: number): number;
  wg_cast(h: number, dtype: number): number;
  wg_unary(op: number, x: number): number;
  wg_binary(op: number, a: number, b: number): number;
  wg_binary_scalar(op: number, a: number, s: number, reversed: number): number;
  wg_reduce(op: number, x: number, naxes: number, keepdim: number): number;
  wg_movement(op: number, x: number, nargs: number): number;
  wg_inplace(op: number, target: number, source: number): number;
  wg_inplace_scalar(op: number, target: number, s: number): number;
  wg_backward(root: number, grad: number, flags: number): number;
  wg_autograd_grad(nOut: number, nIn: number, flags: number): number;
  wg_register_hook(h: number, id: number): number;
  wg_custom(callback: number, nIn: number, nSaved: number, output: number, nameLen: number): number;
  wg_list(n: number): number;
  wg_text_in(n: number): number;
  wg_host_return(n: number): number;
  wg_cat(n: number, dim: number): number;
  wg_nn(op: number, a: number, b: number, c: number, nints: number, f: number): number;
  wg_optim(op: number, param: number, grad: number, state0: number, state1: number, nfloats: number): number;
}

export type OpFamily = 'unary' | 'binary' | 'reduce' | 'movement' | 'create' | 'inplace' | 'nn' | 'optim';

const SCRATCH_WORDS = 64;
const FSCRATCH_WORDS = 16;
/** The core's limit on handle lists (`MAX_LIST` in crates/wasm/src/autograd.rs). */
const MAX_LIST = 1 << 20;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * A JS function the core calls during backward (a gradient hook or a custom function's
 * backward). It receives handles it owns and must dispose, and hands its results back
 * with {@link Core.hostReturn} before returning.
 */
export type HostCallback = (args: number[]) => void;

function poisonedError(trap: string): PoisonedError {
  return new PoisonedError(
    `wasmgrad: the WebAssembly instance trapped earlier (${trap}) and can no longer be used; ` +
      'reload the page or restart the process, and please report this as a bug',
  );
}

/**
 * Wraps every export so that a trap marks the instance as poisoned: a trapped instance may
 * have half-updated memory, so all later calls fail loudly instead of returning garbage.
 */
function guard(raw: WebAssembly.Exports): RawExports {
  let trap: string | null = null;
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (typeof value !== 'function') {
      out[name] = value;
      continue;
    }
    const f = value as (...args: number[]) => number;
    out[name] = (a: number, b: number, c: number, d: number, e: number, g: number) => {
      if (trap !== null) throw poisonedError(trap);
      try {
        return f(a, b, c, d, e, g);
      } catch (err) {
        if (err instanceof WebAssembly.RuntimeError) {
          trap = err.message;
          throw poisonedError(trap);
        }
        throw err;
      }
    };
  }
  return out as unknown as RawExports;
}

/** A loaded core: raw exports plus the op-id tables read from its catalog. */
export class Core {
  readonly raw: RawExports;
  readonly ops: Record<OpFamily, Record<string, number>>;
  private readonly scratchPtr: number;
  private scratchView: Int32Array;
  private fscratchView: Float64Array | null = null;
  private readonly callbacks = new Map<number, HostCallback>();
  private nextCallback = 1;
  /** What a callback threw; rethrown in place of the core's generic error. */
  private callbackError: Error | null = null;

  constructor(instance: WebAssembly.Instance) {
    this.raw = guard(instance.exports);
    this.scratchPtr = this.raw.wg_scratch();
    this.scratchView = new Int32Array(this.raw.memory.buffer, this.scratchPtr, SCRATCH_WORDS);
    this.ops = parseCatalog(this.text(this.raw.wg_catalog()));
  }

  /** The scratch area, re-viewed if memory grew (growth detaches old views). */
  scratch(): Int32Array {
    if (this.scratchView.buffer !== this.raw.memory.buffer) {
      this.scratchView = new Int32Array(this.raw.memory.buffer, this.scratchPtr, SCRATCH_WORDS);
    }
    return this.scratchView;
  }

  /** Writes a small integer list (shape, axes, permutation) into scratch; returns its length. */
  putInts(values: readonly number[], what: string): number {
    if (values.length > 16) throw errorFromCode(6, `${what}: at most 16 dims are supported, got ${values.length}`);
    const s = this.scratch();
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (!Number.isInteger(v) || v > 0x7fffffff || v < -0x80000000) {
        throw errorFromCode(6, `${what}: expected integers, got ${JSON.stringify(values)}`);
      }
      s[i] = v;
    }
    return values.length;
  }

  /** Writes a small list of floats (hyper-parameters) into the f64 scratch; returns its length. */
  putFloats(values: readonly number[], what: string): number {
    if (values.length > FSCRATCH_WORDS) {
      throw errorFromCode(6, `${what}: at most ${FSCRATCH_WORDS} float arguments are supported, got ${values.length}`);
    }
    // Viewed on first use (and again if memory grew, which detaches old views).
    if (this.fscratchView === null || this.fscratchView.buffer !== this.raw.memory.buffer) {
      this.fscratchView = new Float64Array(this.raw.memory.buffer, this.raw.wg_fscratch(), FSCRATCH_WORDS);
    }
    const s = this.fscratchView;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v !== 'number') throw errorFromCode(6, `${what}: expected numbers, got ${String(v)}`);
      s[i] = v;
    }
    return values.length;
  }

  /** Writes tensor handles into scratch (at most 64); returns how many. */
  putHandles(handles: readonly number[]): number {
    const s = this.scratch();
    if (handles.length > s.length) throw errorFromCode(6, `at most ${s.length} handles fit in one call`);
    handles.forEach((h, i) => (s[i] = h | 0));
    return handles.length;
  }

  /** Writes handles into the core's growable handle list; returns how many. */
  putList(handles: readonly number[]): number {
    if (handles.length > MAX_LIST) throw errorFromCode(6, `at most ${MAX_LIST} tensors can be passed in one call, got ${handles.length}`);
    new Uint32Array(this.raw.memory.buffer, this.raw.wg_list(handles.length), handles.length).set(handles);
    return handles.length;
  }

  /** The first `n` handles of the core's handle list. */
  readList(n: number): number[] {
    return Array.from(new Uint32Array(this.raw.memory.buffer, this.raw.wg_list(n), n));
  }

  /** Copies a string into the core's text input; returns its length in bytes. */
  putText(s: string): number {
    const bytes = encoder.encode(s).subarray(0, 4096);
    new Uint8Array(this.raw.memory.buffer, this.raw.wg_text_in(bytes.length), bytes.length).set(bytes);
    return bytes.length;
  }

  /** Registers a callback the core may call during backward; returns its id. */
  addCallback(fn: HostCallback): number {
    const id = this.nextCallback++;
    this.callbacks.set(id, fn);
    return id;
  }

  /** @internal How many callbacks are registered (tests check none outlive their graph). */
  get callbackCount(): number {
    return this.callbacks.size;
  }

  /** Forgets a callback (the core calls it no more, or it was removed). */
  removeCallback(id: number): void {
    this.callbacks.delete(id);
  }

  /** Called by a callback before it returns: its results (0 = none). */
  hostReturn(handles: readonly number[]): void {
    this.status(this.raw.wg_host_return(this.putList(handles)));
  }

  /** @internal The `wasmgrad.wg_host_call` import. Never lets an exception unwind into wasm. */
  hostCall(id: number, nargs: number): number {
    let args: number[] = [];
    try {
      args = this.readList(nargs);
      const fn = this.callbacks.get(id);
      if (fn === undefined) {
        // A removed hook: leave the gradient as it is.
        for (const h of args) this.raw.wg_dispose(h);
        this.hostReturn([]);
        return 0;
      }
      fn(args);
      return 0;
    } catch (err) {
      this.callbackError = err instanceof Error ? err : new Error(String(err));
      return -1;
    }
  }

  text(len: number): string {
    return decoder.decode(new Uint8Array(this.raw.memory.buffer, this.raw.wg_text_ptr(), len).slice());
  }

  /** The core's last error as a typed error (or what a JS callback threw during it). */
  lastError(): Error {
    const thrown = this.callbackError;
    if (thrown !== null) {
      this.callbackError = null;
      return thrown;
    }
    const code = this.raw.wg_error_code();
    return errorFromCode(code, this.text(this.raw.wg_error_message()));
  }

  /** Returns `handle`, or throws the core's error when it is 0. */
  check(handle: number): number {
    if (handle === 0) throw this.lastError();
    return handle;
  }

  /** Throws the core's error for a non-zero status. */
  status(code: number): void {
    if (code !== 0) throw this.lastError();
  }

  opId(family: OpFamily, name: string): number {
    const id = this.ops[family][name];
    if (id === undefined) throw errorFromCode(6, `${name}: not a known ${family} op of this wasm build`);
    return id;
  }
}

function parseCatalog(text: string): Record<OpFamily, Record<string, number>> {
  const result = {} as Record<OpFamily, Record<string, number>>;
  for (const part of text.split(';')) {
    const [family, names] = part.split(':') as [OpFamily, string];
    result[family] = Object.fromEntries(names.split(',').map((n, i) => [n, i]));
  }
  return result;
}

// ---- loading ------------------------------------------------------------------------

/** The two builds of the core: plain simd128, and simd128 + relaxed-simd (fused multiply-add). */
export type SimdVariant = 'relaxed-simd' | 'simd128';

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

/** Where an entry point finds each build of the binary. */
export interface WasmLocator {
  /** Synchronous compile (Node), so the first op can load the core lazily. */
  sync?: (variant: SimdVariant) => WebAssembly.Module;
  /** The default source for `init()`. */
  source: (variant: SimdVariant) => Promise<WasmSource>;
  /** A variant forced by the environment (e.g. `WASMGRAD_SIMD`), if any. */
  forced?: () => SimdVariant | undefined;
}

let core: Core | null = null;
let loadedVariant: SimdVariant | null = null;
let locator: WasmLocator | null = null;

/** Where {@link init} may find the wasm binary. */
export type WasmSource = WebAssembly.Module | BufferSource | URL | string | Response;

/** @internal Called once by the entry point (node.ts / browser.ts). */
export function setLocator(l: WasmLocator): void {
  locator = l;
}

function chooseVariant(requested: SimdVariant | undefined): SimdVariant {
  const wanted = requested ?? locator?.forced?.();
  if (wanted !== undefined && wanted !== 'relaxed-simd' && wanted !== 'simd128') {
    throw errorFromCode(6, `init: unknown simd variant ${String(wanted)}; expected 'relaxed-simd' or 'simd128'`);
  }
  if (wanted === 'relaxed-simd' && !relaxedSimdSupported()) {
    throw new TensorError(
      "init: this runtime does not support relaxed-simd (Node 20 needs --experimental-wasm-relaxed-simd); use simd: 'simd128'",
    );
  }
  return wanted ?? (relaxedSimdSupported() ? 'relaxed-simd' : 'simd128');
}

async function compile(source: WasmSource): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  if (typeof source === 'string' || source instanceof URL) source = await fetch(source);
  if (typeof Response !== 'undefined' && source instanceof Response) {
    if (typeof WebAssembly.compileStreaming === 'function') {
      try {
        return await WebAssembly.compileStreaming(source.clone());
      } catch {
        // Wrong MIME type from a static server: fall back to compiling the bytes.
      }
    }
    return WebAssembly.compile(await source.arrayBuffer());
  }
  return WebAssembly.compile(source as BufferSource);
}

function instantiate(module: WebAssembly.Module, variant: SimdVariant): Core {
  // The imports are called only after `core` is set (during backward).
  const imports = {
    wasmgrad: {
      wg_host_call: (id: number, nargs: number): number => core!.hostCall(id, nargs),
      wg_host_release: (id: number): void => core!.removeCallback(id),
    },
  };
  const instance = new WebAssembly.Instance(module, imports);
  core = new Core(instance);
  loadedVariant = variant;
  core.raw.wg_manual_seed(Math.floor(Math.random() * 2 ** 52));
  return core;
}

/**
 * Loads the wasm core. In Node this happens by itself on first use; in browsers call
 * `await init()` once before creating tensors.
 *
 * - `simd` forces a build: `'relaxed-simd'` (fused multiply-add, faster matmul) or
 *   `'simd128'`. By default the faster one the runtime supports is used. In Node the
 *   environment variable `WASMGRAD_SIMD` does the same.
 * - `wasm` loads the binary from elsewhere (a URL, bytes, a compiled module), e.g. under a
 *   strict CSP or from a CDN; it must be the build `simd` names.
 */
export async function init(options: { wasm?: WasmSource; simd?: SimdVariant } = {}): Promise<void> {
  const variant = chooseVariant(options.simd);
  if (core) {
    if (options.wasm === undefined && (options.simd === undefined || options.simd === loadedVariant)) return;
    throw new TensorError(`init: wasmgrad is already initialised (${loadedVariant}); call init() before creating any tensor`);
  }
  const source = options.wasm ?? (await locator?.source(variant));
  if (source === undefined) throw new TensorError('init: no wasm source is known here; pass { wasm }');
  instantiate(await compile(source), variant);
}

/** Which build of the core is running, or null before it is loaded. */
export function simdVariant(): SimdVariant | null {
  return loadedVariant;
}

/** The loaded core (loading it synchronously where the platform allows). */
export function lib(): Core {
  if (core) return core;
  if (locator?.sync) {
    const variant = chooseVariant(undefined);
    return instantiate(locator.sync(variant), variant);
  }
  throw new TensorError('wasmgrad is not initialised: call `await init()` once before using tensors');
}

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
  wg_backward(root: number, grad: number, retain: number): number;
}

export type OpFamily = 'unary' | 'binary' | 'reduce' | 'movement' | 'create' | 'inplace';

const SCRATCH_WORDS = 64;
const decoder = new TextDecoder();

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

  text(len: number): string {
    return decoder.decode(new Uint8Array(this.raw.memory.buffer, this.raw.wg_text_ptr(), len).slice());
  }

  /** The core's last error as a typed error. */
  lastError(): TensorError {
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

let core: Core | null = null;
let syncSource: (() => WebAssembly.Module) | null = null;

/** Where {@link init} may find the wasm binary. */
export type WasmSource = WebAssembly.Module | BufferSource | URL | string | Response;

/** @internal Registers a synchronous loader (Node), so the first op loads the core lazily. */
export function setSyncSource(load: () => WebAssembly.Module): void {
  syncSource = load;
}

let defaultSource: (() => Promise<WasmSource>) | null = null;
/** @internal The entry point's default location of wasmgrad.wasm. */
export function setDefaultSource(f: () => Promise<WasmSource>): void {
  defaultSource = f;
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

function instantiate(module: WebAssembly.Module): Core {
  const instance = new WebAssembly.Instance(module, {});
  core = new Core(instance);
  const seed = Math.floor(Math.random() * 2 ** 52);
  core.raw.wg_manual_seed(seed);
  return core;
}

/**
 * Loads the wasm core. In Node this happens by itself on first use; in browsers call
 * `await init()` once before creating tensors. Pass `wasm` to load the binary from
 * elsewhere (a URL, bytes, a compiled module), e.g. under a strict CSP or from a CDN.
 */
export async function init(options: { wasm?: WasmSource } = {}): Promise<void> {
  if (core && options.wasm === undefined) return;
  const source = options.wasm ?? (await defaultSource?.());
  if (source === undefined) throw new TensorError('init: no wasm source is known here; pass { wasm }');
  instantiate(await compile(source));
}

/** The loaded core (loading it synchronously where the platform allows). */
export function lib(): Core {
  if (core) return core;
  if (syncSource) return instantiate(syncSource());
  throw new TensorError('wasmgrad is not initialised: call `await init()` once before using tensors');
}

/**
 * The boundary to the wasm core: loading, trap guarding, error read-back, and the
 * scratch area through which shapes and axes are passed without allocating.
 * @internal
 * @module
 */
import { ArgumentError, ERROR_CLASSES, LoadError, PoisonedError, TensorError, type ErrorName } from './errors.js';
import { attachPool, createSharedMemory } from './threads.js';

/**
 * Raw exports of `wasmgrad.wasm` (see crates/wasm/src/lib.rs for the conventions). Handles
 * are integers below 2^53; pointers come back as signed i32 and are read with `>>> 0`.
 */
export interface RawExports {
  memory: WebAssembly.Memory;
  wg_scratch(): number;
  wg_fscratch(): number;
  wg_text_ptr(): number;
  wg_catalog(): number;
  wg_constants(): number;
  wg_panic_record(): number;
  wg_error_code(): number;
  wg_error_message(): number;
  wg_memory(): void;
  wg_set_memory_limit(bytes: number): number;
  wg_manual_seed(seed: number): void;
  wg_set_grad_enabled(enabled: number): number;
  wg_is_grad_enabled(): number;
  wg_data_ptr(h: number): number;
  wg_dispose(h: number): void;
  wg_dispose_list(n: number): number;
  wg_alive(h: number): number;
  wg_shape(h: number): number;
  wg_info(h: number): number;
  wg_set_requires_grad(h: number, flag: number): number;
  wg_grad(h: number): number;
  wg_set_grad(h: number, g: number): number;
  wg_grad_fn_name(h: number): number;
  wg_detach(h: number): number;
  wg_unary(op: number, x: number): number;
  wg_binary(op: number, a: number, b: number): number;
  wg_binary_scalar(op: number, a: number, s: number, reversed: number): number;
  /** A declared op; its arguments are `nwords` f64 words in the f64 scratch (see `encodeArgs`). */
  wg_op(id: number, nwords: number): number;
  /** A declared in-place update, like `wg_op`; returns a status. */
  wg_update(id: number, nwords: number): number;
  wg_backward(root: number, grad: number, flags: number): number;
  wg_autograd_grad(nOut: number, nIn: number, flags: number): number;
  wg_register_hook(h: number, id: number): number;
  wg_custom(callback: number, nIn: number, nSaved: number, output: number, nameLen: number): number;
  wg_list(n: number): number;
  wg_text_in(n: number): number;
  wg_host_return(n: number): number;
}

/** The elementwise tables called through `wg_unary` / `wg_binary`, by their own ids. */
export type ElementwiseTable = 'unary' | 'binary';

/** What one argument of a declared op is (the core's `schema::Kind`). */
export type ArgKind = 'tensor' | 'optionalTensor' | 'operand' | 'tensors' | 'int' | 'ints' | 'optionalInts' | 'float' | 'bool' | 'choice';

/** One argument of a declared op's schema. */
export interface ArgSpec {
  readonly name: string;
  readonly kind: ArgKind;
  /** The names a `choice` argument takes. */
  readonly choices?: readonly string[];
}

/** A declared op, as the core's catalog describes it. */
export interface OpDecl {
  readonly id: number;
  readonly name: string;
  readonly family: string;
  /** PyTorch's name for its backward node ('' without a gradient). */
  readonly gradFn: string;
  /** An in-place update (`wg_update`) rather than a tensor-making op (`wg_op`). */
  readonly update: boolean;
  readonly args: readonly ArgSpec[];
}

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

/** What the core's panic hook recorded before a trap (a u32 length, then UTF-8), if anything. */
function panicRecord(raw: WebAssembly.Exports): string {
  const at = raw.wg_panic_record;
  const memory = raw.memory;
  if (typeof at !== 'function' || !(memory instanceof WebAssembly.Memory)) return '';
  try {
    const ptr = (at as () => number)() >>> 0;
    const len = new Uint32Array(memory.buffer, ptr, 1)[0]!;
    return decoder.decode(new Uint8Array(memory.buffer, ptr + 4, Math.min(len, 1024)).slice());
  } catch {
    return '';
  }
}

/**
 * Wraps every export so that a trap marks the instance as poisoned: a trapped instance may
 * have half-updated memory, so all later calls fail loudly instead of returning garbage.
 * The error says what the core's panic hook recorded, if it ran.
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
          const panic = panicRecord(raw);
          trap = panic === '' ? `${err.message} in ${name}` : `${err.message} in ${name}: ${panic}`;
          throw poisonedError(trap);
        }
        throw err;
      }
    };
  }
  return out as unknown as RawExports;
}

/** The numbers TS shares with the core, read from `wg_constants` (never copied by hand). */
export interface Constants {
  /** dtype code by name. */
  readonly dtypeCodes: Readonly<Record<'float32' | 'int32' | 'bool', number>>;
  /** Error class name by core error code. */
  readonly errorNames: ReadonlyMap<number, ErrorName>;
  readonly retainGraph: number;
  readonly createGraph: number;
  readonly allowUnused: number;
  readonly infoDtypeMask: number;
  readonly infoRequiresGrad: number;
  readonly infoIsLeaf: number;
  readonly infoHasGrad: number;
  /** The "no tensor" result (a leaf without a gradient). */
  readonly absent: number;
  readonly scratchWords: number;
  readonly fscratchWords: number;
  readonly maxList: number;
  readonly maxTextIn: number;
  readonly maxRank: number;
  readonly maxLiveTensors: number;
  readonly memoryReserve: number;
  /** An operand argument's first word: a tensor handle follows, or a number. */
  readonly operandTensor: number;
  readonly operandNumber: number;
  /** The count of an absent optional integer list. */
  readonly absentList: number;
  /** Whether this binary is the relaxed-simd build. */
  readonly relaxedSimd: boolean;
  /** How many workers the threads build can run (0: a single-threaded build). */
  readonly maxWorkers: number;
}

/** @internal Parses `name=value;…`; every name TS uses must be there, and TS uses every name. */
export function parseConstants(text: string): { constants: Constants; unused: string[] } {
  const values = new Map<string, number>();
  for (const pair of text.split(';')) {
    const [name, value] = pair.split('=') as [string, string];
    values.set(name, Number(value));
  }
  const used = new Set<string>();
  const get = (name: string): number => {
    const v = values.get(name);
    if (v === undefined || Number.isNaN(v)) throw new TensorError(`wasmgrad: the wasm core does not define ${name}; is it a different version?`);
    used.add(name);
    return v;
  };
  const errorNames = new Map<number, ErrorName>();
  for (const name of Object.keys(ERROR_CLASSES) as ErrorName[]) errorNames.set(get(`error.${name}`), name);
  const constants: Constants = {
    dtypeCodes: { float32: get('dtype.float32'), int32: get('dtype.int32'), bool: get('dtype.bool') },
    errorNames,
    retainGraph: get('pass.retainGraph'),
    createGraph: get('pass.createGraph'),
    allowUnused: get('pass.allowUnused'),
    infoDtypeMask: get('info.dtypeMask'),
    infoRequiresGrad: get('info.requiresGrad'),
    infoIsLeaf: get('info.isLeaf'),
    infoHasGrad: get('info.hasGrad'),
    absent: get('handle.absent'),
    scratchWords: get('limit.scratchWords'),
    fscratchWords: get('limit.fscratchWords'),
    maxList: get('limit.list'),
    maxTextIn: get('limit.textIn'),
    maxRank: get('limit.maxRank'),
    maxLiveTensors: get('limit.liveTensors'),
    memoryReserve: get('memory.reserve'),
    operandTensor: get('wire.operandTensor'),
    operandNumber: get('wire.operandNumber'),
    absentList: get('wire.absentList'),
    relaxedSimd: get('build.relaxedSimd') === 1,
    maxWorkers: get('build.maxWorkers'),
  };
  return { constants, unused: [...values.keys()].filter((k) => !used.has(k)) };
}

/** A loaded core: raw exports plus the op-id tables and constants it publishes. */
export class Core {
  readonly raw: RawExports;
  /** Op ids by family and name: the elementwise tables, then every declared family. */
  readonly ops: Readonly<Record<string, Readonly<Record<string, number>>>>;
  private readonly decls: ReadonlyMap<string, OpDecl>;
  readonly k: Constants;
  /** @internal Constants the core published that this TS does not read (a test keeps it empty). */
  readonly unusedConstants: readonly string[];
  private readonly scratchPtr: number;
  private scratchView: Int32Array;
  private fscratchView: Float64Array | null = null;
  private readonly dtypeNames: Map<number, 'float32' | 'int32' | 'bool'>;
  private readonly callbacks = new Map<number, HostCallback>();
  private nextCallback = 1;
  /** What a callback threw; rethrown in place of the core's generic error. */
  private callbackError: Error | null = null;

  /** `memory`: the instance's imported memory (threads build); else it exports its own. */
  constructor(instance: WebAssembly.Instance, memory?: WebAssembly.Memory) {
    this.raw = guard(memory === undefined ? instance.exports : { ...instance.exports, memory });
    const { constants, unused } = parseConstants(this.text(this.raw.wg_constants()));
    this.k = constants;
    this.unusedConstants = unused;
    this.dtypeNames = new Map(Object.entries(constants.dtypeCodes).map(([n, c]) => [c, n as 'float32' | 'int32' | 'bool']));
    this.scratchPtr = this.raw.wg_scratch() >>> 0;
    this.scratchView = new Int32Array(this.raw.memory.buffer, this.scratchPtr, constants.scratchWords);
    ({ ops: this.ops, decls: this.decls } = parseCatalog(this.text(this.raw.wg_catalog())));
  }

  /** The dtype named by bits read from `wg_info`. */
  dtypeOfInfo(info: number): 'float32' | 'int32' | 'bool' {
    return this.dtypeNames.get(info & this.k.infoDtypeMask)!;
  }

  /** The scratch area, re-viewed if memory grew. */
  scratch(): Int32Array {
    // Growth detaches an ArrayBuffer (old views get length 0), but a SharedArrayBuffer
    // (threads build) stays as it was while `memory.buffer` becomes a new, longer one:
    // compare the buffers.
    if (this.scratchView.buffer !== this.raw.memory.buffer) {
      this.scratchView = new Int32Array(this.raw.memory.buffer, this.scratchPtr, this.k.scratchWords);
    }
    return this.scratchView;
  }

  /** The f64 scratch area (viewed on first use, and again if memory grew). */
  fscratch(): Float64Array {
    if (this.fscratchView === null || this.fscratchView.buffer !== this.raw.memory.buffer) {
      this.fscratchView = new Float64Array(this.raw.memory.buffer, this.raw.wg_fscratch() >>> 0, this.k.fscratchWords);
    }
    return this.fscratchView;
  }

  /** The core's handle list, `n` long (its contents kept); throws if the core refuses. */
  private list(n: number): Float64Array {
    if (n > this.k.maxList) throw new ArgumentError(`at most ${this.k.maxList} tensors can be passed in one call, got ${n}`);
    const ptr = this.raw.wg_list(n) >>> 0;
    if (ptr === 0) throw this.lastError();
    return new Float64Array(this.raw.memory.buffer, ptr, n);
  }

  /** Writes handles into the core's growable handle list; returns how many. */
  putList(handles: readonly number[]): number {
    this.list(handles.length).set(handles);
    return handles.length;
  }

  /** The first `n` handles of the core's handle list. */
  readList(n: number): number[] {
    return Array.from(this.list(n));
  }

  /** Releases many handles in one call. */
  disposeMany(handles: readonly number[]): void {
    for (let i = 0; i < handles.length; i += this.k.maxList) {
      const part = handles.length <= this.k.maxList ? handles : handles.slice(i, i + this.k.maxList);
      this.status(this.raw.wg_dispose_list(this.putList(part)));
    }
  }

  /** Copies a string into the core's text input; returns its length in bytes. */
  putText(s: string): number {
    const bytes = encoder.encode(s);
    if (bytes.length > this.k.maxTextIn) throw new ArgumentError(`a name of ${bytes.length} bytes is too long (at most ${this.k.maxTextIn})`);
    const ptr = this.raw.wg_text_in(bytes.length) >>> 0;
    if (ptr === 0) throw this.lastError();
    new Uint8Array(this.raw.memory.buffer, ptr, bytes.length).set(bytes);
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
    return decoder.decode(new Uint8Array(this.raw.memory.buffer, this.raw.wg_text_ptr() >>> 0, len).slice());
  }

  /** The core's last error as a typed error (or what a JS callback threw during it). */
  lastError(): Error {
    const thrown = this.callbackError;
    if (thrown !== null) {
      this.callbackError = null;
      return thrown;
    }
    const code = this.raw.wg_error_code();
    const message = this.text(this.raw.wg_error_message());
    const name = this.k.errorNames.get(code);
    return name === undefined ? new TensorError(message, code) : new ERROR_CLASSES[name](message, code);
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

  /** The id of an op of an elementwise table. */
  opId(table: ElementwiseTable, name: string): number {
    const id = this.ops[table]![name];
    if (id === undefined) throw new ArgumentError(`${name}: not a known ${table} op of this wasm build`);
    return id;
  }

  /** A declared op by name. */
  decl(name: string): OpDecl {
    const d = this.decls.get(name);
    if (d === undefined) throw new ArgumentError(`${name}: not an op of this wasm build`);
    return d;
  }
}

interface CatalogJson {
  unary: string[];
  binary: string[];
  ops: Omit<OpDecl, 'id'>[];
}

function parseCatalog(text: string): { ops: Record<string, Record<string, number>>; decls: Map<string, OpDecl> } {
  const json = JSON.parse(text) as CatalogJson;
  const byPosition = (names: string[]) => Object.fromEntries(names.map((n, i) => [n, i]));
  const ops: Record<string, Record<string, number>> = { unary: byPosition(json.unary), binary: byPosition(json.binary) };
  const decls = new Map<string, OpDecl>();
  json.ops.forEach((d, id) => {
    (ops[d.family] ??= {})[d.name] = id;
    decls.set(d.name, { ...d, id });
  });
  return { ops, decls };
}

// ---- the loaded instance ---------------------------------------------------------------

let core: Core | null = null;
let loadedVariant: SimdVariant | null = null;
let loadLazily: (() => Core) | null = null;

/**
 * The SIMD variants of the core: plain simd128, and simd128 + relaxed-simd (fused
 * multiply-add). Each comes single-threaded and as a threads build; a threads build
 * computes the same bits as its single-threaded variant, on any number of threads.
 */
export type SimdVariant = 'relaxed-simd' | 'simd128';

/**
 * @internal A binary of the core: threads or not × a SIMD variant. `threads` is simd128 on
 * several threads, `threads-relaxed` relaxed-simd on several threads.
 */
export type Build = SimdVariant | 'threads' | 'threads-relaxed';

/** @internal The build that runs `simd` with or without threads. */
export function buildOf(threads: boolean, simd: SimdVariant): Build {
  if (!threads) return simd;
  return simd === 'relaxed-simd' ? 'threads-relaxed' : 'threads';
}

/** @internal Whether `build` runs on several threads, and its SIMD variant. */
export function buildParts(build: Build): { threads: boolean; simd: SimdVariant } {
  if (build === 'threads') return { threads: true, simd: 'simd128' };
  if (build === 'threads-relaxed') return { threads: true, simd: 'relaxed-simd' };
  return { threads: false, simd: build };
}

/** @internal What a loaded binary must be: a whole build, or only its threads or its SIMD side. */
export type BuildWanted = { threads?: boolean; simd?: SimdVariant };

/** Whether `module` is a threads build: it imports its (shared) memory. */
function importsMemory(module: WebAssembly.Module): boolean {
  return WebAssembly.Module.imports(module).some((i) => i.kind === 'memory');
}

/**
 * @internal Instantiates `module` as the one core of this page or process; `expected` says
 * which build it must be (checked before it becomes the core). A threads build gets a new
 * shared memory and starts its worker pool.
 */
export function instantiate(module: WebAssembly.Module, expected?: Build | BuildWanted): Core {
  const threads = importsMemory(module);
  const memory = threads ? createSharedMemory() : null;
  // The imports are called only after `core` is set (during backward).
  const imports = {
    wasmgrad: {
      wg_host_call: (id: number, nargs: number): number => core!.hostCall(id, nargs),
      wg_host_release: (id: number): void => core!.removeCallback(id),
    },
    ...(memory === null ? {} : { env: { memory } }),
  };
  const instance = new WebAssembly.Instance(module, imports);
  const loaded = new Core(instance, memory ?? undefined);
  const variant: SimdVariant = loaded.k.relaxedSimd ? 'relaxed-simd' : 'simd128';
  const build = buildOf(loaded.k.maxWorkers > 0, variant);
  const wanted = typeof expected === 'string' ? buildParts(expected) : (expected ?? {});
  if ((wanted.threads !== undefined && wanted.threads !== (loaded.k.maxWorkers > 0)) || (wanted.simd !== undefined && wanted.simd !== variant)) {
    const asked = typeof expected === 'string' ? `the ${expected} build` : describeWanted(wanted);
    throw new LoadError(`init: the binary given is the ${build} build, but ${asked} was asked for`);
  }
  core = loaded;
  loadedVariant = variant;
  loaded.raw.wg_manual_seed(Math.floor(Math.random() * 2 ** 52));
  attachPool(memory === null ? null : (loaded.raw as unknown as WebAssembly.Exports), module, memory, loaded.k.maxWorkers);
  return loaded;
}

function describeWanted({ threads, simd }: BuildWanted): string {
  const kind = threads === undefined ? 'a' : threads ? 'a threads' : 'a single-threaded';
  return simd === undefined ? `${kind} build` : `${kind} ${simd} build`;
}

/** @internal The core, if loaded. */
export function loadedCore(): Core | null {
  return core;
}

/** @internal How `lib()` loads the core on first use where the platform can (Node). */
export function setLazyLoader(load: (() => Core) | null): void {
  loadLazily = load;
}

/**
 * Which SIMD variant of the core is running (`'relaxed-simd'` also for the threads build
 * with relaxed-simd), or null before it is loaded. `getNumThreads()` says how many
 * threads it runs on.
 */
export function simdVariant(): SimdVariant | null {
  return loadedVariant;
}

/** The loaded core (loading it synchronously where the platform allows). */
export function lib(): Core {
  if (core) return core;
  if (loadLazily) return loadLazily();
  throw new TensorError('wasmgrad is not initialised: call `await init()` once before using tensors');
}

/**
 * The safetensors format (Hugging Face's; what PyTorch, JAX and TF.js-converted models
 * ship in): {@link save} tensors to bytes, {@link load} them back, {@link readHeader} to
 * list a file's tensors and metadata without loading them. Pure TypeScript, no Node
 * imports (the browser passes the bytes of a `fetch`; `saveFile`/`loadFile` are Node's).
 *
 * A file is an 8-byte little-endian header length N, N bytes of UTF-8 JSON mapping each
 * tensor name to `{dtype, shape, data_offsets}` (plus an optional `__metadata__` object of
 * strings), padded with spaces to a multiple of 8, then the tensors' bytes: little-endian,
 * row-major, packed without gaps, `data_offsets` counted from the end of the header.
 *
 * Like the rest of wasmgrad this assumes a little-endian host for typed-array views (wasm
 * memory is little-endian, and so is every engine wasmgrad runs on in practice).
 * @module
 */
import { op } from '../dispatch.js';
import { ArgumentError } from '../errors.js';
import { lib } from '../ffi.js';
import { dispose } from '../memory.js';
import { Tensor, type DType } from '../tensor.js';

/**
 * A file that is not valid safetensors (truncated, a bad header, overlapping or missing
 * data, an unknown dtype, …), or one that holds a dtype wasmgrad cannot load. A subclass
 * of {@link ArgumentError}: the bytes are a bad argument.
 */
export class FormatError extends ArgumentError {}

/** The dtypes safetensors defines (the names in the header). */
export type SafetensorsDtype =
  | 'BOOL' | 'U8' | 'I8' | 'F8_E5M2' | 'F8_E4M3' | 'I16' | 'U16' | 'F16' | 'BF16'
  | 'I32' | 'U32' | 'F32' | 'F64' | 'I64' | 'U64';

/** The dtypes {@link save} can write float32 tensors as (int32 and bool tensors keep theirs). */
export type SaveDtype = 'F32' | 'F16' | 'BF16';

/**
 * Element sizes, in the order of the reference implementation's dtype enum (ascending
 * alignment), which `save` sorts by.
 */
const DTYPES: Readonly<Record<SafetensorsDtype, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
};
const RANK = Object.keys(DTYPES) as SafetensorsDtype[];

/** What each loadable file dtype becomes. */
const LOADS: Partial<Record<SafetensorsDtype, DType>> = {
  F32: 'float32', F16: 'float32', BF16: 'float32', F64: 'float32',
  I64: 'int32', I32: 'int32', I16: 'int32', I8: 'int32', U8: 'int32', BOOL: 'bool',
};

/** @internal The reference implementation's header size limit (100 MB). */
export const MAX_HEADER = 100_000_000;

/** One tensor's entry in a file's header. */
export interface TensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** Byte range `[begin, end)` within the data, which starts right after the header. */
  readonly dataOffsets: readonly [number, number];
}

/** A file's validated header, from {@link readHeader}. */
export interface SafetensorsHeader {
  /** The `__metadata__` object (string → string), or null when the file has none. */
  readonly metadata: Record<string, string> | null;
  /** The tensors, in the order their data lies in the file. */
  readonly tensors: readonly TensorInfo[];
  /** Where the data starts: 8 + the header length. */
  readonly dataStart: number;
}

/** Options of {@link save}. */
export interface SaveOptions {
  /** Stored as the header's `__metadata__` (string values only), e.g. `{ format: 'pt' }`. */
  metadata?: Record<string, string>;
  /**
   * How float32 tensors are written: `'F32'` (the default, exact), or `'F16'`/`'BF16'`
   * (half the bytes; rounded to nearest, ties to even, as PyTorch's `.half()` and
   * `.bfloat16()`; F16 rounds magnitudes from 65520 up to ±inf, those up to 2⁻²⁵ to ±0).
   * int32 tensors are written as I32 and bool tensors as BOOL whatever this says.
   */
  dtype?: SaveDtype;
}

// ---- save ---------------------------------------------------------------------------

/**
 * Serializes tensors (a state dict: a plain object or a Map of name → tensor) to the bytes
 * of a safetensors file. Tensors are laid out as the reference implementation does (by
 * descending dtype alignment, then name), the header padded with spaces to 8 bytes. The
 * tensors are only read; they stay yours.
 *
 * @example
 * const bytes = save({ weight: w, bias: b }, { metadata: { epoch: '3' }, dtype: 'BF16' });
 */
export function save(tensors: Record<string, Tensor> | ReadonlyMap<string, Tensor>, options: SaveOptions = {}): Uint8Array {
  const pairs = entriesOf(tensors);
  const fileDtype = options.dtype ?? 'F32';
  if (fileDtype !== 'F32' && fileDtype !== 'F16' && fileDtype !== 'BF16') {
    throw new ArgumentError(`save: dtype must be 'F32', 'F16' or 'BF16', got ${JSON.stringify(fileDtype)}`);
  }
  const metadata = options.metadata;
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata) || metadata instanceof Map) {
      throw new ArgumentError('save: metadata must be a plain object of strings');
    }
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new ArgumentError(`save: metadata values must be strings, got ${typeof v} for ${JSON.stringify(k)}`);
      if (!isWellFormed(k) || !isWellFormed(v)) throw new ArgumentError(`save: metadata ${JSON.stringify(k)} has a lone surrogate, which UTF-8 cannot encode`);
    }
  }
  const items = pairs.map(([name, t]) => {
    if (!(t instanceof Tensor)) throw new ArgumentError(`save: ${JSON.stringify(name)} is not a Tensor`);
    if (name === '__metadata__') throw new ArgumentError('save: "__metadata__" is reserved for the metadata and cannot name a tensor');
    if (!isWellFormed(name)) throw new ArgumentError(`save: the name ${JSON.stringify(name)} has a lone surrogate, which UTF-8 cannot encode`);
    t.handleFor('save'); // DisposedError before anything is written
    const dtype = t.dtype;
    const stDtype: SafetensorsDtype = dtype === 'int32' ? 'I32' : dtype === 'bool' ? 'BOOL' : fileDtype;
    return { name, t, dtype: stDtype, shape: t.shape, bytes: t.size * DTYPES[stDtype] };
  });
  items.sort((a, b) => RANK.indexOf(b.dtype) - RANK.indexOf(a.dtype) || compareCodePoints(a.name, b.name));

  const parts: string[] = [];
  if (metadata !== undefined) {
    parts.push(`"__metadata__":{${Object.entries(metadata).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
  }
  let offset = 0;
  for (const it of items) {
    parts.push(`${JSON.stringify(it.name)}:{"dtype":"${it.dtype}","shape":[${it.shape.join(',')}],"data_offsets":[${offset},${offset + it.bytes}]}`);
    offset += it.bytes;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const it of items) {
    writeData(out, at, it.dtype, it.t.data());
    at += it.bytes;
  }
  return out;
}

function entriesOf(tensors: unknown): [string, unknown][] {
  if (tensors instanceof Map) {
    const pairs = [...(tensors as Map<unknown, unknown>).entries()];
    for (const [k] of pairs) if (typeof k !== 'string') throw new ArgumentError(`save: Map keys must be strings, got ${typeof k}`);
    return pairs as [string, unknown][];
  }
  if (tensors === null || typeof tensors !== 'object' || Array.isArray(tensors) || tensors instanceof Tensor) {
    throw new ArgumentError('save: expected a plain object or a Map of name → Tensor');
  }
  return Object.entries(tensors);
}

/** Rust's (and the reference implementation's) string order: by code point, i.e. by UTF-8 bytes. */
function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

/** Writes `values` (a tensor's `data()`) at `at` as `dtype`; `at` is aligned by the layout's order. */
function writeData(out: Uint8Array, at: number, dtype: SafetensorsDtype, values: Float32Array | Int32Array | Uint8Array): void {
  if (values.length === 0) return;
  if (dtype === 'F16' || dtype === 'BF16') {
    const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
    const dst = new Uint16Array(out.buffer, out.byteOffset + at, values.length);
    const encode = dtype === 'F16' ? f32ToF16 : f32ToBF16;
    for (let i = 0; i < bits.length; i++) dst[i] = encode(bits[i]!);
  } else {
    out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), at);
  }
}

/** float32 bits → binary16 bits, rounded to nearest even (PyTorch's `.half()`; NaN → sign | 0x7e00). */
export function f32ToF16(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | (mant !== 0 ? 0x7e00 : 0x7c00);
  const e = exp - 112; // rebias 127 → 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // A binary16 subnormal (or zero): the value in units of 2⁻²⁴, rounded.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1) !== 0)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa bumps the exponent, up to infinity: still correct.
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) !== 0)) h++;
  return sign | h;
}

/** float32 bits → bfloat16 bits, rounded to nearest even (PyTorch's `.bfloat16()`; NaN → 0x7fc0). */
export function f32ToBF16(bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) return 0x7fc0;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

let f16Table: Float32Array | null = null;
/** binary16 bits → float32 value, for every bit pattern (built on first use). */
function f16Values(): Float32Array {
  if (f16Table !== null) return f16Table;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    table[h] = e === 0 ? s * m * 2 ** -24 : e === 0x1f ? (m !== 0 ? NaN : s * Infinity) : s * (1024 + m) * 2 ** (e - 25);
  }
  return (f16Table = table);
}

// ---- the header ---------------------------------------------------------------------

/**
 * Reads and validates a safetensors file's header (everything {@link load} checks except
 * what wasmgrad supports): its metadata and, for each tensor, its dtype, shape and byte
 * range, without creating tensors. Throws {@link FormatError} for a malformed file.
 */
export function readHeader(bytes: Uint8Array | ArrayBuffer): SafetensorsHeader {
  return parseHeader('readHeader', asBytes('readHeader', bytes));
}

function asBytes(opName: string, bytes: unknown): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes;
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  if (ArrayBuffer.isView(bytes)) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  throw new ArgumentError(`${opName}: expected the file's bytes (a Uint8Array or ArrayBuffer), got ${bytes === null ? 'null' : typeof bytes}`);
}

/**
 * @internal Parses the header at the start of `bytes`, a file of `fileLength` bytes (all
 * of it, or at least its first 8 + N bytes).
 */
export function parseHeader(opName: string, bytes: Uint8Array, fileLength = bytes.length): SafetensorsHeader {
  function fail(message: string): never {
    throw new FormatError(`${opName}: not a valid safetensors file: ${message}`);
  }
  if (fileLength < 8 || bytes.length < 8) fail(`${fileLength} bytes is too short to hold the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER)) fail(`the header length (${n} bytes) is absurdly large (the limit is ${MAX_HEADER} bytes)`);
  const headerLength = Number(n);
  if (8 + headerLength > fileLength) fail(`the header length (${headerLength} bytes) reaches beyond the end of the file (${fileLength} bytes)`);
  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    fail('the header is not valid UTF-8');
  }
  // The spec: the header MUST begin with '{' (and MAY be padded at the end with spaces).
  if (!text.startsWith('{')) fail(`the header must begin with '{', got ${JSON.stringify(text.slice(0, 8))}`);
  let root: Json;
  try {
    root = new JsonParser(text).document();
  } catch (err) {
    return fail(`the header is not valid JSON: ${(err as Error).message}`);
  }
  if (!(root instanceof Map)) return fail('the header is not a JSON object');
  const dataLength = fileLength - 8 - headerLength;
  let metadata: Record<string, string> | null = null;
  const tensors: TensorInfo[] = [];
  for (const [name, value] of root) {
    if (name === '__metadata__') {
      if (!(value instanceof Map)) fail('__metadata__ must be an object of strings');
      const pairs: [string, string][] = [];
      for (const [k, v] of value as Map<string, Json>) {
        if (typeof v !== 'string') fail(`__metadata__ values must be strings, got ${jsonType(v)} for ${JSON.stringify(k)}`);
        pairs.push([k, v as string]);
      }
      metadata = Object.fromEntries(pairs);
      continue;
    }
    const what = `tensor ${JSON.stringify(name)}`;
    if (!(value instanceof Map)) return fail(`${what} must be an object with dtype, shape and data_offsets`);
    const dtype = value.get('dtype');
    if (typeof dtype !== 'string') return fail(`${what} has no dtype string`);
    if (!Object.hasOwn(DTYPES, dtype)) return fail(`${what} has an unknown dtype ${JSON.stringify(dtype)}`);
    const shape = value.get('shape');
    if (!Array.isArray(shape)) return fail(`${what} has no shape array`);
    for (const d of shape) {
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
        fail(`${what} has a shape entry ${JSON.stringify(d)}: sizes must be non-negative integers`);
      }
    }
    const offsets = value.get('data_offsets');
    if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((o) => typeof o !== 'number' || !Number.isSafeInteger(o) || o < 0)) {
      return fail(`${what} needs data_offsets [begin, end] of two non-negative integers, got ${JSON.stringify(offsets ?? null)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin) fail(`${what} has data_offsets [${begin}, ${end}] that end before they begin`);
    if (end > dataLength) fail(`${what} has data_offsets [${begin}, ${end}] beyond the end of the data (${dataLength} bytes): the file is truncated or the offsets are wrong`);
    const size = DTYPES[dtype as SafetensorsDtype];
    let count = 1;
    for (const d of shape as number[]) count *= d;
    if (!Number.isSafeInteger(count * size)) fail(`${what} has shape [${shape.join(', ')}], too large to address`);
    if (count * size !== end - begin) {
      fail(`${what} has data_offsets [${begin}, ${end}] (${end - begin} bytes), but shape [${shape.join(', ')}] of ${dtype} needs ${count * size} bytes`);
    }
    tensors.push({ name, dtype: dtype as SafetensorsDtype, shape: shape as number[], dataOffsets: [begin, end] });
  }
  // The data must be covered exactly: in offset order each tensor starts where the last ended.
  const sorted = tensors
    .map((t, i) => ({ t, i }))
    .sort((a, b) => a.t.dataOffsets[0] - b.t.dataOffsets[0] || a.t.dataOffsets[1] - b.t.dataOffsets[1] || a.i - b.i)
    .map(({ t }) => t);
  let at = 0;
  let previous: TensorInfo | null = null;
  for (const t of sorted) {
    const [begin] = t.dataOffsets;
    if (begin < at) fail(`tensors ${JSON.stringify(previous!.name)} and ${JSON.stringify(t.name)} overlap (bytes ${begin}–${at})`);
    if (begin > at) fail(`${begin - at} bytes before tensor ${JSON.stringify(t.name)} (from ${at}) belong to no tensor: the data must be packed without gaps`);
    at = t.dataOffsets[1];
    previous = t;
  }
  if (at !== dataLength) fail(`the data is ${dataLength} bytes but the tensors cover ${at}: ${dataLength - at} bytes at the end belong to no tensor`);
  return { metadata, tensors: sorted, dataStart: 8 + headerLength };
}

// ---- load ---------------------------------------------------------------------------

/**
 * Loads every tensor of a safetensors file (its bytes: a Uint8Array, e.g. Node's
 * `readFileSync`, or the ArrayBuffer of a `fetch`), as a plain object of name → tensor in
 * the order their data lies in the file (JavaScript lists integer-like names such as `"0"`
 * first). F32, F16, BF16 and F64 become float32 (F64 rounded to nearest); I32, I16, I8, U8
 * and I64 become int32 (an I64 value outside the int32 range throws `ArgumentError`);
 * BOOL becomes bool. The tensors are yours (or the enclosing `tidy`'s), as any new tensor.
 *
 * All or nothing: a malformed file throws {@link FormatError} (naming the problem), and if
 * anything fails no tensor is left behind. Read the metadata with {@link readHeader}.
 *
 * @example
 * const state = load(new Uint8Array(await (await fetch('model.safetensors')).arrayBuffer()));
 */
export function load(bytes: Uint8Array | ArrayBuffer): Record<string, Tensor> {
  const data = asBytes('load', bytes);
  const header = parseHeader('load', data);
  const maxRank = lib().k.maxRank;
  for (const info of header.tensors) {
    const what = `load: tensor ${JSON.stringify(info.name)}`;
    if (LOADS[info.dtype] === undefined) {
      throw new FormatError(`${what} has dtype ${info.dtype}, which wasmgrad cannot load (it loads ${Object.keys(LOADS).join(', ')})`);
    }
    if (info.shape.length > maxRank) throw new FormatError(`${what} has ${info.shape.length} dimensions; wasmgrad supports at most ${maxRank}`);
    if (info.dtype === 'I64') checkInt64(what, source(data, header.dataStart, info, Int32Array));
  }
  const loaded: [string, Tensor][] = [];
  try {
    for (const info of header.tensors) loaded.push([info.name, loadOne(data, header.dataStart, info)]);
  } catch (err) {
    dispose(loaded.map(([, t]) => t));
    throw err;
  }
  return Object.fromEntries(loaded);
}

type Typed = Uint8Array | Int8Array | Uint16Array | Int16Array | Int32Array | Float32Array | Float64Array;
type TypedCtor<T extends Typed> = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T; BYTES_PER_ELEMENT: number };

/** The bytes of `info` as a typed array: a view when aligned, else an aligned copy. */
function source<T extends Typed>(bytes: Uint8Array, dataStart: number, info: TensorInfo, Ctor: TypedCtor<T>): T {
  const [begin, end] = info.dataOffsets;
  const at = bytes.byteOffset + dataStart + begin;
  const length = (end - begin) / Ctor.BYTES_PER_ELEMENT;
  if (at % Ctor.BYTES_PER_ELEMENT === 0) return new Ctor(bytes.buffer, at, length);
  return new Ctor(bytes.slice(dataStart + begin, dataStart + end).buffer, 0, length);
}

/** Rejects I64 values outside the int32 range (little-endian words: low, then high). */
function checkInt64(what: string, words: Int32Array): void {
  for (let i = 0; i < words.length; i += 2) {
    const low = words[i]!;
    const high = words[i + 1]!;
    if (high !== low >> 31) {
      const value = (BigInt(high) << 32n) | BigInt(low >>> 0);
      throw new ArgumentError(`${what} (I64) holds ${value} at index ${i / 2}, outside the int32 range wasmgrad stores it in`);
    }
  }
}

function loadOne(bytes: Uint8Array, dataStart: number, info: TensorInfo): Tensor {
  const dtype = LOADS[info.dtype]!;
  const t = op('full', info.shape, 0, dtype);
  const n = t.size;
  if (n === 0) return t;
  try {
    const c = lib();
    const ptr = c.raw.wg_data_ptr(t.handle) >>> 0;
    if (ptr === 0) throw c.lastError();
    const memory = c.raw.memory.buffer;
    const [begin, end] = info.dataOffsets;
    switch (info.dtype) {
      case 'F32':
      case 'I32':
        new Uint8Array(memory, ptr, end - begin).set(bytes.subarray(dataStart + begin, dataStart + end));
        break;
      case 'BOOL': {
        const src = bytes.subarray(dataStart + begin, dataStart + end);
        const dst = new Uint8Array(memory, ptr, n);
        for (let i = 0; i < n; i++) dst[i] = src[i] !== 0 ? 1 : 0; // the core relies on 0/1
        break;
      }
      case 'F16': {
        const src = source(bytes, dataStart, info, Uint16Array);
        const dst = new Float32Array(memory, ptr, n);
        const table = f16Values();
        for (let i = 0; i < n; i++) dst[i] = table[src[i]!]!;
        break;
      }
      case 'BF16': {
        const src = source(bytes, dataStart, info, Uint16Array);
        const dst = new Uint32Array(memory, ptr, n);
        for (let i = 0; i < n; i++) dst[i] = src[i]! << 16;
        break;
      }
      case 'F64':
        new Float32Array(memory, ptr, n).set(source(bytes, dataStart, info, Float64Array));
        break;
      case 'I64': {
        const src = source(bytes, dataStart, info, Int32Array);
        const dst = new Int32Array(memory, ptr, n);
        for (let i = 0; i < n; i++) dst[i] = src[2 * i]!;
        break;
      }
      case 'I16':
        new Int32Array(memory, ptr, n).set(source(bytes, dataStart, info, Int16Array));
        break;
      case 'I8':
        new Int32Array(memory, ptr, n).set(source(bytes, dataStart, info, Int8Array));
        break;
      case 'U8':
        new Int32Array(memory, ptr, n).set(bytes.subarray(dataStart + begin, dataStart + end));
        break;
      default:
        throw new FormatError(`load: dtype ${info.dtype} is not supported`);
    }
  } catch (err) {
    t.dispose();
    throw err;
  }
  return t;
}

// ---- a strict JSON parser -------------------------------------------------------------

/** JSON values; objects are Maps, so key order is kept and duplicate keys can be refused. */
type Json = null | boolean | number | string | Json[] | Map<string, Json>;

function jsonType(v: Json | undefined): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : v instanceof Map ? 'an object' : typeof v;
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const MAX_DEPTH = 64;
const ESCAPES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/**
 * RFC 8259 JSON, strictly (no trailing commas, comments or lone surrogates), refusing
 * duplicate keys (which `JSON.parse` silently merges) and nesting deeper than 64 levels
 * (so that a hostile header cannot overflow the stack).
 */
class JsonParser {
  private i = 0;
  constructor(private readonly s: string) {}

  document(): Json {
    const v = this.value(0);
    this.ws();
    if (this.i < this.s.length) this.error('unexpected text after the top-level value');
    return v;
  }

  private error(message: string): never {
    throw new Error(`${message} at character ${this.i}`);
  }

  private ws(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      this.i++;
    }
  }

  private value(depth: number): Json {
    if (depth > MAX_DEPTH) this.error(`nesting deeper than ${MAX_DEPTH} levels`);
    this.ws();
    const c = this.s[this.i];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return this.string();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return v;
      }
    }
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.s);
    if (m === null) this.error(c === undefined ? 'unexpected end' : `unexpected ${JSON.stringify(c)}`);
    this.i += m[0].length;
    return Number(m[0]);
  }

  private object(depth: number): Map<string, Json> {
    const out = new Map<string, Json>();
    this.i++;
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.error('expected a string key');
      const key = this.string();
      if (out.has(key)) this.error(`duplicate key ${JSON.stringify(key)}`);
      this.ws();
      if (this.s[this.i] !== ':') this.error("expected ':'");
      this.i++;
      out.set(key, this.value(depth + 1));
      this.ws();
      const c = this.s[this.i++];
      if (c === '}') return out;
      if (c !== ',') this.error("expected ',' or '}'");
    }
  }

  private array(depth: number): Json[] {
    const out: Json[] = [];
    this.i++;
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth + 1));
      this.ws();
      const c = this.s[this.i++];
      if (c === ']') return out;
      if (c !== ',') this.error("expected ',' or ']'");
    }
  }

  private string(): string {
    const s = this.s;
    let out = '';
    let start = ++this.i;
    for (;;) {
      if (this.i >= s.length) this.error('unterminated string');
      const c = s.charCodeAt(this.i);
      if (c === 0x22) break;
      if (c < 0x20) this.error('control character in a string');
      if (c !== 0x5c) {
        this.i++;
        continue;
      }
      out += s.slice(start, this.i);
      const e = s[this.i + 1];
      if (e !== undefined && Object.hasOwn(ESCAPES, e)) {
        out += ESCAPES[e];
        this.i += 2;
      } else if (e === 'u') {
        const hex = s.slice(this.i + 2, this.i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.error('bad \\u escape');
        out += String.fromCharCode(parseInt(hex, 16));
        this.i += 6;
      } else {
        this.error('bad escape');
      }
      start = this.i;
    }
    out += s.slice(start, this.i);
    this.i++;
    if (!isWellFormed(out)) this.error('a string with a lone surrogate (\\u escape)');
    return out;
  }
}

/** No unpaired UTF-16 surrogates (what `String.prototype.isWellFormed` checks, for Node 20). */
function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c > 0xdbff) return false;
    const d = s.charCodeAt(i + 1);
    if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
    i++;
  }
  return true;
}

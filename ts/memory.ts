/**
 * Memory accounting and bulk disposal.
 * @module
 */
import { ArgumentError } from './errors.js';
import { lib } from './ffi.js';
import { walkContainers } from './scope.js';
import { Tensor } from './tensor.js';

/** Live tensors (handles) and the bytes/buffers of tensor data held in wasm memory. */
export interface MemoryInfo {
  /** Tensors not yet disposed, including leaves' gradients. */
  numTensors: number;
  /** Bytes of tensor data alive, including data that recorded graphs keep for backward. */
  numBytes: number;
  /** Distinct data buffers (views share one). */
  numBuffers: number;
}

/** The state of the WebAssembly memory, from {@link wasmMemory}. */
export interface WasmMemoryInfo {
  /**
   * Bytes the core holds in wasm memory: tensor data plus bookkeeping (graphs, handles).
   * Freed tensor buffers the core keeps for reuse (a few, up to 64 MiB) count as free here
   * and in `availableBytes`: they are released before any allocation would fail.
   */
  heapBytes: number;
  /** The limit set with {@link setMemoryLimit}, or null. */
  heapLimit: number | null;
  /** About how many more bytes tensors can take (under the limit, or in 4 GiB of wasm memory). */
  availableBytes: number;
  /** The size of the WebAssembly memory (it grows as needed and never shrinks). */
  wasmBytes: number;
}

/** Current memory use; a loop whose `numTensors` and `numBytes` grow is leaking. */
export function memory(): MemoryInfo {
  const c = lib();
  c.raw.wg_memory();
  const s = c.fscratch();
  return { numTensors: s[0]!, numBytes: s[1]!, numBuffers: s[2]! };
}

/**
 * The WebAssembly side of memory: what the core holds (tensor data plus bookkeeping such
 * as graphs and handles), its limit ({@link setMemoryLimit}), about how much more fits,
 * and the size of the wasm memory itself (which grows as needed and never shrinks).
 */
export function wasmMemory(): WasmMemoryInfo {
  const c = lib();
  c.raw.wg_memory();
  const s = c.fscratch();
  return {
    heapBytes: s[3]!,
    heapLimit: s[4]! < 0 ? null : s[4]!,
    availableBytes: s[5]!,
    wasmBytes: c.raw.memory.buffer.byteLength,
  };
}

/**
 * Caps the bytes the core may hold (tensor data and bookkeeping) below the 4 GiB wasm32
 * allows, e.g. to leave room for the rest of a page; `null` lifts the cap. An allocation
 * beyond it throws `OutOfMemoryError`, as one beyond real memory does. A cap below what is
 * already in use throws `ArgumentError`.
 */
export function setMemoryLimit(bytes: number | null): void {
  if (bytes !== null && (typeof bytes !== 'number' || !(bytes >= 0))) {
    throw new ArgumentError(`setMemoryLimit: expected a number of bytes or null, got ${String(bytes)}`);
  }
  const c = lib();
  c.status(c.raw.wg_set_memory_limit(bytes === null ? -1 : Math.floor(bytes)));
}

/**
 * Disposes every tensor in `items` (tensors, or arrays, plain objects and Maps containing
 * them, nested to any depth, cycles included), freeing their handles in one call.
 */
export function dispose(...items: unknown[]): void {
  const handles: number[] = [];
  walkContainers(items, (v) => {
    if (v instanceof Tensor) {
      const h = v.markDisposed();
      if (h !== null) handles.push(h);
    }
  });
  if (handles.length > 0) lib().disposeMany(handles);
}

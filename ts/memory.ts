/**
 * Memory accounting and bulk disposal.
 * @module
 */
import { lib } from './ffi.js';
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

/** Current memory use; a loop whose `numTensors` and `numBytes` grow is leaking. */
export function memory(): MemoryInfo {
  const c = lib();
  c.raw.wg_memory();
  const s = c.scratch();
  return { numTensors: s[0]!, numBytes: s[1]! >>> 0, numBuffers: s[2]! };
}

/** Disposes every tensor in `items` (tensors, or arrays, plain objects and Maps containing them). */
export function dispose(...items: unknown[]): void {
  const stack: unknown[] = [...items];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v instanceof Tensor) v.dispose();
    else if (Array.isArray(v)) stack.push(...v);
    else if (v instanceof Map) stack.push(...v.values());
    else if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) stack.push(...Object.values(v));
  }
}

/** @internal Helpers the layers share. @module */
import { full } from '../../creation.js';
import { ArgumentError } from '../../errors.js';
import type { Tensor } from '../../tensor.js';

/** A float32 tensor to be initialised (zeros: the core has no uninitialised memory to give). */
export const empty = (shape: readonly number[]): Tensor<'float32'> => full(shape, 0);

/** `[2, 3]`, for messages. */
export const shapeOf = (t: Tensor): string => `[${t.shape.join(', ')}]`;

/** Throws an ArgumentError naming the layer unless `v` is an integer ≥ `min`. */
export function checkInt(layer: string, what: string, v: unknown, min: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new ArgumentError(`${layer}: ${what} must be an integer >= ${min}, got ${String(v)}`);
  }
}

// Values of the float64 reference interpreter: an Nd (test/helpers/reference.ts) plus
// the dtype wasmgrad gives the tensor, and the error a bad program must raise.
import { numel, stridesOf, unravel, type Nd } from '../helpers/reference.js';

export type DType = 'float32' | 'bool';
export interface Val extends Nd {
  dtype: DType;
}

export const val = (shape: number[], data: ArrayLike<number>, dtype: DType = 'float32'): Val => ({
  shape: [...shape],
  data: Float64Array.from(data),
  dtype,
});
export const asVal = (x: Nd, dtype: DType = 'float32'): Val => ({ shape: [...x.shape], data: x.data, dtype });

/** The wasmgrad error class a bad program must throw (the reference decides which). */
export type ErrorKind = 'ShapeError' | 'ArgumentError' | 'DisposedError' | 'DTypeError' | 'AutogradError';

/** Raised by the reference for a program wasmgrad must reject with a typed error. */
export class RefError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(`${kind}: ${message}`);
  }
}

export const shapeErr = (m: string): never => {
  throw new RefError('ShapeError', m);
};
export const argErr = (m: string): never => {
  throw new RefError('ArgumentError', m);
};

/** A dim in `[-rank, rank)` normalised (rank 0 accepts -1 and 0, as PyTorch). */
export function normDim(d: number, rank: number): number {
  const r = Math.max(rank, 1);
  if (!Number.isInteger(d) || d < -r || d >= r) argErr(`dim ${d} out of range for rank ${rank}`);
  return d < 0 ? d + r : d;
}

export { numel, stridesOf, unravel };

/** Maximum elements any value of a generated program may have (keeps programs cheap). */
export const MAX_NUMEL = 192;

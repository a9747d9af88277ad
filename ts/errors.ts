/**
 * Typed errors. Every failure inside the wasm core comes back as a status code plus a
 * message naming the op and the shapes, which the loader turns into one of these.
 * @module
 */

/** Base class of every error wasmgrad throws. */
export class TensorError extends Error {
  /** The core's status code (0 for errors raised in TypeScript). */
  readonly code: number;
  constructor(message: string, code = 0) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Incompatible or invalid shapes (broadcasting, matmul, reshape, gradients). */
export class ShapeError extends TensorError {}
/** A tensor was used after `dispose()` (or after its scope ended). */
export class DisposedError extends TensorError {}
/** An op does not support the tensor's dtype (e.g. int32 input to `exp`). */
export class DTypeError extends TensorError {}
/** Autograd misuse: backward twice, non-scalar backward, in-place change of a needed tensor. */
export class AutogradError extends TensorError {}
/** An allocation failed or a size exceeds what wasm32 memory can hold. */
export class OutOfMemoryError extends TensorError {}
/** An invalid argument: an axis out of range, a non-integer count, an unknown option. */
export class ArgumentError extends TensorError {}
/**
 * The wasm core could not be loaded: a binary that cannot be fetched (the URL and HTTP status
 * are in the message), is not wasm, or needs a feature the runtime lacks.
 */
export class LoadError extends TensorError {}
/**
 * The WebAssembly instance trapped (a bug in wasmgrad, never expected on bad input). Its
 * memory can no longer be trusted, so every later call throws this instead of returning
 * garbage; reload the page or process.
 */
export class PoisonedError extends TensorError {}

/**
 * @internal The classes of the core's error kinds, by the names the core publishes with
 * their codes (`error.shape`, …); the codes themselves are read from the core.
 */
export const ERROR_CLASSES = {
  shape: ShapeError,
  disposed: DisposedError,
  dtype: DTypeError,
  autograd: AutogradError,
  outOfMemory: OutOfMemoryError,
  argument: ArgumentError,
} as const;

/** @internal */
export type ErrorName = keyof typeof ERROR_CLASSES;

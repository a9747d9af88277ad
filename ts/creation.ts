/**
 * Creating tensors: from data, constants, ranges, identity, and seeded random values.
 * @module
 */
import { op } from './dispatch.js';
import { ArgumentError, ShapeError } from './errors.js';
import { lib } from './ffi.js';
import { Tensor, type DType, type NestedArray } from './tensor.js';

/**
 * Options shared by the creation functions. `D` is the `dtype` given: the functions return
 * `Tensor<D>` (e.g. `zeros([2], { dtype: 'int32' })` is a `Tensor<'int32'>`), and their
 * default when no `dtype` is given (usually `Tensor<'float32'>`).
 */
export interface TensorOptions<D extends DType = DType> {
  /**
   * Element type; float32 unless the data says otherwise (an Int32Array or Uint8Array is
   * int32, all-boolean data is bool).
   */
  dtype?: D;
  /** Make the new tensor a leaf that accumulates gradients. */
  requiresGrad?: boolean;
}

/** A shape: one size, or an array of sizes. */
export type ShapeLike = number | readonly number[];

function toShape(op: string, shape: ShapeLike): readonly number[] {
  const s = typeof shape === 'number' ? [shape] : shape;
  if (!Array.isArray(s) || s.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(`${op}: shape must be non-negative integers, got ${JSON.stringify(shape)}`);
  }
  return s;
}

/** `t`, made a leaf that requires grad if asked (disposed if that fails). */
function finish<D extends DType>(t: Tensor, options: TensorOptions): Tensor<D> {
  if (options.requiresGrad) {
    try {
      t.requiresGrad = true;
    } catch (err) {
      t.dispose();
      throw err;
    }
  }
  return t as Tensor<D>;
}

/** Infers the shape of nested arrays and flattens them, rejecting ragged input. */
function flatten(data: NestedArray): { shape: number[]; values: (number | boolean)[] } {
  const shape: number[] = [];
  let probe: NestedArray = data;
  while (Array.isArray(probe)) {
    if (shape.length >= lib().k.maxRank) throw new ShapeError(`tensor: nesting deeper than ${lib().k.maxRank} levels`);
    shape.push(probe.length);
    if (probe.length === 0) break;
    probe = probe[0]!;
  }
  const values: (number | boolean)[] = [];
  const visit = (v: NestedArray, depth: number, path: string) => {
    if (depth === shape.length) {
      if (typeof v !== 'number' && typeof v !== 'boolean') throw new ShapeError(`tensor: expected a number or boolean at ${path || 'top level'}, got ${Array.isArray(v) ? 'an array' : typeof v} (ragged nested array?)`);
      values.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      throw new ShapeError(`tensor: ragged nested array: expected ${shape[depth]} elements at ${path || 'top level'}, got ${Array.isArray(v) ? v.length : typeof v}`);
    }
    for (let i = 0; i < v.length; i++) visit(v[i]!, depth + 1, `${path}[${i}]`);
  };
  visit(data, 0, '');
  return { shape, values };
}

/** Nested arrays of numbers (empty ones included): float32 data for {@link tensor}. */
export type NumberData = number | readonly NumberData[];
/**
 * Nested non-empty arrays of booleans (or one boolean): bool data for {@link tensor}.
 * Non-empty, because an empty array has no booleans to tell, and makes a float32 tensor.
 */
export type BoolData = boolean | readonly [BoolData, ...BoolData[]];
/** What {@link tensor} accepts. */
export type TensorData = NestedArray | Float32Array | Int32Array | Uint8Array | readonly number[] | readonly boolean[] | NumberData | BoolData;

/**
 * A tensor from nested arrays (of numbers, or of booleans for a bool tensor), a typed
 * array, a number or a boolean. `shape` reshapes flat data. With `dtype: 'bool'`,
 * non-zero numbers are true; booleans in a numeric tensor are 1 and 0.
 *
 * The result type follows the data when no `dtype` is given: `Tensor<'float32'>` for
 * numbers (and empty arrays) or a Float32Array, `Tensor<'int32'>` for an Int32Array or
 * Uint8Array, `Tensor<'bool'>` for booleans written out (array literals; a `boolean[]`
 * variable may be empty, which gives float32, so it is typed `Tensor`), and `Tensor<D>`
 * for `{ dtype: D }`.
 *
 * @example
 * const a = tensor([2, 3], { requiresGrad: true });        // Tensor<'float32'>
 * const m = tensor(new Float32Array(6), { shape: [2, 3] }); // Tensor<'float32'>
 * const mask = tensor([true, false, true]);                 // Tensor<'bool'>
 * const labels = tensor([3, 1], { dtype: 'int32' });        // Tensor<'int32'>
 */
export function tensor<D extends DType = 'float32'>(data: NumberData | Float32Array, options?: TensorOptions<D> & { shape?: readonly number[] }): Tensor<D>;
export function tensor<D extends DType = 'int32'>(data: Int32Array | Uint8Array, options?: TensorOptions<D> & { shape?: readonly number[] }): Tensor<D>;
export function tensor<D extends DType = 'bool'>(data: BoolData, options?: TensorOptions<D> & { shape?: readonly number[] }): Tensor<D>;
export function tensor<D extends DType = DType>(data: TensorData, options?: TensorOptions<D> & { shape?: readonly number[] }): Tensor<D>;
export function tensor(data: TensorData, options: TensorOptions & { shape?: readonly number[] } = {}): Tensor {
  let values: ArrayLike<number | boolean>;
  let shape: readonly number[];
  let fallback: DType = 'float32';
  let booleans = 0;
  if (data instanceof Float32Array || data instanceof Int32Array || data instanceof Uint8Array) {
    values = data;
    shape = [data.length];
    // A Uint8Array is int32 unless told (as in TF.js): its bytes may be pixels, not flags.
    if (!(data instanceof Float32Array)) fallback = 'int32';
  } else if (typeof data === 'number' || typeof data === 'boolean' || Array.isArray(data)) {
    const flat = flatten(data as NestedArray);
    ({ shape, values } = flat);
    booleans = flat.values.reduce<number>((k, v) => k + (typeof v === 'boolean' ? 1 : 0), 0);
    if (booleans > 0 && booleans === values.length) fallback = 'bool';
  } else {
    throw new ArgumentError(`tensor: expected nested arrays of numbers or booleans, or a Float32Array, Int32Array or Uint8Array, got ${typeof data}`);
  }
  if (options.shape !== undefined) {
    const want = toShape('tensor', options.shape);
    const n = want.reduce((a, b) => a * b, 1);
    if (n !== values.length) {
      throw new ShapeError(`tensor: ${values.length} values cannot fill shape [${want.join(', ')}] (${n} elements)`);
    }
    shape = want;
  }
  const dtype = options.dtype ?? fallback;
  if (dtype === 'int32' && !(data instanceof Int32Array || data instanceof Uint8Array)) checkInt32('tensor', values);
  const t = op('full', shape, 0, dtype);
  const c = lib();
  const ptr = c.raw.wg_data_ptr(t.handle) >>> 0;
  const memory = c.raw.memory.buffer;
  if (dtype === 'bool') {
    const view = new Uint8Array(memory, ptr, values.length);
    // NaN is true, as in PyTorch; the core relies on bytes being 0 or 1.
    for (let i = 0; i < values.length; i++) view[i] = values[i] !== 0 && values[i] !== false ? 1 : 0;
  } else {
    const view = dtype === 'int32' ? new Int32Array(memory, ptr, values.length) : new Float32Array(memory, ptr, values.length);
    if (booleans === 0) view.set(values as ArrayLike<number>);
    else for (let i = 0; i < values.length; i++) view[i] = Number(values[i]);
  }
  return finish(t, options);
}

/**
 * Rejects values an int32 cannot hold (NaN, ±inf, beyond its range) as PyTorch does; the
 * others are truncated toward zero when written.
 */
function checkInt32(op: string, values: ArrayLike<number | boolean>): void {
  for (let i = 0; i < values.length; i++) {
    const v = Number(values[i]);
    if (!(v >= -2147483648 && v <= 2147483647)) {
      throw new ArgumentError(`${op}: value ${v} at index ${i} cannot be converted to int32 without overflow`);
    }
  }
}

/** A 0-d tensor holding `value` (bool for a boolean). */
export function scalar<D extends DType = 'float32'>(value: number, options?: TensorOptions<D>): Tensor<D>;
export function scalar<D extends DType = 'bool'>(value: boolean, options?: TensorOptions<D>): Tensor<D>;
export function scalar<D extends DType = DType>(value: number | boolean, options?: TensorOptions<D>): Tensor<D>;
export function scalar(value: number | boolean, options: TensorOptions = {}): Tensor {
  return tensor(value, options);
}

/** A tensor of `shape` filled with `value` (bool by default for a boolean `value`, as in PyTorch). */
export function full<D extends DType = 'float32'>(shape: ShapeLike, value: number, options?: TensorOptions<D>): Tensor<D>;
export function full<D extends DType = 'bool'>(shape: ShapeLike, value: boolean, options?: TensorOptions<D>): Tensor<D>;
export function full<D extends DType = DType>(shape: ShapeLike, value: number | boolean, options?: TensorOptions<D>): Tensor<D>;
export function full(shape: ShapeLike, value: number | boolean, options: TensorOptions = {}): Tensor {
  if (typeof value !== 'number' && typeof value !== 'boolean') {
    throw new ArgumentError(`full: the fill value must be a number or a boolean, got ${value === null ? 'null' : typeof value}`);
  }
  const dtype = options.dtype ?? (typeof value === 'boolean' ? 'bool' : undefined);
  return finish(op('full', toShape('full', shape), Number(value), dtype ?? 'float32'), options);
}
/** A tensor of zeros (float32 unless `dtype` is given). */
export function zeros<D extends DType = 'float32'>(shape: ShapeLike, options: TensorOptions<D> = {}): Tensor<D> {
  return full(shape, 0, options);
}
/** A tensor of ones (float32 unless `dtype` is given). */
export function ones<D extends DType = 'float32'>(shape: ShapeLike, options: TensorOptions<D> = {}): Tensor<D> {
  return full(shape, 1, options);
}
/** Zeros with the shape (and, by default, dtype) of `t`. */
export function zerosLike<D extends DType, E extends DType = D>(t: Tensor<D>, options: TensorOptions<E> = {}): Tensor<E> {
  return full<DType>(t.shape, 0, { dtype: t.dtype, ...options }) as Tensor<E>;
}
/** Ones with the shape (and, by default, dtype) of `t`. */
export function onesLike<D extends DType, E extends DType = D>(t: Tensor<D>, options: TensorOptions<E> = {}): Tensor<E> {
  return full<DType>(t.shape, 1, { dtype: t.dtype, ...options }) as Tensor<E>;
}
/** `value` everywhere, with the shape (and, by default, dtype) of `t`. */
export function fullLike<D extends DType, E extends DType = D>(t: Tensor<D>, value: number | boolean, options: TensorOptions<E> = {}): Tensor<E> {
  return full<DType>(t.shape, value, { dtype: t.dtype, ...options }) as Tensor<E>;
}

/**
 * Values from `start` (inclusive) to `end` (exclusive) by `step`; `arange(n)` is 0…n-1.
 * float32 unless `dtype: 'int32'` is given.
 */
export function arange<D extends DType = 'float32'>(start: number, end?: number, step = 1, options: TensorOptions<D> = {}): Tensor<D> {
  if (end === undefined) [start, end] = [0, start];
  return finish(op('arange', start, end, step, options.dtype ?? 'float32'), options);
}

/** `steps` evenly spaced values from `start` to `end`, both included. */
export function linspace<D extends DType = 'float32'>(start: number, end: number, steps: number, options: TensorOptions<D> = {}): Tensor<D> {
  return finish(op('linspace', start, end, steps, options.dtype ?? 'float32'), options);
}

/** An `n`×`m` identity matrix (`m` defaults to `n`). */
export function eye<D extends DType = 'float32'>(n: number, m = n, options: TensorOptions<D> = {}): Tensor<D> {
  return finish(op('eye', n, m, options.dtype ?? 'float32'), options);
}

/** Uniform random values in [0, 1); reproducible after {@link manualSeed}. */
export function rand<D extends DType = 'float32'>(shape: ShapeLike, options: TensorOptions<D> = {}): Tensor<D> {
  return finish(op('rand', toShape('rand', shape), options.dtype ?? 'float32'), options);
}

/** Standard normal random values; reproducible after {@link manualSeed}. */
export function randn<D extends DType = 'float32'>(shape: ShapeLike, options: TensorOptions<D> = {}): Tensor<D> {
  return finish(op('randn', toShape('randn', shape), options.dtype ?? 'float32'), options);
}

/** Seeds the random generator behind `rand`, `randn` (and later dropout and init). */
export function manualSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > Number.MAX_SAFE_INTEGER) {
    throw new ArgumentError(`manualSeed: expected a non-negative integer, got ${seed}`);
  }
  lib().raw.wg_manual_seed(seed);
}

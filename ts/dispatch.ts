/**
 * Internal plumbing between `Tensor` and the core: handle wrapping, op dispatch by catalog
 * name, argument checks. Not re-exported by index.ts, so nothing here is public API. Op
 * names are plain strings: the core's catalog lookup (`opId`) rejects unknown names with a
 * clear error, so no list of names has to be kept in step with the Rust tables here.
 * @module
 */
import { ArgumentError } from './errors.js';
import { lib, type Core, type HostCallback } from './ffi.js';
import { tidy } from './scope.js';
// A cycle with tensor.ts; safe because neither module uses the other's exports while it is
// being evaluated, only inside functions.
import { Tensor, type BackwardOptions, type DimsArg, type Operand } from './tensor.js';

/** @internal The core's pass flags for backward/grad options. */
export function passFlags(options: BackwardOptions): number {
  const k = lib().k;
  const create = options.createGraph ?? false;
  return ((options.retainGraph ?? create) ? k.retainGraph : 0) | (create ? k.createGraph : 0);
}

/**
 * @internal Adapts a tensor-level function to a core callback: the argument handles are
 * wrapped (and disposed afterwards, with everything else the function made that it did
 * not `keep()`), and the results handed back before they are.
 */
export function hostCallback(c: Core, fn: (args: Tensor[]) => readonly (Tensor | null | undefined)[]): HostCallback {
  return (handles) =>
    tidy(() => {
      const results = fn(handles.map((h) => new Tensor(h)));
      c.hostReturn(results.map((r) => (r === null || r === undefined ? 0 : handleOf('backward', r))));
    });
}

/** @internal Wraps a handle the core just returned (throwing its error for 0). */
export function wrap(c: Core, handle: number): Tensor {
  return new Tensor(c.check(handle));
}

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? (v.constructor?.name ?? 'an object') : typeof v;
}

/** @internal `v` if it is a Tensor, else an ArgumentError naming `op`. */
export function expectTensor(op: string, v: unknown): Tensor {
  if (v instanceof Tensor) return v;
  throw new ArgumentError(`${op}: expected a Tensor, got ${describe(v)}`);
}

/** @internal The handle of tensor `v` for a call to `op` (ArgumentError or DisposedError naming `op`). */
export function handleOf(op: string, v: unknown): number {
  return expectTensor(op, v).handleFor(op);
}

/** @internal A `unary`-family op by name. */
export function unaryOp(name: string, x: Tensor): Tensor {
  const c = lib();
  return wrap(c, c.raw.wg_unary(c.opId('unary', name), handleOf(name, x)));
}

/** @internal A `unary`-family op with two float parameters (clamp's bounds). */
export function unaryScalarOp(name: string, x: Tensor, a: number, b: number): Tensor {
  const c = lib();
  return wrap(c, c.raw.wg_unary_scalar(c.opId('unary', name), handleOf(name, x), a, b));
}

/** @internal Tensor–tensor, tensor–number and number–tensor forms of a binary op. */
export function binaryOp(name: string, a: Operand, b: Operand): Tensor {
  const c = lib();
  const id = c.opId('binary', name);
  if (typeof b === 'number') {
    if (typeof a === 'number') throw new ArgumentError(`${name}: at least one operand must be a Tensor`);
    return wrap(c, c.raw.wg_binary_scalar(id, handleOf(name, a), b, 0));
  }
  if (typeof a === 'number') return wrap(c, c.raw.wg_binary_scalar(id, handleOf(name, b), a, 1));
  return wrap(c, c.raw.wg_binary(id, handleOf(name, a), handleOf(name, b)));
}

/** @internal An `inplace`-family op; returns `target`, which it modified. */
export function inplaceOp(name: string, target: Tensor, source: Operand): Tensor {
  const c = lib();
  const id = c.opId('inplace', name);
  c.status(
    typeof source === 'number'
      ? c.raw.wg_inplace_scalar(id, handleOf(name, target), source)
      : c.raw.wg_inplace(id, handleOf(name, target), handleOf(name, source)),
  );
  return target;
}

/** @internal A `movement`-family op with integer arguments (a view where the core can make one). */
export function movementOp(name: string, x: Tensor, args: readonly number[]): Tensor {
  const c = lib();
  const n = c.putInts(args, name);
  return wrap(c, c.raw.wg_movement(c.opId('movement', name), handleOf(name, x), n));
}

/**
 * @internal A `reduce`-family op over all elements (`dim` undefined) or the given dims;
 * `param` is the op's float parameter (var/std's correction).
 */
export function reduceOp(name: string, x: Tensor, dim: number | readonly number[] | undefined, keepdim: boolean, param = 0): Tensor {
  const c = lib();
  const n = dim === undefined ? -1 : c.putInts(typeof dim === 'number' ? [dim] : dim, name);
  return wrap(c, c.raw.wg_reduce(c.opId('reduce', name), handleOf(name, x), n, keepdim ? 1 : 0, param));
}

/** @internal An `nn`-family op: tensor operands (null = absent), integer args, one float. */
export function nnOp(name: string, a: Tensor, b: Tensor | null, c: Tensor | null, ints: readonly number[], f = 0): Tensor {
  const core = lib();
  const n = core.putInts(ints, name);
  const h = core.raw.wg_nn(core.opId('nn', name), handleOf(name, a), b === null ? 0 : handleOf(name, b), c === null ? 0 : handleOf(name, c), n, f);
  return wrap(core, h);
}

/** @internal `where(cond, a, b)` through the core. */
export function whereOp(cond: Tensor, a: Operand, b: Operand): Tensor {
  return tidy(() => nnOp('where', cond, typeof a === 'number' ? tensorOf(a) : a, typeof b === 'number' ? tensorOf(b) : b, []));
}

/** @internal A 0-d float32 tensor (for a number operand of a tensor-only op). */
export function tensorOf(value: number): Tensor {
  const c = lib();
  const h = c.check(c.raw.wg_create(c.opId('create', 'full'), c.k.dtypeCodes.float32, 0, value, 0, 0));
  return new Tensor(h);
}

/** @internal Sizes of `split(size)` pieces of a dim of `n`; an empty dim still yields one (empty) piece. */
export function splitSizes(n: number, size: number): number[] {
  if (!Number.isInteger(size) || size < 1) throw new ArgumentError(`split: size must be a positive integer, got ${size}`);
  const sizes: number[] = [];
  for (let s = 0; s < n; s += size) sizes.push(Math.min(size, n - s));
  return sizes.length > 0 ? sizes : [0];
}

/** @internal Concatenates along `dim` in one core call. */
export function catOp(tensors: readonly Tensor[], dim: number): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new ArgumentError('cat: expected a non-empty array of tensors');
  if (!Number.isInteger(dim)) throw new ArgumentError(`cat: dim must be an integer, got ${String(dim)}`);
  const c = lib();
  const n = c.putList(tensors.map((t) => handleOf('cat', t)));
  return wrap(c, c.raw.wg_cat(n, dim));
}

/** @internal Normalises `(2, 3)` and `([2, 3])` to `[2, 3]`. */
export function dims(args: DimsArg): readonly number[] {
  return args.length === 1 && Array.isArray(args[0]) ? args[0] : (args as number[]);
}

/** @internal `dim` counted from 0 (negative counts from the end), or an ArgumentError. */
export function normDim(op: string, dim: number, ndim: number): number {
  const d = dim < 0 ? dim + ndim : dim;
  if (!Number.isInteger(dim) || d < 0 || d >= ndim) {
    throw new ArgumentError(`${op}: dimension ${dim} is out of range for a tensor of rank ${ndim}`);
  }
  return d;
}

/**
 * Internal plumbing between `Tensor` and the core: handle wrapping, op dispatch by catalog
 * name, argument checks. Not re-exported by index.ts, so nothing here is public API. Op
 * names are plain strings: the core's catalog lookup (`opId`) rejects unknown names with a
 * clear error, so no list of names has to be kept in step with the Rust tables here.
 * @module
 */
import { ArgumentError } from './errors.js';
import { lib, type Core, type HostCallback, type OpDecl } from './ffi.js';
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

/** A value for one argument of a declared op (see {@link op}). */
export type OpArg = Tensor | number | boolean | string | readonly number[] | readonly Tensor[] | null | undefined;

function intArg(d: OpDecl, what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    throw new ArgumentError(`${d.name}: ${what} must be an integer, got ${describeValue(v)}`);
  }
  return v;
}

function describeValue(v: unknown): string {
  return Array.isArray(v) ? JSON.stringify(v) : typeof v === 'string' ? `'${v}'` : v instanceof Tensor ? 'a Tensor' : String(v);
}

/**
 * Writes `args` into the f64 scratch as the core's decoder reads them (crates/wasm/src/
 * decode.rs), following the op's schema from the catalog; returns the number of words.
 * Every value is checked here, so a wrong one is an ArgumentError naming the op and the
 * argument (the core checks again: the boundary trusts nothing).
 */
function encodeArgs(c: Core, d: OpDecl, args: readonly OpArg[]): number {
  if (args.length > d.args.length) throw new ArgumentError(`${d.name}: expected at most ${d.args.length} arguments, got ${args.length}`);
  let f = c.fscratch();
  // Written straight into the scratch; a typed array drops writes past its end, so one
  // check after the loop catches an overflow before the core reads anything.
  let w = 0;
  for (let i = 0; i < d.args.length; i++) {
    const spec = d.args[i]!;
    const v = args[i];
    switch (spec.kind) {
      case 'tensor':
        if (v === null || v === undefined) throw new ArgumentError(`${d.name}: ${spec.name} is missing`);
        f[w++] = handleOf(d.name, v);
        break;
      case 'optionalTensor':
        f[w++] = v === null || v === undefined ? 0 : handleOf(d.name, v);
        break;
      case 'operand':
        f[w++] = typeof v === 'number' ? c.k.operandNumber : c.k.operandTensor;
        f[w++] = typeof v === 'number' ? v : handleOf(d.name, v);
        break;
      case 'tensors': {
        if (!Array.isArray(v) || v.length === 0) throw new ArgumentError(`${d.name}: expected a non-empty array of tensors`);
        const count = c.putList((v as readonly unknown[]).map((t) => handleOf(d.name, t)));
        f = c.fscratch(); // the list may have grown memory
        f[w++] = count;
        break;
      }
      case 'int':
        f[w++] = intArg(d, spec.name, v);
        break;
      case 'ints':
      case 'optionalInts': {
        if ((v === null || v === undefined) && spec.kind === 'optionalInts') {
          f[w++] = c.k.absentList;
          break;
        }
        const list = typeof v === 'number' ? [v] : v;
        if (!Array.isArray(list)) throw new ArgumentError(`${d.name}: ${spec.name} must be an array of integers, got ${describeValue(v)}`);
        if (list.length > c.k.maxRank) throw new ArgumentError(`${d.name}: ${spec.name} has ${list.length} values; at most ${c.k.maxRank} are supported`);
        f[w++] = list.length;
        for (const x of list as readonly unknown[]) f[w++] = intArg(d, spec.name, x);
        break;
      }
      case 'float':
        if (typeof v !== 'number') throw new ArgumentError(`${d.name}: ${spec.name} must be a number, got ${describeValue(v)}`);
        f[w++] = v;
        break;
      case 'bool':
        if (typeof v !== 'boolean') throw new ArgumentError(`${d.name}: ${spec.name} must be true or false, got ${describeValue(v)}`);
        f[w++] = v ? 1 : 0;
        break;
      case 'choice': {
        const k = typeof v === 'string' ? spec.choices!.indexOf(v) : -1;
        if (k < 0) {
          throw new ArgumentError(`${d.name}: ${spec.name} must be one of ${spec.choices!.map((n) => `'${n}'`).join(', ')}, got ${describeValue(v)}`);
        }
        f[w++] = k;
        break;
      }
      default:
        throw new ArgumentError(`${d.name}: argument ${spec.name} has a kind (${String(spec.kind)}) this TypeScript layer does not know; is the wasm core a different version?`);
    }
  }
  if (w > f.length) throw new ArgumentError(`${d.name}: too many argument values (${w}; at most ${f.length})`);
  return w;
}

/**
 * @internal Calls the declared op `name` with `args` in its schema's order (a tensor, a
 * number, a boolean, a choice by name, an integer list, …): the one way every op outside
 * the elementwise tables is called.
 */
export function op(name: string, ...args: OpArg[]): Tensor {
  return new Tensor(opHandle(name, ...args));
}

/**
 * @internal {@link op}, returning the result's handle: an op may return one of its inputs
 * (an in-place op its target, `to` a tensor of that dtype already), whose handle must not
 * get a second owner.
 */
export function opHandle(name: string, ...args: OpArg[]): number {
  const c = lib();
  const d = c.decl(name);
  return c.check(c.raw.wg_op(d.id, encodeArgs(c, d, args)));
}

/** @internal Runs the declared in-place update `name` (an optimizer step). */
export function updateOp(name: string, ...args: OpArg[]): void {
  const c = lib();
  const d = c.decl(name);
  c.status(c.raw.wg_update(d.id, encodeArgs(c, d, args)));
}

/** @internal An in-place op (`add_`, …); returns `target`, which it modified. */
export function inplaceOp(name: string, target: Tensor, source: Operand): Tensor {
  opHandle(name, target, source);
  return target;
}

/** @internal Sizes of `split(size)` pieces of a dim of `n`; an empty dim still yields one (empty) piece. */
export function splitSizes(n: number, size: number): number[] {
  if (!Number.isInteger(size) || size < 1) throw new ArgumentError(`split: size must be a positive integer, got ${size}`);
  const sizes: number[] = [];
  for (let s = 0; s < n; s += size) sizes.push(Math.min(size, n - s));
  return sizes.length > 0 ? sizes : [0];
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

/** @internal The names a declared op's `choice` argument takes (from the core's catalog). */
export function choicesOf(name: string, arg: string): readonly string[] {
  return lib().decl(name).args.find((a) => a.name === arg)?.choices ?? [];
}

/**
 * The `Tensor` class: an opaque handle to data in the wasm core, with PyTorch's methods.
 * Most of its methods are declared in ops.ts, once for both the method and the function.
 * @module
 */
import './polyfill.js';
import { dims, handleOf, hostCallback, inplaceOp, op, opHandle, passFlags, wrap } from './dispatch.js';
import { ArgumentError, DisposedError, ShapeError } from './errors.js';
import { lib } from './ffi.js';
import { formatTensor } from './format.js';
import { indexTensor, type IndexSpec } from './indexing.js';
import { created, disposed as released, guard } from './leaks.js';
import { installMethods, type MethodsOf } from './method.js';
import * as ops from './ops.js';
import { setTensorCheck, tidy, track } from './scope.js';

/**
 * Element types. Ops compute in float32; int32 holds indices and labels; bool holds masks
 * (comparison results, one byte per element) and counts as 0/1 float32 in arithmetic.
 */
export type DType = 'float32' | 'int32' | 'bool';

/**
 * The JavaScript value of one element of a `D` tensor, as `item()` returns it: `boolean`
 * for bool, `number` for float32 and int32 (`number | boolean` for a tensor of unknown dtype).
 */
export type ElementOf<D extends DType = DType> = D extends 'bool' ? boolean : number;
/**
 * The typed array `data()` returns for a `D` tensor: `Float32Array`, `Int32Array`, or a
 * `Uint8Array` of 0/1 for bool.
 */
export type TypedArrayOf<D extends DType = DType> = { float32: Float32Array; int32: Int32Array; bool: Uint8Array }[D];

/** A tensor or a plain number (a constant that broadcasts like a 0-d tensor). */
export type Operand = Tensor | number;
/**
 * Arbitrarily nested arrays of `T` (numbers or booleans), as `toArray()` returns (booleans
 * for bool tensors: `NestedArray<boolean>`) and `tensor()` accepts (all booleans make a
 * bool tensor). The nesting depth is not part of the type.
 */
export type NestedArray<T extends number | boolean = number | boolean> = T | NestedArray<T>[];
/** Dims given PyTorch-style as arguments (`reshape(2, 3)`) or as one array (`reshape([2, 3])`). */
export type DimsArg = number[] | [readonly number[]];

/** Options of {@link Tensor.backward} and `grad()`. */
export interface BackwardOptions {
  /** Keep the graph's saved tensors so it can be walked again (default: `createGraph`). */
  retainGraph?: boolean;
  /** Record the backward pass, for higher-order derivatives (default false). */
  createGraph?: boolean;
}

// The methods ops.ts declares with `method()` (a line comment: a doc comment here would be
// shown with the class's).
export interface Tensor<D extends DType = DType> extends MethodsOf<typeof ops, D> {}
/**
 * An n-dimensional array in wasm memory with PyTorch's autograd semantics.
 *
 * Tensors hold memory outside the JS heap: free them with `dispose()`, `using`, or
 * {@link tidy}. Ops never modify their inputs, except the in-place ones ending in `_`.
 *
 * `D` is the element type as far as the types know it: ops whose result dtype is fixed
 * say so (`add` and the other float ops give `Tensor<'float32'>`, comparisons
 * `Tensor<'bool'>`, `argmax` `Tensor<'int32'>`), movement ops (`reshape`, `squeeze`, …)
 * keep `D`, and `item()`, `data()` and `toArray()` return the matching JavaScript types.
 * `Tensor` alone is `Tensor<DType>`, a tensor of any dtype: use it for parameters that
 * accept every tensor. The runtime dtype is always `dtype`.
 *
 * @example
 * const x = tensor([1, 2, 3]);          // Tensor<'float32'>
 * const n: number = x.sum().item();
 * const b: boolean = x.gt(1).any().item(); // comparisons give Tensor<'bool'>
 * const i: Int32Array = x.argmax().data();
 */
export class Tensor<D extends DType = DType> {
  /** @internal Set by `keep()`: no scope disposes this tensor. */
  kept = false;
  private readonly h: number;
  /** A view of a handle owned by another tensor (a leaf's `.grad`), which the core may free. */
  private readonly borrowed: boolean;
  private disposed = false;
  /** In the GC safety net (see leaks.ts). */
  private guarded = false;
  private shapeCache: readonly number[] | undefined;
  private dtypeCache: DType | undefined;
  private gradView: Tensor<'float32'> | null = null;
  private retainsGrad = false;

  /**
   * @internal Use the creation functions (`tensor`, `zeros`, …) instead. `tracked`: the
   * tensor belongs to the enclosing `tidy`; `borrowed`: the handle belongs to another
   * tensor (never freed by this object, its scope or the garbage collector).
   */
  constructor(handle: number, tracked = true, borrowed = false) {
    this.h = handle;
    this.borrowed = borrowed;
    // A tensor a tidy owns is freed when the tidy ends: it joins the GC safety net only if
    // it outlives every scope (returned from the outermost one, or kept), which keeps the
    // net's cost off the hot path of ops inside tidy.
    const scoped = tracked && track(this);
    if (!borrowed) {
      created(handle);
      if (!scoped) this.guarded = guard(this, handle);
    }
  }

  /** @internal This tensor left the scopes that would have freed it. */
  unscoped(): void {
    if (!this.borrowed && !this.disposed && !this.guarded) this.guarded = guard(this, this.h);
  }

  /**
   * @internal The core's handle. Throws DisposedError once this tensor is disposed: a
   * handle is never passed on after that (and the core never issues one twice).
   */
  get handle(): number {
    return this.handleFor('a tensor op');
  }

  /** @internal The handle for a call to `op`: a DisposedError naming `op` once disposed. */
  handleFor(op: string): number {
    if (this.disposed) throw new DisposedError(`${op}: the tensor was disposed (used after dispose() or after its tidy() ended)`);
    return this.h;
  }

  // ---- properties ----------------------------------------------------------------

  /** The size of each dimension. */
  get shape(): readonly number[] {
    this.assertAlive('shape');
    if (this.shapeCache === undefined) {
      const c = lib();
      const ndim = c.raw.wg_shape(this.h);
      if (ndim < 0) throw c.lastError();
      this.shapeCache = Object.freeze(Array.from(c.scratch().subarray(0, ndim)));
    }
    return this.shapeCache;
  }
  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }
  /** Number of elements. */
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  /** Element type. */
  get dtype(): D {
    if (this.dtypeCache === undefined) this.dtypeCache = lib().dtypeOfInfo(this.info());
    else this.assertAlive('dtype');
    return this.dtypeCache as D;
  }
  /** Whether gradients flow to (leaf) or through (intermediate) this tensor. */
  get requiresGrad(): boolean {
    return (this.info() & lib().k.infoRequiresGrad) !== 0;
  }
  set requiresGrad(flag: boolean) {
    const c = lib();
    c.status(c.raw.wg_set_requires_grad(this.handleFor('requiresGrad'), flag ? 1 : 0));
  }
  /** True for tensors not produced by a recorded op (user-created, or under `noGrad`). */
  get isLeaf(): boolean {
    return (this.info() & lib().k.infoIsLeaf) !== 0;
  }
  /** Name of the backward node that produced this tensor (e.g. `"MulBackward0"`), or null. */
  get gradFn(): string | null {
    this.assertAlive('gradFn');
    const c = lib();
    const n = c.raw.wg_grad_fn_name(this.handleFor('gradFn'));
    if (n < 0) throw c.lastError();
    return n === 0 ? null : c.text(n);
  }
  /**
   * True once `dispose()` ran (directly, via `using`, or by a scope), or, for a leaf's
   * `.grad`, once the leaf let go of it (disposed, `grad = null`, or replaced by
   * `backward({ createGraph })`).
   */
  get isDisposed(): boolean {
    if (!this.disposed && this.borrowed && lib().raw.wg_alive(this.h) === 0) this.disposed = true;
    return this.disposed;
  }

  /**
   * The gradient accumulated by `backward()` (leaves only), or null. It is owned by this
   * tensor: freed with it, or when set to null; scopes never free it. Gradients are
   * float32 (only float32 tensors can require grad); setting a non-float32 one throws.
   */
  get grad(): Tensor<'float32'> | null {
    this.assertAlive('grad');
    const c = lib();
    const h = c.check(c.raw.wg_grad(this.handleFor('grad')));
    if (h === c.k.absent) return null;
    if (this.gradView === null || this.gradView.h !== h || this.gradView.disposed) {
      this.gradView = new Tensor<'float32'>(h, false, true);
    }
    return this.gradView;
  }
  set grad(value: Tensor | null) {
    this.assertAlive('grad');
    const c = lib();
    c.status(c.raw.wg_set_grad(this.handleFor('grad'), value === null ? 0 : handleOf('grad', value)));
    // The core freed the replaced gradient's handle (unless it was re-assigned as is).
    if (this.gradView !== null && this.gradView !== value) this.gradView.disposed = true;
    this.gradView = null;
  }

  private assertAlive(op: string): void {
    if (this.disposed) throw new DisposedError(`${op}: the tensor was disposed`);
  }

  private info(): number {
    this.assertAlive('info');
    const c = lib();
    const bits = c.raw.wg_info(this.h);
    if (bits < 0) throw c.lastError();
    return bits;
  }

  // ---- ops that are methods only, or differ from their function form in ops.ts -------

  /** The maximum of all elements; with `dim`, `{ values, indices }` along it (PyTorch's `max`). */
  max(): Tensor<'float32'>;
  max(dim: number, keepdim?: boolean): { values: Tensor<'float32'>; indices: Tensor<'int32'> };
  max(dim?: number, keepdim = false): Tensor<'float32'> | { values: Tensor<'float32'>; indices: Tensor<'int32'> } {
    return dim === undefined ? this.amax() : this.pickAlong(dim, keepdim, this.argmax(dim, true));
  }
  /** The minimum of all elements; with `dim`, `{ values, indices }` along it. */
  min(): Tensor<'float32'>;
  min(dim: number, keepdim?: boolean): { values: Tensor<'float32'>; indices: Tensor<'int32'> };
  min(dim?: number, keepdim = false): Tensor<'float32'> | { values: Tensor<'float32'>; indices: Tensor<'int32'> } {
    return dim === undefined ? this.amin() : this.pickAlong(dim, keepdim, this.argmin(dim, true));
  }
  /** max/min along a dim: values gathered at the indices, so only the returned element of a tie gets the gradient (as in PyTorch). */
  private pickAlong(dim: number, keepdim: boolean, kept: Tensor<'int32'>): { values: Tensor<'float32'>; indices: Tensor<'int32'> } {
    if (this.ndim === 0) return { values: this.clone(), indices: kept };
    return tidy(() => {
      const values = this.gather(dim, kept);
      return keepdim ? { values, indices: kept } : { values: values.squeeze(dim), indices: kept.squeeze(dim) };
    });
  }
  /**
   * Variance over all elements or `dim`, in one core op. `unbiased` divides by n − 1
   * (PyTorch's default), `false` by n; a number is PyTorch's `correction` (divides by
   * n − correction). Where n − correction ≤ 0 it divides by 0 (NaN for one element or an empty dim), as PyTorch.
   */
  var(dim?: number | readonly number[], unbiased: boolean | number = true, keepdim = false): Tensor<'float32'> {
    return ops.variance(this, dim, unbiased, keepdim);
  }
  /** Same data with a new shape; one dim may be -1 (inferred). A view when contiguous. */
  reshape(...shape: DimsArg): Tensor<D> { return op('reshape', this, dims(shape)) as Tensor<D>; }
  /** Alias of {@link Tensor.reshape}. */
  view(...shape: DimsArg): Tensor<D> { return this.reshape(...shape); }
  /** Reorders dims: `x.permute(2, 0, 1)`. A view. */
  permute(...order: DimsArg): Tensor<D> { return op('permute', this, dims(order)) as Tensor<D>; }
  /** Broadcasts size-1 dims to `shape` (-1 keeps a dim). A view; no data is copied. */
  expand(...shape: DimsArg): Tensor<D> { return op('expand', this, dims(shape)) as Tensor<D>; }
  /** Broadcasts to `shape` (PyTorch's `broadcast_to`); a view. */
  broadcastTo(...shape: DimsArg): Tensor<D> { return this.expand(...shape); }
  /** A copy with the order of elements reversed along each of `dims` (PyTorch's `flip`). */
  flip(...axes: DimsArg): Tensor<D> { return op('flip', this, dims(axes)) as Tensor<D>; }
  /** Tiles the tensor `repeats[i]` times along each dim (PyTorch's `repeat`). */
  repeat(...repeats: DimsArg): Tensor<D> {
    const reps = dims(repeats);
    if (reps.some((r) => !Number.isInteger(r) || r < 0)) {
      throw new ArgumentError(`repeat: repeat counts must be non-negative integers, got [${reps.join(', ')}]`);
    }
    if (reps.length < this.ndim) {
      throw new ArgumentError(`repeat: ${reps.length} repeat counts for a tensor of rank ${this.ndim}; give at least one per dim`);
    }
    const shape = [...Array<number>(reps.length - this.ndim).fill(1), ...this.shape];
    return tidy(() =>
      this.reshape(shape.flatMap((d) => [1, d]))
        .expand(shape.flatMap((d, i) => [reps[i]!, d]))
        .reshape(shape.map((d, i) => d * reps[i]!)),
    );
  }
  /** Like {@link Tensor.repeat}, but missing leading counts are 1 (NumPy's and PyTorch's `tile`). */
  tile(...repeats: DimsArg): Tensor<D> {
    const reps = dims(repeats);
    return this.repeat([...Array<number>(Math.max(0, this.ndim - reps.length)).fill(1), ...reps]);
  }
  /**
   * Python-style indexing: `x.index('1:3, :, ::2')`, `x.index('..., 0')`, `x.index(-1)`, or
   * as an array, `x.index([[1, 3], null, [null, null, 2], 0])` (see `IndexItem`). A
   * number selects and drops its dim; `None` adds a size-1 dim. A view, unless dims are
   * dropped or added on a non-contiguous result, which copies (as `reshape` does).
   */
  index(spec: IndexSpec): Tensor<D> { return indexTensor(this, spec); }

  // ---- autograd ------------------------------------------------------------------

  /**
   * Computes the gradient of this tensor with respect to every leaf that requires grad,
   * accumulating into their `.grad`. Non-scalar outputs need `gradient` (same shape).
   * The graph's saved tensors are freed unless `retainGraph` is set. With `createGraph`
   * the backward pass is itself recorded, so the gradients can be differentiated again
   * (`retainGraph` then defaults to true).
   */
  backward(gradient?: Tensor | null | BackwardOptions, options: BackwardOptions = {}): void {
    this.assertAlive('backward');
    // `loss.backward({ retainGraph: true })`, as PyTorch's keyword form reads.
    if (gradient !== null && gradient !== undefined && !(gradient instanceof Tensor) && Object.getPrototypeOf(gradient) === Object.prototype) {
      options = gradient as BackwardOptions;
      gradient = undefined;
    }
    const c = lib();
    const g = gradient === undefined || gradient === null ? 0 : handleOf('backward', gradient);
    c.status(c.raw.wg_backward(this.handleFor('backward'), g, passFlags(options)));
  }

  /**
   * Calls `hook` with this tensor's gradient whenever one is computed (by `backward()` or
   * `grad()`), before it is used; a returned tensor (same shape) replaces the gradient.
   * The gradient passed in is disposed after the call: `keep()` a clone to hold on to it.
   * Returns a handle whose `remove()` unregisters the hook.
   *
   * @example
   * const h = y.registerHook((g) => g.mul(2)); // doubles the gradient flowing through y
   */
  registerHook(hook: (grad: Tensor<'float32'>) => Tensor | null | undefined | void): { remove(): void } {
    this.assertAlive('registerHook');
    const c = lib();
    const id = c.addCallback(hostCallback(c, ([g]) => [hook(g! as Tensor<'float32'>) ?? null]));
    const status = c.raw.wg_register_hook(this.handleFor('registerHook'), id);
    if (status !== 0) {
      c.removeCallback(id);
      c.status(status);
    }
    return { remove: () => c.removeCallback(id) };
  }
  /**
   * Makes `.grad` of this non-leaf tensor hold its gradient after `backward()` (leaves
   * always do), accumulating across calls like a leaf's.
   */
  retainGrad(): void {
    if (this.isLeaf || this.retainsGrad) return;
    this.retainsGrad = true;
    this.registerHook((g) => {
      const previous = this.grad;
      this.grad = previous === null ? g.detach() : previous.add(g).detach();
    });
  }
  /** A new leaf sharing this tensor's data, cut from the graph. */
  detach(): Tensor<D> {
    const c = lib();
    return wrap(c, c.raw.wg_detach(this.handleFor('detach'))) as Tensor<D>;
  }
  /** Sets `requiresGrad` in place (leaves only) and returns this tensor. */
  requiresGrad_(flag = true): this {
    this.requiresGrad = flag;
    return this;
  }
  /** Drops the accumulated gradient (like `optimizer.zero_grad()`); see also `grad.zero_()`. */
  zeroGrad(): void {
    this.grad = null;
  }

  // ---- in-place updates (use under noGrad for parameters) -------------------------

  /** `this += other` in place; returns this. */
  add_(other: Operand): this { return inplaceOp('add_', this, other) as this; }
  /** `this -= other` in place; returns this. */
  sub_(other: Operand): this { return inplaceOp('sub_', this, other) as this; }
  /** `this *= other` in place; returns this. */
  mul_(other: Operand): this { return inplaceOp('mul_', this, other) as this; }
  /** `this /= other` in place; returns this. */
  div_(other: Operand): this { return inplaceOp('div_', this, other) as this; }
  /** Copies `source` (broadcast, converted to this tensor's dtype) into this tensor; returns this. */
  copy_(source: Tensor): this { return inplaceOp('copy_', this, source) as this; }
  /** Fills with `value` (for bool tensors, non-zero is true); returns this. */
  fill_(value: number | boolean): this { return inplaceOp('copy_', this, Number(value)) as this; }
  /** Fills with zeros; returns this. */
  zero_(): this { return this.fill_(0); }

  // ---- conversion and read-back ----------------------------------------------------

  /**
   * A copy converted to `dtype` (a `Tensor<T>`), or this tensor if it already is one.
   * float → int truncates; to bool, non-zero (and NaN) is true; bool → numbers gives 1 and 0.
   */
  to<T extends DType>(dtype: T): Tensor<T> {
    const h = opHandle('to', this, dtype);
    return h === this.h ? (this as Tensor as Tensor<T>) : new Tensor<T>(h);
  }

  /**
   * A copy of the elements in row-major order: a `Float32Array`, an `Int32Array`, or a
   * `Uint8Array` of 0/1 for bool tensors (typed by `D`, see {@link TypedArrayOf}).
   */
  data(): TypedArrayOf<D> {
    this.assertAlive('data');
    const c = lib();
    const n = this.size;
    const dtype = this.dtype;
    const ptr = c.raw.wg_data_ptr(this.handleFor('data')) >>> 0;
    if (ptr === 0) throw c.lastError();
    const memory = c.raw.memory.buffer;
    if (dtype === 'bool') return new Uint8Array(memory, ptr, n).slice() as TypedArrayOf<D>;
    return (dtype === 'int32' ? new Int32Array(memory, ptr, n).slice() : new Float32Array(memory, ptr, n).slice()) as TypedArrayOf<D>;
  }
  /**
   * The elements as nested arrays (a single value for 0-d tensors); booleans for bool
   * tensors (`NestedArray<boolean>`), numbers otherwise (`NestedArray<number>`).
   */
  toArray(): NestedArray<ElementOf<D>> {
    const data: ArrayLike<number> = this.data();
    const values = (this.dtype === 'bool' ? Array.from(data, (v) => v !== 0) : Array.from(data)) as ElementOf<D>[];
    const shape = this.shape;
    if (shape.length === 0) return values[0]!;
    const build = (dim: number, offset: number, stride: number): NestedArray<ElementOf<D>>[] => {
      const n = shape[dim]!;
      const inner = stride / Math.max(n, 1);
      return Array.from({ length: n }, (_, i) =>
        dim === shape.length - 1 ? values[offset + i]! : build(dim + 1, offset + i * inner, inner),
      );
    };
    return build(0, 0, values.length);
  }
  /**
   * The value of a one-element tensor: a boolean for bool tensors, else a number (typed
   * by `D`, see {@link ElementOf}).
   */
  item(): ElementOf<D> {
    if (this.size !== 1) {
      throw new ShapeError(`item: a tensor with ${this.size} elements (shape [${this.shape.join(', ')}]) cannot be converted to a number`);
    }
    const value = (this.data() as ArrayLike<number>)[0]!;
    return (this.dtype === 'bool' ? value !== 0 : value) as ElementOf<D>;
  }
  /** PyTorch-style printout. */
  toString(): string {
    const parts: string[] = [];
    const dtype = this.dtype;
    // PyTorch names bool only when no value shows it: `tensor([], dtype=torch.bool)`.
    if (dtype === 'int32' || (dtype === 'bool' && this.size === 0)) parts.push(`dtype=${dtype}`);
    const fn = this.gradFn;
    if (fn !== null) parts.push(`grad_fn=<${fn}>`);
    else if (this.requiresGrad) parts.push('requires_grad=True');
    return formatTensor(this.data(), this.shape, dtype, parts);
  }

  // ---- memory --------------------------------------------------------------------

  /**
   * Frees this tensor's handle (idempotent). Data a recorded graph still needs stays
   * alive until the graph is freed; a leaf's `.grad` is freed with it.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.borrowed) return; // the owner frees the handle
    released(this, this.h, this.guarded);
    lib().raw.wg_dispose(this.h);
    // A leaf's gradient goes with it.
    if (this.gradView !== null) this.gradView.disposed = true;
  }

  /** @internal Marks this tensor disposed after its handle was freed in bulk (`tidy`). */
  markDisposed(): number | null {
    if (this.disposed) return null;
    this.disposed = true;
    if (this.borrowed) return null;
    released(this, this.h, this.guarded);
    if (this.gradView !== null) this.gradView.disposed = true;
    return this.h;
  }
  /** Node's `console.log` shows the PyTorch-style printout. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.disposed ? 'Tensor(disposed)' : this.toString();
  }
  /** `using x = …` disposes at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

setTensorCheck((v: unknown): v is Tensor => v instanceof Tensor);
// Passing the namespace, not just importing it, keeps bundlers (told `"sideEffects": false`)
// from dropping ops.ts when only methods are used.
installMethods(Tensor.prototype, ops);

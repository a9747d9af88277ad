/**
 * The `Tensor` class: an opaque handle to data in the wasm core, with PyTorch's methods.
 * @module
 */
import './polyfill.js';
import {
  binaryOp, catOp, dims, expectTensor, handleOf, hostCallback, inplaceOp, movementOp, nnOp, normDim, passFlags, reduceOp,
  splitSizes, tensorOf, unaryOp, unaryScalarOp, whereOp, wrap,
} from './dispatch.js';
import { ArgumentError, DisposedError, ShapeError } from './errors.js';
import { lib } from './ffi.js';
import { formatTensor } from './format.js';
import { indexTensor, type IndexSpec } from './indexing.js';
import { created, disposed as released, guard } from './leaks.js';
import { setTensorCheck, tidy, track } from './scope.js';

/**
 * Element types. Ops compute in float32; int32 holds indices and labels; bool holds masks
 * (comparison results, one byte per element) and counts as 0/1 float32 in arithmetic.
 */
export type DType = 'float32' | 'int32' | 'bool';

/** A tensor or a plain number (a constant that broadcasts like a 0-d tensor). */
export type Operand = Tensor | number;
/**
 * Arbitrarily nested arrays of numbers or booleans, as `toArray()` returns (booleans for
 * bool tensors) and `tensor()` accepts (all booleans make a bool tensor).
 */
export type NestedArray = number | boolean | NestedArray[];
/** Dims given PyTorch-style as arguments (`reshape(2, 3)`) or as one array (`reshape([2, 3])`). */
export type DimsArg = number[] | [readonly number[]];

/** var/std's correction from `unbiased` (true: 1, false: 0) or a number (the correction itself). */
function correctionOf(op: string, unbiased: boolean | number): number {
  if (typeof unbiased === 'boolean') return unbiased ? 1 : 0;
  if (typeof unbiased === 'number' && Number.isFinite(unbiased)) return unbiased;
  throw new ArgumentError(`${op}: unbiased must be a boolean or a finite correction, got ${String(unbiased)}`);
}

/** `sqrt(v)` with gradient 0 where `v` is 0 (std's and norm's rule in PyTorch) instead of ∞·0 = NaN. */
function sqrtZeroGradAtZero(v: Tensor): Tensor {
  return tidy(() => {
    const zero = v.eq(0);
    return whereOp(zero, 0, whereOp(zero, 1, v).sqrt());
  });
}

/** Options of {@link Tensor.backward} and `grad()`. */
export interface BackwardOptions {
  /** Keep the graph's saved tensors so it can be walked again (default: `createGraph`). */
  retainGraph?: boolean;
  /** Record the backward pass, for higher-order derivatives (default false). */
  createGraph?: boolean;
}

/**
 * An n-dimensional array in wasm memory with PyTorch's autograd semantics.
 *
 * Tensors hold memory outside the JS heap: free them with `dispose()`, `using`, or
 * {@link tidy}. Ops never modify their inputs, except the in-place ones ending in `_`.
 */
export class Tensor {
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
  private gradView: Tensor | null = null;
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
  get dtype(): DType {
    if (this.dtypeCache === undefined) this.dtypeCache = lib().dtypeOfInfo(this.info());
    else this.assertAlive('dtype');
    return this.dtypeCache;
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
   * tensor: freed with it, or when set to null; scopes never free it.
   */
  get grad(): Tensor | null {
    this.assertAlive('grad');
    const c = lib();
    const h = c.check(c.raw.wg_grad(this.handleFor('grad')));
    if (h === c.k.absent) return null;
    if (this.gradView === null || this.gradView.h !== h || this.gradView.disposed) {
      this.gradView = new Tensor(h, false, true);
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

  // ---- elementwise ---------------------------------------------------------------

  /** `this + other`, broadcasting. */
  add(other: Operand): Tensor { return binaryOp('add', this, other); }
  /** `this - other`, broadcasting. */
  sub(other: Operand): Tensor { return binaryOp('sub', this, other); }
  /** `this * other`, broadcasting. */
  mul(other: Operand): Tensor { return binaryOp('mul', this, other); }
  /** `this / other`, broadcasting. */
  div(other: Operand): Tensor { return binaryOp('div', this, other); }
  /** `this ** exponent`, broadcasting. */
  pow(exponent: Operand): Tensor { return binaryOp('pow', this, exponent); }
  /** `this == other` as a bool tensor (no gradient), broadcasting; usable in `where` and as a mask. */
  eq(other: Operand): Tensor { return binaryOp('eq', this, other); }
  /** `this != other` as bool. */
  ne(other: Operand): Tensor { return binaryOp('ne', this, other); }
  /** `this < other` as bool. */
  lt(other: Operand): Tensor { return binaryOp('lt', this, other); }
  /** `this <= other` as bool. */
  le(other: Operand): Tensor { return binaryOp('le', this, other); }
  /** `this > other` as bool. */
  gt(other: Operand): Tensor { return binaryOp('gt', this, other); }
  /** `this >= other` as bool. */
  ge(other: Operand): Tensor { return binaryOp('ge', this, other); }
  /** Elementwise NOT of the truth values (non-zero and NaN are true), as bool. */
  logicalNot(): Tensor { return unaryOp('logicalNot', this); }
  /** Elementwise AND of the truth values, as bool, broadcasting. */
  logicalAnd(other: Operand): Tensor { return binaryOp('logicalAnd', this, other); }
  /** Elementwise OR of the truth values, as bool, broadcasting. */
  logicalOr(other: Operand): Tensor { return binaryOp('logicalOr', this, other); }
  /** Elementwise XOR of the truth values, as bool, broadcasting. */
  logicalXor(other: Operand): Tensor { return binaryOp('logicalXor', this, other); }
  /** The slices along `dim` at int32 `index` (PyTorch's `index_select`); repeats allowed. */
  indexSelect(dim: number, index: Tensor): Tensor { return nnOp('indexSelect', this, index, null, [dim]); }
  /**
   * Values picked along `dim` by int32 `index` (PyTorch's `gather`): for dim 1,
   * `out[i][j] = this[i][index[i][j]]`. `index` has this tensor's rank, is no larger in the
   * other dims, and its values lie in `[0, size(dim))` (negative ones are rejected, as in
   * PyTorch). The result has the index's shape.
   */
  gather(dim: number, index: Tensor): Tensor { return nnOp('gather', this, index, null, [dim]); }
  /**
   * A copy with `src` (or the number `src` everywhere) written at int32 `index` along
   * `dim` (PyTorch's `scatter`): for dim 0, `out[index[i][j]][j] = src[i][j]`. `index`
   * is no larger than `src` in any dim, nor than this tensor outside `dim`. With repeated
   * indices the last write (in the index's row-major order) wins, and only that element
   * of `src` gets a gradient; PyTorch leaves this case unspecified.
   */
  scatter(dim: number, index: Tensor, src: Operand): Tensor {
    return typeof src === 'number' ? nnOp('scatter', this, index, null, [dim], src) : nnOp('scatter', this, index, src, [dim]);
  }
  /** Like {@link Tensor.scatter}, but adds `src` at the indexed positions; repeated indices accumulate (PyTorch's `scatter_add`). */
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor { return nnOp('scatterAdd', this, index, src, [dim]); }
  /** `value` where `mask` is non-zero, else this tensor's elements (PyTorch's `masked_fill`). */
  maskedFill(mask: Tensor, value: number): Tensor {
    return tidy(() => whereOp(mask, tensorOf(value), this));
  }
  /** Elementwise maximum (NaN propagates; ties split the gradient), broadcasting. */
  maximum(other: Operand): Tensor { return binaryOp('maximum', this, other); }
  /** Elementwise minimum (NaN propagates; ties split the gradient), broadcasting. */
  minimum(other: Operand): Tensor { return binaryOp('minimum', this, other); }
  /**
   * Limits values to `[min, max]` (either bound may be omitted with null). NaN stays NaN,
   * `min > max` gives `max` everywhere, and the gradient passes where `min ≤ x ≤ max`
   * (PyTorch's clamp). Number bounds are one core op; tensor bounds broadcast.
   */
  clamp(min: Operand | null, max: Operand | null = null): Tensor {
    if ((min ?? null) === null && (max ?? null) === null) throw new ArgumentError('clamp: at least one of min and max must be given');
    const bound = (b: Operand | null | undefined) => b === null || b === undefined || typeof b === 'number';
    if (bound(min) && bound(max)) {
      return unaryScalarOp('clamp', this, (min as number | null) ?? -Infinity, (max as number | null) ?? Infinity);
    }
    // Tensor bounds: `where`, not maximum/minimum: the gradient is 1 at the bounds too, as in PyTorch.
    return tidy(() => {
      const low = min === null ? this : whereOp(this.lt(min), min, this);
      return max === null ? low : whereOp(low.gt(max), max, low);
    });
  }
  /** Alias of {@link Tensor.clamp}. */
  clip(min: Operand | null, max: Operand | null = null): Tensor { return this.clamp(min, max); }
  /** `-this`. */
  neg(): Tensor { return unaryOp('neg', this); }
  /** `e ** this`. */
  exp(): Tensor { return unaryOp('exp', this); }
  /** Natural logarithm. */
  log(): Tensor { return unaryOp('log', this); }
  /** Square root. */
  sqrt(): Tensor { return unaryOp('sqrt', this); }
  /** Absolute value. */
  abs(): Tensor { return unaryOp('abs', this); }
  /** `max(this, 0)`. */
  relu(): Tensor { return unaryOp('relu', this); }
  /** `1 / (1 + e ** -this)`. */
  sigmoid(): Tensor { return unaryOp('sigmoid', this); }
  /** Hyperbolic tangent. */
  tanh(): Tensor { return unaryOp('tanh', this); }
  /** `log(1 + x)`, accurate for small x. */
  log1p(): Tensor { return unaryOp('log1p', this); }
  /** `exp(x) − 1`, accurate for small x. */
  expm1(): Tensor { return unaryOp('expm1', this); }
  /** `1 / sqrt(x)`. */
  rsqrt(): Tensor { return unaryOp('rsqrt', this); }
  /** −1, 0 or 1 by the sign of x (no gradient). */
  sign(): Tensor { return unaryOp('sign', this); }
  /** `1 / x`. */
  reciprocal(): Tensor { return unaryOp('reciprocal', this); }
  /** `x²`. */
  square(): Tensor { return unaryOp('square', this); }
  /** Sine. */
  sin(): Tensor { return unaryOp('sin', this); }
  /** Cosine. */
  cos(): Tensor { return unaryOp('cos', this); }
  /** Tangent. */
  tan(): Tensor { return unaryOp('tan', this); }
  /** `x` where positive, else `negativeSlope·x` (PyTorch's `leaky_relu`, slope 0.01). */
  leakyRelu(negativeSlope = 0.01): Tensor {
    return tidy(() => whereOp(this.gt(0), this, this.mul(negativeSlope)));
  }
  /** `x` where positive, else `alpha·(eˣ − 1)` (PyTorch's `elu`, alpha 1). */
  elu(alpha = 1): Tensor {
    // The negative branch sees min(x, 0), so a large x cannot overflow it into a NaN gradient.
    return tidy(() => whereOp(this.gt(0), this, this.clamp(null, 0).expm1().mul(alpha)));
  }
  /** SiLU (swish), `x·sigmoid(x)`. */
  silu(): Tensor { return unaryOp('silu', this); }
  /** `log(1 + eˣ)` (PyTorch's softplus with beta 1, threshold 20). */
  softplus(): Tensor { return unaryOp('softplus', this); }
  /** Rounds down (gradient 0). */
  floor(): Tensor { return unaryOp('floor', this); }
  /** Rounds up (gradient 0). */
  ceil(): Tensor { return unaryOp('ceil', this); }
  /** Rounds to the nearest integer, halves to even (gradient 0). */
  round(): Tensor { return unaryOp('round', this); }
  /** GELU, `x·Φ(x)`; `{ approximate: 'tanh' }` uses the tanh approximation (PyTorch's `F.gelu`). */
  gelu(options: { approximate?: 'none' | 'tanh' } = {}): Tensor {
    const approximate = options.approximate ?? 'none';
    if (approximate !== 'none' && approximate !== 'tanh') {
      throw new ArgumentError(`gelu: approximate must be 'none' or 'tanh', got ${String(approximate)}`);
    }
    return unaryOp(approximate === 'tanh' ? 'geluTanh' : 'gelu', this);
  }

  // ---- reductions and products ---------------------------------------------------

  /** Sum over all elements, or over `dim` (a dim or several), keeping reduced dims if `keepdim`. */
  sum(dim?: number | readonly number[], keepdim = false): Tensor { return reduceOp('sum', this, dim, keepdim); }
  /** Mean over all elements, or over `dim`, keeping reduced dims if `keepdim`. */
  mean(dim?: number | readonly number[], keepdim = false): Tensor { return reduceOp('mean', this, dim, keepdim); }
  /**
   * Product over all elements, or over `dim`, keeping it as size 1 if `keepdim` (an empty
   * product is 1). The gradient is exact where inputs are zero.
   */
  prod(dim?: number, keepdim = false): Tensor { return reduceOp('prod', this, dim, keepdim); }
  /** Running sums along `dim` (PyTorch's `cumsum`), accumulated in float64. */
  cumsum(dim: number): Tensor { return nnOp('cumsum', this, null, null, [dim]); }
  /** Whether any element (over all, or along `dim`) is true (non-zero), as bool; false when empty. */
  any(dim?: number | readonly number[], keepdim = false): Tensor { return reduceOp('any', this, dim, keepdim); }
  /** Whether every element (over all, or along `dim`) is true (non-zero), as bool; true when empty. */
  all(dim?: number | readonly number[], keepdim = false): Tensor { return reduceOp('all', this, dim, keepdim); }
  /** Softmax along `dim` (numerically stable). */
  softmax(dim: number): Tensor { return nnOp('softmax', this, null, null, [dim]); }
  /** Log of the softmax along `dim`, computed stably in one pass. */
  logSoftmax(dim: number): Tensor { return nnOp('logSoftmax', this, null, null, [dim]); }
  /** Largest value over all elements or over `dim` (ties share the gradient; NaN propagates). */
  amax(dim?: number | readonly number[], keepdim = false): Tensor { return reduceOp('amax', this, dim, keepdim); }
  /** Smallest value over all elements or over `dim`. */
  amin(dim?: number | readonly number[], keepdim = false): Tensor { return reduceOp('amin', this, dim, keepdim); }
  /** Index (int32) of the first maximum over the flattened tensor, or along `dim`. */
  argmax(dim?: number, keepdim = false): Tensor { return reduceOp('argmax', this, dim, keepdim); }
  /** Index (int32) of the first minimum over the flattened tensor, or along `dim`. */
  argmin(dim?: number, keepdim = false): Tensor { return reduceOp('argmin', this, dim, keepdim); }
  /** The maximum of all elements; with `dim`, `{ values, indices }` along it (PyTorch's `max`). */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  max(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    return dim === undefined ? this.amax() : this.pickAlong(dim, keepdim, this.argmax(dim, true));
  }
  /** The minimum of all elements; with `dim`, `{ values, indices }` along it. */
  min(): Tensor;
  min(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  min(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    return dim === undefined ? this.amin() : this.pickAlong(dim, keepdim, this.argmin(dim, true));
  }
  /** max/min along a dim: values gathered at the indices, so only the returned element of a tie gets the gradient (as in PyTorch). */
  private pickAlong(dim: number, keepdim: boolean, kept: Tensor): { values: Tensor; indices: Tensor } {
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
  var(dim?: number | readonly number[], unbiased: boolean | number = true, keepdim = false): Tensor {
    return reduceOp('var', this, dim, keepdim, correctionOf('var', unbiased));
  }
  /** Standard deviation, `sqrt(var(…))` in one core op; its gradient is 0 where it is 0 (a constant), as in PyTorch. */
  std(dim?: number | readonly number[], unbiased: boolean | number = true, keepdim = false): Tensor {
    return reduceOp('std', this, dim, keepdim, correctionOf('std', unbiased));
  }
  /**
   * `log(Σ exp(x))` over all elements or `dim`, in one core op, computed stably (the max is
   * factored out); −inf for an empty reduction; the gradient is the softmax over `dim`.
   */
  logsumexp(dim?: number | readonly number[], keepdim = false): Tensor { return reduceOp('logsumexp', this, dim, keepdim); }
  /** The p-norm (p = 1, 2 or Infinity) over all elements or `dim`. */
  norm(p: 1 | 2 | number = 2, dim?: number | readonly number[], keepdim = false): Tensor {
    // At 0 (also when the squares underflow) the gradient is 0, as PyTorch's, not ∞·0 = NaN.
    if (p === 2) return tidy(() => sqrtZeroGradAtZero(this.square().sum(dim, keepdim)));
    if (p === 1) return tidy(() => this.abs().sum(dim, keepdim));
    if (p === Infinity) return tidy(() => this.abs().amax(dim, keepdim));
    throw new ArgumentError(`norm: p must be 1, 2 or Infinity, got ${p}`);
  }
  /** Matrix product with PyTorch's `matmul` rules (1-D, 2-D, batched with broadcasting). */
  matmul(other: Tensor): Tensor { return binaryOp('matmul', this, other); }

  // ---- shape and movement (views where possible) ---------------------------------

  /** Same data with a new shape; one dim may be -1 (inferred). A view when contiguous. */
  reshape(...shape: DimsArg): Tensor { return movementOp('reshape', this, dims(shape)); }
  /** Alias of {@link Tensor.reshape}. */
  view(...shape: DimsArg): Tensor { return this.reshape(...shape); }
  /** Flattens to 1-D. */
  flatten(): Tensor { return this.reshape(-1); }
  /** Reorders dims: `x.permute(2, 0, 1)`. A view. */
  permute(...order: DimsArg): Tensor { return movementOp('permute', this, dims(order)); }
  /** Broadcasts size-1 dims to `shape` (-1 keeps a dim). A view; no data is copied. */
  expand(...shape: DimsArg): Tensor { return movementOp('expand', this, dims(shape)); }
  /**
   * Elements `start, start+step, …` below `end` along `dim` (Python's `x[start:end:step]`;
   * negative indices count from the end, bounds are clamped). A view.
   */
  slice(dim: number, start = 0, end = Number.MAX_SAFE_INTEGER, step = 1): Tensor {
    const clampI32 = (v: number) => Math.max(-0x80000000, Math.min(0x7fffffff, v));
    return movementOp('slice', this, [dim, clampI32(start), clampI32(end), step]);
  }
  /**
   * Python-style indexing: `x.index('1:3, :, ::2')`, `x.index('..., 0')`, `x.index(-1)`, or
   * as an array, `x.index([[1, 3], null, [null, null, 2], 0])` (see `IndexItem`). A
   * number selects and drops its dim; `None` adds a size-1 dim. A view, unless dims are
   * dropped or added on a non-contiguous result, which copies (as `reshape` does).
   */
  index(spec: IndexSpec): Tensor { return indexTensor(this, spec); }
  /** `length` elements from `start` along `dim`. A view. */
  narrow(dim: number, start: number, length: number): Tensor {
    const n = this.shape[normDim('narrow', dim, this.ndim)]!;
    const s = start < 0 ? start + n : start;
    if (!Number.isInteger(length) || length < 0 || s < 0 || s + length > n) {
      throw new ArgumentError(`narrow: start ${start} and length ${length} exceed dimension ${dim} of size ${n}`);
    }
    return this.slice(dim, s, s + length);
  }
  /** Splits into pieces of `size` along `dim` (the last may be smaller), or of the given sizes. Views. */
  split(size: number | readonly number[], dim = 0): Tensor[] {
    const n = this.shape[normDim('split', dim, this.ndim)]!;
    const sizes = typeof size === 'number' ? splitSizes(n, size) : [...size];
    if (sizes.reduce((a, b) => a + b, 0) !== n || sizes.some((v) => !Number.isInteger(v) || v < 0)) {
      throw new ArgumentError(`split: sizes [${sizes.join(', ')}] do not add up to dimension ${dim} of size ${n}`);
    }
    let start = 0;
    return sizes.map((len) => this.slice(dim, start, (start += len)));
  }
  /** Splits into `chunks` nearly equal pieces along `dim` (PyTorch's `chunk`). Views. */
  chunk(chunks: number, dim = 0): Tensor[] {
    if (!Number.isInteger(chunks) || chunks < 1) throw new ArgumentError(`chunk: expected a positive number of chunks, got ${chunks}`);
    const n = this.shape[normDim('chunk', dim, this.ndim)]!;
    return this.split(Math.max(1, Math.ceil(n / chunks)), dim);
  }
  /** Broadcasts to `shape` (PyTorch's `broadcast_to`); a view. */
  broadcastTo(...shape: DimsArg): Tensor { return this.expand(...shape); }
  /** Splits dim `dim` into `sizes` (one may be -1). */
  unflatten(dim: number, sizes: readonly number[]): Tensor {
    const shape = [...this.shape];
    const d = normDim('unflatten', dim, shape.length);
    shape.splice(d, 1, ...sizes);
    return this.reshape(shape);
  }
  /** Tiles the tensor `repeats[i]` times along each dim (PyTorch's `repeat`). */
  repeat(...repeats: DimsArg): Tensor {
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
  tile(...repeats: DimsArg): Tensor {
    const reps = dims(repeats);
    return this.repeat([...Array<number>(Math.max(0, this.ndim - reps.length)).fill(1), ...reps]);
  }
  /** The lower triangle of the last two dims (elements with `col − row ≤ diagonal`); the rest 0. */
  tril(diagonal = 0): Tensor { return movementOp('tril', this, [diagonal]); }
  /** The upper triangle of the last two dims (elements with `col − row ≥ diagonal`); the rest 0. */
  triu(diagonal = 0): Tensor { return movementOp('triu', this, [diagonal]); }
  /** A copy with the order of elements reversed along each of `dims` (PyTorch's `flip`). */
  flip(...axes: DimsArg): Tensor { return movementOp('flip', this, dims(axes)); }
  /** Swaps two dims. A view. */
  transpose(dim0: number, dim1: number): Tensor {
    const n = this.ndim;
    // A 0-d tensor takes dims 0 and -1, as if it had one dim (PyTorch's wrapping rule).
    const [a, b] = [normDim('transpose', dim0, Math.max(n, 1)), normDim('transpose', dim1, Math.max(n, 1))];
    if (n === 0) return this.reshape([]);
    const order = Array.from({ length: n }, (_, i) => i);
    [order[a], order[b]] = [order[b]!, order[a]!];
    return this.permute(order);
  }
  /** Transpose of a matrix (tensors of rank < 2 are returned as a view unchanged). */
  t(): Tensor {
    if (this.ndim > 2) throw new ShapeError(`t: expects a tensor with <= 2 dims, got shape [${this.shape.join(', ')}]`);
    return this.ndim < 2 ? this.reshape(this.shape) : this.transpose(0, 1);
  }
  /** Removes size-1 dims (all, or only `dim`). */
  squeeze(dim?: number): Tensor {
    const shape = this.shape;
    if (dim === undefined) return this.reshape(shape.filter((d) => d !== 1));
    const d = normDim('squeeze', dim, Math.max(shape.length, 1));
    return this.reshape(shape.filter((s, i) => i !== d || s !== 1));
  }
  /** Inserts a size-1 dim at `dim`. */
  unsqueeze(dim: number): Tensor {
    const shape = [...this.shape];
    shape.splice(normDim('unsqueeze', dim, shape.length + 1), 0, 1);
    return this.reshape(shape);
  }

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
  registerHook(hook: (grad: Tensor) => Tensor | null | undefined | void): { remove(): void } {
    this.assertAlive('registerHook');
    const c = lib();
    const id = c.addCallback(hostCallback(c, ([g]) => [hook(g!) ?? null]));
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
  /** A copy with its own memory; gradients flow back to this tensor (`torch.clone`). */
  clone(): Tensor { return unaryOp('clone', this); }
  /** A new leaf sharing this tensor's data, cut from the graph. */
  detach(): Tensor {
    const c = lib();
    return wrap(c, c.raw.wg_detach(this.handleFor('detach')));
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
   * A copy converted to `dtype`, or this tensor if it already is one. float → int
   * truncates; to bool, non-zero (and NaN) is true; bool → numbers gives 1 and 0.
   */
  to(dtype: DType): Tensor {
    const c = lib();
    const h = c.check(c.raw.wg_cast(this.handleFor('to'), c.dtypeCode('to', dtype)));
    return h === this.h ? this : new Tensor(h);
  }

  /** A copy of the elements in row-major order: a `Uint8Array` of 0/1 for bool tensors. */
  data(): Float32Array | Int32Array | Uint8Array {
    this.assertAlive('data');
    const c = lib();
    const n = this.size;
    const dtype = this.dtype;
    const ptr = c.raw.wg_data_ptr(this.handleFor('data')) >>> 0;
    if (ptr === 0) throw c.lastError();
    const memory = c.raw.memory.buffer;
    if (dtype === 'bool') return new Uint8Array(memory, ptr, n).slice();
    return dtype === 'int32' ? new Int32Array(memory, ptr, n).slice() : new Float32Array(memory, ptr, n).slice();
  }
  /** The elements as nested arrays (a single value for 0-d tensors); booleans for bool tensors. */
  toArray(): NestedArray {
    const values: (number | boolean)[] = this.dtype === 'bool' ? Array.from(this.data(), (v) => v !== 0) : Array.from(this.data());
    const shape = this.shape;
    if (shape.length === 0) return values[0]!;
    const build = (dim: number, offset: number, stride: number): NestedArray[] => {
      const n = shape[dim]!;
      const inner = stride / Math.max(n, 1);
      return Array.from({ length: n }, (_, i) =>
        dim === shape.length - 1 ? values[offset + i]! : build(dim + 1, offset + i * inner, inner),
      );
    };
    return build(0, 0, values.length);
  }
  /** The value of a one-element tensor: a boolean for bool tensors, else a number. */
  item(): number | boolean {
    if (this.size !== 1) {
      throw new ShapeError(`item: a tensor with ${this.size} elements (shape [${this.shape.join(', ')}]) cannot be converted to a number`);
    }
    const value = this.data()[0]!;
    return this.dtype === 'bool' ? value !== 0 : value;
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

// ---- function forms: `exp(x)` ≡ `x.exp()` ------------------------------------------------
// Next to the methods, so that adding an op touches three files: its row in the Rust op
// table, this file, and its row in test/op-cases.ts. Binary forms take a number on either
// side (`sub(1, x)`), hence binaryOp rather than the method. The methods carry the full docs,
// so a form's doc is short and shares its line when that fits.

/** `a + b`, broadcasting. */ export const add = (a: Operand, b: Operand): Tensor => binaryOp('add', a, b);
/** `a - b`, broadcasting. */ export const sub = (a: Operand, b: Operand): Tensor => binaryOp('sub', a, b);
/** `a * b`, broadcasting. */ export const mul = (a: Operand, b: Operand): Tensor => binaryOp('mul', a, b);
/** `a / b`, broadcasting. */ export const div = (a: Operand, b: Operand): Tensor => binaryOp('div', a, b);
/** `a ** b`, broadcasting. */ export const pow = (a: Operand, b: Operand): Tensor => binaryOp('pow', a, b);
/** Elementwise maximum, broadcasting. */ export const maximum = (a: Operand, b: Operand): Tensor => binaryOp('maximum', a, b);
/** Elementwise minimum, broadcasting. */ export const minimum = (a: Operand, b: Operand): Tensor => binaryOp('minimum', a, b);
/** Matrix product with PyTorch's `matmul` rules. */ export const matmul = (a: Tensor, b: Tensor): Tensor => binaryOp('matmul', a, b);
/** `a == b` as bool. */ export const eq = (a: Operand, b: Operand): Tensor => binaryOp('eq', a, b);
/** `a != b` as bool. */ export const ne = (a: Operand, b: Operand): Tensor => binaryOp('ne', a, b);
/** `a < b` as bool. */ export const lt = (a: Operand, b: Operand): Tensor => binaryOp('lt', a, b);
/** `a <= b` as bool. */ export const le = (a: Operand, b: Operand): Tensor => binaryOp('le', a, b);
/** `a > b` as bool. */ export const gt = (a: Operand, b: Operand): Tensor => binaryOp('gt', a, b);
/** `a >= b` as bool. */ export const ge = (a: Operand, b: Operand): Tensor => binaryOp('ge', a, b);
/** AND of the truth values of `a` and `b`, as bool, broadcasting. */
export const logicalAnd = (a: Operand, b: Operand): Tensor => binaryOp('logicalAnd', a, b);
/** OR of the truth values of `a` and `b`, as bool, broadcasting. */
export const logicalOr = (a: Operand, b: Operand): Tensor => binaryOp('logicalOr', a, b);
/** XOR of the truth values of `a` and `b`, as bool, broadcasting. */
export const logicalXor = (a: Operand, b: Operand): Tensor => binaryOp('logicalXor', a, b);
/** NOT of the truth values of `x` (non-zero and NaN are true), as bool. */ export const logicalNot = (x: Tensor): Tensor => expectTensor('logicalNot', x).logicalNot();
/** `x` limited to `[min, max]` (either bound may be null). */
export const clamp = (x: Tensor, min: Operand | null, max: Operand | null = null): Tensor => expectTensor('clamp', x).clamp(min, max);
/** Alias of {@link clamp}. */ export const clip = clamp;

/** `-x`. */ export const neg = (x: Tensor): Tensor => expectTensor('neg', x).neg();
/** `e ** x`. */ export const exp = (x: Tensor): Tensor => expectTensor('exp', x).exp();
/** Natural logarithm. */ export const log = (x: Tensor): Tensor => expectTensor('log', x).log();
/** Square root. */ export const sqrt = (x: Tensor): Tensor => expectTensor('sqrt', x).sqrt();
/** Absolute value. */ export const abs = (x: Tensor): Tensor => expectTensor('abs', x).abs();
/** `max(x, 0)`. */ export const relu = (x: Tensor): Tensor => expectTensor('relu', x).relu();
/** Logistic sigmoid. */ export const sigmoid = (x: Tensor): Tensor => expectTensor('sigmoid', x).sigmoid();
/** Hyperbolic tangent. */ export const tanh = (x: Tensor): Tensor => expectTensor('tanh', x).tanh();
/** `log(1 + x)`. */ export const log1p = (x: Tensor): Tensor => expectTensor('log1p', x).log1p();
/** `exp(x) − 1`. */ export const expm1 = (x: Tensor): Tensor => expectTensor('expm1', x).expm1();
/** `1 / sqrt(x)`. */ export const rsqrt = (x: Tensor): Tensor => expectTensor('rsqrt', x).rsqrt();
/** −1, 0 or 1 by the sign of x. */ export const sign = (x: Tensor): Tensor => expectTensor('sign', x).sign();
/** `1 / x`. */ export const reciprocal = (x: Tensor): Tensor => expectTensor('reciprocal', x).reciprocal();
/** `x²`. */ export const square = (x: Tensor): Tensor => expectTensor('square', x).square();
/** Sine. */ export const sin = (x: Tensor): Tensor => expectTensor('sin', x).sin();
/** Cosine. */ export const cos = (x: Tensor): Tensor => expectTensor('cos', x).cos();
/** Tangent. */ export const tan = (x: Tensor): Tensor => expectTensor('tan', x).tan();
/** SiLU (swish), `x·sigmoid(x)`. */ export const silu = (x: Tensor): Tensor => expectTensor('silu', x).silu();
/** `log(1 + eˣ)`. */ export const softplus = (x: Tensor): Tensor => expectTensor('softplus', x).softplus();
/** Rounds down. */ export const floor = (x: Tensor): Tensor => expectTensor('floor', x).floor();
/** Rounds up. */ export const ceil = (x: Tensor): Tensor => expectTensor('ceil', x).ceil();
/** Rounds half to even. */ export const round = (x: Tensor): Tensor => expectTensor('round', x).round();
/** Leaky ReLU with `negativeSlope` (default 0.01). */
export const leakyRelu = (x: Tensor, negativeSlope = 0.01): Tensor => expectTensor('leakyRelu', x).leakyRelu(negativeSlope);
/** ELU with `alpha` (default 1). */ export const elu = (x: Tensor, alpha = 1): Tensor => expectTensor('elu', x).elu(alpha);
/** GELU, `x·Φ(x)` (or its tanh approximation). */
export const gelu = (x: Tensor, options: { approximate?: 'none' | 'tanh' } = {}): Tensor => expectTensor('gelu', x).gelu(options);
/** Softmax along `dim`: `exp(x) / Σ exp(x)`, computed stably. */
export const softmax = (x: Tensor, dim: number): Tensor => expectTensor('softmax', x).softmax(dim);
/** `log(softmax(x, dim))` in one stable pass; pair with negative log-likelihood losses. */
export const logSoftmax = (x: Tensor, dim: number): Tensor => expectTensor('logSoftmax', x).logSoftmax(dim);

/** Sum over all elements or over `dim`. */
export const sum = (x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor => expectTensor('sum', x).sum(dim, keepdim);
/** Mean over all elements or over `dim`. */
export const mean = (x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor => expectTensor('mean', x).mean(dim, keepdim);
/** Product over all elements or over `dim` (exact gradients at zeros). */
export const prod = (x: Tensor, dim?: number, keepdim = false): Tensor => expectTensor('prod', x).prod(dim, keepdim);
/** Largest value over all elements or over `dim`. */
export const amax = (x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor => expectTensor('amax', x).amax(dim, keepdim);
/** Smallest value over all elements or over `dim`. */
export const amin = (x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor => expectTensor('amin', x).amin(dim, keepdim);
/** Index (int32) of the first maximum, flattened or along `dim`. */
export const argmax = (x: Tensor, dim?: number, keepdim = false): Tensor => expectTensor('argmax', x).argmax(dim, keepdim);
/** Index (int32) of the first minimum, flattened or along `dim`. */
export const argmin = (x: Tensor, dim?: number, keepdim = false): Tensor => expectTensor('argmin', x).argmin(dim, keepdim);
/** Whether any element of `x` (over all, or along `dim`) is true, as bool. */
export const any = (x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor => expectTensor('any', x).any(dim, keepdim);
/** Whether every element of `x` (over all, or along `dim`) is true, as bool. */
export const all = (x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor => expectTensor('all', x).all(dim, keepdim);
/** Variance (unbiased by default). */
export const variance = (x: Tensor, dim?: number | readonly number[], unbiased: boolean | number = true, keepdim = false): Tensor => expectTensor('variance', x).var(dim, unbiased, keepdim);
/** Standard deviation (unbiased by default). */
export const std = (x: Tensor, dim?: number | readonly number[], unbiased: boolean | number = true, keepdim = false): Tensor => expectTensor('std', x).std(dim, unbiased, keepdim);
/** `log(Σ exp(x))` over `dim`, stably. */
export const logsumexp = (x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor => expectTensor('logsumexp', x).logsumexp(dim, keepdim);
/** The p-norm (1, 2 or Infinity). */
export const norm = (x: Tensor, p: number = 2, dim?: number | readonly number[], keepdim = false): Tensor => expectTensor('norm', x).norm(p, dim, keepdim);
/** Running sums of `x` along `dim`. */ export const cumsum = (x: Tensor, dim: number): Tensor => expectTensor('cumsum', x).cumsum(dim);

/** The maximum of all elements, or `{ values, indices }` along `dim` (`torch.max`). */
export function max(x: Tensor): Tensor;
export function max(x: Tensor, dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
export function max(x: Tensor, dim?: number, keepdim = false) { return dim === undefined ? x.max() : x.max(dim, keepdim); }
/** The minimum of all elements, or `{ values, indices }` along `dim` (`torch.min`). */
export function min(x: Tensor): Tensor;
export function min(x: Tensor, dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
export function min(x: Tensor, dim?: number, keepdim = false) { return dim === undefined ? x.min() : x.min(dim, keepdim); }

/** A copy of `x` with its own memory; gradients flow back to `x`. */ export const clone = (x: Tensor): Tensor => expectTensor('clone', x).clone();
/** `x` with a new shape (one dim may be -1). */ export const reshape = (x: Tensor, shape: readonly number[]): Tensor => expectTensor('reshape', x).reshape(shape);
/** `x` as one dimension. */ export const flatten = (x: Tensor): Tensor => expectTensor('flatten', x).flatten();
/** `x` with dim `dim` split into `sizes`. */ export const unflatten = (x: Tensor, dim: number, sizes: readonly number[]): Tensor => expectTensor('unflatten', x).unflatten(dim, sizes);
/** `x` with its dims reordered. */ export const permute = (x: Tensor, order: readonly number[]): Tensor => expectTensor('permute', x).permute(order);
/** `x` broadcast to `shape` (a view). */ export const expand = (x: Tensor, shape: readonly number[]): Tensor => expectTensor('expand', x).expand(shape);
/** `x` broadcast to `shape` (a view). */ export const broadcastTo = (x: Tensor, shape: readonly number[]): Tensor => expectTensor('broadcastTo', x).broadcastTo(shape);
/** `x` with two dims swapped. */ export const transpose = (x: Tensor, dim0: number, dim1: number): Tensor => expectTensor('transpose', x).transpose(dim0, dim1);
/** Matrix transpose. */ export const t = (x: Tensor): Tensor => expectTensor('t', x).t();
/** `x` without size-1 dims (all, or only `dim`). */ export const squeeze = (x: Tensor, dim?: number): Tensor => expectTensor('squeeze', x).squeeze(dim);
/** `x` with a size-1 dim inserted at `dim`. */ export const unsqueeze = (x: Tensor, dim: number): Tensor => expectTensor('unsqueeze', x).unsqueeze(dim);
/** A copy of `x` reversed along each of `dims`. */ export const flip = (x: Tensor, dims: readonly number[]): Tensor => expectTensor('flip', x).flip(dims);
/** Elements along `dim` from `start` to `end` by `step` (a view). */
export const slice = (x: Tensor, dim: number, start?: number, end?: number, step?: number): Tensor => expectTensor('slice', x).slice(dim, start, end, step);
/** `length` elements of `x` from `start` along `dim` (a view). */
export const narrow = (x: Tensor, dim: number, start: number, length: number): Tensor => expectTensor('narrow', x).narrow(dim, start, length);
/** Splits `x` into pieces of `size` (or the given sizes) along `dim`. */
export const split = (x: Tensor, size: number | readonly number[], dim = 0): Tensor[] => expectTensor('split', x).split(size, dim);
/** Splits `x` into `chunks` nearly equal pieces along `dim`. */
export const chunk = (x: Tensor, chunks: number, dim = 0): Tensor[] => expectTensor('chunk', x).chunk(chunks, dim);
/** `x` tiled `repeats` times per dim (`torch.Tensor.repeat`). */
export const repeat = (x: Tensor, repeats: readonly number[]): Tensor => expectTensor('repeat', x).repeat(repeats);
/** `x` tiled, missing leading counts 1 (`torch.tile`). */
export const tile = (x: Tensor, repeats: readonly number[]): Tensor => expectTensor('tile', x).tile(repeats);
/** Lower triangle of the last two dims. */ export const tril = (x: Tensor, diagonal = 0): Tensor => expectTensor('tril', x).tril(diagonal);
/** Upper triangle of the last two dims. */ export const triu = (x: Tensor, diagonal = 0): Tensor => expectTensor('triu', x).triu(diagonal);
/** Concatenates tensors along an existing dim (`torch.cat`). */
export const cat = (tensors: readonly Tensor[], dim = 0): Tensor => catOp(tensors, dim);

/** Elements of `a` where `cond` is true (bool, or non-zero), else of `b` (all broadcast; numbers allowed). */
export const where = (cond: Tensor, a: Operand, b: Operand): Tensor => whereOp(cond, a, b);
/** `value` where `mask` is true (bool, or non-zero), else `x`. */
export const maskedFill = (x: Tensor, mask: Tensor, value: number): Tensor => expectTensor('maskedFill', x).maskedFill(mask, value);
/** Slices of `x` along `dim` at int32 `index`. */
export const indexSelect = (x: Tensor, dim: number, index: Tensor): Tensor => expectTensor('indexSelect', x).indexSelect(dim, index);
/** Values of `x` picked along `dim` by int32 `index` (`torch.gather`). */
export const gather = (x: Tensor, dim: number, index: Tensor): Tensor => expectTensor('gather', x).gather(dim, index);
/** A copy of `x` with `src` (a tensor or a number) written at int32 `index` along `dim`; the last repeated index wins. */
export const scatter = (x: Tensor, dim: number, index: Tensor, src: Operand): Tensor => expectTensor('scatter', x).scatter(dim, index, src);
/** A copy of `x` with `src` added at int32 `index` along `dim`; repeats accumulate. */
export const scatterAdd = (x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor => expectTensor('scatterAdd', x).scatterAdd(dim, index, src);

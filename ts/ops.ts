/**
 * Tensor ops, each declared once: `export const exp = method((x: Tensor): Tensor<'float32'> => …)`
 * is both the function `exp(x)` and the method `x.exp()` (see method.ts). Binary ops take a
 * number on either side (`sub(1, x)`; as methods, the right side). Ops whose function form
 * differs from their method (overloads, variadic dims, a reserved name) have their method in
 * tensor.ts and their function form here.
 *
 * Result types state the result's dtype where the op fixes it (`Tensor<'float32'>`,
 * `Tensor<'bool'>`, `Tensor<'int32'>`); ops that keep their input's dtype are generic,
 * `keepsDType(<D extends DType>(x: Tensor<D>, …): Tensor<D> => …)`, so that the method on a
 * `Tensor<D>` returns `Tensor<D>` too.
 * @module
 */
import { binaryOp, expectTensor, normDim, op, splitSizes, unaryOp } from './dispatch.js';
import { ArgumentError, ShapeError } from './errors.js';
import { keepsDType, markOpsEvaluated, method } from './method.js';
import { tidy } from './scope.js';
import type { DType, Operand, Tensor } from './tensor.js';

// Result dtypes. The core computes in float32 (int32 inputs are rejected by arithmetic, bool
// ones count as 0/1), comparisons and logical ops give bool, argmax/argmin int32; movement
// ops keep their input's dtype (`keepsDType`). dispatch.ts returns the union `Tensor`: the
// `as` casts below narrow it where the op fixes the dtype (types only, nothing at runtime).

/**
 * The dtype of `cat`/`stack` of tensors typed `Tensor<D>`: `D` when it is one dtype (the
 * result then has it), else the union (the core converts mixed dtypes to float32, but
 * `Tensor<'int32' | 'float32'>` may as well hold only int32 tensors).
 */
export type JoinedDType<D extends DType> = [D] extends ['float32'] ? 'float32' : [D] extends ['int32'] ? 'int32' : [D] extends ['bool'] ? 'bool' : DType;

// ---- arithmetic and comparisons ---------------------------------------------------------------

/** `a + b`, broadcasting. */
export const add = method((a: Operand, b: Operand): Tensor<'float32'> => (binaryOp('add', a, b) as Tensor<'float32'>));
/** `a - b`, broadcasting. */
export const sub = method((a: Operand, b: Operand): Tensor<'float32'> => (binaryOp('sub', a, b) as Tensor<'float32'>));
/** `a * b`, broadcasting. */
export const mul = method((a: Operand, b: Operand): Tensor<'float32'> => (binaryOp('mul', a, b) as Tensor<'float32'>));
/** `a / b`, broadcasting. */
export const div = method((a: Operand, b: Operand): Tensor<'float32'> => (binaryOp('div', a, b) as Tensor<'float32'>));
/** `base ** exponent`, broadcasting. */
export const pow = method((base: Operand, exponent: Operand): Tensor<'float32'> => (binaryOp('pow', base, exponent) as Tensor<'float32'>));
/** Elementwise maximum (NaN propagates; ties split the gradient), broadcasting. */
export const maximum = method((a: Operand, b: Operand): Tensor<'float32'> => (binaryOp('maximum', a, b) as Tensor<'float32'>));
/** Elementwise minimum (NaN propagates; ties split the gradient), broadcasting. */
export const minimum = method((a: Operand, b: Operand): Tensor<'float32'> => (binaryOp('minimum', a, b) as Tensor<'float32'>));
/** Matrix product with PyTorch's `matmul` rules (1-D, 2-D, batched with broadcasting). */
export const matmul = method((a: Tensor, b: Tensor): Tensor<'float32'> => (op('matmul', a, b) as Tensor<'float32'>));
/** `a == b` as a bool tensor (no gradient), broadcasting; usable in `where` and as a mask. */
export const eq = method((a: Operand, b: Operand): Tensor<'bool'> => (binaryOp('eq', a, b) as Tensor<'bool'>));
/** `a != b` as bool. */
export const ne = method((a: Operand, b: Operand): Tensor<'bool'> => (binaryOp('ne', a, b) as Tensor<'bool'>));
/** `a < b` as bool. */
export const lt = method((a: Operand, b: Operand): Tensor<'bool'> => (binaryOp('lt', a, b) as Tensor<'bool'>));
/** `a <= b` as bool. */
export const le = method((a: Operand, b: Operand): Tensor<'bool'> => (binaryOp('le', a, b) as Tensor<'bool'>));
/** `a > b` as bool. */
export const gt = method((a: Operand, b: Operand): Tensor<'bool'> => (binaryOp('gt', a, b) as Tensor<'bool'>));
/** `a >= b` as bool. */
export const ge = method((a: Operand, b: Operand): Tensor<'bool'> => (binaryOp('ge', a, b) as Tensor<'bool'>));
/** Elementwise NOT of the truth values (non-zero and NaN are true), as bool. */
export const logicalNot = method((x: Tensor): Tensor<'bool'> => (unaryOp('logicalNot', x) as Tensor<'bool'>));
/** Elementwise AND of the truth values, as bool, broadcasting. */
export const logicalAnd = method((a: Operand, b: Operand): Tensor<'bool'> => (binaryOp('logicalAnd', a, b) as Tensor<'bool'>));
/** Elementwise OR of the truth values, as bool, broadcasting. */
export const logicalOr = method((a: Operand, b: Operand): Tensor<'bool'> => (binaryOp('logicalOr', a, b) as Tensor<'bool'>));
/** Elementwise XOR of the truth values, as bool, broadcasting. */
export const logicalXor = method((a: Operand, b: Operand): Tensor<'bool'> => (binaryOp('logicalXor', a, b) as Tensor<'bool'>));

// ---- unary functions and activations --------------------------------------------------------

/** `-x`. */
export const neg = method((x: Tensor): Tensor<'float32'> => (unaryOp('neg', x) as Tensor<'float32'>));
/** `e ** x`. */
export const exp = method((x: Tensor): Tensor<'float32'> => (unaryOp('exp', x) as Tensor<'float32'>));
/** Natural logarithm. */
export const log = method((x: Tensor): Tensor<'float32'> => (unaryOp('log', x) as Tensor<'float32'>));
/** Square root. */
export const sqrt = method((x: Tensor): Tensor<'float32'> => (unaryOp('sqrt', x) as Tensor<'float32'>));
/** Absolute value. */
export const abs = method((x: Tensor): Tensor<'float32'> => (unaryOp('abs', x) as Tensor<'float32'>));
/** `max(x, 0)`. */
export const relu = method((x: Tensor): Tensor<'float32'> => (unaryOp('relu', x) as Tensor<'float32'>));
/** `1 / (1 + e ** -x)`. */
export const sigmoid = method((x: Tensor): Tensor<'float32'> => (unaryOp('sigmoid', x) as Tensor<'float32'>));
/** Hyperbolic tangent. */
export const tanh = method((x: Tensor): Tensor<'float32'> => (unaryOp('tanh', x) as Tensor<'float32'>));
/** `log(1 + x)`, accurate for small x. */
export const log1p = method((x: Tensor): Tensor<'float32'> => (unaryOp('log1p', x) as Tensor<'float32'>));
/** `exp(x) − 1`, accurate for small x. */
export const expm1 = method((x: Tensor): Tensor<'float32'> => (unaryOp('expm1', x) as Tensor<'float32'>));
/** `1 / sqrt(x)`. */
export const rsqrt = method((x: Tensor): Tensor<'float32'> => (unaryOp('rsqrt', x) as Tensor<'float32'>));
/** −1, 0 or 1 by the sign of x (no gradient). */
export const sign = method((x: Tensor): Tensor<'float32'> => (unaryOp('sign', x) as Tensor<'float32'>));
/** `1 / x`. */
export const reciprocal = method((x: Tensor): Tensor<'float32'> => (unaryOp('reciprocal', x) as Tensor<'float32'>));
/** `x²`. */
export const square = method((x: Tensor): Tensor<'float32'> => (unaryOp('square', x) as Tensor<'float32'>));
/** Sine. */
export const sin = method((x: Tensor): Tensor<'float32'> => (unaryOp('sin', x) as Tensor<'float32'>));
/** Cosine. */
export const cos = method((x: Tensor): Tensor<'float32'> => (unaryOp('cos', x) as Tensor<'float32'>));
/** Tangent. */
export const tan = method((x: Tensor): Tensor<'float32'> => (unaryOp('tan', x) as Tensor<'float32'>));
/** SiLU (swish), `x·sigmoid(x)`. */
export const silu = method((x: Tensor): Tensor<'float32'> => (unaryOp('silu', x) as Tensor<'float32'>));
/** `log(1 + eˣ)` (PyTorch's softplus with beta 1, threshold 20). */
export const softplus = method((x: Tensor): Tensor<'float32'> => (unaryOp('softplus', x) as Tensor<'float32'>));
/** Rounds down (gradient 0). */
export const floor = method((x: Tensor): Tensor<'float32'> => (unaryOp('floor', x) as Tensor<'float32'>));
/** Rounds up (gradient 0). */
export const ceil = method((x: Tensor): Tensor<'float32'> => (unaryOp('ceil', x) as Tensor<'float32'>));
/** Rounds to the nearest integer, halves to even (gradient 0). */
export const round = method((x: Tensor): Tensor<'float32'> => (unaryOp('round', x) as Tensor<'float32'>));
/** A copy with its own memory; gradients flow back to `x` (`torch.clone`). */
export const clone = method((x: Tensor): Tensor<'float32'> => (unaryOp('clone', x) as Tensor<'float32'>));

/** `x` where positive, else `negativeSlope·x` (PyTorch's `leaky_relu`, slope 0.01). */
export const leakyRelu = method((x: Tensor, negativeSlope = 0.01): Tensor<'float32'> => {
  expectTensor('leakyRelu', x);
  return tidy(() => (op('where', x.gt(0), x, x.mul(negativeSlope)) as Tensor<'float32'>));
});
/** `x` where positive, else `alpha·(eˣ − 1)` (PyTorch's `elu`, alpha 1). */
export const elu = method((x: Tensor, alpha = 1): Tensor<'float32'> => {
  expectTensor('elu', x);
  // The negative branch sees min(x, 0), so a large x cannot overflow it into a NaN gradient.
  return tidy(() => (op('where', x.gt(0), x, x.clamp(null, 0).expm1().mul(alpha)) as Tensor<'float32'>));
});
/** GELU, `x·Φ(x)`; `{ approximate: 'tanh' }` uses the tanh approximation (PyTorch's `F.gelu`). */
export const gelu = method((x: Tensor, options: { approximate?: 'none' | 'tanh' } = {}): Tensor<'float32'> => {
  expectTensor('gelu', x);
  const approximate = options.approximate ?? 'none';
  if (approximate !== 'none' && approximate !== 'tanh') {
    throw new ArgumentError(`gelu: approximate must be 'none' or 'tanh', got ${String(approximate)}`);
  }
  return (unaryOp(approximate === 'tanh' ? 'geluTanh' : 'gelu', x) as Tensor<'float32'>);
});
/** Softmax along `dim`: `exp(x) / Σ exp(x)`, computed stably. */
export const softmax = method((x: Tensor, dim: number): Tensor<'float32'> => (op('softmax', x, dim) as Tensor<'float32'>));
/** `log(softmax(x, dim))` in one stable pass; pair with negative log-likelihood losses. */
export const logSoftmax = method((x: Tensor, dim: number): Tensor<'float32'> => (op('logSoftmax', x, dim) as Tensor<'float32'>));

/**
 * `x` limited to `[min, max]` (either bound may be omitted with null). NaN stays NaN,
 * `min > max` gives `max` everywhere, and the gradient passes where `min ≤ x ≤ max`
 * (PyTorch's clamp). Number bounds are one core op; tensor bounds broadcast.
 */
export const clamp = method((x: Tensor, min: Operand | null, max: Operand | null = null): Tensor<'float32'> => {
  expectTensor('clamp', x);
  if ((min ?? null) === null && (max ?? null) === null) throw new ArgumentError('clamp: at least one of min and max must be given');
  const bound = (b: Operand | null | undefined) => b === null || b === undefined || typeof b === 'number';
  if (bound(min) && bound(max)) {
    return (op('clamp', x, (min as number | null) ?? -Infinity, (max as number | null) ?? Infinity) as Tensor<'float32'>);
  }
  // Tensor bounds: `where`, not maximum/minimum: the gradient is 1 at the bounds too, as in PyTorch.
  return tidy(() => {
    const low = min === null ? x : op('where', x.lt(min), min, x);
    return (max === null ? low : op('where', low.gt(max), max, low)) as Tensor<'float32'>;
  });
});
/** Alias of {@link clamp}. */
export const clip = clamp;
/** `x` limited to `[minVal, maxVal]` (PyTorch's `F.hardtanh`, default [-1, 1]); the gradient passes strictly inside. */
export const hardtanh = method((x: Tensor, minVal = -1, maxVal = 1): Tensor<'float32'> => (op('hardtanh', x, minVal, maxVal) as Tensor<'float32'>));

// ---- selection -------------------------------------------------------------------------------

/** Elements of `a` where `cond` is true (bool, or non-zero), else of `b` (all broadcast; numbers allowed). */
export const where = (cond: Tensor, a: Operand, b: Operand): Tensor<'float32'> => (op('where', cond, a, b) as Tensor<'float32'>);
/** `value` where `mask` is true (bool, or non-zero), else `x`'s elements (PyTorch's `masked_fill`). */
export const maskedFill = method((x: Tensor, mask: Tensor, value: number): Tensor<'float32'> => {
  expectTensor('maskedFill', x);
  return tidy(() => (op('where', mask, value, x) as Tensor<'float32'>));
});
/** The slices of `x` along `dim` at int32 `index` (PyTorch's `index_select`); repeats allowed. */
export const indexSelect = method((x: Tensor, dim: number, index: Tensor): Tensor<'float32'> => (op('indexSelect', x, dim, index) as Tensor<'float32'>));
/**
 * Values picked along `dim` by int32 `index` (PyTorch's `gather`): for dim 1,
 * `out[i][j] = x[i][index[i][j]]`. `index` has `x`'s rank, is no larger in the other
 * dims, and its values lie in `[0, size(dim))` (negative ones are rejected, as in
 * PyTorch). The result has the index's shape.
 */
export const gather = method((x: Tensor, dim: number, index: Tensor): Tensor<'float32'> => (op('gather', x, dim, index) as Tensor<'float32'>));
/**
 * A copy of `x` with `src` (or the number `src` everywhere) written at int32 `index` along
 * `dim` (PyTorch's `scatter`): for dim 0, `out[index[i][j]][j] = src[i][j]`. `index` is no
 * larger than `src` in any dim, nor than `x` outside `dim`. With repeated indices the last
 * write (in the index's row-major order) wins, and only that element of `src` gets a
 * gradient; PyTorch leaves this case unspecified.
 */
export const scatter = method((x: Tensor, dim: number, index: Tensor, src: Operand): Tensor<'float32'> =>
  (op('scatter', x, dim, index, src) as Tensor<'float32'>),
);
/** Like {@link scatter}, but adds `src` at the indexed positions; repeated indices accumulate (PyTorch's `scatter_add`). */
export const scatterAdd = method((x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor<'float32'> => (op('scatterAdd', x, dim, index, src) as Tensor<'float32'>));

// ---- reductions ------------------------------------------------------------------------------

/** Sum over all elements, or over `dim` (a dim or several), keeping reduced dims if `keepdim`. */
export const sum = method((x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor<'float32'> => (op('sum', x, dim, keepdim) as Tensor<'float32'>));
/** Mean over all elements, or over `dim`, keeping reduced dims if `keepdim`. */
export const mean = method((x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor<'float32'> => (op('mean', x, dim, keepdim) as Tensor<'float32'>));
/**
 * Product over all elements, or over `dim`, keeping it as size 1 if `keepdim` (an empty
 * product is 1). The gradient is exact where inputs are zero.
 */
export const prod = method((x: Tensor, dim?: number, keepdim = false): Tensor<'float32'> => (op('prod', x, dim, keepdim) as Tensor<'float32'>));
/** Running sums along `dim` (PyTorch's `cumsum`), accumulated in float64. */
export const cumsum = method((x: Tensor, dim: number): Tensor<'float32'> => (op('cumsum', x, dim) as Tensor<'float32'>));
/** `log(cumsum(exp(x)))` along `dim`, computed stably (PyTorch's `logcumsumexp`). */
export const logcumsumexp = method((x: Tensor, dim: number): Tensor<'float32'> => (op('logcumsumexp', x, dim) as Tensor<'float32'>));
/** Whether any element (over all, or along `dim`) is true (non-zero), as bool; false when empty. */
export const any = method((x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor<'bool'> => (op('any', x, dim, keepdim) as Tensor<'bool'>));
/** Whether every element (over all, or along `dim`) is true (non-zero), as bool; true when empty. */
export const all = method((x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor<'bool'> => (op('all', x, dim, keepdim) as Tensor<'bool'>));
/** Largest value over all elements or over `dim` (ties share the gradient; NaN propagates). */
export const amax = method((x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor<'float32'> => (op('amax', x, dim, keepdim) as Tensor<'float32'>));
/** Smallest value over all elements or over `dim`. */
export const amin = method((x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor<'float32'> => (op('amin', x, dim, keepdim) as Tensor<'float32'>));
/** Index (int32) of the first maximum over the flattened tensor, or along `dim`. */
export const argmax = method((x: Tensor, dim?: number, keepdim = false): Tensor<'int32'> => (op('argmax', x, dim, keepdim) as Tensor<'int32'>));
/** Index (int32) of the first minimum over the flattened tensor, or along `dim`. */
export const argmin = method((x: Tensor, dim?: number, keepdim = false): Tensor<'int32'> => (op('argmin', x, dim, keepdim) as Tensor<'int32'>));
/**
 * `log(Σ exp(x))` over all elements or `dim`, in one core op, computed stably (the max is
 * factored out); −inf for an empty reduction; the gradient is the softmax over `dim`.
 */
export const logsumexp = method((x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor<'float32'> => (op('logsumexp', x, dim, keepdim) as Tensor<'float32'>));

/** The maximum of all elements, or `{ values, indices }` along `dim` (`torch.max`). */
export function max(x: Tensor): Tensor<'float32'>;
export function max(x: Tensor, dim: number, keepdim?: boolean): { values: Tensor<'float32'>; indices: Tensor<'int32'> };
export function max(x: Tensor, dim?: number, keepdim = false) { return dim === undefined ? x.max() : x.max(dim, keepdim); }
/** The minimum of all elements, or `{ values, indices }` along `dim` (`torch.min`). */
export function min(x: Tensor): Tensor<'float32'>;
export function min(x: Tensor, dim: number, keepdim?: boolean): { values: Tensor<'float32'>; indices: Tensor<'int32'> };
export function min(x: Tensor, dim?: number, keepdim = false) { return dim === undefined ? x.min() : x.min(dim, keepdim); }

/** var/std's correction from `unbiased` (true: 1, false: 0) or a number (the correction itself). */
function correctionOf(op: string, unbiased: boolean | number): number {
  if (typeof unbiased === 'boolean') return unbiased ? 1 : 0;
  if (typeof unbiased === 'number' && Number.isFinite(unbiased)) return unbiased;
  throw new ArgumentError(`${op}: unbiased must be a boolean or a finite correction, got ${String(unbiased)}`);
}
/**
 * Variance over all elements or `dim`, in one core op. `unbiased` divides by n − 1
 * (PyTorch's default), `false` by n; a number is PyTorch's `correction` (divides by
 * n − correction). Where n − correction ≤ 0 it divides by 0 (NaN for one element or an
 * empty dim), as PyTorch. The function form of `x.var()` (`var` is reserved in JS).
 */
export const variance = (x: Tensor, dim?: number | readonly number[], unbiased: boolean | number = true, keepdim = false): Tensor<'float32'> =>
  (op('var', expectTensor('variance', x), dim, correctionOf('var', unbiased), keepdim) as Tensor<'float32'>);
/** Standard deviation, `sqrt(var(…))` in one core op; its gradient is 0 where it is 0 (a constant), as in PyTorch. */
export const std = method((x: Tensor, dim?: number | readonly number[], unbiased: boolean | number = true, keepdim = false): Tensor<'float32'> =>
  (op('std', expectTensor('std', x), dim, correctionOf('std', unbiased), keepdim) as Tensor<'float32'>),
);

/** `sqrt(v)` with gradient 0 where `v` is 0 (std's and norm's rule in PyTorch) instead of ∞·0 = NaN. */
function sqrtZeroGradAtZero(v: Tensor): Tensor<'float32'> {
  return tidy(() => {
    const zero = v.eq(0);
    return (op('where', zero, 0, op('where', zero, 1, v).sqrt()) as Tensor<'float32'>);
  });
}
/** The p-norm (p = 1, 2 or Infinity) over all elements or `dim`. */
export const norm = method((x: Tensor, p: 1 | 2 | number = 2, dim?: number | readonly number[], keepdim = false): Tensor<'float32'> => {
  expectTensor('norm', x);
  // At 0 (also when the squares underflow) the gradient is 0, as PyTorch's, not ∞·0 = NaN.
  if (p === 2) return tidy(() => sqrtZeroGradAtZero(x.square().sum(dim, keepdim)));
  if (p === 1) return tidy(() => x.abs().sum(dim, keepdim));
  if (p === Infinity) return tidy(() => x.abs().amax(dim, keepdim));
  throw new ArgumentError(`norm: p must be 1, 2 or Infinity, got ${p}`);
});

// ---- shape and movement (views where possible) -----------------------------------------------

/** `x` with a new shape; one dim may be -1 (inferred). A view when contiguous. */
export const reshape = <D extends DType>(x: Tensor<D>, shape: readonly number[]): Tensor<D> => (expectTensor('reshape', x) as Tensor<D>).reshape(shape);
/** `x` as one dimension. */
export const flatten = keepsDType(<D extends DType>(x: Tensor<D>): Tensor<D> => (expectTensor('flatten', x) as Tensor<D>).reshape(-1));
/** `x` with dim `dim` split into `sizes` (one may be -1). */
export const unflatten = keepsDType(<D extends DType>(x: Tensor<D>, dim: number, sizes: readonly number[]): Tensor<D> => {
  const shape = [...expectTensor('unflatten', x).shape];
  shape.splice(normDim('unflatten', dim, shape.length), 1, ...sizes);
  return x.reshape(shape);
});
/** `x` with its dims reordered (`x.permute(2, 0, 1)`). A view. */
export const permute = <D extends DType>(x: Tensor<D>, order: readonly number[]): Tensor<D> => (expectTensor('permute', x) as Tensor<D>).permute(order);
/** `x` with size-1 dims broadcast to `shape` (-1 keeps a dim). A view; no data is copied. */
export const expand = <D extends DType>(x: Tensor<D>, shape: readonly number[]): Tensor<D> => (expectTensor('expand', x) as Tensor<D>).expand(shape);
/** `x` broadcast to `shape` (PyTorch's `broadcast_to`); a view. */
export const broadcastTo = <D extends DType>(x: Tensor<D>, shape: readonly number[]): Tensor<D> => (expectTensor('broadcastTo', x) as Tensor<D>).broadcastTo(shape);
/** `x` with two dims swapped. A view. */
export const transpose = keepsDType(<D extends DType>(x: Tensor<D>, dim0: number, dim1: number): Tensor<D> => {
  const n = expectTensor('transpose', x).ndim;
  // A 0-d tensor takes dims 0 and -1, as if it had one dim (PyTorch's wrapping rule).
  const [a, b] = [normDim('transpose', dim0, Math.max(n, 1)), normDim('transpose', dim1, Math.max(n, 1))];
  if (n === 0) return x.reshape([]);
  const order = Array.from({ length: n }, (_, i) => i);
  [order[a], order[b]] = [order[b]!, order[a]!];
  return x.permute(order);
});
/** Transpose of a matrix (tensors of rank < 2 are returned as a view unchanged). */
export const t = keepsDType(<D extends DType>(x: Tensor<D>): Tensor<D> => {
  const n = expectTensor('t', x).ndim;
  if (n > 2) throw new ShapeError(`t: expects a tensor with <= 2 dims, got shape [${x.shape.join(', ')}]`);
  return n < 2 ? x.reshape(x.shape) : x.transpose(0, 1);
});
/** `x` without size-1 dims (all, or only `dim`). */
export const squeeze = keepsDType(<D extends DType>(x: Tensor<D>, dim?: number): Tensor<D> => {
  const shape = expectTensor('squeeze', x).shape;
  if (dim === undefined) return x.reshape(shape.filter((d) => d !== 1));
  const d = normDim('squeeze', dim, Math.max(shape.length, 1));
  return x.reshape(shape.filter((s, i) => i !== d || s !== 1));
});
/** `x` with a size-1 dim inserted at `dim`. */
export const unsqueeze = keepsDType(<D extends DType>(x: Tensor<D>, dim: number): Tensor<D> => {
  const shape = [...expectTensor('unsqueeze', x).shape];
  shape.splice(normDim('unsqueeze', dim, shape.length + 1), 0, 1);
  return x.reshape(shape);
});
/** A copy of `x` with the order of elements reversed along each of `dims` (PyTorch's `flip`). */
export const flip = <D extends DType>(x: Tensor<D>, dims: readonly number[]): Tensor<D> => (expectTensor('flip', x) as Tensor<D>).flip(dims);
/**
 * Elements `start, start+step, …` below `end` along `dim` (Python's `x[start:end:step]`;
 * negative indices count from the end, bounds are clamped). A view.
 */
export const slice = keepsDType(<D extends DType>(x: Tensor<D>, dim: number, start = 0, end = Number.MAX_SAFE_INTEGER, step = 1): Tensor<D> => {
  // Bounds beyond the size mean "to the end", as in Python; keep them exact integers.
  const bound = (v: number) => Math.max(-Number.MAX_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, v));
  return op('slice', x, dim, bound(start), bound(end), step) as Tensor<D>;
});
/** `length` elements of `x` from `start` along `dim`. A view. */
export const narrow = keepsDType(<D extends DType>(x: Tensor<D>, dim: number, start: number, length: number): Tensor<D> => {
  const n = expectTensor('narrow', x).shape[normDim('narrow', dim, x.ndim)]!;
  const s = start < 0 ? start + n : start;
  if (!Number.isInteger(length) || length < 0 || s < 0 || s + length > n) {
    throw new ArgumentError(`narrow: start ${start} and length ${length} exceed dimension ${dim} of size ${n}`);
  }
  return x.slice(dim, s, s + length);
});
/** Splits `x` into pieces of `size` along `dim` (the last may be smaller), or of the given sizes. Views. */
export const split = keepsDType(<D extends DType>(x: Tensor<D>, size: number | readonly number[], dim = 0): Tensor<D>[] => {
  const n = expectTensor('split', x).shape[normDim('split', dim, x.ndim)]!;
  const sizes = typeof size === 'number' ? splitSizes(n, size) : [...size];
  if (sizes.reduce((a, b) => a + b, 0) !== n || sizes.some((v) => !Number.isInteger(v) || v < 0)) {
    throw new ArgumentError(`split: sizes [${sizes.join(', ')}] do not add up to dimension ${dim} of size ${n}`);
  }
  let start = 0;
  return sizes.map((len) => x.slice(dim, start, (start += len)));
});
/** Splits `x` into `chunks` nearly equal pieces along `dim` (PyTorch's `chunk`). Views. */
export const chunk = keepsDType(<D extends DType>(x: Tensor<D>, chunks: number, dim = 0): Tensor<D>[] => {
  (expectTensor('chunk', x) as Tensor<D>);
  if (!Number.isInteger(chunks) || chunks < 1) throw new ArgumentError(`chunk: expected a positive number of chunks, got ${chunks}`);
  const n = x.shape[normDim('chunk', dim, x.ndim)]!;
  return x.split(Math.max(1, Math.ceil(n / chunks)), dim);
});
/** `x` tiled `repeats[i]` times along each dim (`torch.Tensor.repeat`). */
export const repeat = <D extends DType>(x: Tensor<D>, repeats: readonly number[]): Tensor<D> => (expectTensor('repeat', x) as Tensor<D>).repeat(repeats);
/** `x` tiled, missing leading counts 1 (`torch.tile`). */
export const tile = <D extends DType>(x: Tensor<D>, repeats: readonly number[]): Tensor<D> => (expectTensor('tile', x) as Tensor<D>).tile(repeats);
/** The lower triangle of the last two dims (elements with `col − row ≤ diagonal`); the rest 0. */
export const tril = keepsDType(<D extends DType>(x: Tensor<D>, diagonal = 0): Tensor<D> => op('tril', x, diagonal) as Tensor<D>);
/** The upper triangle of the last two dims (elements with `col − row ≥ diagonal`); the rest 0. */
export const triu = keepsDType(<D extends DType>(x: Tensor<D>, diagonal = 0): Tensor<D> => op('triu', x, diagonal) as Tensor<D>);
/**
 * Concatenates tensors along an existing dim (`torch.cat`). Tensors of one dtype give that
 * dtype; mixed dtypes are converted to float32 (typed as the union, see {@link JoinedDType}).
 */
export const cat = <D extends DType>(tensors: readonly Tensor<D>[], dim = 0): Tensor<JoinedDType<D>> =>
  op('cat', tensors, dim) as Tensor<JoinedDType<D>>;

markOpsEvaluated();

/**
 * Function forms of the tensor ops (`add(a, b)` ≡ `a.add(b)`); numbers are accepted on
 * either side of binary ops (`sub(1, x)`).
 * @module
 */
import { binaryOp, catOp, unaryOp, whereOp } from './dispatch.js';
import { ShapeError } from './errors.js';
import { tidy } from './scope.js';
import type { Operand, Tensor } from './tensor.js';

/** `a + b`, broadcasting. */
export const add = (a: Operand, b: Operand): Tensor => binaryOp('add', a, b);
/** `a - b`, broadcasting. */
export const sub = (a: Operand, b: Operand): Tensor => binaryOp('sub', a, b);
/** `a * b`, broadcasting. */
export const mul = (a: Operand, b: Operand): Tensor => binaryOp('mul', a, b);
/** `a / b`, broadcasting. */
export const div = (a: Operand, b: Operand): Tensor => binaryOp('div', a, b);
/** `a ** b`, broadcasting. */
export const pow = (a: Operand, b: Operand): Tensor => binaryOp('pow', a, b);
/** Batched matrix product of two 3-D tensors (`torch.bmm`). */
export function bmm(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== 3 || b.ndim !== 3) {
    throw new ShapeError(`bmm: expects two 3-D tensors, got shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}]`);
  }
  return binaryOp('matmul', a, b);
}
/** Dot product of two 1-D tensors (0-d result). */
export function dot(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== 1 || b.ndim !== 1) {
    throw new ShapeError(`dot: expects two 1-D tensors, got shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}]`);
  }
  return binaryOp('matmul', a, b);
}
/** Outer product of two 1-D tensors: `[n] × [m] → [n, m]`. */
export function outer(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== 1 || b.ndim !== 1) {
    throw new ShapeError(`outer: expects two 1-D tensors, got shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}]`);
  }
  return tidy(() => a.unsqueeze(1).mul(b.unsqueeze(0)));
}
/** Elementwise maximum, broadcasting. */
export const maximum = (a: Operand, b: Operand): Tensor => binaryOp('maximum', a, b);
/** Elementwise minimum, broadcasting. */
export const minimum = (a: Operand, b: Operand): Tensor => binaryOp('minimum', a, b);
/** `x` limited to `[min, max]` (either bound may be null). */
export const clamp = (x: Tensor, min: Operand | null, max: Operand | null = null): Tensor => x.clamp(min, max);
/** Alias of {@link clamp}. */
export const clip = clamp;
/** Matrix product with PyTorch's `matmul` rules. */
export const matmul = (a: Tensor, b: Tensor): Tensor => binaryOp('matmul', a, b);

/** `-x`. */
export const neg = (x: Tensor): Tensor => unaryOp('neg', x);
/** `e ** x`. */
export const exp = (x: Tensor): Tensor => unaryOp('exp', x);
/** Natural logarithm. */
export const log = (x: Tensor): Tensor => unaryOp('log', x);
/** Square root. */
export const sqrt = (x: Tensor): Tensor => unaryOp('sqrt', x);
/** Absolute value. */
export const abs = (x: Tensor): Tensor => unaryOp('abs', x);
/** `max(x, 0)`. */
export const relu = (x: Tensor): Tensor => unaryOp('relu', x);
/** Logistic sigmoid. */
export const sigmoid = (x: Tensor): Tensor => unaryOp('sigmoid', x);
/** Hyperbolic tangent. */
export const tanh = (x: Tensor): Tensor => unaryOp('tanh', x);
/** `log(1 + x)`. */
export const log1p = (x: Tensor): Tensor => unaryOp('log1p', x);
/** `exp(x) − 1`. */
export const expm1 = (x: Tensor): Tensor => unaryOp('expm1', x);
/** `1 / sqrt(x)`. */
export const rsqrt = (x: Tensor): Tensor => unaryOp('rsqrt', x);
/** −1, 0 or 1 by the sign of x. */
export const sign = (x: Tensor): Tensor => unaryOp('sign', x);
/** `1 / x`. */
export const reciprocal = (x: Tensor): Tensor => unaryOp('reciprocal', x);
/** `x²`. */
export const square = (x: Tensor): Tensor => unaryOp('square', x);
/** Sine. */
export const sin = (x: Tensor): Tensor => unaryOp('sin', x);
/** Cosine. */
export const cos = (x: Tensor): Tensor => unaryOp('cos', x);
/** Tangent. */
export const tan = (x: Tensor): Tensor => unaryOp('tan', x);
/** Leaky ReLU with `negativeSlope` (default 0.01). */
export const leakyRelu = (x: Tensor, negativeSlope = 0.01): Tensor => x.leakyRelu(negativeSlope);
/** ELU with `alpha` (default 1). */
export const elu = (x: Tensor, alpha = 1): Tensor => x.elu(alpha);
/** SiLU (swish), `x·sigmoid(x)`. */
export const silu = (x: Tensor): Tensor => unaryOp('silu', x);
/** `log(1 + eˣ)`. */
export const softplus = (x: Tensor): Tensor => unaryOp('softplus', x);
/** Rounds down. */
export const floor = (x: Tensor): Tensor => unaryOp('floor', x);
/** Rounds up. */
export const ceil = (x: Tensor): Tensor => unaryOp('ceil', x);
/** Rounds half to even. */
export const round = (x: Tensor): Tensor => unaryOp('round', x);
/** GELU, `x·Φ(x)` (or its tanh approximation). */
export const gelu = (x: Tensor, options: { approximate?: 'none' | 'tanh' } = {}): Tensor => x.gelu(options);

/** Sum over all elements or over `dim`. */
export const sum = (x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor => x.sum(dim, keepdim);
/** Largest value over all elements or over `dim`. */
export const amax = (x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor => x.amax(dim, keepdim);
/** Smallest value over all elements or over `dim`. */
export const amin = (x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor => x.amin(dim, keepdim);
/** Index (int32) of the first maximum, flattened or along `dim`. */
export const argmax = (x: Tensor, dim?: number, keepdim = false): Tensor => x.argmax(dim, keepdim);
/** Index (int32) of the first minimum, flattened or along `dim`. */
export const argmin = (x: Tensor, dim?: number, keepdim = false): Tensor => x.argmin(dim, keepdim);
/** Variance (unbiased by default). */
export const variance = (x: Tensor, dim?: number | readonly number[], unbiased = true, keepdim = false): Tensor => x.var(dim, unbiased, keepdim);
/** Standard deviation (unbiased by default). */
export const std = (x: Tensor, dim?: number | readonly number[], unbiased = true, keepdim = false): Tensor => x.std(dim, unbiased, keepdim);
/** `log(Σ exp(x))` over `dim`, stably. */
export const logsumexp = (x: Tensor, dim: number | readonly number[], keepdim = false): Tensor => x.logsumexp(dim, keepdim);
/** The p-norm (1, 2 or Infinity). */
export const norm = (x: Tensor, p: number = 2, dim?: number | readonly number[], keepdim = false): Tensor => x.norm(p, dim, keepdim);
/** Product over all elements or over `dim` (exact gradients at zeros). */
export const prod = (x: Tensor, dim?: number, keepdim = false): Tensor => x.prod(dim, keepdim);
/** Running sums of `x` along `dim`. */
export const cumsum = (x: Tensor, dim: number): Tensor => x.cumsum(dim);
/** Mean over all elements or over `dim`. */
export const mean = (x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor => x.mean(dim, keepdim);

/** `x` with a new shape (one dim may be -1). */
export const reshape = (x: Tensor, shape: readonly number[]): Tensor => x.reshape(shape);
/** `x` with its dims reordered. */
export const permute = (x: Tensor, order: readonly number[]): Tensor => x.permute(order);
/** `x` with two dims swapped. */
export const transpose = (x: Tensor, dim0: number, dim1: number): Tensor => x.transpose(dim0, dim1);
/** Matrix transpose. */
export const t = (x: Tensor): Tensor => x.t();
/** `x` without size-1 dims (all, or only `dim`). */
export const squeeze = (x: Tensor, dim?: number): Tensor => x.squeeze(dim);
/** `x` with a size-1 dim inserted at `dim`. */
export const unsqueeze = (x: Tensor, dim: number): Tensor => x.unsqueeze(dim);
/** A copy of `x` reversed along each of `dims`. */
export const flip = (x: Tensor, dims: readonly number[]): Tensor => x.flip(dims);
/** `x` broadcast to `shape` (a view). */
export const expand = (x: Tensor, shape: readonly number[]): Tensor => x.expand(shape);

/** Concatenates tensors along an existing dim (`torch.cat`). */
export const cat = (tensors: readonly Tensor[], dim = 0): Tensor => catOp(tensors, dim);
/** Stacks same-shaped tensors along a new dim (`torch.stack`). */
export const stack = (tensors: readonly Tensor[], dim = 0): Tensor =>
  tidy(() => {
    const rank = (tensors[0]?.ndim ?? 0) + 1;
    const d = dim < 0 ? dim + rank : dim;
    return catOp(tensors.map((t) => t.unsqueeze(d)), d);
  });
/** Elements along `dim` from `start` to `end` by `step` (a view). */
export const slice = (x: Tensor, dim: number, start?: number, end?: number, step?: number): Tensor => x.slice(dim, start, end, step);
/** `length` elements of `x` from `start` along `dim` (a view). */
export const narrow = (x: Tensor, dim: number, start: number, length: number): Tensor => x.narrow(dim, start, length);
/** Splits `x` into pieces of `size` (or the given sizes) along `dim`. */
export const split = (x: Tensor, size: number | readonly number[], dim = 0): Tensor[] => x.split(size, dim);
/** Splits `x` into `chunks` nearly equal pieces along `dim`. */
export const chunk = (x: Tensor, chunks: number, dim = 0): Tensor[] => x.chunk(chunks, dim);
/** `x` tiled `repeats` times per dim (`torch.Tensor.repeat`). */
export const repeat = (x: Tensor, repeats: readonly number[]): Tensor => x.repeat(repeats);
/** `x` tiled, missing leading counts 1 (`torch.tile`). */
export const tile = (x: Tensor, repeats: readonly number[]): Tensor => x.tile(repeats);
/** Lower triangle of the last two dims. */
export const tril = (x: Tensor, diagonal = 0): Tensor => x.tril(diagonal);
/** Upper triangle of the last two dims. */
export const triu = (x: Tensor, diagonal = 0): Tensor => x.triu(diagonal);
/** `x` broadcast to `shape` (a view). */
export const broadcastTo = (x: Tensor, shape: readonly number[]): Tensor => x.broadcastTo(shape);
/** Elements of `a` where `cond` is true (bool, or non-zero), else of `b` (all broadcast; numbers allowed). */
export const where = (cond: Tensor, a: Operand, b: Operand): Tensor => whereOp(cond, a, b);
/** `value` where `mask` is true (bool, or non-zero), else `x`. */
export const maskedFill = (x: Tensor, mask: Tensor, value: number): Tensor => x.maskedFill(mask, value);
/** `a == b` as bool. */
export const eq = (a: Operand, b: Operand): Tensor => binaryOp('eq', a, b);
/** `a != b` as bool. */
export const ne = (a: Operand, b: Operand): Tensor => binaryOp('ne', a, b);
/** `a < b` as bool. */
export const lt = (a: Operand, b: Operand): Tensor => binaryOp('lt', a, b);
/** `a <= b` as bool. */
export const le = (a: Operand, b: Operand): Tensor => binaryOp('le', a, b);
/** `a > b` as bool. */
export const gt = (a: Operand, b: Operand): Tensor => binaryOp('gt', a, b);
/** `a >= b` as bool. */
export const ge = (a: Operand, b: Operand): Tensor => binaryOp('ge', a, b);
/** NOT of the truth values of `x` (non-zero and NaN are true), as bool. */
export const logicalNot = (x: Tensor): Tensor => unaryOp('logicalNot', x);
/** AND of the truth values of `a` and `b`, as bool, broadcasting. */
export const logicalAnd = (a: Operand, b: Operand): Tensor => binaryOp('logicalAnd', a, b);
/** OR of the truth values of `a` and `b`, as bool, broadcasting. */
export const logicalOr = (a: Operand, b: Operand): Tensor => binaryOp('logicalOr', a, b);
/** XOR of the truth values of `a` and `b`, as bool, broadcasting. */
export const logicalXor = (a: Operand, b: Operand): Tensor => binaryOp('logicalXor', a, b);
/** Whether any element of `x` (over all, or along `dim`) is true, as bool. */
export const any = (x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor => x.any(dim, keepdim);
/** Whether every element of `x` (over all, or along `dim`) is true, as bool. */
export const all = (x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor => x.all(dim, keepdim);
/** Slices of `x` along `dim` at int32 `index`. */
export const indexSelect = (x: Tensor, dim: number, index: Tensor): Tensor => x.indexSelect(dim, index);
/** Values of `x` picked along `dim` by int32 `index` (`torch.gather`). */
export const gather = (x: Tensor, dim: number, index: Tensor): Tensor => x.gather(dim, index);
/** A copy of `x` with `src` (a tensor or a number) written at int32 `index` along `dim`; the last repeated index wins. */
export const scatter = (x: Tensor, dim: number, index: Tensor, src: Operand): Tensor => x.scatter(dim, index, src);
/** A copy of `x` with `src` added at int32 `index` along `dim`; repeats accumulate. */
export const scatterAdd = (x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor => x.scatterAdd(dim, index, src);

/**
 * Function forms of the tensor ops (`add(a, b)` ≡ `a.add(b)`); numbers are accepted on
 * either side of binary ops (`sub(1, x)`).
 * @module
 */
import { binaryOp, Tensor, unaryOp, type Operand } from './tensor.js';

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
/** `x` broadcast to `shape` (a view). */
export const expand = (x: Tensor, shape: readonly number[]): Tensor => x.expand(shape);

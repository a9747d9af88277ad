/**
 * Functions with no `Tensor` method of their own, composed from table ops (the ops that
 * are methods too live in ops.ts).
 * @module
 */
import { op } from './dispatch.js';
import { ShapeError } from './errors.js';
import { tidy } from './scope.js';
import type { JoinedDType } from './ops.js';
import type { DType, Tensor } from './tensor.js';

/** Batched matrix product of two 3-D tensors (`torch.bmm`). */
export function bmm(a: Tensor, b: Tensor): Tensor<'float32'> {
  if (a.ndim !== 3 || b.ndim !== 3) {
    throw new ShapeError(`bmm: expects two 3-D tensors, got shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}]`);
  }
  return op('matmul', a, b) as Tensor<'float32'>;
}
/** Dot product of two 1-D tensors (0-d result). */
export function dot(a: Tensor, b: Tensor): Tensor<'float32'> {
  if (a.ndim !== 1 || b.ndim !== 1) {
    throw new ShapeError(`dot: expects two 1-D tensors, got shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}]`);
  }
  return op('matmul', a, b) as Tensor<'float32'>;
}
/** Outer product of two 1-D tensors: `[n] × [m] → [n, m]`. */
export function outer(a: Tensor, b: Tensor): Tensor<'float32'> {
  if (a.ndim !== 1 || b.ndim !== 1) {
    throw new ShapeError(`outer: expects two 1-D tensors, got shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}]`);
  }
  return tidy(() => a.unsqueeze(1).mul(b.unsqueeze(0)));
}
/**
 * Stacks same-shaped tensors along a new dim (`torch.stack`). Tensors of one dtype give
 * that dtype; mixed dtypes are converted to float32 (typed as the union, see `JoinedDType`).
 */
export const stack = <D extends DType>(tensors: readonly Tensor<D>[], dim = 0): Tensor<JoinedDType<D>> =>
  tidy(() => {
    const rank = (tensors[0]?.ndim ?? 0) + 1;
    const d = dim < 0 ? dim + rank : dim;
    return op('cat', tensors.map((t) => t.unsqueeze(d)), d) as Tensor<JoinedDType<D>>;
  });

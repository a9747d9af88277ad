/**
 * Gradient clipping (PyTorch's `torch.nn.utils.clip_grad_norm_` and `clip_grad_value_`).
 * @module
 */
import { noGrad } from '../autograd.js';
import { ArgumentError } from '../errors.js';
import { tidy } from '../scope.js';
import { Tensor } from '../tensor.js';

const gradsOf = (name: string, params: Iterable<Tensor> | Tensor): Tensor<'float32'>[] => {
  const list = params instanceof Tensor ? [params] : [...params];
  for (const p of list) if (!(p instanceof Tensor)) throw new ArgumentError(`${name}: expected tensors, got ${String(p)}`);
  return list.map((p) => p.grad).filter((g): g is Tensor<'float32'> => g !== null);
};

/**
 * Scales the gradients of `params` in place so that their total `normType`-norm (over all
 * gradients together, as one vector) is at most `maxNorm`, and returns that total norm
 * before clipping, as a number. `normType` is any positive number or `Infinity` (default 2).
 * Parameters without a gradient are skipped. With `errorIfNonfinite`, a NaN or infinite
 * total norm throws `ArgumentError` instead.
 */
export function clipGradNorm_(params: Iterable<Tensor> | Tensor, maxNorm: number, normType = 2, options: { errorIfNonfinite?: boolean } = {}): number {
  if (!(normType > 0)) throw new ArgumentError(`clipGradNorm_: normType must be positive or Infinity, got ${normType}`);
  if (typeof maxNorm !== 'number' || Number.isNaN(maxNorm)) throw new ArgumentError(`clipGradNorm_: maxNorm must be a number, got ${String(maxNorm)}`);
  const grads = gradsOf('clipGradNorm_', params);
  if (grads.length === 0) return 0;
  const total = tidy(() =>
    noGrad(() => {
      if (normType === Infinity) return Math.max(...grads.map((g) => (g.size === 0 ? 0 : Number(g.abs().amax().item()))));
      const sum = grads.map((g) => Number((normType === 2 ? g.square() : g.abs().pow(normType)).sum().item())).reduce((a, b) => a + b, 0);
      return sum ** (1 / normType);
    }),
  );
  if (options.errorIfNonfinite && !Number.isFinite(total)) {
    throw new ArgumentError(`clipGradNorm_: the total norm of order ${normType} for gradients is non-finite (${total}), so it cannot be clipped`);
  }
  const coef = maxNorm / (total + 1e-6);
  if (coef < 1) noGrad(() => grads.forEach((g) => g.mul_(coef)));
  return total;
}

/** Clamps every gradient of `params` to [−clipValue, clipValue] in place. */
export function clipGradValue_(params: Iterable<Tensor> | Tensor, clipValue: number): void {
  if (!(clipValue >= 0)) throw new ArgumentError(`clipGradValue_: clipValue must be a non-negative number, got ${clipValue}`);
  for (const g of gradsOf('clipGradValue_', params)) noGrad(() => tidy(() => void g.copy_(g.clamp(-clipValue, clipValue))));
}

/**
 * Neural-network functional ops (PyTorch's `torch.nn.functional`), with fused kernels.
 * @module
 */
import { ArgumentError } from './errors.js';
import { nnOp, type Tensor } from './tensor.js';

/** How per-element losses are combined. */
export type Reduction = 'none' | 'mean' | 'sum';
const REDUCTIONS: readonly Reduction[] = ['none', 'mean', 'sum'];

function reductionCode(op: string, r: Reduction | undefined): number {
  const code = REDUCTIONS.indexOf(r ?? 'mean');
  if (code < 0) throw new ArgumentError(`${op}: reduction must be one of ${REDUCTIONS.join(', ')}, got ${String(r)}`);
  return code;
}

/** Softmax along `dim`: `exp(x) / Σ exp(x)`, computed stably. */
export const softmax = (x: Tensor, dim: number): Tensor => x.softmax(dim);

/** `log(softmax(x, dim))` in one stable pass; pair with negative log-likelihood losses. */
export const logSoftmax = (x: Tensor, dim: number): Tensor => x.logSoftmax(dim);

/** Options of {@link crossEntropy}, as in PyTorch. */
export interface CrossEntropyOptions {
  /** `'mean'` (default) over non-ignored elements, `'sum'`, or `'none'` (per element). */
  reduction?: Reduction;
  /** Class-index targets equal to this are skipped (default -100). */
  ignoreIndex?: number;
  /** Mixes the target with the uniform distribution: `(1 − ε)·t + ε/C` (default 0). */
  labelSmoothing?: number;
}

/**
 * Cross-entropy between logits `[N, C, d…]` (or `[C]`) and a target of class indices
 * (int32, `[N, d…]`) or class probabilities (float32, the logits' shape). Softmax, the
 * loss and its gradient are each one fused pass.
 *
 * @example
 * const loss = crossEntropy(model(x), tensor([3, 1, 0], { dtype: 'int32' }));
 */
export function crossEntropy(input: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const ignoreIndex = options.ignoreIndex ?? -100;
  const smoothing = options.labelSmoothing ?? 0;
  return nnOp('crossEntropy', input, target, null, [reductionCode('crossEntropy', options.reduction), ignoreIndex], smoothing);
}

/** An activation {@link linear} can apply in the same pass as its bias. */
export type Activation = 'none' | 'relu';
const ACTIVATIONS: readonly Activation[] = ['none', 'relu'];

/**
 * `x · weightᵀ + bias` (PyTorch's `F.linear`, weight `[out, in]`), optionally followed by
 * an activation fused into the same pass over the output.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null, options: { activation?: Activation } = {}): Tensor {
  const act = ACTIVATIONS.indexOf(options.activation ?? 'none');
  if (act < 0) throw new ArgumentError(`linear: activation must be one of ${ACTIVATIONS.join(', ')}, got ${String(options.activation)}`);
  return nnOp('linear', x, weight, bias ?? null, [act]);
}

/**
 * Losses as modules (PyTorch's `nn.MSELoss`, …): `forward(input, target)` with the
 * reduction and options given to the constructor.
 * @module
 */
import { ArgumentError, ShapeError } from '../errors.js';
import { tidy } from '../scope.js';
import type { DType, Tensor } from '../tensor.js';
import {
  binaryCrossEntropy, crossEntropy, l1Loss, mseLoss, nllLoss, smoothL1Loss, type Reduction,
} from './functional.js';
import { Module } from './module.js';
import { full } from '../creation.js';
import { noGrad } from '../autograd.js';

const REDUCTIONS: readonly string[] = ['none', 'mean', 'sum'];

/** The base of the losses: a `reduction` (`'mean'` by default, `'sum'` or `'none'`). */
export abstract class Loss extends Module {
  readonly reduction: Reduction;
  constructor(options: { reduction?: Reduction } = {}) {
    super();
    const r = options.reduction ?? 'mean';
    if (!REDUCTIONS.includes(r)) throw new ArgumentError(`${new.target.name}: reduction must be one of 'none', 'mean', 'sum', got ${String(r)}`);
    this.reduction = r;
  }
  /**
   * The loss. The built-in losses return `Tensor<'float32'>`; the base declares `Tensor`
   * so that a subclass may return any tensor type.
   */
  abstract forward(input: Tensor, target: Tensor): Tensor;
  /** @internal `'none'`, mean or sum of per-element losses (float32 for float32 `loss`). */
  protected reduce<D extends DType>(loss: Tensor<D>): Tensor<D | 'float32'> {
    return this.reduction === 'none' ? loss : this.reduction === 'mean' ? loss.mean() : loss.sum();
  }
}

/** Mean squared error (PyTorch's `nn.MSELoss`). */
export class MSELoss extends Loss {
  forward(input: Tensor, target: Tensor): Tensor<'float32'> {
    return mseLoss(input, target, { reduction: this.reduction });
  }
}
/** Mean absolute error (PyTorch's `nn.L1Loss`). */
export class L1Loss extends Loss {
  forward(input: Tensor, target: Tensor): Tensor<'float32'> {
    return l1Loss(input, target, { reduction: this.reduction });
  }
}
/** Huber-like loss with threshold `beta` (default 1; PyTorch's `nn.SmoothL1Loss`). */
export class SmoothL1Loss extends Loss {
  readonly beta: number;
  constructor(options: { reduction?: Reduction; beta?: number } = {}) {
    super(options);
    this.beta = options.beta ?? 1;
    if (!(this.beta >= 0)) throw new ArgumentError(`SmoothL1Loss: beta must be >= 0, got ${this.beta}`);
  }
  forward(input: Tensor, target: Tensor): Tensor<'float32'> {
    return smoothL1Loss(input, target, { reduction: this.reduction, beta: this.beta });
  }
}
/**
 * Cross-entropy of logits `[N, C, …]` against int32 class indices or class probabilities
 * (PyTorch's `nn.CrossEntropyLoss`; one fused kernel). Class weights are not supported.
 */
export class CrossEntropyLoss extends Loss {
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;
  constructor(options: { reduction?: Reduction; ignoreIndex?: number; labelSmoothing?: number; weight?: null } = {}) {
    super(options);
    if (options.weight != null) throw new ArgumentError('CrossEntropyLoss: class weights are not supported');
    this.ignoreIndex = options.ignoreIndex ?? -100;
    this.labelSmoothing = options.labelSmoothing ?? 0;
    if (!(this.labelSmoothing >= 0 && this.labelSmoothing <= 1)) throw new ArgumentError(`CrossEntropyLoss: labelSmoothing must be in [0, 1], got ${this.labelSmoothing}`);
  }
  forward(input: Tensor, target: Tensor): Tensor<'float32'> {
    return crossEntropy(input, target, { reduction: this.reduction, ignoreIndex: this.ignoreIndex, labelSmoothing: this.labelSmoothing });
  }
}
/** Negative log-likelihood of log-probabilities `[N, C]` at int32 classes (PyTorch's `nn.NLLLoss`). */
export class NLLLoss extends Loss {
  readonly ignoreIndex: number;
  constructor(options: { reduction?: Reduction; ignoreIndex?: number } = {}) {
    super(options);
    this.ignoreIndex = options.ignoreIndex ?? -100;
  }
  forward(input: Tensor, target: Tensor): Tensor<'float32'> {
    return nllLoss(input, target, { reduction: this.reduction, ignoreIndex: this.ignoreIndex });
  }
}
/** Binary cross-entropy of probabilities in [0, 1] (PyTorch's `nn.BCELoss`). */
export class BCELoss extends Loss {
  forward(input: Tensor, target: Tensor): Tensor<'float32'> {
    return binaryCrossEntropy(input, target, { reduction: this.reduction });
  }
}
/**
 * Binary cross-entropy on logits, computed stably (PyTorch's `nn.BCEWithLogitsLoss`).
 * `posWeight` (broadcast along the last dim, one weight per class) multiplies the positive
 * term: `−[p·t·log σ(x) + (1 − t)·log(1 − σ(x))]`. It is copied into the buffer
 * `pos_weight`, as PyTorch registers it.
 */
export class BCEWithLogitsLoss extends Loss {
  declare posWeight: Tensor | null;
  constructor(options: { reduction?: Reduction; posWeight?: Tensor | null; weight?: null } = {}) {
    super(options);
    if (options.weight != null) throw new ArgumentError('BCEWithLogitsLoss: weight is not supported (posWeight is)');
    const pw = options.posWeight ?? null;
    this.registerBuffer('weight', null);
    this.registerBuffer('pos_weight', pw === null ? null : noGrad(() => full(pw.shape, 0).copy_(pw)));
  }
  forward(input: Tensor, target: Tensor): Tensor<'float32'> {
    const pw = this.posWeight;
    if (input.shape.length !== target.shape.length || input.shape.some((d, i) => d !== target.shape[i])) {
      throw new ShapeError(`BCEWithLogitsLoss: target size [${target.shape.join(', ')}] must be the same as input size [${input.shape.join(', ')}]`);
    }
    return tidy(() => {
      // log(1 + e^−|x|) + relu(−x) = −log σ(x), computed stably.
      const softplusNeg = input.abs().neg().exp().log1p().add(input.neg().relu());
      const loss = pw === null
        ? target.neg().add(1).mul(input).add(softplusNeg)
        : target.neg().add(1).mul(input).add(pw.sub(1).mul(target).add(1).mul(softplusNeg));
      return this.reduce(loss);
    });
  }
}

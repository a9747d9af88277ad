/**
 * Normalisation layers: BatchNorm1d, BatchNorm2d, LayerNorm, GroupNorm, RMSNorm.
 * @module
 */
import { full, ones, zeros } from '../../creation.js';
import { ArgumentError, ShapeError } from '../../errors.js';
import { tidy } from '../../scope.js';
import type { Tensor } from '../../tensor.js';
import { batchNorm, groupNorm, layerNorm } from '../functional.js';
import { Module, Parameter, pyBool, pyFloat, pyTuple } from '../module.js';
import { checkInt, shapeOf } from './util.js';

/** Options of the BatchNorm layers, as PyTorch's. */
export interface BatchNormOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Weight of the new batch in the running statistics (default 0.1); `null`: a cumulative average. */
  momentum?: number | null;
  /** Learnable `weight` (ones) and `bias` (zeros), default true. */
  affine?: boolean;
  /** Keep `running_mean`, `running_var` and `num_batches_tracked` buffers (default true). */
  trackRunningStats?: boolean;
}

/** PyTorch's `_BatchNorm`: batch statistics while training, running statistics in eval mode. */
abstract class BatchNormNd extends Module {
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  weight: Parameter<'float32'> | null;
  bias: Parameter<'float32'> | null;
  declare runningMean: Tensor<'float32'> | null;
  declare runningVar: Tensor<'float32'> | null;
  declare numBatchesTracked: Tensor<'int32'> | null;
  constructor(readonly numFeatures: number, options: BatchNormOptions = {}) {
    super();
    checkInt(new.target.name, 'numFeatures', numFeatures, 1);
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    this.affine = options.affine ?? true;
    this.trackRunningStats = options.trackRunningStats ?? true;
    this.weight = this.affine ? new Parameter(ones([numFeatures])) : null;
    this.bias = this.affine ? new Parameter(zeros([numFeatures])) : null;
    const track = this.trackRunningStats;
    this.registerBuffer('running_mean', track ? zeros([numFeatures]) : null);
    this.registerBuffer('running_var', track ? ones([numFeatures]) : null);
    this.registerBuffer('num_batches_tracked', track ? full([], 0, { dtype: 'int32' }) : null);
  }
  /** Running statistics back to mean 0, variance 1, no batches. */
  resetRunningStats(): void {
    this.runningMean?.fill_(0);
    this.runningVar?.fill_(1);
    this.numBatchesTracked?.fill_(0);
  }
  protected abstract readonly ranks: readonly number[];
  forward(x: Tensor): Tensor<'float32'> {
    const label = `${this.constructor.name}(${this.numFeatures})`;
    if (!this.ranks.includes(x.ndim) || x.shape[1] !== this.numFeatures) {
      throw new ShapeError(`${label}: input of shape ${shapeOf(x)} does not fit num_features=${this.numFeatures} (expected ${this.ranks.map((r) => `${r}-D`).join(' or ')} [N, ${this.numFeatures}, …])`);
    }
    if (this.training && x.size / this.numFeatures <= 1) {
      throw new ArgumentError(`${label}: expected more than 1 value per channel when training, got input of shape ${shapeOf(x)}`);
    }
    let factor = this.momentum ?? 0;
    if (this.training && this.trackRunningStats && this.numBatchesTracked) {
      const n = Number(this.numBatchesTracked.item()) + 1;
      this.numBatchesTracked.fill_(n);
      if (this.momentum === null) factor = 1 / n;
    }
    const useBatch = this.training || this.runningMean === null;
    return batchNorm(x, this.training && !this.trackRunningStats ? null : this.runningMean, this.training && !this.trackRunningStats ? null : this.runningVar, {
      weight: this.weight, bias: this.bias, training: useBatch, momentum: factor, eps: this.eps,
    });
  }
  extraRepr(): string {
    const momentum = this.momentum === null ? 'None' : pyFloat(this.momentum);
    return `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${momentum}, affine=${pyBool(this.affine)}, track_running_stats=${pyBool(this.trackRunningStats)}`;
  }
}

/** Batch normalisation over `[N, C]` or `[N, C, L]` (PyTorch's `nn.BatchNorm1d`). */
export class BatchNorm1d extends BatchNormNd {
  protected readonly ranks = [2, 3];
}
/** Batch normalisation over `[N, C, H, W]` (PyTorch's `nn.BatchNorm2d`). */
export class BatchNorm2d extends BatchNormNd {
  protected readonly ranks = [4];
}

const shapeList = (layer: string, s: number | readonly number[]): number[] => {
  const arr = typeof s === 'number' ? [s] : [...s];
  if (arr.length === 0 || arr.some((d) => !Number.isInteger(d) || d < 0)) throw new ArgumentError(`${layer}: normalizedShape must be non-negative integers, got ${JSON.stringify(s)}`);
  return arr;
};

/** Layer normalisation over the last dims (PyTorch's `nn.LayerNorm`): `weight` ones, `bias` zeros, of `normalizedShape`. */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  weight: Parameter<'float32'> | null;
  bias: Parameter<'float32'> | null;
  constructor(normalizedShape: number | readonly number[], options: { eps?: number; elementwiseAffine?: boolean; bias?: boolean } = {}) {
    super();
    this.normalizedShape = shapeList('LayerNorm', normalizedShape);
    this.eps = options.eps ?? 1e-5;
    this.elementwiseAffine = options.elementwiseAffine ?? true;
    this.weight = this.elementwiseAffine ? new Parameter(ones(this.normalizedShape)) : null;
    this.bias = this.elementwiseAffine && (options.bias ?? true) ? new Parameter(zeros(this.normalizedShape)) : null;
  }
  forward(x: Tensor): Tensor<'float32'> {
    const k = this.normalizedShape.length;
    if (x.ndim < k || x.shape.slice(x.ndim - k).some((d, i) => d !== this.normalizedShape[i])) {
      throw new ShapeError(`LayerNorm(${pyTuple(this.normalizedShape)}): input of shape ${shapeOf(x)} does not end with normalized_shape [${this.normalizedShape.join(", ")}]`);
    }
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }
  extraRepr(): string {
    return `${pyTuple(this.normalizedShape)}, eps=${pyFloat(this.eps)}, elementwise_affine=${pyBool(this.elementwiseAffine)}`;
  }
}

/** Group normalisation (PyTorch's `nn.GroupNorm`): channels in `numGroups` groups; per-channel `weight`/`bias`. */
export class GroupNorm extends Module {
  readonly eps: number;
  readonly affine: boolean;
  weight: Parameter<'float32'> | null;
  bias: Parameter<'float32'> | null;
  constructor(readonly numGroups: number, readonly numChannels: number, options: { eps?: number; affine?: boolean } = {}) {
    super();
    checkInt('GroupNorm', 'numGroups', numGroups, 1);
    checkInt('GroupNorm', 'numChannels', numChannels, 1);
    if (numChannels % numGroups !== 0) throw new ArgumentError(`GroupNorm: num_channels (${numChannels}) must be divisible by num_groups (${numGroups})`);
    this.eps = options.eps ?? 1e-5;
    this.affine = options.affine ?? true;
    this.weight = this.affine ? new Parameter(ones([numChannels])) : null;
    this.bias = this.affine ? new Parameter(zeros([numChannels])) : null;
  }
  forward(x: Tensor): Tensor<'float32'> {
    if (x.ndim < 2 || x.shape[1] !== this.numChannels) {
      throw new ShapeError(`GroupNorm(${this.numGroups}, ${this.numChannels}): input of shape ${shapeOf(x)} does not fit num_channels=${this.numChannels}`);
    }
    return groupNorm(x, this.numGroups, this.weight, this.bias, this.eps);
  }
  extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${pyFloat(this.eps)}, affine=${pyBool(this.affine)}`;
  }
}

/** float32's machine epsilon, RMSNorm's default `eps` (PyTorch's `torch.finfo(torch.float32).eps`). */
export const FLOAT32_EPS = 2 ** -23;

/**
 * Root-mean-square normalisation (PyTorch 2.4's `nn.RMSNorm`):
 * `y = x / √(mean(x²) + eps) · weight` over the last `normalizedShape.length` dims;
 * `eps` null (default) means float32's machine epsilon (2⁻²³ ≈ 1.19e-7); `weight` ones.
 */
export class RMSNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number | null;
  readonly elementwiseAffine: boolean;
  weight: Parameter<'float32'> | null;
  constructor(normalizedShape: number | readonly number[], options: { eps?: number | null; elementwiseAffine?: boolean } = {}) {
    super();
    this.normalizedShape = shapeList('RMSNorm', normalizedShape);
    this.eps = options.eps ?? null;
    this.elementwiseAffine = options.elementwiseAffine ?? true;
    this.weight = this.elementwiseAffine ? new Parameter(ones(this.normalizedShape)) : null;
  }
  forward(x: Tensor): Tensor<'float32'> {
    const k = this.normalizedShape.length;
    if (x.ndim < k || x.shape.slice(x.ndim - k).some((d, i) => d !== this.normalizedShape[i])) {
      throw new ShapeError(`RMSNorm(${pyTuple(this.normalizedShape)}): input of shape ${shapeOf(x)} does not end with normalized_shape [${this.normalizedShape.join(', ')}]`);
    }
    const dims = this.normalizedShape.map((_, i) => x.ndim - k + i);
    return tidy(() => {
      const y = x.mul(x.square().mean(dims, true).add(this.eps ?? FLOAT32_EPS).rsqrt());
      return this.weight ? y.mul(this.weight) : y;
    });
  }
  extraRepr(): string {
    return `${pyTuple(this.normalizedShape)}, eps=${this.eps === null ? 'None' : pyFloat(this.eps)}, elementwise_affine=${pyBool(this.elementwiseAffine)}`;
  }
}

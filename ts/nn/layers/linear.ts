/**
 * Linear, Embedding, Identity, Flatten and Unflatten layers.
 * @module
 */
import { ArgumentError, DTypeError, ShapeError } from '../../errors.js';
import { tidy } from '../../scope.js';
import type { DType, Tensor } from '../../tensor.js';
import { where } from '../../ops.js';
import { embedding, linear, type Activation } from '../functional.js';
import * as init from '../init.js';
import { Module, Parameter, pyBool, pyTuple } from '../module.js';
import { checkInt, empty, shapeOf } from './util.js';

/**
 * `y = x·Wᵀ + b` (PyTorch's `nn.Linear`): `weight` `[outFeatures, inFeatures]` and `bias`
 * `[outFeatures]`, both U(−1/√in, 1/√in) as PyTorch initialises them. Input `[…, in]`.
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Parameter<'float32'>;
  bias: Parameter<'float32'> | null;
  constructor(inFeatures: number, outFeatures: number, options: { bias?: boolean } = {}) {
    super();
    checkInt('Linear', 'inFeatures', inFeatures, 0);
    checkInt('Linear', 'outFeatures', outFeatures, 0);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.weight = new Parameter(empty([outFeatures, inFeatures]));
    this.bias = options.bias ?? true ? new Parameter(empty([outFeatures])) : null;
    this.resetParameters();
  }
  /** PyTorch's default initialisation: kaiming_uniform_(a=√5) for the weight, U(±1/√in) for the bias. */
  resetParameters(): void {
    init.kaimingUniform_(this.weight, Math.sqrt(5));
    if (this.bias) {
      const bound = this.inFeatures > 0 ? 1 / Math.sqrt(this.inFeatures) : 0;
      init.uniform_(this.bias, -bound, bound);
    }
  }
  forward(x: Tensor): Tensor<'float32'> {
    return this.fused(x, 'none');
  }
  /** @internal forward() followed by `activation` in the same fused pass (Sequential uses it for Linear → ReLU). */
  fused(x: Tensor, activation: Activation): Tensor<'float32'> {
    if (x.ndim === 0 || x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new ShapeError(`${this.constructor.name}(${this.inFeatures}, ${this.outFeatures}): input of shape ${shapeOf(x)} does not fit in_features=${this.inFeatures}`);
    }
    return linear(x, this.weight, this.bias, { activation });
  }
  extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${pyBool(this.bias !== null)}`;
  }
}

/** Returns its input (PyTorch's `nn.Identity`); a placeholder in a Sequential. */
export class Identity extends Module {
  /** `x` itself, of any dtype. */
  forward<D extends DType>(x: Tensor<D>): Tensor<D> {
    return x;
  }
}

/** Flattens dims `startDim…endDim` into one (PyTorch's `nn.Flatten`, default 1…−1). */
export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
  }
  /** Keeps the dtype of `x`. */
  forward<D extends DType>(x: Tensor<D>): Tensor<D> {
    const n = x.ndim;
    const norm = (d: number) => (d < 0 ? d + Math.max(n, 1) : d);
    const [s, e] = [norm(this.startDim), norm(this.endDim)];
    if (n === 0) return x.reshape([1]);
    if (s < 0 || s >= n || e < 0 || e >= n || s > e) {
      throw new ArgumentError(`Flatten(start_dim=${this.startDim}, end_dim=${this.endDim}): dims out of range for input of shape ${shapeOf(x)}`);
    }
    const shape = x.shape;
    return x.reshape([...shape.slice(0, s), shape.slice(s, e + 1).reduce((a, b) => a * b, 1), ...shape.slice(e + 1)]);
  }
  extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}

/** Splits dim `dim` into `unflattenedSize` (PyTorch's `nn.Unflatten`). */
export class Unflatten extends Module {
  readonly unflattenedSize: readonly number[];
  constructor(readonly dim: number, unflattenedSize: readonly number[]) {
    super();
    this.unflattenedSize = [...unflattenedSize];
  }
  /** Keeps the dtype of `x`. */
  forward<D extends DType>(x: Tensor<D>): Tensor<D> {
    return x.unflatten(this.dim, this.unflattenedSize);
  }
  extraRepr(): string {
    return `dim=${this.dim}, unflattened_size=${pyTuple(this.unflattenedSize)}`;
  }
}

/**
 * A lookup table (PyTorch's `nn.Embedding`): int32 indices of any shape → rows of
 * `weight` `[numEmbeddings, embeddingDim]`, N(0, 1) initially. The row `paddingIdx` (if
 * given; negative counts from the end) starts at zero and gets no gradient.
 */
export class Embedding extends Module {
  readonly paddingIdx: number | null;
  weight: Parameter<'float32'>;
  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, options: { paddingIdx?: number | null; weight?: Tensor } = {}) {
    super();
    checkInt('Embedding', 'numEmbeddings', numEmbeddings, 0);
    checkInt('Embedding', 'embeddingDim', embeddingDim, 0);
    let pad = options.paddingIdx ?? null;
    if (pad !== null) {
      if (!Number.isInteger(pad) || pad >= numEmbeddings || pad < -numEmbeddings) {
        throw new ArgumentError(`Embedding(${numEmbeddings}, ${embeddingDim}): paddingIdx must be within num_embeddings, got ${pad}`);
      }
      if (pad < 0) pad += numEmbeddings;
    }
    this.paddingIdx = pad;
    this.weight = new Parameter(empty([numEmbeddings, embeddingDim]));
    this.resetParameters();
  }
  /** N(0, 1), with the padding row zeroed. */
  resetParameters(): void {
    init.normal_(this.weight);
    if (this.paddingIdx !== null) tidy(() => void init.zeros_(this.weight.narrow(0, this.paddingIdx!, 1)));
  }
  forward(indices: Tensor): Tensor<'float32'> {
    if (indices.dtype !== 'int32') {
      throw new DTypeError(`Embedding(${this.numEmbeddings}, ${this.embeddingDim}): expects int32 indices, got ${indices.dtype}`);
    }
    const pad = this.paddingIdx;
    if (pad === null) return embedding(indices, this.weight);
    return tidy(() => {
      const rows = embedding(indices, this.weight);
      // The padding row's value, but no gradient: where() routes it to the detached copy.
      const keep = indices.ne(pad).unsqueeze(-1);
      return where(keep, rows, rows.detach());
    });
  }
  extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx !== null ? `, padding_idx=${this.paddingIdx}` : ''}`;
  }
}

/**
 * Attention and transformer layers: MultiheadAttention, TransformerEncoderLayer,
 * TransformerEncoder, with PyTorch's parameter layout and names.
 * @module
 */
import { ArgumentError, ShapeError } from '../../errors.js';
import { tidy } from '../../scope.js';
import type { Tensor } from '../../tensor.js';
import { dropout as dropoutFn, linear as linearFn } from '../functional.js';
import * as init from '../init.js';
import { deepCopy, Module, Parameter } from '../module.js';
import { Dropout } from './activation.js';
import { ModuleList } from './container.js';
import { Linear } from './linear.js';
import { LayerNorm } from './norm.js';
import { checkInt, empty, shapeOf } from './util.js';

/** MultiheadAttention's output projection; the class name is PyTorch's, so that printouts match. */
export class NonDynamicallyQuantizableLinear extends Linear {}

/** Options of {@link MultiheadAttention.forward}. */
export interface AttentionOptions {
  /**
   * `[N, S]` (or `[S]` unbatched): bool, true where a key is padding and must be ignored;
   * or float, added to the scores.
   */
  keyPaddingMask?: Tensor | null;
  /** Return the attention weights too (default true); else the second result is null. */
  needWeights?: boolean;
  /**
   * `[L, S]` or `[N·numHeads, L, S]`: bool, true where attention is **not** allowed (as in
   * PyTorch's MultiheadAttention, the opposite of `scaledDotProductAttention`); or float,
   * added to the scores.
   */
  attnMask?: Tensor | null;
  /** Average the returned weights over the heads (default true): `[N, L, S]`, else `[N, numHeads, L, S]`. */
  averageAttnWeights?: boolean;
}

/**
 * Multi-head attention (PyTorch's `nn.MultiheadAttention`) with PyTorch's parameters:
 * `in_proj_weight` `[3E, E]` (xavier-uniform), `in_proj_bias` `[3E]` (zeros), and
 * `out_proj` (a Linear; bias zeros). Inputs are `[L, N, E]`, or `[N, L, E]` with
 * `batchFirst`, or unbatched `[L, E]`. `forward` returns `[output, weights]`.
 */
export class MultiheadAttention extends Module {
  readonly headDim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;
  inProjWeight: Parameter<'float32'>;
  inProjBias: Parameter<'float32'> | null;
  outProj: NonDynamicallyQuantizableLinear;
  constructor(
    readonly embedDim: number,
    readonly numHeads: number,
    options: { dropout?: number; bias?: boolean; batchFirst?: boolean; addBiasKv?: boolean; addZeroAttn?: boolean; kdim?: number; vdim?: number } = {},
  ) {
    super();
    checkInt('MultiheadAttention', 'embedDim', embedDim, 1);
    checkInt('MultiheadAttention', 'numHeads', numHeads, 1);
    if (embedDim % numHeads !== 0) throw new ArgumentError(`MultiheadAttention: embed_dim (${embedDim}) must be divisible by num_heads (${numHeads})`);
    if (options.addBiasKv || options.addZeroAttn) throw new ArgumentError('MultiheadAttention: addBiasKv and addZeroAttn are not supported');
    if ((options.kdim ?? embedDim) !== embedDim || (options.vdim ?? embedDim) !== embedDim) {
      throw new ArgumentError('MultiheadAttention: kdim and vdim other than embed_dim are not supported');
    }
    this.headDim = embedDim / numHeads;
    this.dropout = options.dropout ?? 0;
    if (!(this.dropout >= 0 && this.dropout <= 1)) throw new ArgumentError(`MultiheadAttention: dropout must be in [0, 1], got ${this.dropout}`);
    this.batchFirst = options.batchFirst ?? false;
    const bias = options.bias ?? true;
    this.inProjWeight = new Parameter(empty([3 * embedDim, embedDim]));
    this.inProjBias = bias ? new Parameter(empty([3 * embedDim])) : null;
    this.outProj = new NonDynamicallyQuantizableLinear(embedDim, embedDim, { bias });
    this.resetParameters();
  }
  /** PyTorch's `_reset_parameters`: xavier-uniform in_proj_weight, zero biases (out_proj.weight keeps Linear's init). */
  resetParameters(): void {
    init.xavierUniform_(this.inProjWeight);
    if (this.inProjBias) init.zeros_(this.inProjBias);
    if (this.outProj.bias) init.zeros_(this.outProj.bias);
  }

  forward(query: Tensor, key: Tensor, value: Tensor, options: AttentionOptions = {}): [Tensor<'float32'>, Tensor<'float32'> | null] {
    const E = this.embedDim;
    const H = this.numHeads;
    const D = this.headDim;
    const label = `MultiheadAttention(embed_dim=${E}, num_heads=${H})`;
    const batched = query.ndim === 3;
    if ((query.ndim !== 2 && query.ndim !== 3) || key.ndim !== query.ndim || value.ndim !== query.ndim) {
      throw new ShapeError(`${label}: query, key and value must all be 3-D (batched) or 2-D (unbatched), got ${shapeOf(query)}, ${shapeOf(key)}, ${shapeOf(value)}`);
    }
    for (const [what, t] of [['query', query], ['key', key], ['value', value]] as const) {
      if (t.shape[t.ndim - 1] !== E) throw new ShapeError(`${label}: ${what} of shape ${shapeOf(t)} does not fit embed_dim=${E}`);
    }
    return tidy(() => {
      // To batch-first [N, L, E].
      const toNLE = (t: Tensor) => (!batched ? t.unsqueeze(0) : this.batchFirst ? t : t.transpose(0, 1));
      const q0 = toNLE(query);
      const k0 = key === query ? q0 : toNLE(key);
      const v0 = value === key ? k0 : toNLE(value);
      const [N, L] = [q0.shape[0]!, q0.shape[1]!];
      const S = k0.shape[1]!;
      if (k0.shape[0] !== N || v0.shape[0] !== N || v0.shape[1] !== S) {
        throw new ShapeError(`${label}: query ${shapeOf(query)}, key ${shapeOf(key)} and value ${shapeOf(value)} do not agree on batch size and source length`);
      }
      const w = this.inProjWeight;
      const b = this.inProjBias;
      let q: Tensor, k: Tensor, v: Tensor;
      if (query === key && key === value) {
        [q, k, v] = linearFn(q0, w, b).chunk(3, -1) as [Tensor, Tensor, Tensor];
      } else {
        const part = (t: Tensor, i: number) => linearFn(t, w.narrow(0, i * E, E), b ? b.narrow(0, i * E, E) : null);
        [q, k, v] = [part(q0, 0), part(k0, 1), part(v0, 2)];
      }
      const heads = (t: Tensor, len: number) => t.reshape(N, len, H, D).permute(0, 2, 1, 3); // [N, H, len, D]
      let scores = heads(q, L).mul(1 / Math.sqrt(D)).matmul(heads(k, S).transpose(-2, -1)); // [N, H, L, S]
      const mask = options.attnMask ?? null;
      if (mask !== null) {
        const ok2 = mask.ndim === 2 && mask.shape[0] === L && mask.shape[1] === S;
        const ok3 = mask.ndim === 3 && mask.shape[0] === N * H && mask.shape[1] === L && mask.shape[2] === S;
        if (!ok2 && !ok3) throw new ShapeError(`${label}: attnMask of shape ${shapeOf(mask)} must be [${L}, ${S}] or [${N * H}, ${L}, ${S}]`);
        const m = ok3 ? mask.reshape(N, H, L, S) : mask;
        scores = m.dtype === 'bool' ? scores.maskedFill(m, -Infinity) : scores.add(m);
      }
      const kpm = options.keyPaddingMask ?? null;
      if (kpm !== null) {
        const ok = batched ? kpm.ndim === 2 && kpm.shape[0] === N && kpm.shape[1] === S : kpm.ndim === 1 && kpm.shape[0] === S;
        if (!ok) throw new ShapeError(`${label}: keyPaddingMask of shape ${shapeOf(kpm)} must be ${batched ? `[${N}, ${S}]` : `[${S}]`}`);
        const m = kpm.reshape(N, 1, 1, S);
        scores = m.dtype === 'bool' ? scores.maskedFill(m, -Infinity) : scores.add(m);
      }
      let weights = scores.softmax(-1);
      if (this.training && this.dropout > 0) weights = dropoutFn(weights, this.dropout, true);
      const heads2 = weights.matmul(heads(v, S)); // [N, H, L, D]
      let out = this.outProj.call(heads2.permute(0, 2, 1, 3).reshape(N, L, E));
      out = !batched ? out.squeeze(0) : this.batchFirst ? out : out.transpose(0, 1);
      if (!(options.needWeights ?? true)) return [out, null];
      let wOut = options.averageAttnWeights ?? true ? weights.mean(1) : weights;
      if (!batched) wOut = wOut.squeeze(0);
      return [out, wOut];
    });
  }
}

/** An activation of {@link TransformerEncoderLayer}: `'relu'`, `'gelu'`, or a function. */
export type TransformerActivation = 'relu' | 'gelu' | ((x: Tensor) => Tensor);

/** Options of {@link TransformerEncoderLayer}, as PyTorch's. */
export interface TransformerEncoderLayerOptions {
  /** Width of the feed-forward network (default 2048). */
  dimFeedforward?: number;
  /** Dropout probability (default 0.1). */
  dropout?: number;
  /** `'relu'` (default), `'gelu'` or a function. */
  activation?: TransformerActivation;
  /** LayerNorm eps (default 1e-5). */
  layerNormEps?: number;
  /** Inputs `[N, L, E]` instead of `[L, N, E]` (default false). */
  batchFirst?: boolean;
  /** Pre-norm: LayerNorm before attention and the feed-forward (default false: after). */
  normFirst?: boolean;
}

/**
 * One transformer encoder block (PyTorch's `nn.TransformerEncoderLayer`): self-attention
 * and a feed-forward network, each with dropout, a residual connection and LayerNorm
 * (after, or before with `normFirst`). Parameters: `self_attn.*`, `linear1`, `linear2`,
 * `norm1`, `norm2`.
 */
export class TransformerEncoderLayer extends Module {
  selfAttn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  readonly normFirst: boolean;
  norm1: LayerNorm;
  norm2: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  readonly activation: TransformerActivation;
  constructor(readonly dModel: number, readonly nhead: number, options: TransformerEncoderLayerOptions = {}) {
    super();
    const p = options.dropout ?? 0.1;
    const ff = options.dimFeedforward ?? 2048;
    const eps = options.layerNormEps ?? 1e-5;
    this.selfAttn = new MultiheadAttention(dModel, nhead, { dropout: p, batchFirst: options.batchFirst ?? false });
    this.linear1 = new Linear(dModel, ff);
    this.dropout = new Dropout(p);
    this.linear2 = new Linear(ff, dModel);
    this.normFirst = options.normFirst ?? false;
    this.norm1 = new LayerNorm(dModel, { eps });
    this.norm2 = new LayerNorm(dModel, { eps });
    this.dropout1 = new Dropout(p);
    this.dropout2 = new Dropout(p);
    const act = options.activation ?? 'relu';
    if (act !== 'relu' && act !== 'gelu' && typeof act !== 'function') {
      throw new ArgumentError(`TransformerEncoderLayer: activation should be relu/gelu or a function, not ${String(act)}`);
    }
    this.activation = act;
  }
  private act(x: Tensor): Tensor {
    const a = this.activation;
    return a === 'relu' ? x.relu() : a === 'gelu' ? x.gelu() : a(x);
  }
  private sa(x: Tensor, attnMask: Tensor | null, keyPaddingMask: Tensor | null): Tensor<'float32'> {
    const [y] = this.selfAttn.call(x, x, x, { attnMask, keyPaddingMask, needWeights: false });
    return this.dropout1.call(y);
  }
  private ff(x: Tensor): Tensor<'float32'> {
    return this.dropout2.call(this.linear2.call(this.dropout.call(this.act(this.linear1.call(x)))));
  }
  /** `src` `[L, N, E]` (or `[N, L, E]` with batchFirst, or `[L, E]`); masks as in {@link MultiheadAttention}. */
  forward(src: Tensor, options: { srcMask?: Tensor | null; srcKeyPaddingMask?: Tensor | null } = {}): Tensor<'float32'> {
    const mask = options.srcMask ?? null;
    const kpm = options.srcKeyPaddingMask ?? null;
    return tidy(() => {
      let x: Tensor = src;
      if (this.normFirst) {
        x = x.add(this.sa(this.norm1.call(x), mask, kpm));
        x = x.add(this.ff(this.norm2.call(x)));
      } else {
        x = this.norm1.call(x.add(this.sa(x, mask, kpm)));
        x = this.norm2.call(x.add(this.ff(x)));
      }
      return x as Tensor<'float32'>; // both branches end in float32 ops
    });
  }
}

/**
 * A stack of `numLayers` encoder layers (PyTorch's `nn.TransformerEncoder`), named
 * `layers.0.…`, plus an optional final `norm`. `encoderLayer` itself becomes
 * `layers[0]` (the module owns it) and the others are deep copies of it, so all start
 * with the same weights, as in PyTorch. (PyTorch's eval-mode fast path with nested tensors
 * outputs zeros at padded positions of `srcKeyPaddingMask`; this computes them as its
 * training path does.)
 */
export class TransformerEncoder extends Module {
  layers: ModuleList;
  norm: Module | null;
  readonly numLayers: number;
  constructor(encoderLayer: TransformerEncoderLayer, numLayers: number, options: { norm?: Module | null } = {}) {
    super();
    checkInt('TransformerEncoder', 'numLayers', numLayers, 1);
    if (!(encoderLayer instanceof Module)) throw new ArgumentError('TransformerEncoder: encoderLayer must be a Module');
    this.layers = new ModuleList([encoderLayer, ...Array.from({ length: numLayers - 1 }, () => deepCopy(encoderLayer))]);
    this.numLayers = numLayers;
    this.norm = options.norm ?? null;
  }
  /** float32 unless a `norm` module given to the constructor returns another dtype (hence `Tensor`). */
  forward(src: Tensor, options: { mask?: Tensor | null; srcKeyPaddingMask?: Tensor | null } = {}): Tensor {
    return tidy(() => {
      let x = src;
      for (const layer of this.layers) x = (layer as TransformerEncoderLayer).call(x, { srcMask: options.mask ?? null, srcKeyPaddingMask: options.srcKeyPaddingMask ?? null });
      return this.norm ? (this.norm.call(x) as Tensor) : x;
    });
  }
}

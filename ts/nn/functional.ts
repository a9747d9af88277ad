/**
 * Neural-network functional ops (PyTorch's `torch.nn.functional`), with fused kernels.
 * @module
 */
import { noGrad } from '../autograd.js';
import { full, rand, tensor, zeros } from '../creation.js';
import { choicesOf, op, type OpArg } from '../dispatch.js';
import { ArgumentError, DTypeError, OutOfMemoryError, ShapeError } from '../errors.js';
import { lib } from '../ffi.js';
import { tidy } from '../scope.js';
import { cat } from '../ops.js';
import type { DType, Tensor } from '../tensor.js';

// The ops here compute in float32: `as Tensor<'float32'>` narrows dispatch.ts's union type.

/** How per-element losses are combined. */
export type Reduction = 'none' | 'mean' | 'sum';
/** `r` (default `'mean'`) if the core knows it (crossEntropy's declared choices), or an ArgumentError. */
function checkReduction(name: string, r: Reduction | undefined): Reduction {
  const reduction = r ?? 'mean';
  const known = choicesOf('crossEntropy', 'reduction');
  if (!known.includes(reduction)) {
    throw new ArgumentError(`${name}: reduction must be one of ${known.map((n) => `'${n}'`).join(', ')}, got ${String(reduction)}`);
  }
  return reduction;
}

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
export function crossEntropy(input: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor<'float32'> {
  const ignoreIndex = options.ignoreIndex ?? -100;
  const smoothing = options.labelSmoothing ?? 0;
  return (op('crossEntropy', input, target, options.reduction ?? 'mean', ignoreIndex, smoothing) as Tensor<'float32'>);
}

/** An activation {@link linear} can apply in the same pass as its bias. */
export type Activation = 'none' | 'relu';

/**
 * `x · weightᵀ + bias` (PyTorch's `F.linear`, weight `[out, in]`), optionally followed by
 * an activation fused into the same pass over the output.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null, options: { activation?: Activation } = {}): Tensor<'float32'> {
  return (op('linear', x, weight, bias ?? null, options.activation ?? 'none') as Tensor<'float32'>);
}

// ---- convolution and pooling ---------------------------------------------------------

/** A size given once for both spatial dims, or as `[h, w]`. */
export type Pair = number | readonly [number, number];

/** `[h, w]` from a number or a pair; `what` names the option in errors. */
function pair(op: string, what: string, v: Pair): [number, number] {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2) return [v[0], v[1]];
  throw new ArgumentError(`${op}: ${what} must be a number or a pair [h, w], got ${JSON.stringify(v)}`);
}

/** One spatial size from a number or a one-element array (conv1d accepts both, as PyTorch). */
function single(op: string, what: string, v: number | readonly [number]): number {
  if (typeof v === 'number') return v;
  if (Array.isArray(v) && v.length === 1) return v[0];
  throw new ArgumentError(`${op}: ${what} must be a number or a one-element array, got ${JSON.stringify(v)}`);
}

/**
 * Padding before and after one spatial dim: a number pads both sides; `'valid'` is no
 * padding; `'same'` keeps the input size (stride 1 only) and, as PyTorch does, puts the
 * odd one of an even dilated kernel after.
 */
function padSpan(op: string, pad: number | 'same' | 'valid', kernel: number, dilation: number, stride: number): [number, number] {
  if (pad === 'valid') return [0, 0];
  if (pad === 'same') {
    if (stride !== 1) throw new ArgumentError(`${op}: padding='same' is not supported for strided convolutions (stride ${stride})`);
    const total = Number.isInteger(kernel) && Number.isInteger(dilation) && kernel > 0 ? dilation * (kernel - 1) : 0;
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  }
  return [pad, pad];
}

const checkPadding = (op: string, padding: unknown): void => {
  if (typeof padding === 'string' && padding !== 'same' && padding !== 'valid') {
    throw new ArgumentError(`${op}: padding must be a number, a pair, 'same' or 'valid', got '${padding}'`);
  }
};

/**
 * The arguments of an n-D convolution after its tensors: strides, padding before and after
 * each spatial dim (resolving `'same'`/`'valid'` for `kernel`), dilations, groups.
 * `spec` reads a per-dim option (a number, or one value per spatial dim).
 */
function convArgs<S extends readonly number[]>(
  op: string,
  kernel: readonly number[],
  options: { stride?: S | number; padding?: S | number | 'same' | 'valid'; dilation?: S | number; groups?: number },
  spec: (what: string, v: S | number) => number[],
): OpArg[] {
  const stride = spec('stride', options.stride ?? 1);
  const dilation = spec('dilation', options.dilation ?? 1);
  const padding = options.padding ?? 0;
  checkPadding(op, padding);
  const pads = typeof padding === 'string' ? kernel.map(() => padding) : spec('padding', padding);
  const spans = kernel.map((k, d) => padSpan(op, pads[d]!, k, dilation[d]!, stride[d]!));
  return [stride, spans.map(([begin]) => begin), spans.map(([, end]) => end), dilation, options.groups ?? 1];
}

/** Options of {@link conv2d}, as in PyTorch's `F.conv2d`. */
export interface Conv2dOptions {
  /** Step of the kernel, default 1. */
  stride?: Pair;
  /** Zero padding on both sides of each spatial dim (default 0), `'valid'` (none) or `'same'` (output size = input size; stride 1 only). */
  padding?: Pair | 'same' | 'valid';
  /** Spacing between kernel taps, default 1. */
  dilation?: Pair;
  /** Input and output channels are split into `groups` independent convolutions (default 1; `groups = C` is depthwise). */
  groups?: number;
}

/**
 * 2-D convolution (cross-correlation, like PyTorch's `F.conv2d`) of `input`
 * `[N, C, H, W]` (or unbatched `[C, H, W]`) with `weight` `[O, C/groups, kH, kW]`, plus
 * `bias` `[O]`. The output is `[N, O, OH, OW]` with
 * `OH = floor((H + 2·padH − dilationH·(kH − 1) − 1) / strideH) + 1` (likewise OW).
 * Computed as im2col and a packed SIMD GEMM; the gradient node is `ConvolutionBackward0`.
 *
 * @example
 * const y = conv2d(x, w, b, { stride: 2, padding: 1 });   // x [8, 3, 32, 32], w [16, 3, 3, 3]
 */
export function conv2d(input: Tensor, weight: Tensor, bias?: Tensor | null, options: Conv2dOptions = {}): Tensor<'float32'> {
  const kernel = weight.ndim === 4 ? weight.shape.slice(2) : [1, 1];
  return (op('conv2d', input, weight, bias ?? null, ...convArgs('conv2d', kernel, options, (what, v) => pair('conv2d', what, v))) as Tensor<'float32'>);
}

/** Options of {@link conv1d}, as in PyTorch's `F.conv1d`. */
export interface Conv1dOptions {
  /** Step of the kernel, default 1. */
  stride?: number | readonly [number];
  /** Zero padding on both ends (default 0), `'valid'` (none) or `'same'` (output length = input length; stride 1 only). */
  padding?: number | readonly [number] | 'same' | 'valid';
  /** Spacing between kernel taps, default 1. */
  dilation?: number | readonly [number];
  /** Channel groups, default 1. */
  groups?: number;
}

/**
 * 1-D convolution (PyTorch's `F.conv1d`) of `input` `[N, C, L]` (or unbatched `[C, L]`)
 * with `weight` `[O, C/groups, k]`, plus `bias` `[O]`: output `[N, O, L_out]`. It runs as
 * {@link conv2d} with height 1 (no data is copied); the gradient node is
 * `ConvolutionBackward0`.
 */
export function conv1d(input: Tensor, weight: Tensor, bias?: Tensor | null, options: Conv1dOptions = {}): Tensor<'float32'> {
  const kernel = [weight.ndim === 3 ? weight.shape[2]! : 1];
  return (op('conv1d', input, weight, bias ?? null, ...convArgs('conv1d', kernel, options, (what, v) => [single('conv1d', what, v)])) as Tensor<'float32'>);
}

/** Options of {@link convTranspose2d}, as in PyTorch's `F.conv_transpose2d`. */
export interface ConvTranspose2dOptions {
  /** Step of the kernel over the output, default 1. */
  stride?: Pair;
  /** Removed from both sides of each spatial dim of the output, default 0 (`dilation·(k − 1) − padding` zeros pad the input). */
  padding?: Pair;
  /** Added to one side of each spatial dim of the output, default 0; smaller than `stride` or `dilation`. */
  outputPadding?: Pair;
  /** Spacing between kernel taps, default 1. */
  dilation?: Pair;
  /** Input and output channels are split into `groups` independent transposed convolutions (default 1). */
  groups?: number;
}

/**
 * 2-D transposed convolution (PyTorch's `F.conv_transpose2d`, sometimes called
 * "deconvolution"): the gradient of {@link conv2d} with respect to its input. `input` is
 * `[N, Cin, H, W]` (or unbatched `[Cin, H, W]`), `weight` `[Cin, Cout/groups, kH, kW]`,
 * `bias` `[Cout]`; the output is `[N, Cout, OH, OW]` with
 * `OH = (H − 1)·strideH − 2·padH + dilationH·(kH − 1) + outputPadH + 1` (likewise OW).
 * Computed as a packed SIMD GEMM and col2im; the gradient node is `ConvolutionBackward0`,
 * differentiable again.
 *
 * @example
 * const y = convTranspose2d(x, w, b, { stride: 2, padding: 1 });   // x [8, 64, 16, 16], w [64, 32, 4, 4] → [8, 32, 32, 32]
 */
export function convTranspose2d(input: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvTranspose2dOptions = {}): Tensor<'float32'> {
  const p = (what: string, v: Pair) => pair('convTranspose2d', what, v);
  return (op(
    'convTranspose2d', input, weight, bias ?? null,
    p('stride', options.stride ?? 1), p('padding', options.padding ?? 0), p('outputPadding', options.outputPadding ?? 0),
    p('dilation', options.dilation ?? 1), options.groups ?? 1,
  ) as Tensor<'float32'>);
}

/** A pooling window's arguments: kernel, stride (default: the kernel), padding. */
function poolWindow(name: string, kernelSize: Pair, options: { stride?: Pair; padding?: Pair }): OpArg[] {
  const kernel = pair(name, 'kernelSize', kernelSize);
  return [kernel, pair(name, 'stride', options.stride ?? kernel), pair(name, 'padding', options.padding ?? 0)];
}

/** Options of {@link maxPool2d}, as in PyTorch's `F.max_pool2d`. */
export interface MaxPool2dOptions {
  /** Step of the window; defaults to the kernel size. */
  stride?: Pair;
  /** Implicit −∞ padding on both sides, at most half the kernel size (default 0). */
  padding?: Pair;
  /** Spacing between window taps, default 1. */
  dilation?: Pair;
  /** Round the output size up instead of down, so a partial last window counts (default false). */
  ceilMode?: boolean;
}

/**
 * 2-D max pooling (PyTorch's `F.max_pool2d`) of `input` `[N, C, H, W]` or `[C, H, W]`.
 * The gradient goes to each window's maximum; among equal maxima, the first in
 * row-major order (as PyTorch's CPU kernel). Gradient node: `MaxPool2DWithIndicesBackward0`.
 *
 * @example
 * const y = maxPool2d(x, 2);   // halves H and W
 */
export function maxPool2d(input: Tensor, kernelSize: Pair, options: MaxPool2dOptions = {}): Tensor<'float32'> {
  const name = 'maxPool2d';
  const dilation = pair(name, 'dilation', options.dilation ?? 1);
  return (op(name, input, ...poolWindow(name, kernelSize, options), dilation, options.ceilMode ?? false) as Tensor<'float32'>);
}

/** Options of {@link avgPool2d}, as in PyTorch's `F.avg_pool2d`. */
export interface AvgPool2dOptions {
  /** Step of the window; defaults to the kernel size. */
  stride?: Pair;
  /** Implicit zero padding on both sides, at most half the kernel size (default 0). */
  padding?: Pair;
  /** Round the output size up instead of down (default false). */
  ceilMode?: boolean;
  /** Count padded zeros in the divisor (default true). */
  countIncludePad?: boolean;
  /** Divide every window's sum by this instead (a positive integer). */
  divisorOverride?: number;
}

/**
 * 2-D average pooling (PyTorch's `F.avg_pool2d`) of `input` `[N, C, H, W]` or
 * `[C, H, W]`. Gradient node: `AvgPool2DBackward0`.
 */
export function avgPool2d(input: Tensor, kernelSize: Pair, options: AvgPool2dOptions = {}): Tensor<'float32'> {
  const name = 'avgPool2d';
  const divisor = options.divisorOverride;
  if (divisor !== undefined && !(Number.isInteger(divisor) && divisor > 0)) {
    throw new ArgumentError(`${name}: divisorOverride must be a positive integer, got ${divisor}`);
  }
  const window = poolWindow(name, kernelSize, options);
  return (op(name, input, ...window, options.ceilMode ?? false, options.countIncludePad ?? true, divisor ?? 0) as Tensor<'float32'>);
}

/**
 * Adaptive 2-D average pooling (PyTorch's `F.adaptive_avg_pool2d`) of `input`
 * `[N, C, H, W]` or `[C, H, W]` to `outputSize` (a number, or `[h, w]` where `null`
 * keeps that input size). Output `(i, j)` averages rows `floor(i·H/h) … ceil((i+1)·H/h) − 1`
 * and the matching columns. Gradient node: `AdaptiveAvgPool2DBackward0`.
 *
 * @example
 * const pooled = adaptiveAvgPool2d(features, 1);   // global average pooling: [N, C, 1, 1]
 */
export function adaptiveAvgPool2d(input: Tensor, outputSize: number | readonly [number | null, number | null]): Tensor<'float32'> {
  const name = 'adaptiveAvgPool2d';
  const size = typeof outputSize === 'number' ? [outputSize, outputSize] : outputSize;
  if (!Array.isArray(size) || size.length !== 2) {
    throw new ArgumentError(`${name}: outputSize must be a number or a pair [h, w], got ${JSON.stringify(outputSize)}`);
  }
  const n = input.ndim;
  const out = size.map((s: number | null, d: number) => s ?? (n >= 2 ? input.shape[n - 2 + d]! : 1));
  return (op(name, input, out) as Tensor<'float32'>);
}

// ---- losses composed from differentiable primitives -----------------------------------

function reduce(name: string, loss: Tensor<'float32'>, reduction: Reduction | undefined): Tensor<'float32'> {
  const r = checkReduction(name, reduction);
  return r === 'none' ? loss : r === 'mean' ? loss.mean() : loss.sum();
}

function composed(name: string, reduction: Reduction | undefined, f: () => Tensor<'float32'>): Tensor<'float32'> {
  checkReduction(name, reduction);
  return tidy(() => reduce(name, f(), reduction));
}

/** Mean squared error `(input − target)²` (PyTorch's `mse_loss`). */
export function mseLoss(input: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor<'float32'> {
  return composed('mseLoss', options.reduction, () => input.sub(target).square());
}

/** Mean absolute error `|input − target|` (PyTorch's `l1_loss`). */
export function l1Loss(input: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor<'float32'> {
  return composed('l1Loss', options.reduction, () => input.sub(target).abs());
}

/** Huber-style loss: `½d²/β` where `|d| < β`, else `|d| − ½β` (PyTorch's `smooth_l1_loss`). */
export function smoothL1Loss(input: Tensor, target: Tensor, options: { reduction?: Reduction; beta?: number } = {}): Tensor<'float32'> {
  const beta = options.beta ?? 1;
  if (!(beta >= 0)) throw new ArgumentError(`smoothL1Loss: beta must be >= 0, got ${beta}`);
  return composed('smoothL1Loss', options.reduction, () => {
    const d = input.sub(target).abs();
    if (beta === 0) return d;
    // min(|d|, β) selects the branch without a `where`: ½m²/β + (|d| − m).
    const m = d.minimum(beta);
    return m.square().mul(0.5 / beta).add(d.sub(m));
  });
}

/**
 * Binary cross-entropy of probabilities `input` in [0, 1] against `target` (same shape),
 * with log terms clamped at −100 as PyTorch does (PyTorch's `binary_cross_entropy`): an
 * input of exactly 0 or 1 gives a finite loss and gradient; an input outside [0, 1]
 * (or NaN) throws `ArgumentError`.
 */
export function binaryCrossEntropy(input: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor<'float32'> {
  return composed('binaryCrossEntropy', options.reduction, () => (op('binaryCrossEntropy', input, target) as Tensor<'float32'>));
}

/**
 * Binary cross-entropy on logits, computed stably as `relu(x) − x·t + log(1 + e^−|x|)`
 * (PyTorch's `binary_cross_entropy_with_logits`).
 */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor<'float32'> {
  return composed('binaryCrossEntropyWithLogits', options.reduction, () =>
    input.relu().sub(input.mul(target)).add(input.abs().neg().exp().log1p()),
  );
}

// ---- normalisation, attention, dropout, one-hot (composed from primitives) ------------

/**
 * Layer normalisation over the last `normalizedShape.length` dims (biased variance, as
 * PyTorch), then `· weight + bias` when given.
 */
export function layerNorm(
  x: Tensor,
  normalizedShape: readonly number[],
  weight?: Tensor | null,
  bias?: Tensor | null,
  eps = 1e-5,
): Tensor<'float32'> {
  const k = normalizedShape.length;
  const tail = x.shape.slice(x.ndim - k);
  if (k === 0 || k > x.ndim || tail.some((d, i) => d !== normalizedShape[i])) {
    throw new ShapeError(`layerNorm: normalizedShape [${normalizedShape.join(', ')}] does not match the end of shape [${x.shape.join(', ')}]`);
  }
  const dims = normalizedShape.map((_, i) => x.ndim - k + i);
  return tidy(() => {
    const centred = x.sub(x.mean(dims, true));
    let y = centred.div(centred.square().mean(dims, true).add(eps).sqrt());
    if (weight) y = y.mul(weight);
    if (bias) y = y.add(bias);
    return y;
  });
}

/**
 * `softmax(q·kᵀ / √d + mask) · v` over the last two dims (PyTorch's
 * `scaled_dot_product_attention`); `isCausal` hides keys after each query; a float
 * `attnMask` is added to the scores, a bool one keeps the keys where it is true.
 */
export function scaledDotProductAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: { attnMask?: Tensor; isCausal?: boolean; scale?: number } = {},
): Tensor<'float32'> {
  const d = q.shape[q.ndim - 1]!;
  const scale = options.scale ?? 1 / Math.sqrt(d);
  return tidy(() => {
    let scores = q.matmul(k.transpose(-2, -1)).mul(scale);
    if (options.isCausal) {
      const [l, s] = [q.shape[q.ndim - 2]!, k.shape[k.ndim - 2]!];
      const causal = new Float32Array(l * s).map((_, i) => (i % s > Math.floor(i / s) ? -Infinity : 0));
      scores = scores.add(tensor(causal, { shape: [l, s] }));
    }
    const mask = options.attnMask;
    if (mask) scores = mask.dtype === 'bool' ? scores.maskedFill(mask.logicalNot(), -Infinity) : scores.add(mask);
    return scores.softmax(-1).matmul(v);
  });
}

/**
 * Zeroes each element with probability `p` and scales the rest by `1/(1 − p)` while
 * `training` (default); identity otherwise. Reproducible after `manualSeed`.
 */
export function dropout(x: Tensor, p = 0.5, training = true): Tensor<'float32'> {
  if (!(p >= 0 && p <= 1)) throw new ArgumentError(`dropout: p must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x.mul(1);
  if (p === 1) return x.mul(0);
  return tidy(() => {
    // rand ≥ p → 1, else 0 (sign of rand − p, negatives cut by relu).
    const keep = rand(x.shape).sub(p).sign().relu();
    return x.mul(keep).mul(1 / (1 - p));
  });
}

/** The most bytes wasm32 memory can address. */
const WASM32_BYTES = 2 ** 32;

/** One-hot float32 rows for int32 class indices (`numClasses` defaults to max + 1). */
export function oneHot(indices: Tensor, numClasses = -1): Tensor<'float32'> {
  if (indices.dtype !== 'int32') throw new DTypeError(`oneHot: expects int32 class indices, got ${indices.dtype}`);
  if (!Number.isInteger(numClasses) || numClasses < -1) {
    throw new ArgumentError(`oneHot: numClasses must be a non-negative integer, or -1 to infer it, got ${numClasses}`);
  }
  const labels = Array.from(indices.data());
  if (numClasses < 0 && labels.length === 0) throw new ArgumentError('oneHot: cannot infer the number of classes from an empty tensor');
  const n = numClasses >= 0 ? numClasses : labels.reduce((m, v) => Math.max(m, v + 1), 0);
  const bad = labels.find((label) => label < 0 || label >= n);
  if (bad !== undefined) throw new ArgumentError(`oneHot: class ${bad} is outside [0, ${n})`);
  const bytes = labels.length * n * 4;
  const tooBig = () =>
    new OutOfMemoryError(`oneHot: ${labels.length} indices × ${n} classes need ${bytes} bytes, more than wasm memory can hold`);
  if (bytes > WASM32_BYTES) throw tooBig();
  // Zeros allocated by the core (no float32 copy in JavaScript), then the ones written in.
  let out: Tensor<'float32'>;
  try {
    out = zeros([...indices.shape, n]);
  } catch (err) {
    throw err instanceof OutOfMemoryError ? tooBig() : err;
  }
  const c = lib();
  const data = new Float32Array(c.raw.memory.buffer, c.raw.wg_data_ptr(out.handle) >>> 0, labels.length * n);
  labels.forEach((label, i) => (data[i * n + label] = 1));
  return out;
}

/** Rows of `weight` `[num, dim]` for int32 `indices` of any shape → `[…indices, dim]` (PyTorch's `embedding`). */
export function embedding(indices: Tensor, weight: Tensor): Tensor<'float32'> {
  if (weight.ndim !== 2) throw new ShapeError(`embedding: weight must be 2-D [num, dim], got [${weight.shape.join(', ')}]`);
  return tidy(() => {
    let rows: Tensor<'float32'>;
    try {
      rows = weight.indexSelect(0, indices.flatten());
    } catch (err) {
      // The same check as PyTorch's ("index out of range in self"), named after this op.
      if (err instanceof ArgumentError && err.message.startsWith('indexSelect:')) {
        throw new ArgumentError(`embedding:${err.message.slice('indexSelect:'.length)}`);
      }
      throw err;
    }
    return rows.reshape([...indices.shape, weight.shape[1]!]);
  });
}

/**
 * Negative log-likelihood of log-probabilities `[N, C]` (or `[C]`) at int32 class
 * indices, skipping `ignoreIndex` (PyTorch's `nll_loss`).
 */
export function nllLoss(input: Tensor, target: Tensor, options: { reduction?: Reduction; ignoreIndex?: number } = {}): Tensor<'float32'> {
  const reduction = checkReduction('nllLoss', options.reduction);
  if (target.dtype !== 'int32') throw new DTypeError(`nllLoss: target must hold int32 class indices, got ${target.dtype}`);
  const ignore = options.ignoreIndex ?? -100;
  const classes = input.shape[input.ndim > 1 ? 1 : 0]!;
  if (input.ndim > 2 || input.ndim === 0) throw new ShapeError(`nllLoss: expects input [N, C] or [C], got [${input.shape.join(', ')}]`);
  const labels = Array.from(target.data());
  const keep: number[] = labels.map((l) => (l === ignore ? 0 : 1));
  const safe = labels.map((l) => (l === ignore ? 0 : l));
  return tidy(() => {
    const picked = input.mul(oneHot(tensor(safe, { dtype: 'int32', shape: target.shape }), classes)).sum(-1);
    const losses = picked.neg().mul(tensor(keep, { shape: target.shape }));
    if (reduction === 'none') return losses;
    const total = losses.sum();
    return reduction === 'sum' ? total : total.div(keep.reduce((a, b) => a + b, 0));
  });
}

/**
 * Pads the last dims with `value` (PyTorch's `F.pad`, constant mode): `padding` is
 * `[left, right]` for the last dim, then `[top, bottom]` for the one before, and so on.
 * A float32 result, except that all-zero padding of an int32 or bool tensor keeps its
 * dtype (hence `Tensor<D | 'float32'>`).
 */
export function pad<D extends DType>(x: Tensor<D>, padding: readonly number[], value = 0): Tensor<D | 'float32'> {
  if (padding.length % 2 !== 0 || padding.length / 2 > x.ndim || padding.some((p) => !Number.isInteger(p) || p < 0)) {
    throw new ArgumentError(`pad: padding must be non-negative pairs for at most ${x.ndim} dims, got [${padding.join(', ')}]`);
  }
  return tidy(() => {
    let y: Tensor<D | 'float32'> = x;
    for (let i = 0; i < padding.length / 2; i++) {
      const dim = x.ndim - 1 - i;
      const [before, after] = [padding[2 * i]!, padding[2 * i + 1]!];
      const block = (n: number) => full(y.shape.map((d, k) => (k === dim ? n : d)), value);
      y = cat<D | 'float32'>([...(before > 0 ? [block(before)] : []), y, ...(after > 0 ? [block(after)] : [])], dim) as Tensor<D | 'float32'>;
    }
    return y === x ? x.mul(1) : y;
  });
}

/**
 * Batch normalisation over all dims but the channel dim 1. Training: batch statistics,
 * and `runningMean`/`runningVar` (if given) updated in place with `momentum` (unbiased
 * variance, as PyTorch). Evaluation: the running statistics.
 */
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  options: { weight?: Tensor | null; bias?: Tensor | null; training?: boolean; momentum?: number; eps?: number } = {},
): Tensor<'float32'> {
  const { weight = null, bias = null, training = false, momentum = 0.1, eps = 1e-5 } = options;
  if (x.ndim < 2) throw new ShapeError(`batchNorm: expects [N, C, …], got [${x.shape.join(', ')}]`);
  const dims = [0, ...Array.from({ length: x.ndim - 2 }, (_, i) => i + 2)];
  const channelShape = [1, x.shape[1]!, ...Array<number>(x.ndim - 2).fill(1)];
  return tidy(() => {
    let mean: Tensor;
    let variance: Tensor;
    if (training || runningMean === null || runningVar === null) {
      mean = x.mean(dims, true);
      variance = x.sub(mean).square().mean(dims, true);
      if (training && runningMean && runningVar) {
        const n = x.size / x.shape[1]!;
        noGrad(() => {
          runningMean.mul_(1 - momentum).add_(mean.detach().reshape(runningMean.shape).mul(momentum));
          runningVar.mul_(1 - momentum).add_(variance.detach().reshape(runningVar.shape).mul((momentum * n) / Math.max(n - 1, 1)));
        });
      }
    } else {
      mean = runningMean.reshape(channelShape);
      variance = runningVar.reshape(channelShape);
    }
    let y = x.sub(mean).div(variance.add(eps).sqrt());
    if (weight) y = y.mul(weight.reshape(channelShape));
    if (bias) y = y.add(bias.reshape(channelShape));
    return y;
  });
}

/** Group normalisation: channels split into `numGroups`, each normalised over its channels and positions. */
export function groupNorm(x: Tensor, numGroups: number, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor<'float32'> {
  const [n, c] = [x.shape[0]!, x.shape[1]!];
  if (x.ndim < 2 || !Number.isInteger(numGroups) || numGroups < 1 || c % numGroups !== 0) {
    throw new ShapeError(`groupNorm: ${c} channels cannot be split into ${numGroups} groups (shape [${x.shape.join(', ')}])`);
  }
  const channelShape = [1, c, ...Array<number>(x.ndim - 2).fill(1)];
  return tidy(() => {
    const g = x.reshape(n, numGroups, -1);
    const centred = g.sub(g.mean(-1, true));
    let y = centred.div(centred.square().mean(-1, true).add(eps).sqrt()).reshape(x.shape);
    if (weight) y = y.mul(weight.reshape(channelShape));
    if (bias) y = y.add(bias.reshape(channelShape));
    return y;
  });
}

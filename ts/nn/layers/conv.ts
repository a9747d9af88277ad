/**
 * Convolution and pooling layers: Conv1d, Conv2d, ConvTranspose2d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d.
 * @module
 */
import { ArgumentError, ShapeError } from '../../errors.js';
import type { Tensor } from '../../tensor.js';
import { adaptiveAvgPool2d, avgPool2d, conv1d, conv2d, convTranspose2d, maxPool2d, type Pair } from '../functional.js';
import * as init from '../init.js';
import { Module, Parameter, pyBool, pyTuple } from '../module.js';
import { checkInt, empty, shapeOf } from './util.js';

type Sizes = number | readonly number[];
const tuple = (layer: string, what: string, v: Sizes, n: number): number[] => {
  const arr = typeof v === 'number' ? Array<number>(n).fill(v) : [...v];
  if (arr.length !== n || arr.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ArgumentError(`${layer}: ${what} must be a non-negative integer or ${n} of them, got ${JSON.stringify(v)}`);
  }
  return arr;
};

/** Options of {@link Conv1d} and {@link Conv2d}, as PyTorch's. */
export interface ConvOptions<S> {
  stride?: S;
  padding?: S | 'same' | 'valid';
  dilation?: S;
  groups?: number;
  bias?: boolean;
  /** Only `'zeros'` is supported. */
  paddingMode?: 'zeros';
}

/** Options of {@link ConvTranspose2d}, as PyTorch's (no `'same'`/`'valid'` padding). */
export interface ConvTransposeOptions<S> extends Omit<ConvOptions<S>, 'padding'> {
  padding?: S;
  /** Extra size added to one side of each output dim (smaller than the stride or the dilation). */
  outputPadding?: S;
}

/** The shared part of Conv1d, Conv2d and ConvTranspose2d (PyTorch's `_ConvNd`). */
abstract class ConvNd extends Module {
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[] | 'same' | 'valid';
  readonly dilation: number[];
  readonly groups: number;
  readonly paddingMode = 'zeros';
  weight: Parameter<'float32'>;
  bias: Parameter<'float32'> | null;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Sizes,
    options: ConvOptions<Sizes>,
    n: number,
    /** A transposed convolution: weight `[in, out/groups, k…]` instead of `[out, in/groups, k…]`. */
    readonly transposed = false,
  ) {
    super();
    const name = new.target.name;
    checkInt(name, 'inChannels', inChannels, 1);
    checkInt(name, 'outChannels', outChannels, 1);
    const groups = options.groups ?? 1;
    checkInt(name, 'groups', groups, 1);
    if (inChannels % groups !== 0) throw new ArgumentError(`${name}: in_channels (${inChannels}) must be divisible by groups (${groups})`);
    if (outChannels % groups !== 0) throw new ArgumentError(`${name}: out_channels (${outChannels}) must be divisible by groups (${groups})`);
    if ((options.paddingMode ?? 'zeros') !== 'zeros') throw new ArgumentError(`${name}: only paddingMode 'zeros' is supported, got '${String(options.paddingMode)}'`);
    this.kernelSize = tuple(name, 'kernelSize', kernelSize, n);
    if (this.kernelSize.some((k) => k < 1)) throw new ArgumentError(`${name}: kernelSize must be positive, got ${JSON.stringify(kernelSize)}`);
    this.stride = tuple(name, 'stride', options.stride ?? 1, n);
    const padding = options.padding ?? 0;
    this.padding = padding === 'same' || padding === 'valid' ? padding : tuple(name, 'padding', padding, n);
    this.dilation = tuple(name, 'dilation', options.dilation ?? 1, n);
    this.groups = groups;
    const [rows, perGroup] = transposed ? [inChannels, outChannels / groups] : [outChannels, inChannels / groups];
    this.weight = new Parameter(empty([rows, perGroup, ...this.kernelSize]));
    this.bias = options.bias ?? true ? new Parameter(empty([outChannels])) : null;
    this.resetParameters();
  }
  /** PyTorch's default: kaiming_uniform_(a=√5) for the weight, U(±1/√fanIn) for the bias. */
  resetParameters(): void {
    init.kaimingUniform_(this.weight, Math.sqrt(5));
    if (this.bias) {
      const [fanIn] = init.fans('kaimingUniform_', this.weight);
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      init.uniform_(this.bias, -bound, bound);
    }
  }
  protected check(x: Tensor): void {
    const n = this.kernelSize.length;
    if ((x.ndim !== n + 1 && x.ndim !== n + 2) || x.shape[x.ndim - n - 1] !== this.inChannels) {
      throw new ShapeError(`${this.constructor.name}(${this.inChannels}, ${this.outChannels}, kernel_size=${pyTuple(this.kernelSize)}): input of shape ${shapeOf(x)} does not fit in_channels=${this.inChannels} (expected [N, ${this.inChannels}, …] with ${n} spatial dim${n > 1 ? 's' : ''})`);
    }
  }
  /** Only transposed convolutions have one (PyTorch's `output_padding`). */
  protected outputPaddingRepr(): string {
    return '';
  }
  extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${pyTuple(this.kernelSize)}, stride=${pyTuple(this.stride)}`;
    const p = this.padding;
    if (typeof p === 'string') s += `, padding=${p}`;
    else if (p.some((v) => v !== 0)) s += `, padding=${pyTuple(p)}`;
    s += this.outputPaddingRepr();
    if (this.dilation.some((v) => v !== 1)) s += `, dilation=${pyTuple(this.dilation)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === null) s += ', bias=False';
    return s;
  }
}

/** 1-D convolution over `[N, C, L]` (PyTorch's `nn.Conv1d`): weight `[out, in/groups, k]`, bias `[out]`. */
export class Conv1d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | readonly [number], options: ConvOptions<number | readonly [number]> = {}) {
    super(inChannels, outChannels, kernelSize, options, 1);
  }
  forward(x: Tensor): Tensor<'float32'> {
    this.check(x);
    const p = this.padding;
    return conv1d(x, this.weight, this.bias, {
      stride: this.stride[0]!, padding: typeof p === 'string' ? p : p[0]!, dilation: this.dilation[0]!, groups: this.groups,
    });
  }
}

/** 2-D convolution over `[N, C, H, W]` (PyTorch's `nn.Conv2d`): weight `[out, in/groups, kH, kW]`, bias `[out]`. */
export class Conv2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: Pair, options: ConvOptions<Pair> = {}) {
    super(inChannels, outChannels, kernelSize, options, 2);
  }
  forward(x: Tensor): Tensor<'float32'> {
    this.check(x);
    const p = this.padding;
    const pair = (v: number[]) => [v[0]!, v[1]!] as const;
    return conv2d(x, this.weight, this.bias, {
      stride: pair(this.stride), padding: typeof p === 'string' ? p : pair(p), dilation: pair(this.dilation), groups: this.groups,
    });
  }
}

/**
 * 2-D transposed convolution over `[N, C, H, W]` (PyTorch's `nn.ConvTranspose2d`, the
 * gradient of a Conv2d with respect to its input): weight `[in, out/groups, kH, kW]`,
 * bias `[out]`, output `(H − 1)·stride − 2·padding + dilation·(kH − 1) + outputPadding + 1`
 * (likewise W). PyTorch's `output_size` argument of `forward` is not supported; pass
 * `outputPadding` instead.
 */
export class ConvTranspose2d extends ConvNd {
  readonly outputPadding: number[];
  constructor(inChannels: number, outChannels: number, kernelSize: Pair, options: ConvTransposeOptions<Pair> = {}) {
    super(inChannels, outChannels, kernelSize, options, 2, true);
    this.outputPadding = tuple('ConvTranspose2d', 'outputPadding', options.outputPadding ?? 0, 2);
  }
  protected outputPaddingRepr(): string {
    return this.outputPadding.some((v) => v !== 0) ? `, output_padding=${pyTuple(this.outputPadding)}` : '';
  }
  forward(x: Tensor): Tensor<'float32'> {
    this.check(x);
    const pair = (v: number[]) => [v[0]!, v[1]!] as const;
    return convTranspose2d(x, this.weight, this.bias, {
      stride: pair(this.stride), padding: pair(this.padding as number[]), outputPadding: pair(this.outputPadding),
      dilation: pair(this.dilation), groups: this.groups,
    });
  }
}

/** 2-D max pooling (PyTorch's `nn.MaxPool2d`); `stride` defaults to `kernelSize`. */
export class MaxPool2d extends Module {
  readonly stride: Pair;
  readonly padding: Pair;
  readonly dilation: Pair;
  readonly ceilMode: boolean;
  constructor(readonly kernelSize: Pair, options: { stride?: Pair | null; padding?: Pair; dilation?: Pair; ceilMode?: boolean } = {}) {
    super();
    this.stride = options.stride ?? kernelSize;
    this.padding = options.padding ?? 0;
    this.dilation = options.dilation ?? 1;
    this.ceilMode = options.ceilMode ?? false;
  }
  forward(x: Tensor): Tensor<'float32'> {
    return maxPool2d(x, this.kernelSize, { stride: this.stride, padding: this.padding, dilation: this.dilation, ceilMode: this.ceilMode });
  }
  extraRepr(): string {
    return `kernel_size=${pyTuple(this.kernelSize)}, stride=${pyTuple(this.stride)}, padding=${pyTuple(this.padding)}, dilation=${pyTuple(this.dilation)}, ceil_mode=${pyBool(this.ceilMode)}`;
  }
}

/** 2-D average pooling (PyTorch's `nn.AvgPool2d`); `stride` defaults to `kernelSize`. */
export class AvgPool2d extends Module {
  readonly stride: Pair;
  readonly padding: Pair;
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
  readonly divisorOverride: number | null;
  constructor(
    readonly kernelSize: Pair,
    options: { stride?: Pair | null; padding?: Pair; ceilMode?: boolean; countIncludePad?: boolean; divisorOverride?: number | null } = {},
  ) {
    super();
    this.stride = options.stride ?? kernelSize;
    this.padding = options.padding ?? 0;
    this.ceilMode = options.ceilMode ?? false;
    this.countIncludePad = options.countIncludePad ?? true;
    this.divisorOverride = options.divisorOverride ?? null;
  }
  forward(x: Tensor): Tensor<'float32'> {
    return avgPool2d(x, this.kernelSize, {
      stride: this.stride, padding: this.padding, ceilMode: this.ceilMode, countIncludePad: this.countIncludePad,
      ...(this.divisorOverride !== null ? { divisorOverride: this.divisorOverride } : {}),
    });
  }
  extraRepr(): string {
    return `kernel_size=${pyTuple(this.kernelSize)}, stride=${pyTuple(this.stride)}, padding=${pyTuple(this.padding)}`;
  }
}

/** Adaptive 2-D average pooling to `outputSize` (PyTorch's `nn.AdaptiveAvgPool2d`; `null` keeps that input size). */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: number | readonly [number | null, number | null]) {
    super();
  }
  forward(x: Tensor): Tensor<'float32'> {
    return adaptiveAvgPool2d(x, this.outputSize);
  }
  extraRepr(): string {
    return `output_size=${pyTuple(this.outputSize)}`;
  }
}

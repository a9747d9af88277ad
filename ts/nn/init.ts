/**
 * Parameter initialisation (PyTorch's `torch.nn.init`): each function fills a tensor in
 * place without recording a graph and returns it. Random ones draw from the seeded
 * generator of `rand`/`randn` (`manualSeed`).
 * @module
 */
import { noGrad } from '../autograd.js';
import { rand, randn, tensor } from '../creation.js';
import { ArgumentError } from '../errors.js';
import { tidy } from '../scope.js';
import type { Tensor } from '../tensor.js';

function fill<T extends Tensor>(name: string, t: T, make: () => Tensor): T {
  if (t.dtype !== 'float32') throw new ArgumentError(`init.${name}: expects a float32 tensor, got ${t.dtype}`);
  noGrad(() => tidy(() => void t.copy_(make())));
  return t;
}

/** Fills `t` with values drawn uniformly from [a, b). */
export function uniform_<T extends Tensor>(t: T, a = 0, b = 1): T {
  return fill('uniform_', t, () => rand(t.shape).mul(b - a).add(a));
}
/** Fills `t` with values drawn from N(mean, std²). */
export function normal_<T extends Tensor>(t: T, mean = 0, std = 1): T {
  return fill('normal_', t, () => randn(t.shape).mul(std).add(mean));
}
/** Fills `t` with `value`. */
export function constant_<T extends Tensor>(t: T, value: number): T {
  noGrad(() => t.fill_(value));
  return t;
}
/** Fills `t` with zeros. */
export function zeros_<T extends Tensor>(t: T): T {
  return constant_(t, 0);
}
/** Fills `t` with ones. */
export function ones_<T extends Tensor>(t: T): T {
  return constant_(t, 1);
}

/** A nonlinearity known to {@link calculateGain}. */
export type Nonlinearity =
  | 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'conv_transpose1d' | 'conv_transpose2d' | 'conv_transpose3d'
  | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';

/** The recommended gain for a nonlinearity (PyTorch's `calculate_gain`); `param` is leaky_relu's slope (default 0.01). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear': case 'conv1d': case 'conv2d': case 'conv3d':
    case 'conv_transpose1d': case 'conv_transpose2d': case 'conv_transpose3d': case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      if (typeof slope !== 'number' || !Number.isFinite(slope)) throw new ArgumentError(`calculateGain: negative slope ${String(slope)} is not a valid number`);
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new ArgumentError(`calculateGain: unsupported nonlinearity ${String(nonlinearity)}`);
  }
}

/** `[fanIn, fanOut]` of a weight `[out, in, …kernel]` (PyTorch's `_calculate_fan_in_and_fan_out`). */
export function fans(name: string, t: Tensor): [number, number] {
  if (t.ndim < 2) {
    throw new ArgumentError(`init.${name}: fan in and fan out can not be computed for a tensor with fewer than 2 dimensions (shape [${t.shape.join(', ')}])`);
  }
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return [t.shape[1]! * receptive, t.shape[0]! * receptive];
}

/** Xavier/Glorot uniform: U(−a, a) with `a = gain·√(6 / (fanIn + fanOut))`. */
export function xavierUniform_<T extends Tensor>(t: T, gain = 1): T {
  const [fanIn, fanOut] = fans('xavierUniform_', t);
  const a = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -a, a);
}
/** Xavier/Glorot normal: N(0, std²) with `std = gain·√(2 / (fanIn + fanOut))`. */
export function xavierNormal_<T extends Tensor>(t: T, gain = 1): T {
  const [fanIn, fanOut] = fans('xavierNormal_', t);
  return normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)));
}

/** `'fan_in'` (default: preserves the forward pass's variance) or `'fan_out'` (the backward pass's). */
export type FanMode = 'fan_in' | 'fan_out';

function kaimingStd(name: string, t: Tensor, a: number, mode: FanMode, nonlinearity: Nonlinearity): number {
  if (mode !== 'fan_in' && mode !== 'fan_out') throw new ArgumentError(`init.${name}: mode must be 'fan_in' or 'fan_out', got ${String(mode)}`);
  const [fanIn, fanOut] = fans(name, t);
  const fan = mode === 'fan_in' ? fanIn : fanOut;
  return calculateGain(nonlinearity, a) / Math.sqrt(fan);
}
/**
 * Kaiming/He uniform: U(−bound, bound) with `bound = gain·√(3 / fan)`; `a` is the negative
 * slope of leaky_relu (PyTorch's layers use `a = √5`, which gives `bound = 1/√fanIn`).
 */
export function kaimingUniform_<T extends Tensor>(t: T, a = 0, mode: FanMode = 'fan_in', nonlinearity: Nonlinearity = 'leaky_relu'): T {
  const bound = Math.sqrt(3) * kaimingStd('kaimingUniform_', t, a, mode, nonlinearity);
  return uniform_(t, -bound, bound);
}
/** Kaiming/He normal: N(0, std²) with `std = gain / √fan`. */
export function kaimingNormal_<T extends Tensor>(t: T, a = 0, mode: FanMode = 'fan_in', nonlinearity: Nonlinearity = 'leaky_relu'): T {
  return normal_(t, 0, kaimingStd('kaimingNormal_', t, a, mode, nonlinearity));
}

/** erf, |error| < 1.5e-7 (Abramowitz and Stegun 7.1.26). */
function erf(x: number): number {
  const s = Math.sign(x);
  const z = Math.abs(x);
  const k = 1 / (1 + 0.3275911 * z);
  const poly = k * (0.254829592 + k * (-0.284496736 + k * (1.421413741 + k * (-1.453152027 + k * 1.061405429))));
  return s * (1 - poly * Math.exp(-z * z));
}
/** The inverse of erf on (−1, 1): Giles' approximation refined by two Newton steps. */
function erfinv(y: number): number {
  if (y <= -1) return -Infinity;
  if (y >= 1) return Infinity;
  let w = -Math.log((1 - y) * (1 + y));
  let x: number;
  if (w < 5) {
    w -= 2.5;
    let p = 2.81022636e-8;
    for (const c of [3.43273939e-7, -3.5233877e-6, -4.39150654e-6, 0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941]) p = c + p * w;
    x = p * y;
  } else {
    w = Math.sqrt(w) - 3;
    let p = -0.000200214257;
    for (const c of [0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682]) p = c + p * w;
    x = p * y;
  }
  for (let i = 0; i < 2; i++) x -= (erf(x) - y) / ((2 / Math.sqrt(Math.PI)) * Math.exp(-x * x));
  return x;
}

/**
 * Normal N(mean, std²) truncated to [a, b] (PyTorch's `trunc_normal_`: uniform values in
 * [Φ(α), Φ(β)] mapped through the inverse normal CDF, then clamped to [a, b]).
 */
export function truncNormal_<T extends Tensor>(t: T, mean = 0, std = 1, a = -2, b = 2): T {
  if (!(a < b)) throw new ArgumentError(`init.truncNormal_: a (${a}) must be less than b (${b})`);
  const cdf = (x: number) => (1 + erf(x / Math.SQRT2)) / 2;
  const lo = 2 * cdf((a - mean) / std) - 1;
  const hi = 2 * cdf((b - mean) / std) - 1;
  return fill('truncNormal_', t, () => {
    const u = rand(t.shape).data();
    const out = new Float32Array(u.length);
    for (let i = 0; i < u.length; i++) {
      const v = mean + std * Math.SQRT2 * erfinv(lo + (hi - lo) * u[i]!);
      out[i] = Math.min(b, Math.max(a, v));
    }
    return tensor(out, { shape: t.shape });
  });
}

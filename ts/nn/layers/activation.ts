/**
 * Activation layers and Dropout, as modules around the tensor ops.
 *
 * The activations' `forward` is typed as returning `Tensor` (any dtype), although they
 * compute float32: these small modules are the ones subclassed to swap the function
 * (`class Leaky extends nn.ReLU { forward(t: Tensor): Tensor { … } }`), and a narrower
 * return type would reject such overrides. Use the ops (`x.relu()`: `Tensor<'float32'>`)
 * for the precise type.
 * @module
 */
import { ArgumentError } from '../../errors.js';
import { where } from '../../ops.js';
import { tidy } from '../../scope.js';
import type { Tensor } from '../../tensor.js';
import { dropout } from '../functional.js';
import { Module, pyFloat } from '../module.js';

/** `max(0, x)` (PyTorch's `nn.ReLU`). */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}
/** `x` for x ≥ 0, `negativeSlope·x` below (PyTorch's `nn.LeakyReLU`, slope 0.01). */
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.leakyRelu(this.negativeSlope);
  }
  extraRepr(): string {
    return `negative_slope=${pyFloat(this.negativeSlope)}`;
  }
}
/** `x` for x > 0, `alpha·(eˣ − 1)` below (PyTorch's `nn.ELU`). */
export class ELU extends Module {
  constructor(readonly alpha = 1) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.elu(this.alpha);
  }
  extraRepr(): string {
    return `alpha=${pyFloat(this.alpha)}`;
  }
}
/** Gaussian error linear unit, exact or `'tanh'`-approximated (PyTorch's `nn.GELU`). */
export class GELU extends Module {
  constructor(readonly approximate: 'none' | 'tanh' = 'none') {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.gelu({ approximate: this.approximate });
  }
  extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}
/** `x·σ(x)` (PyTorch's `nn.SiLU`). */
export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    return x.silu();
  }
}
/** `tanh(x)` (PyTorch's `nn.Tanh`). */
export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return x.tanh();
  }
}
/** `σ(x)` (PyTorch's `nn.Sigmoid`). */
export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}
/** `log(1 + e^(βx)) / β`, and `x` where `βx > threshold` (PyTorch's `nn.Softplus`). */
export class Softplus extends Module {
  constructor(readonly beta = 1, readonly threshold = 20) {
    super();
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const bx = this.beta === 1 ? x : x.mul(this.beta);
      const soft = this.beta === 1 ? bx.softplus() : bx.softplus().div(this.beta);
      return where(bx.gt(this.threshold), x, soft);
    });
  }
  extraRepr(): string {
    return `beta=${this.beta}, threshold=${this.threshold}`;
  }
}
/** Softmax along `dim` (PyTorch's `nn.Softmax`). */
export class Softmax extends Module {
  constructor(readonly dim: number) {
    super();
    if (!Number.isInteger(dim)) throw new ArgumentError(`Softmax: dim must be an integer, got ${String(dim)}`);
  }
  forward(x: Tensor): Tensor {
    return x.softmax(this.dim);
  }
  extraRepr(): string {
    return `dim=${this.dim}`;
  }
}
/** Log-softmax along `dim` (PyTorch's `nn.LogSoftmax`). */
export class LogSoftmax extends Module {
  constructor(readonly dim: number) {
    super();
    if (!Number.isInteger(dim)) throw new ArgumentError(`LogSoftmax: dim must be an integer, got ${String(dim)}`);
  }
  forward(x: Tensor): Tensor {
    return x.logSoftmax(this.dim);
  }
  extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

/**
 * Zeroes elements with probability `p` and scales the rest by `1/(1 − p)` in training
 * mode; the identity (a copy) in eval mode (PyTorch's `nn.Dropout`). Seeded by `manualSeed`.
 */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new ArgumentError(`Dropout: p must be in [0, 1], got ${p}`);
  }
  forward(x: Tensor): Tensor<'float32'> {
    return dropout(x, this.p, this.training);
  }
  extraRepr(): string {
    return `p=${pyFloat(this.p)}, inplace=False`;
  }
}

/**
 * `torch.optim.RMSprop`.
 * @module
 */
import { updateOp } from '../dispatch.js';
import type { Tensor } from '../tensor.js';
import { checkBoolean, nonNegative, Optimizer, type ParamGroup, type Params, type ParamState } from './optimizer.js';

/** Resolved options of {@link RMSprop}. */
export interface RMSpropHyper {
  /** Learning rate (default 1e-2). */
  lr: number;
  /** Smoothing constant of the running averages (default 0.99). */
  alpha: number;
  /** Added to the denominator for numerical stability (default 1e-8). */
  eps: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** Momentum factor (default 0). */
  momentum: number;
  /** Normalize by an estimate of the gradient's variance instead of its second moment (default false). */
  centered: boolean;
  /** Maximize the objective instead of minimizing it. */
  maximize: boolean;
}

/** Options of {@link RMSprop}; all optional. */
export type RMSpropOptions = Partial<RMSpropHyper>;

/**
 * RMSprop — `torch.optim.RMSprop`:
 *
 * ```text
 * g = grad (−grad if maximize) + weightDecay·p
 * v = α·v + (1 − α)·g²
 * centered: gAvg = α·gAvg + (1 − α)·g;  avg = √(v − gAvg²) + eps;  else avg = √v + eps
 * momentum > 0: buf = momentum·buf + g/avg;  p −= lr·buf;   else p −= lr·g/avg
 * ```
 *
 * State per parameter: `step`, `squareAvg`, with momentum `momentumBuffer`, centered
 * `gradAvg` (PyTorch's `square_avg`, `momentum_buffer`, `grad_avg`).
 *
 * @example
 * const opt = new RMSprop(params, { lr: 1e-3, momentum: 0.9, centered: true });
 */
export class RMSprop extends Optimizer<RMSpropHyper> {
  /** @param params tensors, or parameter groups `{ params, ...overrides }`. */
  constructor(params: Params<RMSpropHyper>, options: RMSpropOptions = {}) {
    super(params, {
      lr: options?.lr ?? 1e-2,
      alpha: options?.alpha ?? 0.99,
      eps: options?.eps ?? 1e-8,
      weightDecay: options?.weightDecay ?? 0,
      momentum: options?.momentum ?? 0,
      centered: options?.centered ?? false,
      maximize: options?.maximize ?? false,
    });
  }

  protected override get label(): string {
    return 'RMSprop';
  }
  protected get stateTensorNames(): readonly string[] {
    return ['squareAvg', 'momentumBuffer', 'gradAvg'];
  }

  protected validate(o: RMSpropHyper): void {
    nonNegative('RMSprop', 'Invalid learning rate', o.lr);
    nonNegative('RMSprop', 'Invalid epsilon value', o.eps);
    nonNegative('RMSprop', 'Invalid momentum value', o.momentum);
    nonNegative('RMSprop', 'Invalid weight_decay value', o.weightDecay);
    nonNegative('RMSprop', 'Invalid alpha value', o.alpha);
    checkBoolean('RMSprop', 'centered', o.centered);
    checkBoolean('RMSprop', 'maximize', o.maximize);
  }

  protected prepare(g: ParamGroup<RMSpropHyper>, param: Tensor, state: ParamState): void {
    this.stateTensor(state, 'squareAvg', param);
    if (g.momentum > 0) this.stateTensor(state, 'momentumBuffer', param);
    if (g.centered) this.stateTensor(state, 'gradAvg', param);
  }

  protected update(g: ParamGroup<RMSpropHyper>, param: Tensor, grad: Tensor, state: ParamState): void {
    const squareAvg = this.stateTensor(state, 'squareAvg', param);
    const gradAvg = g.centered ? this.stateTensor(state, 'gradAvg', param) : null;
    const buf = g.momentum > 0 ? this.stateTensor(state, 'momentumBuffer', param) : null;
    updateOp('rmsprop', param, grad, squareAvg, gradAvg, buf, g.lr, g.alpha, g.eps, g.weightDecay, g.momentum, g.centered, g.maximize);
  }
}

/**
 * `torch.optim.Adam` and `torch.optim.AdamW`, with AMSGrad.
 * @module
 */
import { updateOp } from '../dispatch.js';
import { ArgumentError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { checkBoolean, nonNegative, Optimizer, unitInterval, type ParamGroup, type Params, type ParamState } from './optimizer.js';

/** Resolved options of {@link Adam} and {@link AdamW}. */
export interface AdamHyper {
  /** Learning rate (default 1e-3). */
  lr: number;
  /** Decay rates of the gradient's running average and of its square (default [0.9, 0.999]). */
  betas: readonly [number, number];
  /** Added to the denominator for numerical stability (default 1e-8). */
  eps: number;
  /** Adam: L2 penalty added to the gradient (default 0). AdamW: decoupled decay rate (default 1e-2). */
  weightDecay: number;
  /** AMSGrad: normalize by the maximum of the second-moment estimates so far (default false). */
  amsgrad: boolean;
  /** Maximize the objective instead of minimizing it. */
  maximize: boolean;
}

/** Options of {@link Adam} and {@link AdamW}; all optional. */
export type AdamOptions = Partial<AdamHyper>;

/**
 * Adam — `torch.optim.Adam`, with per-parameter step counts for the bias corrections:
 *
 * ```text
 * g = grad (−grad if maximize) + weightDecay·p
 * m = β₁·m + (1 − β₁)·g;   v = β₂·v + (1 − β₂)·g²
 * amsgrad: vmax = max(vmax, v), used instead of v below
 * p −= lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + eps)
 * ```
 *
 * State per parameter: `step`, `expAvg`, `expAvgSq`, and with AMSGrad `maxExpAvgSq`
 * (PyTorch's `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq`).
 *
 * @example
 * const opt = new Adam(params, { lr: 1e-3, betas: [0.9, 0.999] });
 */
export class Adam extends Optimizer<AdamHyper> {
  /** @param params tensors, or parameter groups `{ params, ...overrides }`. */
  constructor(params: Params<AdamHyper>, options: AdamOptions = {}) {
    super(params, {
      lr: options?.lr ?? 1e-3,
      betas: options?.betas ?? [0.9, 0.999],
      eps: options?.eps ?? 1e-8,
      weightDecay: options?.weightDecay ?? 0,
      amsgrad: options?.amsgrad ?? false,
      maximize: options?.maximize ?? false,
    });
  }

  protected override get label(): string {
    return 'Adam';
  }
  /** AdamW decays the parameters directly instead of adding the decay to the gradient. */
  protected get decoupled(): boolean {
    return false;
  }
  protected get stateTensorNames(): readonly string[] {
    return ['expAvg', 'expAvgSq', 'maxExpAvgSq'];
  }

  protected validate(o: AdamHyper): void {
    const op = this.label;
    nonNegative(op, 'Invalid learning rate', o.lr);
    nonNegative(op, 'Invalid epsilon value', o.eps);
    if (!Array.isArray(o.betas) || o.betas.length !== 2) {
      throw new ArgumentError(`${op}: betas must be an array of two numbers, got ${String(o.betas)}`);
    }
    for (const i of [0, 1]) unitInterval(op, `Invalid beta parameter at index ${i}`, o.betas[i]);
    nonNegative(op, 'Invalid weight_decay value', o.weightDecay);
    checkBoolean(op, 'amsgrad', o.amsgrad);
    checkBoolean(op, 'maximize', o.maximize);
  }

  protected prepare(g: ParamGroup<AdamHyper>, param: Tensor, state: ParamState): void {
    this.stateTensor(state, 'expAvg', param);
    this.stateTensor(state, 'expAvgSq', param);
    if (g.amsgrad) this.stateTensor(state, 'maxExpAvgSq', param);
  }

  protected update(g: ParamGroup<AdamHyper>, param: Tensor, grad: Tensor, state: ParamState): void {
    const expAvg = this.stateTensor(state, 'expAvg', param);
    const expAvgSq = this.stateTensor(state, 'expAvgSq', param);
    const maxExpAvgSq = g.amsgrad ? this.stateTensor(state, 'maxExpAvgSq', param) : null;
    const [beta1, beta2] = g.betas;
    updateOp('adam', param, grad, expAvg, expAvgSq, maxExpAvgSq, g.lr, beta1, beta2, g.eps, g.weightDecay, state.step + 1,
      this.decoupled, g.maximize);
  }
}

/**
 * AdamW — `torch.optim.AdamW`: Adam with decoupled weight decay (default 1e-2), applied
 * to the parameter before the update (`p *= 1 − lr·weightDecay`) rather than added to
 * the gradient. Same options (with `amsgrad`) and state as {@link Adam}.
 *
 * @example
 * const opt = new AdamW(params, { lr: 1e-3, weightDecay: 0.01 });
 */
export class AdamW extends Adam {
  /** @param params tensors, or parameter groups `{ params, ...overrides }`. */
  constructor(params: Params<AdamHyper>, options: AdamOptions = {}) {
    super(params, { ...options, weightDecay: options?.weightDecay ?? 1e-2 });
  }

  protected override get label(): string {
    return 'AdamW';
  }
  protected override get decoupled(): boolean {
    return true;
  }
}

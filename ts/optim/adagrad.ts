/**
 * `torch.optim.Adagrad`.
 * @module
 */
import { updateOp } from '../dispatch.js';
import type { Tensor } from '../tensor.js';
import { checkBoolean, nonNegative, Optimizer, type ParamGroup, type Params, type ParamState } from './optimizer.js';

/** Resolved options of {@link Adagrad}. */
export interface AdagradHyper {
  /** Learning rate (default 1e-2). */
  lr: number;
  /** Learning-rate decay: step t uses `lr / (1 + (t − 1)·lrDecay)` (default 0). */
  lrDecay: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** The starting value of the sum of squared gradients (default 0). */
  initialAccumulatorValue: number;
  /** Added to the denominator for numerical stability (default 1e-10). */
  eps: number;
  /** Maximize the objective instead of minimizing it. */
  maximize: boolean;
}

/** Options of {@link Adagrad}; all optional. */
export type AdagradOptions = Partial<AdagradHyper>;

/**
 * Adagrad — `torch.optim.Adagrad` (dense gradients):
 *
 * ```text
 * g = grad (−grad if maximize) + weightDecay·p
 * sum += g²
 * p −= lr/(1 + (t − 1)·lrDecay) · g / (√sum + eps)
 * ```
 *
 * As in PyTorch, the state of every parameter (`step` 0, `sum` filled with
 * `initialAccumulatorValue`) is created by the constructor.
 *
 * @example
 * const opt = new Adagrad(params, { lr: 0.1, lrDecay: 1e-3 });
 */
export class Adagrad extends Optimizer<AdagradHyper> {
  /** @param params tensors, or parameter groups `{ params, ...overrides }`. */
  constructor(params: Params<AdagradHyper>, options: AdagradOptions = {}) {
    super(params, {
      lr: options?.lr ?? 1e-2,
      lrDecay: options?.lrDecay ?? 0,
      weightDecay: options?.weightDecay ?? 0,
      initialAccumulatorValue: options?.initialAccumulatorValue ?? 0,
      eps: options?.eps ?? 1e-10,
      maximize: options?.maximize ?? false,
    });
    try {
      for (const g of this.paramGroups) for (const p of g.params) this.prepare(g, p, this.stateOf(p)[0]);
    } catch (err) {
      this.dispose();
      throw err;
    }
  }

  protected override get label(): string {
    return 'Adagrad';
  }
  protected get stateTensorNames(): readonly string[] {
    return ['sum'];
  }

  protected validate(o: AdagradHyper): void {
    nonNegative('Adagrad', 'Invalid learning rate', o.lr);
    nonNegative('Adagrad', 'Invalid lr_decay value', o.lrDecay);
    nonNegative('Adagrad', 'Invalid weight_decay value', o.weightDecay);
    nonNegative('Adagrad', 'Invalid initial_accumulator_value value', o.initialAccumulatorValue);
    nonNegative('Adagrad', 'Invalid epsilon value', o.eps);
    checkBoolean('Adagrad', 'maximize', o.maximize);
  }

  protected prepare(g: ParamGroup<AdagradHyper>, param: Tensor, state: ParamState): void {
    this.stateTensor(state, 'sum', param, g.initialAccumulatorValue);
  }

  protected update(g: ParamGroup<AdagradHyper>, param: Tensor, grad: Tensor, state: ParamState): void {
    const sum = this.stateTensor(state, 'sum', param, g.initialAccumulatorValue);
    updateOp('adagrad', param, grad, sum, g.lr, g.lrDecay, g.weightDecay, g.eps, state.step + 1, g.maximize);
  }
}

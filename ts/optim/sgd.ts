/**
 * `torch.optim.SGD`.
 * @module
 */
import { updateOp } from '../dispatch.js';
import { ArgumentError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { checkBoolean, finiteNumber, nonNegative, Optimizer, type ParamGroup, type Params, type ParamState } from './optimizer.js';

/** Resolved options of {@link SGD}. */
export interface SGDHyper {
  /** Learning rate. */
  lr: number;
  /** Momentum factor (0 = plain SGD). */
  momentum: number;
  /** Dampening of the momentum: the buffer adds `(1 − dampening)·grad`. */
  dampening: number;
  /** L2 penalty: `weightDecay·param` is added to the gradient. */
  weightDecay: number;
  /** Nesterov momentum (needs momentum > 0 and zero dampening). */
  nesterov: boolean;
  /** Maximize the objective instead of minimizing it. */
  maximize: boolean;
}

/** Options of {@link SGD}: `lr` is required, the rest default to 0 / false. */
export type SGDOptions = Pick<SGDHyper, 'lr'> & Partial<SGDHyper>;

/**
 * Stochastic gradient descent, optionally with momentum, Nesterov momentum, dampening and
 * weight decay — `torch.optim.SGD`:
 *
 * ```text
 * d = grad (−grad if maximize) + weightDecay·p
 * buf = d on the first step, else momentum·buf + (1 − dampening)·d     (if momentum ≠ 0)
 * d = nesterov ? d + momentum·buf : buf                                 (if momentum ≠ 0)
 * p −= lr·d
 * ```
 *
 * State per parameter: `momentumBuffer` (PyTorch's `momentum_buffer`; null in a state
 * dict until momentum was used), no `step`.
 *
 * @example
 * const opt = new SGD([w, b], { lr: 0.01, momentum: 0.9 });
 */
export class SGD extends Optimizer<SGDHyper> {
  /** @param params tensors, or parameter groups `{ params, ...overrides }`. */
  constructor(params: Params<SGDHyper>, options: SGDOptions) {
    super(params, {
      lr: options?.lr,
      momentum: options?.momentum ?? 0,
      dampening: options?.dampening ?? 0,
      weightDecay: options?.weightDecay ?? 0,
      nesterov: options?.nesterov ?? false,
      maximize: options?.maximize ?? false,
    });
  }

  protected override get label(): string {
    return 'SGD';
  }
  protected override get hasStepState(): boolean {
    return false;
  }
  protected get stateTensorNames(): readonly string[] {
    return ['momentumBuffer'];
  }

  protected validate(o: SGDHyper): void {
    nonNegative('SGD', 'Invalid learning rate', o.lr);
    nonNegative('SGD', 'Invalid momentum value', o.momentum);
    finiteNumber('SGD', 'Invalid dampening value', o.dampening);
    nonNegative('SGD', 'Invalid weight_decay value', o.weightDecay);
    checkBoolean('SGD', 'nesterov', o.nesterov);
    checkBoolean('SGD', 'maximize', o.maximize);
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
      throw new ArgumentError('SGD: Nesterov momentum requires a momentum and zero dampening');
    }
  }

  protected prepare(g: ParamGroup<SGDHyper>, param: Tensor, state: ParamState): void {
    if (g.momentum !== 0) this.stateTensor(state, 'momentumBuffer', param);
  }

  protected update(g: ParamGroup<SGDHyper>, param: Tensor, grad: Tensor, state: ParamState): void {
    const useMomentum = g.momentum !== 0;
    const buf = useMomentum ? this.stateTensor(state, 'momentumBuffer', param) : null;
    const fresh = useMomentum && !state.initialized;
    updateOp('sgd', param, grad, buf, g.lr, g.momentum, g.dampening, g.weightDecay, g.nesterov, g.maximize, fresh);
    if (useMomentum) state.initialized = true;
  }
}

/**
 * Optimizers with PyTorch's `torch.optim` semantics: {@link SGD}, {@link Adam} and
 * {@link AdamW}. A step is one fused pass in wasm over each parameter, its gradient and
 * its state; no temporary tensors are created.
 *
 * @example
 * const opt = new Adam([w, b], { lr: 1e-3 });
 * for (const [x, y] of batches) {
 *   tidy(() => {
 *     opt.zeroGrad();
 *     loss(model(x), y).backward();
 *     opt.step();
 *   });
 * }
 * opt.dispose(); // frees the optimizer's state tensors
 * @module
 */
import { zeros } from './creation.js';
import { ArgumentError, DisposedError, DTypeError } from './errors.js';
import { updateOp } from './dispatch.js';
import { keep } from './scope.js';
import { Tensor } from './tensor.js';

/** A parameter group as passed to a constructor: its tensors plus options overriding the defaults. */
export type ParamGroupInput<H> = { params: Iterable<Tensor> } & Partial<H>;

/**
 * What optimizers accept as parameters: tensors (one group), or parameter groups, each
 * with its own option overrides (PyTorch's `[{ params, lr }, …]`).
 */
export type Params<H> = Iterable<Tensor> | Iterable<ParamGroupInput<H>>;

/**
 * A parameter group with every option resolved. The options may be changed between steps
 * (learning-rate schedules: `opt.paramGroups[0].lr = 1e-4`); they are validated again by
 * every step.
 */
export type ParamGroup<H> = H & { params: Tensor[] };

/** The optimizer's state of one parameter: the number of steps that updated it, and its state tensors. */
export interface ParamState {
  /** Steps that updated this parameter (steps where its `grad` was null do not count). */
  step: number;
  /** State tensors by name (`momentumBuffer`; `expAvg`, `expAvgSq`), owned by the optimizer. */
  readonly tensors: Record<string, Tensor>;
  /** @internal SGD: the momentum buffer holds a value (its first step copies the update). */
  initialized: boolean;
}

function checkNumber(op: string, name: string, v: unknown, ok: (v: number) => boolean, rule: string): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) {
    throw new ArgumentError(`${op}: invalid ${name} ${String(v)}; ${rule}`);
  }
}
const nonNegative = (op: string, name: string, v: unknown) =>
  checkNumber(op, name, v, (x) => x >= 0, 'it must be a finite number >= 0');
function checkBoolean(op: string, name: string, v: unknown): void {
  if (typeof v !== 'boolean') throw new ArgumentError(`${op}: ${name} must be a boolean, got ${String(v)}`);
}

/**
 * Base class of the optimizers: parameter groups, per-parameter state owned by the
 * optimizer, `step()`, `zeroGrad()` and `dispose()`.
 *
 * State tensors are created on a parameter's first step with a gradient, are exempt from
 * {@link tidy}, and are freed by {@link Optimizer.dispose} (or `using opt = …`).
 */
export abstract class Optimizer<H extends object> {
  /** The parameter groups, with resolved options. */
  readonly paramGroups: ParamGroup<H>[] = [];
  /** Per-parameter state (PyTorch's `optimizer.state`), created by the first step that updates a parameter. */
  readonly state = new Map<Tensor, ParamState>();
  /** The options groups inherit unless they override them. */
  readonly defaults: Readonly<H>;
  private disposed = false;

  /** @param defaults the resolved default options, validated here. */
  protected constructor(params: Params<H>, defaults: H) {
    this.validate(defaults);
    this.defaults = Object.freeze({ ...defaults });
    const items: unknown[] = params !== null && typeof params === 'object' && Symbol.iterator in params ? [...params] : [];
    if (items.length === 0) throw new ArgumentError(`${this.label}: got an empty parameter list`);
    if (items.every((x) => x instanceof Tensor)) {
      this.addParamGroup({ params: items as Tensor[] } as unknown as ParamGroupInput<H>);
    } else {
      for (const g of items) this.addParamGroup(g as ParamGroupInput<H>);
    }
  }

  /** Name used in error messages (overridden by each optimizer). */
  protected get label(): string {
    return 'Optimizer';
  }
  /** Throws an `ArgumentError` for invalid options. */
  protected abstract validate(options: H): void;
  /** Updates one parameter that has a gradient, creating its state on first use. */
  protected abstract update(group: ParamGroup<H>, param: Tensor, grad: Tensor, state: ParamState): void;
  /** Allocates the state `update` will need (before any parameter changes). */
  protected abstract prepare(group: ParamGroup<H>, param: Tensor, state: ParamState): void;

  /**
   * Adds a parameter group (PyTorch's `add_param_group`); options it does not give come
   * from the defaults. A tensor may belong to one group only.
   */
  addParamGroup(group: ParamGroupInput<H>): void {
    if (group === null || typeof group !== 'object' || !('params' in group)) {
      throw new ArgumentError(`${this.label}: parameters must be tensors or groups of the form { params: [...], ...options }`);
    }
    const { params, ...overrides } = group;
    const list = params instanceof Tensor ? [params] : [...params];
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    for (const p of list) {
      if (!(p instanceof Tensor)) throw new ArgumentError(`${this.label}: can only optimize Tensors, got ${String(p)}`);
      if (p.isDisposed) throw new DisposedError(`${this.label}: a parameter was disposed`);
      if (p.dtype !== 'float32') throw new DTypeError(`${this.label}: can only optimize float32 tensors, got ${p.dtype}`);
      if (!p.isLeaf) throw new ArgumentError(`${this.label}: can't optimize a non-leaf Tensor`);
      if (seen.has(p)) throw new ArgumentError(`${this.label}: some parameters appear more than once (in one or several groups)`);
      seen.add(p);
    }
    const resolved = { ...this.defaults } as H;
    for (const [k, v] of Object.entries(overrides)) {
      if (v !== undefined) (resolved as Record<string, unknown>)[k] = v;
    }
    this.validate(resolved);
    this.paramGroups.push({ ...resolved, params: list });
  }

  /**
   * Updates every parameter that has a gradient (parameters whose `grad` is null are
   * skipped). Works with grad mode on or off; it never records a graph. Parameters are
   * changed in place, so a graph that saved them cannot be backpropagated afterwards.
   */
  step(): void {
    if (this.disposed) throw new DisposedError(`${this.label}.step: the optimizer was disposed`);
    // Everything that allocates (gradient views, new state) happens before any parameter
    // changes, so an OutOfMemoryError leaves all parameters as they were, not half-updated.
    // If that fails, the state it created is taken back too: the optimizer is as it was.
    const work: [ParamGroup<H>, Tensor, Tensor, ParamState][] = [];
    const undo: (() => void)[] = [];
    try {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          const grad = p.grad;
          if (grad === null) continue;
          let state = this.state.get(p);
          if (state === undefined) {
            state = { step: 0, tensors: {}, initialized: false };
            this.state.set(p, state);
            undo.push(() => this.state.delete(p));
          }
          const had = new Set(Object.keys(state.tensors));
          const s = state;
          undo.push(() => {
            for (const [k, t] of Object.entries(s.tensors)) {
              if (!had.has(k)) {
                t.dispose();
                delete s.tensors[k];
              }
            }
          });
          this.prepare(group, p, state);
          work.push([group, p, grad, state]);
        }
      }
    } catch (err) {
      for (const f of undo.reverse()) f();
      throw err;
    }
    for (const [group, p, grad, state] of work) {
      this.update(group, p, grad, state);
      state.step += 1;
    }
  }

  /**
   * Resets the gradients of all parameters: sets them to null (`setToNone`, the default,
   * as PyTorch 2's `zero_grad()`), or fills them with zeros in place.
   */
  zeroGrad({ setToNone = true }: { setToNone?: boolean } = {}): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (setToNone) p.grad = null;
        else p.grad?.zero_();
      }
    }
  }

  /** Frees the optimizer's state tensors (idempotent); a disposed optimizer cannot `step()`. */
  dispose(): void {
    for (const s of this.state.values()) for (const t of Object.values(s.tensors)) t.dispose();
    this.state.clear();
    this.disposed = true;
  }

  /** True once `dispose()` ran. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** `using opt = new Adam(…)` frees the state at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** @internal A state tensor of `param`'s shape, zero-filled and owned by this optimizer. */
  protected stateTensor(state: ParamState, name: string, param: Tensor): Tensor {
    return (state.tensors[name] ??= keep(zeros(param.shape)));
  }
}

// ---- SGD --------------------------------------------------------------------------------

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

  protected validate(o: SGDHyper): void {
    nonNegative('SGD', 'learning rate (lr)', o.lr);
    nonNegative('SGD', 'momentum', o.momentum);
    checkNumber('SGD', 'dampening', o.dampening, () => true, 'it must be a finite number');
    nonNegative('SGD', 'weightDecay', o.weightDecay);
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

// ---- Adam / AdamW -------------------------------------------------------------------------

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
  /** Maximize the objective instead of minimizing it. */
  maximize: boolean;
}

/** Options of {@link Adam} and {@link AdamW}; all optional. */
export type AdamOptions = Partial<AdamHyper>;

/**
 * Adam — `torch.optim.Adam` (without AMSGrad), with per-parameter step counts for the
 * bias corrections:
 *
 * ```text
 * g = grad (−grad if maximize) + weightDecay·p
 * m = β₁·m + (1 − β₁)·g;   v = β₂·v + (1 − β₂)·g²
 * p −= lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + eps)
 * ```
 *
 * @example
 * const opt = new Adam(params, { lr: 1e-3, betas: [0.9, 0.999] });
 */
export class Adam extends Optimizer<AdamHyper> {
  /** @param params tensors, or parameter groups `{ params, ...overrides }`. */
  constructor(params: Params<AdamHyper>, options: AdamOptions = {}) {
    if ((options as { amsgrad?: unknown })?.amsgrad) {
      throw new ArgumentError('Adam: amsgrad is not supported');
    }
    super(params, {
      lr: options?.lr ?? 1e-3,
      betas: options?.betas ?? [0.9, 0.999],
      eps: options?.eps ?? 1e-8,
      weightDecay: options?.weightDecay ?? 0,
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

  protected validate(o: AdamHyper): void {
    const op = this.label;
    nonNegative(op, 'learning rate (lr)', o.lr);
    if (!Array.isArray(o.betas) || o.betas.length !== 2) {
      throw new ArgumentError(`${op}: betas must be an array of two numbers, got ${String(o.betas)}`);
    }
    for (const i of [0, 1]) checkNumber(op, `beta parameter at index ${i}`, o.betas[i], (b) => b >= 0 && b < 1, 'it must be in [0, 1)');
    nonNegative(op, 'epsilon (eps)', o.eps);
    nonNegative(op, 'weightDecay', o.weightDecay);
    checkBoolean(op, 'maximize', o.maximize);
  }

  protected prepare(_g: ParamGroup<AdamHyper>, param: Tensor, state: ParamState): void {
    this.stateTensor(state, 'expAvg', param);
    this.stateTensor(state, 'expAvgSq', param);
  }

  protected update(g: ParamGroup<AdamHyper>, param: Tensor, grad: Tensor, state: ParamState): void {
    const expAvg = this.stateTensor(state, 'expAvg', param);
    const expAvgSq = this.stateTensor(state, 'expAvgSq', param);
    const [beta1, beta2] = g.betas;
    updateOp('adam', param, grad, expAvg, expAvgSq, g.lr, beta1, beta2, g.eps, g.weightDecay, state.step + 1, this.decoupled, g.maximize);
  }
}

/**
 * AdamW — `torch.optim.AdamW`: Adam with decoupled weight decay (default 1e-2), applied
 * to the parameter before the update (`p *= 1 − lr·weightDecay`) rather than added to
 * the gradient.
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

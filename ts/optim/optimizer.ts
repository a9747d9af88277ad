/**
 * The optimizer base class: parameter groups, per-parameter state owned by the optimizer,
 * `step()`, `zeroGrad()`, `stateDict()` / `loadStateDict()` and `dispose()`.
 * @module
 */
import '../polyfill.js';
import { noGrad } from '../autograd.js';
import { full } from '../creation.js';
import { ArgumentError, DisposedError, DTypeError, ShapeError } from '../errors.js';
import { keep } from '../scope.js';
import { Tensor } from '../tensor.js';

/** A parameter group as passed to a constructor: its tensors plus options overriding the defaults. */
export type ParamGroupInput<H> = { params: Iterable<Tensor> } & Partial<H>;

/**
 * What optimizers accept as parameters: tensors (one group), or parameter groups, each
 * with its own option overrides (PyTorch's `[{ params, lr }, …]`).
 */
export type Params<H> = Iterable<Tensor> | Iterable<ParamGroupInput<H>>;

/**
 * Keys learning-rate schedulers add to a parameter group (PyTorch's `initial_lr`,
 * `max_lr`, `min_lr`, `max_momentum`, `base_momentum`). They are saved by `stateDict()`.
 */
export interface SchedulerGroupFields {
  /** The learning rate a schedule starts from (set by the first scheduler attached). */
  initialLr?: number;
  /** {@link lrScheduler.OneCycleLR}'s peak and final learning rates. */
  maxLr?: number;
  minLr?: number;
  /** {@link lrScheduler.OneCycleLR}'s momentum (or beta1) bounds. */
  maxMomentum?: number;
  baseMomentum?: number;
}

/**
 * A parameter group with every option resolved. The options may be changed between steps
 * (learning-rate schedules: `opt.paramGroups[0].lr = 1e-4`); every step validates them
 * again before it changes anything.
 */
export type ParamGroup<H> = H & SchedulerGroupFields & { params: Tensor[] };

/** The optimizer's state of one parameter: the number of steps that updated it, and its state tensors. */
export interface ParamState {
  /** Steps that updated this parameter (steps where its `grad` was null do not count). */
  step: number;
  /**
   * State tensors by name (`momentumBuffer`; `expAvg`, `expAvgSq`, `maxExpAvgSq`;
   * `squareAvg`, `gradAvg`; `sum`), owned by the optimizer.
   */
  readonly tensors: Record<string, Tensor>;
  /** @internal SGD: the momentum buffer holds a value (its first step copies the update). */
  initialized: boolean;
}

/**
 * One parameter's entry in a state dict: `step` (a number; SGD has none) and the state
 * tensors by camelCased name (SGD's `momentumBuffer` is null before momentum was used,
 * as PyTorch's `None`).
 */
export type ParamStateDict = Record<string, Tensor | number | null>;

/** A saved parameter group: its options (plus scheduler keys) and the indices of its parameters. */
export type ParamGroupStateDict = Record<string, unknown> & { params: number[] };

/**
 * An optimizer's state in PyTorch's layout (`optimizer.state_dict()`), keys camelCased:
 * per-parameter state by parameter index (indices count the parameters of all groups in
 * order), and the parameter groups with their options. {@link toPyTorchNames} renames
 * the keys to PyTorch's.
 */
export interface OptimizerStateDict {
  state: Record<number, ParamStateDict>;
  paramGroups: ParamGroupStateDict[];
}

function checkNumber(op: string, message: string, v: unknown, ok: (v: number) => boolean): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) {
    throw new ArgumentError(`${op}: ${message}: ${Array.isArray(v) ? `[${v.join(', ')}]` : String(v)}`);
  }
}

/**
 * @internal Checks a hyper-parameter with PyTorch's message (`Invalid learning rate: -1`);
 * non-finite numbers (which PyTorch lets through to the update) are rejected too.
 */
export function nonNegative(op: string, message: string, v: unknown): void {
  checkNumber(op, message, v, (x) => x >= 0);
}
/** @internal A finite number, PyTorch's message otherwise. */
export function finiteNumber(op: string, message: string, v: unknown): void {
  checkNumber(op, message, v, () => true);
}
/** @internal A number in [0, 1), PyTorch's message otherwise. */
export function unitInterval(op: string, message: string, v: unknown): void {
  checkNumber(op, message, v, (x) => x >= 0 && x < 1);
}
/** @internal A boolean option. */
export function checkBoolean(op: string, name: string, v: unknown): void {
  if (typeof v !== 'boolean') throw new ArgumentError(`${op}: ${name} must be a boolean, got ${String(v)}`);
}

const copyValue = (v: unknown): unknown => (Array.isArray(v) ? [...v] : v);

/**
 * Base class of the optimizers: parameter groups, per-parameter state owned by the
 * optimizer, `step()`, `zeroGrad()`, state dicts and `dispose()`.
 *
 * State tensors are created on a parameter's first step with a gradient (Adagrad's at
 * construction, as in PyTorch), are exempt from {@link tidy}, and are freed by
 * {@link Optimizer.dispose} (or `using opt = …`).
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
    if (items.length === 0) throw new ArgumentError(`${this.label}: optimizer got an empty parameter list`);
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
  /** The names of the state tensors this optimizer may keep (what `loadStateDict` accepts). */
  protected abstract get stateTensorNames(): readonly string[];
  /** Whether the per-parameter state has a `step` (all but SGD, as in PyTorch). */
  protected get hasStepState(): boolean {
    return true;
  }

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
      if (!(p instanceof Tensor)) throw new ArgumentError(`${this.label}: optimizer can only optimize Tensors, got ${String(p)}`);
      if (p.isDisposed) throw new DisposedError(`${this.label}: a parameter was disposed`);
      if (p.dtype !== 'float32') throw new DTypeError(`${this.label}: can only optimize float32 tensors, got ${p.dtype}`);
      if (!p.isLeaf) throw new ArgumentError(`${this.label}: can't optimize a non-leaf Tensor`);
      if (seen.has(p)) throw new ArgumentError(`${this.label}: some parameters appear in more than one parameter group (or twice in one)`);
      seen.add(p);
    }
    const resolved = { ...this.defaults } as H;
    for (const [k, v] of Object.entries(overrides)) {
      if (v !== undefined) (resolved as Record<string, unknown>)[k] = v;
    }
    this.validate(resolved);
    this.paramGroups.push({ ...resolved, params: list } as ParamGroup<H>);
  }

  /**
   * Updates every parameter that has a gradient (parameters whose `grad` is null are
   * skipped). Works with grad mode on or off; it never records a graph. Parameters are
   * changed in place, so a graph that saved them cannot be backpropagated afterwards.
   */
  step(): void {
    this.assertUsable('step');
    // Everything that allocates (gradient views, new state) happens before any parameter
    // changes, so an OutOfMemoryError leaves all parameters as they were, not half-updated.
    // If that fails, the state it created is taken back too: the optimizer is as it was.
    // Options may have been changed since construction: all groups are checked before any
    // parameter changes, so a bad value in a later group cannot leave an earlier one updated.
    for (const group of this.paramGroups) this.validate(group);
    const work: [ParamGroup<H>, Tensor, Tensor, ParamState][] = [];
    const undo: (() => void)[] = [];
    try {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          const grad = p.grad;
          if (grad === null) continue;
          const [state, created] = this.stateOf(p);
          if (created) undo.push(() => this.state.delete(p));
          const had = new Set(Object.keys(state.tensors));
          undo.push(() => {
            for (const [k, t] of Object.entries(state.tensors)) {
              if (!had.has(k)) {
                t.dispose();
                delete state.tensors[k];
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

  /**
   * The optimizer's state in PyTorch's layout (`state_dict()`), keys camelCased:
   * `{ state: { [paramIndex]: { step, expAvg, … } }, paramGroups: [{ lr, betas, …, params: [0, 1, …] }] }`.
   * Parameters are numbered across the groups in order; only parameters that have state
   * appear in `state`.
   *
   * The tensors in it are **copies owned by the caller** (dispose them, or let the
   * enclosing {@link tidy} do it); later steps do not change them. Numbers and arrays are
   * copies too.
   */
  stateDict(): OptimizerStateDict {
    this.assertUsable('stateDict');
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((g) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(g)) if (k !== 'params') out[k] = copyValue(v);
      const params = g.params.map((p) => {
        index.set(p, index.size);
        return index.size - 1;
      });
      return { ...out, params } as ParamGroupStateDict;
    });
    const state: Record<number, ParamStateDict> = {};
    const made: Tensor[] = [];
    try {
      for (const [p, s] of this.state) {
        const i = index.get(p);
        if (i === undefined) continue;
        const entry: ParamStateDict = {};
        if (this.hasStepState) entry.step = s.step;
        for (const name of this.stateTensorNames) {
          const t = s.tensors[name];
          if (t !== undefined) {
            const copy = noGrad(() => t.clone());
            made.push(copy);
            entry[name] = copy;
          } else if (!this.hasStepState) {
            entry[name] = null; // SGD's momentum_buffer before it holds a value
          }
        }
        state[i] = entry;
      }
    } catch (err) {
      for (const t of made) t.dispose();
      throw err;
    }
    return { state, paramGroups };
  }

  /**
   * Loads a state saved by {@link stateDict} (PyTorch's `load_state_dict`), so training
   * resumes exactly: the saved per-parameter state replaces the current one, and each
   * group takes the saved options (its parameters stay its own).
   *
   * The groups must match in number and size, each state tensor must be float32 with its
   * parameter's shape, and the state names must be this optimizer's; otherwise it throws
   * (`ArgumentError`, `ShapeError`, `DTypeError`) and nothing changes. Tensors are copied
   * in: the caller keeps ownership of the ones it passed.
   */
  loadStateDict(stateDict: OptimizerStateDict): void {
    this.assertUsable('loadStateDict');
    const op = `${this.label}.loadStateDict`;
    if (stateDict === null || typeof stateDict !== 'object' || !Array.isArray(stateDict.paramGroups) ||
      stateDict.state === null || typeof stateDict.state !== 'object') {
      throw new ArgumentError(`${op}: expected { state, paramGroups } as returned by stateDict()`);
    }
    const saved = stateDict.paramGroups;
    if (saved.length !== this.paramGroups.length) {
      throw new ArgumentError(`${op}: loaded state dict has a different number of parameter groups (${saved.length}, the optimizer has ${this.paramGroups.length})`);
    }
    const idMap = new Map<number, Tensor>();
    const resolved: H[] = [];
    this.paramGroups.forEach((g, gi) => {
      const s = saved[gi]!;
      if (s === null || typeof s !== 'object' || !Array.isArray(s.params) || s.params.length !== g.params.length) {
        throw new ArgumentError(`${op}: loaded state dict contains a parameter group that doesn't match the size of optimizer's group (group ${gi}: ${Array.isArray(s?.params) ? s.params.length : 'no'} parameters, the optimizer's has ${g.params.length})`);
      }
      s.params.forEach((id, k) => idMap.set(id, g.params[k]!));
      const options: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(g)) if (k !== 'params') options[k] = v;
      for (const [k, v] of Object.entries(s)) if (k !== 'params' && v !== undefined) options[k] = copyValue(v);
      this.validate(options as H);
      resolved.push(options as H);
    });
    const allowed = new Set<string>(this.stateTensorNames);
    const entries: [Tensor, ParamStateDict][] = [];
    for (const [key, entry] of Object.entries(stateDict.state)) {
      const p = idMap.get(Number(key));
      if (p === undefined) throw new ArgumentError(`${op}: the state of parameter ${key} belongs to no parameter group`);
      if (entry === null || typeof entry !== 'object') throw new ArgumentError(`${op}: the state of parameter ${key} must be an object`);
      for (const [name, v] of Object.entries(entry)) {
        if (name === 'step' && this.hasStepState) {
          if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
            throw new ArgumentError(`${op}: parameter ${key}: step must be a whole number >= 0, got ${String(v)}`);
          }
          continue;
        }
        if (!allowed.has(name)) {
          const names = [...(this.hasStepState ? ['step'] : []), ...allowed].join(', ');
          throw new ArgumentError(`${op}: parameter ${key}: unknown state '${name}' (${this.label} keeps ${names}; see toPyTorchNames for PyTorch's names)`);
        }
        if (v === null && !this.hasStepState) continue;
        if (!(v instanceof Tensor)) throw new ArgumentError(`${op}: parameter ${key}: ${name} must be a Tensor, got ${String(v)}`);
        if (v.isDisposed) throw new DisposedError(`${op}: parameter ${key}: ${name} was disposed`);
        if (v.dtype !== 'float32') throw new DTypeError(`${op}: parameter ${key}: ${name} must be float32, got ${v.dtype}`);
        const [a, b] = [v.shape, p.shape];
        if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
          throw new ShapeError(`${op}: parameter ${key}: ${name} has shape [${a.join(', ')}], the parameter has shape [${b.join(', ')}]`);
        }
      }
      entries.push([p, entry]);
    }
    // Copy everything in before changing anything: a failed copy leaves the optimizer as it was.
    const fresh = new Map<Tensor, ParamState>();
    try {
      for (const [p, entry] of entries) {
        const state: ParamState = { step: this.hasStepState ? Number(entry.step ?? 0) : 0, tensors: {}, initialized: false };
        for (const [name, v] of Object.entries(entry)) {
          if (v instanceof Tensor) {
            state.tensors[name] = keep(noGrad(() => v.clone()));
            state.initialized = true;
          }
        }
        fresh.set(p, state);
      }
    } catch (err) {
      for (const s of fresh.values()) for (const t of Object.values(s.tensors)) t.dispose();
      throw err;
    }
    for (const s of this.state.values()) for (const t of Object.values(s.tensors)) t.dispose();
    this.state.clear();
    for (const [p, s] of fresh) this.state.set(p, s);
    this.paramGroups.forEach((g, gi) => Object.assign(g, resolved[gi]));
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

  /** @internal Throws DisposedError once the optimizer was disposed. */
  protected assertUsable(what: string): void {
    if (this.disposed) throw new DisposedError(`${this.label}.${what}: the optimizer was disposed`);
  }

  /** @internal `param`'s state, created empty if it has none (and whether it was created). */
  protected stateOf(param: Tensor): [ParamState, boolean] {
    let state = this.state.get(param);
    if (state !== undefined) return [state, false];
    state = { step: 0, tensors: {}, initialized: false };
    this.state.set(param, state);
    return [state, true];
  }

  /** @internal A state tensor of `param`'s shape, filled with `value` (0) and owned by this optimizer. */
  protected stateTensor(state: ParamState, name: string, param: Tensor, value = 0): Tensor {
    return (state.tensors[name] ??= keep(full(param.shape, value)));
  }
}

const snake = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const camel = (k: string): string => k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function renameKeys<T>(sd: OptimizerStateDict, rename: (k: string) => string, stateKey: string, groupsKey: string): T {
  const state: Record<number, Record<string, unknown>> = {};
  for (const [i, entry] of Object.entries(sd.state)) {
    state[Number(i)] = Object.fromEntries(Object.entries(entry).map(([k, v]) => [rename(k), v]));
  }
  const groups = sd.paramGroups.map((g) => Object.fromEntries(Object.entries(g).map(([k, v]) => [k === 'params' ? k : rename(k), v])));
  return { [stateKey]: state, [groupsKey]: groups } as T;
}

/** A state dict with PyTorch's key names (`exp_avg_sq`, `weight_decay`, `param_groups`). */
export interface PyTorchOptimizerStateDict {
  state: Record<number, Record<string, Tensor | number | null>>;
  param_groups: (Record<string, unknown> & { params: number[] })[];
}

/**
 * Renames a state dict's keys to PyTorch's snake_case names (`paramGroups` →
 * `param_groups`, `expAvg` → `exp_avg`, `expAvgSq` → `exp_avg_sq`, `maxExpAvgSq` →
 * `max_exp_avg_sq`, `momentumBuffer` → `momentum_buffer`, `squareAvg` → `square_avg`,
 * `gradAvg` → `grad_avg`, `weightDecay` → `weight_decay`, `lrDecay` → `lr_decay`,
 * `initialAccumulatorValue` → `initial_accumulator_value`, `initialLr` → `initial_lr`, …;
 * `step`, `sum`, `lr`, `betas`, … are the same), for a checkpoint PyTorch reads. The
 * tensors are the same objects, not copies.
 */
export function toPyTorchNames(sd: OptimizerStateDict): PyTorchOptimizerStateDict {
  return renameKeys(sd, snake, 'state', 'param_groups');
}

/** PyTorch's group flags that choose its implementation, with no meaning here. */
const PYTORCH_ONLY = new Set(['foreach', 'differentiable', 'capturable', 'fused']);

/**
 * The inverse of {@link toPyTorchNames}: a PyTorch-named state dict (e.g. read from a
 * checkpoint PyTorch saved) with wasmgrad's keys, for `loadStateDict`. PyTorch's
 * implementation flags (`foreach`, `differentiable`, `capturable`, `fused`) are dropped.
 */
export function fromPyTorchNames(sd: PyTorchOptimizerStateDict): OptimizerStateDict {
  const groups = sd.param_groups.map((g) => Object.fromEntries(Object.entries(g).filter(([k]) => !PYTORCH_ONLY.has(k))));
  return renameKeys({ state: sd.state, paramGroups: groups } as OptimizerStateDict, camel, 'state', 'paramGroups');
}

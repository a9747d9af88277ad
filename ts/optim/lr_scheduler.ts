/**
 * Learning-rate schedulers with `torch.optim.lr_scheduler` semantics (PyTorch 1.13): each
 * `step()` sets the `lr` of every parameter group, computed as PyTorch's `get_lr` does (the
 * recursive, chainable form: from the group's current `lr`), so the values match
 * PyTorch's to the last bit of a double or within an ulp or two where `Math.cos`/`**`
 * round differently from C's.
 *
 * Exported as the `lrScheduler` namespace:
 *
 * @example
 * import { lrScheduler, SGD } from 'wasmgrad';
 * const opt = new SGD(params, { lr: 0.1, momentum: 0.9 });
 * const sched = new lrScheduler.StepLR(opt, { stepSize: 30, gamma: 0.1 });
 * for (let epoch = 0; epoch < 100; epoch++) {
 *   train(opt);        // opt.step() for each batch
 *   sched.step();      // after the optimizer's steps, as in PyTorch
 * }
 * @module
 */
import { ArgumentError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { Optimizer } from './optimizer.js';

/** The group fields schedulers read and write. */
interface Group {
  lr: number;
  initialLr?: number;
  maxLr?: number;
  minLr?: number;
  maxMomentum?: number;
  baseMomentum?: number;
  momentum?: number;
  betas?: readonly [number, number];
  params: Tensor[];
  [key: string]: unknown;
}

/** Any optimizer (schedulers only read and write its groups' options). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyOptimizer = Optimizer<any>;

/** A scheduler's state: its fields by camelCased name (PyTorch's `__dict__` without the optimizer). */
export type SchedulerStateDict = Record<string, unknown>;

const clone = <T>(v: T): T => (v === null || typeof v !== 'object' ? v : (structuredClone(v) as T));

function positiveInt(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
    throw new ArgumentError(`${op}: Expected positive integer ${name}, but got ${String(v)}`);
  }
  return v;
}
function finite(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ArgumentError(`${op}: ${name} must be a finite number, got ${String(v)}`);
  return v;
}

/** Python's `bisect_right` on a sorted array. */
function bisectRight(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x < a[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Base class of the schedulers (PyTorch's `_LRScheduler`). The first scheduler attached
 * to an optimizer records each group's starting rate as `initialLr`; `baseLrs` are those.
 * Constructing a scheduler performs its first step (epoch 0), as in PyTorch.
 */
export abstract class LRScheduler {
  /** The optimizer whose learning rates this scheduler sets. */
  readonly optimizer: AnyOptimizer;
  /** Each group's `initialLr`. */
  baseLrs: number[];
  /** The index of the last epoch (step); -1 before the first. */
  lastEpoch: number;
  /** How many times `step()` ran, the constructor's included (PyTorch's `_step_count`). */
  stepCount = 0;
  /** The learning rates the last step set. */
  protected lastLr: number[] = [];

  /**
   * Subclasses set their own fields, then call {@link initialStep}.
   * @param lastEpoch -1 to start; a later epoch resumes (each group needs `initialLr`).
   */
  protected constructor(optimizer: AnyOptimizer, lastEpoch: number = -1) {
    if (!(optimizer instanceof Optimizer)) {
      throw new ArgumentError(`${this.constructor.name}: ${describe(optimizer)} is not an Optimizer`);
    }
    if (!Number.isSafeInteger(lastEpoch) || lastEpoch < -1) {
      throw new ArgumentError(`${this.constructor.name}: lastEpoch must be an integer >= -1, got ${String(lastEpoch)}`);
    }
    this.optimizer = optimizer;
    const groups = this.groups;
    if (lastEpoch === -1) {
      for (const g of groups) g.initialLr ??= g.lr;
    } else {
      groups.forEach((g, i) => {
        if (g.initialLr === undefined) {
          throw new ArgumentError(`${this.constructor.name}: param 'initialLr' is not specified in paramGroups[${i}] when resuming an optimizer`);
        }
      });
    }
    this.baseLrs = groups.map((g) => g.initialLr!);
    this.lastEpoch = lastEpoch;
  }

  /** @internal The optimizer's groups, as the fields schedulers use. */
  protected get groups(): Group[] {
    return this.optimizer.paramGroups as unknown as Group[];
  }

  /** The learning rates for epoch `lastEpoch`, from the current ones (PyTorch's chainable `get_lr`). */
  protected abstract getLr(): number[];
  /** The closed form for epoch `lastEpoch`, where PyTorch has one (`_get_closed_form_lr`). */
  protected closedFormLr(): number[] | null {
    return null;
  }

  /** @internal PyTorch's `_initial_step`: resets the step count and performs the first step. */
  initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /** Advances one epoch (or batch) and sets each group's `lr` for it. */
  step(): void {
    this.stepCount += 1;
    this.lastEpoch += 1;
    let values: number[];
    try {
      values = this.getLr();
    } catch (err) {
      this.stepCount -= 1;
      this.lastEpoch -= 1;
      throw err;
    }
    this.apply(values);
  }

  /** @internal `step(epoch)` (deprecated in PyTorch; SequentialLR uses it at milestones): the closed form if there is one. */
  stepTo(epoch: number): void {
    this.stepCount += 1;
    this.lastEpoch = epoch;
    this.apply(this.closedFormLr() ?? this.getLr());
  }

  private apply(values: number[]): void {
    const groups = this.groups;
    groups.forEach((g, i) => {
      if (i < values.length) g.lr = values[i]!;
    });
    this.lastLr = groups.map((g) => g.lr);
  }

  /** The learning rates the last step set, one per group (PyTorch's `get_last_lr()`). */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  /**
   * The scheduler's state: every field but the optimizer (PyTorch's `state_dict()`, keys
   * camelCased: `baseLrs`, `lastEpoch`, `stepCount`, `lastLr`, and the constructor's
   * options such as `stepSize`, `gamma`). Plain data (JSON-serializable), copied.
   */
  stateDict(): SchedulerStateDict {
    const out: SchedulerStateDict = {};
    for (const [k, v] of Object.entries(this)) if (k !== 'optimizer') out[k] = clone(v);
    return out;
  }

  /** Restores a state from {@link stateDict} (an object of this scheduler's fields; unknown keys throw). */
  loadStateDict(state: SchedulerStateDict): void {
    if (state === null || typeof state !== 'object') throw new ArgumentError(`${this.constructor.name}.loadStateDict: expected an object`);
    const own = new Set(Object.keys(this));
    for (const k of Object.keys(state)) {
      if (k === 'optimizer' || !own.has(k)) throw new ArgumentError(`${this.constructor.name}.loadStateDict: unknown key '${k}'`);
    }
    for (const [k, v] of Object.entries(state)) (this as Record<string, unknown>)[k] = clone(v);
  }
}

function describe(v: unknown): string {
  return v === null ? 'null' : typeof v === 'object' ? (v.constructor?.name ?? 'object') : typeof v;
}

/** Options of {@link StepLR}. */
export interface StepLROptions {
  /** Period of learning-rate decay, in epochs. */
  stepSize: number;
  /** Multiplicative factor of the decay (default 0.1). */
  gamma?: number;
  /** Resume from this epoch (default -1: start). */
  lastEpoch?: number;
}

/** Multiplies each group's learning rate by `gamma` every `stepSize` epochs (`torch.optim.lr_scheduler.StepLR`). */
export class StepLR extends LRScheduler {
  stepSize: number;
  gamma: number;

  constructor(optimizer: AnyOptimizer, options: StepLROptions) {
    const stepSize = positiveInt('StepLR', 'stepSize', options?.stepSize);
    const gamma = finite('StepLR', 'gamma', options?.gamma ?? 0.1);
    super(optimizer, options?.lastEpoch);
    this.stepSize = stepSize;
    this.gamma = gamma;
    this.initialStep();
  }

  protected getLr(): number[] {
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * this.gamma);
  }
  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** Math.floor(this.lastEpoch / this.stepSize));
  }
}

/** Options of {@link MultiStepLR}. */
export interface MultiStepLROptions {
  /** Epochs at which to decay (a milestone given twice decays twice). */
  milestones: readonly number[];
  /** Multiplicative factor of the decay (default 0.1). */
  gamma?: number;
  lastEpoch?: number;
}

/** Multiplies each group's learning rate by `gamma` at each milestone (`torch.optim.lr_scheduler.MultiStepLR`). */
export class MultiStepLR extends LRScheduler {
  /** The milestones, sorted (with repeats; PyTorch keeps a `Counter`). */
  milestones: number[];
  gamma: number;

  constructor(optimizer: AnyOptimizer, options: MultiStepLROptions) {
    const ms = options?.milestones;
    if (!Array.isArray(ms) || ms.some((m) => !Number.isSafeInteger(m))) {
      throw new ArgumentError(`MultiStepLR: milestones must be an array of integers, got ${String(ms)}`);
    }
    const gamma = finite('MultiStepLR', 'gamma', options?.gamma ?? 0.1);
    super(optimizer, options?.lastEpoch);
    this.milestones = [...ms].sort((a, b) => a - b);
    this.gamma = gamma;
    this.initialStep();
  }

  protected getLr(): number[] {
    const count = this.milestones.filter((m) => m === this.lastEpoch).length;
    if (count === 0) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * this.gamma ** count);
  }
  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** bisectRight(this.milestones, this.lastEpoch));
  }
}

/** Options of {@link ConstantLR}. */
export interface ConstantLROptions {
  /** The factor applied until `totalIters` (default 1/3). */
  factor?: number;
  /** The number of epochs the factor applies (default 5). */
  totalIters?: number;
  lastEpoch?: number;
}

/** Multiplies the learning rate by `factor` for the first `totalIters` epochs (`torch.optim.lr_scheduler.ConstantLR`). */
export class ConstantLR extends LRScheduler {
  factor: number;
  totalIters: number;

  constructor(optimizer: AnyOptimizer, options: ConstantLROptions = {}) {
    const factor = finite('ConstantLR', 'factor', options?.factor ?? 1 / 3);
    if (factor > 1 || factor < 0) throw new ArgumentError('ConstantLR: Constant multiplicative factor expected to be between 0 and 1.');
    const totalIters = positiveInt('ConstantLR', 'totalIters', options?.totalIters ?? 5);
    super(optimizer, options?.lastEpoch);
    this.factor = factor;
    this.totalIters = totalIters;
    this.initialStep();
  }

  protected getLr(): number[] {
    if (this.lastEpoch === 0) return this.groups.map((g) => g.lr * this.factor);
    if (this.lastEpoch !== this.totalIters) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * (1.0 / this.factor));
  }
  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => b * (this.factor + Number(this.lastEpoch >= this.totalIters) * (1 - this.factor)));
  }
}

/** Options of {@link LinearLR}. */
export interface LinearLROptions {
  /** The factor of the first epoch (default 1/3). */
  startFactor?: number;
  /** The factor reached after `totalIters` epochs (default 1). */
  endFactor?: number;
  /** The number of epochs of the linear change (default 5). */
  totalIters?: number;
  lastEpoch?: number;
}

/** Changes the learning-rate factor linearly from `startFactor` to `endFactor` (`torch.optim.lr_scheduler.LinearLR`). */
export class LinearLR extends LRScheduler {
  startFactor: number;
  endFactor: number;
  totalIters: number;

  constructor(optimizer: AnyOptimizer, options: LinearLROptions = {}) {
    const start = finite('LinearLR', 'startFactor', options?.startFactor ?? 1 / 3);
    const end = finite('LinearLR', 'endFactor', options?.endFactor ?? 1);
    if (start > 1 || start < 0) throw new ArgumentError('LinearLR: Starting multiplicative factor expected to be between 0 and 1.');
    if (end > 1 || end < 0) throw new ArgumentError('LinearLR: Ending multiplicative factor expected to be between 0 and 1.');
    const totalIters = positiveInt('LinearLR', 'totalIters', options?.totalIters ?? 5);
    super(optimizer, options?.lastEpoch);
    this.startFactor = start;
    this.endFactor = end;
    this.totalIters = totalIters;
    this.initialStep();
  }

  protected getLr(): number[] {
    if (this.lastEpoch === 0) return this.groups.map((g) => g.lr * this.startFactor);
    if (this.lastEpoch > this.totalIters) return this.groups.map((g) => g.lr);
    const { startFactor: s, endFactor: e, totalIters: n } = this;
    return this.groups.map((g) => g.lr * (1 + (e - s) / (n * s + (this.lastEpoch - 1) * (e - s))));
  }
  protected override closedFormLr(): number[] {
    const { startFactor: s, endFactor: e, totalIters: n } = this;
    return this.baseLrs.map((b) => b * (s + ((e - s) * Math.min(n, this.lastEpoch)) / n));
  }
}

/** Options of {@link ExponentialLR}. */
export interface ExponentialLROptions {
  /** Multiplicative factor per epoch. */
  gamma: number;
  lastEpoch?: number;
}

/** Multiplies the learning rate by `gamma` every epoch (`torch.optim.lr_scheduler.ExponentialLR`). */
export class ExponentialLR extends LRScheduler {
  gamma: number;

  constructor(optimizer: AnyOptimizer, options: ExponentialLROptions) {
    const gamma = finite('ExponentialLR', 'gamma', options?.gamma);
    super(optimizer, options?.lastEpoch);
    this.gamma = gamma;
    this.initialStep();
  }

  protected getLr(): number[] {
    if (this.lastEpoch === 0) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * this.gamma);
  }
  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** this.lastEpoch);
  }
}

/** Options of {@link CosineAnnealingLR}. */
export interface CosineAnnealingLROptions {
  /** Half-period of the cosine, in epochs (PyTorch's `T_max`). */
  tMax: number;
  /** The minimum learning rate (default 0). */
  etaMin?: number;
  lastEpoch?: number;
}

/**
 * Cosine annealing from the initial learning rate to `etaMin` over `tMax` epochs (and back
 * up, periodically, as PyTorch's recursive form does) — `torch.optim.lr_scheduler.CosineAnnealingLR`.
 */
export class CosineAnnealingLR extends LRScheduler {
  tMax: number;
  etaMin: number;

  constructor(optimizer: AnyOptimizer, options: CosineAnnealingLROptions) {
    const tMax = positiveInt('CosineAnnealingLR', 'tMax', options?.tMax);
    const etaMin = finite('CosineAnnealingLR', 'etaMin', options?.etaMin ?? 0);
    super(optimizer, options?.lastEpoch);
    this.tMax = tMax;
    this.etaMin = etaMin;
    this.initialStep();
  }

  protected getLr(): number[] {
    const { lastEpoch: e, tMax: T, etaMin } = this;
    if (e === 0) return this.groups.map((g) => g.lr);
    if (this.stepCount === 1 && e > 0) {
      return this.baseLrs.map((b) => etaMin + ((b - etaMin) * (1 + Math.cos((e * Math.PI) / T))) / 2);
    }
    if ((((e - 1 - T) % (2 * T)) + 2 * T) % (2 * T) === 0) {
      return this.groups.map((g, i) => g.lr + ((this.baseLrs[i]! - etaMin) * (1 - Math.cos(Math.PI / T))) / 2);
    }
    return this.groups.map(
      (g) => ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (g.lr - etaMin) + etaMin,
    );
  }
  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => this.etaMin + ((b - this.etaMin) * (1 + Math.cos((Math.PI * this.lastEpoch) / this.tMax))) / 2);
  }
}

/** One phase of {@link OneCycleLR}: its last step and the group keys it anneals between. */
export interface OneCyclePhase {
  endStep: number;
  startLr: 'initialLr' | 'maxLr';
  endLr: 'initialLr' | 'maxLr' | 'minLr';
  startMomentum: 'maxMomentum' | 'baseMomentum';
  endMomentum: 'maxMomentum' | 'baseMomentum';
}

/** Options of {@link OneCycleLR}. */
export interface OneCycleLROptions {
  /** The peak learning rate (one, or one per group). */
  maxLr: number | readonly number[];
  /** Total steps of the cycle; or give `epochs` and `stepsPerEpoch`. */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** Fraction of the cycle spent increasing the learning rate (default 0.3). */
  pctStart?: number;
  /** `'cos'` (default) or `'linear'` annealing. */
  annealStrategy?: 'cos' | 'linear';
  /** Cycle momentum (SGD/RMSprop `momentum`, Adam's beta1) inversely to the learning rate (default true). */
  cycleMomentum?: boolean;
  /** Momentum at the learning-rate peak (default 0.85; one, or one per group). */
  baseMomentum?: number | readonly number[];
  /** Momentum at the start and end (default 0.95; one, or one per group). */
  maxMomentum?: number | readonly number[];
  /** initialLr = maxLr / divFactor (default 25). */
  divFactor?: number;
  /** minLr = initialLr / finalDivFactor (default 1e4). */
  finalDivFactor?: number;
  /** Three phases (up, down to initialLr, down to minLr) instead of fastai's two (default false). */
  threePhase?: boolean;
  lastEpoch?: number;
}

/**
 * The 1cycle policy (`torch.optim.lr_scheduler.OneCycleLR`): the learning rate rises from
 * `maxLr/divFactor` to `maxLr`, then falls to `initialLr/finalDivFactor`, stepping per
 * batch; momentum (or Adam's beta1) moves the opposite way. Stepping past `totalSteps`
 * throws.
 */
export class OneCycleLR extends LRScheduler {
  totalSteps: number;
  schedulePhases: OneCyclePhase[];
  annealStrategy: 'cos' | 'linear';
  cycleMomentum: boolean;
  useBeta1: boolean;

  constructor(optimizer: AnyOptimizer, options: OneCycleLROptions) {
    const o = options ?? ({} as OneCycleLROptions);
    const op = 'OneCycleLR';
    if (!(optimizer instanceof Optimizer)) throw new ArgumentError(`${op}: ${describe(optimizer)} is not an Optimizer`);
    let totalSteps: number;
    if (o.totalSteps === undefined && o.epochs === undefined && o.stepsPerEpoch === undefined) {
      throw new ArgumentError(`${op}: You must define either totalSteps OR (epochs AND stepsPerEpoch)`);
    } else if (o.totalSteps !== undefined) {
      totalSteps = positiveInt(op, 'totalSteps', o.totalSteps);
    } else {
      totalSteps = positiveInt(op, 'epochs', o.epochs) * positiveInt(op, 'stepsPerEpoch', o.stepsPerEpoch);
    }
    const pctStart = o.pctStart ?? 0.3;
    if (typeof pctStart !== 'number' || !(pctStart >= 0 && pctStart <= 1)) {
      throw new ArgumentError(`${op}: Expected float between 0 and 1 pctStart, but got ${String(pctStart)}`);
    }
    const annealStrategy = o.annealStrategy ?? 'cos';
    if (annealStrategy !== 'cos' && annealStrategy !== 'linear') {
      throw new ArgumentError(`${op}: annealStrategy must by one of 'cos' or 'linear', instead got ${String(annealStrategy)}`);
    }
    const groups = optimizer.paramGroups as unknown as Group[];
    const format = (name: string, v: unknown): number[] => {
      const list = Array.isArray(v) ? v : groups.map(() => v);
      if (list.length !== groups.length) throw new ArgumentError(`${op}: expected ${groups.length} values for ${name}, got ${list.length}`);
      return list.map((x) => finite(op, name, x));
    };
    const lastEpoch = o.lastEpoch ?? -1;
    const maxLrs = format('maxLr', o.maxLr);
    const divFactor = finite(op, 'divFactor', o.divFactor ?? 25);
    const finalDivFactor = finite(op, 'finalDivFactor', o.finalDivFactor ?? 1e4);
    const cycleMomentum = o.cycleMomentum ?? true;
    let useBeta1 = false;
    let maxMomentums: number[] = [];
    let baseMomentums: number[] = [];
    if (cycleMomentum) {
      const d = optimizer.defaults as Record<string, unknown>;
      if (!('momentum' in d) && !('betas' in d)) {
        throw new ArgumentError(`${op}: optimizer must support momentum with \`cycleMomentum\` option enabled`);
      }
      useBeta1 = 'betas' in d;
      maxMomentums = format('maxMomentum', o.maxMomentum ?? 0.95);
      baseMomentums = format('baseMomentum', o.baseMomentum ?? 0.85);
    }
    // Everything is validated: now change the groups (as PyTorch's constructor does).
    if (lastEpoch === -1) {
      groups.forEach((g, i) => {
        g.initialLr = maxLrs[i]! / divFactor;
        g.maxLr = maxLrs[i]!;
        g.minLr = g.initialLr / finalDivFactor;
      });
    }
    if (cycleMomentum && lastEpoch === -1) {
      groups.forEach((g, i) => {
        if (useBeta1) g.betas = [maxMomentums[i]!, g.betas![1]];
        else g.momentum = maxMomentums[i]!;
        g.maxMomentum = maxMomentums[i]!;
        g.baseMomentum = baseMomentums[i]!;
      });
    }
    super(optimizer, lastEpoch);
    this.totalSteps = totalSteps;
    this.schedulePhases = o.threePhase
      ? [
        { endStep: pctStart * totalSteps - 1, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
        { endStep: 2 * pctStart * totalSteps - 2, startLr: 'maxLr', endLr: 'initialLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
        { endStep: totalSteps - 1, startLr: 'initialLr', endLr: 'minLr', startMomentum: 'maxMomentum', endMomentum: 'maxMomentum' },
      ]
      : [
        { endStep: pctStart * totalSteps - 1, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
        { endStep: totalSteps - 1, startLr: 'maxLr', endLr: 'minLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
      ];
    this.annealStrategy = annealStrategy;
    this.cycleMomentum = cycleMomentum;
    this.useBeta1 = useBeta1;
    this.initialStep();
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === 'cos') {
      const cosOut = Math.cos(Math.PI * pct) + 1;
      return end + ((start - end) / 2.0) * cosOut;
    }
    return (end - start) * pct + start;
  }

  protected getLr(): number[] {
    const stepNum = this.lastEpoch;
    if (stepNum > this.totalSteps) {
      throw new ArgumentError(`OneCycleLR: Tried to step ${stepNum + 1} times. The specified number of total steps is ${this.totalSteps}`);
    }
    const phases = this.schedulePhases;
    const lrs: number[] = [];
    const momentums: number[] = [];
    for (const g of this.groups) {
      let startStep = 0;
      for (let i = 0; i < phases.length; i++) {
        const phase = phases[i]!;
        const endStep = phase.endStep;
        if (stepNum <= endStep || i === phases.length - 1) {
          const pct = (stepNum - startStep) / (endStep - startStep);
          lrs.push(this.anneal(g[phase.startLr] as number, g[phase.endLr] as number, pct));
          if (this.cycleMomentum) momentums.push(this.anneal(g[phase.startMomentum] as number, g[phase.endMomentum] as number, pct));
          break;
        }
        startStep = phase.endStep;
      }
    }
    if (this.cycleMomentum) {
      this.groups.forEach((g, i) => {
        if (this.useBeta1) g.betas = [momentums[i]!, g.betas![1]];
        else g.momentum = momentums[i]!;
      });
    }
    return lrs;
  }
}

/** Options of {@link SequentialLR}. */
export interface SequentialLROptions {
  /** The schedulers, all of the same optimizer, constructed beforehand. */
  schedulers: readonly LRScheduler[];
  /** The epochs at which the next scheduler takes over (one fewer than schedulers). */
  milestones: readonly number[];
  lastEpoch?: number;
}

/**
 * Runs schedulers one after another, switching at the milestones
 * (`torch.optim.lr_scheduler.SequentialLR`); a scheduler that takes over restarts at epoch
 * 0 (its closed form, as PyTorch's `step(0)`).
 *
 * @example
 * const warmup = new lrScheduler.LinearLR(opt, { startFactor: 0.1, totalIters: 5 });
 * const decay = new lrScheduler.CosineAnnealingLR(opt, { tMax: 95 });
 * const sched = new lrScheduler.SequentialLR(opt, { schedulers: [warmup, decay], milestones: [5] });
 */
export class SequentialLR extends LRScheduler {
  schedulers: LRScheduler[];
  milestones: number[];

  constructor(optimizer: AnyOptimizer, options: SequentialLROptions) {
    const schedulers = [...(options?.schedulers ?? [])];
    const milestones = [...(options?.milestones ?? [])];
    schedulers.forEach((s, i) => {
      if (!(s instanceof LRScheduler)) throw new ArgumentError(`SequentialLR: schedulers[${i}] is not a scheduler`);
      if (s.optimizer !== optimizer) {
        throw new ArgumentError(`SequentialLR: Sequential Schedulers expects all schedulers to belong to the same optimizer, but got schedulers at index ${i} to be different than the optimizer passed in.`);
      }
    });
    if (schedulers.length === 0 || milestones.length !== schedulers.length - 1) {
      throw new ArgumentError(`SequentialLR: Sequential Schedulers expects number of schedulers provided to be one more than the number of milestone points, but got number of schedulers ${schedulers.length} and the number of milestones to be equal to ${milestones.length}`);
    }
    if (milestones.some((m) => !Number.isSafeInteger(m))) throw new ArgumentError(`SequentialLR: milestones must be integers, got [${milestones.join(', ')}]`);
    super(optimizer, -1);
    this.schedulers = schedulers;
    this.milestones = milestones;
    this.lastEpoch = (options?.lastEpoch ?? -1) + 1;
    // Reset learning rates back to initial values and undo the other schedulers' first step.
    for (const g of this.groups) g.lr = g.initialLr!;
    for (const s of schedulers) s.lastEpoch -= 1;
    schedulers[0]!.initialStep();
    this.lastLr = schedulers[0]!.getLastLr();
  }

  protected getLr(): number[] {
    return this.groups.map((g) => g.lr);
  }

  override step(): void {
    this.lastEpoch += 1;
    const idx = bisectRight(this.milestones, this.lastEpoch);
    const scheduler = this.schedulers[idx]!;
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) scheduler.stepTo(0);
    else scheduler.step();
    this.lastLr = scheduler.getLastLr();
  }

  /** `{ milestones, lastEpoch, lastLr, schedulers: [each scheduler's state] }` (PyTorch's `_schedulers`, `_milestones`). */
  override stateDict(): SchedulerStateDict {
    return {
      milestones: [...this.milestones],
      lastEpoch: this.lastEpoch,
      lastLr: [...this.lastLr],
      schedulers: this.schedulers.map((s) => s.stateDict()),
    };
  }

  override loadStateDict(state: SchedulerStateDict): void {
    const subs = state?.schedulers;
    if (!Array.isArray(subs) || subs.length !== this.schedulers.length) {
      throw new ArgumentError(`SequentialLR.loadStateDict: expected the states of ${this.schedulers.length} schedulers`);
    }
    const { schedulers: _, ...rest } = state;
    for (const k of Object.keys(rest)) {
      if (!['milestones', 'lastEpoch', 'lastLr'].includes(k)) throw new ArgumentError(`SequentialLR.loadStateDict: unknown key '${k}'`);
    }
    this.schedulers.forEach((s, i) => s.loadStateDict(subs[i] as SchedulerStateDict));
    if (rest.milestones !== undefined) this.milestones = clone(rest.milestones as number[]);
    if (rest.lastEpoch !== undefined) this.lastEpoch = rest.lastEpoch as number;
    if (rest.lastLr !== undefined) this.lastLr = clone(rest.lastLr as number[]);
  }
}

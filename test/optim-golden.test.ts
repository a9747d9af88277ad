// Optimizers and learning-rate schedulers against PyTorch 1.13: the trajectories and
// schedules in test/golden/optim.json (written by scripts/golden_optim.py), replayed here.
import { describe, expect, it } from 'vitest';
import { readJson } from './helpers/read-json.js';
import {
  Adagrad, Adam, AdamW, fromPyTorchNames, lrScheduler, memory, RMSprop, SGD, tensor, toPyTorchNames, type Optimizer,
  type OptimizerStateDict, type Tensor,
} from '../ts/node.js';

interface OptimizerCase {
  name: string;
  optimizer: string;
  options: Record<string, unknown>;
  groups?: ({ params: number[] } & Record<string, unknown>)[];
  params: { shape: number[]; data: number[] }[];
  grads: (number[] | null)[][];
  trajectory: number[][][];
  /** Stepped after each optimizer step. */
  scheduler?: SchedulerSpec;
  /** PyTorch's `state_dict()` after `after` steps (tensors as `{ tensor: values }`). */
  checkpoint?: {
    after: number;
    state: Record<string, Record<string, number | null | { tensor: number[] }>>;
    param_groups: (Record<string, unknown> & { params: number[] })[];
  };
}
interface SchedulerSpec {
  type: string;
  options?: Record<string, unknown>;
  schedulers?: SchedulerSpec[];
  milestones?: number[];
}
interface SchedulerCase {
  name: string;
  optimizer: { type: string; options: Record<string, unknown>; groups?: Record<string, unknown>[] };
  scheduler: SchedulerSpec;
  steps: number;
  lr: number[][];
  momentum?: number[][];
}
const GOLDEN = (await readJson(new URL('./golden/optim.json', import.meta.url))) as {
  source: string;
  optimizers: OptimizerCase[];
  schedulers: SchedulerCase[];
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyOptimizer = Optimizer<any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const OPTIMIZERS: Record<string, new (params: any, options: any) => AnyOptimizer> = { SGD, Adam, AdamW, RMSprop, Adagrad };

/** Builds the case's optimizer over `params` (its groups index into them). */
export function makeOptimizer(kind: string, options: Record<string, unknown>, params: Tensor[], groups?: OptimizerCase['groups']): AnyOptimizer {
  const make = OPTIMIZERS[kind]!;
  if (groups === undefined) return new make(params, options);
  return new make(groups.map(({ params: ids, ...rest }) => ({ ...rest, params: ids.map((i) => params[i]!) })), options);
}

/** Float32 values equal bit for bit (NaN equal to NaN), with the first difference named. */
function expectBits(actual: ArrayLike<number>, expected: readonly number[], what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const [a, e] = [actual[i]!, expected[i]!];
    if (!Object.is(a, e) && !(Number.isNaN(a) && Number.isNaN(e))) {
      expect.fail(`${what}[${i}]: got ${a}, PyTorch ${e} (${((a - e) / Math.abs(e)).toExponential(2)} relative)`);
    }
  }
}

describe(`optimizer trajectories (${GOLDEN.source}): bit for bit`, () => {
  for (const c of GOLDEN.optimizers) {
    it(c.name, () => {
      const before = memory().numTensors;
      const params = c.params.map((p) => tensor(p.data, { shape: p.shape, requiresGrad: true }));
      const opt = makeOptimizer(c.optimizer, c.options, params, c.groups);
      const sched = c.scheduler ? makeScheduler(opt, c.scheduler) : null;
      c.grads.forEach((row, step) => {
        const grads = row.map((g, i) => (g === null ? null : tensor(g, { shape: c.params[i]!.shape })));
        params.forEach((p, i) => (p.grad = grads[i]!));
        opt.step();
        sched?.step();
        for (const g of grads) g?.dispose();
        params.forEach((p, i) => expectBits(p.data(), c.trajectory[step]![i]!, `step ${step + 1}, parameter ${i}`));
      });
      opt.dispose();
      for (const p of params) p.dispose();
      expect(memory().numTensors).toBe(before);
    });
  }
});

/** Runs steps `from`..`to` (0-based, exclusive) of a case's gradient sequence. */
function runSteps(c: OptimizerCase, opt: AnyOptimizer, params: Tensor[], from: number, to: number): void {
  for (let step = from; step < to; step++) {
    const grads = c.grads[step]!.map((g, i) => (g === null ? null : tensor(g, { shape: c.params[i]!.shape })));
    params.forEach((p, i) => (p.grad = grads[i]!));
    opt.step();
    for (const g of grads) g?.dispose();
  }
}

/** The parameters in state-dict order (across the groups, in order) as indices into the case's. */
const stateOrder = (c: OptimizerCase): number[] => (c.groups ? c.groups.flatMap((g) => g.params) : c.params.map((_, i) => i));

const disposeState = (sd: OptimizerStateDict) => {
  for (const e of Object.values(sd.state)) for (const v of Object.values(e)) if (typeof v === 'object') v?.dispose();
};

describe('state dicts against PyTorch\'s state_dict() (after 3 steps; PyTorch\'s names via toPyTorchNames)', () => {
  const IMPLEMENTATION_FLAGS = ['foreach', 'differentiable', 'capturable', 'fused'];
  for (const c of GOLDEN.optimizers.filter((x) => x.checkpoint)) {
    const ck = c.checkpoint!;
    it(`${c.name}: the same state, bit for bit`, () => {
      const before = memory().numTensors;
      const params = c.params.map((p) => tensor(p.data, { shape: p.shape, requiresGrad: true }));
      const opt = makeOptimizer(c.optimizer, c.options, params, c.groups);
      runSteps(c, opt, params, 0, ck.after);
      const sd = opt.stateDict();
      const py = toPyTorchNames(sd);
      expect(Object.keys(py.state)).toEqual(Object.keys(ck.state));
      for (const [i, entry] of Object.entries(ck.state)) {
        const ours = py.state[Number(i)]!;
        expect(Object.keys(ours), `state ${i}`).toEqual(Object.keys(entry));
        for (const [k, v] of Object.entries(entry)) {
          if (v !== null && typeof v === 'object') expectBits((ours[k] as Tensor).data(), v.tensor, `state ${i}.${k}`);
          else expect(ours[k], `state ${i}.${k}`).toBe(v);
        }
      }
      py.param_groups.forEach((g, gi) => {
        const theirs = ck.param_groups[gi]!;
        for (const [k, v] of Object.entries(g)) expect(v, `param_groups[${gi}].${k}`).toEqual(theirs[k]);
        const extra = Object.keys(theirs).filter((k) => !(k in g));
        expect(extra.filter((k) => !IMPLEMENTATION_FLAGS.includes(k)), 'keys PyTorch has and wasmgrad does not').toEqual([]);
      });
      disposeState(sd);
      opt.dispose();
      for (const p of params) p.dispose();
      expect(memory().numTensors).toBe(before);
    });

    it(`${c.name}: loading PyTorch's checkpoint (fromPyTorchNames) continues PyTorch's trajectory bit for bit`, () => {
      const before = memory().numTensors;
      const params = c.trajectory[ck.after - 1]!.map((v, i) => tensor(v, { shape: c.params[i]!.shape, requiresGrad: true }));
      // Different options at construction: the checkpoint's groups replace them.
      const opt = makeOptimizer(c.optimizer, { ...c.options, lr: 123 }, params, c.groups?.map((g) => ({ ...g, lr: 7 })));
      const order = stateOrder(c);
      const state: Record<number, Record<string, Tensor | number | null>> = {};
      for (const [i, entry] of Object.entries(ck.state)) {
        const shape = c.params[order[Number(i)]!]!.shape;
        state[Number(i)] = Object.fromEntries(
          Object.entries(entry).map(([k, v]) => [k, v !== null && typeof v === 'object' ? tensor(v.tensor, { shape }) : v]),
        );
      }
      const checkpoint = fromPyTorchNames({ state, param_groups: ck.param_groups });
      opt.loadStateDict(checkpoint);
      disposeState(checkpoint); // loaded as copies: ours to free
      runSteps(c, opt, params, ck.after, c.grads.length);
      params.forEach((p, i) => expectBits(p.data(), c.trajectory[c.grads.length - 1]![i]!, `parameter ${i}`));
      opt.dispose();
      for (const p of params) p.dispose();
      expect(memory().numTensors).toBe(before);
    });
  }
});

function makeScheduler(opt: AnyOptimizer, spec: SchedulerSpec): lrScheduler.LRScheduler {
  if (spec.type === 'SequentialLR') {
    const schedulers = spec.schedulers!.map((s) => makeScheduler(opt, s));
    return new lrScheduler.SequentialLR(opt, { schedulers, milestones: spec.milestones! });
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const ctor = (lrScheduler as unknown as Record<string, new (o: AnyOptimizer, options: any) => lrScheduler.LRScheduler>)[spec.type]!;
  return new ctor(opt, spec.options ?? {});
}

const usesCos = (s: SchedulerSpec): boolean =>
  s.type === 'CosineAnnealingLR' || (s.type === 'OneCycleLR' && s.options?.annealStrategy !== 'linear') || (s.schedulers ?? []).some(usesCos);

/** Doubles equal, or within `ulps` units in the last place (Math.cos and `**` may round differently from C's). */
function expectUlps(actual: readonly number[], expected: readonly number[], ulps: number, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  actual.forEach((a, i) => {
    const e = expected[i]!;
    const tol = ulps * Number.EPSILON * Math.abs(e);
    if (!(Math.abs(a - e) <= tol)) expect.fail(`${what}[${i}]: got ${a}, PyTorch ${e}`);
  });
}

describe(`learning-rate schedules (${GOLDEN.source})`, () => {
  for (const c of GOLDEN.schedulers) {
    it(c.name, () => {
      const groups = c.optimizer.groups ?? [{}];
      const params = groups.map(() => tensor([0, 0], { requiresGrad: true }));
      const opt = makeOptimizer(c.optimizer.type, c.optimizer.options, params, groups.map((g, i) => ({ ...g, params: [i] })));
      const sched = makeScheduler(opt, c.scheduler);
      const momentum = () =>
        opt.paramGroups.map((g) => ('betas' in g ? (g.betas as number[])[0]! : (g as { momentum: number }).momentum));
      // The same double arithmetic in the same order gives the same bits, except where
      // Math.cos rounds differently from C's cos (by an ulp), which the recursive cosine
      // form carries along: 16 ulps of a double, far below float32's resolution.
      const ulps = usesCos(c.scheduler) ? 16 : 0;
      const check = (step: number) => {
        expectUlps(sched.getLastLr(), c.lr[step]!, ulps, `lr after ${step} steps`);
        expect(opt.paramGroups.map((g) => g.lr)).toEqual(sched.getLastLr());
        if (c.momentum) expectUlps(momentum(), c.momentum[step]!, ulps, `momentum after ${step} steps`);
      };
      check(0);
      for (let s = 1; s <= c.steps; s++) {
        sched.step();
        check(s);
      }
      opt.dispose();
      for (const p of params) p.dispose();
    });
  }
});

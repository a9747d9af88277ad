// Optimizers and learning-rate schedulers against PyTorch 1.13: the trajectories and
// schedules in test/golden/optim.json (written by scripts/golden_optim.py), replayed here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  Adagrad, Adam, AdamW, lrScheduler, memory, RMSprop, SGD, tensor, type Optimizer, type Tensor,
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
const GOLDEN = JSON.parse(readFileSync(new URL('./golden/optim.json', import.meta.url), 'utf8')) as {
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

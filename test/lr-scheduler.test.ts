// Learning-rate schedulers beyond the PyTorch golden schedules (test/optim-golden.test.ts):
// errors, failed steps, resuming with lastEpoch, state dicts.
import { describe, expect, it } from 'vitest';
import { Adagrad, Adam, ArgumentError, lrScheduler, SGD, tensor, type Tensor } from '../ts/node.js';
import { thrown } from './helpers/snapshot.js';

function withSGD(f: (opt: SGD, p: Tensor) => void, options: { lr: number; momentum?: number } = { lr: 0.1 }): void {
  const p = tensor([1, 2], { requiresGrad: true });
  const opt = new SGD([p], options);
  try {
    f(opt, p);
  } finally {
    opt.dispose();
    p.dispose();
  }
}

describe('lrScheduler', () => {
  it('the README example: StepLR(opt, { stepSize: 30, gamma: 0.1 }) over 100 epochs', () => {
    withSGD((opt) => {
      const sched = new lrScheduler.StepLR(opt, { stepSize: 30, gamma: 0.1 });
      const lrs: number[] = [];
      for (let epoch = 0; epoch < 100; epoch++) {
        lrs.push(sched.getLastLr()[0]!);
        sched.step();
      }
      expect(lrs[0]).toBe(0.05);
      expect(lrs[29]).toBe(0.05);
      expect(lrs[30]).toBeCloseTo(0.005, 15);
      expect(lrs[60]).toBeCloseTo(0.0005, 15);
      expect(lrs[99]).toBeCloseTo(0.00005, 15);
      expect(opt.paramGroups[0]!.initialLr).toBe(0.05);
      // getLastLr returns a copy.
      sched.getLastLr().push(1);
      expect(sched.getLastLr()).toHaveLength(1);
    }, { lr: 0.05 });
  });

  it('bad arguments throw ArgumentError with PyTorch\'s messages', () => {
    withSGD((opt) => {
      const bad: [string, () => unknown, RegExp][] = [
        ['not an optimizer', () => new lrScheduler.StepLR({} as SGD, { stepSize: 1 }), /StepLR: Object is not an Optimizer/],
        ['stepSize 0', () => new lrScheduler.StepLR(opt, { stepSize: 0 }), /Expected positive integer stepSize, but got 0/],
        ['startFactor 2', () => new lrScheduler.LinearLR(opt, { startFactor: 2 }), /Starting multiplicative factor expected to be between 0 and 1/],
        ['factor -1', () => new lrScheduler.ConstantLR(opt, { factor: -1 }), /Constant multiplicative factor expected to be between 0 and 1/],
        ['no total steps', () => new lrScheduler.OneCycleLR(opt, { maxLr: 1 }), /You must define either totalSteps OR \(epochs AND stepsPerEpoch\)/],
        ['pctStart 2', () => new lrScheduler.OneCycleLR(opt, { maxLr: 1, totalSteps: 5, pctStart: 2 }), /Expected float between 0 and 1 pctStart/],
        ['maxLr per group', () => new lrScheduler.OneCycleLR(opt, { maxLr: [1, 2], totalSteps: 5 }), /expected 1 values for maxLr, got 2/],
        ['anneal', () => new lrScheduler.OneCycleLR(opt, { maxLr: 1, totalSteps: 5, annealStrategy: 'exp' as 'cos' }), /annealStrategy must by one of 'cos' or 'linear'/],
        ['milestones', () => new lrScheduler.MultiStepLR(opt, { milestones: [1.5] }), /milestones must be an array of integers/],
        ['resume without initialLr', () => new lrScheduler.ExponentialLR(opt, { gamma: 0.9, lastEpoch: 3 }),
          /param 'initialLr' is not specified in paramGroups\[0\] when resuming an optimizer/],
      ];
      for (const [what, f, message] of bad) {
        const err = thrown(f);
        expect(err, what).toBeInstanceOf(ArgumentError);
        expect(err.message, what).toMatch(message);
        expect(opt.paramGroups[0]!.lr, `${what}: the optimizer is untouched`).toBe(0.1);
        expect(opt.paramGroups[0]!.initialLr, `${what}: the optimizer is untouched`).toBeUndefined();
      }
    });
  });

  it('OneCycleLR: momentum cycling needs momentum or betas; stepping past totalSteps throws and changes nothing', () => {
    const p = tensor([1], { requiresGrad: true });
    const ada = new Adagrad([p]);
    expect(thrown(() => new lrScheduler.OneCycleLR(ada, { maxLr: 1, totalSteps: 4 })).message).toMatch(
      /optimizer must support momentum with `cycleMomentum` option enabled/,
    );
    const sched = new lrScheduler.OneCycleLR(ada, { maxLr: 1, totalSteps: 4, cycleMomentum: false });
    for (let i = 0; i < 4; i++) sched.step();
    const last = sched.getLastLr();
    const err = thrown(() => sched.step());
    expect(err).toBeInstanceOf(ArgumentError);
    expect(err.message).toBe('OneCycleLR: Tried to step 6 times. The specified number of total steps is 4');
    expect(sched.lastEpoch).toBe(4);
    expect(sched.getLastLr()).toEqual(last);
    expect(ada.paramGroups[0]!.lr).toBe(last[0]);
    ada.dispose();
    // Adam: beta1 is cycled, beta2 kept.
    const adam = new Adam([p], { betas: [0.9, 0.98] });
    new lrScheduler.OneCycleLR(adam, { maxLr: 1, totalSteps: 10, maxMomentum: 0.9, baseMomentum: 0.8 }).step();
    expect(adam.paramGroups[0]!.betas[0]).toBeLessThan(0.9);
    expect(adam.paramGroups[0]!.betas[1]).toBe(0.98);
    adam.dispose();
    p.dispose();
  });

  it('SequentialLR: schedulers must share the optimizer, and milestones be one fewer', () => {
    withSGD((opt) => {
      withSGD((other) => {
        const a = new lrScheduler.ConstantLR(opt);
        const b = new lrScheduler.ExponentialLR(other, { gamma: 0.5 });
        expect(thrown(() => new lrScheduler.SequentialLR(opt, { schedulers: [a, b], milestones: [2] })).message).toMatch(
          /expects all schedulers to belong to the same optimizer, but got schedulers at index 1 to be different than the optimizer passed in/,
        );
        const c = new lrScheduler.ExponentialLR(opt, { gamma: 0.5 });
        expect(thrown(() => new lrScheduler.SequentialLR(opt, { schedulers: [a, c], milestones: [] })).message).toMatch(
          /number of schedulers 2 and the number of milestones to be equal to 0/,
        );
      });
    });
  });

  it('resuming with lastEpoch continues from the closed form (CosineAnnealingLR) or the current lr', () => {
    withSGD((opt) => {
      const first = new lrScheduler.CosineAnnealingLR(opt, { tMax: 10 });
      for (let i = 0; i < 4; i++) first.step();
      const resumed = new lrScheduler.CosineAnnealingLR(opt, { tMax: 10, lastEpoch: 4 });
      // Its constructor's step is epoch 5, from the closed form: (1 + cos(5π/10))/2 · 0.1.
      expect(resumed.lastEpoch).toBe(5);
      expect(resumed.getLastLr()[0]).toBeCloseTo(0.05, 15);
    });
  });

  it('state dicts are plain data; unknown keys are refused', () => {
    withSGD((opt) => {
      const sched = new lrScheduler.MultiStepLR(opt, { milestones: [5, 2, 2], gamma: 0.5 });
      sched.step();
      sched.step();
      const sd = sched.stateDict();
      expect(sd).toEqual({ baseLrs: [0.1], lastEpoch: 2, stepCount: 3, lastLr: [0.025], milestones: [2, 2, 5], gamma: 0.5 });
      expect(thrown(() => sched.loadStateDict({ ...sd, last_epoch: 3 })).message).toMatch(/unknown key 'last_epoch'/);
      sched.step();
      sched.loadStateDict(sd);
      expect(sched.lastEpoch).toBe(2);
      expect(sched.getLastLr()).toEqual([0.025]);
    });
  });
});

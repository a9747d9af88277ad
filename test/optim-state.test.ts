// Optimizer and scheduler state dicts: resuming is bit-identical to training straight
// through, the layout is PyTorch's, loading validates and changes nothing on failure,
// ownership of the tensors is the caller's, nothing leaks.
import { describe, expect, it } from 'vitest';
import {
  Adagrad, Adam, AdamW, ArgumentError, DisposedError, DTypeError, fromPyTorchNames, lrScheduler, memory, RMSprop, SGD,
  ShapeError, tensor, tidy, toPyTorchNames, zeros, type Optimizer, type OptimizerStateDict, type Tensor,
} from '../ts/node.js';
import { thrown } from './helpers/snapshot.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyOptimizer = Optimizer<any>;
type Make = (params: Tensor[]) => AnyOptimizer;
type MakeSched = (opt: AnyOptimizer) => lrScheduler.LRScheduler;

const INIT = [[1.5, -2.0, 0.5], [0.25, -0.75, 1.0, 2.0, -1.25, 0.5]];
const X = [[0.5, 1.5, -1.0], [1.0, -0.5, 0.25, 2.0, -1.5, 0.75]];
const Y = [[1.0, -2.0, 0.25], [0.5, 0.5, -1.0, 1.0, 0.0, -0.5]];

const counts = () => {
  const m = memory();
  return { numTensors: m.numTensors, numBytes: m.numBytes };
};

/**
 * Steps `steps` times on loss Σ (p·x − y)² per parameter; the second parameter gets no
 * gradient on every third step (so per-parameter step counts differ).
 */
function train(params: Tensor[], opt: AnyOptimizer, sched: lrScheduler.LRScheduler | null, from: number, steps: number): void {
  for (let s = from; s < from + steps; s++) {
    tidy(() => {
      opt.zeroGrad();
      params.forEach((p, i) => {
        if (i === 1 && s % 3 === 2) return;
        p.mul(tensor(X[i]!)).sub(tensor(Y[i]!)).pow(2).sum().backward();
      });
      opt.step();
      sched?.step();
    });
  }
}

/** Disposes the tensors of a state dict (they are the caller's). */
const disposeState = (sd: OptimizerStateDict) => {
  for (const e of Object.values(sd.state)) for (const v of Object.values(e)) if (typeof v === 'object') v?.dispose();
};

const fresh = (values: number[][] = INIT) => values.map((v) => tensor(v, { requiresGrad: true }));

const CASES: [string, Make, MakeSched?][] = [
  ['SGD', (ps) => new SGD(ps, { lr: 0.05 })],
  ['SGD Nesterov, weight decay', (ps) => new SGD(ps, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 })],
  ['Adam', (ps) => new Adam(ps, { lr: 0.05 })],
  ['Adam amsgrad, maximize', (ps) => new Adam(ps, { lr: 0.01, amsgrad: true, maximize: true })],
  ['AdamW amsgrad', (ps) => new AdamW(ps, { lr: 0.05, amsgrad: true })],
  ['RMSprop centered, momentum', (ps) => new RMSprop(ps, { lr: 0.01, centered: true, momentum: 0.5, weightDecay: 0.1 })],
  ['Adagrad lrDecay', (ps) => new Adagrad(ps, { lr: 0.1, lrDecay: 0.05, initialAccumulatorValue: 0.1 })],
  ['two groups (Adam)', ([a, b]) => new Adam([{ params: [a!], amsgrad: true }, { params: [b!], lr: 0.02, betas: [0.8, 0.9] }], { lr: 0.05 })],
  ['SGD + StepLR', (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9 }), (o) => new lrScheduler.StepLR(o, { stepSize: 4, gamma: 0.5 })],
  ['SGD + OneCycleLR (momentum cycled)', (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9 }),
    (o) => new lrScheduler.OneCycleLR(o, { maxLr: 0.2, totalSteps: 20 })],
  ['Adam + OneCycleLR three phases (beta1 cycled)', (ps) => new Adam(ps, { lr: 0.01 }),
    (o) => new lrScheduler.OneCycleLR(o, { maxLr: 0.05, totalSteps: 20, threePhase: true, annealStrategy: 'linear' })],
  ['RMSprop + SequentialLR(LinearLR, CosineAnnealingLR)', (ps) => new RMSprop(ps, { lr: 0.01 }),
    (o) => new lrScheduler.SequentialLR(o, {
      schedulers: [new lrScheduler.LinearLR(o, { startFactor: 0.2, totalIters: 6 }), new lrScheduler.CosineAnnealingLR(o, { tMax: 8 })],
      milestones: [6],
    })],
];

describe('resuming from stateDict() is bit-identical to training straight through', () => {
  for (const [name, make, makeSched] of CASES) {
    it(`${name}: 10 steps, save, load into new objects, 10 more == 20 steps`, () => {
      const before = counts();
      // Straight through.
      const a = fresh();
      const optA = make(a);
      const schedA = makeSched?.(optA) ?? null;
      train(a, optA, schedA, 0, 20);

      // 10 steps, then everything saved.
      const b = fresh();
      const optB = make(b);
      const schedB = makeSched?.(optB) ?? null;
      train(b, optB, schedB, 0, 10);
      const saved = optB.stateDict();
      const savedSched = schedB?.stateDict() ?? null;
      const values = b.map((p) => Array.from(p.data()));
      optB.dispose();
      for (const p of b) p.dispose();

      // New parameters and optimizer (built as a training script would, then loaded).
      const c = fresh(values);
      const optC = make(c);
      const schedC = makeSched?.(optC) ?? null;
      optC.loadStateDict(saved);
      if (schedC && savedSched) schedC.loadStateDict(JSON.parse(JSON.stringify(savedSched)));
      disposeState(saved);
      train(c, optC, schedC, 10, 10);

      c.forEach((p, i) => expect(Array.from(p.data()), `parameter ${i}`).toEqual(Array.from(a[i]!.data())));
      expect(optC.paramGroups.map(({ params: _, ...h }) => h)).toEqual(optA.paramGroups.map(({ params: _, ...h }) => h));
      if (schedA) expect(schedC!.getLastLr()).toEqual(schedA.getLastLr());
      // The optimizers' states are equal too.
      const [sa, sc] = [optA.stateDict(), optC.stateDict()];
      expect(Object.keys(sc.state)).toEqual(Object.keys(sa.state));
      for (const [k, entry] of Object.entries(sa.state)) {
        for (const [n, v] of Object.entries(entry)) {
          const w = sc.state[Number(k)]![n];
          if (typeof v === 'number' || v === null) expect(w, `${k}.${n}`).toBe(v);
          else expect(Array.from((w as Tensor).data()), `${k}.${n}`).toEqual(Array.from(v.data()));
        }
      }
      for (const s of [sa, sc]) disposeState(s);
      optA.dispose();
      optC.dispose();
      for (const p of [...a, ...c]) p.dispose();
      expect(counts()).toEqual(before);
    });
  }
});

describe('the state dict layout (PyTorch\'s, camelCased)', () => {
  it('Adam with AMSGrad: state by parameter index, groups with options and parameter indices', () => {
    const [p, q, r] = [zeros([2]), zeros([3]), zeros([1])].map((t) => t.requiresGrad_());
    const opt = new Adam([{ params: [p!, q!] }, { params: [r!], lr: 0.5 }], { amsgrad: true });
    tidy(() => {
      p!.sum().backward();
      r!.sum().backward(); // q has no gradient: no state
    });
    opt.step();
    const sd = opt.stateDict();
    expect(Object.keys(sd.state)).toEqual(['0', '2']);
    expect(Object.keys(sd.state[0]!)).toEqual(['step', 'expAvg', 'expAvgSq', 'maxExpAvgSq']);
    expect(sd.state[0]!.step).toBe(1);
    expect((sd.state[2]!.expAvg as Tensor).shape).toEqual([1]);
    expect(sd.paramGroups).toEqual([
      { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: true, maximize: false, params: [0, 1] },
      { lr: 0.5, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: true, maximize: false, params: [2] },
    ]);
    // PyTorch's names, for a checkpoint PyTorch reads (tensors are the same objects).
    const py = toPyTorchNames(sd);
    expect(Object.keys(py.state[0]!)).toEqual(['step', 'exp_avg', 'exp_avg_sq', 'max_exp_avg_sq']);
    expect(py.state[0]!.exp_avg).toBe(sd.state[0]!.expAvg);
    expect(Object.keys(py.param_groups[0]!)).toEqual(['lr', 'betas', 'eps', 'weight_decay', 'amsgrad', 'maximize', 'params']);
    expect(fromPyTorchNames(py)).toEqual(sd);
    // Copies: the optimizer's later steps do not change them; the caller disposes them.
    const saved = Array.from((sd.state[0]!.expAvg as Tensor).data());
    tidy(() => p!.sum().backward());
    opt.step();
    expect(Array.from((sd.state[0]!.expAvg as Tensor).data())).toEqual(saved);
    for (const e of Object.values(sd.state)) for (const v of Object.values(e)) if (typeof v === 'object') v?.dispose();
    opt.dispose();
    for (const t of [p, q, r]) t!.dispose();
  });

  it('names of every optimizer\'s state (and PyTorch\'s)', () => {
    const cases: [Make, string[], string[]][] = [
      [(ps) => new SGD(ps, { lr: 0.1 }), ['momentumBuffer'], ['momentum_buffer']],
      [(ps) => new SGD(ps, { lr: 0.1, momentum: 0.9 }), ['momentumBuffer'], ['momentum_buffer']],
      [(ps) => new RMSprop(ps, { momentum: 0.9, centered: true }), ['step', 'squareAvg', 'momentumBuffer', 'gradAvg'],
        ['step', 'square_avg', 'momentum_buffer', 'grad_avg']],
      [(ps) => new RMSprop(ps), ['step', 'squareAvg'], ['step', 'square_avg']],
      [(ps) => new Adagrad(ps, { lrDecay: 0.1, initialAccumulatorValue: 0.5 }), ['step', 'sum'], ['step', 'sum']],
      [(ps) => new AdamW(ps), ['step', 'expAvg', 'expAvgSq'], ['step', 'exp_avg', 'exp_avg_sq']],
    ];
    for (const [make, names, pyNames] of cases) {
      const p = tensor([1, 2], { requiresGrad: true });
      const opt = make([p]);
      tidy(() => p.sum().backward());
      opt.step();
      const sd = opt.stateDict();
      expect(Object.keys(sd.state[0]!)).toEqual(names);
      expect(Object.keys(toPyTorchNames(sd).state[0]!)).toEqual(pyNames);
      if (sd.state[0]!.momentumBuffer === null) expect(opt.paramGroups[0]!.momentum).toBe(0);
      for (const v of Object.values(sd.state[0]!)) if (typeof v === 'object') v?.dispose();
      opt.dispose();
      p.dispose();
    }
  });

  it('Adagrad has state for every parameter from construction (step 0, sum = initialAccumulatorValue), as PyTorch', () => {
    const before = counts();
    const p = tensor([1, 2], { requiresGrad: true });
    const opt = new Adagrad([p], { initialAccumulatorValue: 0.25, lrDecay: 0.5 });
    const sd = opt.stateDict();
    expect(sd.state[0]!.step).toBe(0);
    expect((sd.state[0]!.sum as Tensor).toArray()).toEqual([0.25, 0.25]);
    expect(sd.paramGroups[0]).toEqual({ lr: 0.01, lrDecay: 0.5, weightDecay: 0, initialAccumulatorValue: 0.25, eps: 1e-10, maximize: false, params: [0] });
    (sd.state[0]!.sum as Tensor).dispose();
    opt.dispose();
    p.dispose();
    expect(counts()).toEqual(before);
  });

  it('schedulers add their keys to the groups (initialLr, OneCycleLR\'s maxLr, …), and state dicts keep them', () => {
    const p = tensor([1], { requiresGrad: true });
    const opt = new SGD([p], { lr: 0.1, momentum: 0.9 });
    const sched = new lrScheduler.OneCycleLR(opt, { maxLr: 1, totalSteps: 10 });
    const sd = opt.stateDict();
    expect(sd.paramGroups[0]).toMatchObject({ initialLr: 0.04, maxLr: 1, minLr: 0.04 / 1e4, maxMomentum: 0.95, baseMomentum: 0.85, momentum: 0.95 });
    expect(toPyTorchNames(sd).param_groups[0]).toMatchObject({ initial_lr: 0.04, max_lr: 1, max_momentum: 0.95 });
    const state = sched.stateDict();
    expect(state).toMatchObject({ totalSteps: 10, lastEpoch: 0, stepCount: 1, baseLrs: [0.04], annealStrategy: 'cos', useBeta1: false });
    expect(state.lastLr).toEqual([1 + ((0.04 - 1) / 2) * 2]); // PyTorch's cos anneal at 0: 0.040000000000000036
    expect(JSON.parse(JSON.stringify(state))).toEqual(state); // plain data
    opt.dispose();
    p.dispose();
  });
});

describe('loadStateDict validates, copies, and changes nothing when it fails', () => {
  function setup() {
    const p = tensor([1, 2], { requiresGrad: true });
    const q = tensor([[1, 2, 3]], { requiresGrad: true });
    const opt = new Adam([{ params: [p] }, { params: [q] }], { lr: 0.1 });
    tidy(() => p.sum().add(q.sum()).backward());
    opt.step();
    return { p, q, opt };
  }
  const dispose = (sd: OptimizerStateDict) => {
    for (const e of Object.values(sd.state)) for (const v of Object.values(e)) if (typeof v === 'object') v?.dispose();
  };

  it('mismatched groups, sizes, shapes, dtypes, names and values are typed errors', () => {
    const { p, q, opt } = setup();
    const good = opt.stateDict();
    const before = counts();
    const expAvg = Array.from(opt.state.get(p)!.tensors.expAvg!.data());
    const bad: [string, (sd: OptimizerStateDict) => unknown, new (...a: never[]) => Error, RegExp][] = [
      ['one group', (sd) => ({ ...sd, paramGroups: [sd.paramGroups[0]] }), ArgumentError, /different number of parameter groups/],
      ['a group of another size', (sd) => ({ ...sd, paramGroups: [sd.paramGroups[0], { ...sd.paramGroups[1], params: [1, 2] }] }),
        ArgumentError, /doesn't match the size of optimizer's group/],
      ['a state tensor of another shape', (sd) => ({ ...sd, state: { ...sd.state, 1: { ...sd.state[1], expAvg: zeros([3]) } } }),
        ShapeError, /Adam.loadStateDict: parameter 1: expAvg has shape \[3\], the parameter has shape \[1, 3\]/],
      ['an int32 state tensor', (sd) => ({ ...sd, state: { ...sd.state, 0: { ...sd.state[0], expAvgSq: tensor([1, 2], { dtype: 'int32' }) } } }),
        DTypeError, /expAvgSq must be float32/],
      ['PyTorch\'s names', (sd) => ({ ...sd, state: { 0: { step: 1, exp_avg: sd.state[0]!.expAvg } } }),
        ArgumentError, /unknown state 'exp_avg' \(Adam keeps step, expAvg, expAvgSq, maxExpAvgSq; see toPyTorchNames/],
      ['a bad step', (sd) => ({ ...sd, state: { 0: { ...sd.state[0], step: -1 } } }), ArgumentError, /step must be a whole number >= 0/],
      ['state of no parameter', (sd) => ({ ...sd, state: { 7: sd.state[0] } }), ArgumentError, /parameter 7 belongs to no parameter group/],
      ['a bad option', (sd) => ({ ...sd, paramGroups: [{ ...sd.paramGroups[0], lr: -1 }, sd.paramGroups[1]] }), ArgumentError,
        /Adam: Invalid learning rate: -1/],
      ['not a state dict', () => 42, ArgumentError, /expected \{ state, paramGroups \}/],
    ];
    for (const [what, edit, type, message] of bad) {
      const sd = edit(good) as OptimizerStateDict;
      const err = thrown(() => opt.loadStateDict(sd));
      expect(err, what).toBeInstanceOf(type);
      expect(err.message, what).toMatch(message);
      // Tensors the edit made are the test's to free; then nothing else changed.
      for (const e of Object.values(sd?.state ?? {})) {
        for (const v of Object.values(e as object)) {
          if (typeof v === 'object' && v !== null && !Object.values(good.state).some((g) => Object.values(g).includes(v))) v.dispose();
        }
      }
      expect(counts(), what).toEqual(before);
      expect(Array.from(opt.state.get(p)!.tensors.expAvg!.data()), what).toEqual(expAvg);
      expect(opt.paramGroups[0]!.lr, what).toBe(0.1);
    }
    // A disposed tensor in the state dict.
    const disposed = opt.stateDict();
    (disposed.state[0]!.expAvg as Tensor).dispose();
    expect(thrown(() => opt.loadStateDict(disposed))).toBeInstanceOf(DisposedError);
    dispose(disposed);
    dispose(good);
    opt.dispose();
    p.dispose();
    q.dispose();
  });

  it('the caller keeps what it passed: loaded tensors are copies', () => {
    const { p, q, opt } = setup();
    const sd = opt.stateDict();
    const theirs = sd.state[0]!.expAvg as Tensor;
    opt.loadStateDict(sd);
    expect(opt.state.get(p)!.tensors.expAvg).not.toBe(theirs);
    theirs.fill_(123);
    expect(Array.from(opt.state.get(p)!.tensors.expAvg!.data())).not.toContain(123);
    dispose(sd); // the optimizer's state survives the caller's dispose
    tidy(() => p.sum().add(q.sum()).backward());
    opt.step();
    expect(opt.state.get(p)!.step).toBe(2);
    // A disposed optimizer refuses.
    opt.dispose();
    expect(thrown(() => opt.stateDict())).toBeInstanceOf(DisposedError);
    p.dispose();
    q.dispose();
  });

  it('SGD: a null momentumBuffer loads as "not yet used"; the next step starts the buffer afresh', () => {
    const p = tensor([1, 2], { requiresGrad: true });
    const opt = new SGD([p], { lr: 0.1, momentum: 0.9 });
    opt.loadStateDict({ state: { 0: { momentumBuffer: null } }, paramGroups: [{ lr: 0.1, params: [0] }] });
    tidy(() => p.sum().backward());
    opt.step(); // buf = grad = 1: p −= 0.1
    expect(Array.from(p.data())).toEqual([Math.fround(0.9), Math.fround(1.9)]);
    expect(thrown(() => opt.loadStateDict({ state: { 0: { step: 3 } }, paramGroups: [{ params: [0] }] })).message).toMatch(/unknown state 'step'/);
    opt.dispose();
    p.dispose();
  });
});

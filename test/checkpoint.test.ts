// Checkpoints (saveCheckpoint / loadCheckpoint): model + optimizer + scheduler in one
// safetensors file; 10 steps, save, load into fresh objects, 10 more steps is bit-identical
// to 20 steps straight; the layout; loading is all or nothing and leaks nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Adam, AdamW, ArgumentError, dispose, FormatError, loadCheckpoint, loadCheckpointFile, lrScheduler, manualSeed,
  memory, mseLoss, nn, randn, readHeader, save, saveCheckpoint, saveCheckpointFile, SGD, tidy, zeros, type Optimizer,
  type Tensor,
} from '../ts/node.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyOptimizer = Optimizer<any>;
type Sched = lrScheduler.LRScheduler;

interface Setup {
  model: nn.Module;
  optimizer: AnyOptimizer;
  scheduler: Sched;
}

const counts = () => memory().numTensors;

/** A small model with a buffer-updating BatchNorm (running stats, an int32 counter). */
function makeModel(seed: number): nn.Sequential {
  manualSeed(seed);
  return new nn.Sequential(new nn.Linear(4, 8), new nn.BatchNorm1d(8), new nn.ReLU(), new nn.Linear(8, 3));
}

/** Bit patterns of every tensor (float32 as uint32 words), so -0/NaN/ulp differences count. */
function bits(tensors: Record<string, Tensor | number | null>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(tensors)) {
    if (v === null || typeof v === 'number') out[k] = v;
    else if (v.dtype === 'float32') out[k] = Array.from(new Uint32Array(Float32Array.from(v.data() as Float32Array).buffer));
    else out[k] = Array.from(v.data() as ArrayLike<number>);
  }
  return out;
}

/** Everything that must match: model state, optimizer state and groups, scheduler state. */
function snapshot({ model, optimizer, scheduler }: Partial<Setup> & { model: nn.Module }): unknown {
  return tidy(() => {
    const out: Record<string, unknown> = { model: bits(model.stateDict()) };
    if (optimizer !== undefined) {
      const sd = optimizer.stateDict();
      out.state = Object.fromEntries(Object.entries(sd.state).map(([i, e]) => [i, bits(e)]));
      out.groups = sd.paramGroups;
    }
    if (scheduler !== undefined) out.scheduler = scheduler.stateDict();
    return out;
  });
}

function train(s: Setup, x: Tensor, y: Tensor, steps: number): void {
  for (let i = 0; i < steps; i++) {
    tidy(() => {
      s.optimizer.zeroGrad();
      mseLoss(s.model.call(x) as Tensor, y).backward();
      s.optimizer.step();
      s.scheduler.step();
    });
  }
}

function dispose3(s: Setup): void {
  s.model.dispose();
  s.optimizer.dispose();
}

const CASES: [string, (model: nn.Module) => [AnyOptimizer, Sched]][] = [
  ['Adam(amsgrad, weightDecay) + StepLR', (m) => {
    const opt = new Adam(m.parameters(), { lr: 0.05, amsgrad: true, weightDecay: 0.01 });
    return [opt, new lrScheduler.StepLR(opt, { stepSize: 3, gamma: 0.7 })];
  }],
  ['SGD(momentum, nesterov) + OneCycleLR', (m) => {
    const opt = new SGD(m.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true });
    return [opt, new lrScheduler.OneCycleLR(opt, { maxLr: 0.2, totalSteps: 25 })];
  }],
  ['AdamW + OneCycleLR (beta1 cycled)', (m) => {
    const opt = new AdamW(m.parameters(), { lr: 0.01 });
    return [opt, new lrScheduler.OneCycleLR(opt, { maxLr: 0.05, totalSteps: 25, threePhase: true })];
  }],
];

function setup(seed: number, make: (model: nn.Module) => [AnyOptimizer, Sched]): Setup {
  const model = makeModel(seed);
  const [optimizer, scheduler] = make(model);
  return { model, optimizer, scheduler };
}

function data(): [Tensor, Tensor] {
  manualSeed(1234);
  return [randn([16, 4]), randn([16, 3])];
}

describe('checkpoints', () => {
  for (const [name, make] of CASES) {
    it(`${name}: 10 steps, save, load into fresh objects, 10 steps == 20 steps straight (bit-identical)`, () => {
      const before = counts();
      const [x, y] = data();
      const straight = setup(1, make);
      train(straight, x, y, 20);
      const want = snapshot(straight);
      dispose3(straight);

      const first = setup(1, make);
      train(first, x, y, 10);
      const bytes = saveCheckpoint({ ...first, metadata: { epoch: '10' } });
      const atSave = snapshot(first);
      dispose3(first);

      const resumed = setup(2, make); // different initial weights
      expect(snapshot(resumed)).not.toEqual(atSave);
      const n = counts();
      const { metadata } = loadCheckpoint(bytes, resumed);
      expect(metadata).toEqual({ epoch: '10' });
      expect(snapshot(resumed)).toEqual(atSave);
      expect(counts() - n).toBe(countState(resumed.optimizer)); // the loaded state, nothing else
      train(resumed, x, y, 10);
      expect(snapshot(resumed)).toEqual(want);
      dispose3(resumed);
      dispose(x, y);
      expect(counts()).toBe(before);
    });
  }

  it('writes model.*, optimizer.state.<i>.<pytorch name> tensors and JSON metadata', () => {
    const before = counts();
    const [x, y] = data();
    const s = setup(1, CASES[0]![1]);
    train(s, x, y, 10);
    const header = readHeader(saveCheckpoint(s));
    const names = header.tensors.map((t) => t.name).sort();
    expect(names).toContain('model.0.weight');
    expect(names).toContain('model.1.running_mean');
    expect(names).toContain('model.1.num_batches_tracked');
    expect(names).toContain('optimizer.state.0.exp_avg');
    expect(names).toContain('optimizer.state.5.max_exp_avg_sq');
    expect(names.filter((n) => n.startsWith('optimizer.'))).toHaveLength(6 * 3);
    expect(header.tensors.find((t) => t.name === 'model.1.num_batches_tracked')!.dtype).toBe('I32');
    expect(header.tensors.every((t) => t.dtype !== 'F16' && t.dtype !== 'BF16')).toBe(true);
    const meta = header.metadata!;
    expect(meta['wasmgrad.checkpoint']).toBe('1');
    const opt = JSON.parse(meta['wasmgrad.optimizer']!);
    expect(opt.type).toBe('Adam');
    expect(opt.param_groups[0]).toMatchObject({ amsgrad: true, weight_decay: 0.01, initial_lr: 0.05, params: [0, 1, 2, 3, 4, 5] });
    expect(opt.state['0']).toEqual({ step: 10 });
    const sched = JSON.parse(meta['wasmgrad.scheduler']!);
    expect(sched.type).toBe('StepLR');
    expect(sched.state).toMatchObject({ lastEpoch: 10, stepSize: 3, gamma: 0.7 });
    dispose3(s);
    dispose(x, y);
    expect(counts()).toBe(before);
  });

  it('saves SGD without momentum state and a model alone; files round-trip through Node', () => {
    const before = counts();
    const dir = mkdtempSync(join(tmpdir(), 'wasmgrad-ckpt-'));
    try {
      const [x, y] = data();
      const s = setup(1, (m) => {
        const opt = new SGD(m.parameters(), { lr: 0.1 });
        return [opt, new lrScheduler.ExponentialLR(opt, { gamma: 0.9 })];
      });
      train(s, x, y, 3);
      const path = join(dir, 'ckpt.safetensors');
      saveCheckpointFile(path, s);
      expect(readHeader(saveCheckpoint(s)).tensors.some((t) => t.name.startsWith('optimizer.'))).toBe(false);
      const t = setup(2, (m) => {
        const opt = new SGD(m.parameters(), { lr: 0.5 });
        return [opt, new lrScheduler.ExponentialLR(opt, { gamma: 0.9 })];
      });
      expect(loadCheckpointFile(path, t)).toEqual({ metadata: {} });
      expect(snapshot(t)).toEqual(snapshot(s));

      // Model only.
      const m = makeModel(3);
      loadCheckpoint(saveCheckpoint({ model: s.model }), { model: m });
      expect(snapshot({ model: m })).toEqual(snapshot({ model: s.model }));
      m.dispose();
      dispose3(s);
      dispose3(t);
      dispose(x, y);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(counts()).toBe(before);
  });

  it('refuses mismatches and bad files, changing nothing and leaking nothing', () => {
    const before = counts();
    const [x, y] = data();
    const src = setup(1, CASES[0]![1]);
    train(src, x, y, 5);
    const bytes = saveCheckpoint(src);
    const target = setup(2, CASES[0]![1]);
    train(target, x, y, 2);
    const untouched = snapshot(target);
    const n = counts();
    const expectRefused = (f: () => unknown, type: new (...args: never[]) => Error, message: RegExp) => {
      const c = counts();
      let err: unknown = null;
      try {
        f();
      } catch (e) {
        err = e;
      }
      expect(err, String(message)).toBeInstanceOf(type);
      expect((err as Error).message).toMatch(message);
      expect(counts()).toBe(c);
      expect(snapshot(target)).toEqual(untouched);
    };

    // A model of another shape; one with other names.
    const wide = new nn.Sequential(new nn.Linear(4, 9), new nn.BatchNorm1d(9), new nn.ReLU(), new nn.Linear(9, 3));
    const wideOpt = new Adam(wide.parameters());
    const wideBefore = snapshot({ model: wide });
    expect(() => loadCheckpoint(bytes, { model: wide, optimizer: wideOpt })).toThrow(/size mismatch for 0\.weight/);
    expect(snapshot({ model: wide })).toEqual(wideBefore);
    const other = new nn.Sequential(new nn.Linear(4, 8), new nn.ReLU(), new nn.Linear(8, 3));
    expect(() => loadCheckpoint(bytes, { model: other })).toThrow(/Missing key\(s\)[^]*Unexpected key\(s\)/);
    other.dispose();
    wide.dispose();
    wideOpt.dispose();
    expect(counts()).toBe(n);

    // The optimizer: another type; other groups (after the model was loaded: it is put back).
    const sgd = new SGD(target.model.parameters(), { lr: 0.1 });
    expectRefused(() => loadCheckpoint(bytes, { model: target.model, optimizer: sgd }), ArgumentError, /the checkpoint's optimizer is Adam, not SGD/);
    sgd.dispose();
    const params = target.model.parameters();
    const split = new Adam([{ params: params.slice(0, 2) }, { params: params.slice(2) }]);
    expectRefused(() => loadCheckpoint(bytes, { model: target.model, optimizer: split }), ArgumentError, /different number of parameter groups/);
    split.dispose();
    const partial = new Adam(params.slice(1));
    expectRefused(() => loadCheckpoint(bytes, { model: target.model, optimizer: partial }), ArgumentError, /doesn't match the size/);
    partial.dispose();

    // The scheduler: another type; one belonging to another optimizer.
    const cos = new lrScheduler.CosineAnnealingLR(target.optimizer, { tMax: 10 });
    target.optimizer.paramGroups[0]!.lr = (untouched as { groups: { lr: number }[] }).groups[0]!.lr; // undo cos's first step
    expectRefused(() => loadCheckpoint(bytes, { ...target, scheduler: cos }), ArgumentError, /the checkpoint's scheduler is StepLR, not CosineAnnealingLR/);
    expectRefused(() => loadCheckpoint(bytes, { model: target.model, scheduler: target.scheduler, optimizer: src.optimizer }), ArgumentError, /different optimizer/);

    // A scheduler whose loadStateDict fails after the model and optimizer were loaded: both put back.
    const proto = lrScheduler.StepLR.prototype;
    const real = proto.loadStateDict;
    let calls = 0;
    proto.loadStateDict = function (this: Sched, st) {
      if (calls++ === 0) throw new ArgumentError('injected failure');
      real.call(this, st);
    };
    try {
      expectRefused(() => loadCheckpoint(bytes, target), ArgumentError, /injected failure/);
    } finally {
      proto.loadStateDict = real;
    }
    expect(calls).toBe(2); // the failed load, then the scheduler's own state put back

    // Parts the checkpoint lacks; files that are not checkpoints.
    const modelOnly = saveCheckpoint({ model: src.model });
    expectRefused(() => loadCheckpoint(modelOnly, target), ArgumentError, /holds no optimizer state/);
    expectRefused(() => loadCheckpoint(modelOnly, { model: target.model, scheduler: target.scheduler }), ArgumentError, /holds no scheduler state/);
    const plain = tidy(() => save(src.model.stateDict({ clone: false })));
    expectRefused(() => loadCheckpoint(plain, target), FormatError, /not a wasmgrad checkpoint/);
    expectRefused(() => loadCheckpoint(bytes.slice(0, bytes.length - 4), target), FormatError, /./);
    expectRefused(() => loadCheckpoint(bytes, { model: {} as nn.Module }), ArgumentError, /model must be an nn\.Module/);
    const meta = readHeader(bytes).metadata!;
    const forged = (extra: Record<string, Tensor>, metadata: Record<string, string>) => tidy(() => save({ ...Object.fromEntries(Object.entries(src.model.stateDict({ clone: false })).map(([k, t]) => [`model.${k}`, t])), ...extra }, { metadata }));
    const z = zeros([1]);
    expectRefused(() => loadCheckpoint(forged({ other: z }, meta), target), FormatError, /unexpected tensor "other"/);
    expectRefused(() => loadCheckpoint(forged({}, { ...meta, 'wasmgrad.checkpoint': '2' }), target), FormatError, /version "2" is not supported/);
    expectRefused(() => loadCheckpoint(forged({}, { ...meta, 'wasmgrad.optimizer': '{' }), target), FormatError, /not valid JSON/);
    expectRefused(() => loadCheckpoint(forged({ 'optimizer.state.0.__proto__': z }, meta), target), FormatError, /bad optimizer state tensor name/);
    expectRefused(() => loadCheckpoint(forged({ 'optimizer.state.99.exp_avg': z }, meta), target), FormatError, /parameter 99, which has no state entry/);
    z.dispose();

    // Reserved metadata keys are refused on save.
    expect(() => saveCheckpoint({ model: src.model, metadata: { 'wasmgrad.optimizer': 'x' } })).toThrow(/reserved/);
    expect(counts()).toBe(n);

    dispose3(src);
    dispose3(target);
    dispose(x, y);
    expect(counts()).toBe(before);
  });
});

function countState(opt: AnyOptimizer): number {
  let k = 0;
  for (const s of opt.state.values()) k += Object.keys(s.tensors).length;
  return k;
}

// Out of memory at any level of memory use: with the heap filled until fewer than N bytes
// remain (for a sweep of N), every step of a training loop, of higher-order autograd, of
// hooks and custom functions, and every row of the op table (test/op-cases.ts) either
// succeeds or throws OutOfMemoryError — never a trap (PoisonedError) or another error.
// After a failure every tensor keeps its values, and once memory is freed the very step
// that failed succeeds on the same state (the graph was left intact) and the run ends
// exactly as an unconstrained run does.
import { afterAll, describe, expect, it } from 'vitest';
import {
  Adagrad, Adam, conv2d, crossEntropy, defineFunction, grad, linear, manualSeed, memory, OutOfMemoryError, RMSprop, setMemoryLimit, SGD, tensor, tidy,
  wasmMemory, zeros, type Tensor,
} from '../ts/node.js';
import { isGradCase, OP_CASES, type OpCase } from './op-cases.js';

/** Bytes the limit leaves above what is in use once a scenario is set up. */
const HEADROOM = 2 << 20;
/** Bytes left free by the filler: round sizes, the bookkeeping reserve, and odd values. */
const SWEEP = [
  0, 3, 64, 100, 160, 256, 400, 777, 1 << 10, 1500, 2 << 10, 5000, 16 << 10, 40_000, 64 << 10, 100_000, 200_000, 256 << 10,
  300_000, 500_000, 1 << 20,
];

type Values = Record<string, number[]>;
type Held = Record<string, Tensor | Tensor[] | null | undefined>;

interface Scenario {
  /** Creates the state (unconstrained). */
  setup(): { t: Held; dispose?: () => void; extra?: () => Values };
  /** Each step returns the tensors it adds to the state (run in a tidy). */
  steps: { name: string; run: (t: Held) => Held | void }[];
  /**
   * After an OutOfMemoryError: `same` retries the failed step on the same state (the graph
   * must be intact); `fresh` (ops whose run has side effects, like a backward before an
   * optimizer step) checks the inputs kept their values, then reruns on a fresh state.
   */
  retry: 'same' | 'fresh';
}

const seq = (n: number, k = 1): number[] => Array.from({ length: n }, (_, i) => Math.fround(Math.sin(1.3 * i + k) * 1.5));
const leaf = (n: number[], k = 1) => tensor(seq(n.reduce((a, b) => a * b, 1), k), { shape: n, requiresGrad: true });

/** Values (and gradients) of every tensor of the state, for exact comparison. */
function snapshot(t: Held, extra?: () => Values): Values {
  const out: Values = {};
  for (const [key, v] of Object.entries(t).sort(([a], [b]) => a.localeCompare(b))) {
    listOf(v).forEach((x, i) => {
      if (x.isDisposed) return;
      out[`${key}[${i}]`] = Array.from(x.data());
      const g = x.isLeaf ? x.grad : null;
      if (g) out[`${key}[${i}].grad`] = Array.from(g.data());
    });
  }
  return { ...out, ...(extra ? extra() : {}) };
}

const listOf = (v: Held[string]): Tensor[] => (v === null || v === undefined ? [] : Array.isArray(v) ? v : [v]);

function disposeHeld(t: Held): void {
  for (const v of Object.values(t)) {
    for (const x of listOf(v)) {
      if (x.isDisposed) continue;
      if (x.isLeaf && x.grad) x.grad = null;
      x.dispose();
    }
  }
}

/** Runs a step in a tidy and adds what it returns to the state (freeing what it replaces). */
function runStep(t: Held, run: (t: Held) => Held | void): void {
  const added = tidy(() => run(t)) ?? {};
  for (const [key, v] of Object.entries(added)) {
    const old = listOf(t[key]);
    t[key] = v;
    for (const x of old) if (!listOf(v).includes(x) && !x.isDisposed) x.dispose();
  }
}

// ---- scenarios ---------------------------------------------------------------------------

const conv2dOf = (x: Tensor, w: Tensor) => conv2d(x, w, null, { padding: 1 });

const MyExp = defineFunction({
  name: 'OomExp',
  forward(ctx, x: Tensor) {
    const y = x.exp();
    ctx.saveForBackward(y);
    return y;
  },
  backward(ctx, g: Tensor) {
    const [y] = ctx.savedTensors;
    return g.mul(y!);
  },
});

function mlp(): Scenario {
  let adam: Adam | undefined;
  let sgd: SGD | undefined;
  let rms: RMSprop | undefined;
  let ada: Adagrad | undefined;
  const forward = (t: Held) => {
    const h = linear(t.x as Tensor, t.w1 as Tensor, t.b1 as Tensor).relu();
    return { loss: crossEntropy(linear(h, t.w2 as Tensor, t.b2 as Tensor), t.labels as Tensor) };
  };
  const step = (i: number) => [
    { name: `forward ${i}`, run: forward },
    { name: `backward ${i}`, run: (t: Held) => (t.loss as Tensor).backward() },
    { name: `Adam(amsgrad).step ${i}`, run: () => adam!.step() },
    { name: `RMSprop(centered, momentum).step ${i}`, run: () => rms!.step() },
    { name: `SGD(momentum).step ${i}`, run: () => sgd!.step() },
    { name: `Adagrad.step ${i}`, run: () => ada!.step() },
  ];
  return {
    retry: 'same',
    setup() {
      const t = {
        x: tensor(seq(24, 5), { shape: [6, 4] }),
        labels: tensor([0, 2, 1, 1, 0, 2], { dtype: 'int32' }),
        w1: leaf([8, 4], 1), b1: leaf([8], 2), w2: leaf([3, 8], 3), b2: leaf([3], 4),
      };
      adam = new Adam([t.w1], { lr: 0.01, amsgrad: true });
      rms = new RMSprop([t.b1], { lr: 0.01, centered: true, momentum: 0.5 });
      sgd = new SGD([t.w2], { lr: 0.1, momentum: 0.9 });
      ada = new Adagrad([t.b2], { lr: 0.1 });
      const extra = (): Values => {
        const out: Values = {};
        for (const [name, opt] of [['adam', adam!], ['rms', rms!], ['sgd', sgd!], ['ada', ada!]] as const) {
          [...opt.state.entries()].forEach(([, s], i) => {
            for (const [k, v] of Object.entries(s.tensors)) out[`${name}.${i}.${k}`] = Array.from(v.data());
            out[`${name}.${i}.step`] = [s.step];
          });
        }
        return out;
      };
      return { t, extra, dispose: () => { adam!.dispose(); rms!.dispose(); sgd!.dispose(); ada!.dispose(); } };
    },
    steps: [...step(1), { name: 'zeroGrad', run: () => { for (const o of [adam!, rms!, sgd!, ada!]) o.zeroGrad(); } }, ...step(2)],
  };
}

const higherOrder: Scenario = {
  retry: 'same',
  setup: () => ({ t: { x: tensor([0.5, -2, 3, 1.5], { requiresGrad: true }) } }),
  steps: [
    { name: 'forward', run: (t) => ({ y: (t.x as Tensor).pow(3).mul(t.x as Tensor).sum() }) },
    { name: 'grad createGraph', run: (t) => ({ g: grad(t.y as Tensor, t.x as Tensor, { createGraph: true })[0] }) },
    { name: 'second derivative', run: (t) => ({ h: grad((t.g as Tensor).square().sum(), t.x as Tensor)[0] }) },
  ],
};

const hooksAndFunctions: Scenario = {
  retry: 'same',
  setup: () => ({ t: { x: leaf([3, 5], 7) } }),
  steps: [
    {
      name: 'forward with a hook',
      run: (t) => {
        const h = (t.x as Tensor).mul(0.5);
        h.registerHook((g) => g.mul(3));
        return { h };
      },
    },
    { name: 'custom function', run: (t) => ({ out: MyExp.apply((t.h as Tensor).sin()).sum() }) },
    { name: 'backward', run: (t) => (t.out as Tensor).backward() },
  ],
};

/** Tensors of tens to hundreds of KiB: packed GEMM, softmax across columns, convolution. */
const large: Scenario = {
  retry: 'same',
  setup: () => ({
    t: {
      x: leaf([48, 160], 2), w: leaf([120, 160], 3), v: leaf([120, 40], 4),
      img: leaf([2, 3, 24, 24], 5), k: leaf([8, 3, 3, 3], 6),
      labels: tensor(Array.from({ length: 48 }, (_, i) => (i * 7) % 40), { dtype: 'int32' }),
    },
  }),
  steps: [
    {
      name: 'forward',
      run: (t) => {
        const h = linear(t.x as Tensor, t.w as Tensor).tanh();
        const logits = h.matmul(t.v as Tensor);
        const p = logits.softmax(0).cumsum(1).mean();
        const conv = conv2dOf(t.img as Tensor, t.k as Tensor).square().mean();
        return { loss: crossEntropy(logits, t.labels as Tensor).add(p).add(conv) };
      },
    },
    { name: 'backward', run: (t) => (t.loss as Tensor).backward() },
  ],
};

const argmax: Scenario = {
  retry: 'same',
  setup: () => ({ t: { x: tensor(seq(35, 3), { shape: [5, 7] }) } }),
  steps: [
    { name: 'argmax(1)', run: (t) => ({ a: (t.x as Tensor).argmax(1) }) },
    { name: 'argmax()', run: (t) => ({ b: (t.x as Tensor).argmax() }) },
    { name: 'argmin(0, keepdim)', run: (t) => ({ c: (t.x as Tensor).argmin(0, true) }) },
  ],
};

/** A row of the op table: forward, loss and backward for ops with a gradient, else its run. */
function fromOpCase(c: OpCase): Scenario {
  if (isGradCase(c)) {
    const spec = c.grad;
    return {
      retry: 'same',
      setup: () => ({ t: { inputs: spec.inputs.map((x) => tensor(Array.from(x.data), { shape: x.shape, requiresGrad: true })) } }),
      steps: [
        { name: 'forward', run: (t) => ({ y: spec.fn(...(t.inputs as Tensor[])) }) },
        { name: 'loss', run: (t) => ({ loss: (t.y as Tensor).square().sum() }) },
        { name: 'backward', run: (t) => (t.loss as Tensor).backward() },
      ],
    };
  }
  return {
    retry: 'fresh',
    setup: () => ({ t: { inputs: (c.inputs ?? []).map((x) => tensor(Array.from(x.data), { shape: x.shape, requiresGrad: true })) } }),
    steps: [
      {
        name: 'run',
        run: (t) => {
          const out = c.run(...(t.inputs as Tensor[]));
          return { out: Array.isArray(out) ? out : [out] };
        },
      },
    ],
  };
}

const SCENARIOS: [string, () => Scenario][] = [
  ['MLP training (linear, relu, crossEntropy, backward, Adam amsgrad, RMSprop, SGD momentum, Adagrad)', mlp],
  ['grad with createGraph and a second derivative', () => higherOrder],
  ['registerHook and defineFunction', () => hooksAndFunctions],
  ['argmax/argmin', () => argmax],
  ['large tensors (packed matmul, softmax over dim 0, cumsum, conv2d)', () => large],
  ...Object.entries(OP_CASES).map(([key, c]): [string, () => Scenario] => [`op ${key}`, () => fromOpCase(c)]),
];

// ---- the sweep ---------------------------------------------------------------------------

/** Allocates filler tensors until at most `free` bytes remain available (or none fits). */
function fill(free: number): Tensor[] {
  const filler: Tensor[] = [];
  for (let guard = 0; guard < 10_000; guard++) {
    const excess = wasmMemory().availableBytes - free;
    if (excess <= 0) break;
    // Most of the excess at once; the last steps one element at a time.
    let n = Math.max(1, Math.floor((excess - 1024) / 4));
    for (;;) {
      try {
        filler.push(zeros([n]));
        break;
      } catch (err) {
        expect(err, 'filling memory').toBeInstanceOf(OutOfMemoryError);
        if (n === 1) return filler;
        n = Math.floor(n / 2);
      }
    }
  }
  return filler;
}

const BYTES = /\b\d+ bytes requested\b/;
const AVAILABLE = /\b\d+ bytes are available\b/;
const stats = { runs: 0, failures: 0, byStep: new Map<string, number>() };

/** Runs one scenario unconstrained, returning the state's values after each step. */
function reference(make: () => Scenario): Values[] {
  const s = make();
  manualSeed(11);
  const { t, dispose, extra } = s.setup();
  const after: Values[] = [snapshot(t, extra)];
  try {
    for (const step of s.steps) {
      runStep(t, step.run);
      after.push(snapshot(t, extra));
    }
  } finally {
    disposeHeld(t);
    dispose?.();
  }
  return after;
}

function checkOom(thrown: unknown, where: string): void {
  // A row of the op table that expects another error (in-place ops refused with grad mode
  // on) may see the out-of-memory error first: its assertion then carries it as `actual`.
  const actual = (thrown as { actual?: unknown } | null)?.actual;
  const err = actual instanceof OutOfMemoryError ? actual : thrown;
  if (!(err instanceof OutOfMemoryError)) {
    throw new Error(`${where}: expected success or OutOfMemoryError, got ${String(err)}`, { cause: err });
  }
  expect(err.message, `${where}: the message names the bytes requested`).toMatch(BYTES);
  expect(err.message, `${where}: the message names the bytes available`).toMatch(AVAILABLE);
}

/**
 * One scenario: its steps before `k` run unconstrained, step `k` with at most `free` bytes
 * available, the rest unconstrained again; see the file's header.
 */
function runConstrained(label: string, make: () => Scenario, want: Values[], free: number, k: number): void {
  const s = make();
  manualSeed(11);
  let { t, dispose, extra } = s.setup();
  let filler: Tensor[] = [];
  const step = s.steps[k]!;
  const where = `${label}, step '${step.name}' with ${free} bytes free`;
  try {
    for (let j = 0; j < k; j++) runStep(t, s.steps[j]!.run);
    setMemoryLimit(wasmMemory().heapBytes + HEADROOM);
    filler = fill(free);
    stats.runs++;
    let failed = false;
    try {
      runStep(t, step.run);
    } catch (err) {
      checkOom(err, where);
      failed = true;
    }
    for (const f of filler.splice(0)) f.dispose();
    setMemoryLimit(null);
    if (failed) {
      stats.failures++;
      stats.byStep.set(`${label}: ${step.name}`, (stats.byStep.get(`${label}: ${step.name}`) ?? 0) + 1);
      // Every tensor kept its values, and the step succeeds once memory is free.
      if (s.retry === 'fresh') {
        const inputs = (v: Values) => Object.fromEntries(Object.entries(v).filter(([key]) => key.startsWith('inputs') && !key.endsWith('.grad')));
        expect(inputs(snapshot(t, extra)), `${where}: the inputs keep their values`).toEqual(inputs(want[k]!));
        disposeHeld(t);
        dispose?.();
        manualSeed(11);
        ({ t, dispose, extra } = s.setup());
        for (let j = 0; j < k; j++) runStep(t, s.steps[j]!.run);
      } else {
        expect(snapshot(t, extra), `${where}: the state is as it was before the step`).toEqual(want[k]);
      }
      runStep(t, step.run);
    }
    for (let j = k + 1; j < s.steps.length; j++) runStep(t, s.steps[j]!.run);
    expect(snapshot(t, extra), `${where}: the result matches the unconstrained run`).toEqual(want.at(-1));
  } finally {
    for (const f of filler) f.dispose();
    setMemoryLimit(null);
    disposeHeld(t);
    dispose?.();
  }
}

describe('out of memory at any level of memory use', () => {
  const refs = new Map<string, Values[]>();
  const refOf = (label: string, make: () => Scenario): Values[] => {
    if (!refs.has(label)) refs.set(label, reference(make));
    return refs.get(label)!;
  };

  for (const free of SWEEP) {
    it(`every scenario succeeds or throws OutOfMemoryError with ${free} bytes free`, () => {
      const start = memory();
      for (const [label, make] of SCENARIOS) {
        const want = refOf(label, make);
        for (let k = 0; k < want.length - 1; k++) runConstrained(label, make, want, free, k);
      }
      expect(wasmMemory().heapLimit).toBeNull();
      const end = memory();
      expect({ numTensors: end.numTensors, numBytes: end.numBytes }).toEqual({ numTensors: start.numTensors, numBytes: start.numBytes });
    });
  }

  it('the sweep did run out of memory, in many places', () => {
    if (globalThis.process?.env.OOM_STATS) console.log(stats.runs, stats.failures, [...stats.byStep].map(([k, v]) => `${v} ${k}`).join('\n'));
    // Small budgets must fail somewhere, or the sweep tests nothing.
    expect(stats.failures).toBeGreaterThan(SCENARIOS.length);
    expect(stats.byStep.size).toBeGreaterThan(SCENARIOS.length / 2);
  });

  afterAll(() => {
    setMemoryLimit(null);
  });
});

// Optimizers (SGD, Adam, AdamW): PyTorch 1.13 golden trajectories, parameter groups, the
// linear-regression example, grad mode, typed errors, state ownership and memory.
import { describe, expect, it } from 'vitest';
import {
  Adam,
  AdamW,
  ArgumentError,
  AutogradError,
  DisposedError,
  DTypeError,
  memory,
  noGrad,
  randn,
  RMSprop,
  manualSeed,
  scalar,
  SGD,
  tensor,
  tidy,
  zeros,
  type Optimizer,
  type Tensor,
} from '../ts/node.js';
import { updateOp } from '../ts/dispatch.js';
import { expectClose } from './helpers/gradcheck.js';
import { thrown } from './helpers/snapshot.js';

const counts = () => {
  const m = memory();
  return { numTensors: m.numTensors, numBytes: m.numBytes };
};

/** Parameters after 5 steps on loss = Σ (p·x − y)², with p₀ = [1.5, −2, 0.5]. */
function trajectory(make: (params: Tensor[]) => Optimizer<object>, steps = 5): number[] {
  const p = tensor([1.5, -2.0, 0.5], { requiresGrad: true });
  const x = tensor([0.5, 1.5, -1.0]);
  const y = tensor([1.0, -2.0, 0.25]);
  const opt = make([p]);
  try {
    for (let i = 0; i < steps; i++) {
      tidy(() => {
        opt.zeroGrad();
        p.mul(x).sub(y).pow(2).sum().backward();
        opt.step();
      });
    }
    return Array.from(p.data());
  } finally {
    opt.dispose();
    p.dispose();
    x.dispose();
    y.dispose();
  }
}

// Golden values from PyTorch 1.13 (/usr/bin/python3 with torch 1.13.0a0):
//
//   import torch
//   x = torch.tensor([0.5, 1.5, -1.0]); y = torch.tensor([1.0, -2.0, 0.25])
//   def run(make, steps=5):
//       p = torch.tensor([1.5, -2.0, 0.5], requires_grad=True)
//       opt = make([p])
//       for _ in range(steps):
//           opt.zero_grad()
//           ((p * x - y) ** 2).sum().backward()
//           opt.step()
//       return [float('%.9g' % v) for v in p.detach().tolist()]
//   S, A, W = torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW
//   print(run(lambda ps: S(ps, lr=0.1)))                                   # 'sgd', and so on:
//   # S(ps, lr=0.1, momentum=0.9); S(ps, lr=0.1, momentum=0.9, nesterov=True)
//   # S(ps, lr=0.1, weight_decay=0.1); S(ps, lr=0.1, momentum=0.9, dampening=0.5)
//   # S(ps, lr=0.01, momentum=0.9, weight_decay=0.1, maximize=True)
//   # A(ps, lr=0.1); A(ps, lr=0.1, weight_decay=0.1)
//   # A(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-3, weight_decay=0.1, maximize=True)
//   # W(ps, lr=0.1); W(ps, lr=0.1, weight_decay=0.5); W(ps, lr=0.1, weight_decay=0)
const GOLDEN: [string, (ps: Tensor[]) => Optimizer<object>, number[]][] = [
  ['SGD', (ps) => new SGD(ps, { lr: 0.1 }), [1.61310947, -1.36688566, -0.00424001319]],
  ['SGD momentum 0.9', (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9 }), [1.79142201, -0.906535566, -0.685314953]],
  ['SGD Nesterov', (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true }), [1.84202886, -1.28035235, -0.561788142]],
  ['SGD weight decay', (ps) => new SGD(ps, { lr: 0.1, weightDecay: 0.1 }), [1.54434931, -1.33628976, -0.0109791728]],
  ['SGD dampening', (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, dampening: 0.5 }), [1.70077848, -0.728339732, -0.463839978]],
  [
    'SGD maximize (with momentum and weight decay)',
    (ps) => new SGD(ps, { lr: 0.01, momentum: 0.9, weightDecay: 0.1, maximize: true }),
    [1.44692588, -2.4076457, 0.699266791],
  ],
  ['Adam', (ps) => new Adam(ps, { lr: 0.1 }), [1.97218537, -1.51590431, 0.0128688514]],
  ['Adam weight decay', (ps) => new Adam(ps, { lr: 0.1, weightDecay: 0.1 }), [1.76127672, -1.51471639, 0.0132371336]],
  [
    'Adam betas, eps, weight decay, maximize',
    (ps) => new Adam(ps, { lr: 0.01, betas: [0.8, 0.99], eps: 1e-3, weightDecay: 0.1, maximize: true }),
    [1.45003986, -2.05011129, 0.550074577],
  ],
  ['AdamW (default weight decay 1e-2)', (ps) => new AdamW(ps, { lr: 0.1 }), [1.96464145, -1.50747788, 0.0114530101]],
  ['AdamW weight decay 0.5', (ps) => new AdamW(ps, { lr: 0.1, weightDecay: 0.5 }), [1.61049306, -1.15525699, -0.0486110635]],
  ['AdamW without weight decay (= Adam)', (ps) => new AdamW(ps, { lr: 0.1, weightDecay: 0 }), [1.97218537, -1.51590431, 0.0128688514]],
];

describe('golden trajectories (PyTorch 1.13, 5 steps)', () => {
  for (const [name, make, expected] of GOLDEN) {
    it(name, () => {
      expectClose(trajectory(make), expected, 0, 1e-5, name);
    });
  }

  it('parameter groups override the defaults; a parameter without grad is skipped', () => {
    //   a = torch.tensor([1.5, -2.0], requires_grad=True); b = torch.tensor(0.5, requires_grad=True)
    //   c = torch.tensor([3.0], requires_grad=True)
    //   opt = S([{'params': [a], 'lr': 0.1}, {'params': [b, c], 'momentum': 0.9}], lr=0.05)
    //   5 × (zero_grad; ((torch.cat([a, b.reshape(1)]) * x - y) ** 2).sum().backward(); step)
    //   → a = [1.61310947, -1.36688566], b = -0.271869957, c = [3.0] (c.grad None), len(opt.state) == 2
    const a = tensor([1.5, -2.0], { requiresGrad: true });
    const b = scalar(0.5, { requiresGrad: true });
    const c = tensor([3.0], { requiresGrad: true });
    const opt = new SGD([{ params: [a], lr: 0.1 }, { params: [b, c], momentum: 0.9 }], { lr: 0.05 });
    expect(opt.paramGroups.map((g) => [g.lr, g.momentum])).toEqual([[0.1, 0], [0.05, 0.9]]);
    for (let i = 0; i < 5; i++) {
      tidy(() => {
        opt.zeroGrad();
        const p = a.mul(tensor([0.5, 1.5])).sub(tensor([1.0, -2.0])).pow(2).sum();
        const q = b.mul(-1.0).sub(0.25).pow(2);
        p.add(q).backward();
        opt.step();
      });
    }
    expectClose(a.data(), [1.61310947, -1.36688566], 0, 1e-5, 'a');
    expectClose([Number(b.item())], [-0.271869957], 0, 1e-5, 'b');
    expect(c.toArray()).toEqual([3]);
    expect(c.grad).toBeNull();
    expect(opt.state.size).toBe(2);
    expect(opt.state.has(c)).toBe(false);
    expect(opt.state.get(b)!.step).toBe(5);
    opt.dispose();
    for (const t of [a, b, c]) t.dispose();
  });
});

describe('the linear-regression example with new SGD([w, b], { lr: 0.01 })', () => {
  it('reproduces w = 9.9712, b = 1.1427 after 500 epochs, identical to the manual update', () => {
    const X = tensor([1, 2, 3, 4, 5, 6, 7]);
    const Y = tidy(() => X.mul(10).add(1));
    const fit = (useOptimizer: boolean): [number, number] => {
      const w = scalar(0, { requiresGrad: true });
      const b = scalar(0, { requiresGrad: true });
      const opt = new SGD([w, b], { lr: 0.01 });
      for (let epoch = 0; epoch < 500; epoch++) {
        tidy(() => {
          w.mul(X).add(b).sub(Y).pow(2).mean().backward();
          if (useOptimizer) {
            opt.step();
            opt.zeroGrad();
          } else {
            noGrad(() => {
              w.sub_(w.grad!.mul(0.01));
              b.sub_(b.grad!.mul(0.01));
            });
            w.grad!.zero_();
            b.grad!.zero_();
          }
        });
      }
      const result: [number, number] = [Number(w.item()), Number(b.item())];
      opt.dispose();
      w.dispose();
      b.dispose();
      return result;
    };
    const [w, b] = fit(true);
    expect(Math.abs(w - 9.9712)).toBeLessThanOrEqual(1e-3);
    expect(Math.abs(b - 1.1427)).toBeLessThanOrEqual(1e-3);
    expect([w, b]).toEqual(fit(false)); // bit for bit
    X.dispose();
    Y.dispose();
  });
});

describe('grad mode and autograd', () => {
  it('step() works with grad mode on (and under noGrad), records nothing, keeps parameters leaves', () => {
    const p = tensor([1, 2, 3], { requiresGrad: true });
    const opt = new Adam([p], { lr: 0.1 });
    tidy(() => p.mul(p).sum().backward());
    opt.step(); // grad mode is on here
    noGrad(() => opt.step());
    expect(p.isLeaf).toBe(true);
    expect(p.requiresGrad).toBe(true);
    expect(p.gradFn).toBeNull();
    expectClose(p.data(), [0.8, 1.8, 2.8], 0, 1e-5, 'two Adam steps of lr 0.1 with a constant-sign gradient');
    opt.dispose();
    p.dispose();
  });

  it('a graph that saved the parameter refuses to backward after step() (version counter)', () => {
    const p = tensor([1, 2], { requiresGrad: true });
    const opt = new SGD([p], { lr: 0.1 });
    tidy(() => p.mul(p).sum().backward());
    const err = thrown(() => {
      const y = p.mul(p).sum(); // saves p
      opt.step();
      y.backward();
    });
    expect(err).toBeInstanceOf(AutogradError);
    opt.dispose();
    p.dispose();
  });

  it('parameters without a gradient are skipped and get no state', () => {
    const p = tensor([1, 2], { requiresGrad: true });
    const opt = new Adam([p]);
    const before = counts();
    opt.step();
    expect(p.toArray()).toEqual([1, 2]);
    expect(opt.state.size).toBe(0);
    expect(counts()).toEqual(before);
    opt.dispose();
    p.dispose();
  });
});

describe('errors', () => {
  const withParam = (f: (p: Tensor) => unknown): Error => {
    const p = tensor([1, 2], { requiresGrad: true });
    try {
      return thrown(() => f(p));
    } finally {
      p.dispose();
    }
  };

  it('bad hyper-parameters throw ArgumentError at construction', () => {
    const bad: [string, (p: Tensor) => unknown, RegExp][] = [
      ['negative lr', (p) => new SGD([p], { lr: -0.1 }), /SGD: Invalid learning rate: -0.1/],
      ['missing lr', (p) => new SGD([p], {} as { lr: number }), /SGD: Invalid learning rate: undefined/],
      ['NaN momentum', (p) => new SGD([p], { lr: 0.1, momentum: NaN }), /SGD: Invalid momentum value: NaN/],
      ['negative weight decay', (p) => new SGD([p], { lr: 0.1, weightDecay: -1 }), /Invalid weight_decay value: -1/],
      ['Nesterov without momentum', (p) => new SGD([p], { lr: 0.1, nesterov: true }), /Nesterov momentum requires/],
      ['Nesterov with dampening', (p) => new SGD([p], { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }), /Nesterov/],
      ['beta1 = 1', (p) => new Adam([p], { betas: [1, 0.999] }), /Adam: Invalid beta parameter at index 0: 1$/],
      ['negative beta2', (p) => new AdamW([p], { betas: [0.9, -0.1] }), /AdamW: Invalid beta parameter at index 1: -0.1/],
      ['negative eps', (p) => new Adam([p], { eps: -1e-8 }), /Invalid epsilon value: -1e-8/],
      ['infinite lr', (p) => new Adam([p], { lr: Infinity }), /Invalid learning rate: Infinity/],
      ['amsgrad not a boolean', (p) => new Adam([p], { amsgrad: 1 } as object), /Adam: amsgrad must be a boolean/],
      ['bad group override', (p) => new Adam([{ params: [p], lr: -1 }]), /Adam: Invalid learning rate: -1$/],
      ['empty parameter list', () => new SGD([], { lr: 0.1 }), /empty parameter list/],
      ['a parameter twice', (p) => new SGD([{ params: [p] }, { params: [p] }], { lr: 0.1 }), /appear in more than one parameter group/],
      ['a non-leaf', (p) => new SGD([p.mul(2)], { lr: 0.1 }), /non-leaf/],
      ['not a tensor', () => new SGD([{ params: [3 as unknown as Tensor] }], { lr: 0.1 }), /can only optimize Tensors/],
    ];
    for (const [what, f, message] of bad) {
      const err = withParam(f);
      expect(err, what).toBeInstanceOf(ArgumentError);
      expect(err.message, what).toMatch(message);
    }
    const ints = tensor([1, 2], { dtype: 'int32' });
    expect(thrown(() => new SGD([ints], { lr: 0.1 }))).toBeInstanceOf(DTypeError);
    ints.dispose();
  });

  it('hyper-parameters changed to bad values after construction are rejected by step(); nothing changes', () => {
    const p = tensor([1, 2], { requiresGrad: true });
    const q = tensor([3], { requiresGrad: true });
    tidy(() => p.sum().add(q.sum()).backward());
    const sgd = new SGD([p], { lr: 0.1, momentum: 0.9 });
    const adam = new Adam([p]);
    // A bad value in the second group: the first group's parameter is not updated either.
    const rms = new RMSprop([{ params: [p] }, { params: [q] }]);
    sgd.paramGroups[0]!.lr = -1;
    adam.paramGroups[0]!.betas = [0.9, 1.5];
    rms.paramGroups[1]!.alpha = -0.5;
    const e1 = thrown(() => sgd.step());
    const e2 = thrown(() => adam.step());
    const e3 = thrown(() => rms.step());
    expect(e1).toBeInstanceOf(ArgumentError);
    expect(e1.message).toBe('SGD: Invalid learning rate: -1');
    expect(e2).toBeInstanceOf(ArgumentError);
    expect(e2.message).toBe('Adam: Invalid beta parameter at index 1: 1.5');
    expect(e3.message).toBe('RMSprop: Invalid alpha value: -0.5');
    expect(p.toArray()).toEqual([1, 2]);
    expect(q.toArray()).toEqual([3]);
    expect(adam.state.size).toBe(0);
    expect(rms.state.size).toBe(0);
    // A step after a failed one starts from the first step: buffers were not half-initialised.
    sgd.paramGroups[0]!.lr = 0.1;
    sgd.step();
    expectClose(p.data(), [0.9, 1.9], 0, 1e-6, 'first SGD step after the failure');
    for (const o of [sgd, adam, rms]) o.dispose();
    p.dispose();
    q.dispose();
  });

  it('the core checks the update arguments too (the boundary trusts nothing)', () => {
    const p = tensor([1, 2], { requiresGrad: true });
    const g = tensor([1, 1]);
    const sq = zeros([2]);
    const e = thrown(() => updateOp('rmsprop', p, g, sq, null, null, -1, 0.99, 1e-8, 0, 0, false, false));
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e.message).toMatch(/^rmsprop: invalid learning rate \(lr\) -1; it must be >= 0/);
    const e2 = thrown(() => updateOp('adagrad', p, g, sq, 0.1, 0, 0, 1e-10, 0, false));
    expect(e2.message).toMatch(/^adagrad: step must be a whole number >= 1, got 0/);
    const e3 = thrown(() => updateOp('rmsprop', p, g, sq, null, null, 0.1, 0.99, 1e-8, 0, 0.9, false, false));
    expect(e3.message).toMatch(/momentum buffer is required/);
    expect(p.toArray()).toEqual([1, 2]);
    for (const t of [p, g, sq]) t.dispose();
  });

  it('a disposed optimizer or parameter throws DisposedError', () => {
    const p = tensor([1, 2], { requiresGrad: true });
    const opt = new SGD([p], { lr: 0.1 });
    opt.dispose();
    expect(opt.isDisposed).toBe(true);
    expect(thrown(() => opt.step())).toBeInstanceOf(DisposedError);
    const opt2 = new SGD([p], { lr: 0.1 });
    p.dispose();
    expect(thrown(() => opt2.step())).toBeInstanceOf(DisposedError);
    opt2.dispose();
  });
});

describe('state ownership and memory', () => {
  /** A small MLP's parameters, with gradients from one backward pass. */
  function mlp(): Tensor[] {
    manualSeed(0);
    const params = [randn([32, 16]), zeros([32]), randn([4, 32]), zeros([4])].map((t) => t.requiresGrad_());
    return params;
  }
  function loss(params: Tensor[], x: Tensor): Tensor {
    const [w1, b1, w2, b2] = params as [Tensor, Tensor, Tensor, Tensor];
    return x.matmul(w1.t()).add(b1).relu().matmul(w2.t()).add(b2).pow(2).mean();
  }

  for (const [name, make, perParam] of [
    ['SGD with momentum', (ps: Tensor[]) => new SGD(ps, { lr: 1e-3, momentum: 0.9 }), 1],
    ['Adam', (ps: Tensor[]) => new Adam(ps, { lr: 1e-3 }), 2],
    ['AdamW', (ps: Tensor[]) => new AdamW(ps), 2],
  ] as const) {
    it(`${name}: state is created on the first step, survives tidy, stays flat over 1000 steps and dispose() frees it`, () => {
      const params = mlp();
      const x = randn([8, 16]);
      const paramBytes = params.reduce((s, p) => s + p.size * 4, 0);
      const opt = make(params);
      const base = counts();
      tidy(() => {
        opt.zeroGrad();
        loss(params, x).backward();
        opt.step();
      });
      const afterFirst = counts();
      // grads (one per parameter) and the state tensors
      expect(afterFirst.numTensors - base.numTensors).toBe(params.length * (1 + perParam));
      expect(afterFirst.numBytes - base.numBytes).toBe(paramBytes * (1 + perParam));
      for (let i = 0; i < 999; i++) {
        tidy(() => {
          opt.zeroGrad();
          loss(params, x).backward();
          opt.step();
        });
      }
      expect(counts()).toEqual(afterFirst);
      expect(opt.state.get(params[0]!)!.step).toBe(1000);
      const l = tidy(() => loss(params, x).item());
      expect(Number.isFinite(l)).toBe(true);
      opt.zeroGrad();
      opt.dispose();
      expect(counts()).toEqual(base);
      for (const p of params) p.dispose();
      x.dispose();
    });
  }

  it('`using` disposes the optimizer state', () => {
    const p = tensor([1, 2], { requiresGrad: true });
    const before = counts();
    {
      using opt = new Adam([p]);
      tidy(() => p.sum().backward());
      opt.step();
      expect(counts().numTensors - before.numTensors).toBe(3); // grad, expAvg, expAvgSq
      opt.zeroGrad();
    }
    expect(counts()).toEqual(before);
    p.dispose();
  });
});

describe('zeroGrad', () => {
  it('sets gradients to null by default, or zeroes them in place with setToNone: false', () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const b = tensor([3], { requiresGrad: true });
    const opt = new SGD([a, b], { lr: 0.1 });
    tidy(() => a.mul(b).sum().backward());
    const gradA = a.grad!;
    opt.zeroGrad({ setToNone: false });
    expect(a.grad).toBe(gradA); // the same tensor, zeroed in place
    expect(a.grad!.toArray()).toEqual([0, 0]);
    expect(b.grad!.toArray()).toEqual([0]);
    opt.step(); // zero gradients: nothing moves
    expect(a.toArray()).toEqual([1, 2]);
    opt.zeroGrad();
    expect(a.grad).toBeNull();
    expect(b.grad).toBeNull();
    opt.zeroGrad(); // without gradients: harmless
    opt.dispose();
    a.dispose();
    b.dispose();
  });
});

// Regression tests for the reliability issue: stale handles, grad-mode scopes, bulk
// disposal, re-entrant backward, backward rules of the wrong shape, typed errors for bad
// arguments. Each case failed (or trapped) before its fix.
import { describe, expect, it } from 'vitest';
import {
  ArgumentError, AutogradError, defineFunction, DisposedError, dispose, enableGrad, exp, gradcheck, isGradEnabled,
  cat, memory, noGrad, ones, scalar, ShapeError, tensor, tidy, zeros, type Tensor,
} from '../ts/node.js';
import { lib } from '../ts/ffi.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a disposed handle never comes back to life', () => {
  it('after 5 000 reuses of its slot, a disposed tensor neither reads nor writes the new one', () => {
    const a = tensor([1, 2, 3]);
    a.dispose();
    for (let i = 0; i < 5000; i++) scalar(0).dispose();
    const b = tensor([100, 200, 300]);
    expect(() => a.add(1)).toThrow(DisposedError);
    expect(() => a.mul_(0)).toThrow(DisposedError);
    expect(() => a.toArray()).toThrow(DisposedError);
    expect(b.toArray()).toEqual([100, 200, 300]);
    b.dispose();
  });

  it('a tensor kept from step 0 of a tidy loop is still itself after 5 000 steps', () => {
    const x = tensor([1, 2]);
    let first: Tensor | undefined;
    for (let step = 0; step < 5000; step++) {
      tidy(() => {
        const y = x.mul(step);
        if (step === 0) first = y; // escapes the tidy without keep(): disposed at its end
      });
    }
    expect(first!.isDisposed).toBe(true);
    expect(() => first!.add(1)).toThrow(DisposedError);
    x.dispose();
  });

  it('handles the core hands out are never reused, even across many disposals', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 3000; i++) {
      const t = scalar(i);
      expect(seen.has(t.handle)).toBe(false);
      seen.add(t.handle);
      t.dispose();
    }
  });

  it('the old .grad object reports disposed once backward({ createGraph }) replaced it', () => {
    tidy(() => {
      const x = tensor([1, 2], { requiresGrad: true });
      x.pow(2).sum().backward();
      const old = x.grad!;
      expect(old.isDisposed).toBe(false);
      x.pow(3).sum().backward({ createGraph: true });
      expect(old.isDisposed).toBe(true);
      expect(() => old.toArray()).toThrow(DisposedError);
      expect(x.grad!.isDisposed).toBe(false);
      expect(Array.from(x.grad!.data())).toEqual([2 + 3, 4 + 12]);
      x.dispose();
    });
  });

  it("disposing a custom function's handle of a saved leaf leaves the leaf's .grad alone", () => {
    tidy(() => {
      const w = tensor([1, 2], { requiresGrad: true });
      w.mul(3).sum().backward();
      const Scale = defineFunction({
        name: 'Scale',
        forward(ctx, x: Tensor) {
          ctx.saveForBackward(x);
          return x.mul(2);
        },
        backward(ctx, g) {
          const [saved] = ctx.savedTensors;
          saved!.dispose(); // the callback's own handle of the leaf
          return g.mul(2);
        },
      });
      Scale.apply(w).sum().backward();
      expect(Array.from(w.grad!.data())).toEqual([5, 5]);
      w.dispose();
    });
  });
});

describe('grad mode', () => {
  it('overlapping async noGrad scopes restore grad mode whatever order they end in', async () => {
    expect(isGradEnabled()).toBe(true);
    await Promise.all([noGrad(async () => sleep(10)), noGrad(async () => sleep(30))]);
    expect(isGradEnabled()).toBe(true);
    await Promise.all([noGrad(async () => sleep(30)), noGrad(async () => sleep(10))]);
    expect(isGradEnabled()).toBe(true);
  });

  it('while overlapping scopes run, the mode is that of the newest one still open', async () => {
    let inside: boolean[] = [];
    const outer = noGrad(async () => {
      await sleep(5);
      inside.push(isGradEnabled()); // the enableGrad below is still open
      await sleep(30);
    });
    const inner = enableGrad(async () => {
      await sleep(15);
    });
    await Promise.all([outer, inner]);
    expect(inside).toEqual([true]);
    expect(isGradEnabled()).toBe(true);
    inside = [];
    noGrad(() => inside.push(isGradEnabled()));
    expect(inside).toEqual([false]);
  });
});

describe('bulk disposal', () => {
  it('a tidy returning 200 000 tensors keeps them, and dispose() of the array frees them all', () => {
    const before = memory().numTensors;
    const made = tidy(() => Array.from({ length: 200_000 }, (_, i) => scalar(i)));
    expect(memory().numTensors).toBe(before + 200_000);
    dispose(made);
    expect(memory().numTensors).toBe(before);
  });

  it('a tidy that made 200 000 tensors frees them in one go', () => {
    const before = memory().numTensors;
    tidy(() => {
      for (let i = 0; i < 200_000; i++) scalar(i);
    });
    expect(memory().numTensors).toBe(before);
  });

  it('dispose() of a cyclic structure frees each tensor once', () => {
    const t = scalar(1);
    const u = scalar(2);
    const a: Record<string, unknown> = { t, list: [u] };
    a.self = a;
    (a.list as unknown[]).push(a, new Map([['again', a]]));
    dispose(a);
    expect(t.isDisposed && u.isDisposed).toBe(true);
  });
});

describe('backward misuse is an AutogradError, not a stack overflow', () => {
  it('a hook that runs backward through the graph calling it', () => {
    tidy(() => {
      const x = tensor([1, 2], { requiresGrad: true });
      const y = x.mul(2);
      y.registerHook(() => {
        enableGrad(() => y.sum().backward(undefined, { retainGraph: true }));
      });
      expect(() => y.sum().backward({ retainGraph: true })).toThrow(AutogradError);
      expect(() => y.sum().backward({ retainGraph: true })).toThrow(/already being differentiated/);
      x.dispose();
      y.dispose();
    });
  });

  it("a leaf's hook that starts a backward reaching the same leaf, endlessly", () => {
    tidy(() => {
      const x = tensor([1, 2], { requiresGrad: true });
      x.registerHook(() => {
        enableGrad(() => x.sum().backward());
      });
      expect(() => x.sum().backward()).toThrow(AutogradError);
      x.dispose();
    });
  });

  it('after such an error the graph still works', () => {
    tidy(() => {
      const x = tensor([1, 2], { requiresGrad: true });
      const y = x.mul(3);
      let reenter = true;
      y.registerHook(() => {
        if (reenter) enableGrad(() => y.sum().backward(undefined, { retainGraph: true }));
      });
      expect(() => y.sum().backward({ retainGraph: true })).toThrow(AutogradError);
      reenter = false;
      y.sum().backward();
      expect(Array.from(x.grad!.data())).toEqual([3, 3]);
      x.dispose();
      y.dispose();
    });
  });
});

describe('a backward rule that returns a gradient of the wrong shape', () => {
  it('is a ShapeError naming the function, not a silent reshape', () => {
    tidy(() => {
      const Bad = defineFunction({
        name: 'Bad',
        forward: (_ctx, x: Tensor) => x.sum(),
        backward: () => ones([5]),
      });
      const x = tensor([1, 2], { requiresGrad: true });
      expect(() => Bad.apply(x).backward()).toThrow(ShapeError);
      expect(() => Bad.apply(x).backward()).toThrow(/Bad/);
      expect(x.grad).toBeNull();
      x.dispose();
    });
  });

  it("one the input broadcasts to is summed back, as PyTorch's validate_outputs does", () => {
    tidy(() => {
      const Wide = defineFunction({
        name: 'Wide',
        forward: (_ctx, x: Tensor) => x.sum(),
        backward: () => ones([3, 2]),
      });
      const x = tensor([1, 2], { requiresGrad: true });
      Wide.apply(x).backward();
      expect(Array.from(x.grad!.data())).toEqual([3, 3]);
      x.dispose();
    });
  });
});

describe('typed errors for bad arguments', () => {
  it('function forms given a non-tensor throw ArgumentError naming the op', () => {
    expect(() => exp(null as unknown as Tensor)).toThrow(ArgumentError);
    expect(() => exp(null as unknown as Tensor)).toThrow(/exp: expected a Tensor, got null/);
  });

  it('gradcheck without a function or inputs throws ArgumentError', () => {
    expect(() => gradcheck(null as unknown as () => Tensor, [])).toThrow(ArgumentError);
    expect(() => gradcheck((x) => x, null as unknown as Tensor[])).toThrow(ArgumentError);
  });

  it('oversized lists and names are refused, not truncated', () => {
    const c = lib();
    expect(() => c.putText('x'.repeat(c.k.maxTextIn + 1))).toThrow(ArgumentError);
    expect(c.raw.wg_list(c.k.maxList + 1)).toBe(0);
    expect(c.lastError()).toBeInstanceOf(ArgumentError);
    const long = defineFunction({ name: 'F'.repeat(5000), forward: (_ctx, x: Tensor) => x.mul(1), backward: (_ctx, g) => g });
    const x = tensor([1], { requiresGrad: true });
    expect(() => long.apply(x)).toThrow(ArgumentError);
    x.dispose();
  });
});

describe('found by fuzzing against PyTorch', () => {
  it("cat skips 1-D empty tensors, PyTorch's documented legacy rule", () => {
    tidy(() => {
      const out = cat([zeros([0]), ones([2, 3]), zeros([0])], 0);
      expect(out.shape).toEqual([2, 3]);
      expect(cat([zeros([0]), zeros([0, 1])], 0).shape).toEqual([0, 1]);
      expect(cat([zeros([0]), zeros([0])], 0).shape).toEqual([0]);
      // The skipped tensor stays in the graph, with an empty gradient (as in PyTorch).
      const e = tensor([], { requiresGrad: true });
      const y = cat([e, ones([2, 1])], 0);
      expect(y.requiresGrad).toBe(true);
      y.sum().backward();
      expect(e.grad!.shape).toEqual([0]);
      e.dispose();
    });
  });
});

// PyTorch's autograd rules, checked on small graphs whose gradients are known exactly.
import { describe, expect, it } from 'vitest';
import {
  AutogradError,
  DTypeError,
  dispose,
  enableGrad,
  isGradEnabled,
  noGrad,
  ones,
  onesLike,
  scalar,
  tensor,
  tidy,
  type Tensor,
} from '../ts/node.js';

/** The gradient of `t` as a plain array (fails the test if there is none). */
function gradOf(t: Tensor): number[] {
  const g = t.grad;
  expect(g, 'expected a gradient').not.toBeNull();
  return Array.from(g!.data());
}

describe('backward: the PyTorch seed example', () => {
  it('f = 2a² + b² gives a.grad = 4a and b.grad = 2b', () => {
    const [ga, gb] = tidy(() => {
      const a = tensor([2, 3], { requiresGrad: true });
      const b = tensor([6, 4], { requiresGrad: true });
      const f = a.pow(2).mul(2).add(b.pow(2));
      expect(f.toArray()).toEqual([44, 34]);
      f.backward(onesLike(f));
      return [gradOf(a), gradOf(b)];
    });
    expect(ga).toEqual([8, 12]);
    expect(gb).toEqual([12, 8]);
  });

  it('a scalar output backpropagates with the implicit gradient 1', () => {
    const g = tidy(() => {
      const x = tensor([1, 2, 3], { requiresGrad: true });
      const y = x.mul(x).sum();
      expect(y.shape).toEqual([]);
      y.backward();
      return gradOf(x);
    });
    expect(g).toEqual([2, 4, 6]);
  });

  it('a one-element (non-0-d) output also gets the implicit gradient', () => {
    const g = tidy(() => {
      const x = tensor([[3]], { requiresGrad: true });
      x.mul(x).mul(5).backward();
      return gradOf(x);
    });
    expect(g).toEqual([30]);
  });

  it('a non-uniform upstream gradient is applied elementwise', () => {
    const g = tidy(() => {
      const x = tensor([1, 2, 3], { requiresGrad: true });
      x.mul(x).backward(tensor([1, 10, 100]));
      return gradOf(x);
    });
    expect(g).toEqual([2, 40, 600]);
  });
});

describe('gradient accumulation', () => {
  it('accumulates across two backward calls through a retained graph', () => {
    const [first, second] = tidy(() => {
      const x = tensor([1, 2, 3], { requiresGrad: true });
      const y = x.mul(x).sum();
      y.backward(undefined, { retainGraph: true });
      const first = gradOf(x);
      y.backward();
      return [first, gradOf(x)];
    });
    expect(first).toEqual([2, 4, 6]);
    expect(second).toEqual([4, 8, 12]);
  });

  it('accumulates across two separate graphs', () => {
    const g = tidy(() => {
      const x = tensor([1, 2, 3], { requiresGrad: true });
      x.mul(x).sum().backward(); // 2x
      x.mul(3).sum().backward(); // + 3
      return gradOf(x);
    });
    expect(g).toEqual([5, 7, 9]);
  });

  it.each([
    ['zeroGrad()', (x: Tensor) => x.zeroGrad()],
    ['assigning grad = null', (x: Tensor) => void (x.grad = null)],
  ])('%s drops the gradient: grad becomes null and the next backward starts fresh', (_, drop) => {
    tidy(() => {
      const x = tensor([1, 2], { requiresGrad: true });
      x.mul(x).sum().backward();
      expect(x.grad).not.toBeNull();
      drop(x);
      expect(x.grad).toBeNull();
      x.mul(3).sum().backward();
      expect(gradOf(x)).toEqual([3, 3]);
    });
  });

  it('grad.zero_() zeroes in place and the same grad object stays valid and keeps accumulating', () => {
    tidy(() => {
      const x = tensor([1, 2], { requiresGrad: true });
      x.mul(x).sum().backward();
      const g = x.grad!;
      expect(Array.from(g.data())).toEqual([2, 4]);
      expect(g.zero_()).toBe(g);
      expect(Array.from(g.data())).toEqual([0, 0]);
      expect(x.grad).toBe(g);
      x.mul(3).sum().backward();
      expect(x.grad).toBe(g);
      expect(g.isDisposed).toBe(false);
      expect(Array.from(g.data())).toEqual([3, 3]);
      x.mul(x).sum().backward();
      expect(Array.from(g.data())).toEqual([5, 7]);
    });
  });
});

describe('graph shapes', () => {
  it('a diamond (x used twice: y = x*x + x*3) gets the summed gradient 2x + 3', () => {
    const g = tidy(() => {
      const x = tensor([1, -2, 0.5], { requiresGrad: true });
      const y = x.mul(x).add(x.mul(3));
      y.sum().backward();
      return gradOf(x);
    });
    expect(g).toEqual([5, -1, 4]);
  });

  it('a diamond through intermediates (u = 2x; y = u*u + u*3) sums both paths', () => {
    const g = tidy(() => {
      const x = tensor([1, 2], { requiresGrad: true });
      const u = x.mul(2);
      const y = u.mul(u).add(u.mul(3)).sum(); // dy/dx = (2u + 3)·2 = 8x + 6
      y.backward();
      return gradOf(x);
    });
    expect(g).toEqual([14, 22]);
  });

  it('a tensor used in two broadcasting branches gets both reduced gradients', () => {
    const [gx, gA] = tidy(() => {
      const x = tensor([1, 2, 3], { requiresGrad: true });
      const A = tensor([[1, 2, 3], [4, 5, 6]], { requiresGrad: true });
      // branch 1: A * x broadcasts x over 2 rows; branch 2: + x broadcasts again.
      const y = A.mul(x).add(x).sum();
      y.backward();
      return [gradOf(x), gradOf(A)];
    });
    expect(gx).toEqual([1 + 4 + 2, 2 + 5 + 2, 3 + 6 + 2]);
    expect(gA).toEqual([1, 2, 3, 1, 2, 3]);
  });

  it('a [2,1] column and a [3] row broadcast to [2,3] each get gradients of their own shape', () => {
    const [gc, gr, shapes] = tidy(() => {
      const c = tensor([[1], [2]], { requiresGrad: true });
      const r = tensor([10, 20, 30], { requiresGrad: true });
      c.mul(r).sum().backward();
      return [gradOf(c), gradOf(r), [c.grad!.shape, r.grad!.shape]];
    });
    expect(gc).toEqual([60, 60]);
    expect(gr).toEqual([3, 3, 3]);
    expect(shapes).toEqual([[2, 1], [3]]);
  });

  it('backward through a 10 000-op chain (and dropping it) does not overflow the stack', () => {
    const c = 1.0001;
    const cf = Math.fround(c);
    const [grad, value] = tidy(() => {
      const x = tensor([1.5], { requiresGrad: true });
      let y = x;
      for (let i = 0; i < 10_000; i++) y = y.mul(c);
      y.sum().backward();
      return [gradOf(x)[0]!, Number(y.item())];
    }); // the tidy drops all 10 000 nodes here
    const expected = cf ** 10_000;
    expect(Math.abs(grad - expected) / expected).toBeLessThan(1e-3);
    expect(Math.abs(value - 1.5 * expected) / (1.5 * expected)).toBeLessThan(1e-3);
  });

  it('a 10 000-node graph held only by its root is freed in one drop without overflowing', () => {
    const x = tensor([2], { requiresGrad: true });
    let y: Tensor = x;
    for (let i = 0; i < 10_000; i++) {
      const next = y.add(1);
      if (y !== x) y.dispose(); // only the newest tensor is held: its node owns the whole chain
      y = next;
    }
    expect(y.item()).toBe(10_002);
    y.backward();
    expect(gradOf(x)).toEqual([1]);
    y.dispose(); // drops 10 000 linked nodes at once
    expect(tidy(() => x.mul(2).item())).toBe(4);
    x.dispose();
  });

  it('retainGraph allows a second backward through nodes that saved tensors', () => {
    const g = tidy(() => {
      const x = tensor([1, 2], { requiresGrad: true });
      const y = x.exp().mul(x).sum(); // d/dx (x·eˣ) = (x + 1)eˣ
      y.backward(undefined, { retainGraph: true });
      y.backward(undefined, { retainGraph: true });
      y.backward();
      return gradOf(x);
    });
    const expected = [1, 2].map((v) => 3 * (v + 1) * Math.exp(v));
    g.forEach((v, i) => expect(Math.abs(v - expected[i]!) / expected[i]!).toBeLessThan(1e-5));
  });
});

describe('tensor autograd properties', () => {
  it('isLeaf, requiresGrad and gradFn of leaves and op results', () => {
    tidy(() => {
      const plain = tensor([1, 2]);
      const a = tensor([1, 2], { requiresGrad: true });
      expect([plain.isLeaf, plain.requiresGrad, plain.gradFn]).toEqual([true, false, null]);
      expect([a.isLeaf, a.requiresGrad, a.gradFn]).toEqual([true, true, null]);

      const m = a.mul(plain);
      expect([m.isLeaf, m.requiresGrad, m.gradFn]).toEqual([false, true, 'MulBackward0']);
      // An op on tensors that do not require grad is a leaf without a node.
      const c = plain.mul(2);
      expect([c.isLeaf, c.requiresGrad, c.gradFn]).toEqual([true, false, null]);
    });
  });

  it('gradFn names follow PyTorch for the basic ops', () => {
    const names = tidy(() => {
      const a = tensor([1, 2], { requiresGrad: true });
      const m = tensor([[1, 2], [3, 4]], { requiresGrad: true });
      return {
        add: a.add(a).gradFn,
        addScalar: a.add(1).gradFn,
        sub: a.sub(a).gradFn,
        mul: a.mul(2).gradFn,
        div: a.div(2).gradFn,
        pow: a.pow(2).gradFn,
        neg: a.neg().gradFn,
        exp: a.exp().gradFn,
        log: a.log().gradFn,
        sqrt: a.sqrt().gradFn,
        abs: a.abs().gradFn,
        relu: a.relu().gradFn,
        sigmoid: a.sigmoid().gradFn,
        tanh: a.tanh().gradFn,
        sumDim: m.sum(0).gradFn,
        mm: m.matmul(m).gradFn,
        view: m.reshape(4).gradFn,
        permute: m.permute(1, 0).gradFn,
        expand: a.expand(3, 2).gradFn,
      };
    });
    expect(names).toEqual({
      add: 'AddBackward0',
      addScalar: 'AddBackward0',
      sub: 'SubBackward0',
      mul: 'MulBackward0',
      div: 'DivBackward0',
      pow: 'PowBackward0',
      neg: 'NegBackward0',
      exp: 'ExpBackward0',
      log: 'LogBackward0',
      sqrt: 'SqrtBackward0',
      abs: 'AbsBackward0',
      relu: 'ReluBackward0',
      sigmoid: 'SigmoidBackward0',
      tanh: 'TanhBackward0',
      sumDim: 'SumBackward1',
      mm: 'MmBackward0',
      view: 'ViewBackward0',
      permute: 'PermuteBackward0',
      expand: 'ExpandBackward0',
    });
  });

  it('full reductions are named like PyTorch: sum() → SumBackward0, mean() → MeanBackward0', () => {
    const names = tidy(() => {
      const a = tensor([1, 2], { requiresGrad: true });
      return [a.sum().gradFn, a.mean().gradFn];
    });
    expect(names).toEqual(['SumBackward0', 'MeanBackward0']);
  });

  it('a non-leaf .grad is null after backward (only leaves accumulate)', () => {
    tidy(() => {
      const x = tensor([1, 2], { requiresGrad: true });
      const y = x.mul(2);
      y.sum().backward();
      expect(y.grad).toBeNull();
      expect(gradOf(x)).toEqual([2, 2]);
    });
  });

  it('a leaf has no grad before any backward', () => {
    tidy(() => {
      expect(tensor([1], { requiresGrad: true }).grad).toBeNull();
      expect(tensor([1]).grad).toBeNull();
    });
  });

  it('requiresGrad_() on a leaf turns it on (returning the tensor) and off', () => {
    tidy(() => {
      const a = tensor([1, 2]);
      expect(a.requiresGrad_()).toBe(a);
      expect(a.requiresGrad).toBe(true);
      expect(a.isLeaf).toBe(true);
      a.mul(a).sum().backward();
      expect(gradOf(a)).toEqual([2, 4]);
      a.requiresGrad_(false);
      expect(a.requiresGrad).toBe(false);
      expect(a.mul(2).gradFn).toBeNull();
      a.requiresGrad = true;
      expect(a.requiresGrad).toBe(true);
    });
  });

  it('setting requiresGrad on a non-leaf throws AutogradError', () => {
    tidy(() => {
      const y = tensor([1, 2], { requiresGrad: true }).mul(2);
      expect(() => {
        y.requiresGrad = false;
      }).toThrow(AutogradError);
      expect(() => {
        y.requiresGrad = false;
      }).toThrow(/leaf/);
      expect(() => y.requiresGrad_(false)).toThrow(AutogradError);
      expect(y.requiresGrad).toBe(true);
      expect(y.gradFn).toBe('MulBackward0');
    });
  });

  it('requiresGrad_() (true) on a non-leaf that already requires grad is a no-op, as in PyTorch', () => {
    tidy(() => {
      const y = tensor([1, 2], { requiresGrad: true }).mul(2);
      expect(() => y.requiresGrad_()).not.toThrow();
      expect(y.requiresGrad).toBe(true);
    });
  });

  it('an int32 tensor cannot require grad (DTypeError), by option, setter or requiresGrad_()', () => {
    expect(() => tensor([1, 2], { dtype: 'int32', requiresGrad: true })).toThrow(DTypeError);
    expect(() => tensor([1, 2], { dtype: 'int32', requiresGrad: true })).toThrow(/int32/);
    expect(() => ones([2], { dtype: 'int32', requiresGrad: true })).toThrow(DTypeError);
    tidy(() => {
      const i = tensor([1, 2], { dtype: 'int32' });
      expect(() => {
        i.requiresGrad = true;
      }).toThrow(DTypeError);
      expect(() => i.requiresGrad_()).toThrow(DTypeError);
      expect(i.requiresGrad).toBe(false);
      i.requiresGrad = false; // turning it off is fine
    });
  });
});

describe('grad mode', () => {
  it('isGradEnabled is true by default', () => {
    expect(isGradEnabled()).toBe(true);
  });

  it('results of ops under noGrad do not require grad and are leaves', () => {
    tidy(() => {
      const a = tensor([1, 2], { requiresGrad: true });
      const y = noGrad(() => {
        expect(isGradEnabled()).toBe(false);
        return a.mul(a).add(1);
      });
      expect(isGradEnabled()).toBe(true);
      expect(y.requiresGrad).toBe(false);
      expect(y.isLeaf).toBe(true);
      expect(y.gradFn).toBeNull();
      expect(y.toArray()).toEqual([2, 5]);
      // The input itself is unaffected.
      expect(a.requiresGrad).toBe(true);
    });
  });

  it('noGrad nests with enableGrad and restores each previous mode', () => {
    tidy(() => {
      const a = tensor([1, 2], { requiresGrad: true });
      const log: boolean[] = [];
      noGrad(() => {
        log.push(isGradEnabled());
        const z = enableGrad(() => {
          log.push(isGradEnabled());
          const inner = noGrad(() => {
            log.push(isGradEnabled());
            return a.mul(2);
          });
          expect(inner.requiresGrad).toBe(false);
          log.push(isGradEnabled());
          return a.mul(3);
        });
        expect(z.requiresGrad).toBe(true);
        expect(z.gradFn).toBe('MulBackward0');
        log.push(isGradEnabled());
        noGrad(() => log.push(isGradEnabled()));
        log.push(isGradEnabled());
      });
      log.push(isGradEnabled());
      expect(log).toEqual([false, true, false, true, false, false, false, true]);
    });
  });

  it('noGrad restores grad mode when its function throws', () => {
    expect(() =>
      noGrad(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(isGradEnabled()).toBe(true);
    noGrad(() => {
      expect(() =>
        enableGrad(() => {
          throw new Error('boom');
        }),
      ).toThrow('boom');
      expect(isGradEnabled()).toBe(false);
    });
    expect(isGradEnabled()).toBe(true);
  });

  it('noGrad(async fn) keeps grad off until the promise settles, then restores it', async () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const seen: boolean[] = [];
    const pending = noGrad(async () => {
      seen.push(isGradEnabled());
      await new Promise((r) => setTimeout(r, 5));
      seen.push(isGradEnabled());
      const y = a.mul(2);
      const rg = y.requiresGrad;
      y.dispose();
      return rg;
    });
    expect(isGradEnabled()).toBe(false); // still inside the async noGrad
    const requiresGrad = await pending;
    expect(seen).toEqual([false, false]);
    expect(requiresGrad).toBe(false);
    expect(isGradEnabled()).toBe(true);
    a.dispose();
  });

  it('noGrad(async fn) restores grad mode after a rejection', async () => {
    const pending = noGrad(async () => {
      await new Promise((r) => setTimeout(r, 1));
      throw new Error('async boom');
    });
    expect(isGradEnabled()).toBe(false);
    await expect(pending).rejects.toThrow('async boom');
    expect(isGradEnabled()).toBe(true);
  });
});

describe('detach', () => {
  it('shares data with the original (an in-place change under noGrad shows through) but has no grad_fn', () => {
    tidy(() => {
      const a = tensor([1, 2], { requiresGrad: true });
      const d = a.detach();
      expect(d.gradFn).toBeNull();
      expect(d.requiresGrad).toBe(false);
      expect(d.isLeaf).toBe(true);
      noGrad(() => a.add_(10));
      expect(d.toArray()).toEqual([11, 12]);
      // ... and the other way round.
      d.mul_(2);
      expect(a.toArray()).toEqual([22, 24]);
    });
  });

  it('detaching a non-leaf cuts it from the graph: no gradient flows through the detached path', () => {
    const g = tidy(() => {
      const x = tensor([1, 2], { requiresGrad: true });
      const y = x.mul(x);
      const d = y.detach();
      expect([d.gradFn, d.requiresGrad, d.isLeaf]).toEqual([null, false, true]);
      expect(d.toArray()).toEqual([1, 4]);
      // y + d: only the y path contributes 2x.
      y.add(d).sum().backward();
      return gradOf(x);
    });
    expect(g).toEqual([2, 4]);
  });
});

describe('linear regression (examples/linear-regression.mjs, inline)', () => {
  function train(epochs: number): { w: number; b: number; prediction: number; losses: Map<number, number> } {
    const X = tensor([1, 2, 3, 4, 5, 6, 7]);
    const Y = tidy(() => X.mul(10).add(1));
    const w = scalar(0, { requiresGrad: true });
    const b = scalar(0, { requiresGrad: true });
    const lr = 0.01;
    const forward = (x: Tensor) => w.mul(x).add(b);
    const losses = new Map<number, number>();
    for (let epoch = 0; epoch < epochs; epoch++) {
      tidy(() => {
        const loss = forward(X).sub(Y).pow(2).mean();
        loss.backward();
        noGrad(() => {
          w.sub_(w.grad!.mul(lr));
          b.sub_(b.grad!.mul(lr));
        });
        w.grad!.zero_();
        b.grad!.zero_();
        if (epoch % 50 === 0) losses.set(epoch, Number(loss.item()));
      });
    }
    const prediction = tidy(() => Number(forward(tensor([8])).item()));
    const result = { w: Number(w.item()), b: Number(b.item()), prediction, losses };
    dispose([X, Y, w, b]);
    return result;
  }

  it('500 epochs: w = 9.9712, b = 1.1427, prediction 80.912, losses 2081.0 then 0.13058', () => {
    const r = train(500);
    expect(Math.abs(r.w - 9.9712)).toBeLessThanOrEqual(1e-3);
    expect(Math.abs(r.b - 1.1427)).toBeLessThanOrEqual(1e-3);
    expect(Math.abs(r.prediction - 80.912)).toBeLessThanOrEqual(1e-3);
    expect([...r.losses.keys()]).toEqual([0, 50, 100, 150, 200, 250, 300, 350, 400, 450]);
    // Initial MSE of predicting 0 for 11, 21, …, 71: (11² + … + 71²) / 7 = 2081.
    expect(Math.abs(r.losses.get(0)! - 2081) / 2081).toBeLessThan(1e-4);
    expect(Math.abs(r.losses.get(50)! - 0.13058) / 0.13058).toBeLessThan(1e-4);
    // Loss decreases monotonically after the first epochs.
    const ls = [...r.losses.values()];
    for (let i = 2; i < ls.length; i++) expect(ls[i]!).toBeLessThan(ls[i - 1]!);
  });

  it('2000 epochs: prediction for x = 8 is 81.00 ± 0.01', () => {
    const r = train(2000);
    expect(Math.abs(r.prediction - 81)).toBeLessThanOrEqual(0.01);
    expect(Math.abs(r.w - 10)).toBeLessThan(1e-3);
    expect(Math.abs(r.b - 1)).toBeLessThan(5e-3);
  });
});

// grad() (torch.autograd.grad), tensor hooks, retainGrad and custom autograd functions.
import { describe, expect, it } from 'vitest';
import { lib } from '../ts/ffi.js';
import {
  ArgumentError, AutogradError, defineFunction, grad, keep, memory, noGrad, ShapeError, tensor, tidy, type Tensor,
} from '../ts/node.js';

const values = (t: Tensor | null | undefined) => Array.from(t!.data());

describe('grad()', () => {
  it('returns gradients without touching .grad, for leaves and intermediates', () => {
    tidy(() => {
      const x = tensor([1, 2, 3], { requiresGrad: true });
      const h = x.mul(2);
      const y = h.square().sum();
      const [gx, gh] = grad(y, [x, h]);
      expect(values(gx)).toEqual([8, 16, 24]);
      expect(values(gh)).toEqual([4, 8, 12]);
      expect(x.grad).toBeNull();
    });
  });

  it('takes several outputs with gradOutputs, and sums their contributions', () => {
    tidy(() => {
      const x = tensor([1, -1], { requiresGrad: true });
      const a = x.mul(3);
      const b = x.square();
      const [g] = grad([a, b], x, { gradOutputs: [tensor([1, 1]), tensor([2, 0.5])] });
      expect(values(g)).toEqual([3 + 4, 3 - 1]);
    });
  });

  it('allowUnused gives null; otherwise an unused input is an AutogradError', () => {
    tidy(() => {
      const x = tensor([1], { requiresGrad: true });
      const z = tensor([2], { requiresGrad: true });
      const y = x.mul(5).sum();
      expect(() => grad(y, [x, z], { retainGraph: true })).toThrow(AutogradError);
      expect(() => grad(y, [x, z], { retainGraph: true })).toThrow(/allowUnused/);
      const [gx, gz] = grad(y, [x, z], { allowUnused: true });
      expect(values(gx)).toEqual([5]);
      expect(gz).toBeNull();
    });
  });

  it('rejects inputs that do not require grad and non-scalar outputs without gradOutputs', () => {
    tidy(() => {
      const x = tensor([1, 2], { requiresGrad: true });
      const c = tensor([1, 2]);
      expect(() => grad(x.mul(c).sum(), c)).toThrow(AutogradError);
      expect(() => grad(x.mul(2), x)).toThrow(/implicitly created only for scalar outputs/);
      expect(() => grad(x.sum(), x, { gradOutputs: [tensor([1, 2])] })).toThrow(ShapeError);
    });
  });

  it('frees the graph unless retainGraph or createGraph is set', () => {
    tidy(() => {
      const x = tensor([2], { requiresGrad: true });
      const y = x.exp().sum();
      grad(y, x);
      expect(() => grad(y, x)).toThrow(/second time/);
      const z = x.exp().sum();
      grad(z, x, { createGraph: true });
      expect(values(grad(z, x)[0]!)).toEqual([Math.fround(Math.exp(2))]);
    });
  });

  it('a gradient penalty trains through a second derivative', () => {
    tidy(() => {
      // d/dw of ‖∂(w·x²)/∂x‖² = d/dw (2wx)² = 8w·x²
      const w = tensor([0.5], { requiresGrad: true });
      const x = tensor([3], { requiresGrad: true });
      const [dx] = grad(w.mul(x.square()).sum(), x, { createGraph: true });
      dx!.square().sum().backward();
      expect(values(w.grad)).toEqual([8 * 0.5 * 9]);
      w.grad = null;
      x.grad = null;
    });
  });
});

describe('hooks', () => {
  it('a hook on an intermediate sees its gradient and can replace it', () => {
    tidy(() => {
      const x = tensor([1, 2], { requiresGrad: true });
      const h = x.mul(3);
      const seen: number[][] = [];
      h.registerHook((g) => {
        seen.push(values(g));
        return g.mul(10);
      });
      h.sum().backward();
      expect(seen).toEqual([[1, 1]]);
      expect(values(x.grad)).toEqual([30, 30]);
      x.grad = null;
    });
  });

  it('a leaf hook sees the summed gradient once; remove() unregisters it', () => {
    tidy(() => {
      const x = tensor([1, 2], { requiresGrad: true });
      let calls = 0;
      const handle = x.registerHook((g) => {
        calls++;
        expect(values(g)).toEqual([5, 5]);
      });
      x.mul(2).add(x.mul(3)).sum().backward();
      expect(calls).toBe(1);
      handle.remove();
      x.mul(2).sum().backward();
      expect(calls).toBe(1);
      expect(values(x.grad)).toEqual([7, 7]);
      x.grad = null;
    });
  });

  it('retainGrad keeps an intermediate gradient, accumulating like a leaf', () => {
    tidy(() => {
      const x = tensor([1, 2], { requiresGrad: true });
      const h = x.square();
      h.retainGrad();
      const y = h.sum();
      y.backward(undefined, { retainGraph: true });
      expect(values(h.grad)).toEqual([1, 1]);
      y.backward();
      expect(values(h.grad)).toEqual([2, 2]);
      expect(values(x.grad)).toEqual([4, 8]);
      x.grad = null;
    });
  });

  it('a throwing hook rethrows its own error and leaves the module working', () => {
    tidy(() => {
      const x = tensor([1], { requiresGrad: true });
      const h = x.mul(2);
      h.registerHook(() => {
        throw new RangeError('hook failed');
      });
      expect(() => h.sum().backward()).toThrow(RangeError);
      expect(values(x.mul(4))).toEqual([4]);
    });
  });

  it('a hook returning the wrong shape is a ShapeError', () => {
    tidy(() => {
      const x = tensor([1, 2], { requiresGrad: true });
      const h = x.mul(2);
      h.registerHook(() => tensor([1, 2, 3]));
      expect(() => h.sum().backward()).toThrow(ShapeError);
    });
  });

  it('hooks cannot go on tensors without grad', () => {
    tidy(() => {
      expect(() => tensor([1]).registerHook(() => undefined)).toThrow(AutogradError);
    });
  });
});

describe('custom functions', () => {
  const Cube = defineFunction({
    name: 'Cube',
    forward(ctx, x: Tensor) {
      ctx.saveForBackward(x);
      return x.pow(3);
    },
    backward(ctx, g) {
      const [x] = ctx.savedTensors;
      return g.mul(x!.square().mul(3));
    },
  });

  it('forward, backward, gradFn, and a second derivative through a backward made of ops', () => {
    tidy(() => {
      const x = tensor([1, -2], { requiresGrad: true });
      const y = Cube.apply(x);
      expect(y.gradFn).toBe('CubeBackward');
      expect(values(y)).toEqual([1, -8]);
      const [g] = grad(y.sum(), x, { createGraph: true });
      expect(values(g)).toEqual([3, 12]);
      const [g2] = grad(g!.sum(), x);
      expect(values(g2)).toEqual([6, -12]);
    });
  });

  it('several inputs, non-tensor arguments, needsInputGrad and ctx state', () => {
    const ScaledMul = defineFunction({
      forward(ctx, a: Tensor, b: Tensor, scale: number) {
        ctx.saveForBackward(a, b);
        ctx.scale = scale;
        expect(ctx.needsInputGrad).toEqual([true, false, false]);
        return a.mul(b).mul(scale);
      },
      backward(ctx, g) {
        const [a, b] = ctx.savedTensors;
        const scale = ctx.scale as number;
        return [g.mul(b!).mul(scale), g.mul(a!).mul(scale), null];
      },
    });
    tidy(() => {
      const a = tensor([1, 2], { requiresGrad: true });
      const b = tensor([3, 4]);
      const y = ScaledMul.apply(a, b, 0.5);
      expect(y.gradFn).toBe('CustomBackward');
      y.sum().backward();
      expect(values(a.grad)).toEqual([1.5, 2]);
      a.grad = null;
    });
  });

  it('without grad, the output is a plain tensor', () => {
    tidy(() => {
      const x = tensor([2], { requiresGrad: true });
      const y = noGrad(() => Cube.apply(x));
      expect(y.requiresGrad).toBe(false);
      expect(values(y)).toEqual([8]);
    });
  });

  it('a backward returning the wrong number of gradients or shape is a clear error', () => {
    const Bad = defineFunction({
      forward: (_ctx, x: Tensor) => x.mul(2),
      backward: (_ctx, g) => [g, g],
    });
    const BadShape = defineFunction({
      forward: (_ctx, x: Tensor) => x.mul(2),
      backward: () => tensor([1, 2, 3]),
    });
    tidy(() => {
      const x = tensor([1, 2], { requiresGrad: true });
      expect(() => Bad.apply(x).sum().backward()).toThrow(ArgumentError);
      expect(() => BadShape.apply(x).sum().backward()).toThrow(ShapeError);
      expect(values(x.add(1))).toEqual([2, 3]);
    });
  });

  it('saved tensors are checked for in-place changes', () => {
    tidy(() => {
      const x = tensor([1, 2], { requiresGrad: true });
      const h = x.mul(1);
      const y = Cube.apply(h);
      noGrad(() => h.mul_(2));
      expect(() => y.sum().backward()).toThrow(/modified by an in-place operation/);
    });
  });

  it('frees its saved tensors and callbacks with the graph', () => {
    const before = memory();
    const callbacks = lib().callbackCount;
    tidy(() => {
      const x = tensor(new Array(1000).fill(0.5), { requiresGrad: true });
      for (let i = 0; i < 20; i++) Cube.apply(x.mul(1)).sum().backward();
      // Graphs dropped without a backward release their callbacks too.
      for (let i = 0; i < 5; i++) Cube.apply(x.mul(1)).dispose();
      const h = x.mul(2);
      h.registerHook((g) => g);
      h.dispose();
      x.registerHook(() => undefined);
      x.grad = null;
    });
    expect(memory()).toEqual(before);
    expect(lib().callbackCount, 'callbacks of dropped graphs and tensors are released').toBe(callbacks);
  });

  it('a hook may keep the gradient it is given', () => {
    let kept: Tensor | null = null;
    tidy(() => {
      const x = tensor([1, 2], { requiresGrad: true });
      const h = x.mul(2);
      h.registerHook((g) => void (kept = keep(g.clone())));
      h.sum().backward();
    });
    expect(values(kept)).toEqual([1, 1]);
    kept!.dispose();
  });
});

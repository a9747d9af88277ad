// Memory accounting and lifetimes: dispose, using, tidy/keep, graphs, gradients, loops.
import { describe, expect, it } from 'vitest';
import {
  dispose,
  keep,
  memory,
  noGrad,
  ones,
  randn,
  manualSeed,
  scalar,
  tensor,
  tidy,
  zeros,
  type MemoryInfo,
  type Tensor,
} from '../ts/node.js';

const counts = (m: MemoryInfo = memory()) => ({ numTensors: m.numTensors, numBytes: m.numBytes });
/** memory() relative to `base`. */
const delta = (base: MemoryInfo, m: MemoryInfo = memory()) => ({
  numTensors: m.numTensors - base.numTensors,
  numBytes: m.numBytes - base.numBytes,
});

describe('memory()', () => {
  it('a [10,10] float32 tensor adds 1 tensor and 400 bytes; dispose removes them', () => {
    const base = memory();
    const t = zeros([10, 10]);
    expect(delta(base)).toEqual({ numTensors: 1, numBytes: 400 });
    expect(memory().numBuffers - base.numBuffers).toBe(1);
    t.dispose();
    expect(delta(base)).toEqual({ numTensors: 0, numBytes: 0 });
    expect(memory().numBuffers).toBe(base.numBuffers);
  });

  it('int32 elements are 4 bytes too; a 0-d tensor is 4 bytes; an empty tensor is 0 bytes', () => {
    const base = memory();
    const a = ones([3, 5], { dtype: 'int32' });
    const s = scalar(1);
    const e = zeros([0, 7]);
    expect(delta(base)).toEqual({ numTensors: 3, numBytes: 60 + 4 + 0 });
    dispose(a, s, e);
    expect(delta(base)).toEqual({ numTensors: 0, numBytes: 0 });
  });

  it('views share their buffer: a reshape adds a tensor but no bytes', () => {
    const base = memory();
    const t = zeros([4, 4]);
    const v = t.reshape(16);
    expect(delta(base)).toEqual({ numTensors: 2, numBytes: 64 });
    expect(memory().numBuffers - base.numBuffers).toBe(1);
    t.dispose();
    expect(delta(base)).toEqual({ numTensors: 1, numBytes: 64 }); // the view keeps the data
    expect(Array.from(v.data())).toEqual(new Array(16).fill(0));
    v.dispose();
    expect(delta(base)).toEqual({ numTensors: 0, numBytes: 0 });
  });
});

describe('dispose()', () => {
  it('is idempotent', () => {
    const base = memory();
    const t = ones([8]);
    t.dispose();
    expect(t.isDisposed).toBe(true);
    t.dispose();
    t.dispose();
    expect(delta(base)).toEqual({ numTensors: 0, numBytes: 0 });
  });

  it('disposing twice never frees another tensor that reuses the slot', () => {
    const a = ones([2]);
    a.dispose();
    const b = tensor([5, 6]); // may reuse a's slot
    a.dispose();
    expect(b.isDisposed).toBe(false);
    expect(b.toArray()).toEqual([5, 6]);
    b.dispose();
  });

  it('`using` disposes at the end of the block', () => {
    const base = memory();
    let seen: Tensor;
    {
      using t = ones([10, 10]);
      seen = t;
      expect(delta(base)).toEqual({ numTensors: 1, numBytes: 400 });
      {
        using s = t.sum();
        expect(s.item()).toBe(100);
        expect(delta(base)).toEqual({ numTensors: 2, numBytes: 404 });
      }
      expect(delta(base)).toEqual({ numTensors: 1, numBytes: 400 });
    }
    expect(seen.isDisposed).toBe(true);
    expect(delta(base)).toEqual({ numTensors: 0, numBytes: 0 });
  });

  it('`using` disposes even when the block throws', () => {
    const base = memory();
    let seen: Tensor | undefined;
    expect(() => {
      using t = ones([3]);
      seen = t;
      throw new Error('inside using');
    }).toThrow('inside using');
    expect(seen!.isDisposed).toBe(true);
    expect(delta(base)).toEqual({ numTensors: 0, numBytes: 0 });
  });

  it('the module-level dispose(...) disposes tensors in nested arrays and objects', () => {
    const base = memory();
    const a = ones([2]);
    const b = ones([3]);
    const c = ones([4]);
    const d = ones([5]);
    const e = ones([6]);
    const tree = { a, list: [b, [c, { deep: d }]], n: 3, s: 'x', nil: null };
    dispose(tree, [e], 42, undefined);
    for (const t of [a, b, c, d, e]) expect(t.isDisposed).toBe(true);
    expect(delta(base)).toEqual({ numTensors: 0, numBytes: 0 });
    dispose(tree); // again: harmless
    expect(delta(base)).toEqual({ numTensors: 0, numBytes: 0 });
  });
});

describe('tidy', () => {
  it('frees intermediates but not a returned tensor', () => {
    const base = memory();
    let mid: Tensor | undefined;
    const out = tidy(() => {
      const a = ones([10]);
      mid = a.mul(2);
      return mid.add(1);
    });
    expect(mid!.isDisposed).toBe(true);
    expect(out.isDisposed).toBe(false);
    expect(out.toArray()).toEqual(new Array(10).fill(3));
    expect(delta(base)).toEqual({ numTensors: 1, numBytes: 40 });
    out.dispose();
  });

  it('keeps tensors returned in an array, a plain object and a Map', () => {
    const base = memory();
    const arr = tidy(() => {
      const a = ones([2]);
      return [a.add(1), a.add(2)];
    });
    const obj = tidy(() => {
      const a = ones([2]);
      return { x: a.mul(3), nested: { y: a.mul(4) }, n: 5 };
    });
    const map = tidy(() => {
      const a = ones([2]);
      return new Map([['z', a.mul(5)]]);
    });
    expect(delta(base)).toEqual({ numTensors: 5, numBytes: 40 });
    expect(arr.map((t) => t.toArray())).toEqual([[2, 2], [3, 3]]);
    expect(obj.x.toArray()).toEqual([3, 3]);
    expect(obj.nested.y.toArray()).toEqual([4, 4]);
    expect(obj.n).toBe(5);
    expect(map.get('z')!.toArray()).toEqual([5, 5]);
    dispose(arr, obj);
    map.get('z')!.dispose();
    expect(delta(base)).toEqual({ numTensors: 0, numBytes: 0 });
  });

  it('returning plain values frees every tensor', () => {
    const base = memory();
    const v = tidy(() => ones([100]).mul(2).sum().item());
    expect(v).toBe(200);
    expect(delta(base)).toEqual({ numTensors: 0, numBytes: 0 });
  });

  it('does not dispose tensors created before it, even if used or returned inside', () => {
    const outer = ones([3]);
    const same = tidy(() => {
      outer.add(1);
      return outer;
    });
    expect(same).toBe(outer);
    expect(outer.isDisposed).toBe(false);
    outer.dispose();
  });

  it('nested tidy moves returned tensors to the parent scope', () => {
    const base = memory();
    let inner: Tensor | undefined;
    const kept = tidy(() => {
      inner = tidy(() => ones([4]).add(1));
      expect(inner.isDisposed).toBe(false);
      expect(delta(base)).toEqual({ numTensors: 1, numBytes: 16 });
      const survivor = tidy(() => ones([2]).mul(7));
      return survivor; // inner is not returned: the outer tidy frees it
    });
    expect(inner!.isDisposed).toBe(true);
    expect(kept.isDisposed).toBe(false);
    expect(kept.toArray()).toEqual([7, 7]);
    expect(delta(base)).toEqual({ numTensors: 1, numBytes: 8 });
    kept.dispose();
  });

  it('keep() exempts a tensor from every enclosing tidy', () => {
    const base = memory();
    let k: Tensor | undefined;
    tidy(() => {
      tidy(() => {
        k = keep(ones([5]).mul(2));
        ones([9]);
      });
    });
    expect(k!.isDisposed).toBe(false);
    expect(k!.toArray()).toEqual([2, 2, 2, 2, 2]);
    expect(delta(base)).toEqual({ numTensors: 1, numBytes: 20 });
    k!.dispose();
  });

  it('tidy(async () => ...) frees intermediates after the promise resolves', async () => {
    const base = memory();
    let a: Tensor | undefined;
    const pending = tidy(async () => {
      a = ones([6]);
      await new Promise((r) => setTimeout(r, 5));
      return a.mul(2);
    });
    expect(a!.isDisposed).toBe(false); // scope still open
    const result = await pending;
    expect(a!.isDisposed).toBe(true);
    expect(result.isDisposed).toBe(false);
    expect(result.toArray()).toEqual([2, 2, 2, 2, 2, 2]);
    expect(delta(base)).toEqual({ numTensors: 1, numBytes: 24 });
    result.dispose();
  });

  it('tidy(async () => ...) frees everything when the promise rejects', async () => {
    const base = memory();
    let a: Tensor | undefined;
    const pending = tidy(async () => {
      a = ones([6]);
      await new Promise((r) => setTimeout(r, 5));
      a.mul(2);
      throw new Error('async failure');
    });
    await expect(pending).rejects.toThrow('async failure');
    expect(a!.isDisposed).toBe(true);
    expect(delta(base)).toEqual({ numTensors: 0, numBytes: 0 });
  });
});

describe('graphs and gradients', () => {
  it('disposing an intermediate x whose values y = x*x saved, before backward, is safe and the gradient right', () => {
    const p = tensor([1, 2, 3], { requiresGrad: true });
    const x = p.mul(2);
    const sq = x.mul(x); // MulBackward0 saved x (twice)
    const y = sq.sum();
    x.dispose();
    sq.dispose();
    y.backward(); // d/dp (2p)² = 8p
    expect(p.grad!.toArray()).toEqual([8, 16, 24]);
    dispose(y, p);
  });

  it('disposing a constant operand the graph saved, before backward, is safe', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const w = tensor([4, 5, 6]);
    const prod = x.mul(w);
    const y = prod.sum();
    w.dispose();
    prod.dispose();
    y.backward();
    expect(x.grad!.toArray()).toEqual([4, 5, 6]);
    dispose(y, x);
  });

  it('disposing the output after backward frees the graph: bytes return', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const base = memory();
    const y = tidy(() => x.mul(x).exp().mul(x).sum()); // the graph keeps saved tensors alive
    const withGraph = delta(base);
    expect(withGraph.numTensors).toBe(1);
    expect(withGraph.numBytes).toBeGreaterThan(4); // more than the 0-d output itself
    y.backward(undefined, { retainGraph: true });
    const g = x.grad!;
    expect(g.shape).toEqual([3]);
    y.dispose();
    // Only x's gradient (12 bytes, one handle) remains.
    expect(delta(base)).toEqual({ numTensors: 1, numBytes: 12 });
    x.dispose();
  });

  it('a grad object obtained from x.grad reports isDisposed once x (and with it the gradient) is freed', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    tidy(() => x.mul(x).sum().backward());
    const g = x.grad!;
    x.dispose();
    expect(() => g.data()).toThrow(/disposed/); // the gradient really is gone ...
    expect(g.isDisposed).toBe(true); // ... so isDisposed must say so
  });

  it('disposing a leaf that requires grad before backward is safe; its gradient is freed with the graph', () => {
    const base = memory();
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const sq = x.mul(x);
    const y = sq.sum();
    dispose(x, sq);
    expect(() => y.backward()).not.toThrow();
    expect(y.item()).toBe(14);
    y.dispose();
    expect(delta(base)).toEqual({ numTensors: 0, numBytes: 0 });
  });

  it('backward without retainGraph frees the saved tensors right away', () => {
    const x = tensor([1, 2, 3, 4], { requiresGrad: true });
    const base = memory();
    const y = tidy(() => x.exp().exp().sum()); // each exp saves its 16-byte output
    const before = delta(base).numBytes;
    y.backward();
    const after = delta(base).numBytes; // + 16 bytes of gradient, − saved outputs
    expect(after).toBeLessThan(before + 16);
    y.dispose();
    expect(delta(base).numBytes).toBe(16);
    x.dispose();
  });

  it('dropping a graph without ever calling backward frees it', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const base = memory();
    const y = tidy(() => x.mul(x).exp().tanh().sum());
    expect(delta(base).numBytes).toBeGreaterThan(4);
    y.dispose();
    expect(delta(base)).toEqual({ numTensors: 0, numBytes: 0 });
    x.dispose();
  });

  it("a leaf's grad is freed with the leaf (and is not freed by tidy)", () => {
    const base = memory();
    const x = tensor([1, 2, 3, 4, 5], { requiresGrad: true });
    tidy(() => {
      x.mul(x).sum().backward();
      expect(x.grad).not.toBeNull();
    });
    expect(x.grad!.toArray()).toEqual([2, 4, 6, 8, 10]); // survived the tidy
    expect(delta(base).numBytes).toBe(40); // x and its gradient
    x.dispose();
    expect(delta(base)).toEqual({ numTensors: 0, numBytes: 0 });
  });

  it('zeroGrad() and grad = null free the gradient', () => {
    const x = tensor([1, 2, 3, 4], { requiresGrad: true });
    const base = memory();
    tidy(() => x.mul(x).sum().backward());
    void x.grad;
    expect(delta(base)).toEqual({ numTensors: 1, numBytes: 16 });
    x.zeroGrad();
    expect(delta(base)).toEqual({ numTensors: 0, numBytes: 0 });
    tidy(() => x.mul(x).sum().backward());
    void x.grad;
    x.grad = null;
    expect(delta(base)).toEqual({ numTensors: 0, numBytes: 0 });
    x.dispose();
  });
});

describe('training loops stay flat', () => {
  it('a 1 000-step 2-layer net (matmul + relu + mean) inside tidy per step leaves numTensors and numBytes flat', () => {
    const start = memory();
    manualSeed(7);
    const X = randn([16, 3]);
    const Y = tidy(() => X.matmul(tensor([[1], [-2], [0.5]])).relu().add(0.25));
    const params = tidy(() => ({
      W1: keep(randn([3, 8]).mul(0.5)).requiresGrad_(),
      b1: keep(zeros([8])).requiresGrad_(),
      W2: keep(randn([8, 1]).mul(0.5)).requiresGrad_(),
      b2: keep(zeros([1])).requiresGrad_(),
    }));
    const list = Object.values(params);
    const lr = 0.05;
    let at10: ReturnType<typeof counts> | undefined;
    let firstLoss = NaN;
    let lastLoss = NaN;
    for (let step = 1; step <= 1000; step++) {
      const loss = tidy(() => {
        const h = X.matmul(params.W1).add(params.b1).relu();
        const out = h.matmul(params.W2).add(params.b2);
        const l = out.sub(Y).pow(2).mean();
        l.backward();
        noGrad(() => {
          for (const p of list) p.sub_(p.grad!.mul(lr));
        });
        for (const p of list) p.grad!.zero_();
        return Number(l.item());
      });
      if (step === 1) firstLoss = loss;
      lastLoss = loss;
      if (step === 10) at10 = counts();
    }
    expect(counts()).toEqual(at10);
    expect(Number.isFinite(lastLoss)).toBe(true);
    expect(lastLoss).toBeLessThan(firstLoss / 2);
    dispose(list, X, Y);
    expect(counts()).toEqual(counts(start));
  });

  it('a 1 000-step linear regression using zeroGrad() each step stays flat too', () => {
    const start = memory();
    const X = tensor([1, 2, 3, 4, 5, 6, 7]);
    const Y = tidy(() => X.mul(10).add(1));
    const w = scalar(0, { requiresGrad: true });
    const b = scalar(0, { requiresGrad: true });
    let at10: ReturnType<typeof counts> | undefined;
    for (let step = 1; step <= 1000; step++) {
      tidy(() => {
        const loss = w.mul(X).add(b).sub(Y).pow(2).mean();
        loss.backward();
        noGrad(() => {
          w.sub_(w.grad!.mul(0.01));
          b.sub_(b.grad!.mul(0.01));
        });
        w.zeroGrad();
        b.zeroGrad();
      });
      if (step === 10) at10 = counts();
    }
    expect(counts()).toEqual(at10);
    expect(Math.abs(Number(w.item()) - 10)).toBeLessThan(0.05);
    dispose([X, Y, w, b]);
    expect(counts()).toEqual(counts(start));
  });
});

// The exported gradcheck: passes for correct gradients, reports a wrong one with the
// input, element and both values, and leaves the inputs and their .grad untouched.
import { describe, expect, it } from 'vitest';
import { gradcheck, linear, randn, manualSeed, tensor, TensorError, tidy } from '../ts/node.js';

describe('gradcheck (exported)', () => {
  it('accepts correct gradients of composite functions', () => {
    tidy(() => {
      manualSeed(1);
      const x = randn([3, 4], { requiresGrad: true });
      const w = randn([2, 4], { requiresGrad: true });
      expect(gradcheck((a) => a.tanh().mul(a), [x])).toBe(true);
      expect(gradcheck((a, b) => linear(a, b).softmax(1), [x, w])).toBe(true);
    });
  });
  it('reports a gradient that disagrees with finite differences', () => {
    // round() has gradient 0, but 0.495 ± 0.01 crosses the rounding boundary.
    const err = tidy(() => {
      try {
        gradcheck((a) => a.round().add(a), [tensor([0.495], { requiresGrad: true })]);
      } catch (e) {
        return e as Error;
      }
      return null;
    });
    expect(err).toBeInstanceOf(TensorError);
    expect(err!.message).toMatch(/input 0, element 0: backward gives [-\d.e]+, finite differences [-\d.e]+/);
  });
  it('leaves the inputs and their accumulated gradients as they were', () => {
    const state = tidy(() => {
      const x = tensor([0.3, -0.7], { requiresGrad: true });
      x.mul(2).sum().backward();
      gradcheck((a) => a.exp(), [x]);
      return { values: Array.from(x.data()), grad: Array.from(x.grad!.data()) };
    });
    expect(state.grad).toEqual([2, 2]);
    expect(state.values.map((v) => Number(v.toFixed(6)))).toEqual([0.3, -0.7]);
  });
});

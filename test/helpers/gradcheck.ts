// gradcheck: compares wasmgrad's forward with a float64 reference, and wasmgrad's
// backward with central finite differences of that reference.
import { expect } from 'vitest';
import { tensor, tidy, type Tensor } from '../../ts/node.js';
import { nd, numel, rng, type Nd } from './reference.js';

export interface GradcheckOptions {
  /** Finite-difference step (applied to the float64 reference). */
  eps?: number;
  /** Tolerances for the gradient comparison. */
  atol?: number;
  rtol?: number;
  /** Tolerances for the forward comparison (float32 vs float64). */
  forwardAtol?: number;
  forwardRtol?: number;
}

export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e)) {
      expect(Number.isNaN(a), `${what}[${i}]: expected NaN, got ${a}`).toBe(true);
      continue;
    }
    if (!Number.isFinite(e)) {
      expect(a, `${what}[${i}]`).toBe(e);
      continue;
    }
    const ok = Math.abs(a - e) <= atol + rtol * Math.abs(e);
    expect(ok, `${what}[${i}]: got ${a}, expected ${e} (atol ${atol}, rtol ${rtol})`).toBe(true);
  }
}

/**
 * Checks `fn` (on wasmgrad tensors) against `ref` (on float64 arrays): forward values,
 * then the gradient of every input for a random upstream gradient.
 */
export function gradcheck(
  fn: (...xs: Tensor[]) => Tensor,
  ref: (...xs: Nd[]) => Nd,
  inputs: Nd[],
  options: GradcheckOptions = {},
): void {
  const { eps = 1e-6, atol = 1e-4, rtol = 1e-3, forwardAtol = 1e-5, forwardRtol = 1e-5 } = options;
  const expectedOut = ref(...inputs);
  const r = rng(12345);
  const upstream = nd(expectedOut.shape, Array.from({ length: numel(expectedOut.shape) }, () => Math.fround(r() * 2 - 1)));

  // Scalar objective L(x) = Σ ref(x) · upstream, in float64.
  const objective = (xs: Nd[]) => {
    const out = ref(...xs).data;
    let acc = 0;
    for (let i = 0; i < out.length; i++) acc += out[i]! * upstream.data[i]!;
    return acc;
  };

  const grads = tidy(() => {
    const ts = inputs.map((x) => tensor(Array.from(x.data), { shape: x.shape, requiresGrad: true }));
    const out = fn(...ts);
    expect([...out.shape], 'forward shape').toEqual(expectedOut.shape);
    expectClose(out.data(), expectedOut.data, forwardAtol, forwardRtol, 'forward');
    out.backward(tensor(Array.from(upstream.data), { shape: upstream.shape }));
    return ts.map((t) => {
      const g = t.grad;
      return g === null ? null : g.data();
    });
  });

  inputs.forEach((x, i) => {
    const numeric = new Float64Array(x.data.length);
    for (let j = 0; j < x.data.length; j++) {
      const plus = inputs.map((y, k) => (k === i ? nd(y.shape, y.data) : y));
      const minus = inputs.map((y, k) => (k === i ? nd(y.shape, y.data) : y));
      plus[i]!.data[j]! += eps;
      minus[i]!.data[j]! -= eps;
      numeric[j] = (objective(plus) - objective(minus)) / (2 * eps);
    }
    const analytic = grads[i];
    expect(analytic, `input ${i} received no gradient`).not.toBeNull();
    expectClose(analytic!, numeric, atol, rtol, `grad of input ${i}`);
  });
}

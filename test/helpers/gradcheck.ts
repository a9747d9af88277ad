// gradcheck: compares wasmgrad's forward with a float64 reference, and wasmgrad's
// backward with central finite differences of that reference.
import { expect } from 'vitest';
import { grad, tensor, tidy, type Tensor } from '../../ts/node.js';
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

/**
 * Second-order check, PyTorch's gradgradcheck: with L = Σ fn(x)·u and the gradient
 * g = ∂L/∂x computed with `createGraph`, the gradient of ⟨g, v⟩ with respect to x (a
 * Hessian-vector product) and to u (a Jacobian-vector product, which checks that the
 * backward is recorded as a function of the incoming gradient too) against nested central
 * differences of the float64 reference.
 */
export function gradgradcheck(
  fn: (...xs: Tensor[]) => Tensor,
  ref: (...xs: Nd[]) => Nd,
  inputs: Nd[],
  { eps = 1e-4, atol = 2e-3, rtol = 1e-2 }: { eps?: number; atol?: number; rtol?: number } = {},
): void {
  const r = rng(777);
  const outShape = ref(...inputs).shape;
  const upstream = Array.from({ length: numel(outShape) }, () => Math.fround(r() * 2 - 1));
  const direction = inputs.map((x) => Array.from(x.data, () => Math.fround(r() * 2 - 1)));
  const objective = (xs: Nd[]) => {
    const out = ref(...xs).data;
    let acc = 0;
    for (let i = 0; i < out.length; i++) acc += out[i]! * upstream[i]!;
    return acc;
  };
  const along = (xs: Nd[], h: number) => xs.map((x, i) => nd(x.shape, x.data.map((v, j) => v + h * direction[i]![j]!)));
  const directional = (xs: Nd[]) => (objective(along(xs, eps)) - objective(along(xs, -eps))) / (2 * eps);

  const [hvp, jvp] = tidy(() => {
    const ts = inputs.map((x) => tensor(Array.from(x.data), { shape: x.shape, requiresGrad: true }));
    const u = tensor(upstream, { shape: outShape, requiresGrad: true });
    const loss = fn(...ts).mul(u).sum();
    const gs = grad(loss, ts, { createGraph: true, allowUnused: true });
    let dot: Tensor | null = null;
    gs.forEach((g, i) => {
      if (g === null) return;
      const term = g.mul(tensor(direction[i]!, { shape: inputs[i]!.shape })).sum();
      dot = dot === null ? term : dot.add(term);
    });
    expect(dot, 'no input received a gradient').not.toBeNull();
    expect(dot!.requiresGrad, 'the gradient was computed outside the graph (a backward not written with ops)').toBe(true);
    const second = grad(dot!, [...ts, u], { allowUnused: true });
    return [
      second.slice(0, ts.length).map((g, i) => (g === null ? new Float64Array(inputs[i]!.data.length) : Float64Array.from(g.data()))),
      second[ts.length] === null ? new Float64Array(upstream.length) : Float64Array.from(second[ts.length]!.data()),
    ] as const;
  });

  inputs.forEach((x, i) => {
    const numeric = new Float64Array(x.data.length);
    for (let j = 0; j < x.data.length; j++) {
      const shifted = (h: number) => inputs.map((y, k) => (k === i ? nd(y.shape, y.data.map((v, m) => (m === j ? v + h : v))) : y));
      numeric[j] = (directional(shifted(eps)) - directional(shifted(-eps))) / (2 * eps);
    }
    expectClose(hvp[i]!, numeric, atol, rtol, `Hessian-vector product, input ${i}`);
  });
  const plus = ref(...along(inputs, eps)).data;
  const minus = ref(...along(inputs, -eps)).data;
  expectClose(jvp, plus.map((p, k) => (p - minus[k]!) / (2 * eps)), atol, rtol, 'Jacobian-vector product (through the incoming gradient)');
}

// Beyond first derivatives, as in PyTorch: torch.autograd.grad with create_graph=True,
// Newton's method from a recorded gradient, a custom autograd.Function (a straight-through
// estimator) and a gradient hook.
import { defineFunction, grad, tensor, tidy } from 'wasmgrad';

// 1. d/dx x³ = 3x² and d²/dx² x³ = 6x.
tidy(() => {
  const x = tensor([0.5, -2, 3], { requiresGrad: true });
  const [dy] = grad(x.pow(3).sum(), x, { createGraph: true });
  const [d2y] = grad(dy.sum(), x);
  console.log(`dy/dx   = ${dy.detach()}   (3x²)`);
  console.log(`d²y/dx² = ${d2y}   (6x)`);
});

// 2. Newton's method on f(x) = x⁴ − 3x² + x from x = 2: x ← x − f′(x) / f″(x).
tidy(() => {
  let x = 2;
  for (let step = 1; step <= 6; step++) {
    tidy(() => {
      const t = tensor(x, { requiresGrad: true });
      const f = t.pow(4).sub(t.pow(2).mul(3)).add(t);
      const [d1] = grad(f, t, { createGraph: true });
      const [d2] = grad(d1, t);
      x -= Number(d1.item()) / Number(d2.item());
      console.log(`newton step ${step}: x = ${x.toFixed(6)}, f'(x) before = ${Number(d1.item()).toExponential(3)}`);
    });
  }
});

// 3. A straight-through estimator: round in the forward pass, identity in the backward
//    (quantisation-aware training), as a custom differentiable function.
const RoundSTE = defineFunction({
  name: 'RoundSTE',
  forward: (_ctx, x) => x.round(),
  backward: (_ctx, g) => g,
});
tidy(() => {
  const w = tensor([0.4, 1.6, -2.3], { requiresGrad: true });
  const y = RoundSTE.apply(w).mul(tensor([1, 2, 3])).sum();
  y.backward();
  console.log(`round(w) = ${RoundSTE.apply(w).detach()}, y.gradFn = ${y.gradFn}, w.grad = ${w.grad}`);
  w.grad = null;
});

// 4. A hook that clips the gradient flowing through an intermediate tensor.
tidy(() => {
  const w = tensor([1, 2, 3], { requiresGrad: true });
  const h = w.mul(10);
  h.registerHook((g) => g.clamp(-0.5, 0.5));
  h.mul(tensor([1, -3, 0.2])).sum().backward();
  console.log(`clipped w.grad = ${w.grad}   (10 · clamp([1, -3, 0.2], ±0.5))`);
  w.grad = null;
});

/**
 * `gradcheck`: compares the gradients `backward()` computes with central finite
 * differences, like `torch.autograd.gradcheck` (which needs float64; here everything is
 * float32, so the default step and tolerances are larger).
 * @module
 */
import { tensor } from './creation.js';
import { noGrad } from './autograd.js';
import { ArgumentError, TensorError } from './errors.js';
import { keep, tidy } from './scope.js';
import { Tensor } from './tensor.js';

/** Options of {@link gradcheck}. */
export interface GradcheckOptions {
  /** Finite-difference step (default 1e-2: float32 leaves about 7 digits). */
  eps?: number;
  /** Absolute tolerance (default 1e-2). */
  atol?: number;
  /** Relative tolerance (default 1e-2). */
  rtol?: number;
}

/**
 * Checks `fn`'s gradients with respect to every input that requires grad: for a fixed
 * random upstream gradient `v`, compares `∂(Σ v·fn)/∂x` from `backward()` with central
 * differences. Returns true, or throws a `TensorError` naming the input, the element and
 * both values. The inputs are not modified (their `.grad` is restored).
 *
 * @example
 * gradcheck((x) => x.tanh().mul(x), [randn([3], { requiresGrad: true })]);
 */
export function gradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], options: GradcheckOptions = {}): boolean {
  if (typeof fn !== 'function') throw new ArgumentError(`gradcheck: expected a function, got ${fn === null ? 'null' : typeof fn}`);
  if (!Array.isArray(inputs) || inputs.some((x) => !(x instanceof Tensor))) {
    throw new ArgumentError('gradcheck: expected an array of input tensors');
  }
  const { eps = 1e-2, atol = 1e-2, rtol = 1e-2 } = options ?? {};
  return tidy(() => {
    const probe = fn(...inputs);
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    const upstream = tensor(Array.from({ length: probe.size }, random), { shape: probe.shape });
    const objective = (): number => Number(noGrad(() => tidy(() => fn(...inputs).mul(upstream).sum().item())));

    for (const [i, x] of inputs.entries()) {
      if (!x.requiresGrad) continue;
      const saved = x.grad === null ? null : keep(x.grad.mul(1));
      x.grad = null;
      tidy(() => fn(...inputs).mul(upstream).sum().backward());
      const analytic = x.grad === null ? new Float32Array(x.size) : (x.grad as Tensor).data();
      x.grad = saved;
      saved?.dispose();
      const values = x.data() as Float32Array;
      for (let j = 0; j < values.length; j++) {
        const original = values[j]!;
        const at = (v: number) => {
          values[j] = v;
          noGrad(() => tidy(() => x.copy_(tensor(values, { shape: x.shape }))));
          return objective();
        };
        const numeric = (at(original + eps) - at(original - eps)) / (2 * eps);
        at(original);
        const a = analytic[j]!;
        if (!(Math.abs(a - numeric) <= atol + rtol * Math.abs(numeric))) {
          throw new TensorError(
            `gradcheck: input ${i}, element ${j}: backward gives ${a}, finite differences ${numeric} (eps ${eps}, atol ${atol}, rtol ${rtol})`,
          );
        }
      }
    }
    return true;
  });
}

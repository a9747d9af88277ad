/**
 * Custom differentiable functions with a forward and a backward written in TypeScript,
 * PyTorch's `torch.autograd.Function`.
 * @module
 */
import { ArgumentError } from './errors.js';
import { lib } from './ffi.js';
import { noGrad } from './autograd.js';
import { tidy } from './scope.js';
import { hostCallback } from './dispatch.js';
import { Tensor } from './tensor.js';

/** What `forward` hands to `backward`, PyTorch's `ctx`. Other properties may be set freely. */
export interface FunctionCtx {
  /** Keeps tensors for `backward` (checked against later in-place changes). */
  saveForBackward(...tensors: Tensor[]): void;
  /** In `backward`: the saved tensors, in order (valid during the call). */
  readonly savedTensors: readonly Tensor[];
  /** Per forward argument: whether it is a tensor that requires grad. */
  readonly needsInputGrad: readonly boolean[];
  [key: string]: unknown;
}

/** A custom function's definition. */
export interface FunctionDefinition<Args extends unknown[]> {
  /** Shown in `gradFn` as `<name>Backward`. */
  name?: string;
  /** Computes the output (no graph is recorded here). */
  forward(ctx: FunctionCtx, ...args: Args): Tensor;
  /**
   * The gradient of each forward argument given the output's gradient: one entry per
   * argument (`null` for non-tensors and inputs without a gradient), or a single tensor
   * for a one-argument function. Ops here are recorded under `createGraph`, so a backward
   * written with tensor ops supports higher derivatives.
   */
  backward(ctx: FunctionCtx, grad: Tensor): Tensor | null | readonly (Tensor | null | undefined)[];
}

/** A defined custom function: call `apply(...args)`. */
export interface CustomFunction<Args extends unknown[]> {
  apply(...args: Args): Tensor;
}

class Ctx implements FunctionCtx {
  [key: string]: unknown;
  saved: Tensor[] = [];
  savedTensors: readonly Tensor[] = [];
  constructor(readonly needsInputGrad: readonly boolean[]) {}
  saveForBackward(...tensors: Tensor[]): void {
    for (const t of tensors) {
      if (!(t instanceof Tensor)) throw new ArgumentError('saveForBackward: expected tensors');
    }
    this.saved.push(...tensors);
  }
}

/**
 * Defines a differentiable function from a forward and a backward.
 *
 * @example
 * const MyExp = defineFunction({
 *   name: 'MyExp',
 *   forward(ctx, x: Tensor) { const y = x.exp(); ctx.saveForBackward(y); return y; },
 *   backward(ctx, g) { const [y] = ctx.savedTensors; return g.mul(y!); },
 * });
 * const y = MyExp.apply(x);
 */
export function defineFunction<Args extends unknown[]>(definition: FunctionDefinition<Args>): CustomFunction<Args> {
  const name = definition.name ?? 'Custom';
  return {
    apply(...args: Args): Tensor {
      const c = lib();
      const tensorArgs = args.map((a, i) => [a, i] as const).filter(([a]) => a instanceof Tensor) as [Tensor, number][];
      const ctx = new Ctx(args.map((a) => a instanceof Tensor && a.requiresGrad));
      return tidy(() => {
        const out = noGrad(() => definition.forward(ctx, ...args));
        if (!(out instanceof Tensor)) throw new ArgumentError(`${name}.forward: must return a Tensor`);
        const callback = c.addCallback(
          hostCallback(c, ([g, ...saved]) => {
            ctx.savedTensors = saved;
            try {
              return gradsPerInput(name, definition.backward(ctx, g!), args.length, tensorArgs);
            } finally {
              ctx.savedTensors = [];
            }
          }),
        );
        c.putList([...tensorArgs.map(([t]) => t.handle), ...ctx.saved.map((t) => t.handle)]);
        const handle = c.raw.wg_custom(callback, tensorArgs.length, ctx.saved.length, out.handle, c.putText(name));
        ctx.saved = [];
        return new Tensor(c.check(handle));
      });
    },
  };
}

function gradsPerInput(
  name: string,
  result: Tensor | null | readonly (Tensor | null | undefined)[],
  nargs: number,
  tensorArgs: readonly [Tensor, number][],
): (Tensor | null)[] {
  const list = Array.isArray(result) ? (result as readonly (Tensor | null | undefined)[]) : [result as Tensor | null];
  if (list.length !== nargs) {
    throw new ArgumentError(`${name}.backward: returned ${list.length} gradients for ${nargs} forward arguments`);
  }
  return tensorArgs.map(([, i]) => {
    const g = list[i];
    if (g !== null && g !== undefined && !(g instanceof Tensor)) {
      throw new ArgumentError(`${name}.backward: gradient ${i} is not a Tensor or null`);
    }
    return g ?? null;
  });
}

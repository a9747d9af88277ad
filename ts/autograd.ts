/**
 * Grad mode (`noGrad`, `enableGrad`, `isGradEnabled`) and `grad()`, PyTorch's
 * `torch.autograd.grad`.
 * @module
 */
import { expectTensor, passFlags } from './dispatch.js';
import { ArgumentError } from './errors.js';
import { lib } from './ffi.js';
import { Tensor, type BackwardOptions } from './tensor.js';

/**
 * Grad-mode scopes still running, oldest first. The mode is that of the newest one still
 * open (else on): so scopes may end in any order, as overlapping async scopes do, and the
 * mode is right once they have all ended.
 */
const scopes: { enabled: boolean }[] = [];

function applyMode(): void {
  const top = scopes[scopes.length - 1];
  lib().raw.wg_set_grad_enabled(top === undefined || top.enabled ? 1 : 0);
}

function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const scope = { enabled };
  scopes.push(scope);
  applyMode();
  const end = () => {
    const i = scopes.lastIndexOf(scope);
    if (i >= 0) scopes.splice(i, 1);
    applyMode();
  };
  let result: T;
  try {
    result = fn();
  } catch (err) {
    end();
    throw err;
  }
  if (result instanceof Promise) return result.finally(end) as T;
  end();
  return result;
}

/**
 * Runs `fn` without recording a graph (PyTorch's `torch.no_grad()`): results do not
 * require grad, and in-place updates of parameters are allowed. Async functions keep the
 * mode until their promise settles.
 *
 * Grad mode is global, not per async task: while an async `noGrad` is pending, code that
 * runs in between (other tasks) also records nothing. Overlapping scopes may end in any
 * order; the mode is that of the most recently entered scope still running, and on
 * again once all have ended.
 *
 * @example
 * noGrad(() => { w.sub_(w.grad!.mul(lr)); });
 */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** Runs `fn` with graph recording on, even inside `noGrad` (PyTorch's `enable_grad`). */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}

/** Whether ops currently record a graph. */
export function isGradEnabled(): boolean {
  return lib().raw.wg_is_grad_enabled() !== 0;
}

/** Options of {@link grad}. */
export interface GradOptions extends BackwardOptions {
  /** The gradient of each output (`null` = ones, for single-element outputs). */
  gradOutputs?: Tensor | readonly (Tensor | null)[];
  /** Return `null` for inputs the outputs do not depend on, instead of throwing. */
  allowUnused?: boolean;
}

/**
 * The gradients of `outputs` with respect to `inputs` (PyTorch's `torch.autograd.grad`),
 * returned rather than accumulated into `.grad`. Inputs may be leaves or intermediate
 * tensors. With `createGraph` the result is differentiable again: second derivatives,
 * Hessian-vector products, gradient penalties.
 *
 * @example
 * const x = tensor([1, 2, 3], { requiresGrad: true });
 * const [dy] = grad(x.pow(3).sum(), x, { createGraph: true }); // 3x²
 * const [d2y] = grad(dy!.sum(), x);                            // 6x
 */
export function grad(
  outputs: Tensor | readonly Tensor[],
  inputs: Tensor | readonly Tensor[],
  options: GradOptions = {},
): (Tensor | null)[] {
  const outs = toList('grad', outputs);
  const ins = toList('grad', inputs);
  const gradOutputs = options.gradOutputs === undefined ? outs.map(() => null) : toList('grad', options.gradOutputs, true);
  if (gradOutputs.length !== outs.length) {
    throw new ArgumentError(`grad: ${gradOutputs.length} gradOutputs given for ${outs.length} outputs`);
  }
  const c = lib();
  c.putList([...outs, ...gradOutputs, ...ins].map((t) => (t === null ? 0 : t.handle)));
  c.status(c.raw.wg_autograd_grad(outs.length, ins.length, passFlags(options) | (options.allowUnused ? c.k.allowUnused : 0)));
  return c.readList(ins.length).map((h) => (h === 0 ? null : new Tensor(h)));
}

function toList(op: string, v: Tensor | readonly (Tensor | null)[], nullable = false): (Tensor | null)[] {
  const list = Array.isArray(v) ? (v as readonly (Tensor | null)[]) : [v as Tensor];
  return list.map((t) => (t === null && nullable ? null : expectTensor(op, t)));
}

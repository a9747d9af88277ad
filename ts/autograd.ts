/**
 * Grad mode: `noGrad`, `enableGrad`, `isGradEnabled`.
 * @module
 */
import { lib } from './ffi.js';

function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const raw = lib().raw;
  const previous = raw.wg_set_grad_enabled(enabled ? 1 : 0);
  const restore = () => void raw.wg_set_grad_enabled(previous);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    restore();
    throw err;
  }
  if (result instanceof Promise) return result.finally(restore) as T;
  restore();
  return result;
}

/**
 * Runs `fn` without recording a graph (PyTorch's `torch.no_grad()`): results do not
 * require grad, and in-place updates of parameters are allowed. Async functions keep the
 * mode until their promise settles.
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
  const raw = lib().raw;
  const current = raw.wg_set_grad_enabled(1);
  raw.wg_set_grad_enabled(current);
  return current !== 0;
}

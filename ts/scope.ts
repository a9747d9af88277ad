/**
 * Memory scopes: {@link tidy} frees every tensor created inside it except those it
 * returns or that were {@link keep | kept}.
 * @module
 */
import type { Tensor } from './tensor.js';

interface Scope {
  tensors: Tensor[];
  parent: Scope | undefined;
}

const open: Scope[] = [];

/** @internal Called by every new tensor. */
export function track(t: Tensor): void {
  const scope = open[open.length - 1];
  if (scope !== undefined) scope.tensors.push(t);
}

/** Anything tidy can return: tensors are found inside arrays, plain objects and Maps. */
function collectTensors(value: unknown, found: Set<Tensor>, isTensor: (v: unknown) => v is Tensor): void {
  const stack = [value];
  const seen = new Set<unknown>();
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    if (isTensor(v)) found.add(v);
    else if (Array.isArray(v)) stack.push(...v);
    else if (v instanceof Map) stack.push(...v.values());
    else if (Object.getPrototypeOf(v) === Object.prototype) stack.push(...Object.values(v));
  }
}

let tensorCheck: (v: unknown) => v is Tensor = (_v): _v is Tensor => false;
/** @internal */
export function setTensorCheck(check: (v: unknown) => v is Tensor): void {
  tensorCheck = check;
}

function close(scope: Scope, result: unknown): void {
  const index = open.lastIndexOf(scope);
  if (index >= 0) open.splice(index, 1);
  const returned = new Set<Tensor>();
  collectTensors(result, returned, tensorCheck);
  const parent = scope.parent !== undefined && open.includes(scope.parent) ? scope.parent : open[open.length - 1];
  for (const t of scope.tensors) {
    if (t.isDisposed || t.kept) continue;
    if (returned.has(t)) parent?.tensors.push(t);
    else t.dispose();
  }
}

function isPromiseLike(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as PromiseLike<unknown>).then === 'function';
}

/**
 * Runs `fn` and disposes every tensor it created, except tensors in its result (returned
 * directly or inside arrays, plain objects or Maps) and tensors passed to {@link keep}.
 * Returned tensors move to the enclosing scope, if any.
 *
 * `fn` may be async: the scope stays open until the promise settles. While it is open,
 * tensors created by *any* code belong to it, so do not run unrelated tensor code
 * concurrently with an async tidy (or `keep` what it makes).
 *
 * @example
 * const loss = tidy(() => model(x).sub(y).pow(2).mean()); // intermediates freed
 */
export function tidy<T>(fn: () => T): T {
  const scope: Scope = { tensors: [], parent: open[open.length - 1] };
  open.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    close(scope, undefined);
    throw err;
  }
  if (isPromiseLike(result)) {
    return Promise.resolve(result).then(
      (value) => {
        close(scope, value);
        return value;
      },
      (err: unknown) => {
        close(scope, undefined);
        throw err;
      },
    ) as T;
  }
  close(scope, result);
  return result;
}

/** Exempts `t` from disposal by any enclosing {@link tidy}. Returns `t`. */
export function keep<T extends Tensor>(t: T): T {
  t.kept = true;
  return t;
}

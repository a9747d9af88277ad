/**
 * Memory scopes: {@link tidy} frees every tensor created inside it except those it
 * returns or that were {@link keep | kept}.
 * @module
 */
import { lib } from './ffi.js';
import type { Tensor } from './tensor.js';

interface Scope {
  tensors: Tensor[];
  parent: Scope | undefined;
}

const open: Scope[] = [];

/** @internal Called by every new tensor; true if a scope now owns it (and will free it). */
export function track(t: Tensor): boolean {
  const scope = open[open.length - 1];
  if (scope === undefined) return false;
  scope.tensors.push(t);
  return true;
}

/**
 * @internal Calls `visit` on every value reachable from `value` through arrays, plain
 * objects and Maps, once each (cycles are fine), without recursion or argument spreading,
 * so any size works.
 */
export function walkContainers(value: unknown, visit: (v: object) => void): void {
  const stack: unknown[] = [value];
  const seen = new Set<unknown>();
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    visit(v);
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push(v[i]);
    } else if (v instanceof Map) {
      for (const item of v.values()) stack.push(item);
    } else if (Object.getPrototypeOf(v) === Object.prototype) {
      for (const key in v) stack.push((v as Record<string, unknown>)[key]);
    }
  }
}

function collectTensors(value: unknown, found: Set<Tensor>, isTensor: (v: unknown) => v is Tensor): void {
  walkContainers(value, (v) => {
    if (isTensor(v)) found.add(v);
  });
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
  const freed: number[] = [];
  for (const t of scope.tensors) {
    if (t.kept) continue;
    if (returned.has(t)) {
      if (t.isDisposed) continue;
      // Leaving the last scope: from now on only dispose() or the GC safety net frees it.
      if (parent === undefined) t.unscoped();
      else parent.tensors.push(t);
      continue;
    }
    const h = t.markDisposed();
    if (h !== null) freed.push(h);
  }
  if (freed.length > 0) lib().disposeMany(freed);
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
  if (!t.kept) {
    t.kept = true;
    t.unscoped();
  }
  return t;
}

/**
 * Op functions that are `Tensor` methods too: ops.ts declares each such op once, wrapped in
 * `method()`; the function is exported as is and installed on `Tensor.prototype` under its
 * export name, its first argument becoming `this` (and `MethodsOf` gives the class the
 * matching types). Not re-exported by index.ts.
 * @module
 */

import type { DType, Tensor } from './tensor.js';

declare const IS_METHOD: unique symbol;
declare const KEEPS_DTYPE: unique symbol;
/** A function of ops.ts that is also installed as a `Tensor` method. */
export type Method<F> = F & { readonly [IS_METHOD]: true };
/** A {@link Method} whose result has its first argument's dtype (see {@link keepsDType}). */
export type DTypeKeepingMethod<F> = Method<F> & { readonly [KEEPS_DTYPE]: true };

/** `Tensor<D>` for a tensor result, `Tensor<D>[]` for an array of them. */
type WithDType<T, D extends DType> = T extends readonly unknown[] ? Tensor<D>[] : Tensor<D>;

/**
 * The methods of `Tensor<D>` derived from a module's `method()` exports: same names, first
 * parameter dropped. The `as` clause keeps the TSDoc of each export on its method.
 *
 * A generic function loses its type parameter in this mapping (`infer` sees it at its
 * constraint), so the dtype-preserving ops (`keepsDType()`) get their result rewritten to
 * `Tensor<D>` (or `Tensor<D>[]`), `D` being the dtype of the tensor the method is called on.
 */
export type MethodsOf<M, D extends DType> = {
  [K in keyof M as M[K] extends { readonly [IS_METHOD]: true } ? K : never]: M[K] extends (self: never, ...rest: infer R) => infer T
    ? (...rest: R) => M[K] extends { readonly [KEEPS_DTYPE]: true } ? WithDType<T, D> : T
    : never;
};

const methods = new WeakSet<object>();

/**
 * @internal Marks `fn` to be installed as a `Tensor` method too. Give `fn` an explicit return
 * type: `Tensor`'s type is derived from it, so a body that uses tensor methods would
 * otherwise make the inference circular (and the method's type silently `unknown`).
 */
export function method<F extends (...args: never[]) => unknown>(fn: F): Method<F> {
  methods.add(fn);
  return fn as Method<F>;
}

/**
 * @internal {@link method} for an op whose result has the dtype of its first argument
 * (`reshape`, `squeeze`, `split`, …). `fn` must be generic in that dtype,
 * `<D extends DType>(x: Tensor<D>, …): Tensor<D>` (or `Tensor<D>[]`), and the method on a
 * `Tensor<D>` returns `Tensor<D>` too.
 */
export function keepsDType<F extends (...args: never[]) => unknown>(fn: F): DTypeKeepingMethod<F> {
  return method(fn) as DTypeKeepingMethod<F>;
}

let prototype: object | undefined;
let ops: object | undefined;
let opsEvaluated = false;

/**
 * @internal Installs the `method()` exports of `namespace` (ops.ts) on `target`
 * (`Tensor.prototype`), now, or when ops.ts calls `markOpsEvaluated()`. tensor.ts and ops.ts
 * import each other (ops.ts through dispatch.ts), and a module imported first in a cycle
 * finishes last: when ops.ts is, its exports are not initialized yet when tensor.ts calls this.
 */
export function installMethods(target: object, namespace: object): void {
  prototype = target;
  ops = namespace;
  if (opsEvaluated) install(target, namespace);
}

/** @internal Called by ops.ts once its exports are initialized. */
export function markOpsEvaluated(): void {
  opsEvaluated = true;
  if (prototype !== undefined && ops !== undefined) install(prototype, ops);
}

function install(target: object, namespace: object): void {
  for (const [name, fn] of Object.entries(namespace)) {
    if (typeof fn !== 'function' || !methods.has(fn)) continue;
    if (Object.prototype.hasOwnProperty.call(target, name)) throw new Error(`Tensor.${name}: defined both in the class and by method()`);
    // A named function expression, so that stack traces read `Tensor.exp`.
    const bound = { [name](this: unknown, ...args: unknown[]): unknown { return fn(this, ...args); } }[name]!;
    Object.defineProperty(target, name, { value: bound, writable: true, configurable: true });
  }
}

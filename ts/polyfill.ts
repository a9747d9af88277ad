// `using` needs Symbol.dispose; older browsers lack it. Runs before any class is defined.
(Symbol as { dispose?: symbol }).dispose ??= Symbol.for('Symbol.dispose');

// The types of the same, for TypeScript consumers whose `lib` lacks `esnext.disposable`
// (e.g. `["es2022", "dom"]`): `Tensor`, `Module` and `Optimizer` declare
// `[Symbol.dispose]()`. The same declarations as @types/node's compatibility/disposable.d.ts,
// so they merge with TypeScript's own lib (and with @types/node) when those are present.
// tensor.ts imports this module, and its emitted declarations keep that import, so
// dist/polyfill.d.ts is part of every program that uses the package's types.
declare global {
  interface SymbolConstructor {
    /** The method `using` calls at the end of the block (TC39 explicit resource management). */
    readonly dispose: unique symbol;
    /** The method `await using` calls at the end of the block. */
    readonly asyncDispose: unique symbol;
  }
  /** An object `using` can dispose. */
  interface Disposable {
    [Symbol.dispose](): void;
  }
  /** An object `await using` can dispose. */
  interface AsyncDisposable {
    [Symbol.asyncDispose](): PromiseLike<void>;
  }
}
export {};

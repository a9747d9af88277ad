/**
 * Leak help: a debug mode that remembers where each live tensor was created
 * ({@link setDebug}, {@link leakReport}), and a safety net that frees the wasm memory of
 * tensors garbage-collected without `dispose()`.
 * @module
 */
import { lib } from './ffi.js';

/** Tensors created in debug mode and not yet disposed, by handle: where they were made. */
const sites = new Map<number, { site: string }>();

function envDebug(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const v = env?.WASMGRAD_DEBUG;
  return v !== undefined && v !== '' && v !== '0' && v !== 'false';
}

let debug = envDebug();

/**
 * Debug mode (also on when the environment variable `WASMGRAD_DEBUG=1` is set in Node):
 * every tensor created from now on remembers the stack that created it, for
 * {@link leakReport} and for the warning printed when a tensor is garbage-collected
 * without `dispose()`. It makes tensor creation several times slower; use it to hunt leaks.
 */
export function setDebug(enabled: boolean): void {
  debug = enabled;
  if (!enabled) sites.clear();
}

/** Whether debug mode is on. */
export function isDebug(): boolean {
  return debug;
}

/** One creation site of live tensors in {@link leakReport}. */
export interface LeakSite {
  /** The first stack frame outside wasmgrad: `file:line:column` (and function). */
  site: string;
  /** Live tensors created there. */
  count: number;
  /** The shapes of up to five of them, e.g. `[128, 10]`. */
  shapes: string[];
}

/**
 * Tensors created in debug mode ({@link setDebug}) that are still alive, grouped by where
 * they were created, most first. A training loop's report should not grow from step to
 * step.
 *
 * @example
 * setDebug(true);
 * for (let i = 0; i < 3; i++) step();
 * console.table(leakReport());
 */
export function leakReport(): LeakSite[] {
  const bySite = new Map<string, LeakSite>();
  const c = lib();
  for (const [handle, { site }] of sites) {
    let entry = bySite.get(site);
    if (entry === undefined) bySite.set(site, (entry = { site, count: 0, shapes: [] }));
    entry.count++;
    if (entry.shapes.length < 5) {
      const ndim = c.raw.wg_shape(handle);
      entry.shapes.push(ndim < 0 ? '?' : `[${Array.from(c.scratch().subarray(0, ndim)).join(', ')}]`);
    }
  }
  return [...bySite.values()].sort((a, b) => b.count - a.count);
}

/** The caller outside wasmgrad's own modules, from a stack trace, as `function (file:line)`. */
function creationSite(stack: string | undefined): string {
  const frames = (stack ?? '').split('\n').slice(1).map((l) => l.trim().replace(/^at /, ''));
  const own = /[/\\](ts|dist)[/\\](tensor|dispatch|leaks|creation|composites|nn|autograd|function|indexing|scope|optim|memory|gradcheck)\.[jt]s/;
  const frame = frames.find((f) => !own.test(f)) ?? frames[0] ?? 'unknown';
  return frame.replace(/:(\d+):\d+(\)?)$/, ':$1$2'); // one entry per line, whatever the column
}

/** GC'd without dispose(): free the handle (it is never reused, so this cannot free another tensor). */
const finalizer =
  typeof FinalizationRegistry === 'function'
    ? new FinalizationRegistry<number>((handle) => {
        const record = sites.get(handle);
        if (record !== undefined) {
          sites.delete(handle);
          console.warn(`wasmgrad: a tensor created at ${record.site} was garbage-collected without dispose(); freed it`);
        }
        try {
          lib().raw.wg_dispose(handle);
        } catch {
          // A poisoned instance: nothing to free.
        }
      })
    : null;

/** @internal Called for every tensor that owns its handle (holds nothing of `owner` strongly). */
export function created(handle: number): void {
  if (debug) sites.set(handle, { site: creationSite(new Error().stack) });
}

/**
 * @internal Puts a tensor no scope will free into the GC safety net (registering costs,
 * so only tensors that need it are registered).
 */
export function guard(owner: object, handle: number): boolean {
  if (finalizer === null) return false;
  finalizer.register(owner, handle, owner);
  return true;
}

/** @internal Called when a tensor that owns its handle is disposed. */
export function disposed(owner: object, handle: number, guarded: boolean): void {
  if (guarded) finalizer!.unregister(owner);
  if (sites.size > 0) sites.delete(handle);
}

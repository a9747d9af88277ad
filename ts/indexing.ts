/**
 * Python-style indexing for {@link Tensor.index}: `x.index('1:3, :, ::2')`, or the same as
 * an array, `x.index([[1, 3], null, [null, null, 2]])`. Built from `slice` and `reshape`,
 * so gradients flow through it.
 * @module
 */
import { ArgumentError } from './errors.js';
import { tidy } from './scope.js';
import type { DType, Tensor } from './tensor.js';

/**
 * One entry of an array index: a number selects one position and drops the dim (negative
 * counts from the end); `null` keeps the whole dim; `[start, end?, step?]` is a slice
 * (`null` or omitted bounds are open, step > 0); `'...'` stands for as many whole dims as
 * needed; `'None'` inserts a size-1 dim.
 */
export type IndexItem =
  | number
  | null
  | readonly [start?: number | null, end?: number | null, step?: number | null]
  | '...'
  | 'None';

/**
 * An index: a string of comma-separated Python-style entries (`'1:3, :, ::2'`, `'-1'`,
 * `'..., 0'`, `'None, :'`), an array of {@link IndexItem}s, or a single number.
 */
export type IndexSpec = string | number | readonly IndexItem[];

type Item =
  | { kind: 'int'; at: number }
  | { kind: 'slice'; start: number | null; end: number | null; step: number }
  | { kind: 'ellipsis' }
  | { kind: 'new' };

const INTEGER = /^[+-]?\d+$/;
const FULL: Item = { kind: 'slice', start: null, end: null, step: 1 };

function show(spec: IndexSpec): string {
  return typeof spec === 'string' ? `'${spec}'` : JSON.stringify(spec);
}

function sliceItem(bounds: readonly (number | null | undefined)[], spec: IndexSpec): Item {
  const [start = null, end = null, step = null] = bounds;
  if (step !== null && step <= 0) throw new ArgumentError(`index: slice step must be positive, got ${step} in ${show(spec)}`);
  return { kind: 'slice', start, end, step: step ?? 1 };
}

function parseText(spec: string): Item[] {
  const parts = spec.split(',').map((p) => p.trim());
  if (parts.length === 1 && parts[0] === '') return [];
  // Python allows one trailing comma: x[1,].
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  return parts.map((p) => {
    if (p === '...') return { kind: 'ellipsis' };
    if (p === 'None') return { kind: 'new' };
    if (INTEGER.test(p)) return { kind: 'int', at: Number(p) };
    const bounds = p.split(':').map((b) => b.trim());
    if (bounds.length >= 2 && bounds.length <= 3 && bounds.every((b) => b === '' || INTEGER.test(b))) {
      return sliceItem(bounds.map((b) => (b === '' ? null : Number(b))), spec);
    }
    throw new ArgumentError(
      `index: cannot parse '${p}' in ${show(spec)}; expected integers, slices like 1:3 or ::2, '...' or None`,
    );
  });
}

function parseArray(spec: readonly IndexItem[]): Item[] {
  return spec.map((v: unknown, i) => {
    if (typeof v === 'number' && Number.isInteger(v)) return { kind: 'int', at: v };
    if (v === null) return FULL;
    if (v === '...') return { kind: 'ellipsis' };
    if (v === 'None') return { kind: 'new' };
    const bound = (b: unknown) => b === null || b === undefined || (typeof b === 'number' && Number.isInteger(b));
    if (Array.isArray(v) && v.length <= 3 && v.every(bound)) return sliceItem(v as (number | null)[], spec);
    throw new ArgumentError(
      `index: entry ${i} of ${show(spec)} is not an integer, null, a [start, end, step] slice of integers, '...' or 'None'`,
    );
  });
}

function parse(spec: IndexSpec): Item[] {
  if (typeof spec === 'string') return parseText(spec);
  if (typeof spec === 'number') return parseArray([spec]);
  if (Array.isArray(spec)) return parseArray(spec);
  throw new ArgumentError(`index: expected a string, a number or an array, got ${spec === null ? 'null' : typeof spec}`);
}

/** @internal `x.index(spec)`: slices, then one reshape to drop selected dims and add new ones. */
export function indexTensor<D extends DType>(x: Tensor<D>, spec: IndexSpec): Tensor<D> {
  const items = parse(spec);
  const shape = x.shape;
  const consuming = items.filter((it) => it.kind === 'int' || it.kind === 'slice').length;
  if (items.filter((it) => it.kind === 'ellipsis').length > 1) {
    throw new ArgumentError(`index: at most one '...' is allowed, got ${show(spec)}`);
  }
  if (consuming > shape.length) {
    throw new ArgumentError(
      `index: too many indices for a tensor of shape [${shape.join(', ')}]: ${consuming} given in ${show(spec)}`,
    );
  }
  const expanded = items.flatMap((it) => (it.kind === 'ellipsis' ? Array<Item>(shape.length - consuming).fill(FULL) : [it]));
  return tidy(() => {
    let t = x;
    let dim = 0;
    let reshaped = false;
    const out: number[] = [];
    for (const it of expanded) {
      if (it.kind === 'new') {
        out.push(1);
        reshaped = true;
        continue;
      }
      const n = shape[dim]!;
      if (it.kind === 'int') {
        const i = it.at < 0 ? it.at + n : it.at;
        if (i < 0 || i >= n) {
          throw new ArgumentError(
            `index: index ${it.at} is out of range for dimension ${dim} of size ${n} (shape [${shape.join(', ')}])`,
          );
        }
        t = t.slice(dim, i, i + 1);
        reshaped = true;
      } else if (it.kind === 'slice') {
        if (it.start !== null || it.end !== null || it.step !== 1) t = t.slice(dim, it.start ?? 0, it.end ?? Number.MAX_SAFE_INTEGER, it.step);
        out.push(t.shape[dim]!);
      }
      dim++;
    }
    out.push(...shape.slice(dim));
    // Always a new tensor, so the caller can dispose the result and `x` independently.
    return reshaped || t === x ? t.reshape(out) : t;
  });
}

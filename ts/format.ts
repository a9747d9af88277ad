/**
 * PyTorch-style printing (`torch/_tensor_str.py`'s rules with default print options):
 * `tensor([[1., 2.], [3., 4.]], requires_grad=True)`.
 * @internal
 * @module
 */
import type { DType } from './tensor.js';

const THRESHOLD = 1000;
const EDGE_ITEMS = 3;
const LINE_WIDTH = 80;
const PRECISION = 4;
const PREFIX = 'tensor(';

/** Python's `'{:.4e}'`: a two-digit exponent with its sign. */
function exponential(v: number): string {
  const [mantissa, exp] = v.toExponential(PRECISION).split('e') as [string, string];
  const e = Number(exp);
  return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

function nonFinite(v: number): string {
  return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
}

/**
 * Picks one number format for all printed values (PyTorch's `_Formatter`): integral floats
 * print as `3.`, others with 4 decimals, and scientific notation when the magnitudes span
 * more than 1000× or leave [1e-4, 1e8]. Width comes from the non-zero finite values only.
 * Integers and bools (`True`/`False`) print as they are, padded to the widest.
 */
class Formatter {
  private width = 1;
  private mode: 'int' | 'fixed' | 'sci' | 'integer-dtype' | 'bool' = 'int';

  constructor(values: readonly number[], dtype: DType) {
    if (dtype !== 'float32') {
      this.mode = dtype === 'bool' ? 'bool' : 'integer-dtype';
      for (const v of values) this.width = Math.max(this.width, this.raw(v).length);
      return;
    }
    const finite = values.filter((v) => Number.isFinite(v) && v !== 0);
    if (finite.length === 0) return;
    const abs = finite.map(Math.abs);
    const min = Math.min(...abs);
    const max = Math.max(...abs);
    const integral = finite.every((v) => Number.isInteger(v));
    const sci = max / min > 1000 || max > 1e8 || (!integral && min < 1e-4);
    this.mode = sci ? 'sci' : integral ? 'int' : 'fixed';
    for (const v of finite) this.width = Math.max(this.width, this.raw(v).length);
  }

  private raw(v: number): string {
    if (this.mode === 'integer-dtype') return String(v);
    if (this.mode === 'bool') return v !== 0 ? 'True' : 'False';
    if (!Number.isFinite(v)) return nonFinite(v);
    if (this.mode === 'sci') return exponential(v);
    if (this.mode === 'int') return `${v.toFixed(0)}.`;
    return v.toFixed(PRECISION);
  }

  get elementWidth(): number {
    return this.width;
  }

  format(v: number): string {
    return this.raw(v).padStart(this.width);
  }
}

/** Formats `values` (row-major) of `shape` the way PyTorch prints a tensor. */
export function formatTensor(values: ArrayLike<number>, shape: readonly number[], dtype: DType, suffixes: string[]): string {
  const suffix = [...suffixes];
  if (values.length === 0) {
    if (shape.length !== 1) suffix.unshift(`size=(${shape.join(', ')})`);
    return `${PREFIX}[]${suffix.map((s) => `, ${s}`).join('')})`;
  }
  const summarize = values.length > THRESHOLD;
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  /** Indices printed along `dim`; -1 marks the elision. */
  const indices = (dim: number): number[] => {
    const n = shape[dim]!;
    if (!summarize || n <= 2 * EDGE_ITEMS) return Array.from({ length: n }, (_, i) => i);
    return [...Array.from({ length: EDGE_ITEMS }, (_, i) => i), -1, ...Array.from({ length: EDGE_ITEMS }, (_, i) => n - EDGE_ITEMS + i)];
  };

  // The format is chosen from the values that will be printed.
  const printed: number[] = [];
  const collect = (dim: number, offset: number): void => {
    if (dim === shape.length) {
      printed.push(values[offset]!);
      return;
    }
    for (const i of indices(dim)) if (i >= 0) collect(dim + 1, offset + i * strides[dim]!);
  };
  collect(0, 0);
  const fmt = new Formatter(printed, dtype);

  const vector = (offset: number, indent: number): string => {
    const stride = strides[shape.length - 1]!;
    const items = indices(shape.length - 1).map((i) => (i < 0 ? ' ...' : fmt.format(values[offset + i * stride]!)));
    const perLine = Math.max(1, Math.floor((LINE_WIDTH - indent) / (fmt.elementWidth + 2)));
    const lines: string[] = [];
    for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(', '));
    return `[${lines.join(`,\n${' '.repeat(indent + 1)}`)}]`;
  };
  const render = (dim: number, offset: number, indent: number): string => {
    if (dim === shape.length - 1) return vector(offset, indent);
    const parts = indices(dim).map((i) => (i < 0 ? '...' : render(dim + 1, offset + i * strides[dim]!, indent + 1)));
    const rank = shape.length - dim;
    return `[${parts.join(`,${'\n'.repeat(rank - 1)}${' '.repeat(indent + 1)}`)}]`;
  };

  const body = shape.length === 0 ? fmt.format(values[0]!) : render(0, 0, PREFIX.length);
  return `${PREFIX}${body}${suffix.map((s) => `, ${s}`).join('')})`;
}

/**
 * PyTorch-style printing: `tensor([[1., 2.], [3., 4.]], requires_grad=True)`.
 * @internal
 * @module
 */

const SUMMARIZE_ABOVE = 1000;
const EDGE_ITEMS = 3;

type Formatter = (v: number) => string;

function numberFormatter(values: ArrayLike<number>, isInt: boolean): Formatter {
  if (isInt) return (v) => String(v);
  let allIntegral = true;
  let maxAbs = 0;
  let minAbs = Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    if (!Number.isInteger(v)) allIntegral = false;
    const a = Math.abs(v);
    maxAbs = Math.max(maxAbs, a);
    if (a > 0) minAbs = Math.min(minAbs, a);
  }
  const special = (v: number) => (Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf');
  const scientific = maxAbs >= 1e8 || (minAbs < 1e-4 && maxAbs / minAbs > 1000);
  if (scientific) {
    return (v) => {
      if (!Number.isFinite(v)) return special(v);
      const [m, e] = v.toExponential(4).split('e') as [string, string];
      const exp = Number(e);
      return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
    };
  }
  if (allIntegral) return (v) => (Number.isFinite(v) ? `${v}.` : special(v));
  return (v) => (Number.isFinite(v) ? v.toFixed(4) : special(v));
}

/** Formats `values` (row-major) of `shape` with PyTorch's layout and summarisation. */
export function formatTensor(values: ArrayLike<number>, shape: readonly number[], isInt: boolean, suffix: string): string {
  const prefix = 'tensor(';
  const summarize = values.length > SUMMARIZE_ABOVE;
  const fmt = numberFormatter(values, isInt);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));

  // Element strings, padded to a common width.
  const visible: number[] = [];
  const indices = (dim: number) => {
    const n = shape[dim]!;
    if (!summarize || n <= 2 * EDGE_ITEMS) return Array.from({ length: n }, (_, i) => i);
    return [...Array.from({ length: EDGE_ITEMS }, (_, i) => i), -1, ...Array.from({ length: EDGE_ITEMS }, (_, i) => n - EDGE_ITEMS + i)];
  };
  const walk = (dim: number, offset: number) => {
    if (dim === shape.length) {
      visible.push(offset);
      return;
    }
    for (const i of indices(dim)) if (i >= 0) walk(dim + 1, offset + i * strides[dim]!);
  };
  walk(0, 0);
  const width = visible.reduce((w, o) => Math.max(w, fmt(values[o]!).length), 0);
  const cell = (o: number) => fmt(values[o]!).padStart(width);

  const render = (dim: number, offset: number, indent: number): string => {
    if (dim === shape.length) return cell(offset);
    const parts = indices(dim).map((i) => (i < 0 ? '...' : render(dim + 1, offset + i * strides[dim]!, indent + 1)));
    const depthLeft = shape.length - dim - 1;
    const sep = depthLeft === 0 ? ', ' : ',' + '\n'.repeat(Math.min(depthLeft, 2)) + ' '.repeat(indent + 1);
    return `[${parts.join(sep)}]`;
  };
  const body = shape.length === 0 ? cell(0) : render(0, 0, prefix.length);
  return `${prefix}${body}${suffix})`;
}

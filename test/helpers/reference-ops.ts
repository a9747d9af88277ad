// References for gather/scatter, cumsum, flip and prod (float64), shared by their family
// tests and test/op-cases.ts.
import { nd, numel, stridesOf, unravel, type Nd } from './reference.js';

export interface Index {
  shape: number[];
  values: number[];
}
/** 0-d operands behave as 1-d of size 1 (PyTorch's rule for these ops). */
const atLeast1d = (s: number[]) => (s.length === 0 ? [1] : s);
const offset = (m: number[], shape: number[]) => m.reduce((o, v, k) => o + v * stridesOf(atLeast1d(shape))[k]!, 0);

export function refGather(x: Nd, dim: number, ix: Index): Nd {
  const d = dim < 0 ? dim + atLeast1d(x.shape).length : dim;
  const data = ix.values.map((v, i) => {
    const m = unravel(i, atLeast1d(ix.shape));
    m[d] = v;
    return x.data[offset(m, x.shape)]!;
  });
  return nd(ix.shape, data);
}

export function refScatter(x: Nd, dim: number, ix: Index, src: Nd | number, add: boolean): Nd {
  const d = dim < 0 ? dim + atLeast1d(x.shape).length : dim;
  const out = Float64Array.from(x.data);
  ix.values.forEach((v, i) => {
    const m = unravel(i, atLeast1d(ix.shape));
    const value = typeof src === 'number' ? src : src.data[offset(m, src.shape)]!;
    m[d] = v;
    const o = offset(m, x.shape);
    out[o] = add ? out[o]! + value : value;
  });
  return nd(x.shape, out);
}

/** Reference running sum along `dim`. */
export function refCumsum(x: Nd, dim: number): Nd {
  if (x.shape.length === 0) return nd([], x.data);
  const d = dim < 0 ? dim + x.shape.length : dim;
  const st = stridesOf(x.shape);
  const out = Float64Array.from(x.data);
  for (let i = 0; i < out.length; i++) {
    if (unravel(i, x.shape)[d]! > 0) out[i]! += out[i - st[d]!]!;
  }
  return nd(x.shape, out);
}

/** Reference reversal along `dims`. */
export function refFlip(x: Nd, dims: number[]): Nd {
  const ds = dims.map((d) => (d < 0 ? d + Math.max(x.shape.length, 1) : d));
  const st = stridesOf(x.shape);
  const data = Array.from({ length: numel(x.shape) }, (_, i) => {
    const m = unravel(i, x.shape).map((v, k) => (ds.includes(k) ? x.shape[k]! - 1 - v : v));
    return x.data[m.reduce((o, v, k) => o + v * st[k]!, 0)]!;
  });
  return nd(x.shape, data);
}

/** Reference product over all elements (dim undefined) or one dim. */
export function refProd(x: Nd, dim?: number, keepdim = false): Nd {
  const rank = x.shape.length;
  if (dim === undefined) {
    const p = x.data.reduce((a, v) => a * v, 1);
    return nd(keepdim ? x.shape.map(() => 1) : [], [p]);
  }
  if (rank === 0) return nd([], [x.data[0]!]);
  const d = dim < 0 ? dim + rank : dim;
  const kept = x.shape.map((s, i) => (i === d ? 1 : s));
  const out = new Float64Array(kept.reduce((a, b) => a * b, 1)).fill(1);
  const st = stridesOf(kept);
  for (let i = 0; i < x.data.length; i++) {
    const m = unravel(i, x.shape);
    m[d] = 0;
    out[m.reduce((o, v, k) => o + v * st[k]!, 0)]! *= x.data[i]!;
  }
  return nd(keepdim ? kept : x.shape.filter((_, i) => i !== d), out);
}


/**
 * `tril` (`lower`) or `triu` of the last two dims: elements with `col − row ≤ diagonal`
 * (resp. `≥`) kept, the others 0 — selected, so ±inf and NaN outside vanish.
 */
export function refTriangle(x: Nd, diagonal: number, lower: boolean): Nd {
  const [rows, cols] = x.shape.slice(-2) as [number, number];
  return nd(x.shape, Array.from(x.data, (v, i) => {
    const [r, c] = [Math.floor(i / cols) % rows, i % cols];
    return (lower ? c - r <= diagonal : c - r >= diagonal) ? v : 0;
  }));
}

/** Elementwise binary cross-entropy with both logs clamped at −100 (PyTorch's). */
export const refBinaryCrossEntropy = (p: number, t: number): number =>
  -(t * Math.max(Math.log(p), -100) + (1 - t) * Math.max(Math.log1p(-p), -100));

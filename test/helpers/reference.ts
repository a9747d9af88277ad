// Independent float64 reference implementations in plain JS, used as the oracle for
// forward values and (through finite differences) for gradients.

export interface Nd {
  shape: number[];
  data: Float64Array;
}

export const nd = (shape: number[], data: ArrayLike<number>): Nd => ({ shape: [...shape], data: Float64Array.from(data) });
export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
export const stridesOf = (shape: readonly number[]): number[] =>
  shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));

/** Multi-index of flat position `i` in `shape`. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return idx;
}

export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`reference: cannot broadcast [${a}] and [${b}]`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Element of `x` at output multi-index `idx` under broadcasting. */
function at(x: Nd, idx: readonly number[]): number {
  const lead = idx.length - x.shape.length;
  let off = 0;
  const st = stridesOf(x.shape);
  for (let d = 0; d < x.shape.length; d++) off += (x.shape[d] === 1 ? 0 : idx[lead + d]!) * st[d]!;
  return x.data[off]!;
}

export function map(x: Nd, f: (v: number) => number): Nd {
  return nd(x.shape, Array.from(x.data, f));
}

export function zip(a: Nd, b: Nd, f: (x: number, y: number) => number): Nd {
  const shape = broadcastShape(a.shape, b.shape);
  const out = new Float64Array(numel(shape));
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, shape);
    out[i] = f(at(a, idx), at(b, idx));
  }
  return { shape, data: out };
}

export function expand(x: Nd, shape: number[]): Nd {
  return zip(x, nd(shape, new Float64Array(numel(shape))), (v) => v);
}

/** Sum over `axes` (all when undefined). */
export function sum(x: Nd, axes?: number[], keepdim = false): Nd {
  const ax = (axes ?? x.shape.map((_, i) => i)).map((a) => (a < 0 ? a + x.shape.length : a));
  const keptShape = x.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  const out = new Float64Array(numel(keptShape));
  const st = stridesOf(keptShape);
  for (let i = 0; i < x.data.length; i++) {
    const idx = unravel(i, x.shape);
    let o = 0;
    for (let d = 0; d < idx.length; d++) o += (ax.includes(d) ? 0 : idx[d]!) * st[d]!;
    out[o]! += x.data[i]!;
  }
  const shape = keepdim ? keptShape : x.shape.filter((_, i) => !ax.includes(i));
  return { shape, data: out };
}

export function mean(x: Nd, axes?: number[], keepdim = false): Nd {
  const s = sum(x, axes, keepdim);
  const count = x.data.length / Math.max(s.data.length, 1);
  return map(s, (v) => v / (x.data.length === 0 ? 0 : count));
}

export function permute(x: Nd, order: number[]): Nd {
  const shape = order.map((o) => x.shape[o]!);
  const out = new Float64Array(x.data.length);
  const st = stridesOf(x.shape);
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, shape);
    let off = 0;
    for (let d = 0; d < order.length; d++) off += idx[d]! * st[order[d]!]!;
    out[i] = x.data[off]!;
  }
  return { shape, data: out };
}

export const reshape = (x: Nd, shape: number[]): Nd => ({ shape, data: x.data });

/** PyTorch matmul semantics, including 1-D promotion and batch broadcasting. */
export function matmul(a: Nd, b: Nd): Nd {
  const a2 = a.shape.length === 1 ? reshape(a, [1, a.shape[0]!]) : a;
  const b2 = b.shape.length === 1 ? reshape(b, [b.shape[0]!, 1]) : b;
  const [m, k] = a2.shape.slice(-2) as [number, number];
  const n = b2.shape[b2.shape.length - 1]!;
  if (b2.shape[b2.shape.length - 2] !== k) throw new Error('reference matmul: inner dims differ');
  const batch = broadcastShape(a2.shape.slice(0, -2), b2.shape.slice(0, -2));
  const ea = expand(a2, [...batch, m, k]);
  const eb = expand(b2, [...batch, k, n]);
  const nb = numel(batch);
  const out = new Float64Array(nb * m * n);
  for (let p = 0; p < nb; p++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let q = 0; q < k; q++) acc += ea.data[p * m * k + i * k + q]! * eb.data[p * k * n + q * n + j]!;
        out[p * m * n + i * n + j] = acc;
      }
  // Drop the dims the 1-D promotion added.
  const shape = [...batch, ...(a.shape.length === 1 ? [] : [m]), ...(b.shape.length === 1 ? [] : [n])];
  return { shape, data: out };
}

/** Deterministic pseudo-random numbers (mulberry32) for test inputs. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random values in [lo, hi), rounded to float32 so both sides see the same inputs. */
export function randomNd(shape: number[], seed: number, lo = -2, hi = 2): Nd {
  const r = rng(seed);
  return nd(shape, Array.from({ length: numel(shape) }, () => Math.fround(lo + (hi - lo) * r())));
}

/** Reference reduction of `x` over `dims` with `f` folding each group's values. */
export function fold(x: Nd, dims: number[] | undefined, keepdim: boolean, f: (vs: number[]) => number): Nd {
  const all = x.shape.map((_, i) => i);
  const ds = (dims ?? all).map((d) => (d < 0 ? d + x.shape.length : d));
  const keptShape = x.shape.map((s, i) => (ds.includes(i) ? 1 : s));
  const groups = new Map<number, number[]>();
  const kst = keptShape.map((_, i) => keptShape.slice(i + 1).reduce((a, b) => a * b, 1));
  const xst = x.shape.map((_, i) => x.shape.slice(i + 1).reduce((a, b) => a * b, 1));
  for (let i = 0; i < x.data.length; i++) {
    const key = x.shape.reduce((o, _, d) => o + (ds.includes(d) ? 0 : Math.floor(i / xst[d]!) % x.shape[d]!) * kst[d]!, 0);
    groups.set(key, [...(groups.get(key) ?? []), x.data[i]!]);
  }
  const data = [...groups.keys()].sort((a, b) => a - b).map((k) => f(groups.get(k)!));
  return nd(keepdim ? keptShape : x.shape.filter((_, i) => !ds.includes(i)), data);
}

/** Reference slice along `dim` with Python's semantics. */
export function refSlice(x: Nd, dim: number, start: number, end: number, step: number): Nd {
  const d = dim < 0 ? dim + x.shape.length : dim;
  const n = x.shape[d]!;
  const idx = [...Array(n).keys()].slice(start, end).filter((_, i) => i % step === 0);
  const shape = x.shape.map((s, i) => (i === d ? idx.length : s));
  const st = stridesOf(x.shape);
  const data = Array.from({ length: numel(shape) }, (_, i) => {
    const m = unravel(i, shape);
    m[d] = idx[m[d]!]!;
    return x.data[m.reduce((o, v, k) => o + v * st[k]!, 0)]!;
  });
  return nd(shape, data);
}

/** erf in float64 by its Taylor series (ample for |x| ≤ 4, the gradcheck range). */
export function erf(x: number): number {
  let term = x;
  let total = x;
  for (let n = 1; n < 120; n++) {
    term *= (-x * x) / n;
    total += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * total;
}
export const geluRef = (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2));
export const geluTanhRef = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));

// amax/amin, argmax/argmin and max/min with a dim against a plain-JS reference, on the
// vectorised wasm kernels: odd lengths around the 4-lane and 16-element steps and the
// 4096-element argmax block, NaN at every lane position, ties across lanes, chunks and
// blocks, ±inf, -0/+0 (the first wins, for the value too), rows, columns, a middle dim,
// keepdim, full reductions and non-contiguous input. PyTorch 1.13's rules.
import { describe, expect, it } from 'vitest';
import { DTypeError, ShapeError, tensor, tidy, type Tensor } from '../ts/node.js';
import { rng } from './helpers/reference.js';
import { thrown } from './helpers/snapshot.js';

/** The index of the first extreme of `vs`: the first NaN, else the first strict max/min. */
function refArg(vs: ArrayLike<number>, max: boolean): number {
  let best = 0;
  for (let k = 1; k < vs.length; k++) {
    const [v, b] = [vs[k]!, vs[best]!];
    if (Number.isNaN(b)) break;
    if (Number.isNaN(v) || (max ? v > b : v < b)) best = k;
  }
  return best;
}

/** For each output slot (row-major), the flat input positions reduced into it, in order. */
function groups(shape: number[], dims: number[]): number[][] {
  const nd = shape.length;
  const red = new Set(dims.map((d) => (d < 0 ? d + nd : d)));
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const keptShape = shape.map((s, i) => (red.has(i) ? 1 : s));
  const keptStrides = keptShape.map((_, i) => keptShape.slice(i + 1).reduce((a, b) => a * b, 1));
  const out: number[][] = Array.from({ length: keptShape.reduce((a, b) => a * b, 1) }, () => []);
  const total = shape.reduce((a, b) => a * b, 1);
  for (let i = 0; i < total; i++) {
    let slot = 0;
    for (let d = 0; d < nd; d++) if (!red.has(d)) slot += (Math.floor(i / strides[d]!) % shape[d]!) * keptStrides[d]!;
    out[slot]!.push(i);
  }
  return out;
}

type Kind = 'ties' | 'nan' | 'inf' | 'zeros';

/** float32 values: small integers (many ties), with NaNs, ±inf, or signed zeros mixed in. */
function values(n: number, kind: Kind, seed: number): Float32Array {
  const r = rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    a[i] = Math.floor(r() * 7) - 3;
    if (kind === 'nan' && u < 2 / Math.max(n, 8)) a[i] = NaN;
    if (kind === 'inf' && u < 0.2) a[i] = u < 0.1 ? Infinity : -Infinity;
    if (kind === 'zeros') a[i] = u < 0.3 ? -0 : u < 0.6 ? 0 : u < 0.8 ? -1 : 1;
  }
  return a;
}

/** Plain values of a result (int32 or float32), disposing nothing. */
const read = (t: Tensor): number[] => Array.from(t.data() as ArrayLike<number>);

interface Got {
  shape: number[];
  data: number[];
}

/** amax/amin/argmax/argmin/max/min of `data` (shape `shape`) over `dim` per the reference. */
function expected(data: Float32Array, shape: number[], dim: number | undefined, keepdim: boolean, max: boolean) {
  const dims = dim === undefined ? shape.map((_, i) => i) : [dim];
  const gs = groups(shape, dims);
  const idx = gs.map((g) => refArg(g.map((i) => data[i]!), max));
  const vals = gs.map((g, s) => data[g[idx[s]!]!]!);
  const nd = shape.length;
  const d = dim === undefined ? -1 : dim < 0 ? dim + nd : dim;
  const outShape =
    dim === undefined ? (keepdim ? shape.map(() => 1) : []) : keepdim ? shape.map((s, i) => (i === d ? 1 : s)) : shape.filter((_, i) => i !== d);
  return { values: { shape: outShape, data: vals }, indices: { shape: outShape, data: idx } };
}

/** Runs every form on the tensor `make()` builds, reading results back. */
function actual(make: () => Tensor, dim: number | undefined, keepdim: boolean, max: boolean) {
  return tidy(() => {
    const x = make();
    const pack = (t: Tensor): Got => ({ shape: [...t.shape], data: read(t) });
    const a = max ? x.amax(dim, keepdim) : x.amin(dim, keepdim);
    const arg = max ? x.argmax(dim, keepdim) : x.argmin(dim, keepdim);
    const out = { amax: pack(a), arg: pack(arg), values: pack(a), indices: pack(arg) };
    if (dim !== undefined) {
      const r = max ? x.max(dim, keepdim) : x.min(dim, keepdim);
      out.values = pack(r.values);
      out.indices = pack(r.indices);
    }
    return out;
  });
}

function check(data: Float32Array, shape: number[], dim: number | undefined, keepdim: boolean, label: string, transposed = false) {
  for (const max of [true, false]) {
    const want = expected(data, shape, dim, keepdim, max);
    // A transposed input: build the transpose's storage, then view it back as `shape`.
    const make = transposed
      ? () => {
          const [r, c] = shape as [number, number];
          const t = new Float32Array(r * c);
          for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[j * r + i] = data[i * c + j]!;
          return tensor(t, { shape: [c, r] }).t();
        }
      : () => tensor(data, { shape });
    const got = actual(make, dim, keepdim, max);
    const what = `${label} ${max ? 'max' : 'min'} dim=${dim} keepdim=${keepdim}`;
    expect(got.amax, `${what} amax`).toEqual(want.values);
    expect(got.arg, `${what} argmax`).toEqual(want.indices);
    expect(got.values, `${what} max(dim).values`).toEqual(want.values);
    expect(got.indices, `${what} max(dim).indices`).toEqual(want.indices);
  }
}

const LENGTHS = [1, 3, 5, 7, 15, 16, 17, 33, 1007, 4096 + 5, 2 * 4096 + 3];
const KINDS: Kind[] = ['ties', 'nan', 'inf', 'zeros'];

describe('amax/argmax/max(dim) and the min forms match the reference', () => {
  it('along a 1-D tensor (full reduction and dim 0) at odd lengths', () => {
    for (const n of LENGTHS) {
      for (const [k, kind] of KINDS.entries()) {
        const data = values(n, kind, 1000 + n * 7 + k);
        check(data, [n], undefined, false, `[${n}] ${kind}`);
        check(data, [n], 0, false, `[${n}] ${kind}`);
        check(data, [n], -1, true, `[${n}] ${kind}`);
      }
    }
  });
  it('along rows, along columns and over all of a 2-D tensor', () => {
    for (const [r, c] of [[5, 3], [3, 17], [7, 33], [9, 1007], [33, 5], [1, 9], [6, 1], [2, 4101]] as [number, number][]) {
      for (const [k, kind] of KINDS.entries()) {
        const data = values(r * c, kind, 2000 + r * 31 + c + k);
        for (const dim of [0, 1, -1, -2, undefined]) {
          for (const keepdim of [false, true]) check(data, [r, c], dim, keepdim, `[${r}, ${c}] ${kind}`);
        }
        check(data, [r, c], 0, false, `[${r}, ${c}] ${kind} transposed`, true);
        check(data, [r, c], 1, true, `[${r}, ${c}] ${kind} transposed`, true);
      }
    }
  });
  it('along each dim of 3-D tensors (a middle dim keeps a contiguous inner dim)', () => {
    for (const shape of [[2, 5, 3], [3, 7, 17], [2, 33, 6], [4, 3, 1]]) {
      for (const [k, kind] of KINDS.entries()) {
        const data = values(shape.reduce((a, b) => a * b, 1), kind, 3000 + shape[1]! * 13 + k);
        for (const dim of [0, 1, 2, -2]) {
          for (const keepdim of [false, true]) check(data, shape, dim, keepdim, `[${shape}] ${kind}`);
        }
      }
    }
  });
  it('amax/amin over several dims', () => {
    const shape = [3, 5, 17];
    for (const [k, kind] of KINDS.entries()) {
      const data = values(3 * 5 * 17, kind, 4000 + k);
      for (const dims of [[0, 2], [2, 0], [0, 1], [1, 2]]) {
        for (const max of [true, false]) {
          const gs = groups(shape, dims);
          const want = gs.map((g) => data[g[refArg(g.map((i) => data[i]!), max)]!]!);
          const got = tidy(() => read(max ? tensor(data, { shape }).amax(dims) : tensor(data, { shape }).amin(dims)));
          expect(got, `${kind} ${dims} ${max}`).toEqual(want);
        }
      }
    }
  });
});

describe('NaN, ties, ±inf and signed zeros at every position', () => {
  it('a NaN at each position of rows of odd lengths is the answer (its index, NaN value)', () => {
    for (const n of [1, 2, 3, 4, 5, 8, 15, 16, 17, 19, 33]) {
      for (let p = 0; p < n; p++) {
        const row = Float32Array.from({ length: n }, (_, i) => (i === p ? NaN : i % 5));
        // A second NaN later: the first one's index is returned.
        const twice = Float32Array.from(row, (v, i) => (i > p && i % 3 === 0 ? NaN : v));
        for (const data of [row, twice]) {
          check(data, [n], 0, false, `NaN at ${p} of ${n}`);
          check(data, [1, n], 1, false, `NaN at ${p} of 1x${n}`);
          check(data, [n, 1], 0, false, `NaN at ${p} of ${n}x1`);
        }
      }
    }
  });
  it('a NaN in a later 4096-element block after the maximum, and ties across blocks', () => {
    const n = 3 * 4096 + 11;
    const data = Float32Array.from({ length: n }, (_, i) => (i * 7919) % 1000);
    data[5000] = 5000;
    data[9000] = 5000; // a tie in a later block: the first stays
    data[20] = -5000;
    data[n - 1] = -5000;
    check(data, [n], undefined, false, 'block ties');
    data[12000] = NaN;
    check(data, [n], undefined, false, 'NaN in block 2');
    data[4096] = NaN;
    check(data, [n], 0, false, 'NaN at a block start');
  });
  it('the first of equal maxima across lanes and 16-element chunks wins', () => {
    for (const n of [5, 17, 33, 70]) {
      for (let p = 0; p < n; p++) {
        for (let q = p + 1; q < n; q += 3) {
          const data = Float32Array.from({ length: n }, (_, i) => (i === p || i === q ? 9 : i === n - 1 - p ? -9 : 0));
          check(data, [n], undefined, false, `tie at ${p}, ${q} of ${n}`);
        }
      }
    }
  });
  it('-0 and +0 compare equal: the first wins, its sign is the value', () => {
    const cases: number[][] = [
      [-0, 0],
      [0, -0],
      [-1, -1, -1, -1, -1, 0, -0, -0, -0],
      [-1, -1, -1, -1, -1, -0, 0, 0, 0],
      [...new Array<number>(17).fill(-3), -0, ...new Array<number>(20).fill(0)],
      [...new Array<number>(17).fill(-3), 0, ...new Array<number>(20).fill(-0)],
      [1, 2, 3, 0, -0, 4, 5],
      [1, 2, 3, -0, 0, 4, 5],
    ];
    for (const c of cases) {
      const data = Float32Array.from(c);
      check(data, [c.length], 0, false, `zeros ${c}`);
      check(data, [c.length], undefined, true, `zeros ${c}`);
      // As a column: the lane-wise path.
      check(data, [c.length, 1], 0, false, `zeros column ${c}`);
    }
    // Columns of signed zeros, four lanes wide and a tail.
    const cols = Float32Array.from([-0, 0, -0, 0, 0, 0, -0, 0, -0, 0, 0, -0, 0, -0, -0, -0, 0, 0]);
    check(cols, [2, 9], 0, false, 'zero columns');
    check(cols, [3, 6], 0, true, 'zero columns');
  });
  it('±inf are ordinary extremes; an all -inf row has max -inf at index 0', () => {
    for (const n of [1, 3, 17, 33]) {
      check(new Float32Array(n).fill(-Infinity), [n], 0, false, `-inf x${n}`);
      check(new Float32Array(n).fill(Infinity), [n], undefined, false, `inf x${n}`);
      const mixed = Float32Array.from({ length: n }, (_, i) => (i % 4 === 3 ? Infinity : i % 4 === 1 ? -Infinity : i));
      check(mixed, [n], 0, false, `mixed inf x${n}`);
      check(Float32Array.from(mixed, (v) => -v), [n], 0, false, `mixed -inf x${n}`);
    }
  });
});

describe('dtypes and empty reductions are handled as before', () => {
  it('bool input counts as 0/1; int32 input asks for a cast', () => {
    const r = tidy(() => {
      const b = tensor([false, true, true, false]);
      return [b.argmax().item(), b.argmin().item(), b.amax().item(), b.amin().item()];
    });
    expect(r).toEqual([1, 0, 1, 0]);
    expect(thrown(() => tensor(new Int32Array([1, 5, 3])).argmax())).toBeInstanceOf(DTypeError);
    expect(thrown(() => tensor(new Int32Array([1, 5, 3])).amax())).toBeInstanceOf(DTypeError);
  });
  it('reducing an empty dim throws; an empty kept dim gives an empty result', () => {
    const empty = (): Tensor => tensor(new Float32Array(0), { shape: [0, 3] });
    expect(thrown(() => empty().amax(0))).toBeInstanceOf(ShapeError);
    expect(thrown(() => empty().argmax(0))).toBeInstanceOf(ShapeError);
    expect(thrown(() => empty().amin())).toBeInstanceOf(ShapeError);
    expect(thrown(() => empty().argmin())).toBeInstanceOf(ShapeError);
    const got = tidy(() => [empty().amax(1).shape, empty().argmax(1).shape, empty().amin(1, true).shape, empty().argmin(1, true).shape]);
    expect(got).toEqual([[0], [0], [0, 1], [0, 1]]);
  });
  it('a 0-d tensor reduces to itself (index 0)', () => {
    const got = tidy(() => {
      const s = tensor(-0);
      return [Object.is(s.amax().item(), -0), s.argmax().item(), s.argmin(0).item(), Object.is(s.amin(0, true).item(), -0)];
    });
    expect(got).toEqual([true, 0, 0, true]);
  });
});

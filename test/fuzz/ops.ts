// The fuzzer's op table: each op's parameters (drawn from the generator's choices), its
// float64 reference and its call through wasmgrad's public API. A program step names an
// op and carries concrete params, so programs are plain JSON (replayable, and runnable in
// PyTorch by scripts/fuzz_torch.py, which mirrors this table by name).
import * as wg from '../../ts/node.js';
import type { Tensor } from '../../ts/node.js';
import { broadcastShape, erf, geluTanhRef, matmul, permute, refSlice } from '../helpers/reference.js';
import { pooledSize, refAvgPool2d, refConv2d, refCrossEntropy, refMaxPool2d, refSoftmax } from '../helpers/reference-nn.js';
import { refCumsum, refFlip, refGather } from '../helpers/reference-ops.js';
import { argErr, asVal, MAX_NUMEL, normDim, numel, shapeErr, stridesOf, unravel, val, type Val } from './values.js';

/** Draws parameters from the generator's integers (shrinking them shrinks the params). */
export interface Chooser {
  int(n: number): number;
  bool(pTrue?: number): boolean;
  pick<T>(xs: readonly T[]): T;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Params = Record<string, any>;

export interface OpDef {
  name: string;
  /** Operands: the first is an existing value; the others existing values or fresh constants. */
  arity: 1 | 2 | 3;
  /** Parameters for first operand `a`; null when the op does not apply to it. */
  params?(g: Chooser, a: Val): Params | null;
  /** Shape of a fresh constant that fits as operand `k` (1 or 2) beside `a`. */
  partner?(g: Chooser, a: Val, p: Params, k: number): number[];
  /** Range of a fresh constant operand's values. */
  constRange?: [number, number];
  /** Whether the operand values suit the op (domain, size); else another op is drawn. */
  admissible?(xs: Val[], p: Params): boolean;
  ref(xs: Val[], p: Params): Val;
  run(xs: Tensor[], p: Params): Tensor;
  /** Does the result record a graph (its operands requiring grad)? */
  differentiable: boolean;
  /** The operands a gradient flows to (default: all); masks and conditions get none. */
  gradArgs?: number[];
}

/** The operands of `op` (by position) that a gradient flows to. */
export const carriesGrad = (op: OpDef, k: number): boolean => op.differentiable && (op.gradArgs === undefined || op.gradArgs.includes(k));

const min = (x: Val) => x.data.reduce((a, b) => Math.min(a, b), Infinity);
const max = (x: Val) => x.data.reduce((a, b) => Math.max(a, b), -Infinity);
const maxAbs = (x: Val) => x.data.reduce((a, b) => Math.max(a, Math.abs(b)), 0);
const finite = (x: Val) => x.data.every(Number.isFinite);

const mapV = (x: Val, f: (v: number) => number): Val => val(x.shape, Array.from(x.data, f));

/** Broadcasting elementwise op in float64 (bool operands count as 0/1). */
function zipN(xs: Val[], f: (...vs: number[]) => number, dtype: Val['dtype'] = 'float32'): Val {
  let shape: number[] = [];
  for (const x of xs) {
    try {
      shape = broadcastShape(shape, x.shape);
    } catch {
      shapeErr(`cannot broadcast [${xs.map((y) => `[${y.shape}]`)}]`);
    }
  }
  const n = numel(shape);
  const out = new Float64Array(n);
  const sts = xs.map((x) => {
    const st = stridesOf(x.shape);
    const lead = shape.length - x.shape.length;
    return shape.map((_, d) => (d < lead || x.shape[d - lead] === 1 ? 0 : st[d - lead]!));
  });
  const vs = new Array<number>(xs.length);
  for (let i = 0; i < n; i++) {
    const idx = unravel(i, shape);
    for (let k = 0; k < xs.length; k++) {
      let o = 0;
      for (let d = 0; d < shape.length; d++) o += idx[d]! * sts[k]![d]!;
      vs[k] = xs[k]!.data[o]!;
    }
    out[i] = f(...vs);
  }
  return val(shape, out, dtype);
}

/** Reduction over `dims` (all when undefined) folding each group with `f`; empty groups too. */
export function reduceRef(x: Val, dims: number[] | undefined, keepdim: boolean, f: (vs: number[]) => number): Val {
  const rank = x.shape.length;
  const ds = dims === undefined ? x.shape.map((_, i) => i) : dims.map((d) => normDim(d, rank));
  if (new Set(ds).size !== ds.length) argErr('dim repeated');
  if ((f as { [NON_EMPTY]?: boolean })[NON_EMPTY] && ds.some((d) => x.shape[d] === 0)) shapeErr('reducing an empty dim with no identity');
  const kept = x.shape.map((s, i) => (ds.includes(i) ? 1 : s));
  const groups: number[][] = Array.from({ length: numel(kept) }, () => []);
  const kst = stridesOf(kept);
  for (let i = 0; i < x.data.length; i++) {
    const idx = unravel(i, x.shape);
    let o = 0;
    for (let d = 0; d < rank; d++) o += (ds.includes(d) ? 0 : idx[d]!) * kst[d]!;
    groups[o]!.push(x.data[i]!);
  }
  const shape = keepdim ? kept : x.shape.filter((_, i) => !ds.includes(i));
  return val(shape, groups.map(f));
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
const geluRef = (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2));
// erf's Taylor series in reference.ts is for |x| ≤ 4; outside, gelu is x or 0 to float64.
const gelu = (v: number) => (v > 6 ? v : v < -6 ? 0 : geluRef(v));
/** Python's round-half-even, which PyTorch's round uses. */
const roundHalfEven = (v: number) => {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

// ---- elementwise unary --------------------------------------------------------------------

function unary(name: string, f: (v: number) => number, run: (x: Tensor) => Tensor, ok?: (x: Val) => boolean, differentiable = true): OpDef {
  return {
    name,
    arity: 1,
    ...(ok ? { admissible: ([x]: Val[]) => ok(x!) } : {}),
    ref: ([x]) => mapV(x!, f),
    run: ([x]) => run(x!),
    differentiable,
  };
}

const UNARY: OpDef[] = [
  unary('neg', (v) => -v, (x) => x.neg()),
  unary('abs', Math.abs, (x) => x.abs()),
  unary('relu', (v) => Math.max(v, 0), (x) => x.relu()),
  unary('sigmoid', sigmoid, (x) => x.sigmoid()),
  unary('tanh', Math.tanh, (x) => x.tanh()),
  unary('sin', Math.sin, (x) => x.sin(), (x) => maxAbs(x) < 50),
  unary('cos', Math.cos, (x) => x.cos(), (x) => maxAbs(x) < 50),
  unary('square', (v) => v * v, (x) => x.square(), (x) => maxAbs(x) < 100),
  unary('silu', (v) => v * sigmoid(v), (x) => x.silu()),
  unary('softplus', (v) => (v > 30 ? v : Math.log1p(Math.exp(v))), (x) => x.softplus()),
  unary('gelu', gelu, (x) => x.gelu()),
  unary('geluTanh', (v) => (Math.abs(v) > 10 ? Math.max(v, 0) : geluTanhRef(v)), (x) => x.gelu({ approximate: 'tanh' })),
  unary('elu', (v) => (v > 0 ? v : 0.5 * Math.expm1(v)), (x) => x.elu(0.5)),
  unary('leakyRelu', (v) => (v > 0 ? v : 0.1 * v), (x) => x.leakyRelu(0.1)),
  unary('exp', Math.exp, (x) => x.exp(), (x) => max(x) < 6),
  unary('expm1', Math.expm1, (x) => x.expm1(), (x) => max(x) < 6),
  unary('log', Math.log, (x) => x.log(), (x) => min(x) > 0.2),
  unary('log1p', Math.log1p, (x) => x.log1p(), (x) => min(x) > -0.8),
  unary('sqrt', Math.sqrt, (x) => x.sqrt(), (x) => min(x) > 0.2),
  unary('rsqrt', (v) => 1 / Math.sqrt(v), (x) => x.rsqrt(), (x) => min(x) > 0.2),
  unary('reciprocal', (v) => 1 / v, (x) => x.reciprocal(), (x) => x.data.every((v) => Math.abs(v) > 0.2)),
  unary('tan', Math.tan, (x) => x.tan(), (x) => maxAbs(x) < 1.2),
  unary('floor', Math.floor, (x) => x.floor()),
  unary('ceil', Math.ceil, (x) => x.ceil()),
  unary('round', roundHalfEven, (x) => x.round()),
  unary('clone', (v) => v, (x) => x.clone()),
  // sign records no gradient in wasmgrad (PyTorch's is zero everywhere): README, op-cases.
  unary('sign', Math.sign, (x) => x.sign(), undefined, false),
  { name: 'detach', arity: 1, ref: ([x]) => x!, run: ([x]) => x!.detach(), differentiable: false }, // keeps bool
];

// ---- elementwise with scalar parameters ----------------------------------------------------

const SCALARS = [0.5, -1.5, 2, 0, -0.25, 3];
const SCALAR_OPS: OpDef[] = [
  {
    name: 'addScalar',
    arity: 1,
    params: (g) => ({ c: g.pick(SCALARS), left: g.bool() }),
    ref: ([x], p) => mapV(x!, (v) => v + p.c),
    run: ([x], p) => (p.left ? wg.add(p.c, x!) : x!.add(p.c)),
    differentiable: true,
  },
  {
    name: 'mulScalar',
    arity: 1,
    params: (g) => ({ c: g.pick(SCALARS) }),
    ref: ([x], p) => mapV(x!, (v) => v * p.c),
    run: ([x], p) => x!.mul(p.c),
    differentiable: true,
  },
  {
    name: 'rsubScalar',
    arity: 1,
    params: (g) => ({ c: g.pick(SCALARS) }),
    ref: ([x], p) => mapV(x!, (v) => p.c - v),
    run: ([x], p) => wg.sub(p.c, x!),
    differentiable: true,
  },
  {
    name: 'powScalar',
    arity: 1,
    params: (g) => ({ e: g.pick([2, 3, 0.5, -1, 1.5, 0]) }),
    admissible: ([x], p) => (Number.isInteger(p.e) ? (p.e >= 0 || x!.data.every((v) => Math.abs(v) > 0.2)) && maxAbs(x!) < 20 : min(x!) > 0.2),
    ref: ([x], p) => mapV(x!, (v) => v ** p.e),
    run: ([x], p) => x!.pow(p.e),
    differentiable: true,
  },
  {
    name: 'clamp',
    arity: 1,
    params: (g) => {
      const lo = g.pick([-1, -0.5, 0, null]);
      const hi = g.pick([1, 0.5, 2, null]);
      return lo === null && hi === null ? { lo: -1, hi: null } : { lo, hi };
    },
    ref: ([x], p) => mapV(x!, (v) => Math.min(p.hi ?? Infinity, Math.max(p.lo ?? -Infinity, v))),
    run: ([x], p) => x!.clamp(p.lo, p.hi),
    differentiable: true,
  },
  {
    name: 'hardtanh',
    arity: 1,
    params: (g) => ({ lo: g.pick([-1, -0.5, 0]), hi: g.pick([1, 0.5, 2]) }),
    ref: ([x], p) => mapV(x!, (v) => (Number.isNaN(v) ? v : Math.min(p.hi, Math.max(p.lo, v)))),
    run: ([x], p) => x!.hardtanh(p.lo, p.hi),
    differentiable: true,
  },
];

// ---- elementwise binary (broadcasting) -----------------------------------------------------

/** A shape that broadcasts with `a`: some leading dims dropped, some dims set to 1. */
function broadcastPartner(g: Chooser, a: Val): number[] {
  const drop = g.int(a.shape.length + 1);
  return a.shape.slice(drop).map((d) => (g.bool(0.3) ? 1 : d));
}

function binary(name: string, f: (a: number, b: number) => number, run: (a: Tensor, b: Tensor) => Tensor, extra: Partial<OpDef> = {}): OpDef {
  return {
    name,
    arity: 2,
    partner: (g, a) => broadcastPartner(g, a),
    ref: ([a, b]) => zipN([a!, b!], f),
    run: ([a, b]) => run(a!, b!),
    differentiable: true,
    ...extra,
  };
}

const nonSmall = (x: Val) => x.data.every((v) => Math.abs(v) > 0.2);
const BINARY: OpDef[] = [
  binary('add', (a, b) => a + b, (a, b) => a.add(b)),
  binary('sub', (a, b) => a - b, (a, b) => a.sub(b)),
  binary('mul', (a, b) => a * b, (a, b) => a.mul(b), { admissible: ([a, b]) => maxAbs(a!) * maxAbs(b!) < 1e4 }),
  binary('div', (a, b) => a / b, (a, b) => a.div(b), { constRange: [0.5, 2], admissible: ([, b]) => nonSmall(b!) }),
  binary('maximum', Math.max, (a, b) => a.maximum(b)),
  binary('minimum', Math.min, (a, b) => a.minimum(b)),
  binary('pow', (a, b) => a ** b, (a, b) => a.pow(b), {
    constRange: [-1.5, 2],
    admissible: ([a, b]) => min(a!) > 0.2 && maxAbs(a!) < 10 && maxAbs(b!) <= 2,
  }),
];

function comparison(name: string, f: (a: number, b: number) => boolean, run: (a: Tensor, b: Tensor) => Tensor): OpDef {
  return {
    name,
    arity: 2,
    partner: (g, a) => broadcastPartner(g, a),
    ref: ([a, b]) => zipN([a!, b!], (x, y) => Number(f(x, y)), 'bool'),
    run: ([a, b]) => run(a!, b!),
    differentiable: false,
  };
}

const COMPARE: OpDef[] = [
  comparison('gt', (a, b) => a > b, (a, b) => a.gt(b)),
  comparison('le', (a, b) => a <= b, (a, b) => a.le(b)),
  comparison('eq', (a, b) => a === b, (a, b) => a.eq(b)),
  comparison('logicalXor', (a, b) => (a !== 0) !== (b !== 0), (a, b) => a.logicalXor(b)),
];

// ---- reductions ----------------------------------------------------------------------------

/** Undefined (all), one dim, or a list of distinct dims; sometimes one out of range. */
function dimsParam(g: Chooser, a: Val, allowAll = true, allowList = true): { dim: number | number[] | undefined; keepdim: boolean } {
  const rank = a.shape.length;
  const r = Math.max(rank, 1);
  const keepdim = g.bool();
  const kind = g.int(allowAll ? 4 : 3);
  if (kind === 3) return { dim: undefined, keepdim };
  // 1 in 25: a dim out of range (ArgumentError expected).
  const signed = (d: number) => (g.bool() ? d - r : d);
  if (g.int(25) === 0) return { dim: r + g.int(2), keepdim };
  if (kind === 2 && allowList && rank >= 2) {
    const ds = [...Array(rank).keys()].filter(() => g.bool());
    return { dim: ds.map(signed), keepdim };
  }
  return { dim: signed(g.int(r)), keepdim };
}
const asList = (d: number | number[] | undefined) => (d === undefined ? undefined : typeof d === 'number' ? [d] : d);

const sumOf = (vs: number[]) => vs.reduce((a, b) => a + b, 0);
// The variance of no elements (or of one, unbiased) is nan, as in PyTorch.
const variance = (vs: number[]) => {
  if (vs.length === 0) return NaN;
  const m = sumOf(vs) / vs.length;
  return sumOf(vs.map((v) => (v - m) ** 2)) / (vs.length - 1);
};
/**
 * amax/amin/max/argmin over a reduced dim of size 0 (all dims: an empty tensor) is rejected,
 * as in PyTorch ("Expected reduction dim to have non-zero size"), with a ShapeError.
 */
const NON_EMPTY = Symbol('nonEmpty');
const nonEmpty = (f: (vs: number[]) => number) => Object.assign((vs: number[]) => f(vs), { [NON_EMPTY]: true });

function reduction(name: string, f: (vs: number[]) => number, run: (x: Tensor, dim: number | number[] | undefined, keepdim: boolean) => Tensor, ok?: (x: Val) => boolean, allowList = true, allowAll = true): OpDef {
  return {
    name,
    arity: 1,
    params: (g, a) => dimsParam(g, a, allowAll, allowList),
    ...(ok ? { admissible: ([x]: Val[]) => ok(x!) } : {}),
    ref: ([x], p) => reduceRef(x!, asList(p.dim), p.keepdim, f),
    run: ([x], p) => run(x!, p.dim, p.keepdim),
    differentiable: true,
  };
}

const REDUCE: OpDef[] = [
  reduction('sum', sumOf, (x, d, k) => x.sum(d, k)),
  reduction('mean', (vs) => sumOf(vs) / vs.length, (x, d, k) => x.mean(d, k)),
  reduction('amax', nonEmpty((vs) => Math.max(...vs)), (x, d, k) => x.amax(d, k)),
  reduction('amin', nonEmpty((vs) => Math.min(...vs)), (x, d, k) => x.amin(d, k)),
  reduction('prod', (vs) => vs.reduce((a, b) => a * b, 1), (x, d, k) => x.prod(d as number | undefined, k),
    (x) => maxAbs(x) < 4 && x.data.length <= 24, false),
  reduction('logsumexp', (vs) => {
    const m = Math.max(...vs);
    return vs.length === 0 ? -Infinity : m + Math.log(sumOf(vs.map((v) => Math.exp(v - m))));
  }, (x, d, k) => x.logsumexp(d ?? [...x.shape.keys()], k),
  undefined, true, false),
  reduction('var', variance, (x, d, k) => x.var(d, true, k)),
  reduction('norm2', (vs) => Math.sqrt(sumOf(vs.map((v) => v * v))), (x, d, k) => x.norm(2, d, k)),
  reduction('norm1', (vs) => sumOf(vs.map(Math.abs)), (x, d, k) => x.norm(1, d, k)),
  {
    name: 'maxValues',
    arity: 1,
    params: (g, a) => ({ dim: dimsParam(g, a, false, false).dim as number, keepdim: g.bool() }),
    ref: ([x], p) => reduceRef(x!, [p.dim], p.keepdim, nonEmpty((vs) => Math.max(...vs))),
    run: ([x], p) => x!.max(p.dim, p.keepdim).values,
    differentiable: true,
  },
  {
    name: 'argminF',
    arity: 1,
    params: (g, a) => ({ dim: dimsParam(g, a, false, false).dim as number, keepdim: g.bool() }),
    // Ties: the first index, as PyTorch.
    ref: ([x], p) => reduceRef(x!, [p.dim], p.keepdim, nonEmpty((vs) => vs.indexOf(Math.min(...vs)))),
    run: ([x], p) => x!.argmin(p.dim, p.keepdim).to('float32'),
    differentiable: false,
  },
  {
    name: 'cumsum',
    arity: 1,
    params: (g, a) => ({ dim: dimsParam(g, a, false, false).dim as number }),
    ref: ([x], p) => (normDim(p.dim, x!.shape.length), asVal(refCumsum(x!, p.dim))),
    run: ([x], p) => x!.cumsum(p.dim),
    differentiable: true,
  },
  {
    name: 'logcumsumexp',
    arity: 1,
    params: (g, a) => ({ dim: dimsParam(g, a, false, false).dim as number }),
    ref: ([x], p) => (normDim(p.dim, x!.shape.length), mapV(asVal(refCumsum(mapV(x!, Math.exp), p.dim)), Math.log)),
    run: ([x], p) => x!.logcumsumexp(p.dim),
    differentiable: true,
  },
];

// ---- softmax, where, masks, indexing -------------------------------------------------------

/** softmax or logSoftmax along one dim (a 0-d input has one element: 1, or 0 in log space). */
const softmaxDef = (name: 'softmax' | 'logSoftmax', log: boolean): OpDef => ({
  name,
  arity: 1,
  params: (g, a) => ({ dim: dimsParam(g, a, false, false).dim as number }),
  ref: ([x], p) => {
    const d = normDim(p.dim, x!.shape.length);
    return x!.shape.length === 0 ? val([], [log ? 0 : 1]) : asVal(refSoftmax(x!, d, log));
  },
  run: ([x], p) => (log ? x!.logSoftmax(p.dim) : x!.softmax(p.dim)),
  differentiable: true,
});

const NN: OpDef[] = [
  softmaxDef('softmax', false),
  softmaxDef('logSoftmax', true),
  {
    // where(c > 0, a, b), all three broadcasting.
    name: 'where',
    arity: 3,
    partner: (g, a) => broadcastPartner(g, a),
    ref: ([c, a, b]) => zipN([c!, a!, b!], (u, x, y) => (u > 0 ? x : y)),
    run: ([c, a, b]) => wg.where(c!.gt(0), a!, b!),
    differentiable: true,
    gradArgs: [1, 2],
  },
  {
    // x.maskedFill(m < 0, value).
    name: 'maskedFill',
    arity: 2,
    params: (g) => ({ value: g.pick([0, -1, 2.5]) }),
    partner: (g, a) => broadcastPartner(g, a),
    // Out of place, x broadcasts with the mask too (as torch.masked_fill).
    ref: ([x, m], p) => zipN([x!, m!], (u, v) => (v < 0 ? p.value : u)),
    run: ([x, m], p) => x!.maskedFill(m!.lt(0), p.value),
    differentiable: true,
    gradArgs: [0],
  },
  {
    name: 'indexSelect',
    arity: 1,
    params: (g, a) => {
      const dim = dimsParam(g, a, false, false).dim as number;
      const n = a.shape[dim < 0 ? dim + a.shape.length : dim] ?? 1;
      const len = g.int(4);
      return { dim, index: Array.from({ length: n === 0 ? 0 : len }, () => g.int(n)) };
    },
    ref: ([x], p) => {
      const d = normDim(p.dim, x!.shape.length);
      const shape = x!.shape.map((s, i) => (i === d ? p.index.length : s));
      const st = stridesOf(x!.shape);
      return val(shape, Array.from({ length: numel(shape) }, (_, i) => {
        const m = unravel(i, shape);
        m[d] = p.index[m[d]!];
        return x!.data[m.reduce((o, v, k) => o + v * st[k]!, 0)]!;
      }));
    },
    admissible: ([x]) => x!.shape.length >= 1,
    run: ([x], p) => x!.indexSelect(p.dim, wg.tensor(p.index, { dtype: 'int32', shape: [p.index.length] })),
    differentiable: true,
  },
  {
    name: 'gather',
    arity: 1,
    params: (g, a) => {
      const rank = a.shape.length;
      const dim = dimsParam(g, a, false, false).dim as number;
      const d = dim < 0 ? dim + rank : dim;
      const n = a.shape[d] ?? 1;
      // PyTorch: index.size(k) <= input.size(k) for k != dim.
      const shape = a.shape.map((s, k) => (k === d ? (n === 0 ? 0 : 1 + g.int(3)) : g.int(s + 1)));
      return { dim, shape, index: Array.from({ length: numel(shape) }, () => g.int(Math.max(n, 1))) };
    },
    admissible: ([x]) => x!.shape.length >= 1,
    ref: ([x], p) => (normDim(p.dim, x!.shape.length), asVal(refGather(x!, p.dim, { shape: p.shape, values: p.index }))),
    run: ([x], p) => x!.gather(p.dim, wg.tensor(p.index, { dtype: 'int32', shape: p.shape })),
    differentiable: true,
  },
];

// ---- linear algebra ------------------------------------------------------------------------

const MATMUL: OpDef = {
  name: 'matmul',
  arity: 2,
  admissible: ([a, b]) => a!.shape.length >= 1 && b!.shape.length >= 1 && maxAbs(a!) * maxAbs(b!) < 1e3,
  partner: (g, a) => {
    const k = a.shape.at(-1) ?? 1;
    const n = g.int(4);
    const kind = g.int(3);
    if (kind === 0) return [k];
    if (kind === 1 || a.shape.length < 3) return [k, n];
    return [...a.shape.slice(0, -2).map((d) => (g.bool() ? 1 : d)), k, n];
  },
  ref: ([a, b]) => {
    if (a!.shape.length === 0 || b!.shape.length === 0) shapeErr('matmul of a 0-d tensor');
    const ka = a!.shape.at(-1)!;
    const kb = b!.shape.length === 1 ? b!.shape[0]! : b!.shape.at(-2)!;
    if (ka !== kb) shapeErr(`matmul inner dims ${ka} and ${kb}`);
    try {
      broadcastShape(a!.shape.slice(0, -2), b!.shape.slice(0, -2));
    } catch {
      shapeErr('matmul batch dims');
    }
    return asVal(matmul(a!, b!));
  },
  run: ([a, b]) => a!.matmul(b!),
  differentiable: true,
};

// ---- movement ------------------------------------------------------------------------------

function factorShape(g: Chooser, n: number): number[] {
  if (n === 0) return g.pick([[0], [2, 0], [0, 3], [1, 0, 2]]);
  const out: number[] = [];
  let rest = n;
  for (let k = 0; k < 3 && rest > 1; k++) {
    const divs = [...Array(rest).keys()].map((i) => i + 1).filter((d) => rest % d === 0);
    const d = g.pick(divs);
    out.push(d);
    rest /= d;
  }
  if (rest > 1) out.push(rest);
  if (g.bool(0.3)) out.splice(g.int(out.length + 1), 0, 1);
  return out;
}

const MOVEMENT: OpDef[] = [
  {
    name: 'reshape',
    arity: 1,
    params: (g, a) => {
      const shape = factorShape(g, numel(a.shape));
      // Sometimes -1 for one dim (inferred), when that is unambiguous.
      if (shape.length > 0 && !shape.includes(0) && g.bool(0.3)) shape[g.int(shape.length)] = -1;
      return { shape };
    },
    ref: ([x], p) => {
      const known = p.shape.filter((d: number) => d !== -1);
      const shape = p.shape.map((d: number) => (d === -1 ? numel(x!.shape) / numel(known) : d));
      if (numel(shape) !== numel(x!.shape) || !shape.every(Number.isInteger)) shapeErr('reshape size');
      return { ...x!, shape };
    },
    run: ([x], p) => x!.reshape(p.shape),
    differentiable: true,
  },
  {
    name: 'permute',
    arity: 1,
    params: (g, a) => {
      const order = [...a.shape.keys()];
      for (let i = order.length - 1; i > 0; i--) {
        const j = g.int(i + 1);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      return { order };
    },
    ref: ([x], p) => ({ ...asVal(permute(x!, p.order)), dtype: x!.dtype }),
    run: ([x], p) => x!.permute(p.order),
    differentiable: true,
  },
  {
    name: 'transpose',
    arity: 1,
    params: (g, a) => {
      const r = Math.max(a.shape.length, 1);
      return { d0: g.int(r) - (g.bool() ? r : 0), d1: g.int(r) };
    },
    ref: ([x], p) => {
      const rank = x!.shape.length;
      const [a, b] = [normDim(p.d0, rank), normDim(p.d1, rank)];
      if (rank === 0) return x!;
      const order = [...x!.shape.keys()];
      [order[a], order[b]] = [order[b]!, order[a]!];
      return { ...asVal(permute(x!, order)), dtype: x!.dtype };
    },
    run: ([x], p) => x!.transpose(p.d0, p.d1),
    differentiable: true,
  },
  {
    name: 'slice',
    arity: 1,
    params: (g, a) => {
      const dim = g.int(Math.max(a.shape.length, 1));
      const size = a.shape[dim] ?? 1;
      const start = g.int(size + 2) - (g.bool(0.3) ? size + 1 : 0);
      const end = g.bool(0.2) ? 1000 : g.int(size + 2) - (g.bool(0.2) ? size : 0);
      return { dim, start, end, step: 1 + g.int(3) };
    },
    admissible: ([x]) => x!.shape.length >= 1,
    ref: ([x], p) => ({ ...asVal(refSlice(x!, p.dim, p.start, p.end, p.step)), dtype: x!.dtype }),
    run: ([x], p) => x!.slice(p.dim, p.start, p.end, p.step),
    differentiable: true,
  },
  {
    name: 'expand',
    arity: 1,
    params: (g, a) => {
      const lead = g.int(2) === 0 ? [] : [1 + g.int(3)];
      return { shape: [...lead, ...a.shape.map((d) => (d === 1 ? g.pick([1, 2, 3, 0, -1]) : g.bool(0.2) ? -1 : d))] };
    },
    admissible: ([x], p) => numel(p.shape.map((d: number) => Math.abs(d))) * 1 <= MAX_NUMEL && x!.shape.length <= 3,
    ref: ([x], p) => {
      const lead = p.shape.length - x!.shape.length;
      const shape = p.shape.map((d: number, i: number) => (d === -1 ? x!.shape[i - lead]! : d));
      return zipN([x!, val(shape, new Float64Array(numel(shape)))], (v) => v, x!.dtype);
    },
    run: ([x], p) => x!.expand(p.shape),
    differentiable: true,
  },
  {
    name: 'unsqueeze',
    arity: 1,
    params: (g, a) => ({ dim: g.int(a.shape.length + 1) - (g.bool() ? a.shape.length + 1 : 0) }),
    admissible: ([x]) => x!.shape.length < 4,
    ref: ([x], p) => {
      const d = normDim(p.dim, x!.shape.length + 1);
      const shape = [...x!.shape];
      shape.splice(d, 0, 1);
      return { ...x!, shape };
    },
    run: ([x], p) => x!.unsqueeze(p.dim),
    differentiable: true,
  },
  {
    name: 'squeeze',
    arity: 1,
    params: (g, a) => (g.bool(0.3) ? { dim: null } : { dim: g.int(Math.max(a.shape.length, 1)) }),
    ref: ([x], p) => {
      if (p.dim === null) return { ...x!, shape: x!.shape.filter((d) => d !== 1) };
      const d = normDim(p.dim, x!.shape.length);
      return { ...x!, shape: x!.shape.filter((s, i) => i !== d || s !== 1) };
    },
    run: ([x], p) => (p.dim === null ? x!.squeeze() : x!.squeeze(p.dim)),
    differentiable: true,
  },
  {
    name: 'flip',
    arity: 1,
    params: (g, a) => ({ dims: [...a.shape.keys()].filter(() => g.bool()) }),
    ref: ([x], p) => asVal(refFlip(x!, p.dims), x!.dtype),
    run: ([x], p) => x!.flip(p.dims),
    differentiable: true,
  },
  {
    name: 'repeat',
    arity: 1,
    params: (g, a) => ({ reps: [...(g.bool(0.3) ? [1 + g.int(2)] : []), ...a.shape.map(() => g.pick([1, 2, 1, 0, 3]))] }),
    admissible: ([x], p) => numel(x!.shape) * numel(p.reps) <= MAX_NUMEL,
    ref: ([x], p) => {
      const shape = [...Array(p.reps.length - x!.shape.length).fill(1), ...x!.shape];
      const out = shape.map((d, i) => d * p.reps[i]);
      const st = stridesOf(shape);
      return val(out, Array.from({ length: numel(out) }, (_, i) => x!.data[unravel(i, out).reduce((o, v, k) => o + (v % shape[k]!) * st[k]!, 0)]!), x!.dtype);
    },
    run: ([x], p) => x!.repeat(p.reps),
    differentiable: true,
  },
  {
    name: 'tril',
    arity: 1,
    params: (g) => ({ k: g.int(3) - 1, upper: g.bool() }),
    admissible: ([x]) => x!.shape.length >= 2,
    ref: ([x], p) => {
      const [R, C] = x!.shape.slice(-2) as [number, number];
      // Any dtype, kept (as PyTorch's tril/triu).
      return { ...val(x!.shape, Array.from(x!.data, (v, i) => {
        const c = i % C;
        const r = Math.floor(i / C) % R;
        return (p.upper ? c - r >= p.k : c - r <= p.k) ? v : 0;
      })), dtype: x!.dtype };
    },
    run: ([x], p) => (p.upper ? x!.triu(p.k) : x!.tril(p.k)),
    differentiable: true,
  },
  {
    // One piece of split/chunk.
    name: 'chunkPick',
    arity: 1,
    params: (g, a) => ({ chunks: 1 + g.int(3), dim: g.int(Math.max(a.shape.length, 1)), pick: g.int(3) }),
    admissible: ([x], p) => {
      if (x!.shape.length === 0) return false;
      const n = x!.shape[p.dim]!;
      const size = Math.max(1, Math.ceil(n / p.chunks));
      return p.pick < Math.ceil(n / size);
    },
    ref: ([x], p) => {
      const n = x!.shape[p.dim]!;
      const size = Math.max(1, Math.ceil(n / p.chunks));
      return { ...asVal(refSlice(x!, p.dim, p.pick * size, (p.pick + 1) * size, 1)), dtype: x!.dtype };
    },
    run: ([x], p) => {
      const pieces = x!.chunk(p.chunks, p.dim);
      pieces.forEach((t, i) => i !== p.pick && t.dispose());
      return pieces[p.pick]!;
    },
    differentiable: true,
  },
  {
    name: 'cat',
    arity: 2,
    params: (g, a) => ({ dim: g.int(Math.max(a.shape.length, 1)) - (g.bool(0.3) ? Math.max(a.shape.length, 1) : 0) }),
    partner: (g, a, p) => {
      const d = p.dim < 0 ? p.dim + a.shape.length : p.dim;
      return a.shape.map((s, i) => (i === d ? g.int(3) : s));
    },
    ref: ([a, b], p) => {
      if (a!.shape.length === 0 || b!.shape.length === 0) shapeErr('cat of a 0-d tensor');
      const rank = a!.shape.length;
      const d = normDim(p.dim, rank);
      if (b!.shape.length !== rank || a!.shape.some((s, i) => i !== d && s !== b!.shape[i])) shapeErr('cat shapes');
      const shape = a!.shape.map((s, i) => (i === d ? s + b!.shape[d]! : s));
      const sa = stridesOf(a!.shape);
      const sb = stridesOf(b!.shape);
      return val(shape, Array.from({ length: numel(shape) }, (_, i) => {
        const m = unravel(i, shape);
        if (m[d]! < a!.shape[d]!) return a!.data[m.reduce((o, v, k) => o + v * sa[k]!, 0)]!;
        m[d]! -= a!.shape[d]!;
        return b!.data[m.reduce((o, v, k) => o + v * sb[k]!, 0)]!;
      }), a!.dtype === 'bool' && b!.dtype === 'bool' ? 'bool' : 'float32');
    },
    run: ([a, b], p) => wg.cat([a!, b!], p.dim),
    differentiable: true,
  },
  {
    name: 'stack',
    arity: 2,
    params: (g, a) => ({ dim: g.int(a.shape.length + 1) }),
    partner: (_g, a) => a.shape,
    admissible: ([a]) => a!.shape.length < 4,
    ref: ([a, b], p) => {
      // wasmgrad unsqueezes each operand first: a dim out of range for one is an ArgumentError.
      for (const x of [a!, b!]) normDim(p.dim, x.shape.length + 1);
      if (a!.shape.join() !== b!.shape.join()) shapeErr('stack shapes');
      const shape = [...a!.shape];
      shape.splice(p.dim, 0, 2);
      const inner = numel(a!.shape.slice(p.dim));
      const outer = numel(a!.shape.slice(0, p.dim));
      const out: number[] = [];
      for (let o = 0; o < outer; o++) for (const x of [a!, b!]) out.push(...x.data.slice(o * inner, (o + 1) * inner));
      return val(shape, out, a!.dtype === 'bool' && b!.dtype === 'bool' ? 'bool' : 'float32');
    },
    run: ([a, b], p) => wg.stack([a!, b!], p.dim),
    differentiable: true,
  },
];

// ---- Python-style indexing: x.index('1:3, ..., None, -1') ------------------------------------

type IndexItem = number | [number | null, number | null, number] | '...' | 'None';
const itemText = (it: IndexItem): string =>
  typeof it === 'number' ? `${it}` : typeof it === 'string' ? it : `${it[0] ?? ''}:${it[1] ?? ''}${it[2] !== 1 ? `:${it[2]}` : ''}`;

function refIndex(x: Val, items: IndexItem[]): Val {
  const rank = x.shape.length;
  const real = items.filter((it) => typeof it === 'number' || Array.isArray(it)).length;
  if (real > rank) argErr('too many indices');
  const full: IndexItem[] = [];
  for (const it of items) {
    if (it === '...') for (let k = 0; k < rank - real; k++) full.push([null, null, 1]);
    else full.push(it);
  }
  if (!items.includes('...')) for (let k = 0; k < rank - real; k++) full.push([null, null, 1]);
  // Per source dim, the positions taken; per output dim, its source dim (or -1 for None).
  const picks: number[][] = [];
  const outShape: number[] = [];
  const outSrc: number[] = [];
  let d = 0;
  for (const it of full) {
    if (it === 'None') {
      outShape.push(1);
      outSrc.push(-1);
    } else if (typeof it === 'number') {
      const n = x.shape[d]!;
      if (it < -n || it >= n) argErr('index out of range');
      picks.push([it < 0 ? it + n : it]);
      d++;
    } else if (Array.isArray(it)) {
      const n = x.shape[d]!;
      const idx = [...Array(n).keys()].slice(it[0] ?? 0, it[1] ?? n).filter((_, i) => i % it[2] === 0);
      picks.push(idx);
      outShape.push(idx.length);
      outSrc.push(d);
      d++;
    }
  }
  const st = stridesOf(x.shape);
  return val(outShape, Array.from({ length: numel(outShape) }, (_, i) => {
    const m = unravel(i, outShape);
    const src = picks.map((p) => p[0]!);
    outSrc.forEach((sd, k) => {
      if (sd >= 0) src[sd] = picks[sd]![m[k]!]!;
    });
    return x.data[src.reduce((o, v, k) => o + v * st[k]!, 0)]!;
  }), x.dtype);
}

const INDEX: OpDef = {
  name: 'index',
  arity: 1,
  params: (g, a) => {
    const items: IndexItem[] = [];
    const count = g.int(a.shape.length + 1);
    for (let d = 0; d < count; d++) {
      const n = a.shape[d]!;
      const kind = g.int(4);
      if (kind === 0 && n > 0) items.push(g.int(2 * n) - n);
      else if (kind === 1) items.push([null, null, 1]);
      else items.push([g.bool() ? null : g.int(n + 2) - 1, g.bool() ? null : g.int(n + 2) - 1, 1 + g.int(2)]);
    }
    if (g.bool(0.3)) items.splice(g.int(items.length + 1), 0, '...');
    if (g.bool(0.3)) items.splice(g.int(items.length + 1), 0, 'None');
    return { spec: items.map(itemText).join(', '), items };
  },
  ref: ([x], p) => refIndex(x!, p.items),
  run: ([x], p) => x!.index(p.spec),
  differentiable: true,
};

// ---- neural-network layers -----------------------------------------------------------------

const spatial = (x: Val) => x.shape.length === 3 || x.shape.length === 4;
const pair = (g: Chooser, lo: number, n: number): [number, number] => [lo + g.int(n), lo + g.int(n)];

/** A pooling window: kernel 1–3, stride 1–2, padding up to half the kernel, ceil mode. */
function poolWindow(g: Chooser) {
  const kernel = pair(g, 1, 3);
  return { kernel, stride: pair(g, 1, 2), padding: kernel.map((k) => g.int(Math.floor(k / 2) + 1)), ceilMode: g.bool(0.3) };
}

/** Whether pooling `x` with window `p` (and `dilation`) leaves at least one output in each spatial dim. */
function poolFits(x: Val, p: Record<string, any>, dilation: number[]): boolean {
  if (!spatial(x) || numel(x.shape) === 0) return false;
  const [H, W] = x.shape.slice(-2) as [number, number];
  return [H, W].every((n, d) => pooledSize(n, p.kernel[d], p.stride[d], p.padding[d], dilation[d]!, p.ceilMode) >= 1);
}

const NN_LAYERS: OpDef[] = [
  {
    // conv2d(x [N, C, H, W] or [C, H, W], w [O, C/groups, kH, kW], b [O]).
    name: 'conv2d',
    arity: 3,
    params: (g, a) => {
      if (!spatial(a)) return null;
      const C = a.shape.at(-3)!;
      const groups = C > 0 && C % 2 === 0 && g.bool(0.3) ? 2 : 1;
      return {
        O: groups * (1 + g.int(2)),
        groups,
        kernel: pair(g, 1, 3),
        stride: pair(g, 1, 2),
        padding: pair(g, 0, 2),
        dilation: pair(g, 1, 2),
      };
    },
    partner: (_g, a, p, k) => (k === 1 ? [p.O, a.shape.at(-3)! / p.groups, ...p.kernel] : [p.O]),
    constRange: [-1, 1],
    admissible: ([x]) => spatial(x!) && numel(x!.shape) > 0,
    ref: ([x, w, b], p) => {
      if (!spatial(x!) || w!.shape.length !== 4 || b!.shape.length !== 1) shapeErr('conv2d ranks');
      const C = x!.shape.at(-3)!;
      if (w!.shape[1]! * p.groups !== C || w!.shape[0]! % p.groups !== 0 || b!.shape[0] !== w!.shape[0]) shapeErr('conv2d channels');
      const [H, W] = x!.shape.slice(-2) as [number, number];
      const oh = Math.floor((H + 2 * p.padding[0] - p.dilation[0] * (w!.shape[2]! - 1) - 1) / p.stride[0]) + 1;
      const ow = Math.floor((W + 2 * p.padding[1] - p.dilation[1] * (w!.shape[3]! - 1) - 1) / p.stride[1]) + 1;
      if (oh < 1 || ow < 1) shapeErr('conv2d kernel larger than the padded input');
      return asVal(refConv2d(x!, w!, b!, { stride: p.stride, pad: p.padding, dilation: p.dilation, groups: p.groups }));
    },
    run: ([x, w, b], p) => wg.conv2d(x!, w!, b!, { stride: p.stride, padding: p.padding, dilation: p.dilation, groups: p.groups }),
    differentiable: true,
  },
  {
    name: 'maxPool2d',
    arity: 1,
    params: (g, a) => (spatial(a) ? { ...poolWindow(g), dilation: pair(g, 1, 2) } : null),
    admissible: ([x], p) => poolFits(x!, p, p.dilation),
    ref: ([x], p) => asVal(refMaxPool2d(x!, p.kernel, { stride: p.stride, pad: p.padding, dilation: p.dilation, ceil: p.ceilMode }).out),
    run: ([x], p) => wg.maxPool2d(x!, p.kernel, { stride: p.stride, padding: p.padding, dilation: p.dilation, ceilMode: p.ceilMode }),
    differentiable: true,
  },
  {
    name: 'avgPool2d',
    arity: 1,
    params: (g, a) => (spatial(a) ? { ...poolWindow(g), countIncludePad: g.bool() } : null),
    admissible: ([x], p) => poolFits(x!, p, [1, 1]),
    ref: ([x], p) => asVal(refAvgPool2d(x!, p.kernel, { stride: p.stride, pad: p.padding, ceil: p.ceilMode, countIncludePad: p.countIncludePad })),
    run: ([x], p) => wg.avgPool2d(x!, p.kernel, { stride: p.stride, padding: p.padding, ceilMode: p.ceilMode, countIncludePad: p.countIncludePad }),
    differentiable: true,
  },
  {
    // linear(x [..., in], w [out, in], b [out]), optionally with the fused relu.
    name: 'linear',
    arity: 3,
    params: (g, a) => (a.shape.length === 0 ? null : { out: 1 + g.int(4), relu: g.bool(0.3) }),
    partner: (_g, a, p, k) => (k === 1 ? [p.out, a.shape.at(-1)!] : [p.out]),
    admissible: ([x, w]) => maxAbs(x!) * maxAbs(w!) < 1e3,
    ref: ([x, w, b], p) => {
      if (x!.shape.length === 0 || w!.shape.length !== 2 || b!.shape.length !== 1) shapeErr('linear ranks');
      if (w!.shape[1] !== x!.shape.at(-1) || b!.shape[0] !== w!.shape[0]) shapeErr('linear sizes');
      const y = zipN([asVal(matmul(x!, permute(w!, [1, 0]))), b!], (u, v) => u + v);
      return p.relu ? mapV(y, (v) => Math.max(v, 0)) : y;
    },
    run: ([x, w, b], p) => wg.linear(x!, w!, b!, { activation: p.relu ? 'relu' : 'none' }),
    differentiable: true,
  },
  {
    // crossEntropy(logits [N, C] or [C], int32 class indices), some ignored.
    name: 'crossEntropy',
    arity: 1,
    params: (g, a) => {
      if (a.shape.length < 1 || a.shape.length > 2) return null;
      const C = a.shape.at(-1)!;
      const N = a.shape.length === 2 ? a.shape[0]! : 1;
      const target = Array.from({ length: N }, () => (g.int(8) === 0 ? -100 : g.int(Math.max(C, 1))));
      return { target, reduction: g.pick(['mean', 'sum', 'none']), labelSmoothing: g.pick([0, 0, 0.1]) };
    },
    admissible: ([x]) => x!.shape.length >= 1 && x!.shape.length <= 2 && numel(x!.shape) > 0,
    ref: ([x], p) => asVal(refCrossEntropy(x!, p.target, false, p.reduction, -100, p.labelSmoothing)),
    run: ([x], p) => wg.crossEntropy(x!, wg.tensor(p.target, { dtype: 'int32', shape: x!.shape.length === 2 ? [p.target.length] : [] }), { reduction: p.reduction, labelSmoothing: p.labelSmoothing }),
    differentiable: true,
  },
];

// ---- hooks ---------------------------------------------------------------------------------

/**
 * y = x.clone() with a hook scaling the gradient flowing through y by c. The reference's
 * forward is the identity; test/fuzz/check.ts scales y's finite-difference perturbations.
 * A y that does not require grad must refuse the hook (AutogradError, as PyTorch).
 */
export const HOOK: OpDef = {
  name: 'hookScale',
  arity: 1,
  params: (g) => ({ c: g.pick([2, -1, 0.5, 0]) }),
  ref: ([x]) => mapV(x!, (v) => v),
  run: ([x], p) => {
    const y = x!.clone();
    y.registerHook((g) => g.mul(p.c));
    return y;
  },
  differentiable: true,
};

// ---- a custom function (defineFunction) -----------------------------------------------------

/** f(a, b) = a·b + a, broadcasting; its backward returns broadcast-shaped gradients, which the
 * engine sums back to each input's shape (as PyTorch does for autograd.Function). */
const MulAdd = wg.defineFunction({
  name: 'MulAdd',
  forward(ctx, a: Tensor, b: Tensor) {
    ctx.saveForBackward(a, b);
    return a.mul(b).add(a);
  },
  backward(ctx, g) {
    const [a, b] = ctx.savedTensors as [Tensor, Tensor];
    return [ctx.needsInputGrad[0] ? g.mul(b.add(1)) : null, ctx.needsInputGrad[1] ? g.mul(a) : null];
  },
});

export const CUSTOM: OpDef = binary('customMulAdd', (a, b) => a * b + a, (a, b) => MulAdd.apply(a, b), {
  admissible: ([a, b]) => maxAbs(a!) * (maxAbs(b!) + 1) < 1e4,
});

/** Every op, simplest first (shrinking moves towards the start of the list). */
export const OPS: OpDef[] = [...UNARY.slice(0, 1), ...BINARY, ...UNARY.slice(1), ...SCALAR_OPS, ...MOVEMENT, ...REDUCE, ...NN, MATMUL, INDEX, ...NN_LAYERS, HOOK, HOOK, CUSTOM, CUSTOM, ...COMPARE,
  // conv2d and pooling apply to 3-D and 4-D values only: drawn more often.
  ...NN_LAYERS.slice(0, 3), ...NN_LAYERS.slice(0, 3), NN_LAYERS[0]!];
export const OP_BY_NAME = new Map(OPS.map((o) => [o.name, o]));

export { finite, maxAbs };

// One row per entry of the core's op catalog (`family/name`, as `Core.ops` lists it), read
// by test/op-table.test.ts, which fails when an op of the catalog has no row here.
//
// Adding an op to the core: add its row below, in its family's section.
//   - An op with a gradient: `{ grad: { fn, ref, inputs } }` — `fn` calls the op through the
//     public API on wasmgrad tensors, `ref` is a float64 reference over Nd arrays (reuse
//     test/helpers/reference*.ts), `inputs` are float inputs (keep them away from kinks).
//     Integer operands (labels, indices, masks) are created inside `fn`. The test checks
//     the forward against `ref` and the gradient against finite differences of `ref`, and
//     again through transposed (non-contiguous) views of every input of rank ≥ 2 unless
//     `contiguousOnly` says why not.
//   - An op without one (comparisons, indices, creation, in-place, optimizer updates,
//     internal helpers of backward rules): `{ noGrad: '<why>', run, inputs?, ref? }` —
//     `run` calls the op on `inputs` (made to require grad) and returns its outputs; the
//     test checks that no output requires grad or has a grad_fn, and compares the first
//     output with `ref` when given.
import { expect } from 'vitest';
import { lib } from '../ts/ffi.js';
import {
  Adagrad, Adam, adaptiveAvgPool2d, arange, AutogradError, avgPool2d, binaryCrossEntropy, conv1d, conv2d, convTranspose2d, crossEntropy,
  eye, full, cat, linear, linspace, manualSeed, maxPool2d, noGrad, rand, randn, RMSprop, SGD, softmax, tensor, where, type Optimizer,
  type Tensor,
} from '../ts/node.js';
import { wrap } from '../ts/dispatch.js';
import type { GradcheckOptions } from './helpers/gradcheck.js';
import {
  erf, expand, fold, geluRef, geluTanhRef, map, matmul, mean, nd, permute, randomNd, refSlice, reshape, sum, zip,
  type Nd,
} from './helpers/reference.js';
import {
  refAdaptiveAvgPool2d, refAvgPool2d, refConv1d, refConv2d, refConvTranspose2d, refCrossEntropy, refMaxPool2d, refSoftmax,
} from './helpers/reference-nn.js';
import {
  refBinaryCrossEntropy, refCumsum, refFlip, refGather, refProd, refScatter, refTriangle, type Index,
} from './helpers/reference-ops.js';

export interface GradSpec {
  /** Calls the op (through the public API) on tensors made from `inputs`. */
  fn: (...xs: Tensor[]) => Tensor;
  /** Float64 reference of `fn`. */
  ref: (...xs: Nd[]) => Nd;
  inputs: Nd[];
  options?: GradcheckOptions;
  /** Why the transposed-input variant is left out (it runs by default). */
  contiguousOnly?: string;
  /** Why the op has no second derivative yet (double backward must then fail clearly). */
  firstOrderOnly?: string;
  /** Values PyTorch computed for `fn` (see {@link Golden}). */
  golden?: Golden;
}

/**
 * What PyTorch (1.13, float32) computes for an op at `inputs`: the output, the gradients
 * of `Σ weights·output` with respect to each input (weights default to ones; mixed signs
 * reach more of a backward rule), and the gradients of the sum of those gradients' squares
 * (second order). Compute them with the op's PyTorch call and paste them here.
 */
export interface Golden {
  inputs: Nd[];
  weights?: number[];
  output: number[];
  grads: number[][];
  gradgrads?: number[][];
}
export interface GradCase {
  grad: GradSpec;
}
export interface NoGradCase {
  /** Why the op has no gradient. */
  noGrad: string;
  /** Calls the op on `inputs` (float tensors that require grad); returns its outputs. */
  run: (...xs: Tensor[]) => Tensor | Tensor[];
  inputs?: Nd[];
  /** Float64 reference of the first output's values. */
  ref?: (...xs: Nd[]) => Nd;
}
export type OpCase = GradCase | NoGradCase;

// ---- helpers -------------------------------------------------------------------------------

/** A seed from the row's key, so rows do not share inputs. */
const seedOf = (key: string): number => [...key].reduce((h, ch) => Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0, 2166136261);
const input = (key: string, shape: number[], lo = -2, hi = 2, k = 0): Nd => randomNd(shape, seedOf(key) + k, lo, hi);

/** `x` with values within 0.1 of any of `kinks` moved 0.2 away (where the op is not smooth). */
const away = (x: Nd, kinks: number[]): Nd =>
  map(x, (v) => Math.fround(kinks.reduce((u, p) => (Math.abs(u - p) < 0.1 ? u + (u >= p ? 0.2 : -0.2) : u), v)));

const ints = (values: number[], shape = [values.length]): Tensor => tensor(values, { dtype: 'int32', shape });

/** Calls an op of the catalog that the API does not expose (helpers of backward rules). */
function rawUnary(name: string, x: Tensor): Tensor {
  const c = lib();
  return wrap(c, c.raw.wg_unary(c.opId('unary', name), x.handle));
}
function rawBinary(name: string, a: Tensor, b: Tensor): Tensor {
  const c = lib();
  return wrap(c, c.raw.wg_binary(c.opId('binary', name), a.handle, b.handle));
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
/** The variance of `vs` divided by n − correction. */
const varianceOf = (correction: number) => (vs: number[]) => {
  const m = vs.reduce((a, b) => a + b, 0) / vs.length;
  return vs.reduce((a, v) => a + (v - m) ** 2, 0) / (vs.length - correction);
};
const logSumExp = (vs: number[]) => {
  const m = Math.max(...vs);
  return m + Math.log(vs.reduce((a, v) => a + Math.exp(v - m), 0));
};
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

function unary(key: string, fn: (x: Tensor) => Tensor, f: (v: number) => number, lo = -2, hi = 2, kinks: number[] = []): GradCase {
  return { grad: { fn, ref: (x) => map(x, f), inputs: [away(input(key, [3, 4], lo, hi), kinks)] } };
}

function binary(key: string, fn: (a: Tensor, b: Tensor) => Tensor, f: (a: number, b: number) => number, sb: number[], blo = -2, bhi = 2, alo = -2): GradCase {
  return { grad: { fn, ref: (a, b) => zip(a, b, f), inputs: [input(key, [3, 4], alo, 2), input(key, sb, blo, bhi, 1)] } };
}

/** A comparison: int32 0/1 flags, no gradient. */
function comparison(key: string, cmp: (a: Tensor, b: Tensor) => Tensor, f: (a: number, b: number) => boolean): NoGradCase {
  const a = input(key, [3, 4]);
  // Some equal elements, so eq/le/ge see ties.
  const b = nd([3, 4], Array.from(a.data, (v, i) => (i % 3 === 0 ? v : Math.fround(-v))));
  return { noGrad: 'comparison: int32 0/1 flags, which have no gradient', run: cmp, inputs: [a, b], ref: (x, y) => zip(x, y, (u, v) => Number(f(u, v))) };
}

const LOGICAL_A = nd([3, 4], [0, 1, 2, 0, 0, 0, 0, 0, -1, 0.5, 3, 2]);
const LOGICAL_B = nd([3, 4], [1, 0, 2, 0, 0, 4, 0, 1, 1, 0, 3, 0]);

/** A logical op: bool result from "non-zero is true", no gradient. */
function logical(key: string, op: (a: Tensor, b: Tensor) => Tensor, f: (a: boolean, b: boolean) => boolean): NoGradCase {
  return { noGrad: `${key}: bool result`, run: op, inputs: [LOGICAL_A, LOGICAL_B], ref: (x, y) => zip(x, y, (u, v) => Number(f(u !== 0, v !== 0))) };
}

/** A bool reduction of the rows of a 2-D Nd. */
const anyAlong = (x: Nd, f: (row: number[]) => boolean): Nd =>
  nd([x.shape[0]!], Array.from({ length: x.shape[0]! }, (_, i) => Number(f(Array.from(x.data.subarray(i * x.shape[1]!, (i + 1) * x.shape[1]!))))));

/** An internal op whose only caller is another op's backward rule. */
const helper = (of: string, rest: Omit<NoGradCase, 'noGrad'>): NoGradCase => ({
  noGrad: `internal helper used by ${of}'s backward (its output is a derivative, not recorded)`,
  ...rest,
});

/** An in-place update: refused with grad mode on, unrecorded under noGrad. */
function inplace(update: (t: Tensor, s: Tensor) => Tensor, f: (t: number, s: number) => number): NoGradCase {
  const start = nd([3, 4], Array.from({ length: 12 }, (_, i) => 0.25 * (i + 1)));
  return {
    noGrad: 'in-place update (optimizer steps): never recorded; refused on tensors that require grad unless grad mode is off',
    inputs: [input('inplace-source', [4], 0.5, 2)],
    run: (source) => {
      const target = tensor(Array.from(start.data), { shape: start.shape });
      expect(() => update(target, source), 'refused while grad mode is on').toThrow(AutogradError);
      noGrad(() => update(target, source));
      return target;
    },
    ref: (s) => zip(start, s, f),
  };
}

/** An optimizer update: the parameter stays a leaf, its state tensors require no grad. */
function optimizerStep(make: (p: Tensor) => Optimizer<object>, state: string, f: (grad: number) => number): NoGradCase {
  return {
    noGrad: 'optimizer update: writes the parameter and its state in place and records no graph',
    inputs: [input('optim', [2, 3])],
    run: (p) => {
      p.square().sum().backward(); // grad = 2p
      const opt = make(p);
      try {
        opt.step();
        expect(p.isLeaf && p.gradFn === null, 'the parameter stays a leaf').toBe(true);
        return opt.state.get(p)!.tensors[state]!.mul(1);
      } finally {
        opt.dispose();
      }
    },
    // The state after the first step, as a function of the gradient 2p.
    ref: (p) => map(p, (v) => f(2 * v)),
  };
}

/** A creation op: a new leaf made from constants, with nothing to differentiate. */
const creation = (run: () => Tensor, ref?: () => Nd): NoGradCase => ({
  noGrad: 'creation: a new tensor from constants or a random generator; there is no input to differentiate',
  run,
  ...(ref ? { ref } : {}),
});

/**
 * A random creation op checked for what it promises: float32 of the asked shape, the same
 * values after the same `manualSeed` (and others after another seed), and sample moments
 * within about 3 standard errors of the distribution's (n = 1000).
 */
function seeded(make: (shape: number[]) => Tensor, check: (values: number[]) => void): NoGradCase {
  return creation(() => {
    const draw = (seed: number) => {
      manualSeed(seed);
      const t = make([10, 100]);
      const values = Array.from(t.data());
      return { t, values };
    };
    const first = draw(1234);
    const again = draw(1234);
    const other = draw(99);
    again.t.dispose();
    other.t.dispose();
    expect([first.t.dtype, first.t.shape]).toEqual(['float32', [10, 100]]);
    expect(again.values, 'the same sequence after the same seed').toEqual(first.values);
    expect(other.values, 'another sequence after another seed').not.toEqual(first.values);
    check(first.values);
    return first.t;
  });
}
const moments = (v: number[]) => {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  return { mean, variance: v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1) };
};

/** Indices along dim 1 of a [3, 4] tensor: one row repeats an index, for scatterAdd. */
const GATHER: Index = { shape: [3, 2], values: [3, 0, 1, 1, 2, 0] };
/** Distinct indices per row (scatter with repeats keeps only the last write). */
const SCATTER: Index = { shape: [3, 2], values: [3, 0, 1, 2, 2, 0] };

const KERNEL_BACKWARD = 'its backward is a kernel (window scans), not recorded ops';

const CONV_TOL: GradcheckOptions = { forwardAtol: 1e-4, forwardRtol: 1e-4 };

// ---- the table -------------------------------------------------------------------------------

export const OP_CASES: Record<string, OpCase> = {
  // ---- unary
  'unary/neg': unary('neg', (x) => x.neg(), (v) => -v),
  'unary/exp': unary('exp', (x) => x.exp(), Math.exp),
  'unary/log': unary('log', (x) => x.log(), Math.log, 0.5, 3),
  'unary/sqrt': unary('sqrt', (x) => x.sqrt(), Math.sqrt, 0.5, 3),
  'unary/abs': unary('abs', (x) => x.abs(), Math.abs, -2, 2, [0]),
  'unary/relu': unary('relu', (x) => x.relu(), (v) => Math.max(v, 0), -2, 2, [0]),
  'unary/sigmoid': unary('sigmoid', (x) => x.sigmoid(), sigmoid, -4, 4),
  'unary/tanh': unary('tanh', (x) => x.tanh(), Math.tanh, -3, 3),
  'unary/sign': {
    noGrad: 'sign is piecewise constant: wasmgrad records no gradient (PyTorch\'s is zero everywhere)',
    inputs: [away(input('sign', [3, 4]), [0])],
    run: (x) => x.sign(),
    ref: (x) => map(x, Math.sign),
  },
  'unary/step': helper('relu', { inputs: [away(input('step', [3, 4]), [0])], run: (x) => rawUnary('step', x), ref: (x) => map(x, (v) => (v > 0 ? 1 : 0)) }),
  'unary/gelu': unary('gelu', (x) => x.gelu(), geluRef, -3, 3),
  'unary/geluTanh': unary('geluTanh', (x) => x.gelu({ approximate: 'tanh' }), geluTanhRef, -3, 3),
  // Helpers of gelu's backward (its first derivatives), with gradients of their own.
  'unary/gelu_grad': {
    grad: {
      fn: (x) => rawUnary('gelu_grad', x),
      ref: (x) => map(x, (v) => 0.5 * (1 + erf(v / Math.SQRT2)) + (v * Math.exp(-v * v / 2)) / Math.sqrt(2 * Math.PI)),
      inputs: [input('gelu_grad', [3, 4], -3, 3)],
    },
  },
  'unary/gelu_tanh_grad': {
    grad: {
      fn: (x) => rawUnary('gelu_tanh_grad', x),
      ref: (x) =>
        map(x, (v) => {
          const t = Math.tanh(SQRT_2_OVER_PI * (v + 0.044715 * v ** 3));
          return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * v * v);
        }),
      inputs: [input('gelu_tanh_grad', [3, 4], -3, 3)],
    },
  },
  'unary/log1p': unary('log1p', (x) => x.log1p(), Math.log1p, -0.5, 3),
  'unary/expm1': unary('expm1', (x) => x.expm1(), Math.expm1),
  'unary/rsqrt': unary('rsqrt', (x) => x.rsqrt(), (v) => 1 / Math.sqrt(v), 0.5, 3),
  'unary/reciprocal': unary('reciprocal', (x) => x.reciprocal(), (v) => 1 / v, 0.5, 2),
  'unary/square': unary('square', (x) => x.square(), (v) => v * v),
  'unary/sin': unary('sin', (x) => x.sin(), Math.sin, -3, 3),
  'unary/cos': unary('cos', (x) => x.cos(), Math.cos, -3, 3),
  'unary/tan': unary('tan', (x) => x.tan(), Math.tan, -1.2, 1.2),
  'unary/silu': unary('silu', (x) => x.silu(), (v) => v * sigmoid(v), -4, 4),
  'unary/softplus': unary('softplus', (x) => x.softplus(), (v) => Math.log1p(Math.exp(v)), -4, 4),
  // Piecewise constant: the gradient is 0 away from the steps (which the inputs avoid).
  'unary/floor': unary('floor', (x) => x.floor(), Math.floor, -3, 3, [-2, -1, 0, 1, 2, 3]),
  'unary/ceil': unary('ceil', (x) => x.ceil(), Math.ceil, -3, 3, [-2, -1, 0, 1, 2, 3]),
  'unary/round': unary('round', (x) => x.round(), Math.round, -3, 3, [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5]),
  'unary/clone': unary('clone', (x) => x.clone(), (v) => v),
  // Parameterised (one core op with both bounds); the gradient is 0 outside [min, max].
  'elementwise/clamp': unary('clamp', (x) => x.clamp(-0.5, 1), (v) => Math.min(Math.max(v, -0.5), 1), -2, 2, [-0.5, 1]),
  'elementwise/hardtanh': {
    grad: {
      ...unary('hardtanh', (x) => x.hardtanh(), (v) => Math.min(Math.max(v, -1), 1), -2, 2, [-1, 1]).grad,
      // torch.nn.functional.hardtanh: 0 gradient at the bounds, and no second derivative.
      golden: {
        inputs: [nd([8], [-2, -1, -0.5, 0, 0.25, 1, 1.5, 0.99])],
        weights: [1, -2, 0.5, 1.5, -1, 0.25, 2, -0.5],
        output: [-1, -1, -0.5, 0, 0.25, 1, 1, 0.99000001],
        grads: [[0, 0, 0.5, 1.5, -1, 0, 0, -0.5]],
        gradgrads: [[0, 0, 0, 0, 0, 0, 0, 0]],
      },
    },
  },
  'unary/logicalNot': {
    noGrad: 'logical op: bool result',
    inputs: [nd([2, 3], [0, 1.5, -2, 0, 0.25, 3])],
    run: (x) => x.logicalNot(),
    ref: (x) => map(x, (v) => Number(v === 0)),
  },

  // ---- binary (broadcasting; the transposed variant makes the [3, 4] operand non-contiguous)
  'binary/add': binary('add', (a, b) => a.add(b), (x, y) => x + y, [4]),
  'binary/sub': binary('sub', (a, b) => a.sub(b), (x, y) => x - y, [3, 1]),
  'binary/mul': binary('mul', (a, b) => a.mul(b), (x, y) => x * y, [3, 4]),
  'binary/div': binary('div', (a, b) => a.div(b), (x, y) => x / y, [4], 0.5, 2),
  'binary/pow': binary('pow', (a, b) => a.pow(b), (x, y) => x ** y, [3, 4], -2, 2, 0.25),
  'binary/pow_grad_base': helper('pow', {
    inputs: [input('pow_grad_base', [3, 4], 0.25, 2), nd([3, 4], [0, 1, 2, -1, 0.5, 3, 0, -2, 1.5, 2.5, -0.5, 0])],
    run: (a, b) => rawBinary('pow_grad_base', a, b),
    ref: (a, b) => zip(a, b, (x, y) => (y === 0 ? 0 : y * x ** (y - 1))),
  }),
  'binary/pow_grad_exponent': helper('pow', {
    inputs: [nd([2, 3], [0, 0, 0.5, 1.5, 2, 3]), nd([2, 3], [0, 2, -1, 0.5, 1, 2])],
    run: (a, b) => rawBinary('pow_grad_exponent', a, b),
    ref: (a, b) => zip(a, b, (x, y) => (x === 0 && y >= 0 ? 0 : x ** y * Math.log(x))),
  }),
  'binary/maximum': binary('maximum', (a, b) => a.maximum(b), Math.max, [4]),
  'binary/minimum': binary('minimum', (a, b) => a.minimum(b), Math.min, [3, 1]),
  'binary/max_grad_mask': helper('maximum and minimum', {
    inputs: [nd([5], [1, 2, 3, -1, 0]), nd([5], [1, 3, 2, -1, 0.5])],
    run: (a, b) => rawBinary('max_grad_mask', a, b),
    ref: (a, b) => zip(a, b, (x, y) => (x > y ? 1 : x === y ? 0.5 : 0)),
  }),
  'binary/eq': comparison('eq', (a, b) => a.eq(b), (x, y) => x === y),
  'binary/ne': comparison('ne', (a, b) => a.ne(b), (x, y) => x !== y),
  'binary/lt': comparison('lt', (a, b) => a.lt(b), (x, y) => x < y),
  'binary/le': comparison('le', (a, b) => a.le(b), (x, y) => x <= y),
  'binary/gt': comparison('gt', (a, b) => a.gt(b), (x, y) => x > y),
  'binary/ge': comparison('ge', (a, b) => a.ge(b), (x, y) => x >= y),
  'binary/logicalAnd': logical('logicalAnd', (a, b) => a.logicalAnd(b), (x, y) => x && y),
  'binary/logicalOr': logical('logicalOr', (a, b) => a.logicalOr(b), (x, y) => x || y),
  'binary/logicalXor': logical('logicalXor', (a, b) => a.logicalXor(b), (x, y) => x !== y),
  'binary/eq_mask': helper('amax and amin', {
    inputs: [nd([4], [1, 2, 3, 4]), nd([4], [1, 0, 3, 5])],
    run: (a, b) => rawBinary('eq_mask', a, b),
    ref: (a, b) => zip(a, b, (x, y) => (x === y ? 1 : 0)),
  }),
  'binary/relu_grad': helper('relu', {
    inputs: [nd([6], [1.5, -2, 3, Infinity, -0.5, 4]), nd([6], [1, 0, -0, 0, 2, -3])],
    run: (g, y) => rawBinary('relu_grad', g, y),
    ref: (g, y) => zip(g, y, (x, v) => x * (v > 0 ? 1 : 0)),
  }),
  'linalg/matmul': {
    grad: { fn: (a, b) => a.matmul(b), ref: matmul, inputs: [input('matmul', [2, 3, 4]), input('matmul', [4, 5], -2, 2, 1)] },
  },

  // ---- reductions
  'reduce/sum': { grad: { fn: (x) => x.sum([0, 2], true), ref: (x) => sum(x, [0, 2], true), inputs: [input('sum', [2, 3, 4])] } },
  'reduce/prod': { grad: { fn: (x) => x.prod(1), ref: (x) => refProd(x, 1), inputs: [away(input('prod', [3, 4]), [0])] } },
  'reduce/any': { noGrad: 'bool result', inputs: [LOGICAL_A], run: (x) => x.any(1), ref: (x) => anyAlong(x, (r) => r.some((v) => v !== 0)) },
  'reduce/all': { noGrad: 'bool result', inputs: [LOGICAL_A], run: (x) => x.all(1), ref: (x) => anyAlong(x, (r) => r.every((v) => v !== 0)) },
  'reduce/mean': { grad: { fn: (x) => x.mean(1), ref: (x) => mean(x, [1]), inputs: [input('mean', [3, 4])] } },
  'reduce/amax': {
    grad: { fn: (x) => x.amax(1), ref: (x) => fold(x, [1], false, (v) => Math.max(...v)), inputs: [input('amax', [3, 4])] },
  },
  'reduce/amin': {
    grad: { fn: (x) => x.amin(), ref: (x) => fold(x, undefined, false, (v) => Math.min(...v)), inputs: [input('amin', [2, 3])] },
  },
  'reduce/var': {
    grad: { fn: (x) => x.var([0, 2], true, true), ref: (x) => fold(x, [0, 2], true, varianceOf(1)), inputs: [input('var', [2, 3, 4])] },
  },
  'reduce/std': {
    grad: { fn: (x) => x.std(1, false), ref: (x) => map(fold(x, [1], false, varianceOf(0)), Math.sqrt), inputs: [input('std', [3, 4])] },
  },
  'reduce/logsumexp': {
    grad: { fn: (x) => x.logsumexp(1), ref: (x) => fold(x, [1], false, logSumExp), inputs: [input('logsumexp', [3, 4], -4, 4)] },
  },
  'reduce/argmax': {
    noGrad: 'argmax: int32 indices, which have no gradient',
    inputs: [input('argmax', [3, 4])],
    run: (x) => x.argmax(1),
    ref: (x) => fold(x, [1], false, (v) => v.indexOf(Math.max(...v))),
  },
  'reduce/argmin': {
    noGrad: 'argmin: int32 indices, which have no gradient',
    inputs: [input('argmin', [3, 4])],
    run: (x) => x.argmin(0, true),
    ref: (x) => fold(x, [0], true, (v) => v.indexOf(Math.min(...v))),
  },

  // ---- movement
  'movement/reshape': { grad: { fn: (x) => x.reshape(4, 6), ref: (x) => reshape(x, [4, 6]), inputs: [input('reshape', [2, 3, 4])] } },
  'movement/permute': { grad: { fn: (x) => x.permute(2, 0, 1), ref: (x) => permute(x, [2, 0, 1]), inputs: [input('permute', [2, 3, 4])] } },
  'movement/expand': { grad: { fn: (x) => x.expand(2, 3, 4), ref: (x) => expand(x, [2, 3, 4]), inputs: [input('expand', [3, 1])] } },
  'scan/flip': { grad: { fn: (x) => x.flip(0, 2), ref: (x) => refFlip(x, [0, 2]), inputs: [input('flip', [2, 3, 4])] } },
  'movement/tril': { grad: { fn: (x) => x.tril(-1), ref: (x) => refTriangle(x, -1, true), inputs: [input('tril', [2, 3, 4])] } },
  'movement/triu': { grad: { fn: (x) => x.triu(1), ref: (x) => refTriangle(x, 1, false), inputs: [input('triu', [3, 4])] } },
  'movement/cat': {
    grad: {
      fn: (a, b) => cat([a, b], 1),
      ref: (a, b) => {
        const [rows, ca, cb] = [a.shape[0]!, a.shape[1]!, b.shape[1]!];
        const data: number[] = [];
        for (let i = 0; i < rows; i++) data.push(...a.data.slice(i * ca, (i + 1) * ca), ...b.data.slice(i * cb, (i + 1) * cb));
        return nd([rows, ca + cb], data);
      },
      inputs: [input('cat', [2, 3]), input('cat', [2, 2], -2, 2, 1)],
    },
  },
  'movement/slice': { grad: { fn: (x) => x.slice(1, 1, 6, 2), ref: (x) => refSlice(x, 1, 1, 6, 2), inputs: [input('slice', [3, 7])] } },

  // ---- creation
  'creation/full': creation(() => full([2, 3], 1.5), () => nd([2, 3], new Array<number>(6).fill(1.5))),
  'creation/arange': creation(() => arange(1, 4, 0.5), () => nd([6], [1, 1.5, 2, 2.5, 3, 3.5])),
  'creation/linspace': creation(() => linspace(-1, 1, 5), () => nd([5], [-1, -0.5, 0, 0.5, 1])),
  'creation/eye': creation(() => eye(2, 3), () => nd([2, 3], [1, 0, 0, 0, 1, 0])),
  'creation/to': {
    noGrad: 'to(int32) and to(bool) are not differentiable (to(float32) of a float tensor is the tensor itself)',
    run: (x) => x.to('int32'),
    inputs: [input('to', [2, 3], -5, 5)],
    ref: (x) => map(x, Math.trunc),
  },
  'creation/rand': seeded((s) => rand(s), (v) => {
    expect(v.every((x) => x >= 0 && x < 1), 'uniform values lie in [0, 1)').toBe(true);
    const { mean, variance } = moments(v);
    expect(Math.abs(mean - 0.5), `mean ${mean}`).toBeLessThan(0.03); // standard error 0.009
    expect(Math.abs(variance - 1 / 12), `variance ${variance}`).toBeLessThan(0.01);
  }),
  'creation/randn': seeded((s) => randn(s), (v) => {
    expect(v.every(Number.isFinite)).toBe(true);
    const { mean, variance } = moments(v);
    expect(Math.abs(mean), `mean ${mean}`).toBeLessThan(0.1); // standard error 0.032
    expect(Math.abs(variance - 1), `variance ${variance}`).toBeLessThan(0.15);
  }),

  // ---- in-place
  'inplace/add_': inplace((t, s) => t.add_(s), (t, s) => t + s),
  'inplace/sub_': inplace((t, s) => t.sub_(s), (t, s) => t - s),
  'inplace/mul_': inplace((t, s) => t.mul_(s), (t, s) => t * s),
  'inplace/div_': inplace((t, s) => t.div_(s), (t, s) => t / s),
  'inplace/copy_': inplace((t, s) => t.copy_(s), (_, s) => s),

  // ---- nn
  'nn/softmax': { grad: { fn: (x) => softmax(x, 1), ref: (x) => refSoftmax(x, 1, false), inputs: [input('softmax', [3, 4])] } },
  'nn/logSoftmax': { grad: { fn: (x) => x.logSoftmax(-1), ref: (x) => refSoftmax(x, -1, true), inputs: [input('logSoftmax', [2, 3, 4])] } },
  'nn/crossEntropy': {
    grad: {
      fn: (x) => crossEntropy(x, ints([1, 2, 0, 4]), { ignoreIndex: 2, labelSmoothing: 0.1 }),
      ref: (x) => refCrossEntropy(x, [1, 2, 0, 4], false, 'mean', 2, 0.1),
      inputs: [input('crossEntropy', [4, 5], -3, 3)],
    },
  },
  'nn/linear': {
    grad: {
      fn: (x, w, b) => linear(x, w, b),
      ref: (x, w, b) => zip(matmul(x, permute(w, [1, 0])), b, (u, v) => u + v),
      inputs: [input('linear', [3, 4]), input('linear', [2, 4], -2, 2, 1), input('linear', [2], -2, 2, 2)],
    },
  },
  'conv/conv2d': {
    grad: {
      fn: (x, w, b) => conv2d(x, w, b, { stride: 2, padding: 1 }),
      ref: (x, w, b) => refConv2d(x, w, b, { stride: [2, 2], pad: [1, 1] }),
      inputs: [input('conv2d', [1, 2, 5, 5]), input('conv2d', [3, 2, 3, 3], -1, 1, 1), input('conv2d', [3], -1, 1, 2)],
      options: CONV_TOL,
    },
  },
  'conv/conv1d': {
    grad: {
      fn: (x, w, b) => conv1d(x, w, b, { padding: 1, groups: 2 }),
      ref: (x, w, b) => refConv1d(x, w, b, 1, 1, 1, 2),
      inputs: [input('conv1d', [2, 2, 6]), input('conv1d', [2, 1, 3], -1, 1, 1), input('conv1d', [2], -1, 1, 2)],
      options: CONV_TOL,
    },
  },
  'conv/convTranspose2d': {
    grad: {
      fn: (x, w, b) => convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1 }),
      ref: (x, w, b) => refConvTranspose2d(x, w, b, { stride: [2, 2], pad: [1, 1], outputPad: [1, 1] }),
      inputs: [input('convTranspose2d', [1, 2, 2, 3]), input('convTranspose2d', [2, 2, 2, 2], -1, 1, 1), input('convTranspose2d', [2], -1, 1, 2)],
      options: CONV_TOL,
      // F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1) in float64
      // (scripts/golden_conv_transpose.py --op-case); the bias's gradient is constant.
      golden: {
        inputs: [
          nd([1, 2, 2, 3], [0.5, -1, 2, 0.25, -0.75, 1.5, 1, 0.5, -2, -0.25, 0.75, 1.25]),
          nd([2, 2, 2, 2], [1, -0.5, 0.25, 2, -1.5, 0.75, 0.5, -0.25, 0.125, 1, -2, 0.5, 1.5, -1, 0.25, -0.75]),
          nd([2], [0.5, -0.25]),
        ],
        weights: [-0.5, -2, 0.5, 1.5, -1, 1, -2, -0.25, 1.5, -1, 1, -2, 0.5, 1.5, 0.5, 1, -2, 0.5, 1.5, -1, 1, 1, 0.5, 1.5, -1, 1, -2, 0.5, -0.75, -1],
        output: [
          2, -0.75, -1.25, 5, 3.5, 0.125, -0.15625, 1.625, 2.15625, 1, 0.875, -1.1875, -0.625, -1.625, 4.125, -1.125, -0.625,
          -0.375, 0.25, 0.75, 0.1875, 2, -1.5625, -0.625, -0.375, -0.125, -0.4375, -0.625, 0.8125, -1.5625,
        ],
        grads: [
          [-1.25, -0.625, -0.625, 2, -3.625, 0.25, -1, 3.375, -2.375, -0.25, 3.875, 0.25],
          [3.75, -1.0625, 8.75, -2.125, 1.5, -1.625, 5.375, -3.625, 0.375, -1.6875, -3.625, 2.5, 2.625, -1.125, -6.4375, 2.125],
          [-0.75, 0.75],
        ],
        gradgrads: [
          [-5.125, -62.25, 53.875, -16.875, -75.34375, 44.4375, 1.75, 44.875, -39.4375, 3.625, 48.34375, 11.65625],
          [15.25, 5.3125, 15.875, 2.5, -6.5, -0.125, 14.75, -2, -14.75, -2.9375, -35.375, 12.75, 8.5, 2.875, -36.5, 9],
          [0, 0],
        ],
      },
    },
  },
  'pool/maxPool2d': {
    grad: { firstOrderOnly: KERNEL_BACKWARD, fn: (x) => maxPool2d(x, 2), ref: (x) => refMaxPool2d(x, [2, 2]).out, inputs: [input('maxPool2d', [1, 2, 4, 4])] },
  },
  'pool/avgPool2d': {
    grad: { firstOrderOnly: KERNEL_BACKWARD,
      fn: (x) => avgPool2d(x, 3, { stride: 2, padding: 1 }),
      ref: (x) => refAvgPool2d(x, [3, 3], { stride: [2, 2], pad: [1, 1] }),
      inputs: [input('avgPool2d', [1, 2, 5, 5])],
    },
  },
  'pool/adaptiveAvgPool2d': {
    grad: { firstOrderOnly: KERNEL_BACKWARD, fn: (x) => adaptiveAvgPool2d(x, [2, 3]), ref: (x) => refAdaptiveAvgPool2d(x, 2, 3), inputs: [input('adaptiveAvgPool2d', [1, 2, 5, 7])] },
  },
  'indexing/where': {
    grad: {
      fn: (a, b) => where(ints([1, 0, 0, 1, 1, 0, 1, 1, 0, 0, 1, 0], [3, 4]), a, b),
      ref: (a, b) => nd([3, 4], Array.from(a.data, (v, i) => ([1, 0, 0, 1, 1, 0, 1, 1, 0, 0, 1, 0][i] ? v : b.data[i]!))),
      inputs: [input('where', [3, 4]), input('where', [3, 4], -2, 2, 1)],
    },
  },
  'indexing/indexSelect': {
    grad: {
      // Repeated indices: their gradients accumulate.
      fn: (x) => x.indexSelect(0, ints([2, 0, 2])),
      ref: (x) => nd([3, 4], [2, 0, 2].flatMap((r) => Array.from(x.data.slice(r * 4, r * 4 + 4)))),
      inputs: [input('indexSelect', [3, 4])],
    },
  },

  'nn/binaryCrossEntropy': {
    grad: {
      fn: (p, t) => binaryCrossEntropy(p, t, { reduction: 'none' }),
      ref: (p, t) => zip(p, t, refBinaryCrossEntropy),
      inputs: [input('binaryCrossEntropy', [3, 4], 0.05, 0.95), input('binaryCrossEntropy', [3, 4], 0, 1, 1)],
    },
  },
  'indexing/gather': {
    grad: { fn: (x) => x.gather(1, ints(GATHER.values, GATHER.shape)), ref: (x) => refGather(x, 1, GATHER), inputs: [input('gather', [3, 4])] },
  },
  'indexing/scatter': {
    grad: {
      fn: (x, src) => x.scatter(1, ints(SCATTER.values, SCATTER.shape), src),
      ref: (x, src) => refScatter(x, 1, SCATTER, src, false),
      inputs: [input('scatter', [3, 4]), input('scatter', [3, 2], -2, 2, 1)],
      contiguousOnly: 'the index addresses the [3, 4] layout',
    },
  },
  'indexing/scatterAdd': {
    grad: {
      // Repeated indices accumulate.
      fn: (x, src) => x.scatterAdd(1, ints(GATHER.values, GATHER.shape), src),
      ref: (x, src) => refScatter(x, 1, GATHER, src, true),
      inputs: [input('scatterAdd', [3, 4]), input('scatterAdd', [3, 2], -2, 2, 1)],
      contiguousOnly: 'the index addresses the [3, 4] layout',
    },
  },
  'scan/cumsum': { grad: { fn: (x) => x.cumsum(1), ref: (x) => refCumsum(x, 1), inputs: [input('cumsum', [3, 4])] } },
  'scan/logcumsumexp': {
    grad: {
      fn: (x) => x.logcumsumexp(1),
      ref: (x) => map(refCumsum(map(x, Math.exp), 1), Math.log),
      inputs: [input('logcumsumexp', [3, 4])],
      // torch.logcumsumexp(x, 1); the mixed-sign weights reach both halves of its backward.
      golden: {
        inputs: [nd([3, 4], [0.5, -1, 2, 0.1, -3, 1.5, 0, -0.7, 1, 1, -2.5, 3])],
        weights: [1, -2, 0.5, 1.5, -1, 0.25, 2, -0.5, 0.75, 1, -1.5, 2],
        output: [0.5, 0.70141327, 2.2413113, 2.352406, -3, 1.5110477, 1.7104547, 1.7964255, 1, 1.6931472, 1.708133, 3.2427559],
        grads: [[
          -0.31221485, -0.2927947, 1.4472904, 0.15771891, -0.98338145, 1.4959493, 0.27862173, -0.041189473, 0.7234866,
          -0.026513398, -0.015899327, 1.568926,
        ]],
        gradgrads: [[
          -0.83648503, -0.1980173, 1.2922406, -0.25773802, -0.076411843, 0.53951097, -0.56097239, 0.097873613,
          -0.43396473, -0.39419469, -0.00091713725, 0.82907772,
        ]],
      },
    },
  },

  // ---- optimizers
  // First step from zero state: momentum buffer = g; Adam's exp_avg = (1 − β1)·g;
  // RMSprop's square_avg = (1 − α)·g²; Adagrad's sum = initialAccumulatorValue + g².
  'optim/sgd': optimizerStep((p) => new SGD([p], { lr: 0.1, momentum: 0.9 }), 'momentumBuffer', (g) => g),
  'optim/adam': optimizerStep((p) => new Adam([p], { lr: 0.01, amsgrad: true }), 'expAvg', (g) => 0.1 * g),
  'optim/rmsprop': optimizerStep((p) => new RMSprop([p], { lr: 0.01, alpha: 0.9, centered: true }), 'squareAvg', (g) => 0.1 * g * g),
  'optim/adagrad': optimizerStep((p) => new Adagrad([p], { lr: 0.1, initialAccumulatorValue: 0.5 }), 'sum', (g) => 0.5 + g * g),
};

/** `x` with its last two dims swapped (the stored layout of a transposed view of `x`). */
export const swapLast = (x: Nd): Nd =>
  x.shape.length < 2 ? x : permute(x, [...x.shape.keys()].map((i, _, all) => (i === all.length - 2 ? i + 1 : i === all.length - 1 ? i - 1 : i)));

export const isGradCase = (c: OpCase): c is GradCase => 'grad' in c;

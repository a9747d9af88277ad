// Every op of the core's catalog (family/name, read from the loaded core) is checked by a
// row of test/op-cases.ts: ops with a gradient against a float64 reference and finite
// differences (also through non-contiguous inputs), ops without one for not recording a
// graph. An op added to the core without a row fails here.
import { describe, expect, it } from 'vitest';
import { lib } from '../ts/ffi.js';
import { AutogradError, grad, tensor, tidy, type Tensor } from '../ts/node.js';
import { expectClose, gradcheck, gradgradcheck } from './helpers/gradcheck.js';
import { nd } from './helpers/reference.js';
import { isGradCase, OP_CASES, swapLast, type Golden, type GradSpec, type NoGradCase } from './op-cases.js';

const CATALOG = Object.entries(lib().ops).flatMap(([family, names]) => Object.keys(names).map((name) => `${family}/${name}`));
const covered = CATALOG.filter((key) => key in OP_CASES);

/** The same check through transposed views: the tensors hold `swapLast(x)` and `fn` sees `x`. */
function transposed(spec: GradSpec): Parameters<typeof gradcheck> {
  const swap = spec.inputs.map((x) => x.shape.length >= 2);
  return [
    (...ts: Tensor[]) => spec.fn(...ts.map((t, i) => (swap[i] ? t.transpose(-2, -1) : t))),
    (...xs) => spec.ref(...xs.map((x, i) => (swap[i] ? swapLast(x) : x))),
    spec.inputs.map((x, i) => (swap[i] ? swapLast(x) : x)),
    spec.options,
  ];
}

/** `fn` at the golden inputs against PyTorch's output and first and second gradients. */
function checkGolden(fn: GradSpec['fn'], g: Golden): void {
  tidy(() => {
    const xs = g.inputs.map((x) => tensor(Array.from(x.data), { shape: x.shape, requiresGrad: true }));
    const out = fn(...xs);
    expectClose(out.data(), g.output, 1e-6, 1e-5, 'output vs PyTorch');
    const weighted = g.weights === undefined ? out.sum() : out.mul(tensor(g.weights, { shape: out.shape })).sum();
    const firsts = grad(weighted, xs, { createGraph: true });
    firsts.forEach((d, i) => expectClose(d!.data(), g.grads[i]!, 1e-6, 1e-5, `gradient ${i} vs PyTorch`));
    if (g.gradgrads) {
      const total = firsts.map((d) => d!.square().sum()).reduce((a, b) => a.add(b));
      // A first gradient that does not depend on the inputs (a constant mask times the
      // weights) has second gradients of 0, which is what PyTorch reports.
      const seconds = total.requiresGrad ? grad(total, xs, { allowUnused: true }) : xs.map(() => null);
      seconds.forEach((d, i) => expectClose(d === null ? new Array<number>(xs[i]!.size).fill(0) : d.data(), g.gradgrads![i]!, 1e-6, 1e-5, `second gradient ${i} vs PyTorch`));
    }
  });
}

function checkNoGrad(c: NoGradCase): void {
  const inputs = c.inputs ?? [];
  const got = tidy(() => {
    const ts = inputs.map((x) => tensor(Array.from(x.data), { shape: x.shape, requiresGrad: true }));
    const result = c.run(...ts);
    const outs = Array.isArray(result) ? result : [result];
    return outs.map((o) => ({ requiresGrad: o.requiresGrad, gradFn: o.gradFn, shape: [...o.shape], data: Array.from(o.data()) }));
  });
  got.forEach((o, k) => {
    expect(o.requiresGrad, `output ${k} requires grad`).toBe(false);
    expect(o.gradFn, `output ${k} grad_fn`).toBeNull();
  });
  if (c.ref) {
    const want = c.ref(...inputs.map((x) => nd(x.shape, x.data)));
    expect(got[0]!.shape, 'output shape').toEqual(want.shape);
    expectClose(got[0]!.data, want.data, 1e-6, 1e-5, 'output');
  }
}

describe('op table (test/op-cases.ts) against the core catalog', () => {
  it('the catalog lists ops of every family', () => {
    expect(Object.keys(lib().ops).sort()).toEqual(
      ['binary', 'conv', 'creation', 'elementwise', 'indexing', 'inplace', 'linalg', 'movement', 'nn', 'optim', 'pool', 'reduce', 'scan', 'unary'],
    );
  });

  it('every catalog op has a case', () => {
    const missing = CATALOG.filter((key) => !(key in OP_CASES));
    expect(
      missing,
      'these ops of the core have no case: add a row to test/op-cases.ts for each ({ grad: … }, or { noGrad: "<why>", run })',
    ).toEqual([]);
  });

  it('every case names an op of the catalog', () => {
    const stale = Object.keys(OP_CASES).filter((key) => !CATALOG.includes(key));
    expect(stale, 'these rows of test/op-cases.ts name no op of the core: rename or remove them').toEqual([]);
  });

  for (const key of covered) {
    const c = OP_CASES[key]!;
    if (isGradCase(c)) {
      const spec = c.grad;
      it(`${key}: forward and gradient`, () => gradcheck(spec.fn, spec.ref, spec.inputs, spec.options));
      const [family, name] = key.split('/') as [string, string];
      if (family !== 'unary' && family !== 'binary') {
        it(`${key}: records the backward node its declaration names`, () => {
          const gradFn = tidy(() => spec.fn(...spec.inputs.map((x) => tensor(Array.from(x.data), { shape: x.shape, requiresGrad: true }))).gradFn);
          expect(gradFn).toBe(lib().decl(name).gradFn);
        });
      }
      if (spec.contiguousOnly === undefined && spec.inputs.some((x) => x.shape.length >= 2)) {
        it(`${key}: forward and gradient through transposed (non-contiguous) inputs`, () => gradcheck(...transposed(spec)));
      }
      if (spec.golden !== undefined) {
        const golden = spec.golden;
        it(`${key}: matches PyTorch's values and gradients`, () => checkGolden(spec.fn, golden));
      }
      if (spec.firstOrderOnly === undefined) {
        it(`${key}: second derivative (createGraph)`, () => gradgradcheck(spec.fn, spec.ref, spec.inputs));
      } else {
        it(`${key}: double backward fails clearly (${spec.firstOrderOnly})`, () => {
          expect(() => gradgradcheck(spec.fn, spec.ref, spec.inputs)).toThrow(AutogradError);
        });
      }
    } else {
      it(`${key}: no gradient (${c.noGrad})`, () => checkNoGrad(c));
    }
  }
});

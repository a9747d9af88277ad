// Fuzz programs: a fast-check arbitrary of raw choices, turned into a concrete straight-line
// program (plain JSON) by `concretize`, which runs the float64 reference as it goes so it
// only picks ops whose operands suit them (domains, sizes). Values are numbered: inputs
// first, then one per step.
import fc from 'fast-check';
import { randomNd, rng } from '../helpers/reference.js';
import { carriesGrad, OPS, OP_BY_NAME, finite, maxAbs, type Chooser, type OpDef, type Params } from './ops.js';
import { MAX_NUMEL, numel, RefError, type Val, val } from './values.js';

export interface Step {
  /** An op of test/fuzz/ops.ts, or 'const' (a new tensor: params.shape, data, requiresGrad). */
  op: string;
  args: number[];
  params?: Params;
  /** Run inside noGrad(). */
  noGrad?: boolean;
  /** Values disposed right after this step. */
  dispose?: number[];
}

export interface Final {
  /**
   * 'backward': T.backward(u) then read leaves' .grad; 'grad': grad(T, wrt); 'hvp': also
   * second derivatives, g = grad(T, wrt, { createGraph }) then grad(Σ g·direction, wrt);
   * 'none'.
   */
  mode: 'backward' | 'grad' | 'hvp' | 'none';
  /** 'hvp': a direction per wrt value. */
  direction?: number[][];
  target: number;
  /** The gradient of T (null: implicit, for single-element T). */
  upstream: number[] | null;
  /** 'grad': the inputs of grad(); 'backward': intermediates that retainGrad() first. */
  wrt: number[];
  /** Run the pass twice (the first with retainGraph): .grad accumulates, grad() repeats. */
  twice: boolean;
}

export interface Program {
  inputs: { shape: number[]; data: number[]; requiresGrad: boolean }[];
  steps: Step[];
  final: Final;
}

// ---- raw choices (what fast-check generates and shrinks) -------------------------------------

const choice = fc.nat(999);
export interface RawStep {
  op: number;
  a: number;
  b: number;
  c: number;
  p: number[];
  noGrad: boolean;
  dispose: number | null;
}
export interface RawProgram {
  base: number[];
  inputs: { variant: number; requiresGrad: boolean; seed: number }[];
  steps: RawStep[];
  final: { mode: number; target: number; twice: boolean; pick: number; seed: number };
}

const dimArb = fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.constant(1) }, { weight: 10, arbitrary: fc.integer({ min: 2, max: 5 }) });
const weighted = (pTrue: number) => fc.nat(99).map((v) => v < pTrue * 100);

export const rawProgramArb: fc.Arbitrary<RawProgram> = fc.record({
  base: fc.array(dimArb, { minLength: 0, maxLength: 4, size: 'max' }),
  inputs: fc.array(fc.record({ variant: choice, requiresGrad: weighted(0.8), seed: fc.nat() }), { minLength: 1, maxLength: 3 }),
  steps: fc.array(
    fc.record({
      op: choice,
      a: choice,
      b: choice,
      c: choice,
      p: fc.array(choice, { minLength: 8, maxLength: 8 }),
      noGrad: weighted(0.1),
      dispose: fc.option(choice, { freq: 3 }),
    }),
    { minLength: 1, maxLength: 7 },
  ),
  final: fc.record({ mode: fc.nat(9), target: choice, twice: weighted(0.2), pick: choice, seed: fc.nat() }),
});

function chooser(p: number[]): Chooser {
  let k = 0;
  const next = () => {
    // Cycles through the choices, mixing in the round so a repeat differs.
    const v = p[k % p.length]! + Math.floor(k / p.length) * 7;
    k++;
    return v;
  };
  const g: Chooser = {
    int: (n) => (n <= 1 ? 0 : next() % n),
    bool: (pTrue = 0.5) => next() % 100 < pTrue * 100,
    pick: (xs) => xs[g.int(xs.length)]!,
  };
  return g;
}

/** Float32 values in [lo, hi). */
function constData(shape: number[], seed: number, lo = -2, hi = 2): number[] {
  return Array.from(randomNd(shape, seed, lo, hi).data);
}

/** Applies `op` on reference values; a RefError means the program must fail there. */
export function applyRef(op: OpDef, xs: Val[], params: Params): Val {
  return op.ref(xs, params);
}

/** Turns raw choices into a concrete program. */
export function concretize(raw: RawProgram): Program {
  const values: Val[] = [];
  const rg: boolean[] = [];
  const leaf: boolean[] = [];
  const disposed = new Set<number>();
  const argsOf: number[][] = [];
  const prog: Program = { inputs: [], steps: [], final: { mode: 'none', target: 0, upstream: null, wrt: [], twice: false } };

  // At most 96 elements per input: leading dims go first.
  const base = [...raw.base];
  while (numel(base) > 96) base.shift();
  for (const inp of raw.inputs) {
    const g = chooser([inp.variant, inp.variant >> 3, inp.variant >> 6]);
    // A shape that broadcasts with the base: leading dims dropped, some dims set to 1.
    const drop = g.int(4) === 0 ? g.int(base.length + 1) : 0;
    const shape = base.slice(drop).map((d) => (g.bool(0.25) ? 1 : d));
    // Distinct seeds per input, even when shrinking makes them equal: equal values in two
    // leaves make ties (maximum, minimum) where the split gradient is a valid subgradient
    // that finite differences along one leaf do not reproduce.
    const data = constData(shape, inp.seed * 7 + prog.inputs.length * 1000003);
    prog.inputs.push({ shape, data, requiresGrad: inp.requiresGrad });
    values.push(val(shape, data));
    rg.push(inp.requiresGrad);
    leaf.push(true);
  }

  let failed = false;
  for (const rs of raw.steps) {
    if (failed) break;
    const live = values.map((_, i) => i).filter((i) => !disposed.has(i));
    if (live.length === 0) break;
    const g = chooser(rs.p);
    // Rarely, an operand that was disposed (DisposedError expected).
    const useDisposed = disposed.size > 0 && rs.c % 40 === 0;
    // Mostly the newest value (deep programs), else any live one.
    const recent = rs.a % 10 < 6 ? live[live.length - 1 - (rs.a % Math.min(live.length, 2))]! : live[rs.a % live.length]!;
    const a = useDisposed ? [...disposed][rs.a % disposed.size]! : recent;
    const allowBad = rs.c % 8 === 1;

    let emitted: { steps: Step[]; out: Val; rgOut: boolean; bad: boolean } | null = null;
    for (let k = 0; k < OPS.length && emitted === null; k++) {
      const op = OPS[(rs.op + k) % OPS.length]!;
      const params = op.params ? op.params(g, values[a]!) : {};
      if (params === null) continue;
      const pre: Step[] = [];
      const args = [a];
      const xs = [values[a]!];
      const argRg = [rg[a]!];
      for (let j = 1; j < op.arity; j++) {
        // An existing value (which may not fit: a ShapeError), or a fresh constant that does.
        if (op.partner === undefined || rs.b % 10 < 3) {
          const id = live[(rs.b + 17 * j) % live.length]!;
          args.push(id);
          xs.push(values[id]!);
          argRg.push(rg[id]!);
        } else {
          const shape = op.partner(g, values[a]!, params, j);
          const [lo, hi] = op.constRange ?? [-2, 2];
          const requiresGrad = rs.c % 3 === 0;
          const data = constData(shape, rs.c * 31 + j + 7 * values.length + 99991, lo, hi);
          pre.push({ op: 'const', args: [], params: { shape, data, requiresGrad } });
          args.push(values.length + pre.length - 1);
          xs.push(val(shape, data));
          argRg.push(requiresGrad);
        }
      }
      if (op.admissible && !op.admissible(xs, params)) continue;
      let out: Val;
      let bad = false;
      try {
        if (useDisposed) throw new RefError('DisposedError', 'operand disposed');
        out = applyRef(op, xs, params);
        if (numel(out.shape) > MAX_NUMEL || !finite(out) || maxAbs(out) > 1e4) continue;
      } catch (err) {
        if (!(err instanceof RefError)) throw err;
        if (!allowBad && !useDisposed) continue;
        bad = true;
        out = val([], [0]);
      }
      const rgOut = !rs.noGrad && argRg.some((r, k) => r && carriesGrad(op, k)) && out.dtype === 'float32';
      if (op.name === 'hookScale' && !rgOut && !bad) {
        if (!allowBad) continue;
        bad = true; // registerHook on a tensor that does not require grad: AutogradError
      }
      const step: Step = { op: op.name, args, params };
      if (rs.noGrad) step.noGrad = true;
      emitted = { steps: [...pre, step], out, rgOut, bad };
    }
    if (emitted === null) continue;
    for (const st of emitted.steps) {
      prog.steps.push(st);
      if (st.op === 'const') {
        values.push(val(st.params!.shape, st.params!.data));
        rg.push(st.params!.requiresGrad);
        leaf.push(true);
      }
    }
    argsOf[values.length] = emitted.steps.at(-1)!.args;
    values.push(emitted.out);
    rg.push(emitted.rgOut);
    leaf.push(false);
    if (emitted.bad) {
      failed = true;
      break;
    }
    if (rs.dispose !== null) {
      const stillLive = values.map((_, i) => i).filter((i) => !disposed.has(i));
      const d = stillLive[rs.dispose % stillLive.length]!;
      // Leaves are disposed less often (their gradients are then not read).
      if (!leaf[d] || rs.dispose % 4 === 0) {
        disposed.add(d);
        prog.steps.at(-1)!.dispose = [d];
      }
    }
  }

  // The final pass.
  const f = raw.final;
  if (failed || f.mode === 0) return prog;
  const r = rng(f.seed);
  const ids = values.map((_, i) => i);
  const good = ids.filter((i) => rg[i] && !disposed.has(i) && values[i]!.dtype === 'float32');
  // Usually the last good value; sometimes any (a disposed or constant target must throw).
  const results = good.filter((i) => !leaf[i]);
  const pool = results.length > 0 ? results : good;
  const target = f.target % 10 === 0 || pool.length === 0 ? ids[f.target % ids.length]! : pool[pool.length - 1 - (f.target % Math.min(pool.length, 2))]!;
  const tv = values[target]!;
  const upstream = numel(tv.shape) === 1 && f.pick % 3 === 0 ? null : Array.from(tv.shape.length ? randomNd(tv.shape, f.seed).data : [Math.fround(r() * 2 - 1)]);
  const hasHook = prog.steps.some((st) => st.op === 'hookScale');
  // Hooks are left out of second derivatives: the finite-difference model of a hook (its
  // value's perturbation scaled) holds for first derivatives only.
  let mode: Final['mode'] = f.mode <= 5 ? 'backward' : f.mode <= 7 || hasHook ? 'grad' : 'hvp';
  // Mostly values the target depends on (else grad() must give null for them).
  const related = new Set([target]);
  for (let i = values.length - 1; i >= 0; i--) if (related.has(i)) for (const a of argsOf[i] ?? []) related.add(a);
  // Not hooked values: whether grad()/retainGrad see a value's gradient before or after its
  // own hooks is not checked here.
  const hooked = (i: number) => prog.steps[i - prog.inputs.length]?.op === 'hookScale';
  const candidates = ids.filter((i) => rg[i] && !disposed.has(i) && i !== target && !hooked(i) && (mode !== 'backward' || !leaf[i]) && (related.has(i) || f.pick % 5 === 0));
  const wrt = candidates.filter((_, k) => ((f.pick >> k) & 1) === 1 || (mode !== 'backward' && k === 0));
  const twice = f.twice;
  // Second derivatives with respect to leaves only: for an intermediate and its ancestor
  // together, ∂/∂(node) of Σ g·v mixes partial and total derivatives.
  const leafWrt = wrt.filter((i) => leaf[i]);
  const relatedLeaves = ids.filter((i) => leaf[i] && rg[i] && !disposed.has(i) && related.has(i));
  if (mode === 'hvp' && leafWrt.length === 0 && relatedLeaves.length === 0) mode = 'grad';
  const finalWrt =
    mode === 'hvp' ? (leafWrt.length > 0 ? leafWrt : relatedLeaves) : mode === 'grad' && wrt.length === 0 && !hooked(target) ? [target] : wrt;
  prog.final = { mode, target, upstream, wrt: finalWrt, twice: mode === 'hvp' ? false : twice };
  if (mode === 'hvp') prog.final.direction = finalWrt.map((id, k) => constData(values[id]!.shape, f.seed + 17 * k + 5, -1, 1));
  return prog;
}

export const opOf = (name: string): OpDef => {
  const op = OP_BY_NAME.get(name);
  if (!op) throw new Error(`fuzz: unknown op ${name}`);
  return op;
};

// Runs a fuzz program in wasmgrad and checks it against the float64 reference:
//  - every step's output (shape, dtype, requiresGrad, values) against the op's reference
//    applied to the values wasmgrad produced for its operands (so float32 error does not
//    compound from step to step);
//  - a step the reference rejects must throw the same typed wasmgrad error, and no step may
//    throw anything else (PoisonedError, a TypeError…);
//  - gradients (backward() into .grad, retainGrad, or grad()) against central finite
//    differences of the reference around wasmgrad's own forward values;
//  - memory(): live tensors and bytes back to where they started.
import {
  grad, memory, noGrad, PoisonedError, tensor, TensorError, tidy, type Tensor,
} from '../../ts/node.js';
import { carriesGrad } from './ops.js';
import { opOf, type Program } from './program.js';
import { numel, RefError, type ErrorKind, type Val, val } from './values.js';

export interface CheckStats {
  /** Gradient elements compared, and skipped (finite differences unstable: a kink). */
  gradChecked: number;
  gradSkipped: number;
  /** The program ended in an expected typed error. */
  expectedError: ErrorKind | null;
}

export class FuzzFailure extends Error {}
const fail = (m: string): never => {
  throw new FuzzFailure(m);
};

const readVal = (t: Tensor): Val => {
  const dtype = t.dtype;
  if (dtype === 'int32') fail(`unexpected int32 result of shape [${t.shape}]`);
  return val([...t.shape], Array.from(t.data()), dtype as Val['dtype']);
};

/** Ops whose gradient cannot be differentiated again (README: pooling). */
const NO_SECOND_ORDER = new Set(['maxPool2d', 'avgPool2d']);

/** Corrupts one op's reference (FUZZ_BREAK=<op>): to see a failure saved and replayed. */
const BREAK = process.env.FUZZ_BREAK;

const FWD_ATOL = 2e-5;
const FWD_RTOL = 1e-4;
const GRAD_ATOL = 1e-3;
const GRAD_RTOL = 1e-2;

function closeEnough(actual: Val, expected: Val, what: string): void {
  if (actual.shape.join() !== expected.shape.join()) fail(`${what}: shape [${actual.shape}], expected [${expected.shape}]`);
  if (actual.dtype !== expected.dtype) fail(`${what}: dtype ${actual.dtype}, expected ${expected.dtype}`);
  let scale = 1;
  for (const v of expected.data) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < expected.data.length; i++) {
    const a = actual.data[i]!;
    const e = expected.data[i]!;
    const ok = Number.isNaN(e) ? Number.isNaN(a) : Number.isFinite(e) ? Math.abs(a - e) <= FWD_ATOL * scale + FWD_RTOL * Math.abs(e) : a === e;
    if (!ok) fail(`${what}[${i}]: got ${a}, expected ${e}`);
  }
}

export interface Run {
  /** Read back value of every id, as produced (undefined after an error). */
  values: (Val | undefined)[];
  requiresGrad: boolean[];
  /** Step index and error, when a step or the final pass threw. */
  error: { at: number | 'final'; err: unknown } | null;
  /** Gradients read back per id (null: none), for each pass. */
  grads: Map<number, Val | null>[];
}

const isLeaf = (prog: Program, id: number): boolean => {
  if (id < prog.inputs.length) return true;
  return prog.steps[id - prog.inputs.length]!.op === 'const';
};

/** Executes the program in wasmgrad, inside tidy. */
export function runWasm(prog: Program): Run {
  const run: Run = { values: [], requiresGrad: [], error: null, grads: [] };
  const ts: Tensor[] = [];
  tidy(() => {
    for (const inp of prog.inputs) {
      const t = tensor(inp.data, { shape: inp.shape, requiresGrad: inp.requiresGrad });
      ts.push(t);
      run.values.push(readVal(t));
      run.requiresGrad.push(t.requiresGrad);
    }
    for (let s = 0; s < prog.steps.length; s++) {
      const step = prog.steps[s]!;
      let t: Tensor;
      try {
        if (step.op === 'const') {
          t = tensor(step.params!.data, { shape: step.params!.shape, requiresGrad: step.params!.requiresGrad });
        } else {
          const op = opOf(step.op);
          const xs = step.args.map((id) => ts[id]!);
          t = step.noGrad ? noGrad(() => op.run(xs, step.params ?? {})) : op.run(xs, step.params ?? {});
        }
      } catch (err) {
        run.error = { at: s, err };
        return;
      }
      ts.push(t);
      run.values.push(readVal(t));
      run.requiresGrad.push(t.requiresGrad);
      for (const d of step.dispose ?? []) ts[d]!.dispose();
    }
    const f = prog.final;
    if (f.mode === 'none') return;
    try {
      const T = ts[f.target]!;
      const up = f.upstream === null ? undefined : tensor(f.upstream, { shape: run.values[f.target]!.shape });
      if (f.mode === 'backward') {
        for (const id of f.wrt) ts[id]!.retainGrad();
        const read = () => {
          const m = new Map<number, Val | null>();
          ts.forEach((t, id) => {
            if ((isLeaf(prog, id) || f.wrt.includes(id)) && !t.isDisposed) m.set(id, t.grad === null ? null : readVal(t.grad));
          });
          return m;
        };
        T.backward(up, { retainGraph: f.twice });
        run.grads.push(read());
        if (f.twice) {
          T.backward(up);
          run.grads.push(read());
        }
      } else if (f.mode === 'hvp') {
        const wrt = f.wrt.map((id) => ts[id]!);
        const gs = grad(T, wrt, { gradOutputs: [up ?? null], allowUnused: true, createGraph: true });
        run.grads.push(new Map(f.wrt.map((id, k) => [id, gs[k] === null ? null : readVal(gs[k]!)])));
        let D: Tensor | null = null;
        gs.forEach((g, k) => {
          if (g === null) return;
          const term = g.mul(tensor(f.direction![k]!, { shape: [...g.shape] })).sum();
          D = D === null ? term : D.add(term);
        });
        // Σ g·v may not depend on the inputs at all (T linear in them): a zero second derivative.
        const dd = D as Tensor | null;
        const second = dd !== null && dd.requiresGrad ? grad(dd, wrt, { allowUnused: true }) : wrt.map(() => null);
        run.grads.push(new Map(f.wrt.map((id, k) => [id, second[k] === null ? null : readVal(second[k]!)])));
      } else {
        for (let pass = 0; pass < (f.twice ? 2 : 1); pass++) {
          const gs = grad(T, f.wrt.map((id) => ts[id]!), { gradOutputs: [up ?? null], allowUnused: true, retainGraph: f.twice && pass === 0 });
          run.grads.push(new Map(f.wrt.map((id, k) => [id, gs[k] === null ? null : readVal(gs[k]!)])));
        }
      }
    } catch (err) {
      run.error = { at: 'final', err };
    }
  });
  return run;
}

function expectTypedError(err: unknown, kind: ErrorKind, where: string): void {
  if (err instanceof FuzzFailure) throw err;
  if (err instanceof PoisonedError) fail(`${where}: the wasm instance trapped: ${err.message}`);
  if (!(err instanceof TensorError)) fail(`${where}: non-wasmgrad error ${String((err as Error)?.stack ?? err)}`);
  if ((err as Error).name !== kind) fail(`${where}: threw ${(err as Error).name} (${(err as Error).message}), expected ${kind}`);
}

function unexpected(err: unknown, where: string): never {
  if (err instanceof FuzzFailure) throw err;
  if (err instanceof PoisonedError) fail(`${where}: the wasm instance trapped: ${err.message}`);
  if (err instanceof TensorError) fail(`${where}: unexpected ${err.name}: ${err.message}`);
  return fail(`${where}: non-wasmgrad error ${String((err as Error)?.stack ?? err)}`);
}

/** Checks one program; throws FuzzFailure describing the first discrepancy. */
export function checkProgram(prog: Program): CheckStats {
  const stats: CheckStats = { gradChecked: 0, gradSkipped: 0, expectedError: null };
  const before = memory();
  let run: Run;
  try {
    run = runWasm(prog);
  } catch (err) {
    return unexpected(err, 'run');
  }
  const after = memory();
  if (after.numTensors !== before.numTensors || after.numBytes !== before.numBytes) {
    fail(`memory: ${after.numTensors - before.numTensors} tensors and ${after.numBytes - before.numBytes} bytes left alive`);
  }

  // Forward, step by step, on wasmgrad's own operand values.
  const nIn = prog.inputs.length;
  const rg: boolean[] = prog.inputs.map((i) => i.requiresGrad);
  const disposed = new Set<number>();
  prog.inputs.forEach((inp, i) => closeEnough(run.values[i]!, val(inp.shape, inp.data), `input ${i}`));
  for (let s = 0; s < prog.steps.length; s++) {
    const step = prog.steps[s]!;
    const id = nIn + s;
    const where = `step ${s} (v${id} = ${step.op}(${step.args.map((a) => `v${a}`)}))`;
    let expected: Val;
    let rgOut: boolean;
    if (step.op === 'const') {
      expected = val(step.params!.shape, step.params!.data);
      rgOut = step.params!.requiresGrad;
    } else {
      const op = opOf(step.op);
      try {
        if (step.args.some((a) => disposed.has(a))) throw new RefError('DisposedError', 'operand disposed');
        if (step.op === 'hookScale' && (step.noGrad || !rg[step.args[0]!])) throw new RefError('AutogradError', 'hook on a tensor that does not require grad');
        expected = op.ref(step.args.map((a) => run.values[a]!), step.params ?? {});
        if (step.op === BREAK) expected = { ...expected, data: expected.data.map((v) => v + 0.5) };
      } catch (err) {
        if (!(err instanceof RefError)) throw err;
        if (run.error === null || run.error.at !== s) fail(`${where}: expected ${err.kind} (${err.message}), but it ran`);
        expectTypedError(run.error!.err, err.kind, where);
        stats.expectedError = err.kind;
        return stats;
      }
      rgOut = !step.noGrad && step.args.some((a, k) => rg[a] && carriesGrad(op, k)) && expected.dtype === 'float32';
    }
    if (run.error !== null && run.error.at === s) unexpected(run.error.err, where);
    closeEnough(run.values[id]!, expected, where);
    if (run.requiresGrad[id] !== rgOut) fail(`${where}: requiresGrad ${run.requiresGrad[id]}, expected ${rgOut}`);
    rg.push(rgOut);
    for (const d of step.dispose ?? []) disposed.add(d);
  }

  // The final pass.
  const f = prog.final;
  if (f.mode === 'none') return stats;
  const T = f.target;
  let finalKind: ErrorKind | null = null;
  if (disposed.has(T)) finalKind = 'DisposedError';
  else if (f.mode !== 'backward' && f.wrt.length === 0) finalKind = 'ArgumentError'; // as PyTorch: no inputs
  else if (!rg[T]) finalKind = 'AutogradError';
  else if (f.upstream === null && numel(run.values[T]!.shape) !== 1) finalKind = 'AutogradError';
  if (finalKind !== null) {
    if (run.error === null) fail(`final ${f.mode}: expected ${finalKind}, but it ran`);
    expectTypedError(run.error!.err, finalKind, `final ${f.mode}`);
    stats.expectedError = finalKind;
    return stats;
  }
  const base = run.values as Val[];
  // Which values T's graph reaches.
  const reach = new Set<number>([T]);
  for (let s = prog.steps.length - 1; s >= 0; s--) {
    const id = nIn + s;
    const step = prog.steps[s]!;
    if (reach.has(id) && rg[id] && step.op !== 'const') step.args.forEach((a, k) => rg[a] && carriesGrad(opOf(step.op), k) && reach.add(a));
  }

  // Second derivatives through pooling are refused (its backward is a kernel, README)
  // with an AutogradError, when one lies between T and an input of grad() and its
  // gradient depends on the inputs (pooling's gradient is linear in the incoming one, so
  // with a constant upstream it is a constant and the second derivative is just zero).
  if (f.mode === 'hvp' && run.error !== null) {
    const fromWrt = new Set(f.wrt);
    prog.steps.forEach((step, s) => {
      if (step.op !== 'const' && rg[nIn + s] && step.args.some((a, k) => fromWrt.has(a) && carriesGrad(opOf(step.op), k))) fromWrt.add(nIn + s);
    });
    // A documented limit (README, higher derivatives): prod refuses double backward
    // (AutogradError) when its input has a zero, as pooling always does:
    // x = tensor([0, 2], { requiresGrad: true }); grad(x.prod(), x, { createGraph: true }).
    const refuses = (step: Program['steps'][number]) =>
      NO_SECOND_ORDER.has(step.op) || (step.op === 'prod' && base[step.args[0]!]!.data.some((v) => v === 0));
    const kernel = prog.steps.some((step, s) => refuses(step) && reach.has(nIn + s) && fromWrt.has(nIn + s));
    if (kernel) {
      expectTypedError(run.error.err, 'AutogradError', 'final hvp');
      stats.expectedError = 'AutogradError';
      return stats;
    }
  }
  if (run.error !== null) unexpected(run.error.err, `final ${f.mode}`);

  const u = f.upstream ?? [1];
  const loss = (vals: Val[]) => vals[T]!.data.reduce((acc, v, i) => acc + v * u[i]!, 0);
  /** L with element j of value w moved by h; values that record no graph stay as they were. */
  const lossAt = (w: number, j: number, h: number): number => {
    const vals = base.slice();
    const moved = Float64Array.from(base[w]!.data);
    moved[j]! += h;
    vals[w] = { ...base[w]!, data: moved };
    const dirty = new Set([w]);
    for (let s = Math.max(0, w - nIn + 1); s < prog.steps.length; s++) {
      const step = prog.steps[s]!;
      const id = nIn + s;
      if (!rg[id] || step.op === 'const' || !step.args.some((a) => dirty.has(a))) continue;
      if (step.op === 'hookScale') {
        // The hook scales the gradient through this value: scale its perturbation instead.
        const [x, x0, y0] = [vals[step.args[0]!]!, base[step.args[0]!]!, base[id]!];
        vals[id] = { ...y0, data: y0.data.map((v, k) => v + step.params!.c * (x.data[k]! - x0.data[k]!)) };
      } else {
        vals[id] = opOf(step.op).ref(step.args.map((a) => vals[a]!), step.params ?? {});
      }
      dirty.add(id);
    }
    return loss(vals);
  };
  const fd = (w: number, j: number, h: number) => (lossAt(w, j, h) - lossAt(w, j, -h)) / (2 * h);

  // Ties in max-like ops on T's path (maximum(a, a.detach()), amax over equal values…): the
  // gradient splits or picks one (a valid subgradient, as PyTorch's) where the function may
  // still be smooth along each single element, so a mismatch there is not a failure.
  const TIE_OPS = new Set(['maximum', 'minimum', 'amax', 'amin', 'maxValues', 'maxPool2d', 'norm1']);
  const tied = prog.steps.some((step, s) => {
    if (!TIE_OPS.has(step.op) || !reach.has(nIn + s)) return false;
    const seen = new Set<number>();
    for (const a of step.args) for (const v of base[a]!.data) {
      if (seen.has(v) || (step.op === 'norm1' && v === 0)) return true;
      seen.add(v);
    }
    return false;
  });

  /** L with several values moved (by id); values that record no graph stay as they were. */
  const lossWith = (moves: Map<number, ArrayLike<number>>): number => {
    const vals = base.slice();
    for (const [w, d] of moves) vals[w] = { ...base[w]!, data: base[w]!.data.map((v, k) => v + d[k]!) };
    const dirty = new Set(moves.keys());
    const first = Math.min(...moves.keys());
    for (let s = Math.max(0, first - nIn + 1); s < prog.steps.length; s++) {
      const step = prog.steps[s]!;
      const id = nIn + s;
      if (dirty.has(id) || !rg[id] || step.op === 'const' || !step.args.some((a) => dirty.has(a))) continue;
      vals[id] = opOf(step.op).ref(step.args.map((a) => vals[a]!), step.params ?? {});
      dirty.add(id);
    }
    return loss(vals);
  };
  /** ∂/∂(value w, element j) of the directional derivative of L along f.direction. */
  const hvpFd = (w: number, j: number, eps: number, h: number): number => {
    const along = (sign: number, hj: number) => {
      const moves = new Map<number, Float64Array>();
      f.wrt.forEach((id, k) => moves.set(id, Float64Array.from(f.direction![k]!, (v) => sign * eps * v)));
      const mw = moves.get(w)!;
      mw[j]! += hj;
      return lossWith(moves);
    };
    const D = (hj: number) => (along(1, hj) - along(-1, hj)) / (2 * eps);
    return (D(h) - D(-h)) / (2 * h);
  };

  const factor = (pass: number) => (f.mode === 'backward' ? pass + 1 : 1);
  run.grads.forEach((m, pass) => {
    if (f.mode === 'hvp' && pass === 1) {
      for (const [w, g] of m) {
        const where = `second derivative (Hessian-vector product) for v${w}`;
        if (g !== null && g.shape.join() !== base[w]!.shape.join()) fail(`${where}: shape [${g.shape}], expected [${base[w]!.shape}]`);
        const n = base[w]!.data.length;
        const numeric = Array.from({ length: n }, (_, j) => hvpFd(w, j, 1e-4, 1e-4));
        const scale = Math.max(1, ...numeric.map(Math.abs));
        const tol = (x: number) => 2 * GRAD_ATOL * scale + 2 * GRAD_RTOL * Math.abs(x);
        for (let j = 0; j < n; j++) {
          const a = g === null ? 0 : g.data[j]!;
          const e = numeric[j]!;
          if (Math.abs(a - e) <= tol(e)) {
            stats.gradChecked++;
            continue;
          }
          const e2 = hvpFd(w, j, 1e-3, 1e-3);
          const e3 = hvpFd(w, j, 3e-3, 1e-3);
          if (tied || Math.abs(e2 - e) > tol(e) || Math.abs(e3 - e2) > tol(e2)) {
            stats.gradSkipped++;
            continue;
          }
          fail(`${where}[${j}]: got ${g === null ? 'null (zero)' : a}, expected ${e} (nested finite differences)`);
        }
      }
      return;
    }
    for (const [w, g] of m) {
      const where = `gradient of v${w} (${f.mode}${f.twice ? `, pass ${pass + 1}` : ''})`;
      if (!rg[w]) {
        if (g !== null) fail(`${where}: a tensor that does not require grad got a gradient`);
        continue;
      }
      if (!reach.has(w)) {
        if (g !== null) fail(`${where}: expected none (v${T} does not depend on it), got one`);
        continue;
      }
      if (g === null) fail(`${where}: expected a gradient, got null`);
      if (g!.shape.join() !== base[w]!.shape.join()) fail(`${where}: shape [${g!.shape}], expected [${base[w]!.shape}]`);
      const n = base[w]!.data.length;
      const numeric = Array.from({ length: n }, (_, j) => factor(pass) * fd(w, j, 1e-6));
      const scale = Math.max(1, ...numeric.map(Math.abs));
      for (let j = 0; j < n; j++) {
        const a = g!.data[j]!;
        const e = numeric[j]!;
        const tol = (x: number) => GRAD_ATOL * scale + GRAD_RTOL * Math.abs(x);
        if (Math.abs(a - e) <= tol(e)) {
          stats.gradChecked++;
          continue;
        }
        // A kink at or near the point (relu, abs, max and its ties, floor, where…): one-sided
        // or wider differences disagree, and any subgradient may be right.
        const h = 1e-4;
        const [lp, l0, lm] = [lossAt(w, j, h), lossAt(w, j, 0), lossAt(w, j, -h)];
        const [right, left] = [(factor(pass) * (lp - l0)) / h, (factor(pass) * (l0 - lm)) / h];
        const e3 = factor(pass) * fd(w, j, 1e-3);
        if (tied || Math.abs(right - left) > tol(e) || Math.abs(e3 - e) > tol(e)) {
          stats.gradSkipped++;
          continue;
        }
        fail(`${where}[${j}]: got ${a}, expected ${e} (finite differences)`);
      }
    }
  });
  return stats;
}

// wasmgrad vs TensorFlow.js (wasm and cpu backends), one Node process, one thread (plus
// wasmgrad on every core, a column of its own, when the threads build is loaded).
// Usage (from the repository root): npm run bench [-- --only <substring>] [-- --reps N] [-- --torch [file]] [-- --threads 2,4,8]
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { compareOutputs, MismatchError } from './lib/check.mjs';
import { otherLoad } from './lib/machine.mjs';
import { initLibs, LIBS, liveTensors, setThreadCounts, threadsOf, useLib } from './lib/libs.mjs';
import { jsonLine, overheadLines, resolveTargets, table, threadsTable, unsupportedLines } from './lib/report.mjs';
import { measure } from './lib/timing.mjs';
import { readTorch, runTorch, TorchUnavailable, torchCheck, torchResult } from './lib/torch.mjs';
import exp from './workloads/exp.mjs';
import kernels from './workloads/kernels.mjs';
import linreg from './workloads/linreg.mjs';
import matmul from './workloads/matmul.mjs';
import mlp from './workloads/mlp.mjs';
import mnist from './workloads/mnist.mjs';
import overhead from './workloads/overhead.mjs';
import train from './workloads/train.mjs';

const WORKLOADS = [...mlp, ...mnist, ...train, ...linreg, ...matmul, ...exp, ...kernels, ...overhead];
// Repetition policy without --reps: up to the workload's maxReps, stopping early once
// minReps ran and the time budget is spent (TF.js's cpu backend is slow: fewer reps).
const POLICY = {
  wasmgrad: { minReps: 7, budgetMs: 2500 },
  'tfjs-wasm': { minReps: 7, budgetMs: 2500 },
  'tfjs-cpu': { minReps: 3, budgetMs: 3000 },
};
const policyOf = (lib) => POLICY[threadsOf(lib) === null ? lib : 'wasmgrad'];

// A workload compares wasmgrad with TF.js's two backends, or, with `libs`, the contenders it
// names (e.g. wasmgrad's modules against its functional ops), each with its own `impl`;
// minus those listed in `unsupported` (a library that lacks a kernel the workload needs).
const libsOf = (w) => (w.libs ?? LIBS).filter((lib) => !w.unsupported?.[lib]);
const implOf = (w, lib) => w.impl[lib] ?? w.impl[lib.startsWith('wasmgrad') ? 'wasmgrad' : 'tfjs'];

function parseArgs(argv) {
  const opts = { only: null, reps: undefined, torch: undefined, threads: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--only') opts.only = argv[++i];
    else if (a === '--reps') opts.reps = Number(argv[++i]);
    else if (a === '--threads') opts.threads = (argv[++i] ?? '').split(',').map(Number);
    else if (a === '--torch') opts.torch = argv[i + 1] !== undefined && !argv[i + 1].startsWith('--') ? argv[++i] : true;
    else if (a === '--help' || a === '-h') {
      console.log('usage: node bench/run.mjs [--only <substring of a workload id or title>[,<another>…]] [--reps N] [--torch [file]] [--threads N,…]');
      console.log('  --threads 2,4,8 a wasmgrad column per thread count (default: every core); more threads than cores oversubscribe them');
      console.log('  --torch         also run /usr/bin/python3 scripts/bench-torch.py first (Debian python3-torch) and add a PyTorch column');
      console.log('  --torch <file>  add the PyTorch column from a saved output of scripts/bench-torch.py');
      console.log(`workloads: ${WORKLOADS.map((w) => w.id).join(', ')}`);
      process.exit(0);
    } else throw new UsageError(`unknown argument ${a} (try --help)`);
  }
  if (opts.only === undefined || (opts.reps !== undefined && !(Number.isInteger(opts.reps) && opts.reps > 0))) {
    throw new UsageError('--only needs a substring and --reps a positive integer');
  }
  if (opts.threads !== undefined && !opts.threads.every((n) => Number.isInteger(n) && n >= 1 && n <= 64)) {
    throw new UsageError('--threads needs thread counts from 1 to 64, separated by commas');
  }
  return opts;
}

class UsageError extends Error {}

const log = (msg) => process.stderr.write(`${msg}\n`);

/**
 * The workloads whose id or title contains `only` (or one of its comma-separated parts;
 * all without it), plus the rows their relative targets refer to, in WORKLOADS order.
 */
function select(only) {
  const parts = only?.split(',');
  const chosen = new Set(WORKLOADS.filter((w) => parts === undefined || parts.some((p) => w.id.includes(p) || w.title.includes(p))));
  if (chosen.size === 0) throw new UsageError(`no workload matches "${only}"; ids: ${WORKLOADS.map((w) => w.id).join(', ')}`);
  const byId = new Map(WORKLOADS.map((w) => [w.id, w]));
  const pending = [...chosen];
  while (pending.length > 0) {
    const ref = pending.pop().target?.relativeTo;
    if (ref === undefined || chosen.has(byId.get(ref))) continue;
    if (!byId.has(ref)) throw new Error(`a target refers to the unknown workload ${ref}`);
    log(`also running ${ref}: a selected row's target is relative to it`);
    chosen.add(byId.get(ref));
    pending.push(byId.get(ref));
  }
  return WORKLOADS.filter((w) => chosen.has(w));
}

/**
 * wasmgrad's check outputs under the names PyTorch's run reports: an output itself, or
 * `sum |name|`, the sum of the absolute values of output `name` (in float64).
 */
function summarize(outputs, keys) {
  const pick = (key) => {
    if (key in outputs) return outputs[key];
    const name = /^sum \|(.+)\|$/.exec(key)?.[1];
    if (name === undefined || !(name in outputs)) throw new MismatchError(`PyTorch reports "${key}", which wasmgrad's check has no output for`);
    let sum = 0;
    for (const v of outputs[name]) sum += Math.abs(v);
    return sum;
  };
  return Object.fromEntries(keys.map((k) => [k, pick(k)]));
}

/** Runs `fn(ctx)` on a fresh context of `lib`, disposes it, and fails if tensors leaked. */
async function withContext(w, lib, inputs, fn) {
  await useLib(lib);
  const before = liveTensors(lib);
  const ctx = implOf(w, lib)(inputs);
  let out;
  try {
    out = fn(ctx);
  } finally {
    ctx.dispose();
  }
  const after = liveTensors(lib);
  if (after !== before) throw new Error(`${w.id}: ${lib} leaked ${after - before} tensors`);
  return out;
}

/** Times every library on `w`, each in its own fresh context; fails if tensors leaked. */
async function timeAll(w, inputs, reps) {
  const pools = ['wasmgrad', 'tfjs-wasm']; // live-tensor counts: wasmgrad's, and TF.js's (all backends)
  const before = pools.map(liveTensors);
  const ctxs = {};
  let res;
  try {
    for (const lib of libsOf(w)) {
      await useLib(lib);
      ctxs[lib] = implOf(w, lib)(inputs);
    }
    const entries = libsOf(w).map((lib) => ({
      lib,
      run: () => ctxs[lib].run(),
      enter: () => useLib(lib),
      policy: { ...policyOf(lib), maxReps: w.maxReps, reps },
    }));
    res = await measure(entries);
  } finally {
    for (const lib of libsOf(w)) {
      await useLib(lib);
      ctxs[lib]?.dispose();
    }
  }
  pools.forEach((pool, i) => {
    const leaked = liveTensors(pool) - before[i];
    if (leaked !== 0) throw new Error(`${w.id}: ${pool === 'wasmgrad' ? 'wasmgrad' : 'TF.js'} leaked ${leaked} tensors while timed`);
  });
  return res;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.threads !== undefined) setThreadCounts(opts.threads);
  const selected = select(opts.only);
  const started = performance.now();
  // PyTorch first (or from a file), so that it never runs next to the JS libraries.
  const torch = opts.torch === undefined ? null : opts.torch === true ? runTorch(selected.map((w) => w.id), opts.reps, log) : readTorch(opts.torch);
  const info = await initLibs();
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    tfjsVersion: info.tfjsVersion,
    tfjsWasm: info.tfjsWasm,
    wasmgrad: info.wasmgradBuild,
    loadavgAtStart: os.loadavg().map((x) => Number(x.toFixed(2))),
    argv: process.argv.slice(2),
    ...(torch ? { torch: torch.meta } : {}),
  };
  log(`wasmgrad: ${info.wasmgradBuild.wasmFile} sha256 ${info.wasmgradBuild.wasmSha256}…, built ${info.wasmgradBuild.wasmModified}`);
  log(`TF.js ${info.tfjsVersion}; wasm backend binary: ${info.tfjsWasm.binary} (SIMD ${info.tfjsWasm.simd}, threads ${info.tfjsWasm.threads})`);
  if (!info.tfjsWasm.simd) log('WARNING: the TF.js wasm backend runs WITHOUT SIMD');

  const rows = [];
  for (const w of selected) {
    const inputs = w.inputs();
    // 1. Correctness: every library from a fresh context, compared with wasmgrad's outputs.
    const outputs = {};
    for (const lib of libsOf(w)) outputs[lib] = await withContext(w, lib, inputs, (ctx) => ctx.check());
    w.checkReference?.(outputs.wasmgrad);
    const checks = {};
    for (const lib of libsOf(w).slice(1)) checks[lib] = compareOutputs(w.id, 'wasmgrad', outputs.wasmgrad, lib, outputs[lib]);
    // PyTorch's run records small outputs only (e.g. the losses of 3 steps): compare those.
    const fromTorch = torchCheck(torch, w);
    if (fromTorch) checks.torch = compareOutputs(w.id, 'wasmgrad', summarize(outputs.wasmgrad, Object.keys(fromTorch)), 'torch', fromTorch);
    // 2. Timing, again from fresh contexts, all alive at once (rounds alternate libraries).
    const window = otherLoad();
    const res = await timeAll(w, inputs, opts.reps);
    const others = window.end();
    const fromTorchTimes = torchResult(torch, w);
    if (fromTorchTimes) res.torch = fromTorchTimes;
    for (const lib of libsOf(w)) {
      log(`${w.id.padEnd(21)} ${lib.padEnd(9)} median ${res[lib].median.toFixed(3)} ms over ${res[lib].reps} reps (min ${res[lib].min.toFixed(3)})`);
    }
    if (others !== null) log(`${w.id.padEnd(21)} other processes kept ${others.toFixed(2)} of ${os.cpus().length} CPUs busy meanwhile`);
    rows.push({ w, res, checks, others });
  }

  console.log(`\nwasmgrad vs TensorFlow.js ${info.tfjsVersion} (wasm backend: ${info.tfjsWasm.binary}; cpu backend), Node ${process.version}, one thread${LIBS.length > 3 ? ` (and wasmgrad on ${LIBS.map(threadsOf).filter((n) => n > 1).join(', ')} threads; ${os.cpus().length} cores)` : ''}`);
  console.log('medians; GFLOP/s rows also show ms; time ratio < 1 means wasmgrad is faster\n');
  resolveTargets(rows);
  console.log(table(rows));
  for (const line of [...unsupportedLines(rows), ...overheadLines(rows)]) console.log(line);
  const threads = threadsTable(rows, os.cpus().length);
  if (threads) console.log(`\n${threads}`);
  if (torch) {
    const { torch: version, threads, blas = 'unknown', source, date } = torch.meta;
    console.log(`torch: PyTorch ${version}, ${threads} thread, BLAS ${blas}, from ${source} (${date})`);
  }
  const loads = rows.map((r) => r.others).filter((x) => x !== null);
  if (loads.length > 0) {
    const busiest = rows.reduce((a, b) => ((b.others ?? 0) > (a.others ?? 0) ? b : a));
    const mean = loads.reduce((a, b) => a + b, 0) / loads.length;
    console.log(`\nother processes kept ${mean.toFixed(2)} of ${os.cpus().length} CPUs busy on average while timing (most: ${busiest.others.toFixed(2)}, during ${busiest.w.id})`);
  }
  console.log(`\n${jsonLine(meta, rows)}`);
  log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((err) => {
  if (err instanceof UsageError || err instanceof TorchUnavailable) {
    console.error(err.message);
    process.exit(2);
  }
  const loud = err instanceof MismatchError ? 'RESULTS DISAGREE' : 'BENCHMARK FAILED';
  console.error(`\n*** ${loud}: ${err.message}\n`);
  if (!(err instanceof MismatchError)) console.error(err.stack);
  process.exit(1);
});

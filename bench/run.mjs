// wasmgrad vs TensorFlow.js (wasm and cpu backends), one Node process, one thread.
// Usage (from the repository root): npm run bench [-- --only <substring>] [-- --reps N]
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { compareOutputs, MismatchError } from './lib/check.mjs';
import { otherLoad } from './lib/machine.mjs';
import { initLibs, LIBS, liveTensors, useLib } from './lib/libs.mjs';
import { jsonLine, overheadLines, table } from './lib/report.mjs';
import { measure } from './lib/timing.mjs';
import exp from './workloads/exp.mjs';
import linreg from './workloads/linreg.mjs';
import matmul from './workloads/matmul.mjs';
import mlp from './workloads/mlp.mjs';
import mnist from './workloads/mnist.mjs';
import overhead from './workloads/overhead.mjs';

const WORKLOADS = [...mlp, ...mnist, ...linreg, ...matmul, ...exp, ...overhead];
// Repetition policy without --reps: up to the workload's maxReps, stopping early once
// minReps ran and the time budget is spent (TF.js's cpu backend is slow: fewer reps).
const POLICY = {
  wasmgrad: { minReps: 7, budgetMs: 2500 },
  'tfjs-wasm': { minReps: 7, budgetMs: 2500 },
  'tfjs-cpu': { minReps: 3, budgetMs: 3000 },
};
POLICY['wasmgrad-functional'] = POLICY.wasmgrad;

// A workload compares wasmgrad with TF.js's two backends, or, with `libs`, the contenders it
// names (e.g. wasmgrad's modules against its functional ops), each with its own `impl`.
const libsOf = (w) => w.libs ?? LIBS;
const implOf = (w, lib) => w.impl[lib] ?? w.impl[lib === 'wasmgrad' ? 'wasmgrad' : 'tfjs'];

function parseArgs(argv) {
  const opts = { only: null, reps: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--only') opts.only = argv[++i];
    else if (a === '--reps') opts.reps = Number(argv[++i]);
    else if (a === '--help' || a === '-h') {
      console.log('usage: node bench/run.mjs [--only <substring of a workload id or title>] [--reps N]');
      console.log(`workloads: ${WORKLOADS.map((w) => w.id).join(', ')}`);
      process.exit(0);
    } else throw new UsageError(`unknown argument ${a} (try --help)`);
  }
  if (opts.only === undefined || (opts.reps !== undefined && !(Number.isInteger(opts.reps) && opts.reps > 0))) {
    throw new UsageError('--only needs a substring and --reps a positive integer');
  }
  return opts;
}

class UsageError extends Error {}

const log = (msg) => process.stderr.write(`${msg}\n`);

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
      policy: { ...POLICY[lib], maxReps: w.maxReps, reps },
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
  const selected = WORKLOADS.filter((w) => opts.only === null || w.id.includes(opts.only) || w.title.includes(opts.only));
  if (selected.length === 0) throw new UsageError(`no workload matches "${opts.only}"; ids: ${WORKLOADS.map((w) => w.id).join(', ')}`);
  const started = performance.now();
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
  };
  log(`wasmgrad: dist/wasmgrad.wasm sha256 ${info.wasmgradBuild.wasmSha256}…, built ${info.wasmgradBuild.wasmModified}`);
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
    // 2. Timing, again from fresh contexts, all alive at once (rounds alternate libraries).
    const window = otherLoad();
    const res = await timeAll(w, inputs, opts.reps);
    const others = window.end();
    for (const lib of libsOf(w)) {
      log(`${w.id.padEnd(14)} ${lib.padEnd(9)} median ${res[lib].median.toFixed(3)} ms over ${res[lib].reps} reps (min ${res[lib].min.toFixed(3)})`);
    }
    if (others !== null) log(`${w.id.padEnd(14)} other processes kept ${others.toFixed(2)} of ${os.cpus().length} CPUs busy meanwhile`);
    rows.push({ w, res, checks, others });
  }

  console.log(`\nwasmgrad vs TensorFlow.js ${info.tfjsVersion} (wasm backend: ${info.tfjsWasm.binary}; cpu backend), Node ${process.version}, one thread`);
  console.log('medians; GFLOP/s rows also show ms; time ratio < 1 means wasmgrad is faster\n');
  console.log(table(rows));
  for (const line of overheadLines(rows)) console.log(line);
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
  if (err instanceof UsageError) {
    console.error(err.message);
    process.exit(2);
  }
  const loud = err instanceof MismatchError ? 'RESULTS DISAGREE' : 'BENCHMARK FAILED';
  console.error(`\n*** ${loud}: ${err.message}\n`);
  if (!(err instanceof MismatchError)) console.error(err.stack);
  process.exit(1);
});

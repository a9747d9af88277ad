// PyTorch as a fourth column: the results of scripts/bench-torch.py (same workload ids,
// shapes, FLOP counts and timing method, one thread), either read from a saved output or
// produced by running the script before the JS workloads (never at the same time).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { valueOf } from './report.mjs';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../../scripts/bench-torch.py', import.meta.url));
const PREFIX = 'TORCH_JSON ';

/** PyTorch is not there (or the file is not a torch run): a usage problem, not a failed benchmark. */
export class TorchUnavailable extends Error {}

/**
 * Runs scripts/bench-torch.py on `ids` (with `--reps` if given; its progress goes to our
 * stderr) and returns its results; TorchUnavailable if Debian's python3-torch is not installed.
 */
export function runTorch(ids, reps, log) {
  const hint = `install Debian's python3-torch (apt-get install python3-torch), or pass a saved run: --torch <file>`;
  if (!existsSync(PYTHON)) throw new TorchUnavailable(`--torch: ${PYTHON} does not exist; ${hint}`);
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    const why = (probe.stderr || String(probe.error ?? '')).trim().split('\n').pop();
    throw new TorchUnavailable(`--torch: ${PYTHON} cannot import torch (${why}); ${hint}`);
  }
  const args = ['--ids', ids.join(','), ...(reps === undefined ? [] : ['--reps', String(reps)])];
  log(`PyTorch: ${PYTHON} scripts/bench-torch.py ${args.join(' ')}`);
  const run = spawnSync(PYTHON, [SCRIPT, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  if (run.status !== 0) throw new Error(`scripts/bench-torch.py failed (exit ${run.status ?? run.signal})`);
  return parse(run.stdout, 'scripts/bench-torch.py');
}

/** Reads a saved run: the script's whole output, or the JSON after its `TORCH_JSON ` prefix. */
export function readTorch(file) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TorchUnavailable(`--torch: cannot read ${file}: ${err.message}`);
  }
  return parse(text, file);
}

function parse(text, source) {
  const line = text.split('\n').find((l) => l.startsWith(PREFIX));
  let json;
  try {
    json = JSON.parse(line === undefined ? text : line.slice(PREFIX.length));
  } catch {
    throw new TorchUnavailable(`--torch: ${source} holds no TORCH_JSON line (the output of scripts/bench-torch.py)`);
  }
  if (!Array.isArray(json.results)) throw new TorchUnavailable(`--torch: ${source} has no "results"`);
  return { meta: { ...json, results: undefined, source }, byId: new Map(json.results.map((r) => [r.id, r])) };
}

/**
 * PyTorch's timing of workload `w` in the harness's summary shape `{ median, min, max, reps }`,
 * or undefined. Fails if the script reports another unit or computes the row's value
 * differently (a FLOP count that drifted apart from lib/flops.mjs's).
 */
export function torchResult(torch, w) {
  const t = torch?.byId.get(w.id);
  if (t === undefined) return undefined;
  if (t.unit !== w.unit) throw new Error(`${w.id}: scripts/bench-torch.py reports ${t.unit}, the JS workload ${w.unit}`);
  const mine = valueOf(w, t.medianMs);
  if (Math.abs(mine - t.value) > 1e-3 * Math.abs(mine)) {
    throw new Error(`${w.id}: scripts/bench-torch.py gives ${t.value} ${w.unit} for ${t.medianMs} ms, the JS workload ${mine}: the formulas differ`);
  }
  return { median: t.medianMs, min: t.minMs, max: t.maxMs, reps: t.reps };
}

/** The outputs PyTorch recorded for the check (e.g. the losses of 3 steps), or undefined. */
export const torchCheck = (torch, w) => torch?.byId.get(w.id)?.check;

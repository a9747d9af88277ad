// The printed table and the BENCH_JSON line.
import { LIBS, threadsOf } from './libs.mjs';
import { pairedSpeedup } from './timing.mjs';

/** A workload's displayed value (its unit) from a time in ms. */
export const valueOf = (w, ms) => (w.metric ? w.metric(ms) : ms);

function num(x) {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : a >= 1 ? x.toFixed(2) : x.toFixed(3);
}

function cell(w, r) {
  if (r === undefined) return '—';
  const v = num(valueOf(w, r.median));
  return w.unit === 'GFLOP/s' ? `${v} (${num(r.median)} ms)` : v;
}

/**
 * Sets `row.target` for every row: `{ cmp, value }` as the workload gives it, or for a
 * relative target `{ cmp, relativeTo, factor }` the value `factor ×` the referenced row's
 * wasmgrad median (in that row's unit), null when that row was not measured.
 */
export function resolveTargets(rows) {
  const byId = new Map(rows.map((r) => [r.w.id, r]));
  for (const row of rows) {
    const t = row.w.target;
    if (!t) row.target = null;
    else if (t.relativeTo === undefined) row.target = { ...t };
    else {
      const ref = byId.get(t.relativeTo);
      const refRes = ref?.res.wasmgrad;
      row.target = { ...t, value: refRes ? t.factor * valueOf(ref.w, refRes.median) : null };
    }
  }
}

export function targetText({ w, target }) {
  if (w.overhead) return `module overhead ≤ ${w.overhead.max} %`;
  if (!target) return '—';
  const sign = target.cmp === '<=' ? '≤' : '≥';
  if (target.relativeTo === undefined) return `${sign} ${target.value} ${w.unit}`;
  return `${sign} ${target.factor}× ${target.relativeTo} (= ${target.value === null ? 'not measured' : num(target.value)})`;
}

/** 'meets' / 'MISSES' for wasmgrad's median against the row's resolved target, or null without one. */
export function verdict({ w, res, target }) {
  const r = res.wasmgrad;
  if (w.overhead) {
    const o = overheadPct(w, res);
    return o === null ? null : o <= w.overhead.max ? 'meets' : 'MISSES';
  }
  if (!target || target.value === null || r === undefined) return null;
  const v = valueOf(w, r.median);
  return (target.cmp === '<=' ? v <= target.value : v >= target.value) ? 'meets' : 'MISSES';
}

/**
 * A row with `overhead: { baseline, max }` times wasmgrad against another way of writing
 * the same computation in wasmgrad: the percentage by which wasmgrad's median time exceeds
 * the baseline's (negative: faster), or null.
 */
export function overheadPct(w, res) {
  const a = res?.wasmgrad;
  const b = w.overhead ? res?.[w.overhead.baseline] : undefined;
  return a && b ? (a.median / b.median - 1) * 100 : null;
}

/** The lines under the table for overhead rows: both figures and the overhead. */
export function overheadLines(rows) {
  return rows
    .filter(({ w }) => w.overhead)
    .map(({ w, res }) => {
      const o = overheadPct(w, res);
      const base = res[w.overhead.baseline];
      return `${w.id}: wasmgrad ${num(valueOf(w, res.wasmgrad.median))} ${w.unit}, ${w.overhead.baseline} ${num(valueOf(w, base.median))} ${w.unit}: ` +
        `overhead ${o >= 0 ? '+' : ''}${o.toFixed(1)} % (target ≤ ${w.overhead.max} %: ${verdict({ w, res })})`;
    });
}

/** Time ratio wasmgrad / tfjs-wasm: below 1 means wasmgrad is faster, whatever the unit. */
export function ratio(res) {
  const a = res.wasmgrad;
  const b = res['tfjs-wasm'];
  return a && b ? a.median / b.median : null;
}

/** The columns of measured contenders: TF.js's backends, and PyTorch when a run of it was merged. */
const columnsOf = (rows) => (rows.some((r) => r.res.torch) ? [...LIBS, 'torch'] : LIBS);
const HEADER = { wasmgrad: 'wasmgrad (1 thread)', torch: 'torch (1 thread)' };
const header = (lib) => HEADER[lib] ?? (threadsOf(lib) > 1 ? `wasmgrad (${threadsOf(lib)} threads)` : lib);

export function table(rows) {
  const libs = columnsOf(rows);
  const head = ['workload', 'unit', ...libs.map(header), 'wg/tfjs-wasm time', 'target', 'wasmgrad vs target'];
  const body = rows.map((row) => {
    const { w, res } = row;
    const r = ratio(res);
    const cells = libs.map((l) => (w.unsupported?.[l] ? 'n/a' : cell(w, res[l])));
    return [w.title, w.unit, ...cells, r === null ? '—' : `${r.toFixed(2)}×`, targetText(row), verdict(row) ?? '—'];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const left = new Set([0, 1, head.length - 2]);
  const line = (cells) => cells.map((c, i) => (left.has(i) ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((n) => '-'.repeat(n)).join('  '), ...body.map(line)].join('\n');
}

/** How many cores the scaling model predicts for. */
export const MODEL_CORES = 8;

/**
 * Speedups of wasmgrad's thread columns over its one-thread column (same build), by thread
 * count: `{ 2: 1.6, 4: … }`, paired round by round (see pairedSpeedup).
 */
export function speedups(res) {
  const one = res.wasmgrad;
  const out = {};
  for (const lib of Object.keys(res)) {
    const n = threadsOf(lib);
    if (n > 1 && one) out[n] = one.rounds && res[lib].rounds ? pairedSpeedup(one, res[lib]) : one.median / res[lib].median;
  }
  return out;
}

/**
 * Amdahl's law fitted to the speedup `s` measured on `cores` real cores: the parallel
 * fraction `f` with `1 / ((1 - f) + f / cores) = s`, and what it predicts on `p` cores.
 * It ignores memory bandwidth and the fork-join cost per task, both of which grow with `p`,
 * so it is an upper bound for ops that stream memory.
 */
export function amdahl(s, cores, p = MODEL_CORES) {
  const f = Math.min(1, Math.max(0, (1 - 1 / s) / (1 - 1 / cores)));
  return { f, predicted: 1 / (1 - f + f / p) };
}

/**
 * The threads table: per row with thread columns, the speedup at each thread count (counts
 * above `cores` oversubscribe the machine: shape only), the parallel fraction fitted on
 * `cores` threads, the predicted speedup on MODEL_CORES real cores, and the row's
 * `threadsTarget` (speedup on every core) with its verdict. Null without thread columns.
 */
export function threadsTable(rows, cores) {
  const counts = [...new Set(rows.flatMap((r) => Object.keys(speedups(r.res)).map(Number)))].sort((a, b) => a - b);
  if (counts.length === 0) return null;
  const head = ['workload', ...counts.map((n) => `${n} threads${n > cores ? '*' : ''}`), `parallel fraction (${cores} threads)`, `model: ${MODEL_CORES} cores`, 'target', 'verdict'];
  const body = rows.map(({ w, res }) => {
    const s = speedups(res);
    const fit = s[cores] === undefined ? null : amdahl(s[cores], cores);
    const target = w.threadsTarget;
    const verdict = target === undefined || s[cores] === undefined ? '—' : s[cores] >= target ? 'meets' : 'MISSES';
    return [
      w.title,
      ...counts.map((n) => (s[n] === undefined ? '—' : `${s[n].toFixed(2)}×`)),
      fit ? fit.f.toFixed(2) : '—',
      fit ? `${fit.predicted.toFixed(1)}×` : '—',
      target === undefined ? '—' : `≥ ${target}× on ${cores}`,
      verdict,
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [
    `wasmgrad on several threads: speedup over its own one-thread time (same build, same run; median of per-round ratios, 1 thread and N threads timed back to back)`,
    line(head),
    widths.map((n) => '-'.repeat(n)).join('  '),
    ...body.map(line),
    ...(counts.some((n) => n > cores) ? [`* more threads than the machine's ${cores} cores: oversubscribed, for the shape only`] : []),
    `model: Amdahl's law fitted on ${cores} cores (parallel fraction f), predicted for ${MODEL_CORES} real cores; it ignores memory bandwidth and fork-join costs, so it is an upper bound`,
  ].join('\n');
}

/** The lines under the table saying why a library has no figure ("n/a") in some rows. */
export function unsupportedLines(rows) {
  const byReason = new Map();
  for (const { w } of rows) {
    for (const [lib, why] of Object.entries(w.unsupported ?? {})) {
      const key = `${lib}: ${why}`;
      byReason.set(key, [...(byReason.get(key) ?? []), w.id]);
    }
  }
  return [...byReason].map(([reason, ids]) => `n/a = not measured: ${reason} (${ids.join(', ')})`);
}

export function jsonLine(meta, rows) {
  const round = (x) => (x == null ? x : Number(x.toPrecision(5)));
  const targetJson = ({ w, target }) =>
    target ? { ...target, value: round(target.value) } : w.overhead ? { overheadPctMax: w.overhead.max, baseline: w.overhead.baseline } : null;
  const results = rows.map((row) => ({
    id: row.w.id,
    title: row.w.title,
    unit: row.w.unit,
    ...(row.w.flops ? { flopsPerRep: row.w.flops } : {}),
    target: targetJson(row),
    ...(row.w.unsupported ? { unsupported: row.w.unsupported } : {}),
    ...Object.fromEntries(
      Object.entries(row.res).map(([l, r]) => [
        l,
        { value: round(valueOf(row.w, r.median)), medianMs: round(r.median), minMs: round(r.min), maxMs: round(r.max), reps: r.reps },
      ]),
    ),
    timeRatioWasmgradToTfjsWasm: round(ratio(row.res)),
    ...(row.w.overhead ? { overheadPct: round(overheadPct(row.w, row.res)) } : {}),
    wasmgradVsTarget: verdict(row),
    ...(Object.keys(speedups(row.res)).length > 0 ? { threadSpeedups: Object.fromEntries(Object.entries(speedups(row.res)).map(([n, x]) => [n, round(x)])) } : {}),
    ...(row.w.threadsTarget ? { threadsTarget: row.w.threadsTarget } : {}),
    otherProcessesCpus: round(row.others),
    maxRelErr: Object.fromEntries(Object.entries(row.checks).map(([k, v]) => [k, round(v)])),
  }));
  return `BENCH_JSON ${JSON.stringify({ ...meta, results })}`;
}

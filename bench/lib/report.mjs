// The printed table and the BENCH_JSON line.
import { LIBS, THREADS } from './libs.mjs';

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
const HEADER = { wasmgrad: 'wasmgrad (1 thread)', 'wasmgrad-threads': `wasmgrad (${THREADS} threads)`, torch: 'torch (1 thread)' };

export function table(rows) {
  const libs = columnsOf(rows);
  const head = ['workload', 'unit', ...libs.map((l) => HEADER[l] ?? l), 'wg/tfjs-wasm time', 'target', 'wasmgrad vs target'];
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
    otherProcessesCpus: round(row.others),
    maxRelErr: Object.fromEntries(Object.entries(row.checks).map(([k, v]) => [k, round(v)])),
  }));
  return `BENCH_JSON ${JSON.stringify({ ...meta, results })}`;
}

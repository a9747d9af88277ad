// The printed table and the BENCH_JSON line.
import { LIBS } from './libs.mjs';

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

export function targetText(w) {
  if (w.overhead) return `module overhead ≤ ${w.overhead.max} %`;
  return w.target ? `${w.target.cmp === '<=' ? '≤' : '≥'} ${w.target.value} ${w.unit}` : '—';
}

/** 'meets' / 'MISSES' for wasmgrad's median against the target, or null without one. */
export function verdict(w, r, res) {
  if (w.overhead) {
    const o = overheadPct(w, res);
    return o === null ? null : o <= w.overhead.max ? 'meets' : 'MISSES';
  }
  if (!w.target || r === undefined) return null;
  const v = valueOf(w, r.median);
  return (w.target.cmp === '<=' ? v <= w.target.value : v >= w.target.value) ? 'meets' : 'MISSES';
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
        `overhead ${o >= 0 ? '+' : ''}${o.toFixed(1)} % (target ≤ ${w.overhead.max} %: ${verdict(w, res.wasmgrad, res)})`;
    });
}

/** Time ratio wasmgrad / tfjs-wasm: below 1 means wasmgrad is faster, whatever the unit. */
export function ratio(res) {
  const a = res.wasmgrad;
  const b = res['tfjs-wasm'];
  return a && b ? a.median / b.median : null;
}

export function table(rows) {
  const head = ['workload', 'unit', ...LIBS, 'wg/tfjs-wasm time', 'target', 'wasmgrad vs target'];
  const body = rows.map(({ w, res }) => {
    const r = ratio(res);
    return [w.title, w.unit, ...LIBS.map((l) => cell(w, res[l])), r === null ? '—' : `${r.toFixed(2)}×`, targetText(w), verdict(w, res.wasmgrad, res) ?? '—'];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const left = new Set([0, 1, 6]);
  const line = (cells) => cells.map((c, i) => (left.has(i) ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((n) => '-'.repeat(n)).join('  '), ...body.map(line)].join('\n');
}

export function jsonLine(meta, rows) {
  const round = (x) => (x == null ? x : Number(x.toPrecision(5)));
  const results = rows.map(({ w, res, checks, others }) => ({
    id: w.id,
    title: w.title,
    unit: w.unit,
    target: w.target ? { cmp: w.target.cmp, value: w.target.value } : w.overhead ? { overheadPctMax: w.overhead.max, baseline: w.overhead.baseline } : null,
    ...Object.fromEntries(
      Object.keys(res).map((l) => [
        l,
        { value: round(valueOf(w, res[l].median)), medianMs: round(res[l].median), minMs: round(res[l].min), maxMs: round(res[l].max), reps: res[l].reps },
      ]),
    ),
    timeRatioWasmgradToTfjsWasm: round(ratio(res)),
    ...(w.overhead ? { overheadPct: round(overheadPct(w, res)) } : {}),
    wasmgradVsTarget: verdict(w, res.wasmgrad, res),
    otherProcessesCpus: round(others),
    maxRelErr: Object.fromEntries(Object.entries(checks).map(([k, v]) => [k, round(v)])),
  }));
  return `BENCH_JSON ${JSON.stringify({ ...meta, results })}`;
}

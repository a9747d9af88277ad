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
  return w.target ? `${w.target.cmp === '<=' ? '≤' : '≥'} ${w.target.value} ${w.unit}` : '—';
}

/** 'meets' / 'MISSES' for wasmgrad's median against the target, or null without one. */
export function verdict(w, r) {
  if (!w.target || r === undefined) return null;
  const v = valueOf(w, r.median);
  return (w.target.cmp === '<=' ? v <= w.target.value : v >= w.target.value) ? 'meets' : 'MISSES';
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
    return [w.title, w.unit, ...LIBS.map((l) => cell(w, res[l])), r === null ? '—' : `${r.toFixed(2)}×`, targetText(w), verdict(w, res.wasmgrad) ?? '—'];
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
    target: w.target ? { cmp: w.target.cmp, value: w.target.value } : null,
    ...Object.fromEntries(
      LIBS.filter((l) => res[l]).map((l) => [
        l,
        { value: round(valueOf(w, res[l].median)), medianMs: round(res[l].median), minMs: round(res[l].min), maxMs: round(res[l].max), reps: res[l].reps },
      ]),
    ),
    timeRatioWasmgradToTfjsWasm: round(ratio(res)),
    wasmgradVsTarget: verdict(w, res.wasmgrad),
    otherProcessesCpus: round(others),
    maxRelErr: Object.fromEntries(Object.entries(checks).map(([k, v]) => [k, round(v)])),
  }));
  return `BENCH_JSON ${JSON.stringify({ ...meta, results })}`;
}

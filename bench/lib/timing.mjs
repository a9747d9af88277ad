// Warm-up, then timed repetitions taken in rounds that alternate between the libraries, so
// that load from other processes (builds, tests) hits every library alike instead of
// whichever happened to run during a burst. Reported: the median of wall times.
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// A full garbage collection before each library's turn (untimed), so that garbage one
// library left behind is not collected during the next library's timed runs.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc');

/** Each library runs this long per round (at least one repetition), then the next one's turn. */
const ROUND_MS = 250;

/**
 * `entries`: `[{ lib, run, enter, policy: { reps?, maxReps, minReps, budgetMs } }]`, where
 * `run()` is one synchronous repetition and `await enter()` makes the library current.
 * Warm-up per library: at least one run, more until `warmupMs` has passed (at most
 * `maxWarmup`). Then rounds until every library has `reps` samples if given, or else
 * `maxReps`, or at least `minReps` samples and `budgetMs` of timed runs.
 * Returns `{ [lib]: { median, min, max, reps, samples } }` (times in ms).
 */
export async function measure(entries, { warmupMs = 300, maxWarmup = 5 } = {}) {
  const state = entries.map((e) => ({ ...e, samples: [], rounds: [], spent: 0 }));
  for (const s of state) {
    await s.enter();
    collectGarbage();
    const start = performance.now();
    for (let i = 0; i < maxWarmup && (i === 0 || performance.now() - start < warmupMs); i++) s.run();
  }
  const active = ({ samples, spent, policy: p }) =>
    p.reps !== undefined ? samples.length < p.reps : samples.length < p.maxReps && !(samples.length >= p.minReps && spent >= p.budgetMs);
  for (let round = 0; state.some(active); round++) {
    for (const s of state) {
      if (!active(s)) continue;
      await s.enter();
      collectGarbage();
      const roundStart = performance.now();
      do {
        const t0 = performance.now();
        s.run();
        const dt = performance.now() - t0;
        s.samples.push(dt);
        s.rounds.push(round);
        s.spent += dt;
      } while (active(s) && performance.now() - roundStart < ROUND_MS);
    }
  }
  return Object.fromEntries(state.map((s) => [s.lib, summarize(s.samples, s.rounds)]));
}

/** The median of `xs` (not empty). */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** `rounds[i]`: the round sample i was taken in (libraries' turns in one round are adjacent in time). */
function summarize(samples, rounds) {
  const s = [...samples].sort((a, b) => a - b);
  return { median: median(s), min: s[0], max: s[s.length - 1], reps: s.length, samples, rounds };
}

/**
 * How many times faster `b` ran than `a`, from rounds both ran in: the median over those
 * rounds of (a's median in the round / b's median in the round). Turns in one round are
 * seconds apart at most, so a VM that slows down for a while slows both sides of a pair
 * alike, where the ratio of the overall medians would compare a slow stretch of one with a
 * fast stretch of the other. Falls back to that ratio with fewer than 3 shared rounds.
 */
export function pairedSpeedup(a, b) {
  const byRound = (r) => {
    const m = new Map();
    r.samples.forEach((x, i) => m.set(r.rounds[i], [...(m.get(r.rounds[i]) ?? []), x]));
    return m;
  };
  const ma = byRound(a);
  const mb = byRound(b);
  const ratios = [...ma.keys()].filter((k) => mb.has(k)).map((k) => median(ma.get(k)) / median(mb.get(k)));
  return ratios.length >= 3 ? median(ratios) : a.median / b.median;
}

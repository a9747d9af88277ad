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
  const state = entries.map((e) => ({ ...e, samples: [], spent: 0 }));
  for (const s of state) {
    await s.enter();
    collectGarbage();
    const start = performance.now();
    for (let i = 0; i < maxWarmup && (i === 0 || performance.now() - start < warmupMs); i++) s.run();
  }
  const active = ({ samples, spent, policy: p }) =>
    p.reps !== undefined ? samples.length < p.reps : samples.length < p.maxReps && !(samples.length >= p.minReps && spent >= p.budgetMs);
  while (state.some(active)) {
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
        s.spent += dt;
      } while (active(s) && performance.now() - roundStart < ROUND_MS);
    }
  }
  return Object.fromEntries(state.map((s) => [s.lib, summarize(s.samples)]));
}

function summarize(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1], reps: s.length, samples };
}

// A/B of two builds' thread speedups in one Node process: `--a` and `--b` are two dist/
// directories (say a copy of main's made before a change, and the worktree's), each loaded
// with its own threads-build instance and worker pool. Each workload runs on A and on B,
// at 1 and at N threads, interleaved rep by rep (the order alternates); printed per
// workload: median ms of each, the 1→N speedup of each, and the median of the per-rep
// B/A time ratios at N threads (below 1: B is faster); also the fastest rep of each (on a
// loaded machine, the closest to what a quiet one would show).
//
//   node scripts/ab-threads.mjs --a /tmp/main-dist --b dist [--threads 2] [--reps 21] [--only mlp,cnn,...]
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { workloads } from './ab-workloads.mjs';

const { values: opts } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string', default: new URL('../dist', import.meta.url).pathname },
    threads: { type: 'string', default: '2' },
    reps: { type: 'string', default: '21' },
    only: { type: 'string' },
  },
});
if (!opts.a) throw new Error('--a <dist dir> is needed');
const load = async (dir) => {
  const wg = await import(pathToFileURL(resolve(dir, 'node.js')).href);
  wg.tidy(() => wg.scalar(0).item());
  return wg;
};
const libs = { A: await load(opts.a), B: await load(opts.b) };
const N = Number(opts.threads);
const REPS = Number(opts.reps);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

for (const [name, make] of Object.entries(workloads)) {
  if (opts.only && !opts.only.split(',').includes(name)) continue;
  const runs = {};
  for (const [key, wg] of Object.entries(libs)) {
    wg.setNumThreads(N);
    const w = make(wg);
    // Calls per sample: about 5 ms per sample.
    let calls = 1;
    for (;;) {
      const t0 = performance.now();
      for (let i = 0; i < calls; i++) w.run();
      if (performance.now() - t0 > 5 || calls >= 1024) break;
      calls *= 2;
    }
    runs[key] = { wg, w, calls };
  }
  const t = { A1: [], AN: [], B1: [], BN: [] };
  const order = [['A', 1], ['B', 1], ['A', N], ['B', N]];
  for (let r = 0; r < REPS; r++) {
    for (const [key, n] of r % 2 ? [...order].reverse() : order) {
      const { wg, w, calls } = runs[key];
      wg.setNumThreads(n);
      w.run();
      const t0 = performance.now();
      for (let i = 0; i < calls; i++) w.run();
      t[`${key}${n === 1 ? 1 : 'N'}`].push((performance.now() - t0) / calls);
    }
  }
  for (const { w } of Object.values(runs)) w.dispose();
  const ratio = median(t.BN.map((b, i) => b / t.AN[i]));
  const sp = (k) => median(t[`${k}1`].map((one, i) => one / t[`${k}N`][i]));
  console.log(
    `${name.padEnd(28)} A: ${median(t.A1).toFixed(3)} → ${median(t.AN).toFixed(3)} ms (${sp('A').toFixed(2)}×)   ` +
      `B: ${median(t.B1).toFixed(3)} → ${median(t.BN).toFixed(3)} ms (${sp('B').toFixed(2)}×)   B/A at ${N} threads: ${ratio.toFixed(3)}` +
      `   (fastest reps: A ${Math.min(...t.A1).toFixed(3)} → ${Math.min(...t.AN).toFixed(3)}, B ${Math.min(...t.B1).toFixed(3)} → ${Math.min(...t.BN).toFixed(3)})`,
  );
}

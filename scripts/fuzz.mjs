#!/usr/bin/env node
// npm run fuzz -- --runs N [--seed S] [--simd simd128|relaxed-simd]
//
// Runs N random programs of the differential fuzzer (test/fuzz.test.ts, checked against
// the float64 reference of test/fuzz/) from seed S (default: random), in vitest against
// the built core (run `npm run build` first). A failing program is shrunk by fast-check
// and saved as test/fuzz/regressions/seed<S>-run<K>.json, which `npm test` then replays.
// FUZZ_BREAK=<op> (environment) corrupts that op's reference, to see a failure end to end.
import { spawnSync } from 'node:child_process';
import { opt, root, runsAndSeed } from './fuzz-args.mjs';

const { runs, seed } = runsAndSeed(2000);
const simd = opt('simd', 'simd128');
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(seed) || !['simd128', 'relaxed-simd'].includes(simd)) {
  console.error('usage: npm run fuzz -- --runs N [--seed S] [--simd simd128|relaxed-simd]');
  process.exit(2);
}

console.log(`fuzz: ${runs} programs, seed ${seed}, ${simd} build`);
const res = spawnSync(
  'npx',
  ['vitest', 'run', 'test/fuzz.test.ts', '--project', simd, '--testTimeout', '86400000', '-t', 'random programs', '--reporter', 'default'],
  {
    cwd: root,
    env: { ...process.env, FUZZ_RUNS: String(runs), FUZZ_SEED: String(seed), FUZZ_SAVE: '1' },
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  },
);
const out = `${res.stdout}\n${res.stderr}`;
const line = out.split('\n').find((l) => l.includes('FUZZ_RESULT '));
if (!line) {
  process.stdout.write(out);
  console.error('fuzz: no result line (did the build or the test file fail to load?)');
  process.exit(1);
}
const result = JSON.parse(line.slice(line.indexOf('FUZZ_RESULT ') + 'FUZZ_RESULT '.length));
if (result.failed) {
  const msg = out.split('\n').filter((l) => /failed \(after|^program:|saved as/.test(l.replace(/\x1b\[[0-9;]*m/g, '').trim()));
  console.log(msg.map((l) => l.replace(/\x1b\[[0-9;]*m/g, '').trim()).join('\n'));
  console.log(`fuzz: FAILED at program ${result.runs} of seed ${seed} (${result.seconds} s)`);
  process.exit(1);
}
console.log(
  `fuzz: ${result.programs} programs passed (${result.steps} steps, ${result.gradChecked} gradient elements checked, ` +
    `${result.gradSkipped} skipped at kinks, expected errors ${JSON.stringify(result.errors)}) in ${result.seconds} s`,
);

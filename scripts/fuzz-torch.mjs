#!/usr/bin/env node
// node scripts/fuzz-torch.mjs --runs N [--seed S]   (local only: needs python3 with torch)
//
// Generates N fuzz programs (test/fuzz/), runs them in wasmgrad (through vitest, against the
// built core: `npm run build` first), then replays them in PyTorch float64 with
// scripts/fuzz_torch.py, which compares every step's values and the gradients, and prints
// the count run and the failures. PYTHON overrides the interpreter (default python3).
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { root, runsAndSeed } from './fuzz-args.mjs';

const { runs, seed } = runsAndSeed(1000);
mkdirSync(join(root, 'target'), { recursive: true });
const file = join(root, 'target', `fuzz-torch-${seed}.json`);

console.log(`fuzz-torch: ${runs} programs, seed ${seed}`);
const vt = spawnSync(
  'npx',
  ['vitest', 'run', 'test/fuzz.test.ts', '--project', 'simd128', '--testTimeout', '86400000', '-t', 'export programs', '--reporter', 'default'],
  { cwd: root, env: { ...process.env, FUZZ_RUNS: String(runs), FUZZ_SEED: String(seed), FUZZ_EXPORT: file }, encoding: 'utf8', maxBuffer: 1 << 28 },
);
if (!`${vt.stdout}`.includes('FUZZ_EXPORTED')) {
  process.stdout.write(`${vt.stdout}\n${vt.stderr}`);
  console.error('fuzz-torch: exporting the programs failed');
  process.exit(1);
}
const py = spawnSync(process.env.PYTHON ?? 'python3', [join(root, 'scripts', 'fuzz_torch.py'), file], { cwd: root, stdio: 'inherit' });
process.exit(py.status ?? 1);

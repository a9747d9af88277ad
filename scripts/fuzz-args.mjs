// The command-line options shared by scripts/fuzz.mjs and scripts/fuzz-torch.mjs.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** `--name value` from the command line, or `fallback`. */
export function opt(name, fallback) {
  const args = process.argv.slice(2);
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
}

/** `--runs N` (default `defaultRuns`) and `--seed S` (default: random). */
export function runsAndSeed(defaultRuns) {
  return {
    runs: Number(opt('runs', String(defaultRuns))),
    seed: Number(opt('seed', String(Math.floor(Math.random() * 2 ** 31)))),
  };
}

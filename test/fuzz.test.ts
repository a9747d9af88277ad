// Differential fuzzing: random programs (ops over broadcast, empty, size-1 and
// non-contiguous shapes, disposals, noGrad, backward/grad) checked against the float64
// reference interpreter of test/fuzz/ (see test/fuzz/check.ts for what is compared).
// CI runs FUZZ_RUNS (2000) programs from a fixed seed; `npm run fuzz -- --runs N --seed S`
// runs more and saves each failure, shrunk, under test/fuzz/regressions/, which the
// second test here replays.
import { readdirSync, readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkProgram, FuzzFailure, runWasm, type CheckStats } from './fuzz/check.js';
import { concretize, rawProgramArb, type Program } from './fuzz/program.js';
import { memory, PoisonedError } from '../ts/node.js';

const poisoned = (): boolean => {
  try {
    memory();
    return false;
  } catch (err) {
    return err instanceof PoisonedError;
  }
};

const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261203);
const SAVE = process.env.FUZZ_SAVE === '1';
const REGRESSIONS = fileURLToPath(new URL('./fuzz/regressions/', import.meta.url));

describe('differential fuzzing against the float64 reference', () => {
  it(`${RUNS} random programs (seed ${SEED})`, () => {
    const totals = { programs: 0, steps: 0, gradChecked: 0, gradSkipped: 0, errors: {} as Record<string, number>, ops: {} as Record<string, number> };
    const t0 = performance.now();
    const result = fc.check(
      fc.property(rawProgramArb, (raw) => {
        // After a trap the instance is poisoned for good: every later program would fail, so
        // shrinking stops there and the program that trapped is the one reported.
        if (poisoned()) return;
        const prog = concretize(raw);
        const s: CheckStats = checkProgram(prog);
        totals.programs++;
        totals.steps += prog.steps.length;
        for (const st of prog.steps) totals.ops[st.op] = (totals.ops[st.op] ?? 0) + 1;
        totals.gradChecked += s.gradChecked;
        totals.gradSkipped += s.gradSkipped;
        if (s.expectedError) totals.errors[s.expectedError] = (totals.errors[s.expectedError] ?? 0) + 1;
      }),
      { numRuns: RUNS, seed: SEED },
    );
    const seconds = ((performance.now() - t0) / 1000).toFixed(1);
    if (result.failed) {
      const prog = concretize(result.counterexample![0]);
      const message = result.errorInstance instanceof FuzzFailure ? result.errorInstance.message : String(result.errorInstance);
      let saved = '';
      if (SAVE) {
        mkdirSync(REGRESSIONS, { recursive: true });
        const file = `${REGRESSIONS}seed${SEED}-run${result.numRuns}.json`;
        writeFileSync(file, `${JSON.stringify({ seed: SEED, path: result.counterexamplePath, failure: message, program: prog }, null, 1)}\n`);
        saved = `\nsaved as ${file}`;
      }
      console.log(`FUZZ_RESULT ${JSON.stringify({ failed: true, runs: result.numRuns, seed: SEED, seconds })}`);
      expect.fail(
        `program ${result.numRuns} of seed ${SEED} failed (after ${result.numShrinks} shrinks): ${message}\n` +
          `program: ${JSON.stringify(prog)}${saved}`,
      );
    }
    console.log(`FUZZ_RESULT ${JSON.stringify({ failed: false, runs: result.numRuns, seed: SEED, seconds, ...totals })}`);
    expect(totals.programs).toBeGreaterThanOrEqual(RUNS);
  });

  // scripts/fuzz-torch.mjs: runs programs in wasmgrad and exports them with wasmgrad's
  // results, for scripts/fuzz_torch.py to replay in PyTorch (local only, never in CI; the
  // test exists only when asked for, so a normal run skips nothing).
  const EXPORT = process.env.FUZZ_EXPORT;
  if (EXPORT) it('export programs and wasmgrad results for PyTorch', () => {
    const plain = (v: { shape: number[]; data: Float64Array; dtype: string } | null | undefined) =>
      v ? { shape: v.shape, data: Array.from(v.data, (x) => (Number.isFinite(x) ? x : String(x))), dtype: v.dtype } : null;
    const out = fc.sample(rawProgramArb, { numRuns: RUNS, seed: SEED }).map((raw) => {
      const program = concretize(raw);
      const run = runWasm(program);
      const err = run.error?.err as Error | undefined;
      return {
        program,
        wasm: {
          values: run.values.map(plain),
          requiresGrad: run.requiresGrad,
          error: run.error ? { at: run.error.at, name: err?.name, message: err?.message } : null,
          grads: run.grads.map((m) => Object.fromEntries([...m].map(([id, g]) => [id, plain(g)]))),
        },
      };
    });
    writeFileSync(EXPORT!, JSON.stringify(out));
    console.log(`FUZZ_EXPORTED ${out.length}`);
  });

  const files = (() => {
    try {
      return readdirSync(REGRESSIONS).filter((f) => f.endsWith('.json')).sort();
    } catch {
      return [];
    }
  })();
  it.skipIf(files.length === 0).each(files)('regression %s', (file) => {
    const { program } = JSON.parse(readFileSync(`${REGRESSIONS}${file}`, 'utf8')) as { program: Program };
    checkProgram(program);
  });
});

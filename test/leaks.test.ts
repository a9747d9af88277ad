// Leak help: debug mode records where live tensors were made (leakReport), and a
// FinalizationRegistry frees tensors that were garbage-collected without dispose().
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isDebug, keep, leakReport, memory, scalar, setDebug, tensor, tidy } from '../ts/node.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Runs GC and lets finalization callbacks run, until `done()` or a bound of rounds. */
async function collect(done: () => boolean): Promise<void> {
  for (let round = 0; round < 50 && !done(); round++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function leakSomewhere(n: number): void {
  for (let i = 0; i < n; i++) tensor([i, i + 1]);
}

afterEach(() => setDebug(false));

describe('debug mode and leakReport()', () => {
  it('groups live tensors by the line that created them, most first', () => {
    setDebug(true);
    expect(isDebug()).toBe(true);
    const made = [tensor([1]), tensor([2]), tensor([3])];
    const four = scalar(4);
    const other = four.add(1);
    const report = leakReport();
    expect(report[0]!.count).toBe(3);
    expect(report[0]!.site).toMatch(/leaks\.test\.ts:\d+/);
    expect(report[0]!.shapes).toHaveLength(3);
    const total = report.reduce((n, s) => n + s.count, 0);
    expect(total).toBeGreaterThanOrEqual(4);
    for (const t of [...made, four]) t.dispose();
    // What was disposed is gone from the report.
    expect(leakReport().map((s) => s.count)).toEqual([1]);
    other.dispose();
    expect(leakReport()).toEqual([]);
  });

  it('records nothing with debug mode off', () => {
    setDebug(false);
    const t = tensor([1]);
    expect(leakReport()).toEqual([]);
    t.dispose();
  });
});

describe('the garbage-collection safety net', () => {
  it('frees the wasm memory of tensors collected without dispose(), and warns with the site in debug mode', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const before = memory().numTensors;
    setDebug(true);
    leakSomewhere(20);
    expect(memory().numTensors).toBe(before + 20);
    await collect(() => memory().numTensors === before);
    expect(memory().numTensors).toBe(before);
    expect(warn).toHaveBeenCalled();
    expect(String(warn.mock.calls[0]![0])).toMatch(/created at leakSomewhere .*leaks\.test\.ts:\d+.*garbage-collected without dispose\(\)/);
    warn.mockRestore();
  });

  it('also frees tensors that left their tidy (returned from the outermost one, or kept) and were then dropped', async () => {
    const before = memory().numTensors;
    (() => {
      tidy(() => tidy(() => tensor([1, 2])));
      tidy(() => {
        keep(tensor([3]));
      });
    })();
    expect(memory().numTensors).toBe(before + 2);
    await collect(() => memory().numTensors === before);
    expect(memory().numTensors).toBe(before);
  });

  it('never frees a tensor that is still reachable, nor one twice', async () => {
    const kept = tensor([1, 2, 3]);
    const x = tensor([1, 2], { requiresGrad: true });
    tidy(() => x.mul(2).sum().backward());
    let grad = x.grad; // a view owned by x: collecting it must not free x's gradient
    grad = null;
    void grad;
    await collect(() => false);
    expect(kept.toArray()).toEqual([1, 2, 3]);
    expect(Array.from(x.grad!.data())).toEqual([2, 2]);
    kept.dispose();
    x.dispose();
    await collect(() => false);
  });
});

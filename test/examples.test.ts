// Runs the examples as a user would (`node examples/…`, importing 'wasmgrad' from dist/
// through the package's self-reference) and checks the numbers they print.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readHeaderFile } from '../ts/node.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function run(script: string, ...args: string[]): string {
  return execFileSync(process.execPath, [script, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
}

/** All numbers in a printed tensor such as 'tensor([ 8., 12.])'. */
function tensorValues(line: string): number[] {
  const m = /tensor\(\[([^\]]*)\]/.exec(line);
  expect(m, `no tensor in: ${line}`).not.toBeNull();
  return m![1]!.split(',').map((s) => Number(s.trim()));
}

interface EpochLine {
  epoch: number;
  w: number;
  b: number;
  loss: number;
}

function parseRegression(stdout: string) {
  const epochs: EpochLine[] = [];
  for (const m of stdout.matchAll(/^epoch\s+(\d+): w = (-?[\d.]+), b = (-?[\d.]+), loss = ([\d.e+-]+)$/gm)) {
    epochs.push({ epoch: Number(m[1]), w: Number(m[2]), b: Number(m[3]), loss: Number(m[4]) });
  }
  const after = /^after (\d+) epochs: w = (-?[\d.]+), b = (-?[\d.]+)$/m.exec(stdout);
  const prediction = /^prediction for x = 8: (-?[\d.]+) \(true value 81\)$/m.exec(stdout);
  expect(after, stdout).not.toBeNull();
  expect(prediction, stdout).not.toBeNull();
  return {
    epochs,
    total: Number(after![1]),
    w: Number(after![2]),
    b: Number(after![3]),
    prediction: Number(prediction![1]),
    predictionText: prediction![1]!,
  };
}

describe('examples (node examples/*.mjs)', () => {
  it('dist/ is built (the examples import it as "wasmgrad")', () => {
    expect(existsSync(new URL('../dist/node.js', import.meta.url))).toBe(true);
    expect(existsSync(new URL('../dist/wasmgrad.wasm', import.meta.url))).toBe(true);
  });

  it('higher-order.mjs prints 3x² and 6x, converges by Newton, and shows a custom function and a hook', () => {
    const out = run('examples/higher-order.mjs');
    const line = (prefix: string) => {
      const l = out.split('\n').find((s) => s.startsWith(prefix));
      expect(l, `no line starting with ${prefix} in:\n${out}`).toBeDefined();
      return l!;
    };
    expect(tensorValues(line('dy/dx'))).toEqual([0.75, 12, 27]);
    expect(tensorValues(line('d²y/dx²'))).toEqual([3, -12, 18]);
    // f(x) = x⁴ − 3x² + x has a local minimum at the root of 4x³ − 6x + 1 near 1.1309.
    const x = Number(/x = (-?[\d.]+)/.exec(line('newton step 6'))![1]);
    expect(Math.abs(4 * x ** 3 - 6 * x + 1)).toBeLessThan(1e-4);
    expect(line('round(w)')).toContain('y.gradFn = SumBackward0');
    expect(tensorValues(line('round(w)').split('w.grad = ')[1]!)).toEqual([1, 2, 3]);
    expect(tensorValues(line('clipped w.grad'))).toEqual([5, -5, 2]);
  });

  it('seed-gradients.mjs prints f, a.grad = [8, 12] and b.grad = [12, 8]', () => {
    const out = run('examples/seed-gradients.mjs');
    const lines = out.trim().split('\n');
    const f = lines.find((l) => l.startsWith('f = '));
    const ga = lines.find((l) => l.startsWith('a.grad = '));
    const gb = lines.find((l) => l.startsWith('b.grad = '));
    expect(f).toBeDefined();
    expect(ga).toBeDefined();
    expect(gb).toBeDefined();
    expect(tensorValues(f!)).toEqual([44, 34]);
    expect(f).toContain('grad_fn=<AddBackward0>');
    expect(tensorValues(ga!)).toEqual([8, 12]);
    expect(tensorValues(gb!)).toEqual([12, 8]);
    expect(ga).toContain('tensor([ 8., 12.])');
    expect(gb).toContain('tensor([12.,  8.])');
  });

  it('linear-regression.mjs (500 epochs) prints a loss line every 50 epochs and the fitted line', () => {
    const r = parseRegression(run('examples/linear-regression.mjs'));
    expect(r.epochs.map((e) => e.epoch)).toEqual([0, 50, 100, 150, 200, 250, 300, 350, 400, 450]);
    expect(Math.abs(r.epochs[0]!.loss - 2081.0) / 2081.0).toBeLessThan(1e-4);
    expect(Math.abs(r.epochs[1]!.loss - 0.13058) / 0.13058).toBeLessThan(1e-4);
    for (let i = 2; i < r.epochs.length; i++) expect(r.epochs[i]!.loss).toBeLessThan(r.epochs[i - 1]!.loss);
    expect(r.total).toBe(500);
    expect(Math.abs(r.w - 9.9712)).toBeLessThanOrEqual(1e-3);
    expect(Math.abs(r.b - 1.1427)).toBeLessThanOrEqual(1e-3);
    expect(Math.abs(r.prediction - 80.912)).toBeLessThanOrEqual(1e-3);
    expect(r.predictionText).toMatch(/^\d+\.\d{3}$/); // printed with 3 decimals
  });

  it('linear-regression.mjs --epochs 2000 predicts 81.000', () => {
    const r = parseRegression(run('examples/linear-regression.mjs', '--epochs', '2000'));
    expect(r.total).toBe(2000);
    expect(r.epochs).toHaveLength(40);
    expect(Math.abs(r.epochs[0]!.loss - 2081.0) / 2081.0).toBeLessThan(1e-4);
    expect(r.epochs[39]!.epoch).toBe(1950);
    expect(r.predictionText).toBe('81.000');
    expect(Math.abs(r.prediction - 81)).toBeLessThanOrEqual(0.01);
    expect(Math.abs(r.w - 10)).toBeLessThan(1e-3);
  });
});

describe('examples/mlp-classifier.mjs', () => {
  it('trains the MLP with crossEntropy and Adam: the loss falls and accuracy is high', () => {
    const out = run('examples/mlp-classifier.mjs');
    const losses = [...out.matchAll(/^epoch\s+\d+: loss = ([\d.]+)$/gm)].map((m) => Number(m[1]));
    expect(losses).toHaveLength(5);
    expect(losses[0]!).toBeGreaterThan(1);
    expect(losses[4]!).toBeLessThan(0.2);
    const accuracy = Number(/training accuracy: ([\d.]+)%/.exec(out)?.[1]);
    expect(accuracy).toBeGreaterThanOrEqual(90);
  });
});

describe('examples/mlp-module.mjs', () => {
  it('prints the model, trains an nn.Sequential-based Module with Adam, and restores it from its state dict', () => {
    const out = run('examples/mlp-module.mjs');
    expect(out).toContain('Classifier(\n  (features): Sequential(\n    (0): Linear(in_features=2, out_features=32, bias=True)');
    expect(out).toContain('Parameters: 1,251 (trainable: 1,251)');
    const losses = [...out.matchAll(/^epoch\s+\d+: loss = ([\d.]+)$/gm)].map((m) => Number(m[1]));
    expect(losses).toHaveLength(5);
    expect(losses[0]!).toBeGreaterThan(1);
    expect(losses[4]!).toBeLessThan(0.25);
    const accuracy = Number(/^training accuracy: ([\d.]+)%/m.exec(out)?.[1]);
    expect(accuracy).toBeGreaterThanOrEqual(90);
    expect(out).toContain('state dict: features.0.weight, features.0.bias, features.3.weight, features.3.bias, head.weight, head.bias');
    expect(Number(/^restored accuracy: ([\d.]+)%/m.exec(out)?.[1])).toBe(accuracy);
  });
});

// MNIST smoke runs: a few hundred digits and one epoch (the full runs are `npm run example`).
describe.each([
  ['mnist-mlp', 'Linear(in_features=784, out_features=256, bias=True)'],
  ['mnist-cnn', 'Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))'],
])('examples/%s.mjs (smoke run: 400 digits, 1 epoch)', (name, firstLayer) => {
  it('trains on real digits (the held-out loss falls), saves as safetensors, and the reloaded model predicts the same', () => {
    const dir = mkdtempSync(join(tmpdir(), `wasmgrad-${name}-`));
    try {
      const file = join(dir, 'model.safetensors');
      const out = run(`examples/${name}.mjs`, '--epochs', '1', '--train', '400', '--test', '200', '--out', file);
      expect(out).toContain('MNIST from the mnist package: 400 training and 200 held-out digits');
      expect(out).toContain(`(0): ${firstLayer}`);
      const before = Number(/^before training: test loss ([\d.]+)$/m.exec(out)?.[1]);
      expect(before).toBeGreaterThan(2); // ≈ ln 10 for an untrained classifier
      const epochs = [...out.matchAll(/^epoch\s+(\d+): train loss ([\d.]+), test loss ([\d.]+), test accuracy ([\d.]+)%, (\d+) samples\/s$/gm)];
      expect(epochs, out).toHaveLength(1);
      const [, epoch, trainLoss, testLoss, accuracy, rate] = epochs[0]!.map(Number) as number[];
      expect(epoch).toBe(1);
      expect(trainLoss).toBeLessThan(before);
      expect(testLoss).toBeLessThan(before);
      expect(accuracy).toBeGreaterThan(10); // better than chance after 13 steps (not a target)
      expect(rate).toBeGreaterThan(0);
      expect(existsSync(file)).toBe(true);
      expect(readHeaderFile(file).tensors.map((t) => t.name)).toContain('0.weight');
      expect(out).toContain('reloaded model predicts the same as the trained one on all 200 held-out digits: true');
      const reloaded = Number(/reloaded test accuracy ([\d.]+)%/.exec(out)?.[1]);
      expect(reloaded).toBe(accuracy);
      const preds = /reloaded +([\d ]+)$/m.exec(out)?.[1]!.trim().split(' ');
      expect(preds).toHaveLength(10);
      // Seeded: a second run prints the same numbers (apart from the timing).
      const again = run(`examples/${name}.mjs`, '--epochs', '1', '--train', '400', '--test', '200', '--out', file);
      const strip = (s: string) => s.replace(/\d+(\.\d+)? samples\/s.*$/gm, '').replace(/(trained in|done in) [\d.]+ ?s/g, '');
      expect(strip(again)).toBe(strip(out));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

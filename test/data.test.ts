// TensorDataset, DataLoader (batches, dropLast, seeded shuffles, who frees a batch),
// RandomGenerator, and the Progress display's output.
import { describe, expect, it } from 'vitest';
import {
  arange, ArgumentError, DataLoader, keep, memory, Progress, RandomGenerator, ShapeError, tensor, TensorDataset, tidy,
  type ProgressStream, type Tensor,
} from '../ts/node.js';
import { thrown } from './helpers/snapshot.js';

/** x: [n, 2] with rows [i, 10 i]; y: [n] int32 with i. */
function data(n: number): { x: Tensor; y: Tensor; ds: TensorDataset<[Tensor, Tensor]> } {
  const x = tensor(Array.from({ length: n }, (_, i) => [i, 10 * i]).flat(), { shape: [n, 2] });
  const y = arange(n, undefined, 1, { dtype: 'int32' });
  return { x, y, ds: new TensorDataset(x, y) };
}

/** Every batch of an epoch as plain values. */
function epoch(loader: DataLoader<[Tensor, Tensor]>): { x: number[][]; y: number[] }[] {
  const out: { x: number[][]; y: number[] }[] = [];
  for (const [xb, yb] of loader) out.push({ x: xb.toArray() as number[][], y: Array.from(yb.data()) });
  return out;
}

describe('RandomGenerator', () => {
  it('is xoshiro128** (reference outputs from the state [1, 2, 3, 4])', () => {
    const g = new RandomGenerator(0);
    Object.assign(g, { s0: 1, s1: 2, s2: 3, s3: 4 });
    expect(Array.from({ length: 10 }, () => g.nextUint32())).toEqual([
      11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849, 3729100597, 4258142804,
    ]);
  });

  it('is reproducible from a seed, and seeds differ', () => {
    const seq = (seed: number) => {
      const g = new RandomGenerator(seed);
      return Array.from({ length: 4 }, () => g.nextUint32());
    };
    expect(seq(42)).toEqual(seq(42));
    const seeds = [0, 1, 2, 2 ** 32, 2 ** 32 + 1, 2 ** 53 - 1];
    const firsts = new Set(seeds.map((s) => seq(s).join(',')));
    expect(firsts.size).toBe(seeds.length);
    expect(seq(0)).toMatchInlineSnapshot(`
      [
        3307388638,
        4242607524,
        575889791,
        743476078,
      ]
    `);
    for (const bad of [-1, 1.5, 2 ** 53, NaN]) expect(thrown(() => new RandomGenerator(bad))).toBeInstanceOf(ArgumentError);
  });

  it('draws unbiased integers, uniform floats and permutations', () => {
    const g = new RandomGenerator(7);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60000; i++) counts[g.int(6)]++;
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(400);
    for (let i = 0; i < 1000; i++) {
      const r = g.random();
      expect(r >= 0 && r < 1).toBe(true);
    }
    expect(g.int(1)).toBe(0);
    expect(g.int(2 ** 32)).toBeLessThan(2 ** 32);
    for (let n = 0; n < 50; n++) {
      const p = g.permutation(n);
      expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    }
    // Every position sees every value about equally often.
    const seen = Array.from({ length: 4 }, () => new Array(4).fill(0));
    for (let i = 0; i < 8000; i++) g.permutation(4).forEach((v, pos) => seen[pos]![v]++);
    for (const row of seen) for (const c of row) expect(Math.abs(c - 2000)).toBeLessThan(200);
    expect(thrown(() => g.int(0))).toBeInstanceOf(ArgumentError);
    expect(thrown(() => g.permutation(-1))).toBeInstanceOf(ArgumentError);
  });
});

describe('TensorDataset', () => {
  it('holds samples along the first dim and returns one with get()', () => {
    const { x, y, ds } = data(5);
    expect(ds.length).toBe(5);
    expect(ds.tensors).toEqual([x, y]);
    const [xi, yi] = ds.get(3);
    expect([xi.shape, xi.toArray(), yi.shape, yi.item(), yi.dtype]).toEqual([[2], [3, 30], [], 3, 'int32']);
    for (const t of [xi, yi, x, y]) t.dispose();
  });

  it('rejects mismatched, 0-d or no tensors and bad indices', () => {
    tidy(() => {
      expect(thrown(() => new TensorDataset(tensor([1, 2]), tensor([1, 2, 3]))).message).toBe(
        'TensorDataset: all tensors need the same first dimension; tensor 0 has 2 samples (shape [2]), tensor 1 has shape [3]',
      );
      expect(thrown(() => new TensorDataset(tensor(1)))).toBeInstanceOf(ShapeError);
      expect(thrown(() => new TensorDataset())).toBeInstanceOf(ArgumentError);
      expect(thrown(() => new TensorDataset([1] as unknown as Tensor))).toBeInstanceOf(ArgumentError);
      const ds = new TensorDataset(tensor([1, 2]));
      for (const bad of [2, -1, 0.5]) expect(thrown(() => ds.get(bad))).toBeInstanceOf(ArgumentError);
    });
  });
});

describe('DataLoader', () => {
  it('yields batches in order, the last one short unless dropLast', () => {
    const { x, y, ds } = data(10);
    const loader = new DataLoader(ds, { batchSize: 3 });
    expect(loader.length).toBe(4);
    const batches = epoch(loader);
    expect(batches.map((b) => b.y)).toEqual([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]);
    expect(batches[3]!.x).toEqual([[9, 90]]);
    const dropped = new DataLoader(ds, { batchSize: 3, dropLast: true });
    expect(dropped.length).toBe(3);
    expect(epoch(dropped).map((b) => b.y)).toEqual([[0, 1, 2], [3, 4, 5], [6, 7, 8]]);
    expect(new DataLoader(ds).length).toBe(10);
    expect(new DataLoader(ds, { batchSize: 10, dropLast: true }).length).toBe(1);
    expect(new DataLoader(ds, { batchSize: 11, dropLast: true }).length).toBe(0);
    expect(epoch(new DataLoader(ds, { batchSize: 11, dropLast: true }))).toEqual([]);
    expect(epoch(new DataLoader(ds, { batchSize: 11 })).map((b) => b.y.length)).toEqual([10]);
    x.dispose();
    y.dispose();
  });

  it('handles an empty dataset and keeps dtypes and trailing shapes', () => {
    tidy(() => {
      const empty = new DataLoader(new TensorDataset(tensor(new Float32Array(0), { shape: [0, 3] })), { batchSize: 4, shuffle: true, seed: 1 });
      expect(empty.length).toBe(0);
      expect([...empty]).toEqual([]);
      const images = arange(2 * 1 * 2 * 2).reshape(2, 1, 2, 2);
      const masks = tensor([true, false]);
      const shapes: unknown[] = [];
      for (const [a, m] of new DataLoader(new TensorDataset(images, masks), { batchSize: 2 })) shapes.push(a.shape, m.shape, m.dtype);
      expect(shapes).toEqual([[2, 1, 2, 2], [2], 'bool']);
    });
  });

  it('copies int32 and bool rows exactly (indexSelect takes float32 only), also from strided views', () => {
    const got = tidy(() => {
      const ints = tensor([[2147483647, -2147483648, 16777217], [1, 2, 3]], { dtype: 'int32' }).t(); // [3, 2], strided
      const mask = tensor([[true, false, true], [false, false, true]]).t();
      const floats = arange(6).reshape(2, 3).t();
      const out: unknown[] = [];
      for (const [i, m, f] of new DataLoader(new TensorDataset(ints, mask, floats), { batchSize: 2, shuffle: true, seed: 4 })) {
        out.push([i.dtype, m.dtype, f.dtype, i.toArray(), m.toArray(), f.toArray()]);
      }
      return out;
    });
    const rows = { i: [[2147483647, 1], [-2147483648, 2], [16777217, 3]], m: [[true, false], [false, false], [true, true]], f: [[0, 3], [1, 4], [2, 5]] };
    const order = Array.from(new RandomGenerator(4).permutation(3));
    const pick = <V>(r: V[], from: number, to: number) => order.slice(from, to).map((k) => r[k]!);
    expect(got).toEqual([
      ['int32', 'bool', 'float32', pick(rows.i, 0, 2), pick(rows.m, 0, 2), pick(rows.f, 0, 2)],
      ['int32', 'bool', 'float32', pick(rows.i, 2, 3), pick(rows.m, 2, 3), pick(rows.f, 2, 3)],
    ]);
  });

  it('shuffles reproducibly from a seed: each epoch a permutation, epochs different', () => {
    const { x, y, ds } = data(50);
    const run = (seed: number) => {
      const loader = new DataLoader(ds, { batchSize: 8, shuffle: true, seed });
      return [epoch(loader), epoch(loader)] as const;
    };
    const [a1, a2] = run(123);
    const [b1, b2] = run(123);
    expect(a1).toEqual(b1);
    expect(a2).toEqual(b2);
    expect(a1).not.toEqual(a2);
    expect(run(124)[0]).not.toEqual(a1);
    for (const e of [a1, a2]) {
      expect(e.map((b) => b.y.length)).toEqual([8, 8, 8, 8, 8, 8, 2]);
      const order = e.flatMap((b) => b.y);
      expect([...order].sort((p, q) => p - q)).toEqual(Array.from({ length: 50 }, (_, i) => i));
      expect(order).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
      // x and y stay paired.
      e.forEach((b) => b.x.forEach((row, i) => expect(row).toEqual([b.y[i], 10 * b.y[i]!])));
    }
    // A shared generator: two loaders drawing from equal generators agree, epoch by epoch.
    const g1 = new DataLoader(ds, { batchSize: 8, shuffle: true, generator: new RandomGenerator(5) });
    const g2 = new DataLoader(ds, { batchSize: 8, shuffle: true, generator: new RandomGenerator(5) });
    expect(epoch(g1)).toEqual(epoch(g2));
    expect(epoch(g1)).toEqual(epoch(g2));
    // The shuffle is the generator's permutation.
    const perm = Array.from(new RandomGenerator(9).permutation(50));
    expect(epoch(new DataLoader(ds, { batchSize: 50, shuffle: true, seed: 9 }))[0]!.y).toEqual(perm);
    // dropLast drops the short batch of the shuffled order.
    expect(epoch(new DataLoader(ds, { batchSize: 8, shuffle: true, seed: 1, dropLast: true })).map((b) => b.y.length)).toEqual([8, 8, 8, 8, 8, 8]);
    x.dispose();
    y.dispose();
  });

  it('frees each batch when the next is asked for or the loop ends, unless kept', () => {
    const { x, y, ds } = data(10);
    const loader = new DataLoader(ds, { batchSize: 2, shuffle: true, seed: 3 });
    const base = memory().numTensors;
    const seen: Tensor[] = [];
    for (const [xb, yb] of loader) {
      expect(memory().numTensors).toBe(base + 2); // only the current batch is alive
      for (const t of seen) expect(t.isDisposed).toBe(true);
      seen.push(xb, yb);
    }
    expect(seen.every((t) => t.isDisposed)).toBe(true);
    expect(memory().numTensors).toBe(base);
    // break and exceptions end the epoch too.
    for (const [xb] of loader) {
      seen.push(xb);
      break;
    }
    expect(seen.at(-1)!.isDisposed).toBe(true);
    expect(() => {
      for (const [xb] of loader) {
        seen.push(xb);
        throw new Error('boom');
      }
    }).toThrow('boom');
    expect(seen.at(-1)!.isDisposed).toBe(true);
    expect(memory().numTensors).toBe(base);
    // keep() makes a batch tensor the caller's.
    let kept: Tensor | null = null;
    for (const [xb] of loader) kept ??= keep(xb);
    expect(kept!.isDisposed).toBe(false);
    expect(memory().numTensors).toBe(base + 1);
    kept!.dispose();
    // Inside a tidy, with the step in a tidy of its own: nothing accumulates.
    tidy(() => {
      for (let e = 0; e < 3; e++) {
        for (const [xb, yb] of loader) {
          tidy(() => xb.sum().add(yb.to('float32').sum()).item());
          expect(memory().numTensors).toBe(base + 2);
        }
      }
    });
    expect(memory().numTensors).toBe(base);
    x.dispose();
    y.dispose();
  });

  it('rejects bad options', () => {
    const { x, y, ds } = data(4);
    for (const batchSize of [0, 1.5, -2]) expect(thrown(() => new DataLoader(ds, { batchSize }))).toBeInstanceOf(ArgumentError);
    expect(thrown(() => new DataLoader(ds, { shuffle: true, seed: 1, generator: new RandomGenerator(1) })).message).toBe('DataLoader: give a seed or a generator, not both');
    expect(thrown(() => new DataLoader(ds, { shuffle: true, seed: -1 }))).toBeInstanceOf(ArgumentError);
    expect(thrown(() => new DataLoader([x, y] as unknown as TensorDataset<[Tensor, Tensor]>))).toBeInstanceOf(ArgumentError);
    expect(new DataLoader(ds, { seed: 1 }).generator).toBeNull();
    x.dispose();
    y.dispose();
  });
});

describe('Progress', () => {
  /** A stream that records what is written, and a clock the test advances. */
  function setup(isTTY: boolean) {
    const out: string[] = [];
    const stream: ProgressStream = { write: (s: string) => out.push(s), isTTY, columns: 80 };
    const clock = { t: 0 };
    return { out, stream, clock, now: () => clock.t };
  }

  it('prints plain lines when not a terminal: a tenth of the epoch apart, and a last one', () => {
    const { out, stream, clock, now } = setup(false);
    const { x, y, ds } = data(40);
    const loader = new DataLoader(ds, { batchSize: 2 });
    const progress = new Progress({ epochs: 2, stream, now });
    for (let e = 0; e < 2; e++) {
      for (const [xb] of progress.epoch(loader)) {
        clock.t += 10; // 2 samples per 10 ms: 200 samples/s
        progress.loss(tidy(() => xb.sum().item() as number) / 100);
      }
    }
    const text = out.join('');
    expect(text.includes('\r')).toBe(false);
    const lines = text.trimEnd().split('\n');
    expect(lines.length).toBe(2 * 10);
    expect(lines.slice(0, 2)).toEqual([
      'epoch 1/2  step 2/20  loss 0.3300  200 samples/s',
      'epoch 1/2  step 4/20  loss 0.7700  200 samples/s',
    ]);
    expect(lines[9]).toBe('epoch 1/2  step 20/20  loss 4.2900  200 samples/s  done in 0.2s');
    expect(lines[10]).toBe('epoch 2/2  step 2/20  loss 0.3300  200 samples/s');
    for (const line of lines) expect(line).toMatch(/^epoch [12]\/2  step \d+\/20  loss \d\.\d{4}  200 samples\/s(  done in 0\.2s)?$/);
    x.dispose();
    y.dispose();
  });

  it('counts steps of any iterable, prints a line per `every` steps, ends early on break', () => {
    const { out, stream, clock, now } = setup(false);
    const progress = new Progress({ stream, now, every: 3 });
    function* numbers() {
      for (let i = 0; i < 100; i++) yield i;
    }
    for (const i of progress.epoch(numbers())) {
      clock.t += 1000;
      if (i === 6) break;
    }
    expect(out.join('')).toBe(
      'epoch 1  step 3  1.0 samples/s\nepoch 1  step 6  1.0 samples/s\nepoch 1  step 6  0.9 samples/s  done in 7.0s\n',
    );
    expect(thrown(() => progress.loss(1)).message).toMatch(/no epoch is running/);
    expect(thrown(() => new Progress({ every: 0 }))).toBeInstanceOf(ArgumentError);
  });

  it('redraws one line with a bar in a terminal', () => {
    const { out, stream, clock, now } = setup(true);
    const progress = new Progress({ epochs: 3, stream, now });
    const loss = tensor(0.5);
    for (const _ of progress.epoch(Array.from({ length: 10 }, () => [loss]))) {
      clock.t += 50; // a draw every second step (at most one per 100 ms)
      progress.loss(loss);
      if (clock.t === 250) progress.log('halfway');
    }
    loss.dispose();
    expect(out.length).toBeGreaterThan(3);
    expect(out.every((s) => s.startsWith('\r\x1b[K'))).toBe(true);
    expect(out[0]).toBe('\r\x1b[Kepoch 1/3 [###---------------------------] 1/10  loss 0.5000  20.0 samples/s');
    expect(out).toContain('\r\x1b[Khalfway\n');
    expect(out.at(-1)).toBe('\r\x1b[Kepoch 1/3  step 10/10  loss 0.5000  20.0 samples/s  done in 0.5s\n');
    expect(out.slice(0, -1).filter((s) => s.endsWith('\n'))).toEqual(['\r\x1b[Khalfway\n']);
  });
});

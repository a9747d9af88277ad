// Freed tensor buffers of 256 KiB and more are kept (a few, up to 64 MiB) and handed to the
// next output of the same length that a kernel overwrites in full, which saves the zero
// fill. What must hold: no stale value ever shows in a result, the kept buffers count as
// free memory (heapBytes, availableBytes), and they never make an allocation fail.
import { afterEach, describe, expect, it } from 'vitest';
import { avgPool2d, conv2d, full, matmul, maxPool2d, setMemoryLimit, tensor, tidy, wasmMemory, where, zeros, type Tensor } from '../ts/node.js';

/** Float32 elements of a buffer that is recycled (the threshold is 65 536). */
const BIG = 1 << 17;
const seq = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(0.37 * i) * 2));

/** Frees a few NaN-filled tensors of `n` elements, so the next outputs of that length are recycled. */
function poison(n: number, count = 3): void {
  const held = Array.from({ length: count }, () => full([n], Number.NaN));
  for (const t of held) t.dispose();
}

afterEach(() => setMemoryLimit(null));

describe('recycled tensor buffers', () => {
  it('relu, add, mul, neg and a copy (of a strided view) of a recycled length give exactly the fresh results', () => tidy(() => {
    const values = seq(BIG);
    const x = tensor(values);
    const y = tensor(values.map((v) => v * 0.5 - 1));
    const cases: [string, () => ReturnType<typeof x.relu>, (i: number) => number][] = [
      ['relu', () => x.relu(), (i) => Math.max(values[i]!, 0)],
      ['add', () => x.add(y), (i) => Math.fround(values[i]! + y.data()[i]!)],
      ['mul by a number', () => x.mul(3), (i) => Math.fround(values[i]! * 3)],
      ['neg of a strided view', () => x.reshape([BIG / 2, 2]).t().neg(), (i) => -values[(i % (BIG / 2)) * 2 + Math.floor(i / (BIG / 2))]!],
      ['contiguous copy of a strided view', () => x.reshape([BIG / 2, 2]).t().clone(), (i) => values[(i % (BIG / 2)) * 2 + Math.floor(i / (BIG / 2))]!],
    ];
    const yValues = y.data();
    for (const [name, run, want] of cases) {
      poison(BIG);
      const out = run();
      const got = out.data();
      let bad = -1;
      for (let i = 0; i < BIG; i++) {
        const w = name === 'add' ? Math.fround(values[i]! + yValues[i]!) : want(i);
        if (!Object.is(got[i], w) && !(got[i] === 0 && w === 0)) {
          bad = i;
          break;
        }
      }
      expect(bad, `${name}: first wrong element`).toBe(-1);
    }
  }));

  it('matmul, conv2d, maxPool2d and softmax outputs of a recycled length hold no stale value', () => tidy(() => {
    const a = tensor(seq(256 * 300), { shape: [256, 300] });
    const b = tensor(seq(300 * 512), { shape: [300, 512] });
    const fresh = matmul(a, b).data().slice();
    poison(256 * 512);
    const again = matmul(a, b);
    expect(Array.from(again.data())).toEqual(Array.from(fresh));

    const x = tensor(seq(4 * 8 * 32 * 32), { shape: [4, 8, 32, 32] });
    const w = tensor(seq(16 * 8 * 9), { shape: [16, 8, 3, 3] });
    const conv = conv2d(x, w, null, { padding: 1 }).data().slice();
    const pool = maxPool2d(x, 2).data().slice();
    poison(4 * 16 * 32 * 32);
    poison(4 * 8 * 16 * 16);
    const conv2 = conv2d(x, w, null, { padding: 1 });
    expect(conv2.data().some(Number.isNaN)).toBe(false);
    expect(Array.from(conv2.data())).toEqual(Array.from(conv));
    const pool2 = maxPool2d(x, 2);
    expect(Array.from(pool2.data())).toEqual(Array.from(pool));
    // Large enough to be split among threads in the threads build (with and without indices).
    const big = tensor(seq(4 * 16 * 64 * 64), { shape: [4, 16, 64, 64] });
    const bigPool = maxPool2d(big, 2).data().slice();
    poison(4 * 16 * 32 * 32);
    expect(Array.from(maxPool2d(big, 2).data())).toEqual(Array.from(bigPool));
    const leafBig = tensor(seq(4 * 16 * 64 * 64), { shape: [4, 16, 64, 64], requiresGrad: true });
    poison(4 * 16 * 32 * 32);
    expect(Array.from(maxPool2d(leafBig, 2).data())).toEqual(Array.from(bigPool));
    const soft = x.softmax(-1).data().slice();
    poison(4 * 8 * 32 * 32);
    expect(Array.from(x.softmax(-1).data())).toEqual(Array.from(soft));
  }));

  it('every vectorised map and zip gives the same bits on a recycled buffer of an odd length (tails included)', () => tidy(() => {
    const n = BIG + 3;
    const x = tensor(seq(n));
    const y = tensor(seq(n).map((v) => v * 0.7 + 0.25));
    const ops: [string, () => Tensor][] = [
      ['exp', () => x.exp()], ['log', () => x.abs().log()], ['sigmoid', () => x.sigmoid()], ['tanh', () => x.tanh()],
      ['gelu', () => x.gelu()], ['gelu tanh', () => x.gelu({ approximate: 'tanh' })], ['expm1', () => x.expm1()],
      ['silu', () => x.silu()], ['softplus', () => x.softplus()], ['relu', () => x.relu()], ['sqrt', () => x.sqrt()],
      ['pow 2', () => x.pow(2)], ['pow 1.5', () => x.pow(1.5)], ['clamp', () => x.clamp(-0.5, 0.5)],
      ['maximum', () => x.maximum(y)], ['sub', () => x.sub(y)], ['div', () => x.div(y)], ['gt', () => x.gt(y)],
      ['where', () => where(x.gt(0), x, y)],
    ];
    const bits = (t: Tensor) => new Uint32Array(Float32Array.from(t.data() as ArrayLike<number>).buffer);
    for (const [name, run] of ops) {
      const fresh = bits(run());
      poison(n);
      const again = bits(run());
      expect(again.findIndex((b, i) => b !== fresh[i]), `${name}: first element that differs`).toBe(-1);
    }
    const img = x.narrow(0, 0, 8 * 4 * 32 * 32).reshape([8, 4, 32, 32]);
    const pooled = avgPool2d(img, 2).data().slice();
    poison(8 * 4 * 16 * 16);
    expect(Array.from(avgPool2d(img, 2).data()), 'avgPool2d').toEqual(Array.from(pooled));
  }));

  it('kept buffers count as free: heapBytes returns to where it was after a dispose', () => {
    const before = wasmMemory();
    poison(BIG * 4);
    const after = wasmMemory();
    expect(after.heapBytes).toBeLessThanOrEqual(before.heapBytes + 4096);
    expect(after.availableBytes).toBeGreaterThanOrEqual(before.availableBytes - 4096);
  });

  it('never make an allocation fail: under a memory limit, freed room is there for other sizes', () => {
    const limit = wasmMemory().heapBytes + (6 << 20);
    setMemoryLimit(limit);
    // 4 MiB freed and kept, then 5 MiB of another length: fits only if the kept 4 MiB go.
    poison(1 << 20, 1);
    const other = zeros([5 << 18]);
    expect(other.shape).toEqual([5 << 18]);
    other.dispose();
    // A limit is accepted relative to heapBytes, which leaves the kept buffers out.
    poison(1 << 20, 1);
    expect(() => setMemoryLimit(wasmMemory().heapBytes + (1 << 20))).not.toThrow();
  });
});

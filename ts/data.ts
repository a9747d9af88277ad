/**
 * Datasets and batching: {@link TensorDataset} (samples along the first dim of some
 * tensors), {@link DataLoader} (batches of them, optionally shuffled, reproducible from a
 * seed) and {@link RandomGenerator} (the seeded generator behind the shuffle).
 * @module
 */
import { tensor } from './creation.js';
import { op } from './dispatch.js';
import { ArgumentError, ShapeError } from './errors.js';
import { lib } from './ffi.js';
import { Tensor } from './tensor.js';

// ---- random numbers -----------------------------------------------------------------

/** murmur3's 32-bit finalizer: a bijection on uint32 that mixes every bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A small seeded random generator (xoshiro128**, a 32-bit generator with a period of
 * 2¹²⁸ − 1), for reproducible shuffling in plain TypeScript. It is independent of
 * `manualSeed`, which seeds the core's generator behind `rand`, `randn` and `dropout`.
 * Equal seeds give equal sequences on every platform.
 *
 * @example
 * const g = new RandomGenerator(42);
 * g.permutation(5); // Int32Array [ … ] — the same five numbers every run
 */
export class RandomGenerator {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** `seed`: an integer from 0 to 2⁵³ − 1; different seeds give different states. */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new ArgumentError(`RandomGenerator: the seed must be an integer from 0 to 2^53 - 1, got ${seed}`);
    }
    // (s0, s1) is a bijection of the seed's low and high words, so seeds never collide,
    // and s1 is never 0 (the high word is below 2^21), so the state is never all zeros.
    this.s0 = fmix32(seed >>> 0);
    this.s1 = fmix32((Math.floor(seed / 2 ** 32) + 0x9e3779b9) >>> 0);
    this.s2 = fmix32(this.s0 ^ 0x6a09e667);
    this.s3 = fmix32(this.s1 ^ 0xbb67ae85);
  }

  /** The next uniformly distributed 32-bit unsigned integer. */
  nextUint32(): number {
    const s1 = this.s1;
    const rotated = Math.imul(s1, 5);
    const result = Math.imul((rotated << 7) | (rotated >>> 25), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return result;
  }

  /** A uniform number in [0, 1) with 53 random bits. */
  random(): number {
    const high = this.nextUint32() >>> 5; // 27 bits
    const low = this.nextUint32() >>> 6; // 26 bits
    return (high * 2 ** 26 + low) / 2 ** 53;
  }

  /** A uniform integer in [0, n), without modulo bias; `n` from 1 to 2³². */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 2 ** 32) throw new ArgumentError(`RandomGenerator.int: n must be an integer from 1 to 2^32, got ${n}`);
    const limit = 2 ** 32 - (2 ** 32 % n); // the largest multiple of n that fits
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** A uniformly random permutation of 0 … n−1 (Fisher–Yates). */
  permutation(n: number): Int32Array {
    if (!Number.isInteger(n) || n < 0 || n > 2 ** 31 - 1) throw new ArgumentError(`RandomGenerator.permutation: n must be a non-negative int32, got ${n}`);
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const v = p[i]!;
      p[i] = p[j]!;
      p[j] = v;
    }
    return p;
  }
}

// ---- datasets -----------------------------------------------------------------------

/**
 * Samples along the first dimension of one or more tensors of equal length, as
 * `torch.utils.data.TensorDataset`: sample `i` is `[x[i], y[i], …]`. The dataset only
 * refers to the tensors; they stay yours (keep them alive while it is used, dispose them
 * after).
 *
 * @example
 * const data = new TensorDataset(x, y);   // x: [N, 784] float32, y: [N] int32
 */
export class TensorDataset<T extends readonly Tensor[] = Tensor[]> {
  /** The tensors, as given. */
  readonly tensors: T;

  constructor(...tensors: T) {
    if (tensors.length === 0) throw new ArgumentError('TensorDataset: expected at least one tensor');
    tensors.forEach((t, i) => {
      if (!(t instanceof Tensor)) throw new ArgumentError(`TensorDataset: argument ${i} is not a Tensor`);
      t.handleFor('TensorDataset');
      if (t.ndim === 0) throw new ShapeError(`TensorDataset: tensor ${i} is 0-d; samples are taken along the first dimension`);
    });
    const n = tensors[0]!.shape[0]!;
    tensors.forEach((t, i) => {
      if (t.shape[0] !== n) {
        throw new ShapeError(`TensorDataset: all tensors need the same first dimension; tensor 0 has ${n} samples (shape [${tensors[0]!.shape.join(', ')}]), tensor ${i} has shape [${t.shape.join(', ')}]`);
      }
    });
    this.tensors = tensors;
  }

  /** The number of samples. */
  get length(): number {
    return this.tensors[0]!.shape[0]!;
  }

  /** Sample `index`: one new tensor per dataset tensor, without the first dimension (yours). */
  get(index: number): T {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new ArgumentError(`TensorDataset.get: index ${index} is out of range for ${this.length} samples`);
    }
    const batch = this.batch(Int32Array.of(index));
    try {
      return batch.map((t) => t.reshape(t.shape.slice(1))) as unknown as T; // views of the batch's data
    } finally {
      for (const t of batch) t.dispose();
    }
  }

  /**
   * @internal The samples at `indices` (valid row numbers), as new tensors (the caller's):
   * one `indexSelect` per float32 tensor; int32 and bool tensors, which `indexSelect` does
   * not take, by copying their rows in wasm memory (exact for any value). Nothing is left
   * allocated if one fails.
   */
  batch(indices: Int32Array): Tensor[] {
    const out: Tensor[] = [];
    let index: Tensor | null = null;
    try {
      for (const t of this.tensors) {
        if (t.dtype === 'float32') {
          index ??= tensor(indices, { dtype: 'int32' });
          out.push(t.indexSelect(0, index));
        } else {
          out.push(copyRows(t, indices));
        }
      }
    } catch (err) {
      for (const t of out) t.dispose();
      throw err;
    } finally {
      index?.dispose();
    }
    return out;
  }
}

/** Rows `indices` of `t` (int32 or bool) along dim 0, copied in wasm memory. */
function copyRows(t: Tensor, indices: Int32Array): Tensor {
  const shape = t.shape;
  const out = op('full', [indices.length, ...shape.slice(1)], 0, t.dtype);
  if (out.size === 0) return out;
  try {
    const c = lib();
    // The destination first: the source's address may be a contiguous copy of a strided
    // view, valid only until the next wg_data_ptr call.
    const dst = c.raw.wg_data_ptr(out.handle) >>> 0;
    if (dst === 0) throw c.lastError();
    const src = c.raw.wg_data_ptr(t.handleFor('DataLoader')) >>> 0;
    if (src === 0) throw c.lastError();
    const row = (out.size / indices.length) * (t.dtype === 'bool' ? 1 : 4);
    const bytes = new Uint8Array(c.raw.memory.buffer);
    for (let i = 0; i < indices.length; i++) {
      const from = src + indices[i]! * row;
      bytes.copyWithin(dst + i * row, from, from + row);
    }
  } catch (err) {
    out.dispose();
    throw err;
  }
  return out;
}

// ---- the loader ---------------------------------------------------------------------

/** Options of {@link DataLoader}. */
export interface DataLoaderOptions {
  /** Samples per batch (default 1). */
  batchSize?: number;
  /** Reorder the samples at the start of every epoch (default false). */
  shuffle?: boolean;
  /**
   * Seeds the shuffle: the loader makes its own {@link RandomGenerator} from it, so the
   * order of every epoch is reproducible (epochs differ from each other). Without a seed
   * or a generator, shuffling is seeded from `Math.random()`.
   */
  seed?: number;
  /** Draws the shuffle from this generator instead (shared state, as a `torch.Generator`). */
  generator?: RandomGenerator;
  /** Skip the last batch if it has fewer than `batchSize` samples (default false). */
  dropLast?: boolean;
}

/**
 * Batches of a {@link TensorDataset}, as `torch.utils.data.DataLoader`: iterate it once per
 * epoch. Each batch is an array with one tensor per dataset tensor (first dim the batch
 * size), of the same dtype, gathered with one `indexSelect` per float32 tensor (int32 and
 * bool rows are copied directly).
 *
 * **Ownership: the loader owns each batch and frees it when the loop asks for the next one
 * or ends** (including `break` and exceptions), so a plain loop leaks nothing. To use a
 * batch tensor after that, `keep()` it (then it is yours to dispose) or `clone()` it.
 *
 * @example
 * const loader = new DataLoader(new TensorDataset(x, y), { batchSize: 64, shuffle: true, seed: 0 });
 * for (let epoch = 0; epoch < 10; epoch++) {
 *   for (const [xb, yb] of loader) {
 *     tidy(() => { opt.zeroGrad(); crossEntropy(model(xb), yb).backward(); opt.step(); });
 *   }
 * }
 */
export class DataLoader<T extends readonly Tensor[] = Tensor[]> implements Iterable<T> {
  readonly dataset: TensorDataset<T>;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  /** The generator the shuffle draws from (null without `shuffle`). */
  readonly generator: RandomGenerator | null;

  constructor(dataset: TensorDataset<T>, options: DataLoaderOptions = {}) {
    if (!(dataset instanceof TensorDataset)) throw new ArgumentError('DataLoader: expected a TensorDataset');
    const { batchSize = 1, shuffle = false, dropLast = false, seed, generator } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new ArgumentError(`DataLoader: batchSize must be a positive integer, got ${batchSize}`);
    if (seed !== undefined && generator !== undefined) throw new ArgumentError('DataLoader: give a seed or a generator, not both');
    if (generator !== undefined && !(generator instanceof RandomGenerator)) throw new ArgumentError('DataLoader: generator must be a RandomGenerator');
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = Boolean(shuffle);
    this.dropLast = Boolean(dropLast);
    this.generator = !this.shuffle ? null : (generator ?? new RandomGenerator(seed ?? Math.floor(Math.random() * 2 ** 53)));
  }

  /** The number of batches in an epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** One epoch of batches; a shuffled loader draws a new order each time this is called. */
  *[Symbol.iterator](): Iterator<T, undefined> {
    const n = this.dataset.length;
    const order = this.generator !== null ? this.generator.permutation(n) : null;
    const count = this.length;
    let current: Tensor[] = [];
    try {
      for (let b = 0; b < count; b++) {
        release(current);
        current = [];
        const start = b * this.batchSize;
        const end = Math.min(start + this.batchSize, n);
        let indices: Int32Array;
        if (order !== null) {
          indices = order.subarray(start, end);
        } else {
          indices = new Int32Array(end - start);
          for (let i = 0; i < indices.length; i++) indices[i] = start + i;
        }
        current = this.dataset.batch(indices);
        yield current as unknown as T;
      }
    } finally {
      release(current);
    }
    return undefined;
  }
}

/** Frees a batch's tensors, except those the caller `keep()`-ed. */
function release(batch: readonly Tensor[]): void {
  for (const t of batch) if (!t.kept) t.dispose();
}

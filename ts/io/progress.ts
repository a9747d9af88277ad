/**
 * A progress display for training loops: epoch, step, loss and samples per second; a bar
 * redrawn in place when the output is a terminal, plain lines otherwise (logs, CI). It
 * imports nothing from Node (browser bundles stay clean): it writes to `process.stdout`
 * when there is one (found at run time), else to `console.log`, or to any stream you pass.
 * @module
 */
import { ArgumentError } from '../errors.js';
import { Tensor } from '../tensor.js';

/** Where {@link Progress} writes: Node's `process.stdout`, or anything with `write`. */
export interface ProgressStream {
  write(text: string): unknown;
  /** True for a terminal: the bar is redrawn in place. */
  isTTY?: boolean;
  /** The terminal's width, which the bar fits in. */
  columns?: number;
}

/** Options of {@link Progress}. */
export interface ProgressOptions {
  /** The number of epochs, shown as `epoch 3/10` (omitted: `epoch 3`). */
  epochs?: number;
  /** Default: `process.stdout` in Node, else lines to `console.log`. */
  stream?: ProgressStream;
  /** Force the redrawn bar (true) or plain lines (false); default: the stream's `isTTY`. */
  tty?: boolean;
  /**
   * Plain lines: one every this many steps (default: a tenth of the epoch, or 100 when the
   * batches have no `length`), plus one when the epoch ends.
   */
  every?: number;
  /** The clock, in milliseconds (default `performance.now`); for tests. */
  now?: () => number;
}

interface EpochState {
  index: number;
  total: number | null;
  step: number;
  samples: number;
  lossSum: number;
  lossCount: number;
  start: number;
  lastDraw: number;
}

/**
 * Shows training progress. Wrap each epoch's batches in {@link Progress.epoch}, which
 * counts steps and samples (the first dimension of a batch's first tensor), and report each
 * step's loss with {@link Progress.loss}; the loss shown is the mean of those reported in
 * the epoch so far. In a terminal one line is redrawn at most ten times a second:
 *
 *     epoch 2/10 [##########----------] 120/240  loss 0.4312  5120 samples/s
 *
 * otherwise (a file, a pipe, CI) plain lines are printed, and a last one per epoch:
 *
 *     epoch 2/10  step 24/240  loss 0.5021  4980 samples/s
 *     epoch 2/10  step 240/240  loss 0.4312  5120 samples/s  done in 1.5s
 *
 * @example
 * const progress = new Progress({ epochs: 10 });
 * for (let epoch = 0; epoch < 10; epoch++) {
 *   for (const [x, y] of progress.epoch(loader)) {
 *     progress.loss(tidy(() => { … ; return loss.item(); }));
 *   }
 * }
 */
export class Progress {
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly epochs: number | null;
  private readonly every: number | undefined;
  private readonly now: () => number;
  private epochCount = 0;
  private current: EpochState | null = null;
  /** The terminal line currently drawn (to clear it before a log line). */
  private drawn = false;

  constructor(options: ProgressOptions = {}) {
    const { epochs, every } = options;
    if (epochs !== undefined && (!Number.isInteger(epochs) || epochs < 1)) throw new ArgumentError(`Progress: epochs must be a positive integer, got ${epochs}`);
    if (every !== undefined && (!Number.isInteger(every) || every < 1)) throw new ArgumentError(`Progress: every must be a positive integer, got ${every}`);
    this.stream = options.stream ?? defaultStream();
    this.tty = options.tty ?? this.stream.isTTY === true;
    this.epochs = epochs ?? null;
    this.every = every;
    this.now = options.now ?? (() => performance.now());
  }

  /**
   * Iterates `batches` (a `DataLoader`, or any iterable; its `length`, if any, is the
   * epoch's total), counting a step each time the loop body for a batch has run, and
   * prints the epoch's last line when the loop ends (also by `break`).
   */
  *epoch<B>(batches: Iterable<B> & { length?: number }): Generator<B, undefined, undefined> {
    const length = batches.length;
    const start = this.now();
    const state: EpochState = {
      index: ++this.epochCount,
      total: typeof length === 'number' && Number.isInteger(length) && length >= 0 ? length : null,
      step: 0,
      samples: 0,
      lossSum: 0,
      lossCount: 0,
      start,
      lastDraw: -Infinity,
    };
    this.current = state;
    const every = this.every ?? (state.total !== null ? Math.max(1, Math.ceil(state.total / 10)) : 100);
    try {
      for (const batch of batches) {
        yield batch;
        state.step++;
        state.samples += samplesIn(batch);
        if (this.tty) {
          const t = this.now();
          if (t - state.lastDraw >= 100) {
            state.lastDraw = t;
            this.draw(state);
          }
        } else if (state.step % every === 0 && state.step !== state.total) {
          this.stream.write(`${this.line(state)}\n`);
        }
      }
    } finally {
      const done = `${this.line(state)}  done in ${formatSeconds((this.now() - state.start) / 1000)}`;
      if (this.tty) this.draw(state, done);
      else this.stream.write(`${done}\n`);
      this.drawn = false;
      if (this.current === state) this.current = null;
    }
    return undefined;
  }

  /** Reports the loss of the current step (a number, or a one-element tensor, read with `item()`). */
  loss(value: number | Tensor): void {
    const v = value instanceof Tensor ? Number(value.item()) : value;
    if (typeof v !== 'number') throw new ArgumentError(`Progress.loss: expected a number or a tensor, got ${typeof v}`);
    const state = this.current;
    if (state === null) throw new ArgumentError('Progress.loss: no epoch is running (iterate progress.epoch(batches))');
    state.lossSum += v;
    state.lossCount++;
  }

  /** Prints a line (above the bar in a terminal). */
  log(message: string): void {
    if (this.tty && this.drawn) {
      this.stream.write(`\r\x1b[K${message}\n`);
      if (this.current !== null) this.draw(this.current);
    } else {
      this.stream.write(`${message}\n`);
    }
  }

  private head(state: EpochState): string {
    return `epoch ${state.index}${this.epochs !== null ? `/${this.epochs}` : ''}`;
  }

  /** The fields after the step: loss and throughput. */
  private tail(state: EpochState): string {
    let out = '';
    if (state.lossCount > 0) out += `  loss ${formatLoss(state.lossSum / state.lossCount)}`;
    const seconds = (this.now() - state.start) / 1000;
    if (seconds > 0 && state.samples > 0) out += `  ${formatRate(state.samples / seconds)} samples/s`;
    return out;
  }

  private line(state: EpochState): string {
    return `${this.head(state)}  step ${state.step}${state.total !== null ? `/${state.total}` : ''}${this.tail(state)}`;
  }

  private draw(state: EpochState, final?: string): void {
    let text: string;
    if (final !== undefined) {
      text = final;
    } else {
      const counts = `${state.step}${state.total !== null ? `/${state.total}` : ''}`;
      const tail = this.tail(state);
      let bar = '';
      if (state.total !== null && state.total > 0) {
        const room = (this.stream.columns ?? 80) - this.head(state).length - counts.length - tail.length - 5;
        const width = Math.max(0, Math.min(30, room));
        if (width >= 5) {
          const filled = Math.round((width * Math.min(state.step, state.total)) / state.total);
          bar = ` [${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
        }
      }
      text = `${this.head(state)}${bar} ${counts}${tail}`;
    }
    this.stream.write(`\r\x1b[K${text}${final !== undefined ? '\n' : ''}`);
    this.drawn = final === undefined;
  }
}

/** The batch size of a batch: the first dimension of its (first) tensor, else 1. */
function samplesIn(batch: unknown): number {
  const first = Array.isArray(batch) ? batch[0] : batch;
  if (first instanceof Tensor && !first.isDisposed && first.ndim > 0) return first.shape[0]!;
  return 1;
}

function formatLoss(v: number): string {
  const a = Math.abs(v);
  return a === 0 || (a >= 1e-3 && a < 1e5) || !Number.isFinite(v) ? v.toFixed(4) : v.toExponential(3);
}

function formatRate(r: number): string {
  return r >= 100 ? String(Math.round(r)) : r.toFixed(1);
}

function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s - m * 60)).padStart(2, '0')}s`;
}

function defaultStream(): ProgressStream {
  const stdout = (globalThis as { process?: { stdout?: ProgressStream } }).process?.stdout;
  if (stdout !== undefined && typeof stdout.write === 'function') return stdout;
  return { write: (text: string) => console.log(text.replace(/\n$/, '')), isTTY: false };
}

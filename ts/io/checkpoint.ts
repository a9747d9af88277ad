/**
 * Training checkpoints: a model's state dict, its optimizer's state and its learning-rate
 * scheduler's state in one safetensors file, so training resumes bit-identically.
 * Pure TypeScript, browser-safe (`saveCheckpointFile`/`loadCheckpointFile` are Node's).
 *
 * Layout of the file:
 * - `model.<name>`: each tensor of `model.stateDict()` (`model.0.weight`, `model.1.running_mean`, …);
 * - `optimizer.state.<index>.<name>`: each optimizer state tensor, by parameter index and
 *   PyTorch's name (`optimizer.state.0.exp_avg`, `optimizer.state.3.momentum_buffer`);
 * - `__metadata__`, strings: `wasmgrad.checkpoint` (the format version, `"1"`),
 *   `wasmgrad.optimizer` (JSON: `{ type, param_groups, state }`, PyTorch's names, `state`
 *   holding the non-tensor entries such as `step`), `wasmgrad.scheduler` (JSON:
 *   `{ type, state }`), and the caller's own metadata.
 * @module
 */
import { ArgumentError } from '../errors.js';
import { dispose } from '../memory.js';
import { Module } from '../nn/module.js';
import type { LRScheduler, SchedulerStateDict } from '../optim/lr_scheduler.js';
import {
  fromPyTorchNames, Optimizer, toPyTorchNames, type OptimizerStateDict, type PyTorchOptimizerStateDict,
} from '../optim/optimizer.js';
import { Tensor } from '../tensor.js';
import { FormatError, load, readHeader, save } from './safetensors.js';

/** The checkpoint format version written in `__metadata__['wasmgrad.checkpoint']`. */
export const CHECKPOINT_VERSION = '1';

const KEY_VERSION = 'wasmgrad.checkpoint';
const KEY_OPTIMIZER = 'wasmgrad.optimizer';
const KEY_SCHEDULER = 'wasmgrad.scheduler';
const RESERVED = 'wasmgrad.';
const MODEL = 'model.';
const OPT_STATE = 'optimizer.state.';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyOptimizer = Optimizer<any>;

/** What {@link saveCheckpoint} saves and {@link loadCheckpoint} restores. */
export interface CheckpointParts {
  model: Module;
  optimizer?: AnyOptimizer;
  scheduler?: LRScheduler;
}

/** Options of {@link saveCheckpoint}. */
export interface SaveCheckpointOptions extends CheckpointParts {
  /** Your own strings (epoch, notes, …), stored in `__metadata__`; keys may not start with `wasmgrad.`. */
  metadata?: Record<string, string>;
}

/** What {@link loadCheckpoint} returns. */
export interface LoadedCheckpoint {
  /** The caller's metadata saved with the checkpoint (`{}` if none). */
  metadata: Record<string, string>;
}

/** JSON text of plain data; a non-finite number (which JSON cannot hold) throws. */
function toJson(what: string, value: unknown): string {
  return JSON.stringify(value, (k, v: unknown) => {
    if (typeof v === 'number' && !Number.isFinite(v)) {
      throw new ArgumentError(`saveCheckpoint: the ${what} holds a non-finite number (${v}${k ? ` at '${k}'` : ''}), which JSON cannot store`);
    }
    return v;
  });
}

/** The optimizer's class as its error messages name it (stable under minification, unlike `constructor.name`). */
const optimizerType = (o: AnyOptimizer): string => (o as unknown as { label: string }).label;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Serializes a model's state dict and, if given, its optimizer's and scheduler's states
 * into the bytes of one safetensors file (float32 tensors written exactly as F32). The
 * model, optimizer and scheduler are only read.
 *
 * @example
 * const bytes = saveCheckpoint({ model, optimizer: opt, scheduler: sched, metadata: { epoch: '3' } });
 */
export function saveCheckpoint(parts: SaveCheckpointOptions): Uint8Array {
  const { model, optimizer, scheduler, metadata } = checkParts('saveCheckpoint', parts);
  const meta: Record<string, string> = {};
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) throw new ArgumentError('saveCheckpoint: metadata must be a plain object of strings');
    for (const [k, v] of Object.entries(metadata)) {
      if (k.startsWith(RESERVED)) throw new ArgumentError(`saveCheckpoint: metadata key ${JSON.stringify(k)} is reserved (keys starting with '${RESERVED}' are the checkpoint's)`);
      if (typeof v !== 'string') throw new ArgumentError(`saveCheckpoint: metadata values must be strings, got ${typeof v} for ${JSON.stringify(k)}`);
      meta[k] = v;
    }
  }
  meta[KEY_VERSION] = CHECKPOINT_VERSION;
  const tensors = new Map<string, Tensor>();
  for (const [name, t] of Object.entries(model.stateDict({ clone: false }))) tensors.set(MODEL + name, t);
  let owned: OptimizerStateDict | null = null;
  try {
    if (optimizer !== undefined) {
      owned = optimizer.stateDict();
      const sd = toPyTorchNames(owned);
      const state: Record<string, Record<string, unknown>> = {};
      for (const [index, entry] of Object.entries(sd.state)) {
        const rest: Record<string, unknown> = {};
        for (const [name, v] of Object.entries(entry)) {
          if (v instanceof Tensor) tensors.set(`${OPT_STATE}${index}.${name}`, v);
          else rest[name] = v;
        }
        state[index] = rest;
      }
      meta[KEY_OPTIMIZER] = toJson('optimizer state', { type: optimizerType(optimizer), param_groups: sd.param_groups, state });
    }
    if (scheduler !== undefined) {
      meta[KEY_SCHEDULER] = toJson('scheduler state', { type: scheduler.constructor.name, state: scheduler.stateDict() });
    }
    return save(tensors, { metadata: meta });
  } finally {
    if (owned !== null) dispose(owned.state);
  }
}

function checkParts<T extends CheckpointParts>(op: string, parts: T): T {
  if (!isPlainObject(parts)) throw new ArgumentError(`${op}: expected { model, optimizer?, scheduler? }`);
  if (!(parts.model instanceof Module)) throw new ArgumentError(`${op}: model must be an nn.Module`);
  if (parts.optimizer !== undefined && !(parts.optimizer instanceof Optimizer)) throw new ArgumentError(`${op}: optimizer must be an Optimizer`);
  if (parts.scheduler !== undefined) {
    const s = parts.scheduler as unknown;
    if (s === null || typeof s !== 'object' || typeof (s as LRScheduler).stateDict !== 'function' || typeof (s as LRScheduler).loadStateDict !== 'function') {
      throw new ArgumentError(`${op}: scheduler must be a learning-rate scheduler`);
    }
    if (parts.optimizer !== undefined && (s as LRScheduler).optimizer !== parts.optimizer) {
      throw new ArgumentError(`${op}: the scheduler belongs to a different optimizer`);
    }
  }
  return parts;
}

function parseJson(key: string, text: string | undefined): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text ?? '');
  } catch {
    throw new FormatError(`loadCheckpoint: __metadata__['${key}'] is not valid JSON`);
  }
  if (!isPlainObject(v)) throw new FormatError(`loadCheckpoint: __metadata__['${key}'] must be a JSON object`);
  return v;
}

/**
 * Restores a checkpoint written by {@link saveCheckpoint} into `model` (and `optimizer`,
 * `scheduler` if given: a checkpoint saved without them cannot restore them). Returns the
 * caller's metadata.
 *
 * All or nothing: the file, the model's names, shapes and dtypes, the optimizer's type,
 * groups and state, and the scheduler's type and keys are checked first; on any error it
 * throws (`FormatError` for a file that is not a checkpoint, `ArgumentError`, …) and the
 * model, optimizer and scheduler are as they were. The tensors it reads are freed.
 *
 * @example
 * const { metadata } = loadCheckpoint(bytes, { model, optimizer: opt, scheduler: sched });
 */
export function loadCheckpoint(bytes: Uint8Array | ArrayBuffer, parts: CheckpointParts): LoadedCheckpoint {
  const op = 'loadCheckpoint';
  const { model, optimizer, scheduler } = checkParts(op, parts);
  const header = readHeader(bytes);
  const meta = header.metadata ?? {};
  const version = meta[KEY_VERSION];
  if (version === undefined) throw new FormatError(`${op}: not a wasmgrad checkpoint (no __metadata__['${KEY_VERSION}'])`);
  if (version !== CHECKPOINT_VERSION) throw new FormatError(`${op}: checkpoint format version ${JSON.stringify(version)} is not supported (this wasmgrad reads version ${CHECKPOINT_VERSION})`);
  for (const t of header.tensors) {
    if (!t.name.startsWith(MODEL) && !t.name.startsWith(OPT_STATE)) throw new FormatError(`${op}: unexpected tensor ${JSON.stringify(t.name)} (expected model.* and optimizer.state.*)`);
  }

  // The optimizer's non-tensor parts, checked before any tensor is created.
  let optMeta: { type: unknown; param_groups: unknown; state: Record<string, unknown> } | null = null;
  if (optimizer !== undefined) {
    if (meta[KEY_OPTIMIZER] === undefined) throw new ArgumentError(`${op}: the checkpoint holds no optimizer state`);
    const o = parseJson(KEY_OPTIMIZER, meta[KEY_OPTIMIZER]);
    if (o.type !== optimizerType(optimizer)) {
      throw new ArgumentError(`${op}: the checkpoint's optimizer is ${String(o.type)}, not ${optimizerType(optimizer)}`);
    }
    if (!Array.isArray(o.param_groups) || !isPlainObject(o.state)) throw new FormatError(`${op}: __metadata__['${KEY_OPTIMIZER}'] must hold param_groups and state`);
    optMeta = { type: o.type, param_groups: o.param_groups, state: o.state };
  }
  let schedState: SchedulerStateDict | null = null;
  if (scheduler !== undefined) {
    if (meta[KEY_SCHEDULER] === undefined) throw new ArgumentError(`${op}: the checkpoint holds no scheduler state`);
    const s = parseJson(KEY_SCHEDULER, meta[KEY_SCHEDULER]);
    if (s.type !== scheduler.constructor.name) {
      throw new ArgumentError(`${op}: the checkpoint's scheduler is ${String(s.type)}, not ${scheduler.constructor.name}`);
    }
    if (!isPlainObject(s.state)) throw new FormatError(`${op}: __metadata__['${KEY_SCHEDULER}'] must hold a state object`);
    const want = Object.keys(scheduler.stateDict()).sort();
    const got = Object.keys(s.state).sort();
    if (want.length !== got.length || want.some((k, i) => k !== got[i])) {
      throw new ArgumentError(`${op}: the checkpoint's ${scheduler.constructor.name} state has keys [${got.join(', ')}], this scheduler has [${want.join(', ')}]`);
    }
    schedState = s.state;
  }

  const loaded = load(bytes);
  const snapshots: (() => void)[] = [];
  const cleanups: (() => void)[] = [];
  try {
    const modelDict = new Map<string, Tensor>();
    const optTensors = new Map<string, Record<string, Tensor>>();
    for (const [name, t] of Object.entries(loaded)) {
      if (name.startsWith(MODEL)) {
        modelDict.set(name.slice(MODEL.length), t);
      } else {
        const rest = name.slice(OPT_STATE.length);
        const dot = rest.indexOf('.');
        const index = rest.slice(0, dot);
        if (dot <= 0 || !/^(0|[1-9][0-9]*)$/.test(index)) throw new FormatError(`${op}: bad optimizer state tensor name ${JSON.stringify(name)}`);
        const stateName = rest.slice(dot + 1);
        if (!/^[a-z0-9]+(_[a-z0-9]+)*$/.test(stateName)) throw new FormatError(`${op}: bad optimizer state tensor name ${JSON.stringify(name)}`);
        const entry = optTensors.get(index) ?? {};
        entry[stateName] = t;
        optTensors.set(index, entry);
      }
    }
    let optDict: OptimizerStateDict | null = null;
    if (optMeta !== null) {
      const state: Record<number, Record<string, Tensor | number | null>> = {};
      for (const [index, entry] of Object.entries(optMeta.state)) {
        if (!/^(0|[1-9][0-9]*)$/.test(index)) throw new FormatError(`${op}: bad parameter index ${JSON.stringify(index)} in the optimizer state`);
        if (!isPlainObject(entry)) throw new FormatError(`${op}: the optimizer state of parameter ${index} must be an object`);
        state[Number(index)] = { ...(entry as Record<string, number | null>) };
      }
      for (const [index, entry] of optTensors) {
        const target = state[Number(index)];
        if (target === undefined || !Object.hasOwn(optMeta.state, index)) throw new FormatError(`${op}: optimizer state tensors of parameter ${index}, which has no state entry`);
        for (const [name, t] of Object.entries(entry)) {
          if (Object.hasOwn(target, name)) throw new FormatError(`${op}: optimizer state '${name}' of parameter ${index} is both a tensor and a metadata value`);
          Object.defineProperty(target, name, { value: t, enumerable: true, writable: true, configurable: true });
        }
      }
      optDict = fromPyTorchNames({ state, param_groups: optMeta.param_groups } as PyTorchOptimizerStateDict);
    }

    // Apply model, optimizer, scheduler in turn; each validates everything before it changes
    // anything, and if a later one fails the earlier ones are put back from snapshots (so
    // the whole load is all or nothing).
    if (optimizer !== undefined || scheduler !== undefined) {
      const before = model.stateDict();
      cleanups.push(() => dispose(before));
      snapshots.push(() => model.loadStateDict(before));
    }
    model.loadStateDict(modelDict);
    if (optimizer !== undefined && optDict !== null) {
      if (scheduler !== undefined) {
        const before = optimizer.stateDict();
        cleanups.push(() => dispose(before.state));
        snapshots.push(() => optimizer.loadStateDict(before));
      }
      optimizer.loadStateDict(optDict);
    }
    if (scheduler !== undefined && schedState !== null) {
      const before = scheduler.stateDict();
      try {
        scheduler.loadStateDict(schedState);
      } catch (err) {
        scheduler.loadStateDict(before);
        throw err;
      }
    }
    snapshots.length = 0;
  } catch (err) {
    for (const undo of snapshots.reverse()) undo();
    throw err;
  } finally {
    for (const f of cleanups) f();
    dispose(loaded);
  }
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta)) if (!k.startsWith(RESERVED)) metadata[k] = v;
  return { metadata };
}

/**
 * `Module` (PyTorch's `torch.nn.Module`) and `Parameter`: a tree of layers that owns its
 * parameters and buffers, names them as PyTorch does, and saves and loads state dicts.
 * @module
 */
import '../polyfill.js';
import { noGrad } from '../autograd.js';
import { full } from '../creation.js';
import { ArgumentError, DisposedError } from '../errors.js';
import { keep } from '../scope.js';
import { Tensor, type DType } from '../tensor.js';

const parameters = new WeakSet<Tensor>();

/** Whether `t` was made a parameter (`new Parameter(t)` or `registerParameter`). */
export function isParameter(t: unknown): t is Parameter {
  return t instanceof Tensor && parameters.has(t);
}

/**
 * A parameter is a Tensor: the same object, marked. `D` is its dtype: the layers' weights
 * are `Parameter<'float32'>` (only float32 tensors can require grad).
 */
export interface Parameter<D extends DType = DType> extends Tensor<D> {}
/**
 * Marks a tensor as a module parameter (PyTorch's `nn.Parameter`). `new Parameter(t)`
 * returns `t` itself (a leaf; a non-leaf is detached first, as PyTorch does), now
 * requiring grad (unless `requiresGrad` is false) and exempt from `tidy`: a module that
 * holds it in a field finds it, owns it and frees it on `dispose()`. `instanceof Tensor`
 * and `instanceof Parameter` are both true.
 */
export class Parameter<D extends DType = DType> {
  constructor(data: Tensor<D>, requiresGrad = true) {
    if (!(data instanceof Tensor)) throw new ArgumentError(`Parameter: expected a Tensor, got ${String(data)}`);
    const t = data.isLeaf ? data : data.detach();
    if (t.requiresGrad !== requiresGrad) t.requiresGrad = requiresGrad;
    parameters.add(keep(t));
    return t as Parameter<D>;
  }
  static [Symbol.hasInstance](v: unknown): boolean {
    return isParameter(v);
  }
}

/** What `loadStateDict` found: names the module has that the dict lacks, and the reverse. */
export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/** Options of {@link Module.stateDict}. */
export interface StateDictOptions {
  /**
   * `true` (default): detached copies, owned by the caller (dispose them, or make them
   * inside `tidy`); a snapshot that later training does not change. `false`: the module's
   * own tensors, which the caller must neither dispose nor modify.
   */
  clone?: boolean;
}

/** camelCase field name → PyTorch's snake_case name (`runningMean` → `running_mean`, `fc1` → `fc1`). */
export function snakeCase(key: string): string {
  return key.replace(/(?<=[a-z0-9])([A-Z])/g, (_, c: string) => `_${c.toLowerCase()}`);
}
/** PyTorch's snake_case name → the camelCase field that holds it (`running_mean` → `runningMean`). */
export function camelCase(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

interface Meta {
  /** Field → exact name, for names given explicitly that snakeCase would not produce. */
  names: Map<string, string>;
  /** Fields registered as buffers → persistent (in the state dict). */
  buffers: Map<string, boolean>;
}
const META = Symbol('wasmgrad.module');

type Kind = 'parameter' | 'buffer' | 'module';
/** @internal One named member of a module. */
export interface Entry {
  name: string;
  kind: Kind;
  value: Tensor | Module;
  persistent: boolean;
}

/** Python's repr of a float (`1e-05`, `0.1`, `1.0`). */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const [mantissa, exp] = x.toExponential().split('e') as [string, string];
  const e = Number(exp);
  if (e < -4 || e >= 16) return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  const s = String(x);
  return /[.e]/.test(s) ? s : `${s}.0`;
}
/** Python's repr of a tuple of ints (`(3,)`, `(3, 3)`), or of an int. */
export function pyTuple(v: number | readonly (number | null)[]): string {
  if (typeof v === 'number') return String(v);
  const items = v.map((d) => (d === null ? 'None' : String(d)));
  return items.length === 1 ? `(${items[0]},)` : `(${items.join(', ')})`;
}
export const pyBool = (b: boolean): string => (b ? 'True' : 'False');

/**
 * Base class of layers and models (PyTorch's `nn.Module`). Subclasses define
 * `forward(...)`; call it directly or through `call(...)` (the same thing, PyTorch's
 * `model(x)`).
 *
 * Members are found in the module's fields, as PyTorch's `__setattr__` finds them:
 * a field holding a {@link Parameter} is a parameter, one holding a Module a child, and
 * `registerBuffer` declares buffers. Their names are the fields' names in snake_case
 * (`runningMean` → `running_mean`, `outProj` → `out_proj`, `fc1` stays), in the order the
 * fields were defined, so a PyTorch model written with the same attributes has the same
 * state dict. `registerParameter`/`registerBuffer`/`registerModule(name, …)` take the
 * PyTorch name verbatim (stored in the field `camelCase(name)`).
 *
 * A module owns its parameters and buffers: `tidy` never frees them; `dispose()` (or
 * `using model = …`) does.
 *
 * @example
 * class Net extends nn.Module {
 *   fc1 = new nn.Linear(784, 128);
 *   fc2 = new nn.Linear(128, 10);
 *   forward(x: Tensor): Tensor { return this.fc2.call(this.fc1.call(x).relu()); }
 * }
 */
export abstract class Module {
  /** Training mode (`train()`/`eval()`): Dropout drops and BatchNorm uses batch statistics only while true. */
  training = true;

  constructor() {
    const meta: Meta = { names: new Map(), buffers: new Map() };
    Object.defineProperty(this, META, { value: meta, enumerable: false });
  }

  /** The computation; subclasses define it. */
  abstract forward(...args: any[]): any; // eslint-disable-line @typescript-eslint/no-explicit-any

  /** Runs {@link Module.forward} (PyTorch's `model(x)`). */
  call(...args: Parameters<this['forward']>): ReturnType<this['forward']> {
    return this.forward(...args) as ReturnType<this['forward']>;
  }

  private get meta(): Meta {
    return (this as unknown as { [META]: Meta })[META];
  }

  /**
   * @internal The module's own members, in definition order. Subclasses holding members
   * elsewhere than in fields (ModuleDict) override this.
   */
  ownEntries(): Entry[] {
    const { names, buffers } = this.meta;
    const out: Entry[] = [];
    const self = this as unknown as Record<string, unknown>;
    for (const key of Object.keys(this)) {
      const value = self[key];
      const name = names.get(key) ?? snakeCase(key);
      if (buffers.has(key)) {
        if (value instanceof Tensor) out.push({ name, kind: 'buffer', value, persistent: buffers.get(key)! });
      } else if (value instanceof Module) {
        out.push({ name, kind: 'module', value, persistent: true });
      } else if (isParameter(value)) {
        out.push({ name, kind: 'parameter', value, persistent: true });
      }
    }
    return out;
  }

  private assign(name: string, value: unknown, check: (key: string) => void): string {
    if (typeof name !== 'string' || name === '' || name.includes('.')) {
      throw new ArgumentError(`${this.constructor.name}: a member name must be a non-empty string without '.', got ${JSON.stringify(name)}`);
    }
    const key = camelCase(name);
    check(key);
    if (snakeCase(key) !== name) this.meta.names.set(key, name);
    (this as unknown as Record<string, unknown>)[key] = value;
    return key;
  }

  /**
   * Adds a parameter named `name` (PyTorch's `register_parameter`), held in the field
   * `camelCase(name)`; `null` declares it absent (as `bias=False`). Returns the parameter.
   */
  registerParameter<T extends Tensor | null>(name: string, param: T): T {
    const value = param === null || isParameter(param) ? param : new Parameter(param);
    this.assign(name, value, (key) => this.meta.buffers.delete(key));
    return value as T;
  }

  /**
   * Adds a buffer (PyTorch's `register_buffer`): state that is not a parameter, such as
   * BatchNorm's running statistics, held in the field `camelCase(name)` and owned by the
   * module from now on. A non-persistent buffer is left out of the state dict.
   */
  registerBuffer<T extends Tensor | null>(name: string, tensor: T, options: { persistent?: boolean } = {}): T {
    if (tensor !== null) keep(tensor);
    this.assign(name, tensor, (key) => this.meta.buffers.set(key, options.persistent ?? true));
    return tensor;
  }

  /** Adds a child module (PyTorch's `add_module`/`register_module`). */
  registerModule<M extends Module | null>(name: string, module: M): M {
    this.assign(name, module, (key) => this.meta.buffers.delete(key));
    return module;
  }

  // ---- traversal -------------------------------------------------------------------

  /** Direct children with their names. */
  namedChildren(): [string, Module][] {
    const seen = new Set<Module>();
    const out: [string, Module][] = [];
    for (const e of this.ownEntries()) {
      if (e.kind === 'module' && !seen.has(e.value as Module)) {
        seen.add(e.value as Module);
        out.push([e.name, e.value as Module]);
      }
    }
    return out;
  }
  /** Direct children. */
  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module and every descendant, depth first, each once, named by dotted path (`''` for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const stack: [string, Module][] = [[prefix, this]];
    while (stack.length > 0) {
      const [name, m] = stack.pop()!;
      if (seen.has(m)) continue;
      seen.add(m);
      out.push([name, m]);
      const kids = m.namedChildren();
      for (let i = kids.length - 1; i >= 0; i--) stack.push([name === '' ? kids[i]![0] : `${name}.${kids[i]![0]}`, kids[i]![1]]);
    }
    return out;
  }
  /** This module and every descendant. */
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  private namedMembers(kind: Kind, recurse: boolean, prefix: string): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const modules: [string, Module][] = recurse ? this.namedModules(prefix) : [[prefix, this]];
    for (const [path, m] of modules) {
      for (const e of m.ownEntries()) {
        if (e.kind !== kind || seen.has(e.value as Tensor)) continue;
        seen.add(e.value as Tensor);
        out.push([path === '' ? e.name : `${path}.${e.name}`, e.value as Tensor]);
      }
    }
    return out;
  }

  /** Parameters with dotted names (`fc1.weight`), each once, of this module and (by default) its descendants. */
  namedParameters(options: { prefix?: string; recurse?: boolean } = {}): [string, Tensor][] {
    return this.namedMembers('parameter', options.recurse ?? true, options.prefix ?? '');
  }
  /** The parameters, for an optimizer: `new Adam(model.parameters())`. */
  parameters(recurse = true): Tensor[] {
    return this.namedParameters({ recurse }).map(([, p]) => p);
  }
  /** Buffers with dotted names (`bn.running_mean`), persistent or not. */
  namedBuffers(options: { prefix?: string; recurse?: boolean } = {}): [string, Tensor][] {
    return this.namedMembers('buffer', options.recurse ?? true, options.prefix ?? '');
  }
  /** The buffers. */
  buffers(recurse = true): Tensor[] {
    return this.namedBuffers({ recurse }).map(([, b]) => b);
  }

  // ---- modes and gradients ---------------------------------------------------------

  /** Sets training mode on this module and its descendants; returns this. */
  train(mode = true): this {
    if (typeof mode !== 'boolean') throw new ArgumentError(`${this.constructor.name}.train: mode must be a boolean, got ${String(mode)}`);
    for (const m of this.modules()) m.training = mode;
    return this;
  }
  /** Evaluation mode (`train(false)`); returns this. */
  eval(): this {
    return this.train(false);
  }
  /** Drops the parameters' gradients (sets them to null, as PyTorch 2's default); `{ setToNone: false }` zeroes them. */
  zeroGrad(options: { setToNone?: boolean } = {}): void {
    for (const p of this.parameters()) {
      if (options.setToNone ?? true) p.zeroGrad();
      else p.grad?.zero_();
    }
  }
  /** Sets `requiresGrad` of every parameter (freezing with `false`); returns this. */
  requiresGrad_(flag = true): this {
    for (const p of this.parameters()) p.requiresGrad = flag;
    return this;
  }
  /** Calls `fn` on every descendant, then on this module (PyTorch's order); returns this. */
  apply(fn: (m: Module) => void): this {
    for (const m of this.children()) m.apply(fn);
    fn(this);
    return this;
  }

  // ---- state -----------------------------------------------------------------------

  /** Every persistent member tensor by dotted name, in PyTorch's order, shared ones under each name. */
  private stateEntries(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const visiting = new Set<Module>();
    const walk = (m: Module, prefix: string) => {
      if (visiting.has(m)) return;
      visiting.add(m);
      const entries = m.ownEntries();
      for (const kind of ['parameter', 'buffer'] as const) {
        for (const e of entries) if (e.kind === kind && e.persistent) out.push([prefix + e.name, e.value as Tensor]);
      }
      for (const e of entries) if (e.kind === 'module') walk(e.value as Module, `${prefix}${e.name}.`);
      visiting.delete(m);
    };
    walk(this, '');
    return out;
  }

  /**
   * The parameters and persistent buffers by PyTorch's dotted names (`0.weight`,
   * `bn.running_mean`, `bn.num_batches_tracked`), in PyTorch's order, as a plain object.
   * By default the tensors are detached **copies the caller owns** (free them with
   * `dispose(sd)` or make them inside `tidy`); `{ clone: false }` returns the module's own
   * tensors, which must not be disposed.
   */
  stateDict(options: StateDictOptions = {}): Record<string, Tensor> {
    const clone = options.clone ?? true;
    const out: Record<string, Tensor> = {};
    const entries = this.stateEntries();
    noGrad(() => {
      for (const [name, t] of entries) out[name] = clone ? full(t.shape, 0, { dtype: t.dtype }).copy_(t) : t;
    });
    return out;
  }

  /**
   * Copies `stateDict`'s tensors into this module's parameters and buffers (in place, so
   * optimizers holding them keep working). Every problem is reported in one
   * `ArgumentError`, before anything is copied: missing and unexpected names (when
   * `strict`, the default), shapes and dtypes that differ. Returns the missing and
   * unexpected names (PyTorch's `_IncompatibleKeys`). The dict's tensors stay the caller's.
   */
  loadStateDict(stateDict: Record<string, Tensor> | Map<string, Tensor>, options: { strict?: boolean } = {}): LoadResult {
    const strict = options.strict ?? true;
    const given = stateDict instanceof Map ? stateDict : new Map(Object.entries(stateDict ?? {}));
    const own = new Map(this.stateEntries());
    const missingKeys = [...own.keys()].filter((k) => !given.has(k));
    const unexpectedKeys = [...given.keys()].filter((k) => !own.has(k));
    const problems: string[] = [];
    const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;
    for (const [name, target] of own) {
      const src = given.get(name);
      if (src === undefined) continue;
      if (!(src instanceof Tensor)) {
        problems.push(`${name}: expected a Tensor, got ${src === null ? 'null' : typeof src}`);
      } else if (src.isDisposed) {
        problems.push(`${name}: the tensor was disposed`);
      } else if (src.shape.length !== target.shape.length || src.shape.some((d, i) => d !== target.shape[i])) {
        problems.push(`size mismatch for ${name}: copying a param with shape ${fmt(src.shape)} from checkpoint, the shape in current model is ${fmt(target.shape)}`);
      } else if (src.dtype !== target.dtype) {
        problems.push(`dtype mismatch for ${name}: copying a ${src.dtype} tensor from checkpoint, the dtype in current model is ${target.dtype}`);
      }
    }
    if (strict) {
      if (missingKeys.length > 0) problems.unshift(`Missing key(s) in state_dict: ${missingKeys.map((k) => `"${k}"`).join(', ')}`);
      if (unexpectedKeys.length > 0) problems.splice(missingKeys.length > 0 ? 1 : 0, 0, `Unexpected key(s) in state_dict: ${unexpectedKeys.map((k) => `"${k}"`).join(', ')}`);
    }
    if (problems.length > 0) {
      throw new ArgumentError(`Error(s) in loading state_dict for ${this.constructor.name}:\n\t${problems.join('\n\t')}`);
    }
    for (const [name, target] of own) {
      const src = given.get(name);
      if (target.isDisposed) throw new DisposedError(`loadStateDict: ${name} of this ${this.constructor.name} was disposed`);
      if (src !== undefined && src !== target) noGrad(() => target.copy_(src));
    }
    return { missingKeys, unexpectedKeys };
  }

  /** Frees every parameter and buffer of this module and its descendants (idempotent). */
  dispose(): void {
    const seen = new Set<Tensor>();
    for (const m of this.modules()) {
      for (const e of m.ownEntries()) {
        if (e.kind !== 'module' && !seen.has(e.value as Tensor)) {
          seen.add(e.value as Tensor);
          (e.value as Tensor).dispose();
        }
      }
    }
  }
  /** `using model = …` disposes it at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  // ---- printing --------------------------------------------------------------------

  /** The arguments shown in the printout (PyTorch's `extra_repr`); layers override it. */
  extraRepr(): string {
    return '';
  }

  /** PyTorch's `repr(model)`: the module tree with each layer's arguments. */
  repr(): string {
    const extra = this.extraRepr();
    const extraLines = extra ? extra.split('\n') : [];
    const childLines = this.ownEntries()
      .filter((e) => e.kind === 'module')
      .map((e) => `(${e.name}): ${(e.value as Module).repr().split('\n').join('\n  ')}`);
    const lines = [...extraLines, ...childLines];
    let s = `${this.constructor.name}(`;
    if (lines.length > 0) {
      s += extraLines.length === 1 && childLines.length === 0 ? extraLines[0] : `\n  ${lines.join('\n  ')}\n`;
    }
    return `${s})`;
  }

  /** {@link Module.repr}, then the number of parameters (all, and those requiring grad). */
  toString(): string {
    const params = this.parameters();
    const count = (ps: Tensor[]) => ps.reduce((n, p) => n + (p.isDisposed ? 0 : p.size), 0).toLocaleString('en-US');
    const trainable = params.filter((p) => !p.isDisposed && p.requiresGrad);
    return `${this.repr()}\nParameters: ${count(params)} (trainable: ${count(trainable)})`;
  }
  /** Node's `console.log` prints {@link Module.toString}. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/**
 * @internal A deep copy of `m`: new parameters and buffers with the same values (and the
 * same sharing between them), new child modules, other fields copied shallowly.
 */
export function deepCopy<M extends Module>(m: M): M {
  const memo = new Map<object, unknown>();
  const copyValue = (v: unknown, owned: boolean): unknown => {
    if (v instanceof Module) return copyModule(v);
    if (v instanceof Tensor && owned) {
      if (memo.has(v)) return memo.get(v);
      const c = noGrad(() => full(v.shape, 0, { dtype: v.dtype }).copy_(v));
      const out = isParameter(v) ? new Parameter(c, v.requiresGrad) : keep(c);
      memo.set(v, out);
      return out;
    }
    if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, copyValue(x, false)]));
    if (Array.isArray(v)) return v.map((x) => copyValue(x, false));
    return v;
  };
  const copyModule = (src: Module): Module => {
    if (memo.has(src)) return memo.get(src) as Module;
    const dst = Object.create(Object.getPrototypeOf(src) as object) as Module;
    memo.set(src, dst);
    const meta = (src as unknown as { [META]: Meta })[META];
    Object.defineProperty(dst, META, { value: { names: new Map(meta.names), buffers: new Map(meta.buffers) }, enumerable: false });
    const from = src as unknown as Record<string, unknown>;
    const to = dst as unknown as Record<string, unknown>;
    for (const key of Object.keys(src)) {
      const v = from[key];
      to[key] = copyValue(v, isParameter(v) || meta.buffers.has(key));
    }
    return dst;
  };
  return copyModule(m) as M;
}

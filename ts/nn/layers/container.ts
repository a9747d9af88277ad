/**
 * Containers: Sequential, ModuleList, ModuleDict.
 * @module
 */
import { ArgumentError } from '../../errors.js';
import type { Tensor } from '../../tensor.js';
import { Module, type Entry } from '../module.js';
import { ReLU } from './activation.js';
import { Linear } from './linear.js';

function checkModule(container: string, m: unknown, where: string): Module {
  if (!(m instanceof Module)) throw new ArgumentError(`${container}: ${where} is not a Module (got ${m === null ? 'null' : typeof m})`);
  return m;
}

/**
 * Modules applied in order, each to the previous one's output (PyTorch's `nn.Sequential`).
 * Children are named `0`, `1`, … (or by the keys of an object given instead) and read as
 * `seq[0]`.
 *
 * @example
 * const model = new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 10));
 */
export class Sequential extends Module {
  [index: number]: Module;
  constructor(...modules: Module[] | [Record<string, Module>]) {
    super();
    const first = modules[0];
    if (modules.length === 1 && first !== undefined && !(first instanceof Module) && typeof first === 'object') {
      for (const [name, m] of Object.entries(first)) this.registerModule(name, checkModule('Sequential', m, `entry '${name}'`));
    } else {
      (modules as unknown[]).forEach((m, i) => this.registerModule(String(i), checkModule('Sequential', m, `argument ${i}`)));
    }
  }
  /** The number of modules. */
  get length(): number {
    return this.children().length;
  }
  /** Adds a module at the end; returns this. */
  append(module: Module): this {
    this.registerModule(String(this.ownEntries().filter((e) => e.kind === 'module').length), checkModule('Sequential', module, 'the appended value'));
    return this;
  }
  [Symbol.iterator](): Iterator<Module> {
    return this.children()[Symbol.iterator]();
  }
  /**
   * Runs the modules in order. A Linear directly followed by a ReLU (both as defined here,
   * forward not overridden) runs as one fused linear + relu pass: the same values and
   * gradients, one kernel fewer.
   */
  forward(x: unknown): any { // eslint-disable-line @typescript-eslint/no-explicit-any
    const modules = this.ownEntries().filter((e) => e.kind === 'module').map((e) => e.value as Module);
    let y = x;
    for (let i = 0; i < modules.length; i++) {
      const m = modules[i]!;
      const next = modules[i + 1];
      if (m instanceof Linear && m.forward === Linear.prototype.forward && next instanceof ReLU && next.forward === ReLU.prototype.forward) {
        y = m.fused(y as Tensor, 'relu');
        i++;
      } else {
        y = m.call(y);
      }
    }
    return y;
  }
}

/** A list of modules whose parameters the parent finds (PyTorch's `nn.ModuleList`); `list[i]`, `length`, iteration. */
export class ModuleList extends Module {
  [index: number]: Module;
  constructor(modules: Iterable<Module> = []) {
    super();
    this.extend(modules);
  }
  get length(): number {
    return this.ownEntries().filter((e) => e.kind === 'module').length;
  }
  /** Adds a module at the end; returns this. */
  append(module: Module): this {
    this.registerModule(String(this.length), checkModule('ModuleList', module, 'the appended value'));
    return this;
  }
  /** Adds modules at the end; returns this. */
  extend(modules: Iterable<Module>): this {
    for (const m of modules) this.append(m);
    return this;
  }
  [Symbol.iterator](): Iterator<Module> {
    return this.children()[Symbol.iterator]();
  }
  forward(): never {
    throw new ArgumentError('ModuleList: has no forward(); iterate over its modules');
  }
}

/** Modules by name, in insertion order (PyTorch's `nn.ModuleDict`); `get`, `set`, `has`, `delete`, `keys`, iteration. */
export class ModuleDict extends Module {
  private readonly items = new Map<string, Module>();
  constructor(modules: Record<string, Module> | Iterable<[string, Module]> = {}) {
    super();
    const entries = Symbol.iterator in modules ? [...(modules as Iterable<[string, Module]>)] : Object.entries(modules);
    for (const [k, m] of entries) this.set(k, m);
  }
  /** @internal Members come from the map, in insertion order, named by their keys. */
  ownEntries(): Entry[] {
    return [...this.items].map(([name, value]) => ({ name, kind: 'module' as const, value, persistent: true }));
  }
  get(key: string): Module | undefined {
    return this.items.get(key);
  }
  set(key: string, module: Module): this {
    if (typeof key !== 'string' || key === '' || key.includes('.')) throw new ArgumentError(`ModuleDict: a key must be a non-empty string without '.', got ${JSON.stringify(key)}`);
    this.items.set(key, checkModule('ModuleDict', module, `value of '${key}'`));
    return this;
  }
  has(key: string): boolean {
    return this.items.has(key);
  }
  /** Removes and returns the module under `key` (PyTorch's `pop`); it stays the caller's to dispose. */
  delete(key: string): Module | undefined {
    const m = this.items.get(key);
    this.items.delete(key);
    return m;
  }
  get size(): number {
    return this.items.size;
  }
  keys(): string[] {
    return [...this.items.keys()];
  }
  values(): Module[] {
    return [...this.items.values()];
  }
  entries(): [string, Module][] {
    return [...this.items];
  }
  [Symbol.iterator](): Iterator<string> {
    return this.items.keys();
  }
  forward(): never {
    throw new ArgumentError('ModuleDict: has no forward(); call its modules');
  }
}

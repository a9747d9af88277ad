// A trap inside wasm (a wasmgrad bug, never expected on bad input) must poison the
// instance: the trapping call and every later call throw PoisonedError, not garbage, and
// the error says what the core's panic hook recorded. Runs against a stand-in instance
// whose export traps; poisoning is per instance, so the real one the rest of the suite
// uses stays healthy.
import { describe, expect, it } from 'vitest';
import { PoisonedError } from '../ts/errors.js';
import { Core, lib } from '../ts/ffi.js';
import '../ts/node.js';

const encoder = new TextEncoder();

/** A stand-in with the real core's constants and catalog, whose `wg_unary` traps after a panic. */
function trappingInstance(): WebAssembly.Instance {
  const real = lib();
  const memory = new WebAssembly.Memory({ initial: 1 });
  const bytes = new Uint8Array(memory.buffer);
  const constants = encoder.encode(real.text(real.raw.wg_constants()));
  const catalog = encoder.encode(JSON.stringify({ unary: ['neg'], binary: ['add'], ops: [] }));
  const panic = encoder.encode("panicked at src/kernels/x.rs:1:1: index out of bounds");
  let text = 0;
  bytes.set(constants, 4096);
  bytes.set(catalog, 8192);
  new Uint32Array(memory.buffer, 16384, 1)[0] = 0;
  const exports = {
    memory,
    wg_scratch: () => 0,
    wg_text_ptr: () => text,
    wg_constants: () => ((text = 4096), constants.length),
    wg_catalog: () => ((text = 8192), catalog.length),
    wg_panic_record: () => 16384,
    wg_manual_seed: () => undefined,
    wg_unary: () => {
      // What the panic hook does before the trap.
      new Uint32Array(memory.buffer, 16384, 1)[0] = panic.length;
      bytes.set(panic, 16388);
      throw new WebAssembly.RuntimeError('unreachable');
    },
    wg_info: () => 0,
  };
  return { exports } as unknown as WebAssembly.Instance;
}

describe('a trapped instance', () => {
  it('throws PoisonedError on the trapping call and on every later call, with the panic message', () => {
    const core = new Core(trappingInstance());
    expect(core.ops.unary).toEqual({ neg: 0 });
    expect(() => core.raw.wg_info(1)).not.toThrow();
    expect(() => core.raw.wg_unary(0, 1)).toThrow(PoisonedError);
    expect(() => core.raw.wg_unary(0, 1)).toThrow(/index out of bounds/);
    expect(() => core.raw.wg_info(1)).toThrow(PoisonedError);
    expect(() => core.raw.wg_info(1)).toThrow(/trapped earlier \(unreachable in wg_unary: panicked at .*index out of bounds\)/);
  });

  it('the real core has a panic record and publishes every constant TS reads', () => {
    const c = lib();
    expect(c.raw.wg_panic_record() >>> 0).toBeGreaterThan(0);
    expect(c.unusedConstants).toEqual([]);
  });
});

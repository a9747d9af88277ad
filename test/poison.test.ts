// A trap inside wasm (a wasmgrad bug, never expected on bad input) must poison the
// instance: the trapping call and every later call throw PoisonedError, not garbage.
// Runs against a stand-in instance whose export traps; poisoning is per instance, so
// the real one the rest of the suite uses stays healthy.
import { describe, expect, it } from 'vitest';
import { PoisonedError, TensorError } from '../ts/errors.js';
import { Core } from '../ts/ffi.js';

function trappingInstance(): WebAssembly.Instance {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const catalog = new TextEncoder().encode('unary:neg;binary:add;reduce:sum;movement:reshape;create:full;inplace:add_');
  new Uint8Array(memory.buffer).set(catalog, 1024);
  const exports = {
    memory,
    wg_scratch: () => 0,
    wg_text_ptr: () => 1024,
    wg_catalog: () => catalog.length,
    wg_manual_seed: () => undefined,
    wg_unary: () => {
      throw new WebAssembly.RuntimeError('unreachable');
    },
    wg_info: () => 0,
  };
  return { exports } as unknown as WebAssembly.Instance;
}

describe('a trapped instance', () => {
  it('throws PoisonedError on the trapping call and on every later call', () => {
    const core = new Core(trappingInstance());
    expect(core.ops.unary).toEqual({ neg: 0 });
    expect(() => core.raw.wg_unary(0, 1)).toThrow(PoisonedError);
    expect(() => core.raw.wg_info(1)).toThrow(/trapped earlier/);
    try {
      core.raw.wg_info(1);
    } catch (err) {
      expect(err).toBeInstanceOf(TensorError);
    }
  });
});

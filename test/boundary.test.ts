// The boundary decodes declared ops' arguments from raw words (crates/wasm/src/decode.rs)
// and trusts nothing: malformed words from a buggy or hostile caller are ArgumentErrors
// naming the op, never a trap, and the module keeps working.
import { describe, expect, it } from 'vitest';
import { lib } from '../ts/ffi.js';
import { ArgumentError, memory, tensor, tidy } from '../ts/node.js';

/** Calls declared op `name` with `words` written raw into the f64 scratch. */
function raw(name: string, words: number[]): Error | number {
  const c = lib();
  const f = c.fscratch();
  f.set(words.slice(0, f.length));
  const h = c.raw.wg_op(c.decl(name).id, words.length);
  if (h === 0) return c.lastError();
  c.raw.wg_dispose(h);
  return h;
}

describe('the declared-op boundary', () => {
  it('rejects malformed words with an ArgumentError naming the op', () => {
    const before = memory().numTensors;
    tidy(() => {
      const x = tensor([[1, 2], [3, 4]]);
      const h = x.handle;
      const cases: [string, number[], RegExp][] = [
        ['sum', [h, 1, 0.5, 0], /sum: dim must be an integer, got 0.5/],
        ['sum', [h, 99, 0, 0], /sum: dim has 99 values/],
        ['sum', [h, -2, 0], /sum: dim has -2 values/],
        ['sum', [h, -1, 2], /sum: keepdim must be true or false, got 2/],
        ['sum', [h, -1], /sum: keepdim is missing/],
        ['sum', [h, -1, 0, 7], /sum: 4 argument words were given; the declaration reads 3/],
        ['sum', [0, -1, 0], /sum: input is missing/],
        ['where', [h, 7, 1, 1, 2], /where: input has an unknown operand tag 7/],
        ['crossEntropy', [h, h, 3, -100, 0], /crossEntropy: reduction must be one of/],
        ['full', [1, 2 ** 60, 0, 0], /full: size must be an integer/],
        ['softmax', [h, Infinity], /softmax: dim must be an integer, got Infinity/],
      ];
      for (const [name, words, message] of cases) {
        const err = raw(name, words);
        expect(err, `${name} ${JSON.stringify(words)}`).toBeInstanceOf(ArgumentError);
        expect((err as Error).message).toMatch(message);
      }
      // A handle that names no tensor (not an integer, or stale) is a DisposedError.
      expect(raw('sum', [h + 0.5, -1, 0])).toMatchObject({ name: 'DisposedError', message: expect.stringMatching(/^sum:/) });
      // Still working afterwards.
      expect(x.sum().item()).toBe(10);
    });
    expect(memory().numTensors).toBe(before);
  });

  it('a well-formed call through the same path works', () => {
    tidy(() => {
      const x = tensor([[1, 2], [3, 4]]);
      expect(typeof raw('sum', [x.handle, 1, 1, 0])).toBe('number');
    });
  });
});

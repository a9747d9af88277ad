// Small helpers the op-family tests share: build a tensor from a reference array, read an
// op's result back as plain values (disposing everything), and capture a thrown error.
import { tensor, tidy, type Tensor } from '../../ts/node.js';
import type { Nd } from './reference.js';

/** A float32 tensor with the shape and values of `x`. */
export const T = (x: Nd): Tensor => tensor(Array.from(x.data), { shape: x.shape });

/** Shape and values of `f()`, disposing everything it created. */
export function run(f: () => Tensor): { shape: number[]; data: number[] } {
  return tidy(() => {
    const t = f();
    return { shape: [...t.shape], data: Array.from(t.data()) };
  });
}

/** The error `f` throws (failing the test if it does not); tensors it made are freed. */
export function thrown(f: () => unknown): Error {
  try {
    tidy(() => {
      f();
    });
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}

// Typed errors: every failure is a TensorError subclass with a message naming the op and
// the shapes, and the module keeps working after each one.
import { describe, expect, it } from 'vitest';
import {
  ArgumentError,
  AutogradError,
  DisposedError,
  DTypeError,
  manualSeed,
  memory,
  noGrad,
  ones,
  OutOfMemoryError,
  ShapeError,
  tensor,
  TensorError,
  tidy,
  zeros,
  type Tensor,
} from '../ts/node.js';

type ErrorClass = new (...args: never[]) => TensorError;

/** A small forward + backward computation whose values are known: the module still works. */
function expectModuleWorks(): void {
  const [values, grad] = tidy(() => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const y = x.mul(x).add(1);
    y.sum().backward();
    return [y.toArray(), x.grad!.toArray()];
  });
  expect(values).toEqual([2, 5, 10]);
  expect(grad).toEqual([2, 4, 6]);
}

/**
 * Runs `fn` (which builds its own tensors, ideally inside tidy), expects exactly `Kind` with a
 * message matching every regex, checks the error hierarchy, and checks the module afterwards.
 */
function expectError(fn: () => unknown, Kind: ErrorClass, ...patterns: RegExp[]): TensorError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(() => {
    if (caught !== undefined) throw caught;
  }).toThrow(Kind);
  const err = caught as TensorError;
  expect(err.constructor).toBe(Kind);
  expect(err.name).toBe(Kind.name);
  expect(err).toBeInstanceOf(TensorError);
  expect(err).toBeInstanceOf(Error);
  for (const p of patterns) expect(err.message).toMatch(p);
  expectModuleWorks();
  return err;
}

describe('ShapeError', () => {
  it('add of [2,3] and [4] names the op and both shapes', () => {
    expect(() => tidy(() => zeros([2, 3]).add(zeros([4])))).toThrow(ShapeError);
    expectError(() => tidy(() => zeros([2, 3]).add(zeros([4]))), ShapeError, /add/, /\[2, 3\]/, /\[4\]/, /broadcast/);
    expectModuleWorks();
  });

  it('matmul of [2,3]·[4,5] names the op, both shapes and the mismatched inner dims', () => {
    expect(() => tidy(() => zeros([2, 3]).matmul(zeros([4, 5])))).toThrow(ShapeError);
    expectError(() => tidy(() => zeros([2, 3]).matmul(zeros([4, 5]))), ShapeError, /matmul/, /\[2, 3\]/, /\[4, 5\]/, /3.*4/);
  });

  it('reshape to a wrong size names the op, the target and the source shape', () => {
    expect(() => tidy(() => zeros([2, 3]).reshape(4))).toThrow(ShapeError);
    expectError(() => tidy(() => zeros([2, 3]).reshape(4)), ShapeError, /reshape/, /\[4\]/, /\[2, 3\]/);
    expectError(() => tidy(() => zeros([2, 3]).reshape(4, -1)), ShapeError, /reshape/, /\[2, 3\]/);
  });

  it('backward with a gradient of the wrong shape names both shapes', () => {
    const make = () =>
      tidy(() => {
        const x = tensor([1, 2], { requiresGrad: true });
        x.mul(2).backward(ones([3]));
      });
    expect(make).toThrow(ShapeError);
    expectError(make, ShapeError, /backward/, /gradient/, /\[3\]/, /\[2\]/);
  });

  it('other shape errors: expand, ragged nested arrays, item() of many elements, negative sizes', () => {
    expectError(() => tidy(() => zeros([2, 3]).expand(4, 3)), ShapeError, /expand/, /\[2, 3\]/, /\[4, 3\]/);
    expectError(() => tensor([[1, 2], [3]]), ShapeError, /ragged/);
    expectError(() => tidy(() => zeros([2, 3]).item()), ShapeError, /item/, /\[2, 3\]/);
    expectError(() => zeros([-1]), ShapeError, /shape/);
    expectError(() => tidy(() => ones([2]).sub_(ones([3]))), ShapeError, /sub_/, /\[3\]/, /\[2\]/);
  });
});

describe('DisposedError', () => {
  it('every op, property and read of a disposed tensor throws DisposedError', () => {
    const reads: Record<string, (t: Tensor) => unknown> = {
      shape: (t) => t.shape,
      dtype: (t) => t.dtype,
      requiresGrad: (t) => t.requiresGrad,
      isLeaf: (t) => t.isLeaf,
      gradFn: (t) => t.gradFn,
      grad: (t) => t.grad,
      data: (t) => t.data(),
      toArray: (t) => t.toArray(),
      item: (t) => t.item(),
      'toString()': (t) => t.toString(),
      add: (t) => t.add(1),
      mul: (t) => t.mul(t),
      exp: (t) => t.exp(),
      sum: (t) => t.sum(),
      mean: (t) => t.mean(),
      matmul: (t) => t.matmul(t),
      reshape: (t) => t.reshape(2),
      permute: (t) => t.permute(0),
      expand: (t) => t.expand(2, 2),
      detach: (t) => t.detach(),
      to: (t) => t.to('int32'),
      backward: (t) => t.backward(),
      sub_: (t) => t.sub_(1),
      fill_: (t) => t.fill_(1),
      setRequiresGrad: (t) => {
        t.requiresGrad = true;
      },
      setGrad: (t) => {
        t.grad = null;
      },
    };
    for (const [name, read] of Object.entries(reads)) {
      const t = tensor([1, 2]);
      t.dispose();
      expect(t.isDisposed).toBe(true);
      let err: unknown;
      try {
        read(t);
      } catch (e) {
        err = e;
      }
      expect(err, `${name} of a disposed tensor`).toBeInstanceOf(DisposedError);
      expect((err as Error).message, name).toMatch(/disposed/);
      expectModuleWorks();
    }
  });

  it('a disposed tensor passed as the argument of another tensor’s op throws DisposedError', () => {
    const gone = tensor([1, 2]);
    gone.dispose();
    expectError(() => tidy(() => ones(2).add(gone)), DisposedError, /disposed/);
    expectError(() => tidy(() => ones(2).copy_(gone)), DisposedError, /disposed/);
    expectError(() => tidy(() => ones([2, 2]).matmul(gone)), DisposedError, /disposed/);
  });

  it('shape, ndim and size also throw once disposed, even if the shape was read before', () => {
    const t = tensor([1, 2, 3]);
    expect(t.shape).toEqual([3]);
    t.dispose();
    expect(() => t.shape).toThrow(DisposedError);
    expect(() => t.ndim).toThrow(DisposedError);
    expect(() => t.size).toThrow(DisposedError);
    expectModuleWorks();
  });

  it('item() of a disposed tensor reports DisposedError, not a ShapeError about its size', () => {
    const t = tensor([1, 2]);
    void t.shape;
    t.dispose();
    expect(() => t.item()).toThrow(DisposedError);
  });

  it('the message names the op the user called (add, exp, sum, reshape, data)', () => {
    const cases: [string, (t: Tensor) => unknown][] = [
      ['add', (t) => t.add(1)],
      ['exp', (t) => t.exp()],
      ['sum', (t) => t.sum()],
      ['reshape', (t) => t.reshape(2)],
      ['data', (t) => t.data()],
    ];
    for (const [name, call] of cases) {
      const t = tensor([1, 2]);
      t.dispose();
      expect(() => call(t), name).toThrow(DisposedError);
      expect(() => call(t), name).toThrow(new RegExp(`\\b${name}\\b`));
    }
  });

  it('a tensor disposed by tidy throws DisposedError when used afterwards', () => {
    let escaped: Tensor | undefined;
    const result = tidy(() => {
      escaped = ones([2, 2]);
      return 7;
    });
    expect(result).toBe(7);
    expect(escaped!.isDisposed).toBe(true);
    expect(() => escaped!.add(1)).toThrow(DisposedError);
    expectError(() => escaped!.toArray(), DisposedError, /disposed/);
  });
});

describe('DTypeError', () => {
  it('exp of an int32 tensor names the op, the dtype and the shape', () => {
    const make = () => tidy(() => tensor([1, 2], { dtype: 'int32' }).exp());
    expect(make).toThrow(DTypeError);
    expectError(make, DTypeError, /exp/, /int32/, /\[2\]/, /float32/);
  });

  it('backward with an int32 gradient throws DTypeError', () => {
    expectError(
      () =>
        tidy(() => {
          const x = tensor([1, 2], { requiresGrad: true });
          x.mul(2).backward(tensor([1, 1], { dtype: 'int32' }));
        }),
      DTypeError,
      /backward/,
      /int32/,
    );
  });
});

describe('AutogradError', () => {
  it('backward twice through a node that saved tensors (mul) without retainGraph mentions retainGraph', () => {
    const make = () =>
      tidy(() => {
        const x = tensor([1, 2], { requiresGrad: true });
        const y = x.mul(x).sum();
        y.backward();
        y.backward();
      });
    expect(make).toThrow(AutogradError);
    expectError(make, AutogradError, /retainGraph/, /MulBackward0/, /second time/);
  });

  it('non-scalar backward without a gradient names the shape', () => {
    const make = () =>
      tidy(() => {
        const x = tensor([1, 2], { requiresGrad: true });
        x.mul(x).backward();
      });
    expect(make).toThrow(AutogradError);
    expectError(make, AutogradError, /backward/, /scalar/, /\[2\]/);
  });

  it('backward of a tensor that does not require grad', () => {
    const make = () => tidy(() => tensor([1, 2]).mul(2).sum().backward());
    expect(make).toThrow(AutogradError);
    expectError(make, AutogradError, /backward/, /require/);
    // Also for results computed under noGrad from a leaf that requires grad.
    expectError(
      () =>
        tidy(() => {
          const x = tensor([1, 2], { requiresGrad: true });
          noGrad(() => x.mul(2).sum()).backward();
        }),
      AutogradError,
      /require/,
    );
  });

  it('in-place sub_ on a leaf that requires grad with grad mode on', () => {
    const make = () => tidy(() => tensor([1, 2], { requiresGrad: true }).sub_(1));
    expect(make).toThrow(AutogradError);
    expectError(make, AutogradError, /sub_/, /requires grad/, /noGrad/);
    // The same update under noGrad is allowed.
    const v = tidy(() => {
      const w = tensor([1, 2], { requiresGrad: true });
      noGrad(() => w.sub_(1));
      return w.toArray();
    });
    expect(v).toEqual([0, 1]);
  });

  it('backward after an in-place change (under noGrad) to a tensor the graph saved throws, mentioning in-place', () => {
    const make = () =>
      tidy(() => {
        const x = tensor([1, 2], { requiresGrad: true });
        const w = tensor([3, 4]);
        const y = x.mul(w).sum(); // MulBackward0 saved w for x's gradient
        noGrad(() => w.add_(1));
        y.backward();
        return x.grad?.toArray();
      });
    expect(make).toThrow(AutogradError);
    expectError(make, AutogradError, /in-place/, /MulBackward0/, /\[2\]/);
  });

  it('an optimizer step before backward (in-place change of a saved leaf) is reported too', () => {
    expectError(
      () =>
        tidy(() => {
          const w = tensor([1, 2], { requiresGrad: true });
          const y = w.mul(w).sum();
          noGrad(() => w.sub_(0.1));
          y.backward();
        }),
      AutogradError,
      /in-place/,
    );
  });

  it('setting requiresGrad on a non-leaf', () => {
    expectError(
      () =>
        tidy(() => {
          const y = tensor([1, 2], { requiresGrad: true }).mul(2);
          y.requiresGrad = false;
        }),
      AutogradError,
      /requiresGrad/,
      /leaf/,
    );
  });
});

describe('OutOfMemoryError', () => {
  it('zeros([1<<20, 1<<20]) fails cleanly, naming the op and the shape', () => {
    const make = () => zeros([1 << 20, 1 << 20]);
    expect(make).toThrow(OutOfMemoryError);
    expectError(make, OutOfMemoryError, /full|zeros/, /\[1048576, 1048576\]/);
  });

  it('zeros of 2^29 elements (2 GiB) fails cleanly and the module still works, also for larger allocations', () => {
    const before = memory();
    expectError(() => zeros([2 ** 29]), OutOfMemoryError, /out of memory/, /536870912/);
    expect(memory().numBytes).toBe(before.numBytes);
    // A normal 4 MiB allocation still succeeds afterwards.
    const v = tidy(() => ones([1 << 20]).sum().item());
    expect(v).toBe(1 << 20);
  });

  it('an op whose broadcast result is too large fails cleanly', () => {
    expectError(() => tidy(() => ones([1 << 15, 1]).add(ones([1, 1 << 14]))), OutOfMemoryError, /add/, /out of memory/);
    expectError(() => tidy(() => ones([1 << 15, 1]).matmul(ones([1, 1 << 14]))), OutOfMemoryError, /matmul/);
  });

  it('the byte count in the message is right for a 4 GiB request', () => {
    // 2^30 float32 elements are 4294967296 bytes.
    expectError(() => zeros([2 ** 30]), OutOfMemoryError, /1073741824 elements/, /4294967296 bytes/);
  });
});

describe('ArgumentError', () => {
  it('sum over dim 5 of a 2-D tensor names the op, the dim and the rank', () => {
    const make = () => tidy(() => zeros([2, 3]).sum(5));
    expect(make).toThrow(ArgumentError);
    expectError(make, ArgumentError, /sum/, /5/, /rank 2/);
    expectError(() => tidy(() => zeros([2, 3]).mean(-3)), ArgumentError, /mean/, /-3/);
    expectError(() => tidy(() => zeros([2, 3]).sum([1, 1])), ArgumentError, /sum/, /more than once/);
  });

  it('manualSeed(-1) and other non-integer seeds', () => {
    expect(() => manualSeed(-1)).toThrow(ArgumentError);
    expectError(() => manualSeed(-1), ArgumentError, /manualSeed/, /-1/);
    expectError(() => manualSeed(1.5), ArgumentError, /manualSeed/);
    expectError(() => manualSeed(Number.NaN), ArgumentError, /manualSeed/);
  });

  it('a repeated permutation dim and a bad transpose dim', () => {
    expectError(() => tidy(() => zeros([2, 3]).permute(0, 0)), ArgumentError, /permute/);
    expectError(() => tidy(() => zeros([2, 3]).transpose(0, 2)), ArgumentError, /transpose/, /2/);
  });
});

describe('errors and memory', () => {
  it('an error thrown inside tidy frees everything the tidy created', () => {
    const before = memory();
    expect(() =>
      tidy(() => {
        const x = tensor([1, 2, 3], { requiresGrad: true });
        const y = x.mul(x).exp();
        return y.add(zeros([4])); // ShapeError
      }),
    ).toThrow(ShapeError);
    expect(memory()).toEqual(before);
    expect(() =>
      tidy(() => {
        const x = tensor([1, 2], { requiresGrad: true });
        const y = x.mul(x).sum();
        y.backward();
        y.backward(); // AutogradError after gradients were allocated
      }),
    ).toThrow(AutogradError);
    expect(memory()).toEqual(before);
    expectModuleWorks();
  });

  it('an error thrown inside nested tidies frees both levels', () => {
    const before = memory();
    expect(() =>
      tidy(() => {
        ones([5]);
        tidy(() => {
          ones([6]);
          tidy(() => tensor([1], { dtype: 'int32' }).exp());
        });
      }),
    ).toThrow(DTypeError);
    expect(memory()).toEqual(before);
  });

  it('a failed creation with requiresGrad does not leak the half-made tensor', () => {
    const before = memory();
    expect(() => tensor([1, 2], { dtype: 'int32', requiresGrad: true })).toThrow(DTypeError);
    expect(memory()).toEqual(before);
  });
});

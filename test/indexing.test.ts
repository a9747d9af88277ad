// x.index(spec): the string and array forms against a float64 reference with Python's
// indexing rules (slices, integers, '...', None, trailing comma, clamped bounds), gradients
// through gradcheck, non-contiguous and 0-d inputs, errors.
import { describe, expect, it } from 'vitest';
import { ArgumentError, tensor, tidy, type IndexSpec } from '../ts/node.js';
import { gradcheck } from './helpers/gradcheck.js';
import { nd, numel, permute, randomNd, stridesOf, unravel, type Nd } from './helpers/reference.js';
import { run, T, thrown } from './helpers/snapshot.js';

/** A reference index entry: an integer, a Python slice, a new axis or Ellipsis. */
type Ref = number | { range: [number | null, number | null, number] } | 'new' | '...';
const S = (start: number | null = null, end: number | null = null, step = 1): Ref => ({ range: [start, end, step] });

/** Python's `x[items]` for integers, positive-step slices, None and one Ellipsis. */
function refIndex(x: Nd, items: Ref[]): Nd {
  const consuming = items.filter((r) => r !== 'new' && r !== '...').length;
  const full = items.flatMap((r) => (r === '...' ? Array<Ref>(x.shape.length - consuming).fill(S()) : [r]));
  while (full.filter((r) => r !== 'new').length < x.shape.length) full.push(S());
  // Per input dim: the positions it reads; per output dim: which input dim it walks (-1 = new).
  const picks: number[][] = [];
  const outDims: number[] = [];
  const outShape: number[] = [];
  for (const r of full) {
    if (r === 'new') {
      outDims.push(-1);
      outShape.push(1);
      continue;
    }
    const n = x.shape[picks.length]!;
    if (typeof r === 'number') {
      picks.push([r < 0 ? r + n : r]);
      continue;
    }
    const clamp = (v: number | null, dflt: number) => (v === null ? dflt : v < 0 ? Math.max(v + n, 0) : Math.min(v, n));
    if (r === '...') throw new Error('reference: unexpanded ellipsis');
    const [a, b, step] = r.range;
    const positions: number[] = [];
    for (let i = clamp(a, 0); i < clamp(b, n); i += step) positions.push(i);
    outDims.push(picks.length);
    outShape.push(positions.length);
    picks.push(positions);
  }
  const st = stridesOf(x.shape);
  const data = Array.from({ length: numel(outShape) }, (_, i) => {
    const m = unravel(i, outShape);
    const src = picks.map((p) => p[0]!);
    outDims.forEach((d, k) => {
      if (d >= 0) src[d] = picks[d]![m[k]!]!;
    });
    return x.data[src.reduce((o, v, k) => o + v * st[k]!, 0)]!;
  });
  return nd(outShape, data);
}

const cases: [string, IndexSpec, Ref[], number[]][] = [
  ['1:3, :, ::2', [[1, 3], null, [null, null, 2]], [S(1, 3), S(), S(null, null, 2)], [2, 4, 3]],
  ['-1', -1, [-1], [4, 5]],
  ['..., 0', ['...', 0], ['...', 0], [3, 4]],
  ['None, 0, 1:, -2', ['None', 0, [1], -2], ['new', 0, S(1), -2], [1, 3]],
  ['0, 1, 2', [0, 1, 2], [0, 1, 2], []],
  ['', [], [], [3, 4, 5]],
  [':, None, ..., 1:4:2', [null, 'None', '...', [1, 4, 2]], [S(), 'new', '...', S(1, 4, 2)], [3, 1, 4, 2]],
  ['1,', [1], [1], [4, 5]],
  [' 2 : , -3:-1 ', [[2], [-3, -1]], [S(2), S(-3, -1)], [1, 2, 5]],
  ['2:1', [[2, 1]], [S(2, 1)], [0, 4, 5]],
  ['-100:100, ..., 4', [[-100, 100], '...', 4], [S(-100, 100), '...', 4], [3, 4]],
  [':, :, :, ...', [null, null, null, '...'], [S(), S(), S(), '...'], [3, 4, 5]],
  ['..., None', ['...', 'None'], ['...', 'new'], [3, 4, 5, 1]],
];

describe('index', () => {
  for (const [text, array, ref, shape] of cases) {
    it(`'${text}' and ${JSON.stringify(array)}`, () => {
      const x = randomNd([3, 4, 5], 501);
      const want = refIndex(x, ref);
      expect(want.shape).toEqual(shape);
      expect(run(() => T(x).index(text))).toEqual({ shape, data: Array.from(want.data) });
      expect(run(() => T(x).index(array))).toEqual({ shape, data: Array.from(want.data) });
    });
  }
  it('matches PyTorch', () => {
    const x = tensor(Array.from({ length: 60 }, (_, i) => i), { shape: [3, 4, 5] });
    expect(run(() => x.index('1:3, :, ::2')).data.slice(0, 6)).toEqual([20, 22, 24, 25, 27, 29]);
    expect(tidy(() => x.index('..., 0').toArray())).toEqual([[0, 5, 10, 15], [20, 25, 30, 35], [40, 45, 50, 55]]);
    expect(tidy(() => x.index('None, 0, 1:, -2').toArray())).toEqual([[8, 13, 18]]);
    x.dispose();
  });
  it('gradients flow to the selected elements', () => {
    gradcheck((t) => t.index('1:3, :, ::2'), (t) => refIndex(t, [S(1, 3), S(), S(null, null, 2)]), [randomNd([3, 4, 5], 502)]);
    gradcheck((t) => t.index([-1, null, [1, 4]]), (t) => refIndex(t, [-1, S(), S(1, 4)]), [randomNd([3, 4, 5], 503)]);
    gradcheck((t) => t.index('None, ..., 2'), (t) => refIndex(t, ['new', '...', 2]), [randomNd([2, 3], 504)]);
    gradcheck((t) => t.index('1, 2'), (t) => refIndex(t, [1, 2]), [randomNd([2, 3], 505)]);
  });
  it('non-contiguous and 0-d inputs; the result is disposable on its own', () => {
    gradcheck((t) => t.t().index('1:, 0'), (t) => refIndex(permute(t, [1, 0]), [S(1), 0]), [randomNd([3, 4], 506)]);
    gradcheck((t) => t.t().index('::2'), (t) => refIndex(permute(t, [1, 0]), [S(null, null, 2)]), [randomNd([3, 4], 507)]);
    expect(run(() => tensor(5).index(''))).toEqual({ shape: [], data: [5] });
    expect(run(() => tensor(5).index('...'))).toEqual({ shape: [], data: [5] });
    expect(run(() => tensor(5).index('None'))).toEqual({ shape: [1], data: [5] });
    const x = tensor([1, 2, 3]);
    const y = x.index(':');
    y.dispose();
    expect(Array.from(x.data())).toEqual([1, 2, 3]);
    x.dispose();
  });
  it('errors: bad steps, too many indices, unparsable text, out-of-range integers', () => {
    const x = tensor(Array.from({ length: 24 }, (_, i) => i), { shape: [2, 3, 4] });
    const bad: [IndexSpec, RegExp][] = [
      ['::0', /^index: slice step must be positive, got 0 in '::0'/],
      ['::-1', /^index: slice step must be positive, got -1/],
      [[[null, null, 0]], /^index: slice step must be positive, got 0/],
      ['0, 0, 0, 0', /^index: too many indices for a tensor of shape \[2, 3, 4\]: 4 given/],
      [[0, 0, 0, null], /^index: too many indices/],
      ['a', /^index: cannot parse 'a' in 'a'/],
      ['1:2:3:4', /^index: cannot parse '1:2:3:4'/],
      ['1.5', /^index: cannot parse '1.5'/],
      ['0,,1', /^index: cannot parse ''/],
      ['..., ...', /^index: at most one '...' is allowed/],
      ['2', /^index: index 2 is out of range for dimension 0 of size 2 \(shape \[2, 3, 4\]\)/],
      ['0, -4', /^index: index -4 is out of range for dimension 1 of size 3/],
      [[1.5], /^index: entry 0 of \[1.5\] is not an integer/],
      [['x' as never], /^index: entry 0 of \["x"\]/],
      [[[1, 2, 3, 4] as never], /^index: entry 0 of \[\[1,2,3,4\]\]/],
      [{} as never, /^index: expected a string, a number or an array, got object/],
    ];
    for (const [spec, message] of bad) {
      const e = thrown(() => x.index(spec));
      expect(e, JSON.stringify(spec)).toBeInstanceOf(ArgumentError);
      expect(e.message).toMatch(message);
    }
    expect(run(() => x.index('1, 2, 3'))).toEqual({ shape: [], data: [23] });
    x.dispose();
  });
});

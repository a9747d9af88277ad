// toString() against PyTorch's printing (torch/_tensor_str.py with default print options:
// precision 4, threshold 1000, edgeitems 3, linewidth 80).
import { describe, expect, it } from 'vitest';
import { arange, ones, scalar, tensor, tidy, zeros, type Tensor } from '../ts/node.js';

/** toString() of a tensor made inside a tidy (so nothing leaks). */
const str = (make: () => Tensor): string => tidy(() => make().toString());

describe('toString: basic layouts', () => {
  it("[1, 2] → 'tensor([1., 2.])'", () => {
    expect(str(() => tensor([1, 2]))).toBe('tensor([1., 2.])');
  });

  it('2-D rows are aligned under the first bracket', () => {
    expect(str(() => tensor([[1, 2], [3, 4]]))).toBe('tensor([[1., 2.],\n        [3., 4.]])');
  });

  it('3-D blocks are separated by a blank line', () => {
    expect(str(() => tensor([[[1, 2], [3, 4]], [[5, 6], [7, 8]]]))).toBe(
      'tensor([[[1., 2.],\n         [3., 4.]],\n\n        [[5., 6.],\n         [7., 8.]]])',
    );
  });

  it('a non-contiguous view prints in logical order', () => {
    expect(str(() => tensor([[1, 2], [3, 4]]).t())).toBe('tensor([[1., 3.],\n        [2., 4.]])');
  });

  it('0-d tensors print without brackets', () => {
    expect(str(() => scalar(3))).toBe('tensor(3.)');
    expect(str(() => scalar(2.5))).toBe('tensor(2.5000)');
    expect(str(() => scalar(-7))).toBe('tensor(-7.)');
  });

  it('String() and template literals use the same text', () => {
    tidy(() => {
      const t = tensor([1, 2]);
      expect(String(t)).toBe('tensor([1., 2.])');
      expect(`${t}`).toBe('tensor([1., 2.])');
    });
  });
});

describe('toString: number formatting', () => {
  it('fractional values get 4 decimals', () => {
    expect(str(() => tensor([0.5, 1.25]))).toBe('tensor([0.5000, 1.2500])');
  });

  it('values are right-aligned to a common width', () => {
    expect(str(() => tensor([-1, 2.5]))).toBe('tensor([-1.0000,  2.5000])');
    expect(str(() => tensor([-1, 2]))).toBe('tensor([-1.,  2.])');
    expect(str(() => tensor([8, 12]))).toBe('tensor([ 8., 12.])');
    expect(str(() => tensor([-0.5, 100.25]))).toBe('tensor([ -0.5000, 100.2500])');
  });

  it('all zeros print as integers', () => {
    expect(str(() => zeros(3))).toBe('tensor([0., 0., 0.])');
  });

  it('mixed magnitudes including tiny values switch to scientific notation', () => {
    expect(str(() => tensor([1e-5, 1]))).toBe('tensor([1.0000e-05, 1.0000e+00])');
    expect(str(() => tensor([1e10, 1]))).toBe('tensor([1.0000e+10, 1.0000e+00])');
  });

  it('values all below 1e-4 use scientific notation instead of printing 0.0000', () => {
    expect(str(() => tensor([1e-5, 2e-5]))).toBe('tensor([1.0000e-05, 2.0000e-05])');
    expect(str(() => scalar(3e-6))).toBe('tensor(3.0000e-06)');
  });

  it('a max/min ratio above 1000 uses scientific notation (also for integral floats)', () => {
    expect(str(() => tensor([1, 2000]))).toBe('tensor([1.0000e+00, 2.0000e+03])');
    expect(str(() => tensor([0.5, 600]))).toBe('tensor([5.0000e-01, 6.0000e+02])');
  });

  it('nan and inf among fractional values', () => {
    expect(str(() => tensor([Number.NaN, 0.5]))).toBe('tensor([   nan, 0.5000])');
    expect(str(() => tensor([Number.NEGATIVE_INFINITY, 0.5]))).toBe('tensor([  -inf, 0.5000])');
  });

  it('nan and inf do not widen integral columns', () => {
    expect(str(() => tensor([Number.NaN, Number.POSITIVE_INFINITY, 1]))).toBe('tensor([nan, inf, 1.])');
  });
});

describe('toString: suffixes', () => {
  it("requires_grad suffix: 'tensor([1., 2.], requires_grad=True)'", () => {
    expect(str(() => tensor([1, 2], { requiresGrad: true }))).toBe('tensor([1., 2.], requires_grad=True)');
    expect(str(() => scalar(2.5, { requiresGrad: true }))).toBe('tensor(2.5000, requires_grad=True)');
  });

  it('grad_fn suffix replaces requires_grad for op results', () => {
    expect(str(() => tensor([1, 2], { requiresGrad: true }).mul(2))).toBe('tensor([2., 4.], grad_fn=<MulBackward0>)');
    expect(str(() => tensor([[1, 2], [3, 4]], { requiresGrad: true }).add(1))).toBe(
      'tensor([[2., 3.],\n        [4., 5.]], grad_fn=<AddBackward0>)',
    );
    expect(str(() => scalar(2.5, { requiresGrad: true }).mul(2))).toBe('tensor(5., grad_fn=<MulBackward0>)');
  });

  it('the seed example prints like PyTorch', () => {
    const [f, ga] = tidy(() => {
      const a = tensor([2, 3], { requiresGrad: true });
      const b = tensor([6, 4], { requiresGrad: true });
      const f = a.pow(2).mul(2).add(b.pow(2));
      f.backward(ones([2]));
      return [f.toString(), a.grad!.toString()];
    });
    expect(f).toBe('tensor([44., 34.], grad_fn=<AddBackward0>)');
    expect(ga).toBe('tensor([ 8., 12.])');
  });

  it("int32 tensors carry a dtype suffix: 'tensor([1, 2], dtype=int32)'", () => {
    expect(str(() => tensor([1, 2], { dtype: 'int32' }))).toBe('tensor([1, 2], dtype=int32)');
    expect(str(() => tensor([1, 100, -3], { dtype: 'int32' }))).toBe('tensor([  1, 100,  -3], dtype=int32)');
    expect(str(() => tensor([[1, 2], [3, 4]], { dtype: 'int32' }))).toBe('tensor([[1, 2],\n        [3, 4]], dtype=int32)');
  });

  it('results under noGrad print without grad suffixes', () => {
    expect(
      tidy(() => {
        const a = tensor([1, 2], { requiresGrad: true });
        return a.detach().mul(2).toString();
      }),
    ).toBe('tensor([2., 4.])');
  });
});

describe('toString: large and empty tensors', () => {
  it('large tensors (> 1000 elements) are summarized with ... and 3 edge items', () => {
    const s = str(() => ones(2000));
    expect(s).toContain('...');
    expect(s.match(/1\./g)).toHaveLength(6);
    expect(s.startsWith('tensor([1., 1., 1.,')).toBe(true);
    expect(s.endsWith('1., 1., 1.])')).toBe(true);
  });

  it('a large matrix is summarized in rows and columns (3 edge rows, a ... row, 3 edge rows)', () => {
    const lines = str(() => ones([40, 50])).split('\n');
    expect(lines).toHaveLength(7);
    expect(lines[3]).toBe('        ...,');
    for (const i of [0, 1, 2, 4, 5, 6]) expect(lines[i]!.match(/1\./g)).toHaveLength(6);
  });

  it('exactly 1000 elements are not summarized', () => {
    const s = str(() => ones(1000));
    expect(s).not.toContain('...');
    expect(s.match(/1\./g)).toHaveLength(1000);
  });

  it("a summarized vector puts two spaces before '...', as PyTorch does", () => {
    expect(str(() => ones(2000))).toBe('tensor([1., 1., 1.,  ..., 1., 1., 1.])');
  });

  it('a summarized matrix elides rows and columns', () => {
    const row = '[1., 1., 1.,  ..., 1., 1., 1.]';
    const expected = `tensor([${row},\n        ${row},\n        ${row},\n        ...,\n        ${row},\n        ${row},\n        ${row}])`;
    expect(str(() => ones([40, 50]))).toBe(expected);
  });

  it('arange(2000) prints exactly as torch.arange(2000.) (checked against PyTorch 1.13)', () => {
    expect(str(() => arange(2000))).toBe(
      'tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n        1.9990e+03])',
    );
  });

  it('the number format is chosen from the printed (summarized) values only, as in PyTorch', () => {
    // A hidden middle value of 0.5 must not turn the visible 1s into 1.0000.
    const s = str(() => {
      const values = new Float32Array(2000).fill(1);
      values[1000] = 0.5;
      return tensor(values);
    });
    expect(s).toMatch(/^tensor\(\[1\., 1\., 1\., +\.\.\., 1\., 1\., 1\.\]\)$/);
  });

  it('long vectors wrap at 80 columns', () => {
    expect(str(() => arange(20))).toBe(
      'tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n        14., 15., 16., 17., 18., 19.])',
    );
  });

  it("an empty 1-D tensor prints 'tensor([])'", () => {
    expect(str(() => tensor([]))).toBe('tensor([])');
    expect(str(() => zeros([0]))).toBe('tensor([])');
  });

  it('an empty tensor of another shape prints its size, as in PyTorch', () => {
    expect(str(() => zeros([2, 0]))).toBe('tensor([], size=(2, 0))');
  });
});

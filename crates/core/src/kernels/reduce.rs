//! Sum, prod, var and logsumexp reductions along any set of axes, accumulated in f64 for
//! accuracy (max/min and their indices are in `kernels::extreme`).

use crate::error::Result;
use crate::layout::{checked_numel, contiguous_strides, Layout, StridedWalk};
use crate::storage::{try_alloc, try_map, Buffer};
use crate::tensor::{unreachable_dtype, Tensor};

/// The keepdim output shape of a reduction over `layout`, and output strides for walking
/// the input: reduced dims get stride 0, so every input element lands on its output slot.
pub(crate) fn kept_geometry(layout: &Layout, reduced: &[bool]) -> (Vec<usize>, Vec<usize>) {
    let shape: Vec<usize> = layout.shape.iter().zip(reduced).map(|(&d, &r)| if r { 1 } else { d }).collect();
    let mut out_strides = contiguous_strides(&shape);
    for (s, &r) in out_strides.iter_mut().zip(reduced) {
        if r {
            *s = 0;
        }
    }
    (shape, out_strides)
}

/// Sums `x` over the axes flagged in `reduced`; the result has those dims set to 1.
pub fn sum_keepdim(op: &str, x: &Tensor, reduced: &[bool]) -> Result<Tensor> {
    x.expect_f32(op)?;
    let (shape, out_strides) = kept_geometry(x.layout(), reduced);
    let mut acc = try_alloc(op, checked_numel(op, &shape)?, 0.0f64)?;
    {
        let buffer = x.buffer();
        let Buffer::F32(data) = &*buffer else { unreachable_dtype() };
        let l = x.layout();
        let walk = StridedWalk::new(&l.shape, [&l.strides, &out_strides]);
        walk.for_each_row([l.offset, 0], |[pi, po], len, [si, so]| {
            if so == 0 {
                acc[po] += row_sum(data, pi, len, si);
            } else {
                for i in 0..len {
                    acc[po + i * so] += data[pi + i * si] as f64;
                }
            }
        });
    }
    let out = try_map(op, &acc, |v| v as f32)?;
    drop(acc);
    Tensor::from_f32(out, &shape)
}

/// Folds the elements of `data` seen through `layout` into one accumulator per output
/// element, `f(acc, v)` starting from `init`; the result has the `reduced` dims set to 1.
pub fn fold_keepdim<T: Copy, A: Copy>(
    op: &str,
    data: &[T],
    layout: &Layout,
    reduced: &[bool],
    init: A,
    mut f: impl FnMut(A, T) -> A,
) -> Result<(Vec<A>, Vec<usize>)> {
    let (shape, out_strides) = kept_geometry(layout, reduced);
    let mut acc = try_alloc(op, checked_numel(op, &shape)?, init)?;
    let walk = StridedWalk::new(&layout.shape, [&layout.strides, &out_strides]);
    walk.for_each_row([layout.offset, 0], |[pi, po], len, [si, so]| {
        for i in 0..len {
            let slot = &mut acc[po + i * so];
            *slot = f(*slot, data[pi + i * si]);
        }
    });
    Ok((acc, shape))
}

fn row_sum(data: &[f32], start: usize, len: usize, stride: usize) -> f64 {
    if stride == 1 {
        // Eight independent f32 lanes vectorise; folding them per 1024-chunk into f64 keeps
        // the rounding error of long rows small.
        let mut total = 0.0f64;
        for chunk in data[start..start + len].chunks(1024) {
            let mut lanes = [0.0f32; 8];
            let mut it = chunk.chunks_exact(8);
            for c in &mut it {
                for k in 0..8 {
                    lanes[k] += c[k];
                }
            }
            let tail: f32 = it.remainder().iter().sum();
            total += lanes.iter().map(|&v| v as f64).sum::<f64>() + tail as f64;
        }
        total
    } else {
        (0..len).map(|i| data[start + i * stride] as f64).sum()
    }
}

/// Products over the axes flagged in `reduced` (f64 accumulation; an empty product is 1),
/// with reduced dims kept as 1, and whether any element was zero: prod's backward can
/// only use `out / x` when none was.
pub fn prod_keepdim(op: &str, x: &Tensor, reduced: &[bool]) -> Result<(Tensor, bool)> {
    x.expect_f32(op)?;
    let buffer = x.buffer();
    let Buffer::F32(data) = &*buffer else { unreachable_dtype() };
    let mut has_zero = false;
    let (acc, shape) = fold_keepdim(op, data, x.layout(), reduced, 1.0f64, |p, v| {
        has_zero |= v == 0.0;
        p * v as f64
    })?;
    let out = try_map(op, &acc, |v| v as f32)?;
    drop(acc);
    Ok((Tensor::from_f32(out, &shape)?, has_zero))
}

/// For each element of a contiguous `[outer, n, inner]` block, the product of the other
/// elements of its length-`n` group, from prefix and suffix products (so zeros need no
/// division: one zero leaves the others' product at its position, two zero everything).
pub fn prod_of_others(op: &str, src: &[f32], outer: usize, n: usize, inner: usize) -> Result<Vec<f32>> {
    let mut out = try_alloc(op, src.len(), 0.0f32)?;
    let mut prefix = try_alloc(op, n, 1.0f64)?;
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| (o * n + k) * inner + i;
            let mut p = 1.0f64;
            for (k, slot) in prefix.iter_mut().enumerate() {
                *slot = p;
                p *= src[at(k)] as f64;
            }
            let mut s = 1.0f64;
            for k in (0..n).rev() {
                out[at(k)] = (prefix[k] * s) as f32;
                s *= src[at(k)] as f64;
            }
        }
    }
    Ok(out)
}

/// Like [`fold_keepdim`], but `f(acc, slot, v)` also gets the output slot, so a second pass
/// can read a per-output value of the first (the mean for the variance, the shift for
/// logsumexp).
fn fold_keepdim_slots<A: Copy>(
    op: &str,
    data: &[f32],
    layout: &Layout,
    reduced: &[bool],
    init: A,
    mut f: impl FnMut(A, usize, f32) -> A,
) -> Result<Vec<A>> {
    let (shape, out_strides) = kept_geometry(layout, reduced);
    let mut acc = try_alloc(op, checked_numel(op, &shape)?, init)?;
    let walk = StridedWalk::new(&layout.shape, [&layout.strides, &out_strides]);
    walk.for_each_row([layout.offset, 0], |[pi, po], len, [si, so]| {
        for i in 0..len {
            let slot = po + i * so;
            acc[slot] = f(acc[slot], slot, data[pi + i * si]);
        }
    });
    Ok(acc)
}

/// The variance over the axes flagged in `reduced` (kept as 1): two passes in f64 (the mean,
/// then the squared deviations from it), divided by `max(0, n − correction)` as PyTorch
/// does, so one element (unbiased) or an empty reduction is 0/0 = NaN; with `sqrt`, the
/// standard deviation (the root taken before rounding to f32).
pub fn var_keepdim(op: &str, x: &Tensor, reduced: &[bool], correction: f64, sqrt: bool) -> Result<Tensor> {
    x.expect_f32(op)?;
    let buffer = x.buffer();
    let Buffer::F32(data) = &*buffer else { unreachable_dtype() };
    let l = x.layout();
    let n: usize = l.shape.iter().zip(reduced).filter(|(_, &r)| r).map(|(&d, _)| d).product();
    let (mut mean, shape) = fold_keepdim(op, data, l, reduced, 0.0f64, |s, v| s + v as f64)?;
    for m in mean.iter_mut() {
        *m /= n as f64;
    }
    let ssd = fold_keepdim_slots(op, data, l, reduced, 0.0f64, |s, slot, v| {
        let d = v as f64 - mean[slot];
        s + d * d
    })?;
    drop(mean);
    let divisor = (n as f64 - correction).max(0.0);
    let out = try_map(op, &ssd, |s| if sqrt { (s / divisor).sqrt() as f32 } else { (s / divisor) as f32 })?;
    drop(ssd);
    Tensor::from_f32(out, &shape)
}

/// `log Σ exp(x)` over the axes flagged in `reduced` (kept as 1), shifted by the max as
/// PyTorch does: an infinite max shifts by 0 (so +inf gives +inf and all −inf gives −inf),
/// NaN propagates, and an empty reduction is log 0 = −inf. Sums and logs in f64.
pub fn logsumexp_keepdim(op: &str, x: &Tensor, reduced: &[bool]) -> Result<Tensor> {
    x.expect_f32(op)?;
    let buffer = x.buffer();
    let Buffer::F32(data) = &*buffer else { unreachable_dtype() };
    let l = x.layout();
    let (mut shift, shape) = fold_keepdim(op, data, l, reduced, f32::NEG_INFINITY, |m, v| {
        if v.is_nan() || m.is_nan() || v > m { if m.is_nan() { m } else { v } } else { m }
    })?;
    for m in shift.iter_mut() {
        if m.is_infinite() {
            *m = 0.0;
        }
    }
    let sums = fold_keepdim_slots(op, data, l, reduced, 0.0f64, |s, slot, v| s + (v as f64 - shift[slot] as f64).exp())?;
    let mut out = try_alloc(op, sums.len(), 0.0f32)?;
    for ((o, &s), &m) in out.iter_mut().zip(&sums).zip(&shift) {
        *o = (s.ln() + m as f64) as f32;
    }
    drop((sums, shift));
    Tensor::from_f32(out, &shape)
}

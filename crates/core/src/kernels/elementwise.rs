//! Elementwise maps with NumPy broadcasting. The closures are generic parameters, so each
//! op's loop is monomorphised and vectorised (simd128) rather than called per element.

use crate::error::Result;
use crate::layout::{broadcast_dims, checked_numel, contiguous_dims, Dims, Layout, StridedWalk};
use crate::storage::{try_alloc, Buffer};
use crate::tensor::{unreachable_dtype, Tensor};

/// `f(x)` for every element, into a new contiguous tensor.
pub fn map(op: &str, x: &Tensor, f: impl Fn(f32) -> f32) -> Result<Tensor> {
    let mut out = try_alloc(op, x.numel(), 0.0f32)?;
    x.with_f32(op, |src| {
        for (o, &v) in out.iter_mut().zip(src) {
            *o = f(v);
        }
    })?;
    Tensor::from_f32(out, x.shape())
}

/// `kernel(src, out)` over the elements in row-major order, into a new contiguous tensor:
/// for kernels that take a whole slice at a time, such as the SIMD functions of
/// [`crate::kernels::math`] (four lanes per step, the tail one by one).
pub fn map_slice(op: &str, x: &Tensor, kernel: impl Fn(&[f32], &mut [f32])) -> Result<Tensor> {
    let mut out = try_alloc(op, x.numel(), 0.0f32)?;
    x.with_f32(op, |src| kernel(src, &mut out))?;
    Tensor::from_f32(out, x.shape())
}

/// `f(x)` for every element of the float32 tensor `x`, read through its layout (a strided
/// view is walked, not copied first), into a new contiguous tensor of `x`'s shape: what
/// [`zip`] computes when one operand is a single number, without a tensor for the number.
/// Not inlined: its callers dispatch over many `f`, and one function per `f` keeps each
/// small.
#[inline(never)]
pub fn map_strided(op: &str, x: &Tensor, f: impl Fn(f32) -> f32) -> Result<Tensor> {
    x.expect_f32(op)?;
    let l = x.layout();
    let n = checked_numel(op, &l.shape)?;
    let mut out = try_alloc(op, n, 0.0f32)?;
    {
        let buffer = x.buffer();
        let Buffer::F32(data) = &*buffer else { unreachable_dtype() };
        if l.is_contiguous() && !l.has_overlap() {
            for (o, &v) in out.iter_mut().zip(&data[l.offset..l.offset + n]) {
                *o = f(v);
            }
        } else {
            let out_strides = contiguous_dims(&l.shape);
            let walk = StridedWalk::new(&l.shape, [&out_strides, &l.strides]);
            walk.for_each_row([0, l.offset], |[o, p], len, [_, s]| {
                let row = &mut out[o..o + len];
                if s == 1 {
                    for (r, &v) in row.iter_mut().zip(&data[p..p + len]) {
                        *r = f(v);
                    }
                } else {
                    for (i, r) in row.iter_mut().enumerate() {
                        *r = f(data[p + i * s]);
                    }
                }
            });
        }
    }
    Tensor::from_f32(out, &l.shape)
}

/// `f(a, b)` over the broadcast shape of `a` and `b`, into a new contiguous tensor.
pub fn zip(op: &str, a: &Tensor, b: &Tensor, f: impl Fn(f32, f32) -> f32) -> Result<Tensor> {
    let (out, shape) = zip_values(op, a, b, f)?;
    Tensor::from_f32(out, &shape)
}

/// `f(a, b)` over the broadcast shape of two float32 tensors, as row-major values of any
/// element type (f32 results, or bool flags for comparisons) and that shape.
pub fn zip_values<T: Copy + Default>(op: &str, a: &Tensor, b: &Tensor, f: impl Fn(f32, f32) -> T) -> Result<(Vec<T>, Dims)> {
    a.expect_f32(op)?;
    b.expect_f32(op)?;
    let (ba, bb) = (a.buffer(), b.buffer());
    let (Buffer::F32(da), Buffer::F32(db)) = (&*ba, &*bb) else { unreachable_dtype() };
    zip_slices(op, (a.layout(), da), (b.layout(), db), f)
}

/// `f(a, b)` over the broadcast shape of two strided element slices of any types (the
/// loop behind [`zip_values`], also used on bool bytes).
pub fn zip_slices<A: Copy, B: Copy, T: Copy + Default>(
    op: &str,
    (a, da): (&Layout, &[A]),
    (b, db): (&Layout, &[B]),
    f: impl Fn(A, B) -> T,
) -> Result<(Vec<T>, Dims)> {
    let shape = broadcast_dims(op, &a.shape, &b.shape)?;
    let n = checked_numel(op, &shape)?;
    let mut out = try_alloc(op, n, T::default())?;
    {
        let (la, lb) = (a.broadcast_to(&shape), b.broadcast_to(&shape));
        if la.is_contiguous() && lb.is_contiguous() && !la.has_overlap() && !lb.has_overlap() {
            let (sa, sb) = (&da[la.offset..la.offset + n], &db[lb.offset..lb.offset + n]);
            for ((o, &x), &y) in out.iter_mut().zip(sa).zip(sb) {
                *o = f(x, y);
            }
        } else if b.numel() == 1 && la.is_contiguous() && !la.has_overlap() {
            let y = db[b.offset];
            for (o, &x) in out.iter_mut().zip(&da[la.offset..la.offset + n]) {
                *o = f(x, y);
            }
        } else if a.numel() == 1 && lb.is_contiguous() && !lb.has_overlap() {
            let x = da[a.offset];
            for (o, &y) in out.iter_mut().zip(&db[lb.offset..lb.offset + n]) {
                *o = f(x, y);
            }
        } else if let (Some(m), true) = (trailing_block(&shape, b), la.is_contiguous() && !la.has_overlap()) {
            // [.., N] op [N] (a bias add): every row of `a` against the whole of `b`.
            let (sa, sb) = (&da[la.offset..la.offset + n], &db[b.offset..b.offset + m]);
            for (orow, arow) in out.chunks_exact_mut(m).zip(sa.chunks_exact(m)) {
                for ((o, &x), &y) in orow.iter_mut().zip(arow).zip(sb) {
                    *o = f(x, y);
                }
            }
        } else if let (Some(m), true) = (trailing_block(&shape, a), lb.is_contiguous() && !lb.has_overlap()) {
            let (sa, sb) = (&da[a.offset..a.offset + m], &db[lb.offset..lb.offset + n]);
            for (orow, brow) in out.chunks_exact_mut(m).zip(sb.chunks_exact(m)) {
                for ((o, &x), &y) in orow.iter_mut().zip(sa).zip(brow) {
                    *o = f(x, y);
                }
            }
        } else {
            let out_strides = contiguous_dims(&shape);
            let walk = StridedWalk::new(&shape, [&out_strides, &la.strides, &lb.strides]);
            walk.for_each_row([0, la.offset, lb.offset], |[o, pa, pb], len, [_, sa, sb]| {
                let row = &mut out[o..o + len];
                match (sa, sb) {
                    (1, 1) => {
                        for ((r, &x), &y) in row.iter_mut().zip(&da[pa..pa + len]).zip(&db[pb..pb + len]) {
                            *r = f(x, y);
                        }
                    }
                    (1, 0) => {
                        let y = db[pb];
                        for (r, &x) in row.iter_mut().zip(&da[pa..pa + len]) {
                            *r = f(x, y);
                        }
                    }
                    (0, 1) => {
                        let x = da[pa];
                        for (r, &y) in row.iter_mut().zip(&db[pb..pb + len]) {
                            *r = f(x, y);
                        }
                    }
                    _ => {
                        for (i, r) in row.iter_mut().enumerate() {
                            *r = f(da[pa + i * sa], db[pb + i * sb]);
                        }
                    }
                }
            });
        }
    }
    Ok((out, shape))
}

/// `Some(t.numel())` when `t` is contiguous, has more than one element, and its shape
/// (leading 1s aside) is a suffix of `shape`: broadcast to `shape`, it repeats whole.
fn trailing_block(shape: &[usize], t: &Layout) -> Option<usize> {
    let own = &t.shape[t.shape.iter().position(|&d| d != 1).unwrap_or(t.shape.len())..];
    let m = t.numel();
    (m > 1 && t.is_contiguous() && shape.ends_with(own)).then_some(m)
}

//! Elementwise maps with NumPy broadcasting. The closures are generic parameters, so each
//! op's loop is monomorphised and vectorised (simd128) rather than called per element;
//! the code around the loops (broadcasting, layout walks) is not, because it would be
//! copied into every op of the tables and make up most of the wasm binary.
//!
//! Large maps over contiguous operands (a unary op, two same-shape operands, a number on
//! one side, a bias over the last dims; float outputs) are cut into chunks run on the
//! thread pool ([`crate::parallel`]). Every output element is computed by the same loop
//! code whatever chunk it falls in: chunks start at multiples of [`UNIT`] elements (whole
//! SIMD blocks of `kernels::math`, whole repeats of a bias), so the bits are those of one
//! call. Strided
//! views and other broadcasts (a column, [N, 1] against [N, M]) walk on the calling
//! thread: splitting the walk cost more of the threads build's size budget than it had.

use crate::error::Result;
use crate::layout::{broadcast_dims, checked_numel, contiguous_dims, Dims, Layout, StridedWalk};
use crate::parallel;
use crate::storage::{try_alloc_overwritten, Buffer, Recyclable};
use crate::tensor::{unreachable_dtype, Tensor};

/// Chunks of a parallel map start at multiples of this many elements: a multiple of the
/// 256-element blocks in which `kernels::math` picks its fast or general form, and of
/// every vector width, so a chunk's loop treats each element exactly as one call would.
const UNIT: usize = 256;

/// `kernel(src, out)` over `src` and `out` (the same length), in chunks on the thread pool
/// when large.
fn split_map(src: &[f32], out: &mut [f32], kernel: &(dyn Fn(&[f32], &mut [f32]) + Sync)) {
    if !parallel::worth_splitting(out.len()) {
        return kernel(src, out);
    }
    let chunk = parallel::chunk_len(out.len(), UNIT);
    parallel::for_chunks_mut(out, chunk, &|start, o| kernel(&src[start..start + o.len()], o));
}

/// `f(x)` for every element, into a new contiguous tensor.
pub fn map(op: &str, x: &Tensor, f: impl Fn(f32) -> f32 + Sync) -> Result<Tensor> {
    map_slice_dyn(op, x, &|src, out| map_loop(&f, src, out))
}

/// The loop of [`map`], the only part compiled once per `f`.
#[inline(never)]
fn map_loop(f: &impl Fn(f32) -> f32, src: &[f32], out: &mut [f32]) {
    for (o, &v) in out.iter_mut().zip(src) {
        *o = f(v);
    }
}

/// `kernel(src, out)` over the elements in row-major order, into a new contiguous tensor:
/// for kernels that take a whole slice at a time, such as the SIMD functions of
/// [`crate::kernels::math`] (four lanes per step, the tail one by one).
pub fn map_slice(op: &str, x: &Tensor, kernel: impl Fn(&[f32], &mut [f32]) + Sync) -> Result<Tensor> {
    map_slice_dyn(op, x, &kernel)
}

/// [`map_slice`] behind one call per tensor through `&dyn`, shared by every unary op.
#[inline(never)]
fn map_slice_dyn(op: &str, x: &Tensor, kernel: &(dyn Fn(&[f32], &mut [f32]) + Sync)) -> Result<Tensor> {
    let mut out = try_alloc_overwritten(op, x.numel())?;
    x.with_f32(op, |src| split_map(src, &mut out, kernel))?;
    Tensor::from_f32(out, x.shape())
}

/// The row loop of one op against a number `s`: `row(out, src, stride, s)` sets
/// `out[i] = f(src[i * stride], s)` (or with the operands the other way round), through
/// [`map_row`]. A plain function, so that [`map_strided`]'s callers pick one per op and
/// make a single call: a call per op with a constant row would let LLVM clone the whole
/// walk for each of them (function specialisation), which is what this layering avoids.
pub type ScalarRow = fn(&mut [f32], &[f32], usize, f32);

/// `row(.., s)` for every element of the float32 tensor `x`, read through its layout (a
/// strided view is walked, not copied first), into a new contiguous tensor of `x`'s shape:
/// what [`zip`] computes when one operand is a single number, without a tensor for it.
///
/// Only the row loop is compiled once per op; the walk over the layout is shared.
pub fn map_strided(op: &str, x: &Tensor, s: f32, row: ScalarRow) -> Result<Tensor> {
    map_rows(op, x, &|out, src, stride| row(out, src, stride, s))
}

/// `out[i] = f(src[i * s])`: the per-op loop of [`map_strided`]. The unit stride, the case
/// of every contiguous input, has its own loop so that it vectorises. Each [`ScalarRow`]
/// is this loop and nothing else.
#[inline(always)]
pub fn map_row(f: &impl Fn(f32) -> f32, out: &mut [f32], src: &[f32], s: usize) {
    if s == 1 {
        for (o, &v) in out.iter_mut().zip(src) {
            *o = f(v);
        }
    } else {
        for (i, o) in out.iter_mut().enumerate() {
            *o = f(src[i * s]);
        }
    }
}

/// The op-independent part of [`map_strided`]: splits `x` into rows and hands each to `row`
/// as `(out row, source elements it reads, source stride)`.
#[inline(never)]
fn map_rows(op: &str, x: &Tensor, row: &(dyn Fn(&mut [f32], &[f32], usize) + Sync)) -> Result<Tensor> {
    x.expect_f32(op)?;
    let l = x.layout();
    let n = checked_numel(op, &l.shape)?;
    let mut out = try_alloc_overwritten(op, n)?;
    {
        let buffer = x.buffer();
        let Buffer::F32(data) = &*buffer else { unreachable_dtype() };
        if l.is_contiguous() && !l.has_overlap() {
            split_map(&data[l.offset..l.offset + n], &mut out, &|src, o| row(o, src, 1));
        } else {
            let out_strides = contiguous_dims(&l.shape);
            let walk = StridedWalk::new(&l.shape, [&out_strides, &l.strides]);
            walk.for_each_row([0, l.offset], |[o, p], len, [_, s]| row(&mut out[o..o + len], span(data, p, len, s), s));
        }
    }
    Tensor::from_f32(out, &l.shape)
}

/// The elements a row of `len` elements with stride `s` from `start` reads (`len` ≥ 1),
/// so that the row loops index a slice of exactly their own extent.
fn span<E>(data: &[E], start: usize, len: usize, s: usize) -> &[E] {
    &data[start..start + (len - 1) * s + 1]
}

/// `f(a, b)` over the broadcast shape of `a` and `b`, into a new contiguous tensor.
pub fn zip(op: &str, a: &Tensor, b: &Tensor, f: impl Fn(f32, f32) -> f32 + Sync) -> Result<Tensor> {
    zip_tensor(op, a, b, &|out, xa, xb, sa, sb| zip_row(&f, out, xa, xb, sa, sb))
}

/// [`zip`] with its row loop behind `&dyn`: the tensor handling, shared by every op.
#[inline(never)]
fn zip_tensor(op: &str, a: &Tensor, b: &Tensor, row: ZipRow<'_, f32, f32, f32>) -> Result<Tensor> {
    let (out, shape) = zip_tensor_values(op, a, b, row)?;
    Tensor::from_f32(out, &shape)
}

/// The float32 operands of [`zip_values`] and [`zip`], checked and borrowed, then zipped.
#[inline(never)]
fn zip_tensor_values<T: Recyclable + Send>(op: &str, a: &Tensor, b: &Tensor, row: ZipRow<'_, f32, f32, T>) -> Result<(Vec<T>, Dims)> {
    a.expect_f32(op)?;
    b.expect_f32(op)?;
    let (ba, bb) = (a.buffer(), b.buffer());
    let (Buffer::F32(da), Buffer::F32(db)) = (&*ba, &*bb) else { unreachable_dtype() };
    zip_rows(op, (a.layout(), da), (b.layout(), db), row)
}

/// `f(a, b)` over the broadcast shape of two float32 tensors, as row-major values of any
/// element type (f32 results, or bool flags for comparisons) and that shape.
pub fn zip_values<T: Recyclable + Send>(op: &str, a: &Tensor, b: &Tensor, f: impl Fn(f32, f32) -> T + Sync) -> Result<(Vec<T>, Dims)> {
    zip_tensor_values(op, a, b, &|out, xa, xb, sa, sb| zip_row(&f, out, xa, xb, sa, sb))
}

/// `f(a, b)` over the broadcast shape of two strided element slices of any types (the
/// loop behind [`zip_values`], also used on bool bytes).
///
/// Every binary op instantiates this, so only [`zip_row`] is compiled per `f`: the
/// broadcasting and the layout walk ([`zip_rows`]) exist once per element type and call
/// the row loop through `&dyn`, once per row. The common cases are a single call (same
/// shapes, a number on one side, a bias over the last dim), so that call costs nothing
/// measurable on large tensors, and each op's code is its loops (about 1 KB of wasm,
/// where a copy of the whole dispatch per op was about 14 KB).
pub fn zip_slices<A: Copy + Sync, B: Copy + Sync, T: Recyclable + Send>(
    op: &str,
    a: (&Layout, &[A]),
    b: (&Layout, &[B]),
    f: impl Fn(A, B) -> T + Sync,
) -> Result<(Vec<T>, Dims)> {
    zip_rows(op, a, b, &|out, xa, xb, sa, sb| zip_row(&f, out, xa, xb, sa, sb))
}

/// `out[i] = f(xa[i * sa], xb[i * sb])`, or with a shorter operand repeated (below): the
/// per-op loop of [`zip_slices`]. The stride
/// pairs of contiguous operands and of a broadcast number, (1, 1), (1, 0) and (0, 1), have
/// their own loops so that they vectorise; other strides (views) take the indexed loop.
/// Not inlined, so that the `&dyn` closure and its `FnMut` shim share it.
#[inline(never)]
fn zip_row<A: Copy, B: Copy, T>(f: &impl Fn(A, B) -> T, out: &mut [T], xa: &[A], xb: &[B], sa: usize, sb: usize) {
    match (sa, sb, xa.first(), xb.first()) {
        // A shorter operand is a trailing block repeated along the other ([.., N] op [N],
        // a bias add): all its rows in this one call, as a call per short row would cost
        // more than the row itself.
        (1, 1, ..) if !xb.is_empty() && xb.len() < xa.len() => {
            for (orow, arow) in out.chunks_exact_mut(xb.len()).zip(xa.chunks_exact(xb.len())) {
                for ((o, &x), &y) in orow.iter_mut().zip(arow).zip(xb) {
                    *o = f(x, y);
                }
            }
        }
        (1, 1, ..) if !xa.is_empty() && xa.len() < xb.len() => {
            for (orow, brow) in out.chunks_exact_mut(xa.len()).zip(xb.chunks_exact(xa.len())) {
                for ((o, &x), &y) in orow.iter_mut().zip(xa).zip(brow) {
                    *o = f(x, y);
                }
            }
        }
        (1, 1, ..) => {
            for ((o, &x), &y) in out.iter_mut().zip(xa).zip(xb) {
                *o = f(x, y);
            }
        }
        (1, 0, _, Some(&y)) => {
            for (o, &x) in out.iter_mut().zip(xa) {
                *o = f(x, y);
            }
        }
        (0, 1, Some(&x), _) => {
            for (o, &y) in out.iter_mut().zip(xb) {
                *o = f(x, y);
            }
        }
        _ => {
            for (i, o) in out.iter_mut().enumerate() {
                *o = f(xa[i * sa], xb[i * sb]);
            }
        }
    }
}

/// What [`zip_row`] is called with: `(out row, elements of a it reads, of b, stride in a,
/// in b)`. With strides (1, 1), an operand shorter than `out` is a block that repeats.
type ZipRow<'f, A, B, T> = &'f (dyn Fn(&mut [T], &[A], &[B], usize, usize) + Sync);

/// The op-independent part of [`zip_slices`]: the broadcast shape, the output, and the
/// split of the work into rows for `row`. Not inlined: the callers are many small
/// per-op functions.
#[inline(never)]
fn zip_rows<A: Copy + Sync, B: Copy + Sync, T: Recyclable + Send>(
    op: &str,
    (a, da): (&Layout, &[A]),
    (b, db): (&Layout, &[B]),
    row: ZipRow<'_, A, B, T>,
) -> Result<(Vec<T>, Dims)> {
    let shape = broadcast_dims(op, &a.shape, &b.shape)?;
    let n = checked_numel(op, &shape)?;
    let mut out = try_alloc_overwritten(op, n)?;
    {
        let (la, lb) = (a.broadcast_to(&shape), b.broadcast_to(&shape));
        let (flat_a, flat_b) = (la.is_contiguous() && !la.has_overlap(), lb.is_contiguous() && !lb.has_overlap());
        // The contiguous cases, as `split(a full?, b full?, repeat)`: an operand that is not
        // full is the first `repeat` elements of its data, used whole by every chunk.
        let split = |(fa, fb): (bool, bool), repeat: usize, out: &mut [T]| {
            let (xa, xb) = (&da[la.offset..], &db[lb.offset..]);
            let (sa, sb) = (usize::from(fa || repeat > 1), usize::from(fb || repeat > 1));
            let part = |start: usize, o: &mut [T]| {
                let (ra, rb) = (start..start + o.len(), 0..repeat);
                let pa = if fa { &xa[ra.clone()] } else { &da[a.offset..a.offset + rb.end] };
                let pb = if fb { &xb[ra] } else { &db[b.offset..b.offset + rb.end] };
                row(o, pa, pb, sa, sb);
            };
            // Only float outputs split: the code for bool masks (comparisons, logical ops)
            // would not fit the threads build's size budget for the little it would save.
            if std::mem::size_of::<T>() != 4 || !parallel::worth_splitting(n) {
                return part(0, out);
            }
            // Chunks hold whole repeats of the shorter operand (a bias row).
            let chunk = parallel::chunk_len(n, if repeat > 1 { repeat } else { UNIT });
            parallel::for_chunks_mut(out, chunk, &part);
        };
        if flat_a && flat_b {
            split((true, true), 1, &mut out);
        } else if b.numel() == 1 && flat_a {
            split((true, false), 1, &mut out);
        } else if a.numel() == 1 && flat_b {
            split((false, true), 1, &mut out);
        } else if let (Some(m), true) = (trailing_block(&shape, b), flat_a) {
            // [.., N] op [N] (a bias add): every row of `a` against the whole of `b`.
            // `zip_row` repeats the shorter operand (m < n, as `b` has more than one element
            // and broadcasting made the output larger).
            split((true, false), m, &mut out);
        } else if let (Some(m), true) = (trailing_block(&shape, a), flat_b) {
            split((false, true), m, &mut out);
        } else {
            let out_strides = contiguous_dims(&shape);
            let walk = StridedWalk::new(&shape, [&out_strides, &la.strides, &lb.strides]);
            walk.for_each_row([0, la.offset, lb.offset], |[o, pa, pb], len, [_, sa, sb]| {
                row(&mut out[o..o + len], span(da, pa, len, sa), span(db, pb, len, sb), sa, sb);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::movement::{expand, permute};

    fn t(values: &[f32], shape: &[usize]) -> Tensor {
        Tensor::from_f32(values.to_vec(), shape).unwrap()
    }

    /// Every dispatch case of `zip_rows` against a contiguous copy of the operands.
    #[test]
    fn zip_matches_contiguous_operands_in_every_layout_case() {
        let v: Vec<f32> = (0..24).map(|i| i as f32 * 0.5 - 3.0).collect();
        let base = t(&v, &[2, 3, 4]);
        let cases: Vec<(Tensor, Tensor)> = vec![
            (base.clone(), t(&v, &[2, 3, 4])),                              // same shape
            (base.clone(), t(&[2.5], &[])),                                 // number on the right
            (t(&[2.5], &[1, 1]), base.clone()),                             // number on the left
            (base.clone(), t(&v[..4], &[4])),                               // trailing block of b
            (t(&v[..12], &[3, 4]), base.clone()),                           // trailing block of a
            (base.clone(), t(&v[..3], &[3, 1])),                            // column: rows (1, 0)
            (t(&v[..6], &[2, 3, 1]), base.clone()),                         // rows (0, 1)
            (permute(&base, &[2, 0, 1]).unwrap(), t(&v[..6], &[2, 3])),     // strided rows
            (expand(&t(&v[..4], &[4, 1, 1]), &[4, 2, 3]).unwrap(), permute(&base, &[2, 0, 1]).unwrap()),
            (t(&[], &[0, 4]), t(&v[..4], &[4])),                            // empty
        ];
        for (i, (a, b)) in cases.iter().enumerate() {
            let f = |x: f32, y: f32| x * 3.0 - y;
            let got = zip("t", a, b, f).unwrap();
            let (ca, cb) = (a.contiguous_copy("t").unwrap(), b.contiguous_copy("t").unwrap());
            let shape = got.shape().to_vec();
            let (ea, eb) = (expand(&ca, &shape).unwrap().contiguous_copy("t").unwrap(), expand(&cb, &shape).unwrap().contiguous_copy("t").unwrap());
            let want: Vec<f32> = ea.f32_values("t").unwrap().iter().zip(eb.f32_values("t").unwrap().iter()).map(|(&x, &y)| f(x, y)).collect();
            assert_eq!(got.f32_values("t").unwrap().to_vec(), want, "case {i}");
            let flags = zip_values("t", a, b, |x, y| (x > y) as u8).unwrap().0;
            let want_flags: Vec<u8> = ea.f32_values("t").unwrap().iter().zip(eb.f32_values("t").unwrap().iter()).map(|(&x, &y)| (x > y) as u8).collect();
            assert_eq!(flags, want_flags, "case {i} (flags)");
        }
    }

    /// `map_strided` on a contiguous tensor and on views, both sides of the number.
    #[test]
    fn map_strided_matches_zip_with_a_number() {
        fn sub_right(out: &mut [f32], src: &[f32], stride: usize, s: f32) {
            map_row(&|x| x - s, out, src, stride)
        }
        let v: Vec<f32> = (0..12).map(|i| i as f32 - 4.0).collect();
        let base = t(&v, &[3, 4]);
        for x in [base.clone(), permute(&base, &[1, 0]).unwrap(), expand(&t(&v[..4], &[4]), &[2, 4]).unwrap()] {
            let got = map_strided("t", &x, 1.5, sub_right).unwrap();
            let want = zip("t", &x, &t(&[1.5], &[]), |a, b| a - b).unwrap();
            assert_eq!(got.shape(), want.shape());
            assert_eq!(got.f32_values("t").unwrap().to_vec(), want.f32_values("t").unwrap().to_vec());
        }
    }
}

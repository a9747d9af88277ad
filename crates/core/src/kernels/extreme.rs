//! Max/min reductions: amax/amin (values) and argmax/argmin (indices), vectorised on
//! wasm32 `simd128`, with PyTorch's rules: a NaN is the extreme (the first NaN's index),
//! ties give the first index, and -0.0 equals +0.0 (so the first of them wins, for the
//! value too).
//!
//! Two shapes of loop, both free of per-element branches:
//! - along a contiguous row (the reduced dim is the last one, or all of them): a
//!   NaN-ignoring lane-wise max (`f32x4.pmax`, one op) plus a lane-wise NaN flag, then a
//!   second, early-exiting scan for the first element equal to that max (or the first
//!   NaN). argmax scans the row in blocks of [`BLOCK`], so the rescan reads one block
//!   still in cache; amax rescans only when the max is ±0 (to return the first zero's
//!   sign) or NaN.
//! - across rows (a non-last dim reduced, the kept dims contiguous): row by row, each
//!   lane keeps its running extreme (and index), replaced where the new element is
//!   strictly better or is the first NaN. Rows are visited in index order, so the first
//!   tie and the first NaN stay.
//!
//! `pmax`/`pmin` may become `relaxed_max/min` in the relaxed-simd build (LLVM folds
//! min/max patterns), whose results on NaN and ±0 are implementation-defined: neither
//! matters here, as a NaN is tracked on its own flag and the value or index is always
//! taken from the data by the rescan wherever ±0 could differ.
//!
//! The scalar forms of the primitives are the host build and the slice tails on wasm.
//! The per-row functions are `inline(never)`: called once per row or block, a call costs
//! nothing measurable, and each is one copy per extreme in the binary (size budget).
//! No `unsafe`: lanes are loaded from `&[f32; 4]` by value, which LLVM folds into one
//! `v128.load` (see `kernels::math`).
#![forbid(unsafe_code)]

use crate::error::Result;
use crate::storage::{try_alloc, Buffer};
use crate::tensor::{unreachable_dtype, Tensor};

use super::reduce::{for_kept_rows, full_chunks, is_full_contiguous, kept_geometry};
use crate::layout::checked_numel;
use crate::parallel;

/// Elements per block of argmax along a row: the winning block is rescanned for its
/// first extreme, so it should still be in L1 (16 KB).
const BLOCK: usize = 4096;

/// Whether `v` replaces the running extreme `best` (`MAX`: largest, else smallest):
/// strictly better, or the first NaN. A NaN `best` stays.
#[inline(always)]
fn beats<const MAX: bool>(v: f32, best: f32) -> bool {
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    let not_worse_or_nan = if MAX { !(v <= best) } else { !(v >= best) };
    not_worse_or_nan && best == best
}

/// The extreme of the non-NaN elements of `x` (±inf if none) and whether `x` holds a NaN.
/// Which of ±0 comes back is unspecified.
#[inline(never)]
fn extreme_ignoring_nan<const MAX: bool>(x: &[f32]) -> (f32, bool) {
    let init = if MAX { f32::NEG_INFINITY } else { f32::INFINITY };
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let (x, init, simd_nan) = {
        let (m, nan, rest) = simd::extreme_ignoring_nan::<MAX>(x, init);
        (rest, m, nan)
    };
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    let simd_nan = false;
    let (mut m, mut nan) = (init, simd_nan);
    for &v in x {
        nan |= v != v;
        if if MAX { v > m } else { v < m } {
            m = v;
        }
    }
    (m, nan)
}

/// Index of the first element of `x` equal to `target` (-0.0 == +0.0), if any.
#[inline(never)]
fn first_equal(x: &[f32], target: f32) -> Option<usize> {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let (x, base) = match simd::first_where(x, |v| core::arch::wasm32::f32x4_eq(v, core::arch::wasm32::f32x4_splat(target))) {
        Ok(i) => return Some(i),
        Err(done) => (&x[done..], done),
    };
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    let base = 0;
    x.iter().position(|&v| v == target).map(|i| base + i)
}

/// Index of the first NaN in `x`, if any.
#[inline(never)]
fn first_nan(x: &[f32]) -> Option<usize> {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let (x, base) = match simd::first_where(x, |v| core::arch::wasm32::f32x4_ne(v, v)) {
        Ok(i) => return Some(i),
        Err(done) => (&x[done..], done),
    };
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    let base = 0;
    x.iter().position(|v| v.is_nan()).map(|i| base + i)
}

/// The index of the first extreme of a non-empty contiguous row (the first NaN if any).
#[inline(never)]
pub fn row_arg<const MAX: bool>(row: &[f32]) -> usize {
    // The first block holding the extreme so far (a later block must be strictly better).
    let mut best: Option<(usize, f32)> = None;
    for (b, block) in row.chunks(BLOCK).enumerate() {
        let (m, nan) = extreme_ignoring_nan::<MAX>(block);
        if nan {
            return b * BLOCK + first_nan(block).unwrap_or(0);
        }
        if best.is_none_or(|(_, cur)| beats::<MAX>(m, cur)) {
            best = Some((b, m));
        }
    }
    let Some((b, m)) = best else { return 0 };
    let start = b * BLOCK;
    let block = &row[start..row.len().min(start + BLOCK)];
    // `m` is one of the block's elements (it has no NaN), so it is found.
    start + first_equal(block, m).unwrap_or(0)
}

/// The extreme of a non-empty contiguous row: its first NaN if any, else the first
/// element equal to the extreme (which decides the sign of a zero).
#[inline(never)]
pub fn row_value<const MAX: bool>(row: &[f32]) -> f32 {
    let (m, nan) = extreme_ignoring_nan::<MAX>(row);
    if nan {
        return first_nan(row).map_or(f32::NAN, |i| row[i]);
    }
    if m == 0.0 {
        return first_equal(row, 0.0).map_or(m, |i| row[i]);
    }
    m
}

/// `best[i] = row[i]` wherever `row[i]` beats it (see [`beats`]).
#[inline(never)]
fn update_values<const MAX: bool>(best: &mut [f32], row: &[f32]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let (best, row) = simd::update_values::<MAX>(best, row);
    for (b, &v) in best.iter_mut().zip(row) {
        if beats::<MAX>(v, *b) {
            *b = v;
        }
    }
}

/// `best[i] = row[i]` and `index[i] = k` wherever `row[i]` beats `best[i]`.
#[inline(never)]
fn update_values_indices<const MAX: bool>(best: &mut [f32], index: &mut [i32], row: &[f32], k: i32) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let (best, index, row) = simd::update_values_indices::<MAX>(best, index, row, k);
    for ((b, i), &v) in best.iter_mut().zip(index.iter_mut()).zip(row) {
        if beats::<MAX>(v, *b) {
            *b = v;
            *i = k;
        }
    }
}

/// Max (`largest`) or min over the axes flagged in `reduced`, NaN propagating; the result
/// keeps reduced dims as 1. Empty reductions are an error the caller reports first.
pub fn extreme_keepdim(op: &str, x: &Tensor, reduced: &[bool], largest: bool) -> Result<Tensor> {
    x.expect_f32(op)?;
    let buffer = x.buffer();
    let Buffer::F32(data) = &*buffer else { unreachable_dtype() };
    let l = x.layout();
    let (shape, out_strides) = kept_geometry(l, reduced);
    let init = if largest { f32::NEG_INFINITY } else { f32::INFINITY };
    let mut acc = try_alloc(op, checked_numel(op, &shape)?, init)?;
    // The drivers take `largest` at run time (one copy in the binary); the loops they call
    // are compiled per extreme.
    let beats = |v: f32, best: f32| if largest { beats::<true>(v, best) } else { beats::<false>(v, best) };
    // Rows come in row-major order of the input, so each slot sees its elements in index
    // order and a strict `beats` keeps the first of equals.
    let row_value = |row: &[f32]| if largest { row_value::<true>(row) } else { row_value::<false>(row) };
    let n = l.numel();
    if let (true, Some(chunk)) = (is_full_contiguous(l, reduced), full_chunks(n, BLOCK)) {
        // Each chunk's extreme (its first NaN, or its first element equal to its extreme),
        // then the chunks in order with the strict `beats`: the first NaN and the first of
        // equal extremes win, as in one pass over the whole.
        let mut partials = try_alloc(op, n.div_ceil(chunk), init)?;
        parallel::for_chunks_mut(&mut partials, 1, &|i, p| {
            let start = l.offset + i * chunk;
            p[0] = row_value(&data[start..start + chunk.min(n - i * chunk)]);
        });
        for &v in &partials {
            if beats(v, acc[0]) {
                acc[0] = v;
            }
        }
    } else {
        for_kept_rows(l, reduced, &out_strides, &mut acc, |acc, _, [pi, po], len, [si, so]| {
            if so == 0 {
                let v = if si == 1 {
                    row_value(&data[pi..pi + len])
                } else {
                    (0..len).map(|i| data[pi + i * si]).fold(init, |m, v| if beats(v, m) { v } else { m })
                };
                if beats(v, acc[po]) {
                    acc[po] = v;
                }
            } else if si == 1 && so == 1 {
                let (best, row) = (&mut acc[po..po + len], &data[pi..pi + len]);
                if largest { update_values::<true>(best, row) } else { update_values::<false>(best, row) }
            } else {
                for i in 0..len {
                    let (slot, v) = (&mut acc[po + i * so], data[pi + i * si]);
                    if beats(v, *slot) {
                        *slot = v;
                    }
                }
            }
        });
    }
    drop(buffer);
    Tensor::from_f32(acc, &shape)
}

/// Index of the first max (`largest`) or min along one axis of a contiguous `[outer, n,
/// inner]` block (a NaN counts as the extreme, as in PyTorch); `n > 0`.
///
/// On the thread pool when large: rows of the output (a last-dim reduction) or, for a
/// single long row, fixed chunks whose first extremes are compared in order (the first
/// NaN, else the first chunk strictly best, as one scan). Reductions over a middle dim stay
/// on one thread: column blocks short enough to share out read rows in runs too short for
/// the prefetchers (see `reduce::for_kept_parts`), and their code would not fit the
/// threads build's size budget.
pub fn arg_extreme(op: &str, src: &[f32], outer: usize, n: usize, inner: usize, largest: bool) -> Result<Vec<i32>> {
    let mut out = try_alloc(op, outer * inner, 0i32)?;
    if outer * inner == 0 {
        return Ok(out);
    }
    let row_arg = |row: &[f32]| if largest { row_arg::<true>(row) } else { row_arg::<false>(row) };
    let total = outer * n * inner;
    if outer * inner == 1 && parallel::worth_splitting(total) {
        // Chunks of whole blocks of `row_arg`; its result does not depend on the split.
        let chunk = parallel::chunk_len(n, BLOCK);
        // i32 like the output (a tensor has fewer than 2^31 elements), so that the pool's
        // chunk loop is the one compiled for the output already.
        let mut firsts = try_alloc(op, n.div_ceil(chunk), 0i32)?;
        parallel::for_chunks_mut(&mut firsts, 1, &|i, f| f[0] = (i * chunk + row_arg(&src[i * chunk..n.min((i + 1) * chunk)])) as i32);
        let beats = |v: f32, best: f32| if largest { beats::<true>(v, best) } else { beats::<false>(v, best) };
        let mut best = firsts[0];
        for &i in &firsts[1..] {
            if beats(src[i as usize], src[best as usize]) {
                best = i;
            }
        }
        out[0] = best;
        return Ok(out);
    }
    if inner == 1 {
        let rows = |start: usize, slots: &mut [i32]| {
            for (slot, row) in slots.iter_mut().zip(src[start * n..].chunks_exact(n)) {
                *slot = row_arg(row) as i32;
            }
        };
        if parallel::worth_splitting(total) {
            parallel::for_chunks_mut(&mut out, parallel::chunk_len(total, n) / n, &rows);
        } else {
            rows(0, &mut out);
        }
        return Ok(out);
    }
    // Row by row across the kept (contiguous) dim: `best` holds each lane's extreme so
    // far, `out` its index (0 for the first row, which `best` starts as).
    let mut best = try_alloc(op, inner, 0.0f32)?;
    for (index, group) in out.chunks_exact_mut(inner).zip(src.chunks_exact(n * inner)) {
        let mut rows = group.chunks_exact(inner);
        best.copy_from_slice(rows.next().unwrap_or(&[]));
        for (k, row) in rows.enumerate() {
            let k = k as i32 + 1;
            if largest {
                update_values_indices::<true>(&mut best, index, row, k)
            } else {
                update_values_indices::<false>(&mut best, index, row, k)
            }
        }
    }
    Ok(out)
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use crate::kernels::lanes::quad::{load_f32 as load, load_i32, store_f32 as store, store_i32};
    use core::arch::wasm32::*;

    /// `acc` where it is not below (above) `v`, else `v`: NaN in `v` leaves `acc`.
    #[inline(always)]
    fn fold<const MAX: bool>(acc: v128, v: v128) -> v128 {
        if MAX { f32x4_pmax(acc, v) } else { f32x4_pmin(acc, v) }
    }

    /// Lanes where `v` beats `best`: `!(v <= best) && best == best` for max.
    #[inline(always)]
    fn beats<const MAX: bool>(v: v128, best: v128) -> v128 {
        let worse_or_equal = if MAX { f32x4_le(v, best) } else { f32x4_ge(v, best) };
        v128_andnot(f32x4_eq(best, best), worse_or_equal)
    }

    /// The extreme of the non-NaN elements among the first multiple of 4 of `x` (folded
    /// into `init`), whether they held a NaN, and the rest of `x`.
    #[inline(always)]
    pub fn extreme_ignoring_nan<const MAX: bool>(x: &[f32], init: f32) -> (f32, bool, &[f32]) {
        let mut acc = [f32x4_splat(init); 4];
        let mut nan = [i32x4_splat(0); 4];
        let mut sixteens = x.chunks_exact(16);
        for c in &mut sixteens {
            for j in 0..4 {
                let v = load(&c[4 * j..4 * j + 4]);
                acc[j] = fold::<MAX>(acc[j], v);
                nan[j] = v128_or(nan[j], f32x4_ne(v, v));
            }
        }
        let mut quads = sixteens.remainder().chunks_exact(4);
        for c in &mut quads {
            let v = load(c);
            acc[0] = fold::<MAX>(acc[0], v);
            nan[0] = v128_or(nan[0], f32x4_ne(v, v));
        }
        let a = fold::<MAX>(fold::<MAX>(acc[0], acc[1]), fold::<MAX>(acc[2], acc[3]));
        let any_nan = v128_any_true(v128_or(v128_or(nan[0], nan[1]), v128_or(nan[2], nan[3])));
        let lanes = [f32x4_extract_lane::<0>(a), f32x4_extract_lane::<1>(a), f32x4_extract_lane::<2>(a), f32x4_extract_lane::<3>(a)];
        let m = lanes.into_iter().fold(init, |m, v| if if MAX { v > m } else { v < m } { v } else { m });
        (m, any_nan, quads.remainder())
    }

    /// The index of the first element among the first multiple of 4 of `x` whose lane
    /// `hit` flags, or `Err(how many were scanned)`.
    #[inline(always)]
    pub fn first_where(x: &[f32], hit: impl Fn(v128) -> v128) -> Result<usize, usize> {
        let mut quads = x.chunks_exact(4);
        for (q, c) in (&mut quads).enumerate() {
            let bits = i32x4_bitmask(hit(load(c)));
            if bits != 0 {
                return Ok(4 * q + bits.trailing_zeros() as usize);
            }
        }
        Err(x.len() - quads.remainder().len())
    }

    /// The lane-wise update over the first multiple of 4; returns the rest.
    #[inline(always)]
    pub fn update_values<'a, 'b, const MAX: bool>(best: &'a mut [f32], row: &'b [f32]) -> (&'a mut [f32], &'b [f32]) {
        let mut b4 = best.chunks_exact_mut(4);
        let mut r4 = row.chunks_exact(4);
        for (b, r) in (&mut b4).zip(&mut r4) {
            let (cur, v) = (load(b), load(r));
            store(v128_bitselect(v, cur, beats::<MAX>(v, cur)), b);
        }
        (b4.into_remainder(), r4.remainder())
    }

    /// Like [`update_values`], also setting the index lanes to `k` where replaced.
    #[inline(always)]
    pub fn update_values_indices<'a, 'b, 'c, const MAX: bool>(
        best: &'a mut [f32],
        index: &'b mut [i32],
        row: &'c [f32],
        k: i32,
    ) -> (&'a mut [f32], &'b mut [i32], &'c [f32]) {
        let kk = i32x4_splat(k);
        let mut b4 = best.chunks_exact_mut(4);
        let mut i4 = index.chunks_exact_mut(4);
        let mut r4 = row.chunks_exact(4);
        for ((b, i), r) in (&mut b4).zip(&mut i4).zip(&mut r4) {
            let (cur, v) = (load(b), load(r));
            let better = beats::<MAX>(v, cur);
            store(v128_bitselect(v, cur, better), b);
            store_i32(v128_bitselect(kk, load_i32(i), better), i);
        }
        (b4.into_remainder(), i4.into_remainder(), r4.remainder())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain definition: first NaN, else first strict extreme.
    fn reference_arg(row: &[f32], max: bool) -> usize {
        let mut best = 0;
        for k in 1..row.len() {
            let (v, b) = (row[k], row[best]);
            if b.is_nan() {
                break;
            }
            if v.is_nan() || (max && v > b) || (!max && v < b) {
                best = k;
            }
        }
        best
    }

    fn rows() -> Vec<Vec<f32>> {
        let mut out = vec![vec![1.0], vec![-0.0, 0.0], vec![0.0, -0.0], vec![f32::NEG_INFINITY; 5], vec![f32::INFINITY; 3]];
        let mut s = 12345u32;
        for &n in &[3usize, 5, 17, 33, 1007, BLOCK + 5, 2 * BLOCK + 3] {
            let mut r: Vec<f32> = (0..n)
                .map(|_| {
                    s = s.wrapping_mul(1664525).wrapping_add(1013904223);
                    ((s >> 8) % 7) as f32 - 3.0
                })
                .collect();
            out.push(r.clone());
            r[n / 2] = f32::NAN;
            out.push(r.clone());
            r[n - 1] = f32::NAN;
            out.push(r.clone());
            let zeros: Vec<f32> = (0..n).map(|i| if i % 3 == 1 { -0.0 } else if i % 3 == 2 { 0.0 } else { -1.0 }).collect();
            out.push(zeros);
        }
        out
    }

    #[test]
    fn row_kernels_match_the_definition() {
        for row in rows() {
            for max in [true, false] {
                let want = reference_arg(&row, max);
                let (got, value) = if max { (row_arg::<true>(&row), row_value::<true>(&row)) } else { (row_arg::<false>(&row), row_value::<false>(&row)) };
                assert_eq!(got, want, "{max} {:?}", &row[..row.len().min(8)]);
                assert_eq!(value.to_bits(), row[want].to_bits());
            }
        }
    }

    #[test]
    fn column_kernel_matches_the_definition() {
        for row in rows().into_iter().filter(|r| r.len() >= 3 && r.len() % 3 == 0 || r.len() == 33) {
            let (n, inner) = (3, row.len() / 3);
            for max in [true, false] {
                let got = arg_extreme("t", &row, 1, n, inner, max).unwrap();
                for i in 0..inner {
                    let col: Vec<f32> = (0..n).map(|k| row[k * inner + i]).collect();
                    assert_eq!(got[i] as usize, reference_arg(&col, max));
                }
            }
        }
    }
}

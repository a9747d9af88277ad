//! Pooling loops over contiguous NCHW data: max pooling here, average and adaptive average
//! pooling in `pool_avg` (re-exported here).
//!
//! Pooling follows PyTorch's CPU kernels exactly (window clipping, the divisor rules of
//! average pooling, first-max tie breaking and NaN propagation of max pooling, and the
//! order in which the backward passes add up overlapping windows).
//!
//! The max and average kernels, forward and backward, compute a flat range of their
//! output (`start ..`, in NCHW order), so that the ops layer can build it block by block
//! ([`crate::storage::try_build`]) and write its memory once, instead of zero-filling it
//! first.
//!
//! Forward: within an output row, the columns whose window lies inside the input row are
//! the common case. In the simd128 build, for the usual shapes (2 wide 2 apart, 3 wide
//! 2 or 1 apart, no column dilation), they are computed four outputs at a time, each tap of the window a vector
//! compare-and-select in PyTorch's row-major tap order (average pooling sums each window
//! in a scalar loop: the binary size budget has no room for vector copies of it); when every
//! window of the plane is inside (no padding: k2s2, k3s2), a run of whole rows is one
//! call. The few edge columns next to padding, and other geometries (dilated columns,
//! wider strides, the host build), go window by window, as PyTorch's loop does. 2×2
//! windows 2 apart (k2s2, the CNN case) first try a fold of about half the instructions
//! that is exact when no tap is NaN ([`simd::max_pairs_without_nan`]); stacked planes of
//! whole window rows are one pass.
//!
//! Backward: each input row is cleared, then gets the gradients of the windows over it,
//! added in output order, the order of PyTorch's `grad_input[i] += …` loop, so windows
//! that overlap sum to the same bits. For max pooling with 2-wide, 2-apart windows (k2s2)
//! every input element has at most one window, and a row is one vector select per four
//! outputs.
//!
//! Every function here trusts its geometry: the ops layer validates shapes and sizes
//! before calling, so the slicing below cannot go out of bounds.
#![forbid(unsafe_code)]

use super::window::Window;

pub use super::pool_avg::{adaptive_avg_pool2d, adaptive_avg_pool2d_backward, adaptive_range, avg_pool2d, avg_pool2d_backward, avg_pool2d_shares, AvgPoolMode};

/// The geometry of a 2-D pooling over `planes` independent `[H, W]` planes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolGeom {
    pub planes: usize,
    pub win: Window,
}

impl PoolGeom {
    /// The output columns `a..b` whose whole window lies inside the input row.
    pub(super) fn inner_columns(&self) -> (usize, usize) {
        let w = &self.win;
        let a = w.pw.div_ceil(w.sw).min(w.ow);
        let span = (w.kw - 1) * w.dw + 1;
        // ox·sW − pW + span ≤ W  ⇔  ox ≤ (W + pW − span) / sW
        let b = if w.w + w.pw >= span { ((w.w + w.pw - span) / w.sw + 1).min(w.ow) } else { 0 };
        (a, b.max(a))
    }
    /// Whether whole output rows take the vectorised path with no edges: no padding, every
    /// window inside the plane, [`vector_columns`], and at least one vector per row.
    fn plain(&self) -> bool {
        let w = &self.win;
        let rows_inside = w.ph == 0 && (w.oh - 1) * w.sh + (w.kh - 1) * w.dh < w.h;
        cfg!(all(target_arch = "wasm32", target_feature = "simd128"))
            && rows_inside
            && self.inner_columns() == (0, w.ow)
            && w.ow >= 4
            && vector_columns(w)
    }
    /// Whether each input row of max pooling's backward can be written from one output
    /// row in the simd128 build: windows 2 wide, 2 apart, no column padding or dilation, none cut by
    /// the row's end (so output column `ox` owns input columns `2ox` and `2ox + 1`), and
    /// window rows that do not overlap.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    fn unpool_pairs(&self) -> bool {
        let w = &self.win;
        (w.kw, w.sw, w.dw, w.pw) == (2, 2, 1, 0)
            && 2 * w.ow <= w.w
            && (w.kh - 1) * w.dh < w.sh
    }
    /// Whether max pooling's backward can take stacked planes two input rows at a time:
    /// 2×2 windows 2 apart, no padding, and planes of whole windows (`H = 2·OH`,
    /// `W = 2·OW`), so that input rows `2r, 2r + 1` of the stacked planes are exactly
    /// the ones under output row `r`.
    pub fn unpools_row_pairs(&self) -> bool {
        let w = &self.win;
        (w.kh, w.kw, w.sh, w.sw, w.dh, w.dw, w.ph, w.pw) == (2, 2, 2, 2, 1, 1, 0, 0) && w.h == 2 * w.oh && w.w == 2 * w.ow
    }
    /// The rows of `W` elements a block of max pooling's backward output should be a
    /// multiple of: two for [`Self::unpools_row_pairs`], else one (any split gives the
    /// same bits; whole row pairs take the fast path).
    pub fn backward_rows_unit(&self) -> usize {
        if self.unpools_row_pairs() { 2 * self.win.w } else { self.win.w }
    }
    /// Number of output elements.
    pub fn out_len(&self) -> usize {
        self.planes * self.win.oh * self.win.ow
    }
    /// Number of input elements.
    pub fn in_len(&self) -> usize {
        self.planes * self.win.h * self.win.w
    }
}

/// Whether the vectorised inner columns take this window's columns: the shapes of CNN
/// pooling, 2 wide 2 apart, 3 wide 2 apart and 3 wide 1 apart, without dilation (one
/// compiled copy each; a copy for any width and stride would cost binary size for
/// little).
fn vector_columns(w: &Window) -> bool {
    w.dw == 1 && matches!((w.kw, w.sw), (2, 2) | (3, 2) | (3, 1))
}

/// Splits the flat range `start .. start + len` of `[planes, rows, cols]` elements into
/// pieces of one row: `f(plane, row, first column, range within start..start+len)`.
#[inline(always)]
pub(super) fn for_each_row_piece(rows: usize, cols: usize, start: usize, len: usize, mut f: impl FnMut(usize, usize, usize, std::ops::Range<usize>)) {
    let (mut plane, mut row, mut col) = (start / cols / rows, start / cols % rows, start % cols);
    let mut done = 0;
    while done < len {
        let n = (cols - col).min(len - done);
        f(plane, row, col, done..done + n);
        done += n;
        col = 0;
        row += 1;
        if row == rows {
            (plane, row) = (plane + 1, 0);
        }
    }
}

/// As [`for_each_row_piece`], but a run of whole rows within one plane comes as one call:
/// `f(plane, first row, first column, rows in the run, range)`, where a partial row is a
/// run of one.
#[inline(always)]
fn for_each_row_run(rows: usize, cols: usize, start: usize, len: usize, mut f: impl FnMut(usize, usize, usize, usize, std::ops::Range<usize>)) {
    let (mut plane, mut row, mut col) = (start / cols / rows, start / cols % rows, start % cols);
    let mut done = 0;
    while done < len {
        let whole = if col == 0 { ((len - done) / cols).min(rows - row) } else { 0 };
        let (n, run) = if whole > 0 { (whole * cols, whole) } else { ((cols - col).min(len - done), 1) };
        f(plane, row, col, run, done..done + n);
        done += n;
        (row, col) = if col + n < cols { (row, col + n) } else { (row + run, 0) };
        if row == rows {
            (plane, row) = (plane + 1, 0);
        }
    }
}

/// The taps of output `o`'s dilated window clipped to `0..size`: the first in-bounds tap
/// and the exclusive end (PyTorch's `cpu_max_pool` bounds); empty windows are `(x, x)`.
#[inline]
fn dilated_span(o: usize, s: usize, p: usize, k: usize, d: usize, size: usize) -> (usize, usize) {
    let start = o as i64 * s as i64 - p as i64;
    let end = (start + (k as i64 - 1) * d as i64 + 1).min(size as i64);
    let d = d as i64;
    let first = if start < 0 { start + (-start + d - 1) / d * d } else { start };
    (first as usize, end.max(first) as usize)
}

/// The outputs (along one dim) whose window of `k` taps `d` apart, stepping `s` after
/// `p` padding, can cover input `i`: `lo..hi`, clipped to `0..out`.
#[inline]
pub(super) fn windows_over(i: usize, out: usize, s: usize, p: usize, k: usize, d: usize) -> std::ops::Range<usize> {
    let (i, reach) = ((i + p) as i64, ((k - 1) * d) as i64);
    let lo = ((i - reach).max(0) as usize).div_ceil(s);
    let hi = (i as usize / s + 1).min(out);
    lo..hi.max(lo)
}

// ---------------------------------------------------------------------------------------
// max pooling

/// The output row whose window covers input row `y` when window rows do not overlap
/// (`(kH − 1)·dH < sH`, as [`PoolGeom::unpool_pairs`] requires): [`windows_over`]'s only
/// row, with one division instead of two, and a shift for the usual stride 2 (max
/// pooling's backward asks once per input row, and a division per row of 14 or 28
/// elements costs as much as the row's vector selects).
#[cfg(any(test, all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn lone_window_over(y: usize, w: &Window) -> Option<usize> {
    let at = y + w.ph;
    let (oy, tap) = if w.sh == 2 { (at >> 1, at & 1) } else { (at / w.sh, at % w.sh) };
    (oy < w.oh && tap <= (w.kh - 1) * w.dh).then_some(oy)
}

/// Max pooling of the outputs `start .. start + out.len()` (flat NCHW order). `idx`, if
/// given (as long as `out`), receives the flat `y·W + x` position of each max within its
/// plane. Ties keep the first max in row-major window order; a NaN always wins, so a
/// window holding NaN gives NaN at its last NaN (PyTorch's CPU kernel).
#[inline(never)]
pub fn max_pool2d(x: &[f32], g: &PoolGeom, start: usize, out: &mut [f32], mut idx: Option<&mut [i32]>) {
    let w = &g.win;
    let hw = w.h * w.w;
    let (inner, plain) = (g.inner_columns(), g.plain());
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if plain && (w.kh, w.kw, w.sh, w.sw, w.dh) == (2, 2, 2, 2, 1) && w.h == 2 * w.oh && start % w.ow == 0 && out.len() % w.ow == 0 {
        // Planes of whole window rows: output row `r` of the range, in any plane, reads
        // input rows `2r, 2r + 1` of all the planes stacked.
        let at = (w.w, w.h);
        let rows = (2 * (start / w.ow), 0);
        let done = match idx.as_deref_mut() {
            Some(i) => simd::max_pairs_without_nan::<true>(x, at, rows, w.ow, out, i),
            None => simd::max_pairs_without_nan::<false>(x, at, rows, w.ow, out, &mut []),
        };
        if done {
            return;
        }
    }
    for_each_row_run(w.oh, w.ow, start, out.len(), |p, oy, ox0, run, r| {
        let plane = &x[p * hw..(p + 1) * hw];
        let (orow, mut irow) = (&mut out[r.clone()], idx.as_deref_mut().map(|i| &mut i[r]));
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        if plain && ox0 == 0 {
            // Whole rows, windows all inside: one call for the run.
            let rows = (oy * w.sh, oy * w.sh + (w.kh - 1) * w.dh + 1);
            match irow {
                Some(i) => simd::max_inner::<true>(plane, w, rows, run, 0, orow, i),
                None => simd::max_inner::<false>(plane, w, rows, run, 0, orow, &mut []),
            }
            return;
        }
        let _ = plain;
        let cols = orow.len() / run;
        for (k, o) in orow.chunks_mut(cols).enumerate() {
            max_row(plane, g, inner, oy + k, ox0, o, irow.as_deref_mut().map(|i| &mut i[k * cols..(k + 1) * cols]));
        }
    });
}

/// Outputs `ox0 .. ox0 + orow.len()` of output row `oy` (and their argmaxes in `irow`,
/// as long, if given).
#[inline(never)]
fn max_row(plane: &[f32], g: &PoolGeom, inner: (usize, usize), oy: usize, ox0: usize, orow: &mut [f32], irow: Option<&mut [i32]>) {
    let w = &g.win;
    let rows = dilated_span(oy, w.sh, w.ph, w.kh, w.dh, w.h);
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        let mut irow = irow;
        let ox1 = ox0 + orow.len();
        let a = inner.0.clamp(ox0, ox1);
        let b = inner.1.clamp(a, ox1);
        if vector_columns(w) && b - a >= 4 && rows.0 < rows.1 {
            let (o_left, o_rest) = orow.split_at_mut(a - ox0);
            let (o_mid, o_right) = o_rest.split_at_mut(b - a);
            max_windows(plane, w, rows, ox0, o_left, irow.as_deref_mut().map(|i| &mut i[..a - ox0]));
            max_windows(plane, w, rows, b, o_right, irow.as_deref_mut().map(|i| &mut i[b - ox0..]));
            match irow {
                Some(i) => simd::max_inner::<true>(plane, w, rows, 1, a, o_mid, &mut i[a - ox0..b - ox0]),
                None => simd::max_inner::<false>(plane, w, rows, 1, a, o_mid, &mut []),
            }
            return;
        }
        max_windows(plane, w, rows, ox0, orow, irow);
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        let _ = inner;
        max_windows(plane, w, rows, ox0, orow, irow);
    }
}

/// Outputs `c0 .. c0 + orow.len()` of one output row whose windows cover input rows
/// `rows` (step `dH`), one window at a time in PyTorch's tap order: the few edge columns
/// next to padding, and the geometries the vector path does not take.
#[inline(never)]
fn max_windows(plane: &[f32], w: &Window, (y0, y1): (usize, usize), c0: usize, orow: &mut [f32], mut irow: Option<&mut [i32]>) {
    for (k, o) in orow.iter_mut().enumerate() {
        let (x0, x1) = dilated_span(c0 + k, w.sw, w.pw, w.kw, w.dw, w.w);
        let (mut best, mut at) = (f32::NEG_INFINITY, y0 * w.w + x0);
        let mut y = y0;
        while y < y1 {
            let mut x = x0;
            while x < x1 {
                let v = plane[y * w.w + x];
                if v > best || v.is_nan() {
                    (best, at) = (v, y * w.w + x);
                }
                x += w.dw;
            }
            y += w.dh;
        }
        *o = best;
        if let Some(i) = irow.as_deref_mut() {
            i[k] = at as i32;
        }
    }
}

/// Routes the output gradients to their argmax for the input elements `start ..
/// start + dx.len()` (flat NCHW order), every one of which is written: each input row is
/// cleared, then gets the gradients of the windows over it whose argmax lies in it, added
/// in output order as PyTorch's `grad_input[index] += grad_output` loop adds them (so
/// overlapping windows sum in the same order, and a lone gradient of −0 lands as +0).
/// `idx` entries come from [`max_pool2d`], so they index the plane.
#[inline(never)]
pub fn max_pool2d_backward(gout: &[f32], idx: &[i32], g: &PoolGeom, start: usize, dx: &mut [f32]) {
    let w = &g.win;
    let ohw = w.oh * w.ow;
    let planes = |p: usize| (&gout[p * ohw..(p + 1) * ohw], &idx[p * ohw..(p + 1) * ohw]);
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if g.unpools_row_pairs() && w.ow >= 4 && start % (2 * w.w) == 0 && dx.len() % (2 * w.w) == 0 {
        return simd::unpool_row_pairs(gout, idx, w, start / (2 * w.w), dx);
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if g.unpool_pairs() {
        // Runs of whole rows go to one call, which reads each output row once for all the
        // input rows under it (a call per input row cost more than its selects).
        return for_each_row_run(w.h, w.w, start, dx.len(), |p, y, x0, run, r| {
            let (gp, ip) = planes(p);
            if x0 == 0 && r.len() == run * w.w {
                simd::unpool_max_pairs(gp, ip, w, y, &mut dx[r]);
            } else {
                scatter_row(gp, ip, w, y, x0, &mut dx[r]);
            }
        });
    }
    for_each_row_piece(w.h, w.w, start, dx.len(), |p, y, x0, r| {
        let (gp, ip) = planes(p);
        scatter_row(gp, ip, w, y, x0, &mut dx[r]);
    });
}

/// Input row `y`'s columns `x0 ..` (`row`) of max pooling's backward: cleared, then the
/// gradients of the windows over it whose argmax lies in it, in output order.
#[inline(never)]
fn scatter_row(gp: &[f32], ip: &[i32], w: &Window, y: usize, x0: usize, row: &mut [f32]) {
    row.fill(0.0);
    let first = (y * w.w + x0) as u32;
    let len = row.len() as u32;
    for oy in windows_over(y, w.oh, w.sh, w.ph, w.kh, w.dh) {
        let (grow, irow) = (&gp[oy * w.ow..(oy + 1) * w.ow], &ip[oy * w.ow..(oy + 1) * w.ow]);
        for (&gv, &i) in grow.iter().zip(irow) {
            // Branch-free (whether a window's max lies in this row is a coin toss):
            // a miss adds +0.0 to element 0, which changes nothing, as no sum of
            // gradients onto +0.0 is ever −0.0.
            let off = (i as u32).wrapping_sub(first);
            let hit = 0u32.wrapping_sub((off < len) as u32);
            row[(off & hit) as usize] += f32::from_bits(gv.to_bits() & hit);
        }
    }
}

/// The vectorised inner columns: four outputs at a time, each tap of the window one
/// vector of the four outputs' inputs (column stride 1: one load; stride 2: two
/// overlapping loads and a shuffle), folded in row-major tap order. A row piece that is
/// not a multiple of four ends with a vector that overlaps the previous one (the same
/// outputs computed twice give the same values) rather than a scalar tail.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use super::Window;
    use crate::kernels::lanes::quad::{load_f32 as load, load_i32};
    pub use crate::kernels::lanes::quad::{store_f32, store_i32};
    use core::arch::wasm32::*;

    /// The taps of four outputs `SW` columns apart along one input row `w` (which starts
    /// at the first output's first tap and holds `3·SW + kw` elements): tap `j` is
    /// `w[j], w[j + SW], w[j + 2SW], w[j + 3SW]`, passed to `f(j, tap)` in order.
    ///
    /// Stride 1: one load per tap. Stride 2: taps 0 and 1 are the even and odd lanes of
    /// the first eight elements, and tap `j ≥ 2` is tap `j − 2` shifted by one lane with
    /// `w[j + 6]` appended, so each tap costs a shuffle and at most one load.
    #[inline(always)]
    fn for_each_tap<const SW: usize>(w: &[f32], kw: usize, mut f: impl FnMut(usize, v128)) {
        if SW == 1 {
            for j in 0..kw {
                f(j, load(&w[j..j + 4]));
            }
            return;
        }
        if kw == 1 {
            f(0, i32x4_shuffle::<0, 2, 5, 7>(load(&w[0..4]), load(&w[3..7])));
            return;
        }
        let (q0, q1) = (load(&w[0..4]), load(&w[4..8]));
        let (mut even, mut odd) = (i32x4_shuffle::<0, 2, 4, 6>(q0, q1), i32x4_shuffle::<1, 3, 5, 7>(q0, q1));
        f(0, even);
        f(1, odd);
        for j in 2..kw {
            let next = i32x4_shuffle::<1, 2, 3, 7>(if j % 2 == 0 { even } else { odd }, load(&w[j + 3..j + 7]));
            if j % 2 == 0 {
                even = next;
            } else {
                odd = next;
            }
            f(j, next);
        }
    }

    /// Calls `body(k)` for the output offsets `k` of the vectors covering `0..n` (n ≥ 4);
    /// one call site, so that `body` is inlined.
    #[inline(always)]
    fn vectors(n: usize, mut body: impl FnMut(usize)) {
        let mut k = 0;
        loop {
            let at = k.min(n - 4);
            body(at);
            if at == n - 4 {
                break;
            }
            k += 4;
        }
    }

    /// [`super::max_row`]'s inner columns `a .. a + cols` (at least four) of `run`
    /// consecutive output rows (`orow` holds `run · cols` outputs; the first row's windows
    /// cover input rows `rows`, each next row's `sH` further down, unclipped), for the
    /// shapes of [`super::vector_columns`].
    #[inline(never)]
    pub fn max_inner<const IDX: bool>(plane: &[f32], w: &Window, rows: (usize, usize), run: usize, a: usize, orow: &mut [f32], irow: &mut [i32]) {
        let cols = orow.len() / run;
        let pairs = (w.kh, w.kw, w.sh, w.sw, w.dh, rows.1 - rows.0) == (2, 2, 2, 2, 1, 2);
        if pairs && max_pairs_without_nan::<IDX>(plane, (w.w, w.h), (rows.0, 2 * a - w.pw), cols, orow, irow) {
            return;
        }
        for r in 0..run {
            let rows = (rows.0 + r * w.sh, rows.1 + r * w.sh);
            let (o, i) = (&mut orow[r * cols..(r + 1) * cols], if IDX { &mut irow[r * cols..(r + 1) * cols] } else { &mut [][..] });
            match (w.kw, w.sw) {
                (2, 2) => max_body::<IDX, 2, 2>(plane, w, rows, a, o, i),
                (3, 2) => max_body::<IDX, 2, 3>(plane, w, rows, a, o, i),
                _ => max_body::<IDX, 1, 3>(plane, w, rows, a, o, i),
            }
        }
    }

    /// `KW`: the kernel width as a constant, or 0 to read it from `w`.
    #[inline(always)]
    fn max_body<const IDX: bool, const SW: usize, const KW: usize>(plane: &[f32], w: &Window, (y0, y1): (usize, usize), a: usize, orow: &mut [f32], irow: &mut [i32]) {
        let kw = if KW == 0 { w.kw } else { KW };
        // The elements the four windows read in one input row.
        let span = 3 * SW + kw;
        let s = SW as i32;
        let lanes = i32x4(0, s, 2 * s, 3 * s);
        vectors(orow.len(), |k| {
            let ix = (a + k) * SW - w.pw;
            // The fold starts at the first tap: PyTorch starts from −∞ at the first tap's
            // index, which the first tap replaces unless it is −∞ itself (same result).
            let (mut best, mut at) = (f32x4_splat(0.0), i32x4_splat(0));
            let mut y = y0;
            while y < y1 {
                let base = (y * w.w + ix) as i32;
                for_each_tap::<SW>(&plane[y * w.w + ix..y * w.w + ix + span], kw, |j, v| {
                    let pos = if IDX { i32x4_add(i32x4_splat(base + j as i32), lanes) } else { lanes };
                    if y == y0 && j == 0 {
                        (best, at) = (v, pos);
                        return;
                    }
                    let wins = v128_or(f32x4_gt(v, best), f32x4_ne(v, v));
                    best = v128_bitselect(v, best, wins);
                    if IDX {
                        at = v128_bitselect(pos, at, wins);
                    }
                });
                y += w.dh;
            }
            store_f32(best, &mut orow[k..k + 4]);
            if IDX {
                store_i32(at, &mut irow[k..k + 4]);
            }
        });
    }

    /// `y` where `x < y`, else `x` (`f32x4.pmax`): the first of tied maxima, so `−0` before
    /// `+0` stays `−0`. The relaxed-simd build says it with a lane select, since LLVM
    /// lowers `pmax` there to `relaxed_max`, whose choice between tied zeros is the
    /// engine's (V8 on x64 takes the second).
    #[inline(always)]
    fn first_max(x: v128, y: v128) -> v128 {
        #[cfg(target_feature = "relaxed-simd")]
        return i32x4_relaxed_laneselect(y, x, f32x4_lt(x, y));
        #[cfg(not(target_feature = "relaxed-simd"))]
        return f32x4_pmax(x, y);
    }

    /// Max pooling by 2×2 windows 2 apart (k2s2) of `orow.len() / cols` output rows of
    /// `cols` windows, the first starting at input column `x0` of rows `y0, y0 + 1` of
    /// `plane` (`width` columns; planes of `height` rows may be stacked in it), and with
    /// `IDX` their argmaxes in `irow`.
    /// Each window is `first_max(first_max(a, b), first_max(c, d))` of its row-major taps
    /// `a b / c d`. Without NaN that is PyTorch's first-max fold (the fold is associative,
    /// and the pairs keep the taps' order), in about half the instructions of the
    /// compare-and-select fold. Returns false, with `orow` to be rewritten by that fold,
    /// when a tap may be NaN: the taps' sums are NaN then (or, spuriously, when ∞ meets
    /// −∞).
    #[inline(never)]
    pub fn max_pairs_without_nan<const IDX: bool>(plane: &[f32], (width, height): (usize, usize), (y0, x0): (usize, usize), cols: usize, orow: &mut [f32], irow: &mut [i32]) -> bool {
        let mut sums = f32x4_splat(0.0);
        let (one, lanes) = (i32x4_splat(1), i32x4(0, 2, 4, 6));
        let below = i32x4_splat(width as i32 - 1);
        for (r, o) in orow.chunks_exact_mut(cols).enumerate() {
            let y = y0 + 2 * r;
            let top = &plane[y * width + x0..][..2 * cols];
            let bottom = &plane[(y + 1) * width + x0..][..2 * cols];
            // Argmaxes are positions within their plane, of `height` rows.
            let first = ((y % height) * width + x0) as i32;
            let at = if IDX { &mut irow[r * cols..(r + 1) * cols] } else { &mut [][..] };
            vectors(cols, |k| {
                let (t0, t1) = (load(&top[2 * k..2 * k + 4]), load(&top[2 * k + 4..2 * k + 8]));
                let (b0, b1) = (load(&bottom[2 * k..2 * k + 4]), load(&bottom[2 * k + 4..2 * k + 8]));
                sums = f32x4_add(sums, f32x4_add(f32x4_add(t0, t1), f32x4_add(b0, b1)));
                let (a, b) = (i32x4_shuffle::<0, 2, 4, 6>(t0, t1), i32x4_shuffle::<1, 3, 5, 7>(t0, t1));
                let (c, d) = (i32x4_shuffle::<0, 2, 4, 6>(b0, b1), i32x4_shuffle::<1, 3, 5, 7>(b0, b1));
                let max = first_max(first_max(a, b), first_max(c, d));
                store_f32(max, &mut o[k..k + 4]);
                if IDX {
                    // The first tap equal to the max (the one the fold kept) is at offset
                    // 0 (a), 1 (b), W (c) or W + 1 (d).
                    let (is_a, is_b, is_c) = (f32x4_eq(a, max), f32x4_eq(b, max), f32x4_eq(c, max));
                    let past_b = i32x4_add(v128_andnot(one, is_c), below);
                    let past_a = i32x4_add(v128_andnot(past_b, is_b), one);
                    let window = i32x4_add(i32x4_splat(first + 2 * k as i32), lanes);
                    store_i32(i32x4_add(window, v128_andnot(past_a, is_a)), &mut at[k..k + 4]);
                }
            });
        }
        !v128_any_true(f32x4_ne(sums, sums))
    }

    /// Calls `f(k, lo, hi)` for the outputs `k..k + 4` of a row of `n` (n ≥ 4, the last
    /// vector overlapping) with `v(k)`'s lanes doubled: `lo = v0 v0 v1 v1`, `hi = v2 v2 v3
    /// v3`, the values of input columns `2k .. 2k + 8`.
    #[inline(always)]
    fn pairs(n: usize, mut v: impl FnMut(usize) -> v128, mut f: impl FnMut(usize, v128, v128)) {
        vectors(n, |k| {
            let x = v(k);
            f(k, i32x4_shuffle::<0, 0, 1, 1>(x, x), i32x4_shuffle::<2, 2, 3, 3>(x, x));
        });
    }

    /// Max pooling's backward for [`super::PoolGeom::unpools_row_pairs`] geometries: the
    /// input row pairs of output rows `r0 ..` of the stacked planes (`dx`, whole pairs),
    /// each element `0 + g` where it is its window's argmax and +0 elsewhere, as
    /// [`unpool_max_pairs`] writes them, in one pass with no per-plane calls.
    #[inline(never)]
    pub fn unpool_row_pairs(grad: &[f32], idx: &[i32], w: &Window, r0: usize, dx: &mut [f32]) {
        let (width, ow) = (w.w, w.ow);
        let (zero, step, right) = (f32x4_splat(0.0), i32x4(0, 1, 2, 3), i32x4_splat(4));
        let below = i32x4_splat(width as i32);
        for (r, pair) in dx.chunks_exact_mut(2 * width).enumerate() {
            let row = r0 + r;
            let (g, at) = (&grad[row * ow..][..ow], &idx[row * ow..][..ow]);
            // Argmaxes are positions within the plane: the pair's first row there.
            let first = ((2 * row) % w.h * width) as i32;
            let (top, bottom) = pair.split_at_mut(width);
            pairs(
                ow,
                |k| f32x4_add(load(&g[k..k + 4]), zero),
                |k, g_lo, g_hi| {
                    let i = load_i32(&at[k..k + 4]);
                    let (i_lo, i_hi) = (i32x4_shuffle::<0, 0, 1, 1>(i, i), i32x4_shuffle::<2, 2, 3, 3>(i, i));
                    let p = i32x4_add(i32x4_splat(first + 2 * k as i32), step);
                    let q = i32x4_add(p, right);
                    store_f32(v128_and(g_lo, i32x4_eq(i_lo, p)), &mut top[2 * k..2 * k + 4]);
                    store_f32(v128_and(g_hi, i32x4_eq(i_hi, q)), &mut top[2 * k + 4..2 * k + 8]);
                    store_f32(v128_and(g_lo, i32x4_eq(i_lo, i32x4_add(p, below))), &mut bottom[2 * k..2 * k + 4]);
                    store_f32(v128_and(g_hi, i32x4_eq(i_hi, i32x4_add(q, below))), &mut bottom[2 * k + 4..2 * k + 8]);
                },
            );
        }
    }

    /// Max pooling's backward of whole input rows `y0 ..` of a plane (`rows`) under the
    /// output plane of gradients `grad` and argmaxes `idx`, for [`super::PoolGeom::unpool_pairs`]
    /// geometries: each output column owns input columns `2ox, 2ox + 1` of the rows under
    /// its window row, which get `0 + g` where they are the argmax and +0 elsewhere (the
    /// bits PyTorch's zero fill and `+=` give). The rows under one window row are written
    /// in one pass over its outputs.
    #[inline(never)]
    pub fn unpool_max_pairs(grad: &[f32], idx: &[i32], w: &Window, y0: usize, rows: &mut [f32]) {
        let (width, ow) = (w.w, w.ow);
        let mut y = y0;
        let mut rest = rows;
        while !rest.is_empty() {
            let oy = super::lone_window_over(y, w);
            let mut same = 1;
            while same * width < rest.len() && super::lone_window_over(y + same, w) == oy {
                same += 1;
            }
            let (under, tail) = std::mem::take(&mut rest).split_at_mut(same * width);
            match oy {
                Some(oy) => unpool_rows(&grad[oy * ow..(oy + 1) * ow], &idx[oy * ow..(oy + 1) * ow], (y * width) as i32, width, under),
                None => under.iter_mut().for_each(|d| *d = 0.0),
            }
            (y, rest) = (y + same, tail);
        }
    }

    /// The rows of `width` in `under` (starting at plane position `base`) under one output
    /// row: see [`unpool_max_pairs`].
    #[inline(always)]
    fn unpool_rows(grad: &[f32], idx: &[i32], base: i32, width: usize, under: &mut [f32]) {
        let n = grad.len().min(idx.len());
        if width > 2 * n {
            for row in under.chunks_exact_mut(width) {
                row[2 * n..].iter_mut().for_each(|d| *d = 0.0);
            }
        }
        if n < 4 {
            for (r, row) in under.chunks_exact_mut(width).enumerate() {
                let first = base + (r * width) as i32;
                for (k, pair) in row[..2 * n].chunks_exact_mut(2).enumerate() {
                    for (t, d) in pair.iter_mut().enumerate() {
                        *d = if idx[k] == first + (2 * k + t) as i32 { 0.0 + grad[k] } else { 0.0 };
                    }
                }
            }
            return;
        }
        let (zero, step) = (f32x4_splat(0.0), i32x4(0, 1, 2, 3));
        pairs(
            n,
            |k| f32x4_add(load(&grad[k..k + 4]), zero),
            |k, g_lo, g_hi| {
                let i = load_i32(&idx[k..k + 4]);
                let (i_lo, i_hi) = (i32x4_shuffle::<0, 0, 1, 1>(i, i), i32x4_shuffle::<2, 2, 3, 3>(i, i));
                let mut p = i32x4_add(i32x4_splat(base + 2 * k as i32), step);
                for row in under.chunks_exact_mut(width) {
                    store_f32(v128_and(g_lo, i32x4_eq(i_lo, p)), &mut row[2 * k..2 * k + 4]);
                    store_f32(v128_and(g_hi, i32x4_eq(i_hi, i32x4_add(p, i32x4_splat(4)))), &mut row[2 * k + 4..2 * k + 8]);
                    p = i32x4_add(p, i32x4_splat(width as i32));
                }
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adaptive_ranges_cover_the_input() {
        assert_eq!(adaptive_range(0, 3, 7), (0, 3));
        assert_eq!(adaptive_range(1, 3, 7), (2, 5));
        assert_eq!(adaptive_range(2, 3, 7), (4, 7));
    }

    /// A deterministic mix of values with ties, ±0, ±inf and NaN.
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                match (s >> 33) % 23 {
                    0 => f32::NAN,
                    1 => f32::NEG_INFINITY,
                    2 => f32::INFINITY,
                    3 => -0.0,
                    4 | 5 => 1.0,
                    _ => ((s >> 40) % 1000) as f32 / 64.0 - 7.0,
                }
            })
            .collect()
    }

    /// PyTorch's `out = floor-or-ceil(...)`, as in ops::pool.
    fn pooled(size: usize, k: usize, p: usize, s: usize, d: usize, ceil: bool) -> usize {
        let span = (size + 2 * p) as i64 - (d * (k - 1)) as i64 - 1 + if ceil { s as i64 - 1 } else { 0 };
        let mut out = span.div_euclid(s as i64) + 1;
        if ceil && (out - 1) * s as i64 >= (size + p) as i64 {
            out -= 1;
        }
        out.max(0) as usize
    }

    /// PyTorch's `cpu_max_pool` and `cpu_max_pool_backward`, element by element.
    fn reference_max(x: &[f32], gout: &[f32], g: &PoolGeom) -> (Vec<f32>, Vec<i32>, Vec<f32>) {
        let w = &g.win;
        let (mut out, mut idx, mut dx) = (vec![], vec![], vec![0.0f32; x.len()]);
        for p in 0..g.planes {
            for oy in 0..w.oh {
                for ox in 0..w.ow {
                    let (mut ih0, mut iw0) = ((oy * w.sh) as i64 - w.ph as i64, (ox * w.sw) as i64 - w.pw as i64);
                    let ih1 = (ih0 + ((w.kh - 1) * w.dh) as i64 + 1).min(w.h as i64);
                    let iw1 = (iw0 + ((w.kw - 1) * w.dw) as i64 + 1).min(w.w as i64);
                    while ih0 < 0 {
                        ih0 += w.dh as i64;
                    }
                    while iw0 < 0 {
                        iw0 += w.dw as i64;
                    }
                    let (mut best, mut at) = (f32::NEG_INFINITY, ih0 * w.w as i64 + iw0);
                    for ih in (ih0..ih1).step_by(w.dh) {
                        for iw in (iw0..iw1).step_by(w.dw) {
                            let v = x[p * w.h * w.w + (ih * w.w as i64 + iw) as usize];
                            if v > best || v.is_nan() {
                                (best, at) = (v, ih * w.w as i64 + iw);
                            }
                        }
                    }
                    out.push(best);
                    idx.push(at as i32);
                }
            }
        }
        for (o, &i) in idx.iter().enumerate() {
            dx[o / (w.oh * w.ow) * w.h * w.w + i as usize] += gout[o];
        }
        (out, idx, dx)
    }

    /// PyTorch's `cpu_avg_pool` and `cpu_avg_pool_backward`, element by element.
    fn reference_avg(x: &[f32], gout: &[f32], g: &PoolGeom, mode: AvgPoolMode) -> (Vec<f32>, Vec<f32>) {
        let w = &g.win;
        let (mut out, mut dx) = (vec![], vec![0.0f32; x.len()]);
        for p in 0..g.planes {
            for oy in 0..w.oh {
                for ox in 0..w.ow {
                    let (ih0, iw0) = ((oy * w.sh) as i64 - w.ph as i64, (ox * w.sw) as i64 - w.pw as i64);
                    let ih1 = (ih0 + w.kh as i64).min((w.h + w.ph) as i64);
                    let iw1 = (iw0 + w.kw as i64).min((w.w + w.pw) as i64);
                    let pool_size = (ih1 - ih0) * (iw1 - iw0);
                    let (ih0, iw0, ih1, iw1) = (ih0.max(0), iw0.max(0), ih1.min(w.h as i64), iw1.min(w.w as i64));
                    if ih0 >= ih1 || iw0 >= iw1 {
                        out.push(0.0);
                        continue;
                    }
                    let divide = if mode.divisor_override > 0 {
                        mode.divisor_override as i64
                    } else if mode.count_include_pad {
                        pool_size
                    } else {
                        (ih1 - ih0) * (iw1 - iw0)
                    };
                    let mut sum = 0.0f32;
                    let grad = gout[out.len()] / divide as f32;
                    for ih in ih0..ih1 {
                        for iw in iw0..iw1 {
                            let at = p * w.h * w.w + (ih * w.w as i64 + iw) as usize;
                            sum += x[at];
                            dx[at] += grad;
                        }
                    }
                    out.push(sum / divide as f32);
                }
            }
        }
        (out, dx)
    }

    /// `fill(start, block)` over `0..len` in blocks of `block` (as `try_build` calls it).
    fn blocks<T: Copy + Default>(len: usize, block: usize, mut fill: impl FnMut(usize, &mut [T])) -> Vec<T> {
        let mut v = vec![T::default(); len];
        for (i, c) in v.chunks_mut(block).enumerate() {
            fill(i * block, c);
        }
        v
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| if x.is_nan() { 0x7fc0_0000 } else { x.to_bits() }).collect()
    }

    /// Geometries: (H, W, kernel, stride, padding, dilation, ceil mode).
    const GEOMETRIES: &[([usize; 2], [usize; 2], [usize; 2], [usize; 2], [usize; 2], bool)] = &[
        ([28, 28], [2, 2], [2, 2], [0, 0], [1, 1], false),
        ([9, 11], [2, 2], [2, 2], [0, 0], [1, 1], true),
        ([13, 17], [3, 3], [2, 2], [0, 0], [1, 1], false),
        ([13, 17], [3, 3], [2, 2], [1, 1], [1, 1], true),
        ([10, 19], [3, 3], [1, 1], [1, 1], [1, 1], false),
        ([7, 5], [3, 2], [1, 3], [1, 1], [1, 1], true),
        ([12, 23], [3, 3], [2, 1], [1, 1], [2, 2], false),
        ([6, 9], [5, 4], [3, 2], [2, 2], [1, 2], true),
        ([1, 40], [1, 4], [1, 2], [0, 2], [1, 1], false),
        ([4, 3], [4, 3], [1, 1], [0, 0], [1, 1], false),
    ];

    fn geometry(case: usize, planes: usize) -> PoolGeom {
        let (size, k, s, p, d, ceil) = GEOMETRIES[case];
        let out = [0, 1].map(|i| pooled(size[i], k[i], p[i], s[i], d[i], ceil));
        PoolGeom { planes, win: Window::new(size, out, k, s, p, d) }
    }

    /// Wherever window rows do not overlap, the one window over each input row is
    /// [`windows_over`]'s (strides 1 to 4, padding, dilation, rows past the last window).
    #[test]
    fn lone_window_is_windows_overs_only_row() {
        for (kh, sh, ph, dh) in [(2usize, 2usize, 0usize, 1usize), (2, 2, 1, 1), (1, 2, 0, 1), (2, 3, 1, 2), (3, 4, 1, 1), (1, 1, 0, 1), (2, 4, 2, 3)] {
            assert!((kh - 1) * dh < sh);
            for h in 1usize..12 {
                if h + 2 * ph < (kh - 1) * dh + 1 {
                    continue;
                }
                for ceil in [false, true] {
                    let span = h + 2 * ph - (kh - 1) * dh - 1;
                    let oh = if ceil { span.div_ceil(sh) + 1 } else { span / sh + 1 };
                    let win = Window::new([h, 8], [oh, 4], [kh, 2], [sh, 2], [ph, 0], [dh, 1]);
                    for y in 0..h {
                        let all: Vec<usize> = windows_over(y, oh, sh, ph, kh, dh).collect();
                        assert!(all.len() <= 1);
                        assert_eq!(lone_window_over(y, &win), all.first().copied(), "k{kh} s{sh} p{ph} d{dh} h{h} oh{oh} y{y}");
                    }
                }
            }
        }
    }

    #[test]
    fn max_pooling_matches_pytorchs_loop_for_any_block_split() {
        for case in 0..GEOMETRIES.len() {
            let g = geometry(case, 3);
            let x = values(g.in_len(), case as u64);
            let gout = values(g.out_len(), 100 + case as u64);
            let (want, want_idx, want_dx) = reference_max(&x, &gout, &g);
            for block in [1, 3, 7, g.win.ow, 64, 1024] {
                let mut idx = vec![-1; g.out_len()];
                let out = blocks(g.out_len(), block, |s, o| max_pool2d(&x, &g, s, o, Some(&mut idx[s..s + o.len()])));
                assert_eq!(bits(&out), bits(&want), "case {case} block {block}");
                assert_eq!(idx, want_idx, "case {case} block {block}");
                let values_only = blocks(g.out_len(), block, |s, o| max_pool2d(&x, &g, s, o, None));
                assert_eq!(bits(&values_only), bits(&want), "case {case} block {block} (values only)");
                let dx = blocks(g.in_len(), block, |s, d| max_pool2d_backward(&gout, &idx, &g, s, d));
                assert_eq!(bits(&dx), bits(&want_dx), "case {case} block {block} (backward)");
            }
        }
    }

    #[test]
    fn avg_pooling_matches_pytorchs_loop_for_any_block_split() {
        for case in 0..GEOMETRIES.len() {
            let mut g = geometry(case, 2);
            g.win.dh = 1;
            g.win.dw = 1;
            let (size, k, s, p, _, ceil) = GEOMETRIES[case];
            (g.win.oh, g.win.ow) = (pooled(size[0], k[0], p[0], s[0], 1, ceil), pooled(size[1], k[1], p[1], s[1], 1, ceil));
            let x: Vec<f32> = values(g.in_len(), case as u64).iter().map(|v| if v.is_finite() { *v } else { 0.5 }).collect();
            let gout = values(g.out_len(), 7 + case as u64);
            for mode in [(true, 0), (false, 0), (true, 3), (false, 5)] {
                let mode = AvgPoolMode { count_include_pad: mode.0, divisor_override: mode.1 };
                let (want, want_dx) = reference_avg(&x, &gout, &g, mode);
                for block in [1, 5, g.win.ow, 1024] {
                    let out = blocks(g.out_len(), block, |s, o| avg_pool2d(&x, &g, mode, s, o));
                    assert_eq!(bits(&out), bits(&want), "case {case} {mode:?} block {block}");
                    let share = blocks(g.out_len(), block, |s, o| avg_pool2d_shares(&gout, &g, mode, s, o));
                    let dx = blocks(g.in_len(), block, |s, d| avg_pool2d_backward(&share, &g, s, d));
                    assert_eq!(bits(&dx), bits(&want_dx), "case {case} {mode:?} block {block} (backward)");
                }
            }
        }
    }
}

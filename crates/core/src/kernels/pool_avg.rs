//! Average and adaptive average pooling over contiguous NCHW data (see `pool` for the
//! conventions they share with max pooling: PyTorch's window clipping, flat output ranges,
//! and the backward's summation order).
//!
//! Every function here trusts its geometry: the ops layer validates shapes and sizes
//! before calling, so the slicing below cannot go out of bounds.
#![forbid(unsafe_code)]

use super::pool::{for_each_row_piece, windows_over, PoolGeom};
use super::window::Window;

// ---------------------------------------------------------------------------------------
// average pooling

/// Average-pooling divisor rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AvgPoolMode {
    pub count_include_pad: bool,
    /// PyTorch's `divisor_override` (0 = none).
    pub divisor_override: usize,
}

/// PyTorch's `avg_pool2d` span of output `o` in one dim: the clipped inputs `lo..hi` and
/// the window size counting padding (`min(start + k, size + p) − start`).
#[inline]
fn avg_span(o: usize, s: usize, p: usize, k: usize, size: usize) -> (usize, usize, usize) {
    let start = o as i64 * s as i64 - p as i64;
    let end = (start + k as i64).min(size as i64 + p as i64);
    let (lo, hi) = (start.max(0), end.min(size as i64));
    (lo as usize, hi.max(lo) as usize, (end - start) as usize)
}

/// The divisor of output (oy, ox), or `None` for a window that covers only padding
/// (PyTorch leaves those outputs, and their gradients, at 0).
#[inline]
fn avg_divisor(g: &PoolGeom, mode: AvgPoolMode, rows: (usize, usize, usize), ox: usize) -> Option<f32> {
    let (y0, y1, fh) = rows;
    let (x0, x1, fw) = avg_span(ox, g.win.sw, g.win.pw, g.win.kw, g.win.w);
    if y0 >= y1 || x0 >= x1 {
        return None;
    }
    // In u64: with a huge kernel, the padded window's area can pass 2^32.
    let divisor = if mode.divisor_override > 0 {
        mode.divisor_override as u64
    } else if mode.count_include_pad {
        fh as u64 * fw as u64
    } else {
        ((y1 - y0) * (x1 - x0)) as u64
    };
    Some(divisor as f32)
}

/// Divides the values of output columns `ox0 .. ox0 + vals.len()` of a row whose windows
/// cover `rows` by their divisors (0 where the window is all padding). The inner columns
/// share one divisor, so their loop is a plain vectorised division.
#[inline(never)]
fn divide_row(g: &PoolGeom, mode: AvgPoolMode, rows: (usize, usize, usize), inner: (usize, usize), ox0: usize, vals: &mut [f32]) {
    let ox1 = ox0 + vals.len();
    let a = inner.0.clamp(ox0, ox1);
    let b = inner.1.clamp(a, ox1);
    let (left, rest) = vals.split_at_mut(a - ox0);
    let (mid, right) = rest.split_at_mut(b - a);
    match avg_divisor(g, mode, rows, a) {
        Some(d) if !mid.is_empty() => mid.iter_mut().for_each(|v| *v /= d),
        _ => mid.fill(0.0),
    }
    for (ox, v) in (ox0..a).zip(left).chain((b..ox1).zip(right)) {
        *v = avg_divisor(g, mode, rows, ox).map_or(0.0, |d| *v / d);
    }
}

/// Average pooling of the outputs `start .. start + out.len()` (flat NCHW order), summing
/// each window from 0 in row-major order (PyTorch's), then dividing.
#[inline(never)]
pub fn avg_pool2d(x: &[f32], g: &PoolGeom, mode: AvgPoolMode, start: usize, out: &mut [f32]) {
    let w = &g.win;
    let hw = w.h * w.w;
    let inner = g.inner_columns();
    for_each_row_piece(w.oh, w.ow, start, out.len(), |p, oy, ox0, r| {
        let rows = avg_span(oy, w.sh, w.ph, w.kh, w.h);
        let orow = &mut out[r];
        avg_sums(&x[p * hw..(p + 1) * hw], w, rows, ox0, orow);
        divide_row(g, mode, rows, inner, ox0, orow);
    });
}

/// The window sums of outputs `c0 .. c0 + orow.len()` of one output row whose windows
/// cover `rows`, each from 0 in PyTorch's row-major order. (Average pooling stays scalar:
/// its forward is a small part of a training step, and vector copies of it would cost
/// more binary size than the budget leaves.)
#[inline(never)]
fn avg_sums(plane: &[f32], w: &Window, rows: (usize, usize, usize), c0: usize, orow: &mut [f32]) {
    for (k, o) in orow.iter_mut().enumerate() {
        let (x0, x1, _) = avg_span(c0 + k, w.sw, w.pw, w.kw, w.w);
        let mut sum = 0.0f32;
        for y in rows.0..rows.1 {
            for &v in &plane[y * w.w + x0..y * w.w + x1] {
                sum += v;
            }
        }
        *o = sum;
    }
}

/// Each output gradient divided like the forward, for outputs `start .. start +
/// share.len()`: what [`avg_pool2d_backward`] spreads over the windows.
#[inline(never)]
pub fn avg_pool2d_shares(gout: &[f32], g: &PoolGeom, mode: AvgPoolMode, start: usize, share: &mut [f32]) {
    let w = &g.win;
    let inner = g.inner_columns();
    share.copy_from_slice(&gout[start..start + share.len()]);
    for_each_row_piece(w.oh, w.ow, start, share.len(), |_, oy, ox0, r| {
        divide_row(g, mode, avg_span(oy, w.sh, w.ph, w.kh, w.h), inner, ox0, &mut share[r]);
    });
}

/// Spreads each output's share ([`avg_pool2d_shares`], all outputs) over its window, for
/// the input elements `start .. start + dx.len()` (flat NCHW order), every one of which is
/// written: each input row is cleared, then gets the shares of the windows over it, added
/// in output order as PyTorch's loop adds them (overlapping windows sum in that order).
#[inline(never)]
pub fn avg_pool2d_backward(share: &[f32], g: &PoolGeom, start: usize, dx: &mut [f32]) {
    let w = &g.win;
    let ohw = w.oh * w.ow;
    for_each_row_piece(w.h, w.w, start, dx.len(), |p, y, x0, r| {
        let row = &mut dx[r];
        row.fill(0.0);
        let x1 = x0 + row.len();
        let columns = windows_over(x0, w.ow, w.sw, w.pw, w.kw, 1).start..windows_over(x1 - 1, w.ow, w.sw, w.pw, w.kw, 1).end;
        for oy in windows_over(y, w.oh, w.sh, w.ph, w.kh, 1) {
            let srow = &share[p * ohw + oy * w.ow..p * ohw + (oy + 1) * w.ow];
            for ox in columns.clone() {
                let first = ox * w.sw;
                let (c0, c1) = (first.max(x0 + w.pw) - w.pw, (first + w.kw).min(x1 + w.pw) - w.pw);
                let s = srow[ox];
                for d in &mut row[c0.min(c1) - x0..c1 - x0] {
                    *d += s;
                }
            }
        }
    });
}

// ---------------------------------------------------------------------------------------
// adaptive average pooling

/// PyTorch's adaptive window of output `i` of `out` over `size` inputs:
/// `floor(i·size/out) .. ceil((i+1)·size/out)`.
#[inline]
pub fn adaptive_range(i: usize, out: usize, size: usize) -> (usize, usize) {
    // In u64: `i · size` can pass 2^32 on wasm32 (a 65536-row input pooled to 65536 rows).
    let (i, out, size) = (i as u64, out as u64, size as u64);
    ((i * size / out) as usize, ((i + 1) * size).div_ceil(out) as usize)
}

/// Adaptive average pooling of `planes` `[h, w]` planes to `[oh, ow]`.
#[inline(never)]
pub fn adaptive_avg_pool2d(x: &[f32], planes: usize, h: usize, w: usize, oh: usize, ow: usize, out: &mut [f32]) {
    for p in 0..planes {
        let plane = &x[p * h * w..(p + 1) * h * w];
        for oy in 0..oh {
            let (y0, y1) = adaptive_range(oy, oh, h);
            for ox in 0..ow {
                let (x0, x1) = adaptive_range(ox, ow, w);
                let mut acc = 0.0f32;
                for y in y0..y1 {
                    acc += plane[y * w + x0..y * w + x1].iter().sum::<f32>();
                }
                out[(p * oh + oy) * ow + ox] = acc / ((y1 - y0) * (x1 - x0)) as f32;
            }
        }
    }
}

/// The adjoint of [`adaptive_avg_pool2d`]; `dx` is overwritten.
#[inline(never)]
pub fn adaptive_avg_pool2d_backward(gout: &[f32], planes: usize, h: usize, w: usize, oh: usize, ow: usize, dx: &mut [f32]) {
    dx.fill(0.0);
    for p in 0..planes {
        let plane = &mut dx[p * h * w..(p + 1) * h * w];
        for oy in 0..oh {
            let (y0, y1) = adaptive_range(oy, oh, h);
            for ox in 0..ow {
                let (x0, x1) = adaptive_range(ox, ow, w);
                let share = gout[(p * oh + oy) * ow + ox] / ((y1 - y0) * (x1 - x0)) as f32;
                for y in y0..y1 {
                    plane[y * w + x0..y * w + x1].iter_mut().for_each(|d| *d += share);
                }
            }
        }
    }
}

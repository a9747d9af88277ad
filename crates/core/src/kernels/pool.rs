//! Pooling loops over contiguous NCHW data (max, average and adaptive average pooling).
//!
//! Pooling follows PyTorch's CPU kernels exactly (window clipping, the divisor rules of
//! average pooling, first-max tie breaking and NaN propagation of max pooling).
//!
//! Every function here trusts its geometry: the ops layer validates shapes and sizes
//! before calling, so the slicing below cannot go out of bounds.
#![forbid(unsafe_code)]

use super::window::{valid_range, Window};

/// The geometry of a 2-D pooling over `planes` independent `[H, W]` planes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolGeom {
    pub planes: usize,
    pub win: Window,
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

/// `best[k] = max(best[k], src[k·stride])`, recording position `base + k·stride` in
/// `at[k]` where the value wins (strictly greater, or NaN: PyTorch's rule). Branch-free
/// four lanes at a time in the simd128 build: with random data the comparison is
/// unpredictable, and V8 compiles a scalar `f32` select to a branch.
#[inline(always)]
fn max_update(best: &mut [f32], at: &mut [i32], src: &[f32], stride: usize, base: i32) {
    let n = best.len().min(at.len());
    #[allow(unused_mut)]
    let mut k = 0;
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        use core::arch::wasm32::*;
        let s = stride as i32;
        let step = i32x4(0, s, 2 * s, 3 * s);
        while k + 4 <= n {
            let v = if stride == 1 {
                let w = &src[k..k + 4];
                f32x4(w[0], w[1], w[2], w[3])
            } else {
                let w = &src[k * stride..k * stride + 3 * stride + 1];
                f32x4(w[0], w[stride], w[2 * stride], w[3 * stride])
            };
            let (b, a) = (&mut best[k..k + 4], &mut at[k..k + 4]);
            let old = f32x4(b[0], b[1], b[2], b[3]);
            let wins = v128_or(f32x4_gt(v, old), f32x4_ne(v, v));
            let new = v128_bitselect(v, old, wins);
            let pos = i32x4_add(i32x4_splat(base + (k * stride) as i32), step);
            let idx = v128_bitselect(pos, i32x4(a[0], a[1], a[2], a[3]), wins);
            b.copy_from_slice(&[
                f32x4_extract_lane::<0>(new),
                f32x4_extract_lane::<1>(new),
                f32x4_extract_lane::<2>(new),
                f32x4_extract_lane::<3>(new),
            ]);
            a.copy_from_slice(&[
                i32x4_extract_lane::<0>(idx),
                i32x4_extract_lane::<1>(idx),
                i32x4_extract_lane::<2>(idx),
                i32x4_extract_lane::<3>(idx),
            ]);
            k += 4;
        }
    }
    for k in k..n {
        let v = src[k * stride];
        if v > best[k] || v.is_nan() {
            best[k] = v;
            at[k] = base + (k * stride) as i32;
        }
    }
}

/// Max pooling; `idx` receives the flat `y·W + x` position of each max within its plane.
/// Each output row is updated tap by tap (row-major, like PyTorch's window walk), so the
/// inner loop runs along the row without a dependency chain. Ties keep the first max; a
/// NaN always wins (as in PyTorch's CPU kernel).
#[inline(never)]
pub fn max_pool2d(x: &[f32], g: &PoolGeom, out: &mut [f32], idx: &mut [i32]) {
    let hw = g.win.h * g.win.w;
    for p in 0..g.planes {
        let plane = &x[p * hw..(p + 1) * hw];
        for oy in 0..g.win.oh {
            let start = (p * g.win.oh + oy) * g.win.ow;
            let (orow, irow) = (&mut out[start..start + g.win.ow], &mut idx[start..start + g.win.ow]);
            let (y0, y1) = dilated_span(oy, g.win.sh, g.win.ph, g.win.kh, g.win.dh, g.win.h);
            orow.fill(f32::NEG_INFINITY);
            for (ox, i) in irow.iter_mut().enumerate() {
                *i = (y0 * g.win.w + dilated_span(ox, g.win.sw, g.win.pw, g.win.kw, g.win.dw, g.win.w).0) as i32;
            }
            for y in (y0..y1).step_by(g.win.dh) {
                let row = &plane[y * g.win.w..(y + 1) * g.win.w];
                for j in 0..g.win.kw {
                    let (ox0, ox1) = valid_range(g.win.ow, g.win.sw, j * g.win.dw, g.win.pw, g.win.w);
                    if ox0 == ox1 {
                        continue;
                    }
                    let ix0 = ox0 * g.win.sw + j * g.win.dw - g.win.pw;
                    let src = &row[ix0..ix0 + (ox1 - ox0 - 1) * g.win.sw + 1];
                    max_update(&mut orow[ox0..ox1], &mut irow[ox0..ox1], src, g.win.sw, (y * g.win.w + ix0) as i32);
                }
            }
        }
    }
}

/// Routes each output gradient to its argmax; `dx` is overwritten.
/// (`idx` entries come from [`max_pool2d`], so they index the plane.)
#[inline(never)]
pub fn max_pool2d_backward(gout: &[f32], idx: &[i32], g: &PoolGeom, dx: &mut [f32]) {
    let (hw, ohw) = (g.win.h * g.win.w, g.win.oh * g.win.ow);
    dx.fill(0.0);
    for p in 0..g.planes {
        let plane = &mut dx[p * hw..(p + 1) * hw];
        for (&gv, &i) in gout[p * ohw..(p + 1) * ohw].iter().zip(&idx[p * ohw..(p + 1) * ohw]) {
            if let Some(d) = plane.get_mut(i as usize) {
                *d += gv;
            }
        }
    }
}

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

/// Calls `f(row, ox0, ox1, ix0)` for each kernel column `j`: output columns `ox0..ox1`
/// read input columns `ix0, ix0 + sW, …` of an input row (no dilation).
#[inline(always)]
fn for_each_pool_column(g: &PoolGeom, mut f: impl FnMut(usize, usize, usize)) {
    for j in 0..g.win.kw {
        let (ox0, ox1) = valid_range(g.win.ow, g.win.sw, j, g.win.pw, g.win.w);
        if ox0 < ox1 {
            f(ox0, ox1, ox0 * g.win.sw + j - g.win.pw);
        }
    }
}

/// Average pooling, summing each window row-major (PyTorch's order) then dividing.
#[inline(never)]
pub fn avg_pool2d(x: &[f32], g: &PoolGeom, mode: AvgPoolMode, out: &mut [f32]) {
    let hw = g.win.h * g.win.w;
    for p in 0..g.planes {
        let plane = &x[p * hw..(p + 1) * hw];
        for oy in 0..g.win.oh {
            let start = (p * g.win.oh + oy) * g.win.ow;
            let orow = &mut out[start..start + g.win.ow];
            let rows = avg_span(oy, g.win.sh, g.win.ph, g.win.kh, g.win.h);
            orow.fill(0.0);
            for y in rows.0..rows.1 {
                let row = &plane[y * g.win.w..(y + 1) * g.win.w];
                for_each_pool_column(g, |ox0, ox1, ix0| {
                    if g.win.sw == 1 {
                        for (o, &v) in orow[ox0..ox1].iter_mut().zip(&row[ix0..ix0 + (ox1 - ox0)]) {
                            *o += v;
                        }
                    } else {
                        for (k, o) in orow[ox0..ox1].iter_mut().enumerate() {
                            *o += row[ix0 + k * g.win.sw];
                        }
                    }
                });
            }
            for (ox, o) in orow.iter_mut().enumerate() {
                *o = avg_divisor(g, mode, rows, ox).map_or(0.0, |d| *o / d);
            }
        }
    }
}

/// Spreads each output gradient over its window, divided like the forward; `dx` is
/// overwritten, `share` holds at least `OW` elements.
#[inline(never)]
pub fn avg_pool2d_backward(gout: &[f32], g: &PoolGeom, mode: AvgPoolMode, dx: &mut [f32], share: &mut [f32]) {
    let hw = g.win.h * g.win.w;
    let share = &mut share[..g.win.ow];
    dx.fill(0.0);
    for p in 0..g.planes {
        let plane = &mut dx[p * hw..(p + 1) * hw];
        for oy in 0..g.win.oh {
            let start = (p * g.win.oh + oy) * g.win.ow;
            let rows = avg_span(oy, g.win.sh, g.win.ph, g.win.kh, g.win.h);
            for (ox, (s, &gv)) in share.iter_mut().zip(&gout[start..start + g.win.ow]).enumerate() {
                *s = avg_divisor(g, mode, rows, ox).map_or(0.0, |d| gv / d);
            }
            for y in rows.0..rows.1 {
                let row = &mut plane[y * g.win.w..(y + 1) * g.win.w];
                for_each_pool_column(g, |ox0, ox1, ix0| {
                    if g.win.sw == 1 {
                        for (d, &v) in row[ix0..ix0 + (ox1 - ox0)].iter_mut().zip(&share[ox0..ox1]) {
                            *d += v;
                        }
                    } else {
                        for (k, &v) in share[ox0..ox1].iter().enumerate() {
                            row[ix0 + k * g.win.sw] += v;
                        }
                    }
                });
            }
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adaptive_ranges_cover_the_input() {
        assert_eq!(adaptive_range(0, 3, 7), (0, 3));
        assert_eq!(adaptive_range(1, 3, 7), (2, 5));
        assert_eq!(adaptive_range(2, 3, 7), (4, 7));
    }
}

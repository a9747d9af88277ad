//! Convolution loops over contiguous NCHW data.
//!
//! Convolution lowers to the packed GEMM: per image, `im2col` lays the receptive fields
//! out as a `[C·kH·kW, OH·OW]` matrix (one row per (channel, kernel tap), built from
//! contiguous row copies), and each group's output is `W_g · cols_g`. The backward pass
//! reuses the same matrix: `dW_g += G_g · cols_gᵀ` (one product whose K runs over the
//! batch, each image's part added into `dW` in order), and `dX = col2im(W_gᵀ · G_g)`; the
//! transposes are strided [`MatRef`]s, never materialised. A 1×1 kernel with stride 1 and
//! no padding needs no `im2col` at all: the input image already is the matrix. Depthwise
//! convolutions (one input channel per group) skip the GEMM: see [`ConvGeom::direct`];
//! so does the forward of a 3×3 kernel on one input channel per group with more output
//! channels (the first layer of an image CNN): see [`ConvGeom::single_channel`]; its
//! weight gradient too (`conv_single`). The input gradient of small images makes one
//! GEMM per block of images (`conv_block`).
//!
//! Every output element is summed in an order fixed by the geometry alone.
//!
//! The entry points below run on whatever batch their geometry says; `conv_parallel` calls
//! them on fixed blocks of a batch's images, one task each (the weight gradient on fixed
//! groups of images whose sums it adds in order), on one thread or several.
//!
//! Every function here trusts its geometry: the ops layer validates shapes and sizes
//! before calling, so the slicing below cannot go out of bounds.

use super::{conv_block, conv_single};
use super::matmul::{gemm, gemm_acc, GemmScratch, MatRef};
use super::vector as v;
use super::window::{valid_range, Window};

/// The geometry of a 2-D convolution (a 1-D one is the case `h = kh = 1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeom {
    pub n: usize,
    pub c: usize,
    pub o: usize,
    pub groups: usize,
    pub win: Window,
}

impl ConvGeom {
    /// Input channels per group.
    pub fn cg(&self) -> usize {
        self.c / self.groups
    }
    /// Output channels per group.
    pub fn og(&self) -> usize {
        self.o / self.groups
    }
    /// Rows of a group's column matrix (and columns of its weight matrix).
    pub fn kg(&self) -> usize {
        self.cg() * self.win.kh * self.win.kw
    }
    pub fn ohw(&self) -> usize {
        self.win.oh * self.win.ow
    }
    pub fn hw(&self) -> usize {
        self.win.h * self.win.w
    }
    /// Elements of one image's column matrix (0 when no column matrix is built).
    pub fn cols_len(&self) -> usize {
        if self.pointwise() || self.direct() {
            0
        } else {
            self.c * self.win.kh * self.win.kw * self.ohw()
        }
    }
    /// One input channel per group and few output channels (depthwise): each output plane
    /// is a sum of `kH·kW` shifted, scaled input planes, computed directly. As GEMMs these
    /// would be one per (image, group), each only a row or two tall and `kH·kW` deep.
    pub fn direct(&self) -> bool {
        self.cg() == 1 && self.og() <= DIRECT_MAX_OG
    }
    /// One input channel per group feeding enough output channels for the GEMM path, a
    /// 3×3 kernel and column stride 1 (the first layer of an image CNN): the forward runs
    /// [`single_channel_forward`] instead, which shares each input load across the
    /// group's output channels and builds no column matrix.
    pub fn single_channel(&self) -> bool {
        self.cg() == 1 && !self.direct() && self.win.kh == 3 && self.win.kw == 3 && self.win.sw == 1
    }
    /// Rows and row length of the zero-padded input plane [`single_channel_forward`]
    /// reads: every tap of every output (rounded up to four columns) lands inside it.
    pub fn padded_plane(&self) -> (usize, usize) {
        let rows = self.win.oh.saturating_sub(1).saturating_mul(self.win.sh).saturating_add(2 * self.win.dh + 1);
        let width = self.win.ow.next_multiple_of(4).saturating_add(2 * self.win.dw);
        (rows, width)
    }
    /// Elements of the scratch buffer the kernels take (`cols`): one image's column
    /// matrix, or the padded plane of the single-channel forward if that is larger.
    pub fn scratch_len(&self) -> usize {
        let (rows, width) = self.padded_plane();
        let plane = if self.single_channel() { rows.saturating_mul(width) } else { 0 };
        let nb = self.image_block();
        let block = if nb > 1 { nb * (self.cols_len() + self.og() * self.ohw()) } else { self.cols_len() };
        block.max(plane)
    }
    /// Images whose column matrices the input gradient lays side by side (see
    /// `conv_block`): 1 when an image's output is wide enough for the GEMM on its own (or
    /// no column matrix is built), else as many as fit [`BLOCK_MAX_OHW`] columns and their
    /// column and gradient blocks in [`BLOCK_ELEMS`], capped by the batch.
    pub fn image_block(&self) -> usize {
        let per_image = self.cols_len() + self.og() * self.ohw();
        if self.cols_len() == 0 || self.ohw() >= BLOCK_MAX_OHW || self.n < 2 {
            return 1;
        }
        (BLOCK_ELEMS / per_image).min(BLOCK_MAX_OHW / self.ohw()).clamp(1, self.n)
    }
    /// A 1×1 kernel, stride 1, no padding: the image `[C, H·W]` is its own column matrix.
    pub fn pointwise(&self) -> bool {
        self.win.kh == 1 && self.win.kw == 1 && self.win.sh == 1 && self.win.sw == 1 && self.win.ph == 0 && self.win.pw == 0 && self.win.oh == self.win.h && self.win.ow == self.win.w
    }
}

/// Up to this many output channels per group, one-channel groups use the direct loops.
/// Measured (32×32×28×28, 3×3, simd128): depthwise forward 3.0 ms direct vs 9.9 ms as
/// GEMMs (whose 4-row micro-tile is 3/4 empty for one output channel); from 4 output
/// channels per group the GEMM is faster (C=1→O=8: 0.27 vs 0.63 ms).
pub const DIRECT_MAX_OG: usize = 3;

/// Elements of the column and gradient blocks of several images (512 KiB: they stay in
/// L2 while the GEMM packs them).
pub const BLOCK_ELEMS: usize = 1 << 17;
/// Columns of a block of images: the GEMM's column block (`NC` in `matmul`). Images with
/// at least this many output positions are GEMM'd one by one.
pub const BLOCK_MAX_OHW: usize = 512;

/// `dst = src` (equal lengths) four elements per step. Written out rather than
/// `copy_from_slice`: LLVM turns that (and a plain element loop) into `memory.copy`, an
/// out-of-line call in V8 that costs more than copying an image row of a few dozen floats.
#[inline(always)]
pub(super) fn copy_row(dst: &mut [f32], src: &[f32]) {
    let (mut d4, mut s4) = (dst.chunks_exact_mut(4), src.chunks_exact(4));
    for (d, s) in (&mut d4).zip(&mut s4) {
        d[0] = s[0];
        d[1] = s[1];
        d[2] = s[2];
        d[3] = s[3];
    }
    let (d, s) = (d4.into_remainder(), s4.remainder());
    let n = d.len().min(s.len());
    if n > 0 {
        d[0] = s[0];
    }
    if n > 1 {
        d[1] = s[1];
    }
    if n > 2 {
        d[2] = s[2];
    }
}

/// `dst.fill(0.0)` four elements per step (see [`copy_row`]: `fill` is a `memory.fill` call).
#[inline(always)]
fn zero_row(dst: &mut [f32]) {
    let mut d4 = dst.chunks_exact_mut(4);
    for d in &mut d4 {
        d[0] = 0.0;
        d[1] = 0.0;
        d[2] = 0.0;
        d[3] = 0.0;
    }
    let d = d4.into_remainder();
    if !d.is_empty() {
        d[0] = 0.0;
    }
    if d.len() > 1 {
        d[1] = 0.0;
    }
    if d.len() > 2 {
        d[2] = 0.0;
    }
}

/// One image `[C, H, W]` to its column matrix `[C·kH·kW, OH·OW]` (zeros where the
/// receptive field covers padding), row `r` starting at `cols[r·ld]` (`ld ≥ OH·OW`: a
/// block of images side by side, see `conv_block`).
pub fn im2col(x: &[f32], g: &ConvGeom, cols: &mut [f32], ld: usize) {
    let (hw, ohw) = (g.hw(), g.ohw());
    let whole_rows = g.win.sh == 1 && g.win.sw == 1 && g.win.ow == g.win.w;
    let mut r = 0;
    for c in 0..g.c {
        let plane = &x[c * hw..(c + 1) * hw];
        for i in 0..g.win.kh {
            let (oy0, oy1) = valid_range(g.win.oh, g.win.sh, i * g.win.dh, g.win.ph, g.win.h);
            for j in 0..g.win.kw {
                let dst = &mut cols[r * ld..][..ohw];
                r += 1;
                let (ox0, ox1) = valid_range(g.win.ow, g.win.sw, j * g.win.dw, g.win.pw, g.win.w);
                zero_row(&mut dst[..oy0 * g.win.ow]);
                zero_row(&mut dst[oy1 * g.win.ow..]);
                if whole_rows && oy0 < oy1 && ox0 < ox1 {
                    // With stride 1 and output rows as long as input rows, the tap's rows
                    // are one shifted run of the plane: copy it at once, then zero the
                    // columns that read padding (which the run filled from the next row).
                    let (first, last) = (oy0 * g.win.ow + ox0, (oy1 - 1) * g.win.ow + ox1);
                    let src0 = (oy0 + i * g.win.dh - g.win.ph) * g.win.w + ox0 + j * g.win.dw - g.win.pw;
                    copy_row(&mut dst[first..last], &plane[src0..src0 + (last - first)]);
                    zero_pad_columns(dst, g.win.ow, (oy0, oy1), (ox0, ox1));
                    continue;
                }
                for oy in oy0..oy1 {
                    let iy = oy * g.win.sh + i * g.win.dh - g.win.ph;
                    let d = &mut dst[oy * g.win.ow..(oy + 1) * g.win.ow];
                    zero_row(&mut d[..ox0]);
                    zero_row(&mut d[ox1..]);
                    if ox0 == ox1 {
                        continue;
                    }
                    let ix0 = ox0 * g.win.sw + j * g.win.dw - g.win.pw;
                    let src = &plane[iy * g.win.w..(iy + 1) * g.win.w];
                    if g.win.sw == 1 {
                        copy_row(&mut d[ox0..ox1], &src[ix0..ix0 + (ox1 - ox0)]);
                    } else {
                        for (k, v) in d[ox0..ox1].iter_mut().enumerate() {
                            *v = src[ix0 + k * g.win.sw];
                        }
                    }
                }
            }
        }
    }
}

/// Zeroes columns `..ox0` and `ox1..` of rows `oy0..oy1` of a tap's row of the column
/// matrix (rows of `ow`): the few entries next to padding, one store each (a slice per
/// row and a fill costs more than the stores for the one column of a 3×3 kernel's padding).
#[inline(always)]
fn zero_pad_columns(tap: &mut [f32], ow: usize, (oy0, oy1): (usize, usize), (ox0, ox1): (usize, usize)) {
    let rows = &mut tap[oy0 * ow..oy1 * ow];
    if ox0 <= 1 && ow - ox1 <= 1 {
        // A padding of one column at most on each side (3×3 kernels): one store per row.
        for row in rows.chunks_exact_mut(ow) {
            if ox0 == 1 {
                row[0] = 0.0;
            }
            if ox1 < ow {
                row[ow - 1] = 0.0;
            }
        }
        return;
    }
    for row in rows.chunks_exact_mut(ow) {
        for ox in (0..ox0).chain(ox1..ow) {
            row[ox] = 0.0;
        }
    }
}

/// The adjoint of [`im2col`]: adds each column-matrix entry into the input position it
/// was read from (`dx` is one image `[C, H, W]`, accumulated into).
/// The entries that read padding are discarded; with stride 1 and output rows as long as
/// input rows (see [`im2col`]) they are zeroed in `cols` first, so each tap's rows are
/// added as one run. That is exact: `dx` starts at +0 and never holds −0, and adding ±0 to
/// anything else leaves it unchanged. Row `r` of `cols` starts at `cols[r·ld]`.
pub fn col2im(cols: &mut [f32], g: &ConvGeom, dx: &mut [f32], ld: usize) {
    let (hw, ohw) = (g.hw(), g.ohw());
    let whole_rows = g.win.sh == 1 && g.win.sw == 1 && g.win.ow == g.win.w;
    let mut r = 0;
    for c in 0..g.c {
        let plane = &mut dx[c * hw..(c + 1) * hw];
        for i in 0..g.win.kh {
            let (oy0, oy1) = valid_range(g.win.oh, g.win.sh, i * g.win.dh, g.win.ph, g.win.h);
            for j in 0..g.win.kw {
                let src = &mut cols[r * ld..][..ohw];
                r += 1;
                let (ox0, ox1) = valid_range(g.win.ow, g.win.sw, j * g.win.dw, g.win.pw, g.win.w);
                if ox0 == ox1 {
                    continue;
                }
                if whole_rows && oy0 < oy1 {
                    zero_pad_columns(src, g.win.ow, (oy0, oy1), (ox0, ox1));
                    let (first, last) = (oy0 * g.win.ow + ox0, (oy1 - 1) * g.win.ow + ox1);
                    let dst0 = (oy0 + i * g.win.dh - g.win.ph) * g.win.w + ox0 + j * g.win.dw - g.win.pw;
                    add_scaled_row(plane, dst0, 1, &src[first..last], 1.0);
                    continue;
                }
                let ix0 = ox0 * g.win.sw + j * g.win.dw - g.win.pw;
                for oy in oy0..oy1 {
                    let iy = oy * g.win.sh + i * g.win.dh - g.win.ph;
                    let s = &src[oy * g.win.ow + ox0..oy * g.win.ow + ox1];
                    add_scaled_row(&mut plane[iy * g.win.w..(iy + 1) * g.win.w], ix0, g.win.sw, s, 1.0);
                }
            }
        }
    }
}

/// `row[ix0 + k·stride] += scale · src[k]`: one output row's contribution to an input row
/// (a contiguous, vectorised update for stride 1).
#[inline(always)]
fn add_scaled_row(row: &mut [f32], ix0: usize, stride: usize, src: &[f32], scale: f32) {
    if stride == 1 {
        for (dv, &sv) in row[ix0..ix0 + src.len()].iter_mut().zip(src) {
            *dv += scale * sv;
        }
    } else {
        for (k, &sv) in src.iter().enumerate() {
            row[ix0 + k * stride] += scale * sv;
        }
    }
}

/// Calls `f(tap, oy, iy, ox0, ox1, ix0)` for every kernel tap `tap = i·kW + j` and each
/// output row `oy` whose input row `iy` is in range; output columns `ox0..ox1` read input
/// columns `ix0, ix0 + sW, …` (the rest of the row reads padding).
#[inline(always)]
fn for_each_tap_row(g: &ConvGeom, mut f: impl FnMut(usize, usize, usize, usize, usize, usize)) {
    for i in 0..g.win.kh {
        let (oy0, oy1) = valid_range(g.win.oh, g.win.sh, i * g.win.dh, g.win.ph, g.win.h);
        for j in 0..g.win.kw {
            let (ox0, ox1) = valid_range(g.win.ow, g.win.sw, j * g.win.dw, g.win.pw, g.win.w);
            if ox0 == ox1 {
                continue;
            }
            let ix0 = ox0 * g.win.sw + j * g.win.dw - g.win.pw;
            for oy in oy0..oy1 {
                f(i * g.win.kw + j, oy, oy * g.win.sh + i * g.win.dh - g.win.ph, ox0, ox1, ix0);
            }
        }
    }
}

/// The direct forward for one-channel groups (`out` overwritten, bias not added).
fn direct_forward(x: &[f32], w: &[f32], g: &ConvGeom, out: &mut [f32]) {
    let (hw, ohw, taps) = (g.hw(), g.ohw(), g.win.kh * g.win.kw);
    for n in 0..g.n {
        for o in 0..g.o {
            let plane = &x[(n * g.c + o / g.og()) * hw..][..hw];
            let dst = &mut out[(n * g.o + o) * ohw..][..ohw];
            let wo = &w[o * taps..(o + 1) * taps];
            dst.fill(0.0);
            for_each_tap_row(g, |t, oy, iy, ox0, ox1, ix0| {
                let wv = wo[t];
                let d = &mut dst[oy * g.win.ow + ox0..oy * g.win.ow + ox1];
                let src = &plane[iy * g.win.w..(iy + 1) * g.win.w];
                if g.win.sw == 1 {
                    for (dv, &sv) in d.iter_mut().zip(&src[ix0..ix0 + (ox1 - ox0)]) {
                        *dv += wv * sv;
                    }
                } else {
                    for (k, dv) in d.iter_mut().enumerate() {
                        *dv += wv * src[ix0 + k * g.win.sw];
                    }
                }
            });
        }
    }
}

/// The direct input gradient for one-channel groups (`dx` overwritten).
fn direct_backward_input(gout: &[f32], w: &[f32], g: &ConvGeom, dx: &mut [f32]) {
    let (hw, ohw, taps) = (g.hw(), g.ohw(), g.win.kh * g.win.kw);
    dx.fill(0.0);
    for n in 0..g.n {
        for o in 0..g.o {
            let plane = &mut dx[(n * g.c + o / g.og()) * hw..][..hw];
            let src = &gout[(n * g.o + o) * ohw..][..ohw];
            let wo = &w[o * taps..(o + 1) * taps];
            for_each_tap_row(g, |t, oy, iy, ox0, ox1, ix0| {
                let s = &src[oy * g.win.ow + ox0..oy * g.win.ow + ox1];
                add_scaled_row(&mut plane[iy * g.win.w..(iy + 1) * g.win.w], ix0, g.win.sw, s, wo[t]);
            });
        }
    }
}

/// The direct weight gradient for one-channel groups (`dw` overwritten). Each tap's dot
/// product of gradient and input runs in four lanes (stride 1) plus a scalar tail, summed
/// in a fixed order, then added per image in image order.
fn direct_backward_weight(gout: &[f32], x: &[f32], g: &ConvGeom, dw: &mut [f32]) {
    let (hw, ohw, taps, win) = (g.hw(), g.ohw(), g.win.kh * g.win.kw, &g.win);
    dw.fill(0.0);
    for n in 0..g.n {
        for o in 0..g.o {
            let plane = &x[(n * g.c + o / g.og()) * hw..][..hw];
            let src = &gout[(n * g.o + o) * ohw..][..ohw];
            let wo = &mut dw[o * taps..(o + 1) * taps];
            for i in 0..win.kh {
                let (oy0, oy1) = valid_range(win.oh, win.sh, i * win.dh, win.ph, win.h);
                for j in 0..win.kw {
                    let (ox0, ox1) = valid_range(win.ow, win.sw, j * win.dw, win.pw, win.w);
                    if ox0 == ox1 || oy0 == oy1 {
                        continue;
                    }
                    let ix0 = ox0 * win.sw + j * win.dw - win.pw;
                    let (mut lanes, mut tail) = (v::zero(), 0.0f32);
                    for oy in oy0..oy1 {
                        let iy = oy * win.sh + i * win.dh - win.ph;
                        let s = &src[oy * win.ow + ox0..oy * win.ow + ox1];
                        let row = &plane[iy * win.w..(iy + 1) * win.w];
                        if win.sw == 1 {
                            let r = &row[ix0..ix0 + s.len()];
                            let (sc, rc) = (s.chunks_exact(4), r.chunks_exact(4));
                            for (&sv, &xv) in sc.remainder().iter().zip(rc.remainder()) {
                                tail += sv * xv;
                            }
                            for (s4, r4) in sc.zip(rc) {
                                lanes = v::mul_add(v::load(s4), v::load(r4), lanes);
                            }
                        } else {
                            for (k, &sv) in s.iter().enumerate() {
                                tail += sv * row[ix0 + k * win.sw];
                            }
                        }
                    }
                    let l = v::to_array(lanes);
                    wo[i * win.kw + j] += ((l[0] + l[1]) + (l[2] + l[3])) + tail;
                }
            }
        }
    }
}

/// A contiguous row-major matrix at `offset` in `data`.
pub(super) fn rows(data: &[f32], offset: usize, row_stride: usize) -> MatRef<'_> {
    MatRef { data, offset, row_stride, col_stride: 1 }
}

/// The column matrix of image `n`: `cols` after `im2col`, or the image itself.
fn image_cols<'a>(x: &'a [f32], g: &ConvGeom, n: usize, cols: &'a mut [f32]) -> (&'a [f32], usize) {
    let image = &x[n * g.c * g.hw()..(n + 1) * g.c * g.hw()];
    if g.pointwise() {
        (image, g.hw())
    } else {
        im2col(image, g, cols, g.ohw());
        (cols, g.ohw())
    }
}

/// Copies the input plane `src` into `buf` ([`ConvGeom::padded_plane`]), padding as zeros.
pub(super) fn pad_plane(src: &[f32], g: &ConvGeom, buf: &mut [f32]) {
    let (win, (_, width)) = (&g.win, g.padded_plane());
    for (r, dst) in buf.chunks_exact_mut(width).enumerate() {
        zero_row(dst);
        if let Some(iy) = r.checked_sub(win.ph).filter(|&iy| iy < win.h) {
            let (c0, c1) = (win.pw.min(width), (win.pw + win.w).min(width));
            copy_row(&mut dst[c0..c1], &src[iy * win.w..][..c1 - c0]);
        }
    }
}

/// The forward of a [`ConvGeom::single_channel`] convolution (`out` overwritten, bias not
/// added). Per input channel, the plane is copied once into `plane` with its padding as
/// zeros; then for each output row and four output columns the nine input vectors are
/// loaded once and reused by every output channel of the group. Each output sums all nine
/// taps in kernel order, padding zeros included, from +0 — the same sums as the GEMM path.
fn single_channel_forward(x: &[f32], w: &[f32], g: &ConvGeom, out: &mut [f32], plane: &mut [f32]) {
    let (hw, win, og) = (g.hw(), &g.win, g.og());
    let (rows, width) = g.padded_plane();
    let buf = &mut plane[..rows * width];
    for n in 0..g.n {
        for c in 0..g.c {
            pad_plane(&x[(n * g.c + c) * hw..][..hw], g, buf);
            let padded = &*buf;
            for oy in 0..win.oh {
                let row = |i: usize| &padded[(oy * win.sh + i * win.dh) * width..][..width];
                let (r0, r1, r2) = (row(0), row(1), row(2));
                for ox in (0..win.ow).step_by(4) {
                    let (d1, d2) = (ox + win.dw, ox + 2 * win.dw);
                    let xs = [
                        v::load(&r0[ox..]), v::load(&r0[d1..]), v::load(&r0[d2..]),
                        v::load(&r1[ox..]), v::load(&r1[d1..]), v::load(&r1[d2..]),
                        v::load(&r2[ox..]), v::load(&r2[d1..]), v::load(&r2[d2..]),
                    ];
                    let lanes = 4.min(win.ow - ox);
                    for o in c * og..(c + 1) * og {
                        let wo = &w[o * 9..][..9];
                        let mut acc = v::zero();
                        for (&wt, &xt) in wo.iter().zip(&xs) {
                            acc = v::mul_add(v::splat(wt), xt, acc);
                        }
                        let dst = &mut out[((n * g.o + o) * win.oh + oy) * win.ow + ox..][..lanes];
                        if lanes == 4 {
                            dst.copy_from_slice(&v::to_array(acc));
                        } else {
                            for (d, a) in dst.iter_mut().zip(v::to_array(acc)) {
                                *d = a;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `out[N, O, OH, OW] = conv(x[N, C, H, W], w[O, C/groups, kH, kW]) + bias`.
/// `cols` holds [`ConvGeom::scratch_len`] elements.
#[inline(never)]
pub fn conv2d_forward(x: &[f32], w: &[f32], bias: Option<&[f32]>, g: &ConvGeom, out: &mut [f32], cols: &mut [f32], scratch: &mut GemmScratch) {
    let (og, kg, ohw) = (g.og(), g.kg(), g.ohw());
    if g.direct() {
        direct_forward(x, w, g, out);
    } else if g.single_channel() {
        single_channel_forward(x, w, g, out, cols);
    } else {
        for n in 0..g.n {
            let (cm, ld) = image_cols(x, g, n, cols);
            for grp in 0..g.groups {
                let start = (n * g.o + grp * og) * ohw;
                let a = rows(w, grp * og * kg, kg);
                let b = rows(cm, grp * kg * ld, ld);
                gemm(og, ohw, kg, a, b, &mut out[start..start + og * ohw], scratch);
            }
            if let Some(bias) = bias {
                // While the image's output is in cache, not in a pass over the batch's.
                add_channel_bias(&mut out[n * g.o * ohw..][..g.o * ohw], bias, ohw);
            }
        }
        return;
    }
    if let Some(bias) = bias {
        add_channel_bias(out, bias, ohw);
    }
}

/// Adds `bias[c]` to every element of each channel's plane of `plane` elements in
/// `out [N, C, plane]` (`C` = `bias.len()`).
pub fn add_channel_bias(out: &mut [f32], bias: &[f32], plane: usize) {
    for image in out.chunks_exact_mut((bias.len() * plane).max(1)) {
        for (p, &b) in image.chunks_exact_mut(plane.max(1)).zip(bias) {
            p.iter_mut().for_each(|v| *v += b);
        }
    }
}

/// `dx = col2im(W_gᵀ · G_g)` per image and group; `dx` is overwritten.
#[inline(never)]
pub fn conv2d_backward_input(gout: &[f32], w: &[f32], g: &ConvGeom, dx: &mut [f32], cols: &mut [f32], scratch: &mut GemmScratch) {
    let (og, kg, ohw, chw) = (g.og(), g.kg(), g.ohw(), g.c * g.hw());
    if g.direct() {
        return direct_backward_input(gout, w, g, dx);
    }
    if g.image_block() > 1 {
        return conv_block::backward_input(gout, w, g, dx, cols, scratch);
    }
    dx.fill(0.0);
    for n in 0..g.n {
        let image = &mut dx[n * chw..(n + 1) * chw];
        for grp in 0..g.groups {
            // W_gᵀ: element (r, c) of the [kg, og] transpose is w[grp·og·kg + c·kg + r].
            let a = MatRef { data: w, offset: grp * og * kg, row_stride: 1, col_stride: kg };
            let b = rows(gout, (n * g.o + grp * og) * ohw, ohw);
            if g.pointwise() {
                let cg_hw = g.cg() * g.hw();
                gemm(kg, ohw, og, a, b, &mut image[grp * cg_hw..(grp + 1) * cg_hw], scratch);
            } else {
                gemm(kg, ohw, og, a, b, &mut cols[grp * kg * ohw..(grp + 1) * kg * ohw], scratch);
            }
        }
        if !g.pointwise() {
            col2im(cols, g, image, ohw);
        }
    }
}

/// `dw = Σ_n G_g · cols_gᵀ`, one GEMM whose K runs over the whole batch (`N·OH·OW`):
/// each image's product is added into `dw` in image order, so every element's sum has a
/// fixed order. `dw` is overwritten.
#[inline(never)]
pub fn conv2d_backward_weight(gout: &[f32], x: &[f32], g: &ConvGeom, dw: &mut [f32], cols: &mut [f32], scratch: &mut GemmScratch) {
    let (og, kg, ohw) = (g.og(), g.kg(), g.ohw());
    if g.direct() {
        return direct_backward_weight(gout, x, g, dw);
    }
    if g.single_channel() {
        return conv_single::backward_weight(gout, x, g, dw, cols);
    }
    dw.fill(0.0);
    for n in 0..g.n {
        let (cm, ld) = image_cols(x, g, n, cols);
        for grp in 0..g.groups {
            let a = rows(gout, (n * g.o + grp * og) * ohw, ohw);
            // cols_gᵀ: element (p, r) is cols[(grp·kg + r)·ld + p].
            let b = MatRef { data: cm, offset: grp * kg * ld, row_stride: 1, col_stride: ld };
            gemm_acc(og, kg, ohw, a, b, &mut dw[grp * og * kg..(grp + 1) * og * kg], scratch);
        }
    }
}

/// Reproducible values in [-1, 1) for convolution tests (a linear congruential sequence).
#[cfg(test)]
pub(crate) fn test_values(len: usize, seed: u32) -> Vec<f32> {
    let mut s = seed;
    (0..len)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct nested-loop convolution in f64.
    fn naive(x: &[f32], w: &[f32], g: &ConvGeom) -> Vec<f64> {
        let mut out = vec![0.0; g.n * g.o * g.ohw()];
        for n in 0..g.n {
            for o in 0..g.o {
                let grp = o / g.og();
                for oy in 0..g.win.oh {
                    for ox in 0..g.win.ow {
                        let mut acc = 0.0f64;
                        for c in 0..g.cg() {
                            let ci = grp * g.cg() + c;
                            for i in 0..g.win.kh {
                                for j in 0..g.win.kw {
                                    let iy = (oy * g.win.sh + i * g.win.dh) as i64 - g.win.ph as i64;
                                    let ix = (ox * g.win.sw + j * g.win.dw) as i64 - g.win.pw as i64;
                                    if iy < 0 || ix < 0 || iy >= g.win.h as i64 || ix >= g.win.w as i64 {
                                        continue;
                                    }
                                    let xv = x[((n * g.c + ci) * g.win.h + iy as usize) * g.win.w + ix as usize] as f64;
                                    let wv = w[((o * g.cg() + c) * g.win.kh + i) * g.win.kw + j] as f64;
                                    acc += xv * wv;
                                }
                            }
                        }
                        out[((n * g.o + o) * g.win.oh + oy) * g.win.ow + ox] = acc;
                    }
                }
            }
        }
        out
    }


    fn geom(n: usize, c: usize, hw: (usize, usize), o: usize, k: (usize, usize), s: (usize, usize), p: (usize, usize), d: (usize, usize), groups: usize) -> ConvGeom {
        let out = |size: usize, k: usize, s: usize, p: usize, d: usize| (size + 2 * p - d * (k - 1) - 1) / s + 1;
        let win = Window::new(
            [hw.0, hw.1],
            [out(hw.0, k.0, s.0, p.0, d.0), out(hw.1, k.1, s.1, p.1, d.1)],
            [k.0, k.1],
            [s.0, s.1],
            [p.0, p.1],
            [d.0, d.1],
        );
        ConvGeom { n, c, o, groups, win }
    }

    #[test]
    fn forward_matches_direct_convolution() {
        let cases = [
            geom(2, 3, (7, 6), 4, (3, 3), (1, 1), (1, 1), (1, 1), 1),
            geom(1, 4, (9, 8), 6, (3, 2), (2, 3), (2, 0), (2, 1), 2),
            geom(2, 4, (5, 5), 4, (3, 3), (1, 1), (1, 1), (1, 1), 4),
            geom(2, 5, (4, 3), 7, (1, 1), (1, 1), (0, 0), (1, 1), 1),
            geom(1, 2, (20, 20), 40, (5, 5), (1, 1), (2, 2), (1, 1), 1),
        ];
        for g in cases {
            let x = test_values(g.n * g.c * g.hw(), 1);
            let w = test_values(g.o * g.kg(), 2);
            let mut out = vec![0.0; g.n * g.o * g.ohw()];
            let mut cols = vec![0.0; g.scratch_len()];
            conv2d_forward(&x, &w, None, &g, &mut out, &mut cols, &mut GemmScratch::default());
            for (a, e) in out.iter().zip(naive(&x, &w, &g)) {
                assert!((*a as f64 - e).abs() < 1e-4, "{g:?}: {a} vs {e}");
            }
        }
    }

    /// `(dx, dw)` of `⟨conv(x, w), gout⟩` in f64, by the same nested loops as [`naive`].
    fn naive_grads(x: &[f32], w: &[f32], gout: &[f32], g: &ConvGeom) -> (Vec<f64>, Vec<f64>) {
        let (mut dx, mut dw) = (vec![0.0; x.len()], vec![0.0; w.len()]);
        for n in 0..g.n {
            for o in 0..g.o {
                let grp = o / g.og();
                for oy in 0..g.win.oh {
                    for ox in 0..g.win.ow {
                        let gv = gout[((n * g.o + o) * g.win.oh + oy) * g.win.ow + ox] as f64;
                        for c in 0..g.cg() {
                            for i in 0..g.win.kh {
                                for j in 0..g.win.kw {
                                    let iy = (oy * g.win.sh + i * g.win.dh) as i64 - g.win.ph as i64;
                                    let ix = (ox * g.win.sw + j * g.win.dw) as i64 - g.win.pw as i64;
                                    if iy < 0 || ix < 0 || iy >= g.win.h as i64 || ix >= g.win.w as i64 {
                                        continue;
                                    }
                                    let xi = ((n * g.c + grp * g.cg() + c) * g.win.h + iy as usize) * g.win.w + ix as usize;
                                    let wi = ((o * g.cg() + c) * g.win.kh + i) * g.win.kw + j;
                                    dx[xi] += gv * w[wi] as f64;
                                    dw[wi] += gv * x[xi] as f64;
                                }
                            }
                        }
                    }
                }
            }
        }
        (dx, dw)
    }

    /// Geometries for both the GEMM and the direct (one channel per group) paths: odd
    /// sizes, rows wider than a vector, stride, padding, dilation, groups, batch 0, 1, 3.
    fn path_cases() -> Vec<ConvGeom> {
        vec![
            geom(3, 1, (11, 13), 16, (3, 3), (1, 1), (1, 1), (1, 1), 1),
            geom(1, 5, (9, 14), 7, (3, 3), (1, 1), (1, 1), (1, 1), 1),
            geom(3, 6, (13, 15), 6, (3, 3), (1, 1), (1, 1), (1, 1), 6),
            geom(2, 3, (9, 13), 6, (3, 2), (1, 1), (2, 1), (2, 2), 3),
            geom(1, 4, (10, 17), 4, (3, 3), (2, 2), (1, 1), (1, 1), 4),
            geom(3, 2, (6, 19), 4, (1, 5), (1, 1), (0, 2), (1, 1), 2),
            geom(0, 2, (5, 7), 2, (3, 3), (1, 1), (1, 1), (1, 1), 2),
            geom(2, 16, (14, 14), 32, (3, 3), (1, 1), (1, 1), (1, 1), 1),
            geom(2, 1, (28, 28), 16, (3, 3), (1, 1), (1, 1), (1, 1), 1),
            geom(1, 1, (7, 9), 5, (3, 3), (2, 1), (0, 2), (1, 2), 1),
            geom(2, 2, (8, 6), 8, (3, 3), (1, 1), (2, 1), (2, 1), 2),
            geom(1, 1, (1, 1), 4, (3, 3), (1, 1), (1, 1), (1, 1), 1),
            geom(1, 1, (3, 3), 4, (3, 3), (1, 1), (0, 0), (1, 1), 1),
        ]
    }

    #[test]
    fn all_three_maps_match_direct_loops_on_both_paths() {
        for g in path_cases() {
            let x = test_values(g.n * g.c * g.hw(), 1);
            let w = test_values(g.o * g.kg(), 2);
            let gout = test_values(g.n * g.o * g.ohw(), 5);
            let mut cols = vec![0.0; g.scratch_len()];
            let mut scratch = GemmScratch::default();
            let mut out = vec![f32::NAN; g.n * g.o * g.ohw()];
            conv2d_forward(&x, &w, None, &g, &mut out, &mut cols, &mut scratch);
            for (a, e) in out.iter().zip(naive(&x, &w, &g)) {
                assert!((*a as f64 - e).abs() < 1e-4, "forward {g:?}: {a} vs {e}");
            }
            let (dx_ref, dw_ref) = naive_grads(&x, &w, &gout, &g);
            let mut dx = vec![f32::NAN; x.len()];
            conv2d_backward_input(&gout, &w, &g, &mut dx, &mut cols, &mut scratch);
            for (a, e) in dx.iter().zip(dx_ref) {
                assert!((*a as f64 - e).abs() < 1e-4, "input gradient {g:?}: {a} vs {e}");
            }
            let mut dw = vec![f32::NAN; w.len()];
            conv2d_backward_weight(&gout, &x, &g, &mut dw, &mut cols, &mut scratch);
            for (a, e) in dw.iter().zip(dw_ref) {
                assert!((*a as f64 - e).abs() < 1e-3 * (1.0 + e.abs()), "weight gradient {g:?}: {a} vs {e}");
            }
        }
    }

    /// The bias, added image by image on the GEMM path, gives the bits of adding it in a
    /// pass of its own after the convolution (as the other paths do).
    #[test]
    fn bias_as_stored_equals_bias_added_after() {
        for g in path_cases() {
            let x = test_values(g.n * g.c * g.hw(), 1);
            let w = test_values(g.o * g.kg(), 2);
            let mut bias = test_values(g.o, 9);
            if let Some(b) = bias.first_mut() {
                *b = f32::NAN;
            }
            let (mut cols, mut scratch) = (vec![0.0; g.scratch_len()], GemmScratch::default());
            let mut fused = vec![f32::NAN; g.n * g.o * g.ohw()];
            conv2d_forward(&x, &w, Some(&bias), &g, &mut fused, &mut cols, &mut scratch);
            let mut after = vec![f32::NAN; fused.len()];
            conv2d_forward(&x, &w, None, &g, &mut after, &mut cols, &mut scratch);
            add_channel_bias(&mut after, &bias, g.ohw());
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&fused), bits(&after), "{g:?}");
        }
    }

    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        // <im2col(x), c> == <x, col2im(c)> for any x and c: strided, and (stride 1, output
        // rows as long as input rows) the whole-run copies and adds.
        for g in [
            geom(1, 3, (7, 5), 1, (3, 2), (2, 1), (1, 1), (2, 2), 1),
            geom(1, 3, (7, 5), 1, (3, 3), (1, 1), (1, 1), (1, 1), 1),
            geom(1, 2, (6, 7), 1, (3, 3), (1, 1), (2, 2), (2, 2), 1),
        ] {
            let x = test_values(g.c * g.hw(), 3);
            let c = test_values(g.cols_len(), 4);
            let mut cols = vec![0.0; g.cols_len()];
            im2col(&x, &g, &mut cols, g.ohw());
            let mut back = vec![0.0; x.len()];
            col2im(&mut c.clone(), &g, &mut back, g.ohw());
            let lhs: f64 = cols.iter().zip(&c).map(|(a, b)| (*a as f64) * (*b as f64)).sum();
            let rhs: f64 = x.iter().zip(&back).map(|(a, b)| (*a as f64) * (*b as f64)).sum();
            assert!((lhs - rhs).abs() < 1e-4, "{g:?}: {lhs} vs {rhs}");
        }
    }

}

//! The weight gradient of a [`ConvGeom::single_channel`] convolution (one input channel
//! per group, a 3×3 kernel, column stride 1: the first layer of an image CNN).
//!
//! As a GEMM it is `G · colsᵀ` with only nine columns (padded to a 16-wide micro-tile)
//! and a scalar-packed ninth one. Here each output channel's nine tap sums run in nine
//! f32x4 accumulators over its gradient plane, four output columns per step, reading the
//! input from the zero-padded plane [`pad_plane`] builds (as the forward does), so each
//! gradient vector is loaded once for all nine taps.
//!
//! Every tap's sum over one image is fixed by the geometry: its four lanes accumulate in
//! row-major output order (a last partial group of columns is zero-filled on both
//! operands, so it adds exact zeros), then `(l0 + l1) + (l2 + l3)`; the images' sums are
//! added into `dw` in image order. Padding contributes `g · 0`, as in the column matrix.

use super::conv::{pad_plane, ConvGeom};
use super::vector::{self as v, V};

/// `dw = Σ_n G_n ⋆ x_n` for a [`ConvGeom::single_channel`] geometry (`dw` overwritten);
/// `plane` holds [`ConvGeom::padded_plane`] elements.
pub fn backward_weight(gout: &[f32], x: &[f32], g: &ConvGeom, dw: &mut [f32], plane: &mut [f32]) {
    let (hw, ohw, win, og) = (g.hw(), g.ohw(), &g.win, g.og());
    let (rows, width) = g.padded_plane();
    let buf = &mut plane[..rows * width];
    dw.fill(0.0);
    for n in 0..g.n {
        for c in 0..g.c {
            pad_plane(&x[(n * g.c + c) * hw..][..hw], g, buf);
            let padded = &*buf;
            for o in c * og..(c + 1) * og {
                let grad = &gout[(n * g.o + o) * ohw..][..ohw];
                let mut acc = [v::zero(); 9];
                for oy in 0..win.oh {
                    let row = |i: usize| &padded[(oy * win.sh + i * win.dh) * width..][..width];
                    let (r0, r1, r2) = (row(0), row(1), row(2));
                    let grow = &grad[oy * win.ow..][..win.ow];
                    let mut ox = 0;
                    while ox + 4 <= win.ow {
                        let gv = v::load(&grow[ox..]);
                        accumulate(&mut acc, gv, [r0, r1, r2], ox, win.dw, v::load);
                        ox += 4;
                    }
                    if ox < win.ow {
                        // The last columns: both operands zero-filled past the row's end.
                        let lanes = win.ow - ox;
                        let masked = |s: &[f32]| {
                            let mut a = [0.0f32; 4];
                            a[..lanes].copy_from_slice(&s[..lanes]);
                            v::load(&a)
                        };
                        let gv = masked(&grow[ox..]);
                        accumulate(&mut acc, gv, [r0, r1, r2], ox, win.dw, masked);
                    }
                }
                for (d, a) in dw[o * 9..][..9].iter_mut().zip(acc) {
                    let l = v::to_array(a);
                    *d += (l[0] + l[1]) + (l[2] + l[3]);
                }
            }
        }
    }
}

/// `acc[3i + j] += gv · x_i[ox + j·dw ..]` for the nine taps.
#[inline(always)]
fn accumulate(acc: &mut [V; 9], gv: V, rows: [&[f32]; 3], ox: usize, dw: usize, load: impl Fn(&[f32]) -> V) {
    for (i, r) in rows.iter().enumerate() {
        for j in 0..3 {
            acc[3 * i + j] = v::mul_add(gv, load(&r[ox + j * dw..]), acc[3 * i + j]);
        }
    }
}

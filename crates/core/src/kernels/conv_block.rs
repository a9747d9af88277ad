//! The input gradient of convolutions of small images as wide GEMMs over a block of images.
//!
//! For one image of a small feature map (14×14 → 196 output positions) the input
//! gradient's GEMM `W_gᵀ · G_g` is narrow: the weights are packed again for every image
//! and the right-edge micro-tiles are partial. So [`backward_input`] gathers the
//! gradient planes of [`ConvGeom::image_block`] images side by side into `[O_g, B·OH·OW]`
//! (image `b`'s columns at `b·OH·OW`), makes one GEMM per group into the column block
//! `[C_g·kH·kW, B·OH·OW]`, and `col2im` adds each image's columns into its `dx`.
//! Blocks stay within the GEMM's column block (`BLOCK_MAX_OHW` columns: two 14×14 images):
//! measured on the 16→32 channel 14×14 layer, two images per block beat three, and
//! blocking the forward the same way was slower than one image per GEMM (the copy out
//! of the staging block costs more than the wider product saves), so the forward
//! stays per image.
//!
//! Batching images only widens N: each element's sum runs over the same K (`O_g`) in the
//! same order as for one image alone, and [`gemm_packed`] never takes a size-dependent
//! shortcut, so the results do not depend on the block size or on where an image falls
//! in its block. (The weight gradient stays one GEMM per image added in image order, see
//! `conv2d_backward_weight`: its K runs over the images, and blocking it would tie the
//! sums' order to the block size.)
//!
//! `buf` holds [`ConvGeom::scratch_len`] elements: the column block, then the gradient block.

use super::conv::{col2im, copy_row, rows, ConvGeom};
use super::matmul::{gemm_packed, GemmScratch, MatRef};

/// The input gradient over blocks of images (`dx` overwritten).
pub fn backward_input(gout: &[f32], w: &[f32], g: &ConvGeom, dx: &mut [f32], buf: &mut [f32], scratch: &mut GemmScratch) {
    let (og, kg, ohw, chw, nb) = (g.og(), g.kg(), g.ohw(), g.c * g.hw(), g.image_block());
    let (cols, stage) = buf.split_at_mut(nb * g.cols_len());
    dx.fill(0.0);
    for n0 in (0..g.n).step_by(nb) {
        let images = nb.min(g.n - n0);
        let ld = images * ohw;
        for grp in 0..g.groups {
            let block = &mut stage[..og * ld];
            for b in 0..images {
                for o in 0..og {
                    let src = &gout[((n0 + b) * g.o + grp * og + o) * ohw..][..ohw];
                    copy_row(&mut block[o * ld + b * ohw..][..ohw], src);
                }
            }
            // W_gᵀ: element (r, c) of the [kg, og] transpose is w[grp·og·kg + c·kg + r].
            let a = MatRef { data: w, offset: grp * og * kg, row_stride: 1, col_stride: kg };
            gemm_packed(kg, ld, og, a, rows(block, 0, ld), &mut cols[grp * kg * ld..(grp + 1) * kg * ld], scratch);
        }
        for b in 0..images {
            col2im(&mut cols[b * ohw..], g, &mut dx[(n0 + b) * chw..][..chw], ld);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::conv::{conv2d_backward_input, conv2d_forward, test_values};
    use super::super::window::Window;
    use super::*;

    fn geom(n: usize, c: usize, hw: (usize, usize), o: usize, k: usize, s: (usize, usize), p: (usize, usize), d: (usize, usize), groups: usize) -> ConvGeom {
        let out = |size: usize, s: usize, p: usize, d: usize| (size + 2 * p - d * (k - 1) - 1) / s + 1;
        let win = Window::new([hw.0, hw.1], [out(hw.0, s.0, p.0, d.0), out(hw.1, s.1, p.1, d.1)], [k, k], [s.0, s.1], [p.0, p.1], [d.0, d.1]);
        ConvGeom { n, c, o, groups, win }
    }

    /// Each image of a blocked batch — first, middle, in the short last block — gets the
    /// very bits it gets alone (one image per GEMM); the forward (per image) too.
    #[test]
    fn blocks_give_each_image_the_bits_it_gets_alone() {
        let cases = [
            (geom(9, 16, (14, 14), 32, 3, (1, 1), (1, 1), (1, 1), 1), 2),
            (geom(5, 64, (10, 10), 64, 3, (1, 1), (1, 1), (1, 1), 1), 2),
            (geom(13, 24, (21, 17), 8, 3, (2, 2), (1, 2), (2, 1), 2), 5),
            (geom(3, 6, (5, 9), 10, 3, (1, 2), (0, 1), (1, 1), 2), 3),
        ];
        for (g, block) in cases {
            assert_eq!(g.image_block(), block, "{g:?}");
            let x = test_values(g.n * g.c * g.hw(), 1);
            let w = test_values(g.o * g.kg(), 2);
            let gout = test_values(g.n * g.o * g.ohw(), 5);
            let mut scratch = GemmScratch::default();
            let mut buf = vec![f32::NAN; g.scratch_len()];
            let mut out = vec![f32::NAN; gout.len()];
            conv2d_forward(&x, &w, None, &g, &mut out, &mut buf, &mut scratch);
            let mut dx = vec![f32::NAN; x.len()];
            conv2d_backward_input(&gout, &w, &g, &mut dx, &mut buf, &mut scratch);
            let one = ConvGeom { n: 1, ..g };
            assert_eq!(one.image_block(), 1);
            let (chw, ohw) = (g.c * g.hw(), g.o * g.ohw());
            let mut buf = vec![f32::NAN; one.scratch_len()];
            for n in 0..g.n {
                let mut alone = vec![f32::NAN; ohw];
                conv2d_forward(&x[n * chw..][..chw], &w, None, &one, &mut alone, &mut buf, &mut scratch);
                let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&out[n * ohw..][..ohw]), bits(&alone), "forward {g:?} image {n}");
                let mut alone = vec![f32::NAN; chw];
                conv2d_backward_input(&gout[n * ohw..][..ohw], &w, &one, &mut alone, &mut buf, &mut scratch);
                assert_eq!(bits(&dx[n * chw..][..chw]), bits(&alone), "input gradient {g:?} image {n}");
            }
        }
    }
}

//! Matrix multiplication on strided operands.
//!
//! Large products use the BLIS scheme: B is packed into KC×NR column panels, A into
//! MR×KC row panels, and a 4×8 register-tiled micro-kernel accumulates one C tile in
//! eight f32x4 registers (15 are usable under V8 on x64, so this leaves room for the
//! operands without spills). Packing reads the operands through their strides, so a
//! transposed operand (`x.t()`, the backward pass's `Gᵀ`) costs nothing extra: it is
//! never materialised. Small products skip packing.

use super::vector::{self as v, V};

/// A matrix inside a slice: element (r, c) lives at `offset + r * row_stride + c * col_stride`.
#[derive(Clone, Copy)]
pub struct MatRef<'a> {
    pub data: &'a [f32],
    pub offset: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl MatRef<'_> {
    #[inline(always)]
    fn at(&self, r: usize, c: usize) -> f32 {
        self.data[self.offset + r * self.row_stride + c * self.col_stride]
    }
}

/// Rows of the micro-tile.
const MR: usize = 4;
/// Columns of the micro-tile (two f32x4 vectors).
const NR: usize = 8;
/// Depth of a packed block: an MR×KC panel of A and a KC×NR panel of B stay in L1.
const KC: usize = 256;
/// Rows of A packed at once (an MC×KC block stays in L2).
const MC: usize = 128;
/// Columns of B packed at once (a KC×NC block stays in L2).
const NC: usize = 512;
/// Below this many multiply-adds the packing overhead outweighs its benefit.
const DIRECT_MAX_WORK: usize = 16 * 16 * 16;

/// Reusable packing buffers, so batched products allocate once.
#[derive(Default)]
pub struct GemmScratch {
    packed_a: Vec<f32>,
    packed_b: Vec<f32>,
}

impl GemmScratch {
    /// Makes room (fallibly) for the packing buffers of products with up to `m` rows and
    /// `n` columns, so that [`gemm`] never allocates: call it before the kernels run.
    pub fn prepare(&mut self, op: &str, m: usize, n: usize) -> crate::error::Result<()> {
        let a = MC.min(m.next_multiple_of(MR)) * KC;
        let b = KC * NC.min(n.next_multiple_of(NR));
        for (buf, len) in [(&mut self.packed_a, a), (&mut self.packed_b, b)] {
            if buf.capacity() < len {
                let more = len - buf.len();
                crate::memory::fallible(|| buf.try_reserve_exact(more)).map_err(|_| {
                    crate::memory::oom_error(op, "matrix packing buffers", (len * std::mem::size_of::<f32>()) as u64)
                })?;
            }
        }
        Ok(())
    }
}

/// `c = a · b` with `a` m×k, `b` k×n and `c` a contiguous m×n slice (overwritten).
/// The packing buffers must have been [`GemmScratch::prepare`]d for m and n.
pub fn gemm(m: usize, n: usize, k: usize, a: MatRef, b: MatRef, c: &mut [f32], scratch: &mut GemmScratch) {
    gemm_into(m, n, k, a, b, c, false, scratch);
}

/// `c += a · b`: like [`gemm`], but adds the product into `c`. Each element of `c` gets
/// the product's KC-blocks added in order, so a caller splitting a long K into several
/// calls (one per image, say) gets the same sums as one call over those blocks.
pub fn gemm_acc(m: usize, n: usize, k: usize, a: MatRef, b: MatRef, c: &mut [f32], scratch: &mut GemmScratch) {
    gemm_into(m, n, k, a, b, c, true, scratch);
}

/// `c = a · b` like [`gemm`], but always through the packed micro-kernel, whatever the
/// size: each element's sum then depends only on `k` (KC-blocks in order, each summed in
/// `p` order), never on `m` or `n`. The convolutions, which batch a varying number of
/// images along `n`, rely on that.
pub fn gemm_packed(m: usize, n: usize, k: usize, a: MatRef, b: MatRef, c: &mut [f32], scratch: &mut GemmScratch) {
    if m == 0 || n == 0 || k == 0 {
        c[..m * n].fill(0.0);
        return;
    }
    gemm_packed_into(m, n, k, a, b, c, false, scratch);
}

fn gemm_into(m: usize, n: usize, k: usize, a: MatRef, b: MatRef, c: &mut [f32], accumulate: bool, scratch: &mut GemmScratch) {
    if m == 0 || n == 0 || k == 0 {
        if !accumulate {
            c[..m * n].fill(0.0);
        }
        return;
    }
    if m * n * k <= DIRECT_MAX_WORK && b.col_stride == 1 {
        if !accumulate {
            c[..m * n].fill(0.0);
        }
        return gemm_direct(m, n, k, a, b, c);
    }
    gemm_packed_into(m, n, k, a, b, c, accumulate, scratch);
}

fn gemm_packed_into(m: usize, n: usize, k: usize, a: MatRef, b: MatRef, c: &mut [f32], accumulate: bool, scratch: &mut GemmScratch) {
    let GemmScratch { packed_a, packed_b } = scratch;
    packed_a.resize(MC.min(m.next_multiple_of(MR)) * KC, 0.0);
    packed_b.resize(KC * NC.min(n.next_multiple_of(NR)), 0.0);
    for j0 in (0..n).step_by(NC) {
        let nc = NC.min(n - j0);
        for p0 in (0..k).step_by(KC) {
            let kc = KC.min(k - p0);
            // The first K-block of an overwriting product stores its tiles: no zero fill,
            // no read of C. (A tile never holds −0: its sums start at +0.)
            let store = !accumulate && p0 == 0;
            pack_b(b, p0, kc, j0, nc, packed_b);
            for i0 in (0..m).step_by(MC) {
                let mc = MC.min(m - i0);
                pack_a(a, i0, mc, p0, kc, packed_a);
                for jr in (0..nc).step_by(NR) {
                    let pb = &packed_b[jr * kc..(jr + NR) * kc];
                    for ir in (0..mc).step_by(MR) {
                        let pa = &packed_a[ir * kc..(ir + MR) * kc];
                        let tile = micro_kernel(pa, pb);
                        let (rows, cols) = (MR.min(mc - ir), NR.min(nc - jr));
                        write_tile(&tile, c, (i0 + ir) * n + j0 + jr, n, rows, cols, store);
                    }
                }
            }
        }
    }
}

/// A[i0.., p0..] as MR-row panels, each stored k-major (`[p][r]`), zero-padded to MR rows.
/// Full panels of a row-major A (the weights, `G`) read four row slices; full panels of
/// a column-major A (`Wᵀ`, `xᵀ`) copy four contiguous values per step.
fn pack_a(a: MatRef, i0: usize, mc: usize, p0: usize, kc: usize, out: &mut [f32]) {
    for ir in (0..mc).step_by(MR) {
        let panel = &mut out[ir * kc..(ir + MR) * kc];
        let rows = MR.min(mc - ir);
        let first = a.offset + (i0 + ir) * a.row_stride + p0 * a.col_stride;
        if rows == MR && a.col_stride == 1 {
            let row = |r: usize| &a.data[first + r * a.row_stride..][..kc];
            let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3));
            for (p, dst) in panel.chunks_exact_mut(MR).enumerate() {
                dst.copy_from_slice(&[r0[p], r1[p], r2[p], r3[p]]);
            }
        } else if rows == MR && a.row_stride == 1 {
            for (p, dst) in panel.chunks_exact_mut(MR).enumerate() {
                let start = first + p * a.col_stride;
                dst.copy_from_slice(&a.data[start..start + MR]);
            }
        } else {
            for (p, dst) in panel.chunks_exact_mut(MR).enumerate() {
                for (r, d) in dst.iter_mut().enumerate() {
                    *d = if r < rows { a.at(i0 + ir + r, p0 + p) } else { 0.0 };
                }
            }
        }
    }
}

/// B[p0.., j0..] as NR-column panels, each stored k-major (`[p][c]`), zero-padded to NR.
/// Full panels of a column-major B (`colsᵀ` in the weight gradient) read eight column
/// slices.
fn pack_b(b: MatRef, p0: usize, kc: usize, j0: usize, nc: usize, out: &mut [f32]) {
    for jr in (0..nc).step_by(NR) {
        let panel = &mut out[jr * kc..(jr + NR) * kc];
        let cols = NR.min(nc - jr);
        if cols == NR && b.row_stride == 1 && b.col_stride != 1 {
            let first = b.offset + p0 + (j0 + jr) * b.col_stride;
            let col = |c: usize| &b.data[first + c * b.col_stride..][..kc];
            let cs: [&[f32]; NR] = std::array::from_fn(col);
            for (p, dst) in panel.chunks_exact_mut(NR).enumerate() {
                dst.copy_from_slice(&[cs[0][p], cs[1][p], cs[2][p], cs[3][p], cs[4][p], cs[5][p], cs[6][p], cs[7][p]]);
            }
            continue;
        }
        for (p, dst) in panel.chunks_exact_mut(NR).enumerate() {
            if cols == NR && b.col_stride == 1 {
                let start = b.offset + (p0 + p) * b.row_stride + j0 + jr;
                dst.copy_from_slice(&b.data[start..start + NR]);
            } else {
                for (c, d) in dst.iter_mut().enumerate() {
                    *d = if c < cols { b.at(p0 + p, j0 + jr + c) } else { 0.0 };
                }
            }
        }
    }
}

/// One MR×NR tile of `packed A panel · packed B panel`, accumulated in registers.
#[inline(always)]
fn micro_kernel(pa: &[f32], pb: &[f32]) -> [[V; 2]; MR] {
    let mut acc = [[v::zero(); 2]; MR];
    for (a4, b8) in pa.chunks_exact(MR).zip(pb.chunks_exact(NR)) {
        let b0 = v::load(&b8[..4]);
        let b1 = v::load(&b8[4..]);
        for r in 0..MR {
            let ar = v::splat(a4[r]);
            acc[r][0] = v::mul_add(ar, b0, acc[r][0]);
            acc[r][1] = v::mul_add(ar, b1, acc[r][1]);
        }
    }
    acc
}

/// Adds (or, with `store`, writes) the valid `rows`×`cols` part of a tile into C at
/// `start` (row stride `ldc`).
#[inline(always)]
fn write_tile(tile: &[[V; 2]; MR], c: &mut [f32], start: usize, ldc: usize, rows: usize, cols: usize, store: bool) {
    for (r, row) in tile.iter().enumerate().take(rows) {
        let dst = &mut c[start + r * ldc..start + r * ldc + cols];
        if cols == NR {
            let (lo, hi) = if store { (row[0], row[1]) } else { (v::add(v::load(&dst[..4]), row[0]), v::add(v::load(&dst[4..]), row[1])) };
            dst[..4].copy_from_slice(&v::to_array(lo));
            dst[4..].copy_from_slice(&v::to_array(hi));
        } else {
            let mut values = [0.0f32; NR];
            values[..4].copy_from_slice(&v::to_array(row[0]));
            values[4..].copy_from_slice(&v::to_array(row[1]));
            for (d, x) in dst.iter_mut().zip(values) {
                *d = if store { x } else { *d + x };
            }
        }
    }
}

/// Small products with row-contiguous B: row-times-row updates, which vectorise.
fn gemm_direct(m: usize, n: usize, k: usize, a: MatRef, b: MatRef, c: &mut [f32]) {
    for i in 0..m {
        let c_row = &mut c[i * n..(i + 1) * n];
        for p in 0..k {
            let aip = a.at(i, p);
            let start = b.offset + p * b.row_stride;
            for (cv, &bv) in c_row.iter_mut().zip(&b.data[start..start + n]) {
                *cv += aip * bv;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(m: usize, n: usize, k: usize, a: MatRef, b: MatRef) -> Vec<f64> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k).map(|p| a.at(i, p) as f64 * b.at(p, j) as f64).sum();
            }
        }
        out
    }

    fn values(len: usize, seed: u32) -> Vec<f32> {
        (0..len).map(|i| ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 / 500.0 - 1.0).collect()
    }

    #[test]
    fn packed_path_matches_reference_for_edges_and_transposes() {
        // Sizes that leave partial micro-tiles and partial KC/MC/NC blocks.
        for &(m, n, k) in &[(37, 45, 300), (130, 9, 513), (5, 600, 70), (64, 64, 64), (3, 5, 7), (9, 2, 1)] {
            let (ad, bd) = (values(m * k, 1), values(k * n, 2));
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = if ta { MatRef { data: &ad, offset: 0, row_stride: 1, col_stride: m } } else { MatRef { data: &ad, offset: 0, row_stride: k, col_stride: 1 } };
                let b = if tb { MatRef { data: &bd, offset: 0, row_stride: 1, col_stride: k } } else { MatRef { data: &bd, offset: 0, row_stride: n, col_stride: 1 } };
                let mut c = vec![f32::NAN; m * n];
                gemm(m, n, k, a, b, &mut c, &mut GemmScratch::default());
                for (got, want) in c.iter().zip(reference(m, n, k, a, b)) {
                    assert!((*got as f64 - want).abs() < 1e-3 * (1.0 + want.abs()), "{m}x{n}x{k} ta={ta} tb={tb}: {got} vs {want}");
                }
                // gemm_acc adds the product to what C holds.
                let start = values(m * n, 3);
                let mut c = start.clone();
                gemm_acc(m, n, k, a, b, &mut c, &mut GemmScratch::default());
                for ((got, want), s) in c.iter().zip(reference(m, n, k, a, b)).zip(&start) {
                    let want = want + *s as f64;
                    assert!((*got as f64 - want).abs() < 1e-3 * (1.0 + want.abs()), "acc {m}x{n}x{k} ta={ta} tb={tb}: {got} vs {want}");
                }
            }
        }
    }
}

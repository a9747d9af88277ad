//! Matrix multiplication on strided operands.
//!
//! Large products use the BLIS scheme: B is packed into KC×NR column panels, A into
//! row panels of up to 4 rows, and a register-tiled micro-kernel ([`micro`], 4×8: eight
//! f32x4 accumulators) computes one C tile per pair of panels; a row-major B of the
//! convolutions' shapes is read in place instead of packed. Packing reads the
//! operands through their strides, so a transposed operand (`x.t()`, the backward pass's
//! `Gᵀ`) costs nothing extra: it is never materialised. Small products skip packing.

mod micro;

use super::lanes;
use micro::{tile_rows, tile_vecs, BPanel, Dest, NR};

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

/// Depth of a packed block: an MR×KC panel of A and a KC×NR panel of B stay in L1.
const KC: usize = 256;
/// Rows of A packed at once (an MC×KC block stays in L2); a multiple of the tile's rows,
/// so only the last block has short tiles.
const MC: usize = 128;
/// Columns of B packed at once (a KC×NC block stays in L2).
const NC: usize = 512;
/// Below this many multiply-adds the packing overhead outweighs its benefit.
pub(crate) const DIRECT_MAX_WORK: usize = 16 * 16 * 16;

/// Reusable packing buffers, so batched products allocate once.
#[derive(Default)]
pub struct GemmScratch {
    packed_a: Vec<f32>,
    packed_b: Vec<f32>,
}

/// Lengths of the packing buffers for products with up to `m` rows and `n` columns.
fn packed_lens(m: usize, n: usize) -> (usize, usize) {
    (MC.min(m) * KC, KC * NC.min(n.next_multiple_of(4)))
}

impl GemmScratch {
    /// Makes room (fallibly) for the packing buffers of products with up to `m` rows and
    /// `n` columns, so that [`gemm`] never allocates: call it before the kernels run.
    pub fn prepare(&mut self, op: &str, m: usize, n: usize) -> crate::error::Result<()> {
        let (a, b) = packed_lens(m, n);
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
    let (a_len, b_len) = packed_lens(m, n);
    packed_a.resize(a_len, 0.0);
    packed_b.resize(b_len, 0.0);
    for j0 in (0..n).step_by(NC) {
        let nc = NC.min(n - j0);
        for p0 in (0..k).step_by(KC) {
            let kc = KC.min(k - p0);
            // The first K-block of an overwriting product stores its tiles: no zero fill,
            // no read of C. (A tile never holds −0: its sums start at +0.)
            let store = !accumulate && p0 == 0;
            let in_place = reads_b_in_place(b, m, n, kc);
            pack_b(b, p0, kc, j0, nc, in_place, packed_b);
            for i0 in (0..m).step_by(MC) {
                let mc = MC.min(m - i0);
                pack_a(a, i0, mc, p0, kc, packed_a);
                for jr in (0..nc).step_by(NR) {
                    let cols = NR.min(nc - jr);
                    let width = 4 * tile_vecs(cols);
                    let pb = if in_place && cols == width {
                        let first = b.offset + p0 * b.row_stride + j0 + jr;
                        BPanel { data: &b.data[first..first + (kc - 1) * b.row_stride + width], stride: b.row_stride }
                    } else {
                        BPanel { data: &packed_b[jr * kc..(jr + width) * kc], stride: width }
                    };
                    let mut ir = 0;
                    while ir < mc {
                        let rows = tile_rows(mc, ir);
                        let pa = &packed_a[ir * kc..(ir + rows) * kc];
                        let dest = Dest { start: (i0 + ir) * n + j0 + jr, ldc: n, cols, store };
                        micro::run(rows, pa, pb, c, &dest);
                        ir += rows;
                    }
                }
            }
        }
    }
}

/// Whether the micro-kernel reads a KC-block of `kc` rows of B where it is, unpacked, in
/// an `m`×`n` product: B must be row-major (a K step's columns contiguous, rows not
/// overlapping, so each step holds a tile's width of values), its row stride not a
/// multiple of 64 floats (such a stride maps a panel's rows onto a few L1
/// sets, which evict each other), the block small (at most 128 KB, about 32 pages, so its
/// rows stay in the TLB), and few row tiles per panel: a packed panel's loop ends on a
/// pointer compare, the in-place one needs a step counter (its stride is not a constant),
/// which costs more than the copy once more than 16 row tiles read each panel. The
/// convolution's forward product (32 × 196 × 144 on 14×14 images) is such a case: 3 %
/// (simd128) to 10 % (relaxed-simd) faster. The sums are the same either way.
fn reads_b_in_place(b: MatRef, m: usize, n: usize, kc: usize) -> bool {
    m <= 64 && b.col_stride == 1 && b.row_stride >= n && b.row_stride % 64 != 0 && kc * b.row_stride <= 32 * 1024
}

/// A[i0.., p0..] as row panels of [`tile_rows`] rows each (`rows` ≤ MR), each stored
/// k-major (`[p][r]`) at `ir * kc`: the panels fill `mc * kc` values without padding.
fn pack_a(a: MatRef, i0: usize, mc: usize, p0: usize, kc: usize, out: &mut [f32]) {
    let mut ir = 0;
    while ir < mc {
        let rows = tile_rows(mc, ir);
        let panel = &mut out[ir * kc..(ir + rows) * kc];
        let first = a.offset + (i0 + ir) * a.row_stride + p0 * a.col_stride;
        match rows {
            4 => pack_a_panel::<4>(a, first, kc, panel),
            3 => pack_a_panel::<3>(a, first, kc, panel),
            2 => pack_a_panel::<2>(a, first, kc, panel),
            _ => pack_a_panel::<1>(a, first, kc, panel),
        }
        ir += rows;
    }
}

/// One R-row panel of A whose element (0, 0) is at `first`. A row-major A (the weights,
/// `G`) reads R row slices; a column-major A (`Wᵀ`, `xᵀ`) copies R contiguous values per
/// step.
#[inline(always)]
fn pack_a_panel<const R: usize>(a: MatRef, first: usize, kc: usize, panel: &mut [f32]) {
    if a.col_stride == 1 {
        let rows: [&[f32]; R] = std::array::from_fn(|r| &a.data[first + r * a.row_stride..][..kc]);
        for (p, dst) in panel.chunks_exact_mut(R).enumerate() {
            for (d, row) in dst.iter_mut().zip(rows) {
                *d = row[p];
            }
        }
    } else if a.row_stride == 1 {
        for (p, dst) in panel.chunks_exact_mut(R).enumerate() {
            let start = first + p * a.col_stride;
            dst.copy_from_slice(&a.data[start..start + R]);
        }
    } else {
        for (p, dst) in panel.chunks_exact_mut(R).enumerate() {
            for (r, d) in dst.iter_mut().enumerate() {
                *d = a.data[first + r * a.row_stride + p * a.col_stride];
            }
        }
    }
}

/// B[p0.., j0..] as column panels of NR columns (the last one 4 or 8 wide), each stored
/// k-major (`[p][c]`) at `jr * kc`, zero-padded past the matrix's last column. With
/// `in_place`, only a last panel whose width is not a multiple of 4 (the others are read
/// from B itself).
fn pack_b(b: MatRef, p0: usize, kc: usize, j0: usize, nc: usize, in_place: bool, out: &mut [f32]) {
    for jr in (0..nc).step_by(NR) {
        let cols = NR.min(nc - jr);
        if in_place && cols % 4 == 0 {
            continue;
        }
        let first = b.offset + p0 * b.row_stride + (j0 + jr) * b.col_stride;
        if tile_vecs(cols) == 2 {
            pack_b_panel::<8>(b, first, kc, cols, &mut out[jr * kc..(jr + 8) * kc]);
        } else {
            pack_b_panel::<4>(b, first, kc, cols, &mut out[jr * kc..(jr + 4) * kc]);
        }
    }
}

/// One W-column panel of B whose element (0, 0) is at `first`, `cols` ≤ W of them real.
/// A full panel of a row-major B copies W contiguous values per step; of a column-major
/// B (`colsᵀ` in the weight gradient) reads W column slices.
#[inline(always)]
fn pack_b_panel<const W: usize>(b: MatRef, first: usize, kc: usize, cols: usize, panel: &mut [f32]) {
    if cols == W && b.col_stride == 1 {
        for (p, dst) in panel.chunks_exact_mut(W).enumerate() {
            let start = first + p * b.row_stride;
            dst.copy_from_slice(&b.data[start..start + W]);
        }
    } else if cols == W && b.row_stride == 1 {
        // Four K steps at a time: 4×4 blocks of the columns, transposed in registers.
        let columns: [&[f32]; W] = std::array::from_fn(|c| &b.data[first + c * b.col_stride..][..kc]);
        let quads = panel.chunks_exact_mut(4 * W);
        let done = kc - kc % 4;
        for (q, dst) in quads.enumerate() {
            let p = 4 * q;
            for g in 0..W / 4 {
                let quad = |c: usize| {
                    let Ok(x) = <&[f32; 4]>::try_from(&columns[4 * g + c][p..p + 4]) else { unreachable!("a slice of 4") };
                    x
                };
                let block = lanes::transpose4([quad(0), quad(1), quad(2), quad(3)]);
                for (i, row) in block.iter().enumerate() {
                    dst[i * W + 4 * g..i * W + 4 * g + 4].copy_from_slice(row);
                }
            }
        }
        for (p, dst) in panel[done * W..].chunks_exact_mut(W).enumerate() {
            for (d, column) in dst.iter_mut().zip(columns) {
                *d = column[done + p];
            }
        }
    } else {
        for (p, dst) in panel.chunks_exact_mut(W).enumerate() {
            for (c, d) in dst.iter_mut().enumerate() {
                *d = if c < cols { b.data[first + p * b.row_stride + c * b.col_stride] } else { 0.0 };
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
    fn row_tiles_cover_a_block_with_no_sliver() {
        for rows in 1..=40 {
            let (mut done, mut heights) = (0, Vec::new());
            while done < rows {
                let h = tile_rows(rows, done);
                heights.push(h);
                done += h;
            }
            assert_eq!(done, rows);
            assert!(heights.iter().all(|&h| (1..=micro::MR).contains(&h)), "{rows}: {heights:?}");
            // Only a block smaller than a tile has a tile of less than half a tile.
            if rows >= micro::MR {
                assert!(heights.iter().all(|&h| 2 * h >= micro::MR), "{rows}: {heights:?}");
            }
        }
    }

    /// B read in place (a row stride that is not a multiple of 64) and B packed (the same
    /// values with rows padded to 64) give the same bits.
    #[test]
    fn b_in_place_and_packed_sum_alike() {
        for &(m, n, k) in &[(37, 45, 300), (32, 196, 144), (9, 20, 7), (6, 13, 40)] {
            let (ad, bd) = (values(m * k, 5), values(k * n, 6));
            let padded: Vec<f32> = bd.chunks(n).flat_map(|row| row.iter().copied().chain(std::iter::repeat(0.0).take(64 * n.div_ceil(64) - n))).collect();
            let ld = 64 * n.div_ceil(64);
            let a = MatRef { data: &ad, offset: 0, row_stride: k, col_stride: 1 };
            let b_in_place = MatRef { data: &bd, offset: 0, row_stride: n, col_stride: 1 };
            let b_packed = MatRef { data: &padded, offset: 0, row_stride: ld, col_stride: 1 };
            assert!(reads_b_in_place(b_in_place, m, n, KC.min(k)) && !reads_b_in_place(b_packed, m, n, KC.min(k)));
            let (mut c1, mut c2) = (vec![f32::NAN; m * n], vec![f32::NAN; m * n]);
            gemm_packed(m, n, k, a, b_in_place, &mut c1, &mut GemmScratch::default());
            gemm_packed(m, n, k, a, b_packed, &mut c2, &mut GemmScratch::default());
            assert!(c1.iter().zip(&c2).all(|(x, y)| x.to_bits() == y.to_bits()), "{m}x{n}x{k}");
        }
    }

    /// A B whose rows overlap (row stride 1 < n, as a sliding-window view would have) is
    /// packed, never read in place past its rows.
    #[test]
    fn overlapping_rows_of_b_are_packed() {
        let (m, n, k) = (5, 8, 30);
        let (ad, bd) = (values(m * k, 9), values(k + n, 10));
        let a = MatRef { data: &ad, offset: 0, row_stride: k, col_stride: 1 };
        let b = MatRef { data: &bd, offset: 0, row_stride: 1, col_stride: 1 };
        assert!(!reads_b_in_place(b, m, n, k));
        let mut c = vec![0.0; m * n];
        gemm(m, n, k, a, b, &mut c, &mut GemmScratch::default());
        for (got, want) in c.iter().zip(reference(m, n, k, a, b)) {
            assert!((*got as f64 - want).abs() < 1e-4 * (1.0 + want.abs()), "{got} vs {want}");
        }
    }

    #[test]
    fn nan_and_infinities_propagate() {
        let (m, n, k) = (7, 13, 9);
        let mut ad = values(m * k, 7);
        let mut bd = values(k * n, 8);
        ad[0] = f32::INFINITY;
        bd[3] = 0.0; // inf · 0 in row 0, column 3
        ad[(m - 1) * k + 4] = f32::NAN;
        bd[(k - 1) * n + n - 1] = f32::NEG_INFINITY;
        let a = MatRef { data: &ad, offset: 0, row_stride: k, col_stride: 1 };
        let b = MatRef { data: &bd, offset: 0, row_stride: n, col_stride: 1 };
        let mut c = vec![0.0; m * n];
        gemm(m, n, k, a, b, &mut c, &mut GemmScratch::default());
        for i in 0..m {
            for j in 0..n {
                let want: f32 = (0..k).map(|p| a.at(i, p) * b.at(p, j)).sum();
                let got = c[i * n + j];
                assert!(want.is_nan() && got.is_nan() || want.is_infinite() && got == want || (got - want).abs() < 1e-4, "({i}, {j}): {got} vs {want}");
            }
        }
        assert!(c[3].is_nan() && c[(m - 1) * n].is_nan() && c[2 * n - 1].is_infinite());
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

//! The register-tiled micro-kernel of the packed product: one R×4W tile of C (R ≤ [`MR`]
//! rows, W ≤ [`NV`] f32x4 columns) from an R-row panel of packed A (`[p][r]`, R values
//! per K step) and a 4W-column panel of B ([`BPanel`]: packed, or a row-major B read in
//! place), accumulated in R·W `f32x4` registers.
//!
//! Why 4×8 (issue #12, measured on x64 Zen 3 under Node 20's V8): per K step the tile
//! does 8 FMAs for 6 loads (2 `v128.load` of B, 4 `v128.load32_splat` of A); V8 turns the
//! step into 4 `vbroadcastss`, 2 `vmovdqu`, 8 `vfmadd231ps` and about 6 address and loop
//! instructions, and 256² and 1024² products run at 40–44 GFLOP/s against a peak of about
//! 48 (two f32x4 FMAs per cycle at ~3 GHz): the loop is not load-bound. Larger tiles were
//! slower, not faster: LLVM schedules a step by B vector and loads every A splat first, so
//! 6×8 keeps 12 accumulators + 6 splats + B live (19 vectors, V8 has 15 on x64) and 3×16
//! keeps 12 + 3 + B (16); both spill and ran 1.6× slower, as did two K steps per
//! iteration written in the source (8 splats hoisted). The step is written once and V8
//! unrolls the K loop itself, which it does when the tile is inlined into the caller's
//! loops.
//!
//! Every tile, whatever its size, sums each element the same way (from +0, one
//! multiply-add per `p` in order), so the bits of an element never depend on which tile
//! shape computed it.

use crate::kernels::vector::{self as v, V};

/// Most rows of a tile.
pub const MR: usize = 4;
/// Most f32x4 vectors across a tile.
pub const NV: usize = 2;
/// Most columns of a tile.
pub const NR: usize = 4 * NV;

/// Rows of the tile that starts `done` rows into a block of `rows`: [`MR`], except that a
/// tail of MR+1 to 2·MR−1 rows becomes two tiles of about half (not a full tile and a
/// sliver that does a fraction of the work per load).
#[inline]
pub fn tile_rows(rows: usize, done: usize) -> usize {
    match rows - done {
        left if left > MR && left < 2 * MR => left.div_ceil(2),
        left => left.min(MR),
    }
}

/// Vectors across the tile that covers `cols` (≤ [`NR`]) columns: the panel of packed B
/// holds `4 * tile_vecs(cols)` columns per K step, zero-padded past `cols`.
#[inline]
pub fn tile_vecs(cols: usize) -> usize {
    cols.div_ceil(4)
}

/// Where a tile goes in C: the first element, the row stride, the valid columns, and
/// whether to overwrite (`store`) or add.
pub struct Dest {
    pub start: usize,
    pub ldc: usize,
    pub cols: usize,
    pub store: bool,
}

/// The B side of a tile: K step `p`'s `4 * tile_vecs(cols)` values start at
/// `data[p * stride]` (`stride` = their count for a packed panel, the row stride for a
/// row-major B read in place); `data` ends with the last step's values.
#[derive(Clone, Copy)]
pub struct BPanel<'a> {
    pub data: &'a [f32],
    pub stride: usize,
}

/// C tile = (or +=) the `rows`-row panel `pa` (`rows` values per K step) times the
/// `4 * tile_vecs(dest.cols)`-column panel `pb`.
#[inline(always)]
pub fn run(rows: usize, pa: &[f32], pb: BPanel, c: &mut [f32], dest: &Dest) {
    match (rows, tile_vecs(dest.cols)) {
        (4, 2) => tile::<4, 2>(pa, pb, c, dest),
        (3, 2) => tile::<3, 2>(pa, pb, c, dest),
        (2, 2) => tile::<2, 2>(pa, pb, c, dest),
        (1, 2) => tile::<1, 2>(pa, pb, c, dest),
        (4, 1) => tile::<4, 1>(pa, pb, c, dest),
        (3, 1) => tile::<3, 1>(pa, pb, c, dest),
        (2, 1) => tile::<2, 1>(pa, pb, c, dest),
        (1, 1) => tile::<1, 1>(pa, pb, c, dest),
        _ => unreachable!("tiles have 1..=MR rows and 1..=NV vectors"),
    }
}

/// One tile. Inlined into the caller's loops: V8 unrolls the K loop (two steps per
/// iteration, one stack check) when it sits there, not in a function of its own.
#[inline(always)]
fn tile<const R: usize, const W: usize>(pa: &[f32], pb: BPanel, c: &mut [f32], dest: &Dest) {
    let acc = accumulate::<R, W>(pa, pb);
    write::<R, W>(&acc, c, dest);
}

/// The tile's sums: each accumulator starts at +0 and takes one multiply-add per K step,
/// in order. One step per loop iteration: with two, LLVM loads all eight A splats before
/// the first FMA and V8 spills accumulators (x64 has 15 vector registers for wasm).
#[inline(always)]
fn accumulate<const R: usize, const W: usize>(pa: &[f32], pb: BPanel) -> [[V; W]; R] {
    let mut acc = [[v::zero(); W]; R];
    if pb.stride == 4 * W {
        // Packed B: a constant stride, so the loop ends on a pointer compare instead of a
        // separate counter (one instruction per step, ~4 % of a simd128 product).
        for (a, b) in pa.chunks_exact(R).zip(pb.data.chunks_exact(4 * W)) {
            step::<R, W>(a, b, &mut acc);
        }
        return acc;
    }
    // B in place: the last step is split off so the others read B through `chunks_exact`
    // (no bounds check per step) while `pb.data` need not extend a whole stride past it.
    let kc = pa.len() / R;
    if kc == 0 {
        return acc;
    }
    let (a_head, a_last) = pa.split_at((kc - 1) * R);
    let (b_head, b_last) = pb.data.split_at((kc - 1) * pb.stride);
    for (a, b) in a_head.chunks_exact(R).zip(b_head.chunks_exact(pb.stride)) {
        step::<R, W>(a, b, &mut acc);
    }
    step::<R, W>(a_last, b_last, &mut acc);
    acc
}

/// One K step: `acc[r][j] += a[r] · b[4j..4j + 4]`.
#[inline(always)]
fn step<const R: usize, const W: usize>(a: &[f32], b: &[f32], acc: &mut [[V; W]; R]) {
    let (a, b) = (&a[..R], &b[..4 * W]);
    let bs: [V; W] = std::array::from_fn(|j| v::load(&b[4 * j..]));
    for r in 0..R {
        let ar = v::splat(a[r]);
        for j in 0..W {
            acc[r][j] = v::mul_add(ar, bs[j], acc[r][j]);
        }
    }
}

/// Adds (or, with `store`, writes) the valid columns of a tile into C. The accumulators
/// are only indexed by constants (so they stay in registers); a partial tile goes through
/// a small array.
#[inline(always)]
fn write<const R: usize, const W: usize>(acc: &[[V; W]; R], c: &mut [f32], dest: &Dest) {
    let &Dest { start, ldc, cols, store } = dest;
    for (r, row) in acc.iter().enumerate() {
        let dst = &mut c[start + r * ldc..start + r * ldc + cols];
        if cols == 4 * W {
            for (d, &x) in dst.chunks_exact_mut(4).zip(row) {
                let x = if store { x } else { v::add(v::load(d), x) };
                d.copy_from_slice(&v::to_array(x));
            }
        } else {
            let mut values = [0.0f32; NR];
            for (j, &x) in row.iter().enumerate() {
                values[4 * j..4 * j + 4].copy_from_slice(&v::to_array(x));
            }
            for (d, x) in dst.iter_mut().zip(values) {
                *d = if store { x } else { *d + x };
            }
        }
    }
}

//! [`gemm`] on several threads: the output is cut into fixed blocks of rows and each block
//! is one `gemm` call of its own (a task of [`crate::parallel`]).
//!
//! Bit-identical to one `gemm` call for every thread count: a row of C depends only on
//! the same row of A and all of B, and within a block each element still sums over K in
//! the same KC blocks and the same order. The one thing that could differ is `gemm`'s
//! choice of its small-product path, which sums differently; blocks are only used when
//! every block is far above that path's size (see [`MIN_BLOCK_WORK`]), and a unit test
//! below checks the equality bit for bit, so a change to `gemm` that broke it fails there.

use super::matmul::{gemm, GemmScratch, MatRef, DIRECT_MAX_WORK};
use crate::parallel;
use std::cell::RefCell;
use std::sync::Mutex;

/// The fewest rows of C per task: a multiple of the micro-tile's rows, small enough that a
/// batch of 128 rows still makes 4 tasks.
pub const ROWS_PER_TASK: usize = 32;
/// About this many tasks per product. Each task packs all of B again, so 32-row tasks of a
/// 1024² product packed B 32 times (2 threads ran it only 1.45× faster than 1); eight tasks
/// keep that cost small and still spread over 8 threads.
const TASKS_PER_PRODUCT: usize = 8;

/// Rows of C per task for an m-row product: from the shape alone, never the thread count, so
/// the blocks (and the bits) are the same for every thread count.
fn rows_per_task(m: usize) -> usize {
    m.div_ceil(TASKS_PER_PRODUCT).next_multiple_of(ROWS_PER_TASK)
}
/// Multiply-adds below which a product stays on one thread (a fork-join costs a few µs).
pub const MIN_PARALLEL_WORK: usize = 1 << 18;
/// Every block, even a last one of a single row, must do at least this many multiply-adds
/// (`n·k`): twice `gemm`'s small-product path's limit, as that path sums in a different
/// order than the packed one. Not more: the CNN's classifier products (64 × 10 × 1568 and
/// 64 × 1568 × 10, `n·k` = 15680) are to split as well.
const MIN_BLOCK_WORK: usize = 2 * DIRECT_MAX_WORK;

thread_local! {
    /// Packing buffers for the tasks, one per thread that may take part, kept between calls
    /// on the calling thread. A task takes whichever is free: at most `threads()` tasks run
    /// at once, so one always is.
    static TASK_SCRATCH: RefCell<Vec<Mutex<GemmScratch>>> = const { RefCell::new(Vec::new()) };
}

/// Whether [`gemm_rows_parallel`] would split an m×k · k×n product.
fn splits(m: usize, n: usize, k: usize) -> bool {
    m > ROWS_PER_TASK && n.saturating_mul(k).saturating_mul(m) >= MIN_PARALLEL_WORK && n.saturating_mul(k) >= MIN_BLOCK_WORK
}

/// Makes room (fallibly) for the packing buffers [`gemm_rows_parallel`] needs for an
/// m×k · k×n product: the caller's `scratch`, or one per thread when the product splits.
pub fn prepare(op: &str, m: usize, n: usize, k: usize, scratch: &mut GemmScratch) -> crate::error::Result<()> {
    let threads = parallel::threads();
    if threads == 1 || !splits(m, n, k) {
        return scratch.prepare(op, m, n);
    }
    TASK_SCRATCH.with_borrow_mut(|pool| {
        while pool.len() < threads {
            pool.push(Mutex::new(GemmScratch::default()));
        }
        for s in pool.iter_mut() {
            s.get_mut().unwrap_or_else(|e| e.into_inner()).prepare(op, rows_per_task(m), n)?;
        }
        Ok(())
    })
}

/// `c = a · b` like [`gemm`], split into blocks of [`rows_per_task`] rows run in parallel
/// when the product is large. [`prepare`] must have been called for the same sizes.
pub fn gemm_rows_parallel(m: usize, n: usize, k: usize, a: MatRef, b: MatRef, c: &mut [f32], scratch: &mut GemmScratch) {
    if parallel::threads() == 1 || !splits(m, n, k) {
        return gemm(m, n, k, a, b, c, scratch);
    }
    let rows_per = rows_per_task(m);
    let mut blocks: Vec<&mut [f32]> = c[..m * n].chunks_mut(rows_per * n).collect();
    TASK_SCRATCH.with_borrow(|pool| {
        parallel::for_each_mut(&mut blocks, &|i, block| {
            let r0 = i * rows_per;
            let rows = block.len() / n;
            let a_rows = MatRef { data: a.data, offset: a.offset + r0 * a.row_stride, row_stride: a.row_stride, col_stride: a.col_stride };
            let mut taken = pool.iter().find_map(|s| s.try_lock().ok());
            match taken.as_deref_mut() {
                Some(s) => gemm(rows, n, k, a_rows, b, block, s),
                // Unreachable while at most `threads()` tasks run at once; correct anyway.
                None => gemm(rows, n, k, a_rows, b, block, &mut GemmScratch::default()),
            }
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(len: usize, seed: u32) -> Vec<f32> {
        (0..len).map(|i| ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1999) as f32 / 997.0 - 1.0).collect()
    }

    /// The blocks `gemm_rows_parallel` makes, computed serially, equal one `gemm` call bit
    /// for bit (the parallel runner only changes which thread runs a block).
    #[test]
    fn row_blocks_are_bit_identical_to_one_call() {
        for &(m, n, k) in &[(40, 128, 129), (70, 17, 1000), (97, 65, 300), (300, 64, 300), (1031, 40, 700), (64, 10, 1568), (64, 1568, 10), (33, 8193, 1)] {
            assert!(splits(m, n, k), "{m}x{n}x{k} should split");
            let (ad, bd) = (values(m * k, 1), values(k * n, 2));
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = if ta { MatRef { data: &ad, offset: 0, row_stride: 1, col_stride: m } } else { MatRef { data: &ad, offset: 0, row_stride: k, col_stride: 1 } };
                let b = if tb { MatRef { data: &bd, offset: 0, row_stride: 1, col_stride: k } } else { MatRef { data: &bd, offset: 0, row_stride: n, col_stride: 1 } };
                let mut whole = vec![f32::NAN; m * n];
                gemm(m, n, k, a, b, &mut whole, &mut GemmScratch::default());
                let mut blocked = vec![f32::NAN; m * n];
                for (i, block) in blocked.chunks_mut(rows_per_task(m) * n).enumerate() {
                    let r0 = i * rows_per_task(m);
                    let a_rows = MatRef { data: a.data, offset: a.offset + r0 * a.row_stride, row_stride: a.row_stride, col_stride: a.col_stride };
                    gemm(block.len() / n, n, k, a_rows, b, block, &mut GemmScratch::default());
                }
                let same = whole.iter().zip(&blocked).all(|(x, y)| x.to_bits() == y.to_bits());
                assert!(same, "{m}x{n}x{k} ta={ta} tb={tb}: row blocks differ from one call");
            }
        }
    }

    #[test]
    fn task_rows_follow_the_shape_only() {
        assert_eq!(rows_per_task(128), 32);
        assert_eq!(rows_per_task(300), 64);
        assert_eq!(rows_per_task(1024), 128);
        assert_eq!(rows_per_task(1031), 160);
    }

    #[test]
    fn small_products_do_not_split() {
        assert!(!splits(32, 1000, 1000));
        assert!(!splits(1000, 4, 4));
        assert!(!splits(40, 40, 40));
        assert!(!splits(1000, 8191, 1) && splits(1000, 8192, 1));
    }
}

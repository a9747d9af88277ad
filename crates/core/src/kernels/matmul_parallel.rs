//! [`gemm`] on several threads: the output is cut into blocks of rows, one per thread, and each block
//! is one `gemm` call of its own (a task of [`crate::parallel`]). A product with too few
//! rows for that (a weight gradient `Gᵀ·X` with 10 output features, a batch of 32) is cut
//! into blocks of columns instead, each computed into a buffer of its own and then copied
//! into place.
//!
//! Bit-identical to one `gemm` call for every thread count: a row (column) of C depends
//! only on the same row of A (column of B) and all of the other operand, and within a
//! block each element still sums over K in the same KC blocks and the same order. The one
//! thing that could differ is `gemm`'s choice of its small-product path, which sums
//! differently; row blocks are only used when every block is above that path's size (see
//! [`MIN_BLOCK_WORK`]), column blocks always take the packed path ([`gemm_packed`]), and
//! unit tests below check the equality bit for bit, so a change to `gemm` that broke it
//! fails there.

use super::matmul::{gemm, gemm_packed, GemmScratch, MatRef, DIRECT_MAX_WORK};
use crate::parallel;
use std::cell::RefCell;
use std::sync::Mutex;

/// The fewest rows of C per task: a multiple of the micro-tile's rows, small enough that a
/// batch of 128 rows still makes 4 tasks.
pub const ROWS_PER_TASK: usize = 32;
/// At most this many tasks per product. Each task packs all of B again: 32-row tasks of a
/// 1024² product packed B 32 times (2 threads ran it only 1.45× faster than 1).
const TASKS_PER_PRODUCT: usize = 8;

/// Rows of C per task for an m-row product: one task per thread (up to
/// [`TASKS_PER_PRODUCT`]), as every extra task packs B once more (256² on 2 threads: 8
/// tasks 0.472 ms, 4 tasks 0.452, 2 tasks 0.433). The blocks depend on the thread
/// count, the bits do not: a row of C is the same sum in any block of rows
/// (`row_blocks_are_bit_identical_to_one_call`).
fn rows_per_task(m: usize, threads: usize) -> usize {
    m.div_ceil(TASKS_PER_PRODUCT.min(threads)).next_multiple_of(ROWS_PER_TASK)
}
/// Multiply-adds below which a product stays on one thread (a fork-join costs a few µs).
pub const MIN_PARALLEL_WORK: usize = 1 << 18;
/// Every block, even a last one of a single row, must do at least this many multiply-adds
/// (`n·k`): twice `gemm`'s small-product path's limit, as that path sums in a different
/// order than the packed one. Not more: the CNN's classifier products (64 × 10 × 1568 and
/// 64 × 1568 × 10, `n·k` = 15680) are to split as well.
const MIN_BLOCK_WORK: usize = 2 * DIRECT_MAX_WORK;

/// Columns of C per task of a column split are a multiple of this (eight micro-tile widths,
/// so only the last block has a partial panel).
const COLS_PER_TASK: usize = 64;

/// Columns of C per task for an n-column product, from the shape alone.
fn cols_per_task(n: usize) -> usize {
    n.div_ceil(TASKS_PER_PRODUCT).next_multiple_of(COLS_PER_TASK)
}

thread_local! {
    /// The column split's output blocks (m × columns each, one after the other), kept
    /// between calls like the packing buffers.
    static COLUMN_BLOCKS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    /// Packing buffers for the tasks, one per thread that may take part, kept between calls
    /// on the calling thread. A task takes whichever is free: at most `threads()` tasks run
    /// at once, so one always is.
    static TASK_SCRATCH: RefCell<Vec<Mutex<GemmScratch>>> = const { RefCell::new(Vec::new()) };
}

/// Whether [`gemm_rows_parallel`] would split an m×k · k×n product into blocks of rows.
fn splits(m: usize, n: usize, k: usize) -> bool {
    m > ROWS_PER_TASK && n.saturating_mul(k).saturating_mul(m) >= MIN_PARALLEL_WORK && n.saturating_mul(k) >= MIN_BLOCK_WORK
}

/// Whether it would split it into blocks of columns: too few rows for row blocks, enough
/// columns for several column blocks. The blocks run [`gemm_packed`], the path one call
/// of this size takes, whatever their size.
fn splits_columns(m: usize, n: usize, k: usize) -> bool {
    !splits(m, n, k) && n > cols_per_task(n) && m.saturating_mul(n) <= MAX_COLUMN_BLOCKS && n.saturating_mul(k).saturating_mul(m) >= MIN_PARALLEL_WORK
}

/// The largest output a column split takes (its blocks' buffer is kept between calls).
const MAX_COLUMN_BLOCKS: usize = 1 << 20;

/// Makes room (fallibly) for the packing buffers [`gemm_rows_parallel`] needs for an
/// m×k · k×n product: the caller's `scratch`, or one per thread when the product splits.
pub fn prepare(op: &str, m: usize, n: usize, k: usize, scratch: &mut GemmScratch) -> crate::error::Result<()> {
    let threads = parallel::threads();
    let (rows, cols) = if threads == 1 {
        return scratch.prepare(op, m, n);
    } else if splits(m, n, k) {
        (rows_per_task(m, threads), n)
    } else if splits_columns(m, n, k) {
        COLUMN_BLOCKS.with_borrow_mut(|blocks| {
            let more = (m * n).saturating_sub(blocks.len());
            crate::memory::fallible(|| blocks.try_reserve_exact(more))
                .map_err(|_| crate::memory::oom_error(op, "matrix product column blocks", (m * n * std::mem::size_of::<f32>()) as u64))
        })?;
        (m, cols_per_task(n))
    } else {
        return scratch.prepare(op, m, n);
    };
    TASK_SCRATCH.with_borrow_mut(|pool| {
        while pool.len() < threads {
            pool.push(Mutex::new(GemmScratch::default()));
        }
        for s in pool.iter_mut() {
            s.get_mut().unwrap_or_else(|e| e.into_inner()).prepare(op, rows, cols)?;
        }
        Ok(())
    })
}

/// `c = a · b` like [`gemm`], split into blocks of [`rows_per_task`] rows (or, with few
/// rows, of [`cols_per_task`] columns) run in parallel when the product is large.
/// [`prepare`] must have been called for the same sizes.
pub fn gemm_rows_parallel(m: usize, n: usize, k: usize, a: MatRef, b: MatRef, c: &mut [f32], scratch: &mut GemmScratch) {
    if parallel::threads() == 1 {
        return gemm(m, n, k, a, b, c, scratch);
    }
    if splits(m, n, k) {
        let rows_per = rows_per_task(m, parallel::threads());
        let mut blocks: Vec<&mut [f32]> = c[..m * n].chunks_mut(rows_per * n).collect();
        TASK_SCRATCH.with_borrow(|pool| {
            parallel::for_each_mut(&mut blocks, &|i, block| {
                let a_rows = MatRef { offset: a.offset + i * rows_per * a.row_stride, ..a };
                with_free_scratch(pool, |s| gemm(block.len() / n, n, k, a_rows, b, block, s));
            });
        });
    } else if splits_columns(m, n, k) && COLUMN_BLOCKS.with_borrow(|blocks| blocks.capacity() >= m * n) {
        let cols_per = cols_per_task(n);
        COLUMN_BLOCKS.with_borrow_mut(|buf| {
            buf.resize(m * n, 0.0);
            let mut blocks: Vec<&mut [f32]> = buf.chunks_mut(m * cols_per).collect();
            TASK_SCRATCH.with_borrow(|pool| {
                parallel::for_each_mut(&mut blocks, &|i, block| {
                    let b_cols = MatRef { offset: b.offset + i * cols_per * b.col_stride, ..b };
                    with_free_scratch(pool, |s| gemm_packed(m, block.len() / m, k, a, b_cols, block, s));
                });
            });
            for (i, block) in blocks.iter().enumerate() {
                let width = block.len() / m;
                for (row, values) in c[..m * n].chunks_exact_mut(n).zip(block.chunks_exact(width)) {
                    row[i * cols_per..i * cols_per + width].copy_from_slice(values);
                }
            }
        });
    } else {
        gemm(m, n, k, a, b, c, scratch);
    }
}

/// Runs `f` with a free packing buffer of the calling thread's [`TASK_SCRATCH`] `pool`
/// (tasks on workers get it from the calling thread: their own pools are empty).
fn with_free_scratch(pool: &[Mutex<GemmScratch>], f: impl FnOnce(&mut GemmScratch)) {
    let mut taken = pool.iter().find_map(|s| s.try_lock().ok());
    match taken.as_deref_mut() {
        Some(s) => f(s),
        // Unreachable while at most `threads()` tasks run at once; correct anyway.
        None => f(&mut GemmScratch::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(len: usize, seed: u32) -> Vec<f32> {
        (0..len).map(|i| ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1999) as f32 / 997.0 - 1.0).collect()
    }

    /// A `[m, k]` and B `[k, n]` over `ad` and `bd`, each row-major or (`ta`/`tb`) a transposed view.
    fn operands<'a>(ad: &'a [f32], bd: &'a [f32], [m, n, k]: [usize; 3], ta: bool, tb: bool) -> (MatRef<'a>, MatRef<'a>) {
        let view = |data, rows, cols, transposed| {
            if transposed { MatRef { data, offset: 0, row_stride: 1, col_stride: rows } } else { MatRef { data, offset: 0, row_stride: cols, col_stride: 1 } }
        };
        (view(ad, m, k, ta), view(bd, k, n, tb))
    }

    /// The blocks `gemm_rows_parallel` makes, computed serially, equal one `gemm` call bit
    /// for bit (the parallel runner only changes which thread runs a block).
    #[test]
    fn row_blocks_are_bit_identical_to_one_call() {
        for &(m, n, k) in &[(40, 128, 129), (70, 17, 1000), (97, 65, 300), (300, 64, 300), (1031, 40, 700), (64, 10, 1568), (64, 1568, 10), (33, 8193, 1)] {
            assert!(splits(m, n, k), "{m}x{n}x{k} should split");
            let (ad, bd) = (values(m * k, 1), values(k * n, 2));
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let (a, b) = operands(&ad, &bd, [m, n, k], ta, tb);
                let mut whole = vec![f32::NAN; m * n];
                gemm(m, n, k, a, b, &mut whole, &mut GemmScratch::default());
                for threads in 2..=9 {
                    let rows = rows_per_task(m, threads);
                    let mut blocked = vec![f32::NAN; m * n];
                    for (i, block) in blocked.chunks_mut(rows * n).enumerate() {
                        let a_rows = MatRef { offset: a.offset + i * rows * a.row_stride, ..a };
                        gemm(block.len() / n, n, k, a_rows, b, block, &mut GemmScratch::default());
                    }
                    let same = whole.iter().zip(&blocked).all(|(x, y)| x.to_bits() == y.to_bits());
                    assert!(same, "{m}x{n}x{k} ta={ta} tb={tb}, {threads} threads: row blocks differ from one call");
                }
            }
        }
    }

    /// The column blocks, computed serially and copied into place, equal one `gemm` call
    /// bit for bit, for every operand layout.
    #[test]
    fn column_blocks_are_bit_identical_to_one_call() {
        for &(m, n, k) in &[(10, 1568, 64), (32, 1000, 300), (1, 70_000, 5), (7, 4099, 13), (3, 600, 1000)] {
            assert!(splits_columns(m, n, k), "{m}x{n}x{k} should split by columns");
            let (ad, bd) = (values(m * k, 3), values(k * n, 4));
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let (a, b) = operands(&ad, &bd, [m, n, k], ta, tb);
                let mut whole = vec![f32::NAN; m * n];
                gemm(m, n, k, a, b, &mut whole, &mut GemmScratch::default());
                let mut blocked = vec![f32::NAN; m * n];
                let per = cols_per_task(n);
                for j0 in (0..n).step_by(per) {
                    let width = per.min(n - j0);
                    let mut block = vec![f32::NAN; m * width];
                    gemm_packed(m, width, k, a, MatRef { offset: j0 * b.col_stride, ..b }, &mut block, &mut GemmScratch::default());
                    for (row, values) in blocked.chunks_exact_mut(n).zip(block.chunks_exact(width)) {
                        row[j0..j0 + width].copy_from_slice(values);
                    }
                }
                let same = whole.iter().zip(&blocked).all(|(x, y)| x.to_bits() == y.to_bits());
                assert!(same, "{m}x{n}x{k} ta={ta} tb={tb}: column blocks differ from one call");
            }
        }
    }

    #[test]
    fn a_task_per_thread_up_to_eight() {
        assert_eq!(rows_per_task(128, 2), 64);
        assert_eq!(rows_per_task(128, 8), 32);
        assert_eq!(rows_per_task(256, 2), 128);
        assert_eq!(rows_per_task(300, 3), 128);
        assert_eq!(rows_per_task(1024, 16), 128);
        assert_eq!(rows_per_task(1031, 8), 160);
    }

    /// The batch-128 MLP step's (784-256-128-10) products that are worth it split by rows:
    /// x·W1, h1·W2 and their gradients (the transposed operands are only strides); the
    /// 128·128·10 ones (164K multiply-adds) stay on one thread.
    #[test]
    fn the_mlp_steps_products_split() {
        for (m, n, k) in [(128, 256, 784), (784, 256, 128), (128, 128, 256), (128, 256, 128), (256, 128, 128)] {
            assert!(splits(m, n, k), "{m}x{n}x{k}");
        }
        for (m, n, k) in [(128, 10, 128), (128, 128, 10)] {
            assert!(!splits(m, n, k) && !splits_columns(m, n, k), "{m}x{n}x{k}");
        }
    }

    #[test]
    fn small_products_do_not_split() {
        assert!(!splits(32, 1000, 1000));
        assert!(!splits(1000, 4, 4));
        assert!(!splits(40, 40, 40));
        assert!(!splits(1000, 8191, 1) && splits(1000, 8192, 1));
        // Too few columns, too little work, or too large an output for column blocks.
        assert!(!splits_columns(32, 64, 10_000) && !splits_columns(8, 200, 100) && !splits_columns(2, 1 << 20, 1));
    }
}

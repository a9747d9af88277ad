//! Convolution on several threads: each pass is cut into tasks over fixed blocks of images
//! (tasks of [`crate::parallel`]), each running the one-thread kernels of `conv` on its
//! images with a column buffer and GEMM packing buffers of its own.
//!
//! Determinism. The forward and the input gradient compute each image's outputs from that
//! image alone, in an order fixed by the geometry (`conv_block`'s image blocks give every
//! image the bits it gets alone), so cutting the batch anywhere gives the same bits. The
//! weight gradient sums over the images: it is the sum of partial sums over fixed groups
//! of [`weight_group`] images (from the shape alone), each summed in image order from
//! zero, added up in group order. The one-thread path makes the same groups, so the bits
//! are the same for every thread count and build.
//!
//! Allocation happens on the calling thread, fallibly, before any task runs: one column
//! buffer per thread that takes part, GEMM packing buffers (kept between calls, as in
//! `matmul_parallel`) and the weight gradient's partial sums. A task takes whichever
//! buffers are free and never allocates: an allocation failure (or any panic) in a worker
//! is a trap that poisons the pool.
//!
//! [`MIN_PARALLEL_WORK`] only decides *where* the tasks run (small convolutions stay on
//! the calling thread, where a fork-join would cost more than it saves), never how the
//! work is cut, so it cannot change a bit.

use super::conv::{add_channel_bias, conv2d_backward_input, conv2d_backward_weight, conv2d_forward, ConvGeom};
use super::matmul::GemmScratch;
use crate::error::Result;
use crate::parallel;
use crate::storage::try_alloc;
use std::cell::RefCell;
use std::sync::{Mutex, MutexGuard, TryLockError};

/// The forward and the input gradient make about this many tasks: enough that 2, 3 or 4
/// threads end within a task's time of each other. A task costs little beyond its images
/// (the packing buffers belong to the thread, not the task).
const TASKS_PER_PASS: usize = 16;
/// The weight gradient makes at most this many groups: each needs a partial sum the size
/// of `dw`, and the partial sums are added up on the calling thread.
const MAX_WEIGHT_GROUPS: usize = 8;
/// Elements of all partial sums of one weight gradient together, at most (16 MiB): a
/// large weight (512·4608 elements) makes fewer, larger groups.
const PARTIAL_SUM_ELEMS: usize = 1 << 22;
/// Multiply-adds below which a pass stays on the calling thread: about 0.3 ms of work.
/// Measured on this project's 2-core machine, a 0.3M multiply-add convolution (8 → 8
/// channels, 8×8, batch 8: 0.1 ms) ran no faster on 2 threads than on 1 (waking the
/// workers costs more there than in theory), while the MNIST CNN's (7M and up) ran 1.8×
/// faster.
pub const MIN_PARALLEL_WORK: usize = 1 << 20;

thread_local! {
    /// GEMM packing buffers of the tasks, one per thread that may take part, kept between
    /// calls on the calling thread.
    static TASK_GEMM: RefCell<Vec<GemmScratch>> = const { RefCell::new(Vec::new()) };
}

/// Images per task of the forward and the input gradient: about [`TASKS_PER_PASS`] tasks,
/// each a whole number of `conv_block`'s image blocks. From the shape alone.
pub fn images_per_task(g: &ConvGeom) -> usize {
    g.n.div_ceil(TASKS_PER_PASS).max(1).next_multiple_of(g.image_block())
}

/// Images per partial sum of the weight gradient: at most [`MAX_WEIGHT_GROUPS`] groups
/// (fewer for weights too large for that many partial sums). From the shape alone: the
/// bits of `dw` depend on it.
pub fn weight_group(g: &ConvGeom) -> usize {
    let groups = (PARTIAL_SUM_ELEMS / (g.o * g.kg()).max(1)).clamp(1, MAX_WEIGHT_GROUPS);
    g.n.div_ceil(groups).max(1)
}

/// Whether `tasks` tasks of geometry `g` run on several threads.
fn on_threads(g: &ConvGeom, tasks: usize) -> bool {
    let work = g.n.saturating_mul(g.o).saturating_mul(g.ohw()).saturating_mul(g.kg());
    tasks > 1 && work >= MIN_PARALLEL_WORK && parallel::threads() > 1
}

/// A task's buffers: a column buffer ([`ConvGeom::scratch_len`]) and GEMM packing buffers.
type Slot<'a> = (&'a mut [f32], &'a mut GemmScratch);

/// Makes `count` slots for tasks of `sub`'s size (fallibly) and lends them to `f`.
fn with_slots<R>(op: &str, count: usize, sub: &ConvGeom, f: impl FnOnce(&mut [Slot]) -> R) -> Result<R> {
    let cols_len = sub.scratch_len();
    let mut cols = try_alloc(op, cols_len.saturating_mul(count), 0.0f32)?;
    TASK_GEMM.with_borrow_mut(|pool| {
        if pool.len() < count {
            pool.resize_with(count, GemmScratch::default);
        }
        // The products of every pass (see `conv`): forward og×ohw, input gradient
        // kg×(ohw·image block), weight gradient og×kg.
        let (og, kg, ohw) = (sub.og(), sub.kg(), sub.ohw() * sub.image_block());
        for s in &mut pool[..count] {
            s.prepare(op, og.max(kg), ohw.max(kg))?;
        }
        let mut rest = &mut cols[..];
        let mut slots = Vec::with_capacity(count);
        for s in &mut pool[..count] {
            let (c, r) = std::mem::take(&mut rest).split_at_mut(cols_len);
            rest = r;
            slots.push((c, s));
        }
        Ok(f(&mut slots))
    })
}

/// Locks a free slot. At most `threads()` tasks run at once and there are as many slots,
/// so one is free (or is about to be: the loop only waits for a task to end).
fn take_slot<'s, 'a>(slots: &'s [Mutex<&'s mut Slot<'a>>]) -> MutexGuard<'s, &'s mut Slot<'a>> {
    loop {
        for s in slots {
            match s.try_lock() {
                Ok(guard) => return guard,
                // Only after a task panicked, which on wasm32 has trapped already.
                Err(TryLockError::Poisoned(e)) => return e.into_inner(),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        std::hint::spin_loop();
    }
}

/// Runs `task(i, items[i], slot)` for every item: on the calling thread in index order
/// with the first slot, or on the pool's threads, each task with a free slot.
fn run_tasks<T: Send>(items: &mut [T], slots: &mut [Slot], threads: bool, task: &(dyn Fn(usize, &mut T, &mut [f32], &mut GemmScratch) + Sync)) {
    if !threads || slots.len() < 2 {
        let (cols, gemm) = &mut slots[0];
        items.iter_mut().enumerate().for_each(|(i, item)| task(i, item, cols, gemm));
        return;
    }
    let locks: Vec<Mutex<&mut Slot>> = slots.iter_mut().map(Mutex::new).collect();
    parallel::for_each_mut(items, &|i, item| {
        let mut slot = take_slot(&locks);
        let (cols, gemm) = &mut **slot;
        task(i, item, cols, gemm);
    });
}

/// `data` cut into blocks of `per` items of `item_len` elements (the last block shorter)
/// for `items` items; one empty block when there are none.
fn blocks(data: &mut [f32], item_len: usize, per: usize, items: usize) -> Vec<&mut [f32]> {
    let mut out = Vec::with_capacity(items.div_ceil(per).max(1));
    let mut rest = data;
    let mut n0 = 0;
    loop {
        let count = per.min(items - n0);
        let (block, r) = std::mem::take(&mut rest).split_at_mut(count * item_len);
        out.push(block);
        rest = r;
        n0 += count;
        if n0 >= items {
            return out;
        }
    }
}

/// Runs `task(n0, images, part, cols, gemm)` over tasks of [`images_per_task`] images
/// each: `images` is `g` cut to the task's `images.n` images from image `n0`, `part` its
/// block of `data` (`item_len` elements per image). The forward and the input gradient
/// split their batch this way.
fn over_image_blocks(op: &str, g: &ConvGeom, data: &mut [f32], item_len: usize, task: &(dyn Fn(usize, &ConvGeom, &mut [f32], &mut [f32], &mut GemmScratch) + Sync)) -> Result<()> {
    let per = images_per_task(g);
    let sub = ConvGeom { n: per.min(g.n), ..*g };
    let mut parts = blocks(data, item_len, per, g.n);
    let threads = on_threads(g, parts.len());
    let count = if threads { parallel::threads().min(parts.len()) } else { 1 };
    with_slots(op, count, &sub, |slots| {
        run_tasks(&mut parts, slots, threads, &|i, part, cols, gemm| {
            let (n0, n) = (i * per, per.min(g.n - i * per));
            task(n0, &ConvGeom { n, ..*g }, part, cols, gemm);
        });
    })
}

/// `out = conv(x, w) + bias` ([`conv2d_forward`]) over tasks of [`images_per_task`] images.
pub fn forward(op: &str, x: &[f32], w: &[f32], bias: Option<&[f32]>, g: &ConvGeom, out: &mut [f32]) -> Result<()> {
    let chw = g.c * g.hw();
    over_image_blocks(op, g, out, g.o * g.ohw(), &|n0, images, part, cols, gemm| {
        conv2d_forward(&x[n0 * chw..][..images.n * chw], w, bias, images, part, cols, gemm);
    })
}

/// `dx = Transpose(gout, w) + bias` ([`conv2d_backward_input`], conv_transpose2d's
/// forward) over tasks of [`images_per_task`] images; `bias` is per input channel.
pub fn backward_input(op: &str, gout: &[f32], w: &[f32], bias: Option<&[f32]>, g: &ConvGeom, dx: &mut [f32]) -> Result<()> {
    let image_out = g.o * g.ohw();
    over_image_blocks(op, g, dx, g.c * g.hw(), &|n0, images, part, cols, gemm| {
        conv2d_backward_input(&gout[n0 * image_out..][..images.n * image_out], w, images, part, cols, gemm);
        if let Some(bias) = bias {
            add_channel_bias(part, bias, g.hw());
        }
    })
}

/// `dw = Weight(x, gout)` ([`conv2d_backward_weight`]) as partial sums over groups of
/// [`weight_group`] images, added up in group order (group 0's sum is computed in `dw`).
pub fn backward_weight(op: &str, gout: &[f32], x: &[f32], g: &ConvGeom, dw: &mut [f32]) -> Result<()> {
    let (per, chw, image_out, len) = (weight_group(g), g.c * g.hw(), g.o * g.ohw(), dw.len());
    let groups = g.n.div_ceil(per).max(1);
    let sub = ConvGeom { n: per.min(g.n), ..*g };
    let group_sum = |i: usize, partial: &mut [f32], cols: &mut [f32], gemm: &mut GemmScratch| {
        let (n0, n) = (i * per, per.min(g.n - i * per));
        let images = ConvGeom { n, ..*g };
        conv2d_backward_weight(&gout[n0 * image_out..][..n * image_out], &x[n0 * chw..][..n * chw], &images, partial, cols, gemm);
    };
    if on_threads(g, groups) {
        let mut rest = try_alloc(op, (groups - 1).saturating_mul(len), 0.0f32)?;
        let mut partials = vec![&mut dw[..]];
        partials.extend(blocks(&mut rest, len, 1, groups - 1));
        let count = parallel::threads().min(groups);
        with_slots(op, count, &sub, |slots| run_tasks(&mut partials, slots, true, &|i, p, cols, gemm| group_sum(i, p, cols, gemm)))?;
        if let Some((sum, others)) = partials.split_first_mut() {
            others.iter().for_each(|p| add_into(sum, p));
        }
    } else {
        // The same groups on this thread, one partial sum at a time.
        let mut partial = try_alloc(op, if groups > 1 { len } else { 0 }, 0.0f32)?;
        with_slots(op, 1, &sub, |slots| {
            let (cols, gemm) = &mut slots[0];
            group_sum(0, dw, cols, gemm);
            for i in 1..groups {
                group_sum(i, &mut partial, cols, gemm);
                add_into(dw, &partial);
            }
        })?;
    }
    Ok(())
}

/// `sum += partial`, element by element.
fn add_into(sum: &mut [f32], partial: &[f32]) {
    sum.iter_mut().zip(partial).for_each(|(s, &p)| *s += p);
}

#[cfg(test)]
mod tests {
    use super::super::conv::test_values;
    use super::super::window::Window;
    use super::*;
    use std::cell::Cell;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    thread_local! {
        /// The thread count the test runner reports to calls from this thread (1, so
        /// serial, for every other test of the crate).
        static TEST_THREADS: Cell<usize> = const { Cell::new(1) };
    }
    /// Tasks the test runner ran on its spawned threads.
    static SPAWNED_TASKS: AtomicUsize = AtomicUsize::new(0);

    /// A runner on scoped threads, which claim tasks from a counter (in no fixed order
    /// relative to each other), like the pool of the threads build.
    fn scoped_run(tasks: usize, task: &(dyn Fn(usize) + Sync)) {
        let next = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..TEST_THREADS.with(Cell::get) {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, SeqCst);
                    if i >= tasks {
                        return;
                    }
                    task(i);
                    SPAWNED_TASKS.fetch_add(1, SeqCst);
                });
            }
        });
    }

    /// Installs [`scoped_run`] (once per test process; other tests see 1 thread).
    fn install_test_runner() {
        parallel::install(parallel::Runner { run: scoped_run, threads: || TEST_THREADS.with(Cell::get) });
    }

    fn geom(n: usize, c: usize, hw: (usize, usize), o: usize, k: (usize, usize), s: (usize, usize), p: (usize, usize), d: (usize, usize), groups: usize) -> ConvGeom {
        let out = |size: usize, k: usize, s: usize, p: usize, d: usize| (size + 2 * p - d * (k - 1) - 1) / s + 1;
        let win = Window::new([hw.0, hw.1], [out(hw.0, k.0, s.0, p.0, d.0), out(hw.1, k.1, s.1, p.1, d.1)], [k.0, k.1], [s.0, s.1], [p.0, p.1], [d.0, d.1]);
        ConvGeom { n, c, o, groups, win }
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|f| f.to_bits()).collect()
    }

    /// The three passes of `g` with `threads` threads: (forward, input gradient, weight gradient).
    fn passes(g: &ConvGeom, threads: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        TEST_THREADS.with(|t| t.set(threads));
        let x = test_values(g.n * g.c * g.hw(), 1);
        let w = test_values(g.o * g.kg(), 2);
        let gout = test_values(g.n * g.o * g.ohw(), 5);
        let (bo, bc) = (test_values(g.o, 7), test_values(g.c, 8));
        let mut out = vec![f32::NAN; gout.len()];
        forward("test", &x, &w, Some(&bo), g, &mut out).unwrap();
        let mut dx = vec![f32::NAN; x.len()];
        backward_input("test", &gout, &w, Some(&bc), g, &mut dx).unwrap();
        let mut dw = vec![f32::NAN; w.len()];
        backward_weight("test", &gout, &x, g, &mut dw).unwrap();
        TEST_THREADS.with(|t| t.set(1));
        (out, dx, dw)
    }

    /// Every path of `conv` (GEMM per image, image blocks of the input gradient, pointwise,
    /// one input channel, depthwise, grouped, strided, dilated), batches that the tasks
    /// and groups divide and do not: the same bits on 1, 2, 3 and 5 threads; the weight
    /// gradient equal to its groups' sums added in order, each from the one-thread kernel.
    #[test]
    fn every_thread_count_gives_the_same_bits() {
        install_test_runner();
        let cases = [
            geom(9, 16, (14, 14), 32, (3, 3), (1, 1), (1, 1), (1, 1), 1),
            geom(19, 1, (28, 27), 16, (3, 3), (1, 1), (1, 1), (1, 1), 1),
            geom(15, 16, (13, 11), 24, (3, 3), (2, 1), (1, 0), (1, 2), 2),
            geom(21, 12, (23, 21), 12, (3, 3), (1, 1), (1, 1), (1, 1), 12),
            geom(9, 12, (19, 17), 24, (5, 3), (2, 2), (2, 1), (1, 1), 3),
            geom(25, 24, (9, 10), 20, (1, 1), (1, 1), (0, 0), (1, 1), 1),
            geom(5, 7, (33, 31), 9, (3, 3), (1, 1), (1, 1), (1, 1), 1),
        ];
        for g in cases {
            TEST_THREADS.with(|t| t.set(2));
            assert!(on_threads(&g, 2), "{g:?} is too small to run on threads");
            TEST_THREADS.with(|t| t.set(1));
            let before = SPAWNED_TASKS.load(SeqCst);
            let one = passes(&g, 1);
            assert_eq!(SPAWNED_TASKS.load(SeqCst), before, "1 thread runs on the calling thread");
            for threads in [2, 3, 5] {
                let many = passes(&g, threads);
                assert_eq!(bits(&many.0), bits(&one.0), "forward {g:?}, {threads} threads");
                assert_eq!(bits(&many.1), bits(&one.1), "input gradient {g:?}, {threads} threads");
                assert_eq!(bits(&many.2), bits(&one.2), "weight gradient {g:?}, {threads} threads");
            }
            assert!(SPAWNED_TASKS.load(SeqCst) > before, "{g:?} never ran on the runner's threads");
            // The weight gradient by hand: each group's sum from the one-thread kernel.
            let x = test_values(g.n * g.c * g.hw(), 1);
            let gout = test_values(g.n * g.o * g.ohw(), 5);
            let (per, chw, image_out) = (weight_group(&g), g.c * g.hw(), g.o * g.ohw());
            let mut sum = vec![0.0f32; g.o * g.kg()];
            for (i, n0) in (0..g.n).step_by(per).enumerate() {
                let part = ConvGeom { n: per.min(g.n - n0), ..g };
                let mut partial = vec![f32::NAN; sum.len()];
                let mut cols = vec![0.0; part.scratch_len()];
                let mut gemm = GemmScratch::default();
                conv2d_backward_weight(&gout[n0 * image_out..][..part.n * image_out], &x[n0 * chw..][..part.n * chw], &part, &mut partial, &mut cols, &mut gemm);
                if i == 0 {
                    sum = partial;
                } else {
                    add_into(&mut sum, &partial);
                }
            }
            assert_eq!(bits(&sum), bits(&one.2), "weight gradient {g:?} by groups");
        }
    }

    #[test]
    fn the_split_follows_the_shape_only() {
        let g = geom(64, 16, (14, 14), 32, (3, 3), (1, 1), (1, 1), (1, 1), 1);
        assert_eq!(g.image_block(), 2);
        assert_eq!(images_per_task(&g), 4);
        assert_eq!(weight_group(&g), 8);
        assert_eq!(images_per_task(&ConvGeom { n: 3, ..g }), 2);
        assert_eq!(weight_group(&ConvGeom { n: 3, ..g }), 1);
        assert_eq!(weight_group(&ConvGeom { n: 0, ..g }), 1);
        // A weight of 512·4608 elements: at most one partial sum besides dw.
        let big = geom(64, 512, (7, 7), 512, (3, 3), (1, 1), (1, 1), (1, 1), 1);
        assert_eq!(weight_group(&big), 64);
        // With 2 threads: the MNIST CNN's second layer runs on them; a 0.3M multiply-add
        // convolution (below MIN_PARALLEL_WORK) stays on the calling thread.
        install_test_runner();
        TEST_THREADS.with(|t| t.set(2));
        assert!(on_threads(&g, 16));
        assert!(!on_threads(&geom(8, 8, (8, 8), 8, (3, 3), (1, 1), (1, 1), (1, 1), 1), 8));
        TEST_THREADS.with(|t| t.set(1));
        assert!(!on_threads(&g, 16), "one thread: on the calling thread");
    }
}

//! Data parallelism without `unsafe`: kernels split their work into a fixed number of
//! independent tasks and hand them to [`for_range`] (or [`for_each_mut`]). By default the
//! tasks run on the calling thread in index order. The FFI crate's threads build installs
//! a [`Runner`] that shares them out among worker threads (crates/wasm/src/threads.rs).
//!
//! Determinism: every task writes only its own outputs, and how work is split must not
//! change any output's bits. Callers use fixed block sizes, which makes that so, except
//! where an output element is provably the same in any block: a matrix product's blocks
//! of rows, one per thread (`kernels::matmul_parallel`, tested for 1–9 threads). So the
//! results are bit-identical for every thread count, and to the single-threaded builds.

use std::sync::{Mutex, OnceLock};

/// Runs `task(0..tasks)`, each index exactly once, possibly on several threads, and
/// returns when all have finished. `threads` says how many threads may take part.
pub struct Runner {
    pub run: fn(tasks: usize, task: &(dyn Fn(usize) + Sync)),
    pub threads: fn() -> usize,
}

static RUNNER: OnceLock<Runner> = OnceLock::new();

/// Installs the runner (once; later calls are ignored).
pub fn install(runner: Runner) {
    let _ = RUNNER.set(runner);
}

/// How many threads may run tasks at once (1 without a runner).
pub fn threads() -> usize {
    RUNNER.get().map_or(1, |r| (r.threads)().max(1))
}

/// Runs `task(i)` for every `i` in `0..tasks`: serially in index order by default, on the
/// installed runner's threads otherwise. Each task must touch only its own outputs.
pub fn for_range(tasks: usize, task: &(dyn Fn(usize) + Sync)) {
    match RUNNER.get() {
        Some(runner) if tasks > 1 && (runner.threads)() > 1 => (runner.run)(tasks, task),
        _ => (0..tasks).for_each(task),
    }
}

/// Runs `f(i, &mut items[i])` for every item, like [`for_range`]. Each item is handed out
/// through its own (never contended) lock, which keeps this safe Rust; callers pass a few
/// large items (blocks of an output), so the locks cost nothing measurable.
pub fn for_each_mut<T: Send>(items: &mut [T], f: &(dyn Fn(usize, &mut T) + Sync)) {
    if items.len() <= 1 || threads() == 1 {
        items.iter_mut().enumerate().for_each(|(i, item)| f(i, item));
        return;
    }
    let slots: Vec<Mutex<&mut T>> = items.iter_mut().map(Mutex::new).collect();
    for_range(slots.len(), &|i| {
        // Each index runs once, so its lock is free; a poisoned lock only means an earlier
        // task panicked, which on wasm32 has trapped the instance already.
        let mut item = slots[i].lock().unwrap_or_else(|e| e.into_inner());
        f(i, &mut item);
    });
}

/// Elements (or comparable units of work) below which an op stays on the calling thread:
/// a fork-join costs a few µs, about what a simple map over this many elements takes.
pub const MIN_PARALLEL_ELEMENTS: usize = 1 << 15;

/// The shortest contiguous run of elements a task should read from each row when a task
/// takes a block of columns (16 KB of f32): shorter runs from rows far apart defeat the
/// hardware prefetchers.
pub const MIN_RUN: usize = 4096;

/// The fewest elements per task of [`chunk_len`].
const MIN_CHUNK: usize = 1 << 14;
/// About this many tasks per op: enough to keep 8 threads busy with uneven progress.
const TASKS_PER_OP: usize = 16;

/// Elements per task for `len` elements: a multiple of `unit` (at least one), about
/// `len / 16` but not below 16K elements, from the sizes alone (never the thread count).
pub fn chunk_len(len: usize, unit: usize) -> usize {
    let unit = unit.max(1);
    len.div_ceil(TASKS_PER_OP).max(MIN_CHUNK).div_ceil(unit).max(1) * unit
}

/// Whether work over `len` elements is worth splitting: more than one thread may take
/// part and the work is above [`MIN_PARALLEL_ELEMENTS`].
pub fn worth_splitting(len: usize) -> bool {
    len >= MIN_PARALLEL_ELEMENTS && threads() > 1
}

/// Runs `f(start, chunk)` for the consecutive chunks of `chunk` elements of `data` (the
/// last may be shorter), `start` being the chunk's first index: on several threads when
/// there is more than one chunk and [`threads`] > 1, else serially in order. The split
/// depends on `data.len()` and `chunk` only.
pub fn for_chunks_mut<T: Send>(data: &mut [T], chunk: usize, f: &(dyn Fn(usize, &mut [T]) + Sync)) {
    let chunk = chunk.max(1);
    if data.len() <= chunk || threads() == 1 {
        data.chunks_mut(chunk).enumerate().for_each(|(i, c)| f(i * chunk, c));
        return;
    }
    let mut parts: Vec<&mut [T]> = data.chunks_mut(chunk).collect();
    for_each_mut(&mut parts, &|i, part| f(i * chunk, part));
}

/// [`for_chunks_mut`] over two slices cut at the same element boundaries (`b` has
/// `b_per` elements for each element of `a`): `f(start, a chunk, b chunk)`.
pub fn for_chunk_pairs_mut<A: Send, B: Send>(a: &mut [A], b: &mut [B], chunk: usize, b_per: usize, f: &(dyn Fn(usize, &mut [A], &mut [B]) + Sync)) {
    let chunk = chunk.max(1);
    let mut parts: Vec<(&mut [A], &mut [B])> = a.chunks_mut(chunk).zip(b.chunks_mut(chunk * b_per.max(1))).collect();
    for_each_mut(&mut parts, &|i, (pa, pb)| f(i * chunk, pa, pb));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_default_visits_every_index_in_order() {
        let seen = Mutex::new(Vec::new());
        for_range(5, &|i| seen.lock().unwrap().push(i));
        assert_eq!(*seen.lock().unwrap(), vec![0, 1, 2, 3, 4]);
        let mut items = vec![0usize; 7];
        for_each_mut(&mut items, &|i, x| *x = i * 10);
        assert_eq!(items, vec![0, 10, 20, 30, 40, 50, 60]);
        for_range(0, &|_| panic!("no tasks"));
    }

    #[test]
    fn chunks_follow_the_sizes_only_and_cover_everything() {
        assert_eq!(chunk_len(10, 1), MIN_CHUNK);
        assert_eq!(chunk_len(1 << 20, 1), 1 << 16);
        assert_eq!(chunk_len(1 << 20, 1000) % 1000, 0);
        assert_eq!(chunk_len(0, 0), MIN_CHUNK);
        let mut v = vec![0usize; 100_003];
        for_chunks_mut(&mut v, 7_000, &|start, c| c.iter_mut().enumerate().for_each(|(i, x)| *x = start + i));
        assert!(v.iter().enumerate().all(|(i, &x)| i == x));
        let (mut a, mut b) = (vec![0usize; 10], vec![0usize; 30]);
        for_chunk_pairs_mut(&mut a, &mut b, 4, 3, &|start, pa, pb| {
            assert_eq!(pb.len(), 3 * pa.len());
            pa.iter_mut().enumerate().for_each(|(i, x)| *x = start + i);
            pb.iter_mut().enumerate().for_each(|(i, x)| *x = 3 * start + i);
        });
        assert!(a.iter().enumerate().all(|(i, &x)| i == x) && b.iter().enumerate().all(|(i, &x)| i == x));
    }
}

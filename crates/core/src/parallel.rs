//! Data parallelism without `unsafe`: kernels split their work into a fixed number of
//! independent tasks and hand them to [`for_range`] (or [`for_each_mut`]). By default the
//! tasks run on the calling thread in index order. The FFI crate's threads build installs
//! a [`Runner`] that shares them out among worker threads (crates/wasm/src/threads.rs).
//!
//! Determinism: how work is split must never depend on the thread count — callers use
//! fixed block sizes — and every task writes only its own outputs. So the results are
//! bit-identical for every thread count, and to the single-threaded builds.

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
}

//! The thread pool of the threads build (`+atomics`; a shared, imported memory): a
//! fork-join runner for `wasmgrad_core::parallel`, run on workers that JS starts
//! (ts/threads.ts: Web Workers or worker_threads, each instantiating this same module on
//! the same memory, with its own stack and TLS block, then calling [`wt_worker_loop`]).
//!
//! One job at a time: the calling thread publishes it (a task function and a count),
//! wakes the workers, takes tasks itself from the same atomic counter, and then **spins**
//! until every task is done. It never blocks: `memory.atomic.wait32` traps on a
//! browser's main thread. Idle workers block in `memory.atomic.wait32` on the generation
//! word, and workers beyond the thread count on the thread count. Which thread runs which
//! task does not matter: tasks write disjoint outputs and the split does not change any
//! output's bits (`wasmgrad_core::parallel`), so results are the same bits for any.
//!
//! A worker that traps cannot finish its task, so the caller would spin forever. The
//! worker's JS catches the trap and sets `poisoned` in [`SHARED`] (as does the main
//! thread's JS when a worker reports an error); the spinning caller, and every later
//! parallel call, then panics with a message that says so, which JS turns into a
//! `PoisonedError` (a trap, since the instance's memory may be half-updated).

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering::SeqCst};
use wasmgrad_core::parallel::{self, Runner};

/// Workers JS may start (the thread count is at most this plus the calling thread).
pub const MAX_WORKERS: usize = 63;

/// The words JS reads and writes (at the address `wt_shared` returns), as i32s in order.
#[repr(C)]
pub struct Shared {
    /// Bumped for each job; idle workers wait on it.
    generation: AtomicU32,
    /// Non-zero once a worker failed (written by JS): every parallel call panics.
    poisoned: AtomicU32,
    /// Threads that may take part in a job, the calling thread included.
    threads: AtomicU32,
    /// Workers that have entered [`wt_worker_loop`].
    registered: AtomicU32,
    /// 1 while worker `i` is inside a job (it may be reading the job's task function).
    inside: [AtomicU32; MAX_WORKERS],
}

#[allow(clippy::declare_interior_mutable_const)]
const IDLE: AtomicU32 = AtomicU32::new(0);

static SHARED: Shared = Shared {
    generation: AtomicU32::new(0),
    poisoned: AtomicU32::new(0),
    threads: AtomicU32::new(1),
    registered: AtomicU32::new(0),
    inside: [IDLE; MAX_WORKERS],
};

/// 1 while a job is open (its task function alive): workers may claim its tasks.
static OPEN: AtomicU32 = AtomicU32::new(0);
/// Address of the open job's `&dyn Fn(usize)` (a reference on the caller's stack).
static JOB: AtomicUsize = AtomicUsize::new(0);
static TASKS: AtomicUsize = AtomicUsize::new(0);
/// The next task index to claim.
static NEXT: AtomicUsize = AtomicUsize::new(0);
static DONE: AtomicUsize = AtomicUsize::new(0);
/// 1 while the calling thread runs a job: a nested parallel call runs serially.
static RUNNING: AtomicU32 = AtomicU32::new(0);

thread_local! {
    /// The worker's index, or `None` on the calling thread.
    static WORKER: Cell<Option<usize>> = const { Cell::new(None) };
}

type Task<'a> = &'a (dyn Fn(usize) + Sync);

fn check_poisoned() {
    if SHARED.poisoned.load(SeqCst) != 0 {
        const DIED: &str = "wasmgrad: a worker thread of the thread pool died (it trapped, or its script failed), so the pool is poisoned";
        // A worker that panicked recorded why before its trap, and its JS set `poisoned`
        // only after that: say it here, not only in the worker's later report.
        let mut buf = crate::panic::buffer();
        match crate::panic::current(&mut buf) {
            "" => panic!("{DIED}"),
            why => panic!("{DIED}; the worker: {why}"),
        }
    }
}

/// Claims and runs tasks of the open job until none is left.
fn take_tasks(task: Task, tasks: usize) {
    loop {
        let i = NEXT.fetch_add(1, SeqCst);
        if i >= tasks {
            return;
        }
        task(i);
        DONE.fetch_add(1, SeqCst);
    }
}

fn run(tasks: usize, task: Task) {
    check_poisoned();
    if WORKER.with(Cell::get).is_some() || RUNNING.swap(1, SeqCst) == 1 {
        return (0..tasks).for_each(task);
    }
    let published: Task = task;
    JOB.store(&published as *const Task as usize, SeqCst);
    TASKS.store(tasks, SeqCst);
    NEXT.store(0, SeqCst);
    DONE.store(0, SeqCst);
    OPEN.store(1, SeqCst);
    SHARED.generation.fetch_add(1, SeqCst);
    // SAFETY: the address is that of a live static AtomicU32 (an aligned i32 in shared memory).
    unsafe { core::arch::wasm32::memory_atomic_notify(SHARED.generation.as_ptr() as *mut i32, u32::MAX) };
    take_tasks(task, tasks);
    while DONE.load(SeqCst) < tasks {
        check_poisoned();
        std::hint::spin_loop();
    }
    // Close the job, then wait for every worker that may still read it to leave: a worker
    // sets `inside` before it checks `OPEN`, so (all SeqCst) either it sees the job closed,
    // or this loop sees it inside.
    OPEN.store(0, SeqCst);
    for inside in &SHARED.inside {
        while inside.load(SeqCst) != 0 {
            check_poisoned();
            std::hint::spin_loop();
        }
    }
    RUNNING.store(0, SeqCst);
}

fn threads() -> usize {
    SHARED.threads.load(SeqCst) as usize
}

/// Installs the pool as the core's parallel runner (the calling thread alone until JS
/// sets a thread count and starts workers).
pub fn install() {
    parallel::install(Runner { run, threads });
}

/// Checks of the generation word a worker makes after a job before it blocks. A training
/// step forks many times in a row, and waking a blocked worker (a futex wake; on a VM, an
/// inter-processor interrupt) costs more than a small op's whole job: with workers that
/// blocked at once, an SGD update of a [784,256] weight took 0.33 ms on 2 threads against
/// 0.13 ms on 1, and in two bench runs each, alternated, the MLP b128 step gained
/// 1.27–1.40× on 2 threads against 1.53–1.56× with this spin (CNN 1.28–1.64× / 1.77–1.79×).
const SPINS_BEFORE_WAIT: u32 = 1 << 15;
/// 1 while idle workers spin [`SPINS_BEFORE_WAIT`] times before blocking (see `wt_set_threads`).
static SPIN: AtomicU32 = AtomicU32::new(1);

/// A worker's life: register, then run the jobs it takes part in; never returns (JS ends
/// the worker). `index` is the worker's number, 0-based; worker `i` takes part while the
/// thread count is above `i + 1`.
#[no_mangle]
pub extern "C" fn wt_worker_loop(index: u32) {
    let index = index as usize;
    if index >= MAX_WORKERS {
        panic!("wt_worker_loop: worker index {index} is beyond the pool's {MAX_WORKERS}");
    }
    WORKER.with(|w| w.set(Some(index)));
    SHARED.registered.fetch_add(1, SeqCst);
    let mut seen = SHARED.generation.load(SeqCst);
    loop {
        // A worker beyond the thread count sleeps on the thread count, not on the
        // generation word: jobs neither wake it nor find it spinning. (Woken by every job,
        // six such workers spinning after each fork took the cores from two working
        // threads: `npm run bench -- --threads 2,4,8` timed the 2-thread MLP step at 1.0×.)
        let count = SHARED.threads.load(SeqCst);
        if index + 1 >= count as usize {
            // SAFETY: as below; returns at once if the count is no longer `count`.
            unsafe { core::arch::wasm32::memory_atomic_wait32(SHARED.threads.as_ptr() as *mut i32, count as i32, -1) };
            // Look for an open job at once once taking part again: the job that follows
            // `set_threads` has often bumped the generation before this worker woke, and
            // waiting for the next bump would sit it out. (Joining any open job is safe:
            // see `inside` below.)
            seen = SHARED.generation.load(SeqCst).wrapping_sub(1);
            continue;
        }
        let mut spins = 0;
        let spin_limit = if SPIN.load(SeqCst) != 0 { SPINS_BEFORE_WAIT } else { 0 };
        while SHARED.generation.load(SeqCst) == seen {
            if spins < spin_limit {
                spins += 1;
                std::hint::spin_loop();
                continue;
            }
            // SAFETY: as in `run`; returns at once if the word no longer equals `seen`.
            unsafe { core::arch::wasm32::memory_atomic_wait32(SHARED.generation.as_ptr() as *mut i32, seen as i32, -1) };
        }
        seen = SHARED.generation.load(SeqCst);
        if index + 1 >= threads() {
            continue;
        }
        let inside = &SHARED.inside[index];
        inside.store(1, SeqCst);
        if OPEN.load(SeqCst) == 1 {
            // SAFETY: `JOB` points at the open job's task reference on the caller's stack,
            // published before `OPEN`; the caller keeps it alive until this worker has left
            // (`inside` is 0 again), see `run`.
            let task: Task = unsafe { *(JOB.load(SeqCst) as *const Task) };
            take_tasks(task, TASKS.load(SeqCst));
        }
        inside.store(0, SeqCst);
    }
}

/// Address of [`SHARED`] (i32 words: generation, poisoned, threads, registered, inside…).
#[no_mangle]
pub extern "C" fn wt_shared() -> usize {
    &SHARED as *const Shared as usize
}

/// Sets the thread count (calling thread included), clamped to 1..=MAX_WORKERS+1, and
/// whether idle workers spin before they block (`spin` ≠ 0): JS turns it off when there
/// are more threads than cores, where a spinning worker takes the core a working thread
/// needs.
#[no_mangle]
pub extern "C" fn wt_set_threads(n: u32, spin: u32) {
    SPIN.store(u32::from(spin != 0), SeqCst);
    SHARED.threads.store(n.clamp(1, MAX_WORKERS as u32 + 1), SeqCst);
    // Wake the workers parked on the count (see `wt_worker_loop`), now taking part or not.
    // SAFETY: the address of a live static AtomicU32 (an aligned i32 in shared memory).
    unsafe { core::arch::wasm32::memory_atomic_notify(SHARED.threads.as_ptr() as *mut i32, u32::MAX) };
}

/// A stack of `size` bytes for a worker; returns its top (stacks grow down), 0 if memory
/// is short. Never freed: workers live as long as the instance.
#[no_mangle]
pub extern "C" fn wt_alloc_stack(size: usize) -> usize {
    let Ok(layout) = std::alloc::Layout::from_size_align(size.max(16), 16) else { return 0 };
    // SAFETY: a non-zero size layout. The system allocator, not the budgeted one: a
    // stack is not tensor memory and must not count against the user's limit.
    let p = unsafe { std::alloc::GlobalAlloc::alloc(&std::alloc::System, layout) } as usize;
    if p == 0 { 0 } else { p + layout.size() }
}

/// A thread-local-storage block for a worker (`__tls_size`, `__tls_align`), 0 if short.
#[no_mangle]
pub extern "C" fn wt_alloc_tls(size: usize, align: usize) -> usize {
    let Ok(layout) = std::alloc::Layout::from_size_align(size.max(1), align.max(1)) else { return 0 };
    // SAFETY: a non-zero size layout; see `wt_alloc_stack`.
    unsafe { std::alloc::GlobalAlloc::alloc(&std::alloc::System, layout) as usize }
}

/// Test only: a job whose tasks trap when worker `first_worker` or a later one runs them (a
/// planted worker failure), to check that the failure poisons the pool instead of hanging,
/// and that given workers take part. The calling thread's own tasks spin a while, so that
/// a worker surely takes one.
#[no_mangle]
pub extern "C" fn wt_test_plant_worker_failure(tasks: u32, first_worker: u32) {
    parallel::for_range(tasks as usize, &|i| {
        if WORKER.with(Cell::get).is_some_and(|w| w >= first_worker as usize) {
            panic!("planted worker failure (test only) in task {i}");
        }
        let mut x = i as u32;
        for _ in 0..2_000_000 {
            x = std::hint::black_box(x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223));
        }
        std::hint::black_box(x);
    });
}

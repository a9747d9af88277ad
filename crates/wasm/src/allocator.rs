//! The global allocator: the system allocator (dlmalloc on wasm32) plus the out-of-memory
//! protocol of `wasmgrad_core::memory`: a byte budget (4 GiB, or a lower limit the user
//! sets), a reserve kept back for bookkeeping allocations, and a record of the last
//! allocation that could not be satisfied.
//!
//! Fallible requests (tensor data, user-sized tables) fail once they would need the
//! reserve; bookkeeping requests may use it, so that an op that is short of memory still
//! gets to report it. `headroom` takes the reserve back before the next op, or fails it.
//!
//! Small blocks (the tensors, storages, graph nodes and little buffers every op makes and
//! every dispose frees) are recycled: a freed block of up to [`SMALL_MAX`] bytes goes on a
//! free list of its size class (multiples of [`GRAIN`]) instead of back to dlmalloc, and
//! the next request of that class takes it off again, without dlmalloc's bin search,
//! splitting and coalescing. Small requests reach dlmalloc rounded up to their class, so
//! a recycled block always fits and is freed to dlmalloc with the size it was made with.
//! The lists hold at most [`CACHE_MAX`] bytes, and are handed back to dlmalloc whenever a
//! request cannot be satisfied, before the request is retried: recycling never turns a
//! request that would have succeeded into a failure. Blocks on the lists are free memory
//! as far as the budget is concerned (`in_use` counts what the core holds).

// On the host (unit tests) the system allocator stays the global one, so the wrapper is unused.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use wasmgrad_core::memory::{self, MemoryHooks};

/// Kept back for bookkeeping (shapes, graph nodes, error messages): far more than one op
/// or one node of a backward pass allocates outside its fallible requests.
pub const RESERVE_BYTES: usize = 256 << 10;
/// What wasm32 linear memory can hold.
pub const MEMORY_BYTES: usize = usize::MAX;

const RESERVE_ALIGN: usize = 8;

/// Size classes of recycled blocks are multiples of this (dlmalloc's alignment on wasm32).
pub const GRAIN: usize = 8;
/// Requests up to this many bytes (and alignment up to [`GRAIN`]) are recycled.
pub const SMALL_MAX: usize = 256;
/// The most bytes kept on the free lists (more than the blocks of a 10 000-op chain).
pub const CACHE_MAX: usize = 4 << 20;
const CLASSES: usize = SMALL_MAX / GRAIN;

/// Heads of the free lists by class (0: empty). A free block's first word links the next.
static FREE_LISTS: [AtomicUsize; CLASSES] = [const { AtomicUsize::new(0) }; CLASSES];
/// Bytes on the free lists.
static CACHED: AtomicUsize = AtomicUsize::new(0);

/// The class of a recycled request, or `None` for requests dlmalloc serves as they are.
fn class_of(size: usize, align: usize) -> Option<usize> {
    (size != 0 && size <= SMALL_MAX && align <= GRAIN).then(|| (size - 1) / GRAIN)
}

fn class_bytes(class: usize) -> usize {
    (class + 1) * GRAIN
}

/// What dlmalloc is asked for (and later given back) for a request of `layout`: small
/// requests rounded up to their class.
fn system_layout(layout: Layout) -> Layout {
    match class_of(layout.size(), layout.align()) {
        // SAFETY: a multiple of GRAIN no larger than SMALL_MAX, with GRAIN a power of two.
        Some(c) => unsafe { Layout::from_size_align_unchecked(class_bytes(c), GRAIN) },
        None => layout,
    }
}

/// A recycled block of `class`, or null if its list is empty.
///
/// # Safety
/// Every address on the lists is a free block of its class (see `recycle`).
unsafe fn take_recycled(class: usize) -> *mut u8 {
    let head = FREE_LISTS[class].load(Relaxed);
    if head == 0 {
        return std::ptr::null_mut();
    }
    // SAFETY: `head` is a free block of at least GRAIN bytes, aligned to GRAIN, whose
    // first word `recycle` wrote.
    let next = unsafe { (head as *const usize).read() };
    FREE_LISTS[class].store(next, Relaxed);
    CACHED.fetch_sub(class_bytes(class), Relaxed);
    head as *mut u8
}

/// Puts the freed block `ptr` of `class` on its list if the lists have room; false if not.
///
/// # Safety
/// `ptr` is a block of `class_bytes(class)` bytes from dlmalloc, no longer in use.
unsafe fn recycle(ptr: *mut u8, class: usize) -> bool {
    let bytes = class_bytes(class);
    if CACHED.load(Relaxed) + bytes > CACHE_MAX {
        return false;
    }
    // SAFETY: the block is free, at least GRAIN bytes and aligned to GRAIN.
    unsafe { (ptr as *mut usize).write(FREE_LISTS[class].load(Relaxed)) };
    FREE_LISTS[class].store(ptr as usize, Relaxed);
    CACHED.fetch_add(bytes, Relaxed);
    true
}

/// Hands every recycled block back to dlmalloc; true if there was any.
fn release_recycled() -> bool {
    if CACHED.load(Relaxed) == 0 {
        return false;
    }
    for class in 0..CLASSES {
        loop {
            // SAFETY: the lists hold only free blocks of their class.
            let ptr = unsafe { take_recycled(class) };
            if ptr.is_null() {
                break;
            }
            // SAFETY: the block came from `System` with this class's layout.
            unsafe { System.dealloc(ptr, Layout::from_size_align_unchecked(class_bytes(class), GRAIN)) };
        }
    }
    true
}

/// `request` (a call into dlmalloc that returns null on failure), retried after handing
/// the recycled blocks back, and then, for a bookkeeping request, the reserve.
fn with_retries(request: impl Fn() -> *mut u8) -> *mut u8 {
    let mut ptr = request();
    if ptr.is_null() && release_recycled() {
        ptr = request();
    }
    if ptr.is_null() && may_retry() {
        ptr = request();
    }
    ptr
}

struct Budgeted;

/// Bytes handed out and not yet returned (the reserve included while it is held).
static IN_USE: AtomicUsize = AtomicUsize::new(0);
/// The budget: the user's limit, else all of memory.
static LIMIT: AtomicUsize = AtomicUsize::new(MEMORY_BYTES);
/// Address of the held reserve; 0 while it is handed out (or before it was first taken).
static RESERVE: AtomicUsize = AtomicUsize::new(0);
/// Size of the last request that failed (0 = none since the last check).
static LAST_FAILURE: AtomicUsize = AtomicUsize::new(0);

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: Budgeted = Budgeted;

fn reserve_layout() -> Layout {
    Layout::from_size_align(RESERVE_BYTES, RESERVE_ALIGN).expect("constant layout")
}

/// Hands the reserve to the system allocator; true if there was one to give.
fn release_reserve() -> bool {
    let ptr = RESERVE.swap(0, Relaxed);
    if ptr == 0 {
        return false;
    }
    // SAFETY: `ptr` came from `System.alloc(reserve_layout())` in `ensure_reserve` and was
    // swapped out of `RESERVE` above, so it is freed exactly once.
    unsafe { System.dealloc(ptr as *mut u8, reserve_layout()) };
    IN_USE.fetch_sub(RESERVE_BYTES, Relaxed);
    true
}

/// Takes the reserve (back); false if memory is too short for it.
fn ensure_reserve() -> bool {
    if RESERVE.load(Relaxed) != 0 {
        return true;
    }
    if IN_USE.load(Relaxed).saturating_add(RESERVE_BYTES) > LIMIT.load(Relaxed) {
        return false;
    }
    // SAFETY: a non-zero size layout.
    let mut ptr = unsafe { System.alloc(reserve_layout()) };
    if ptr.is_null() && release_recycled() {
        // SAFETY: as above.
        ptr = unsafe { System.alloc(reserve_layout()) };
    }
    if ptr.is_null() {
        return false;
    }
    IN_USE.fetch_add(RESERVE_BYTES, Relaxed);
    RESERVE.store(ptr as usize, Relaxed);
    true
}

/// Bytes that may still be requested by fallible allocations.
fn available() -> usize {
    let used = IN_USE.load(Relaxed) + if RESERVE.load(Relaxed) == 0 { RESERVE_BYTES } else { 0 };
    let limit = LIMIT.load(Relaxed).min(memory_ceiling());
    limit.saturating_sub(used)
}

/// All of linear memory less what sits below the heap (static data and the stack).
fn memory_ceiling() -> usize {
    #[cfg(target_arch = "wasm32")]
    {
        extern "C" {
            static __heap_base: u8;
        }
        // Only the address of the linker-defined symbol is taken, never its value.
        let base = std::ptr::addr_of!(__heap_base) as usize;
        (u32::MAX as usize).saturating_sub(base)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        usize::MAX
    }
}

pub fn install() {
    memory::install(MemoryHooks { ensure_reserve, available, reserve_bytes: RESERVE_BYTES });
    ensure_reserve();
}

/// Limits the bytes the core may hold (tensor data and bookkeeping); `None` lifts it.
pub fn set_limit(bytes: Option<usize>) {
    LIMIT.store(bytes.unwrap_or(MEMORY_BYTES), Relaxed);
}

pub fn limit() -> Option<usize> {
    let l = LIMIT.load(Relaxed);
    (l != MEMORY_BYTES).then_some(l)
}

pub fn in_use() -> usize {
    IN_USE.load(Relaxed)
}

/// Whether a request of `size` more bytes fits the budget, handing over the reserve for
/// a bookkeeping request that needs it.
fn admit(size: usize) -> bool {
    let fallible = memory::in_fallible_scope();
    if fallible && RESERVE.load(Relaxed) == 0 {
        return false;
    }
    let fits = || IN_USE.load(Relaxed).saturating_add(size) <= LIMIT.load(Relaxed);
    fits() || (!fallible && release_reserve() && fits())
}

/// Notes the outcome of a request of `size` bytes that `admit` let through.
fn settle(size: usize, ptr: *mut u8) -> *mut u8 {
    if ptr.is_null() {
        LAST_FAILURE.store(size.max(1), Relaxed);
    } else {
        IN_USE.fetch_add(size, Relaxed);
    }
    ptr
}

/// Whether a bookkeeping request that the system allocator just failed may be retried:
/// true once, after handing the reserve over.
fn may_retry() -> bool {
    !memory::in_fallible_scope() && release_reserve()
}

fn refuse(size: usize) -> *mut u8 {
    LAST_FAILURE.store(size.max(1), Relaxed);
    std::ptr::null_mut()
}

/// The size of the last request that could not be satisfied, once (for the panic record).
pub fn take_last_failure() -> usize {
    LAST_FAILURE.swap(0, Relaxed)
}

// SAFETY: every method forwards to `System` with the caller's pointer and the layout
// `system_layout` makes of the caller's (the same for a block's allocation and its
// release, so dlmalloc sees consistent sizes), or serves a small request with a recycled
// block of the request's class, which is at least as large and as aligned; the wrapper
// keeps counts and may refuse (return null) up front.
//
// The methods are `#[inline(never)]`: inlined into the `__rust_alloc` shims under LTO,
// LLVM's allocation-function assumptions met the wrapper's bookkeeping of shared state
// (the reserve, the counters) and the release build corrupted dlmalloc's heap on the
// first backward pass (dlmalloc's size assertion fired). An allocation already costs a
// call into dlmalloc; one more call is noise.
unsafe impl GlobalAlloc for Budgeted {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !admit(layout.size()) {
            return refuse(layout.size());
        }
        if let Some(class) = class_of(layout.size(), layout.align()) {
            let ptr = take_recycled(class);
            if !ptr.is_null() {
                return settle(layout.size(), ptr);
            }
        }
        let sys = system_layout(layout);
        let ptr = with_retries(|| System.alloc(sys));
        settle(layout.size(), ptr)
    }

    #[inline(never)]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !admit(layout.size()) {
            return refuse(layout.size());
        }
        if let Some(class) = class_of(layout.size(), layout.align()) {
            let ptr = take_recycled(class);
            if !ptr.is_null() {
                ptr.write_bytes(0, layout.size());
                return settle(layout.size(), ptr);
            }
        }
        let sys = system_layout(layout);
        let ptr = with_retries(|| System.alloc_zeroed(sys));
        settle(layout.size(), ptr)
    }

    #[inline(never)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        IN_USE.fetch_sub(layout.size(), Relaxed);
        if let Some(class) = class_of(layout.size(), layout.align()) {
            if recycle(ptr, class) {
                return;
            }
        }
        System.dealloc(ptr, system_layout(layout));
    }

    #[inline(never)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return refuse(new_size);
        };
        let (old_sys, new_sys) = (system_layout(layout), system_layout(new_layout));
        if new_size <= layout.size() {
            let p = if new_sys.size() == old_sys.size() { ptr } else { System.realloc(ptr, old_sys, new_sys.size()) };
            if !p.is_null() {
                IN_USE.fetch_sub(layout.size() - new_size, Relaxed);
            }
            return p;
        }
        let more = new_size - layout.size();
        if !admit(more) {
            return refuse(more);
        }
        let p = if new_sys.size() == old_sys.size() {
            ptr
        } else {
            with_retries(|| System.realloc(ptr, old_sys, new_sys.size()))
        };
        settle(more, p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wrapper called directly (on the host it is not the global allocator): freed
    /// small blocks are reused by their class, zeroed when asked, resized with their
    /// contents, and all handed back to the system on demand; the counts stay exact.
    #[test]
    fn small_blocks_are_recycled_by_class() {
        let a = &Budgeted;
        let layout = |size: usize, align: usize| Layout::from_size_align(size, align).unwrap();
        unsafe {
            let before = in_use();
            let p = a.alloc(layout(12, 4));
            assert!(!p.is_null());
            assert_eq!(in_use(), before + 12);
            p.write_bytes(0xab, 12);
            a.dealloc(p, layout(12, 4));
            assert_eq!(in_use(), before);
            assert_eq!(CACHED.load(Relaxed), 16);
            // Same class (9..=16 bytes): the same block; zeroed for alloc_zeroed.
            let q = a.alloc_zeroed(layout(16, 8));
            assert_eq!(q, p);
            assert!(std::slice::from_raw_parts(q, 16).iter().all(|&b| b == 0));
            assert_eq!(CACHED.load(Relaxed), 0);
            // Growing within the class keeps the block; across classes moves the contents.
            q.write_bytes(7, 16);
            let r = a.realloc(q, layout(16, 8), 100);
            assert!(!r.is_null());
            assert!(std::slice::from_raw_parts(r, 16).iter().all(|&b| b == 7));
            assert_eq!(in_use(), before + 100);
            let s = a.realloc(r, layout(100, 8), 3000);
            assert!(std::slice::from_raw_parts(s, 16).iter().all(|&b| b == 7));
            let t = a.realloc(s, layout(3000, 8), 20);
            assert!(std::slice::from_raw_parts(t, 16).iter().all(|&b| b == 7));
            assert_eq!(in_use(), before + 20);
            a.dealloc(t, layout(20, 8));
            // Over-aligned and large requests are not recycled.
            let big = a.alloc(layout(SMALL_MAX + 1, 8));
            a.dealloc(big, layout(SMALL_MAX + 1, 8));
            let wide = a.alloc(layout(32, 16));
            a.dealloc(wide, layout(32, 16));
            assert_eq!(CACHED.load(Relaxed), 24);
            assert!(release_recycled());
            assert_eq!(CACHED.load(Relaxed), 0);
            assert!(!release_recycled());
            assert_eq!(in_use(), before);
            // The lists stop at CACHE_MAX; the rest goes straight back.
            let blocks: Vec<*mut u8> = (0..CACHE_MAX / SMALL_MAX + 10).map(|_| a.alloc(layout(SMALL_MAX, 8))).collect();
            for &b in &blocks {
                a.dealloc(b, layout(SMALL_MAX, 8));
            }
            assert_eq!(CACHED.load(Relaxed), CACHE_MAX);
            release_recycled();
            assert_eq!(in_use(), before);
        }
    }
}

//! The global allocator: the system allocator (dlmalloc on wasm32) plus the out-of-memory
//! protocol of `wasmgrad_core::memory`: a byte budget (4 GiB, or a lower limit the user
//! sets), a reserve kept back for bookkeeping allocations, and a record of the last
//! allocation that could not be satisfied.
//!
//! Fallible requests (tensor data, user-sized tables) fail once they would need the
//! reserve; bookkeeping requests may use it, so that an op that is short of memory still
//! gets to report it. `headroom` takes the reserve back before the next op, or fails it.

// On the host (unit tests) the system allocator stays the global one, so the wrapper is unused.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use wasmgrad_core::memory::{self, MemoryHooks};
use wasmgrad_core::storage;

/// Kept back for bookkeeping (shapes, graph nodes, error messages): far more than one op
/// or one node of a backward pass allocates outside its fallible requests.
pub const RESERVE_BYTES: usize = 256 << 10;
/// What wasm32 linear memory can hold.
pub const MEMORY_BYTES: usize = usize::MAX;

const RESERVE_ALIGN: usize = 8;

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
    let ptr = unsafe { System.alloc(reserve_layout()) };
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

/// Whether a request of `size` more bytes fits the budget, after freeing the recycled
/// tensor buffers if it needs their room, and handing over the reserve for a bookkeeping
/// request that needs it.
fn admit(size: usize) -> bool {
    let fallible = memory::in_fallible_scope();
    if fallible && RESERVE.load(Relaxed) == 0 {
        return false;
    }
    let fits = || IN_USE.load(Relaxed).saturating_add(size) <= LIMIT.load(Relaxed);
    fits() || (storage::release_recycled() && fits()) || (!fallible && release_reserve() && fits())
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

// SAFETY: every method forwards to `System` with the caller's layout and pointer
// unchanged; the wrapper only keeps counts and may refuse (return null) up front.
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
        let mut ptr = System.alloc(layout);
        // Memory (not the budget) ran out: free the recycled tensor buffers, then the reserve.
        if ptr.is_null() && storage::release_recycled() {
            ptr = System.alloc(layout);
        }
        if ptr.is_null() && may_retry() {
            ptr = System.alloc(layout);
        }
        settle(layout.size(), ptr)
    }

    #[inline(never)]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !admit(layout.size()) {
            return refuse(layout.size());
        }
        let mut ptr = System.alloc_zeroed(layout);
        if ptr.is_null() && storage::release_recycled() {
            ptr = System.alloc_zeroed(layout);
        }
        if ptr.is_null() && may_retry() {
            ptr = System.alloc_zeroed(layout);
        }
        settle(layout.size(), ptr)
    }

    #[inline(never)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        IN_USE.fetch_sub(layout.size(), Relaxed);
    }

    #[inline(never)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size <= layout.size() {
            let p = System.realloc(ptr, layout, new_size);
            if !p.is_null() {
                IN_USE.fetch_sub(layout.size() - new_size, Relaxed);
            }
            return p;
        }
        let more = new_size - layout.size();
        if !admit(more) {
            return refuse(more);
        }
        let mut p = System.realloc(ptr, layout, new_size);
        if p.is_null() && storage::release_recycled() {
            p = System.realloc(ptr, layout, new_size);
        }
        if p.is_null() && may_retry() {
            p = System.realloc(ptr, layout, new_size);
        }
        settle(more, p)
    }
}

//! Out-of-memory discipline. A failed allocation must become an `OutOfMemoryError`, never a
//! trap, and leave every tensor and the tape as they were. Two kinds of allocation:
//!
//! - **Sized by the user** (tensor data, handle lists, per-node tables of a backward pass):
//!   made inside [`fallible`], so the embedding's allocator refuses them, as an error, once
//!   they would eat into a small reserve kept back for the second kind.
//! - **Bookkeeping** (shapes, graph nodes, error messages): bounded per op, made the
//!   ordinary way. If memory runs out during one, the allocator hands the reserve over
//!   instead of failing, and the next [`headroom`] check (at the start of every call that
//!   allocates, and at every node of a backward pass) reports the shortage as an error
//!   until the reserve can be taken back.
//!
//! The core only defines the protocol; the wasm crate's global allocator implements it
//! (on the host, where no hooks are installed, every check passes).

use crate::error::{Error, Result};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set while a fallible allocation is being made (read by the global allocator).
static FALLIBLE: AtomicBool = AtomicBool::new(false);

/// What the embedding's allocator provides.
#[derive(Clone, Copy)]
pub struct MemoryHooks {
    /// Takes the reserve back if it was handed out; false if memory is too short for it.
    pub ensure_reserve: fn() -> bool,
    /// Bytes that can still be allocated (under the limit, beside the reserve).
    pub available: fn() -> usize,
    /// Size of the bookkeeping reserve (what `ensure_reserve` needs to take it back).
    pub reserve_bytes: usize,
}

thread_local! {
    static HOOKS: Cell<Option<MemoryHooks>> = const { Cell::new(None) };
}

pub fn install(hooks: MemoryHooks) {
    HOOKS.with(|h| h.set(Some(hooks)));
}

/// Whether the allocation being made is a fallible one.
pub fn in_fallible_scope() -> bool {
    FALLIBLE.load(Ordering::Relaxed)
}

/// Runs `f` (which allocates through `try_reserve`) as a fallible allocation.
pub fn fallible<R>(f: impl FnOnce() -> R) -> R {
    let outer = FALLIBLE.swap(true, Ordering::Relaxed);
    let r = f();
    FALLIBLE.store(outer, Ordering::Relaxed);
    r
}

/// Bytes that can still be allocated, if the embedding knows.
pub fn available() -> Option<usize> {
    HOOKS.with(Cell::get).map(|h| (h.available)())
}

/// The error for a failed request of `bytes` bytes made by `op`.
pub fn oom_error(op: &str, what: &str, bytes: u64) -> Error {
    let free = match available() {
        Some(n) => format!("{n} bytes are available"),
        None => "the allocator refused it".to_string(),
    };
    Error::oom(format!("{op}: out of memory allocating {what} ({bytes} bytes requested; {free})"))
}

/// Fails with an out-of-memory error if the bookkeeping reserve is in use and cannot be
/// taken back: the caller is about to allocate, and could otherwise trap.
pub fn headroom(op: &str) -> Result<()> {
    match HOOKS.with(Cell::get) {
        Some(h) if !(h.ensure_reserve)() => Err(Error::oom(format!(
            "{op}: out of memory ({} bytes requested for the bookkeeping reserve; {} bytes are available); dispose some tensors",
            h.reserve_bytes,
            (h.available)()
        ))),
        _ => Ok(()),
    }
}

/// Makes room for `additional` more elements in `v` (doubling, as `push` would), as a
/// fallible allocation: for tables whose size the user controls.
pub fn fallible_grow<T>(op: &str, v: &mut Vec<T>, additional: usize) -> Result<()> {
    if v.capacity() - v.len() >= additional {
        return Ok(());
    }
    let want = additional.max(v.len()).max(4);
    fallible(|| v.try_reserve(want)).map_err(|_| {
        oom_error(op, &format!("a table of {} entries", v.len() + want), ((v.len() + want) * std::mem::size_of::<T>()) as u64)
    })
}

/// As [`fallible_grow`], for hash maps and sets.
pub fn fallible_grow_map<K: std::hash::Hash + Eq, V>(op: &str, m: &mut std::collections::HashMap<K, V>) -> Result<()> {
    if m.capacity() > m.len() {
        return Ok(());
    }
    let want = m.len().max(8);
    fallible(|| m.try_reserve(want)).map_err(|_| {
        oom_error(op, &format!("a table of {} entries", m.len() + want), ((m.len() + want) * std::mem::size_of::<(K, V)>() * 2) as u64)
    })
}

/// As [`fallible_grow_map`], for hash sets.
pub fn fallible_grow_set<K: std::hash::Hash + Eq>(op: &str, s: &mut std::collections::HashSet<K>) -> Result<()> {
    if s.capacity() > s.len() {
        return Ok(());
    }
    let want = s.len().max(8);
    fallible(|| s.try_reserve(want)).map_err(|_| {
        oom_error(op, &format!("a table of {} entries", s.len() + want), ((s.len() + want) * std::mem::size_of::<K>() * 2) as u64)
    })
}

//! Handles: ids for tensors held on behalf of JS. A handle packs a slot index with the
//! slot's generation, so a disposed (or never issued) handle is detected. A handle is
//! never issued twice: handles are 53 bits wide (exact in a JS number), each slot goes
//! through 2^29 generations, and a slot whose generations are used up is retired for
//! good instead of wrapping around.

use wasmgrad_core::memory::fallible_grow;
use wasmgrad_core::{Error, Result, Tensor};

/// A tensor handle; 0 is never issued (it means "none" at the boundary).
pub type Handle = u64;

const INDEX_BITS: u32 = 24;
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;
/// Handles stay below 2^53, so JS numbers carry them exactly.
const GENERATION_BITS: u32 = 53 - INDEX_BITS;
/// The most tensors that can be alive (registered) at once.
pub const MAX_LIVE: usize = 1 << INDEX_BITS;

struct Slot {
    generation: u64,
    tensor: Option<Tensor>,
}

pub struct Registry {
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
    retired: usize,
    max_generation: u64,
}

impl Default for Registry {
    fn default() -> Self {
        Self::with_generations(GENERATION_BITS)
    }
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry whose slots retire after `2^bits - 1` generations (tests use few bits).
    fn with_generations(bits: u32) -> Self {
        Registry { slots: Vec::new(), free: Vec::new(), live: 0, retired: 0, max_generation: (1 << bits) - 1 }
    }

    pub fn live(&self) -> usize {
        self.live
    }

    /// Slots retired because their generations were used up (each costs a few bytes).
    #[cfg(test)]
    pub fn retired(&self) -> usize {
        self.retired
    }

    /// Registers `tensor` as its own (primary) handle: the one `handle_of` finds again.
    pub fn insert(&mut self, tensor: Tensor) -> Result<Handle> {
        let handle = self.insert_extra(tensor.clone())?;
        tensor.set_handle(handle);
        Ok(handle)
    }

    /// A further handle to `tensor` that leaves its primary handle as it is: for code that
    /// borrows the tensor under a handle it disposes afterwards.
    pub fn insert_extra(&mut self, tensor: Tensor) -> Result<Handle> {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                if self.slots.len() >= MAX_LIVE {
                    return Err(Error::oom(format!(
                        "too many live tensors ({} handles, {} of them retired); the limit is {MAX_LIVE}: dispose some",
                        self.slots.len(),
                        self.retired
                    )));
                }
                fallible_grow("tensor handles", &mut self.slots, 1)?;
                let free_room = self.slots.len() + 1 - self.free.len();
                fallible_grow("tensor handles", &mut self.free, free_room)?;
                self.slots.push(Slot { generation: 1, tensor: None });
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[index as usize];
        let handle = (slot.generation << INDEX_BITS) | index as u64;
        slot.tensor = Some(tensor);
        self.live += 1;
        Ok(handle)
    }

    fn slot(&self, handle: Handle) -> Option<&Slot> {
        let slot = self.slots.get((handle & INDEX_MASK) as usize)?;
        (slot.generation == handle >> INDEX_BITS && slot.tensor.is_some()).then_some(slot)
    }

    pub fn get(&self, op: &str, handle: Handle) -> Result<&Tensor> {
        self.slot(handle).and_then(|s| s.tensor.as_ref()).ok_or_else(|| {
            Error::disposed(format!("{op}: the tensor was disposed (or its handle {handle:#x} is invalid)"))
        })
    }

    pub fn contains(&self, handle: Handle) -> bool {
        self.slot(handle).is_some()
    }

    /// Frees exactly this handle; returns the tensor, or `None` if it was already gone.
    /// Whether it was the tensor's primary handle is returned alongside.
    pub fn remove(&mut self, handle: Handle) -> Option<(Tensor, bool)> {
        self.slot(handle)?;
        let index = (handle & INDEX_MASK) as usize;
        let slot = &mut self.slots[index];
        let tensor = slot.tensor.take()?;
        self.live -= 1;
        if slot.generation >= self.max_generation {
            // Never reuse: the next generation would wrap to a handle issued before.
            self.retired += 1;
        } else {
            slot.generation += 1;
            // Cannot fail: `free` was grown to hold every slot when the slot was made.
            self.free.push(index as u32);
        }
        let primary = tensor.handle() == handle;
        if primary {
            tensor.set_handle(0);
        }
        Some((tensor, primary))
    }

    /// The primary handle of `tensor`, registering it if it has none.
    pub fn handle_of(&mut self, tensor: &Tensor) -> Result<Handle> {
        let h = tensor.handle();
        if h != 0 && self.get("", h).map(|t| t.same(tensor)).unwrap_or(false) {
            return Ok(h);
        }
        self.insert(tensor.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_handles_are_detected() {
        let mut r = Registry::new();
        let h = r.insert(Tensor::scalar(1.0)).unwrap();
        assert!(r.get("t", h).is_ok());
        assert!(r.remove(h).is_some());
        assert!(r.remove(h).is_none());
        let h2 = r.insert(Tensor::scalar(2.0)).unwrap();
        assert_ne!(h, h2, "a reused slot must get a new generation");
        assert_eq!(r.get("t", h).unwrap_err().kind, wasmgrad_core::ErrorKind::Disposed);
        assert_eq!(r.live(), 1);
    }

    #[test]
    fn handles_fit_a_js_number_and_are_never_zero() {
        let mut r = Registry::new();
        let h = r.insert(Tensor::scalar(1.0)).unwrap();
        assert!(h != 0 && h < (1 << 53));
    }

    #[test]
    fn an_exhausted_slot_is_retired_not_wrapped() {
        let mut r = Registry::with_generations(3); // 7 generations per slot
        let first = r.insert(Tensor::scalar(0.0)).unwrap();
        r.remove(first);
        let mut issued = vec![first];
        for _ in 0..40 {
            let h = r.insert(Tensor::scalar(0.0)).unwrap();
            assert!(!issued.contains(&h), "handle {h:#x} issued twice");
            issued.push(h);
            r.remove(h);
        }
        assert!(r.retired() >= 5);
        for h in issued {
            assert!(r.get("t", h).is_err());
        }
    }

    #[test]
    fn removing_an_extra_handle_leaves_the_primary_one() {
        let mut r = Registry::new();
        let t = Tensor::scalar(1.0);
        let primary = r.insert(t.clone()).unwrap();
        let extra = r.insert_extra(t.clone()).unwrap();
        assert!(matches!(r.remove(extra), Some((_, false))));
        assert_eq!(t.handle(), primary);
        assert!(matches!(r.remove(primary), Some((_, true))));
        assert_eq!(t.handle(), 0);
    }
}

//! Handles: u32 ids for tensors held on behalf of JS. A handle packs a slot index with the
//! slot's generation, so a disposed (or never issued) handle is detected, never reused.

use crate::error::{Error, Result};
use crate::tensor::Tensor;

const INDEX_BITS: u32 = 20;
const INDEX_MASK: u32 = (1 << INDEX_BITS) - 1;
const MAX_GENERATION: u32 = (1 << (32 - INDEX_BITS)) - 1;

struct Slot {
    generation: u32,
    tensor: Option<Tensor>,
}

#[derive(Default)]
pub struct Registry {
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn live(&self) -> usize {
        self.live
    }

    pub fn insert(&mut self, tensor: Tensor) -> Result<u32> {
        let handle = self.insert_extra(tensor.clone())?;
        tensor.set_handle(handle);
        Ok(handle)
    }

    /// A further handle to `tensor` that leaves its own (stable) handle as it is: for code
    /// that borrows the tensor under a handle it disposes afterwards.
    pub fn insert_extra(&mut self, tensor: Tensor) -> Result<u32> {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                if self.slots.len() > INDEX_MASK as usize {
                    return Err(Error::oom(format!("too many live tensors (limit {}); dispose some", INDEX_MASK + 1)));
                }
                self.slots.push(Slot { generation: 1, tensor: None });
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[index as usize];
        let handle = (slot.generation << INDEX_BITS) | index;
        slot.tensor = Some(tensor);
        self.live += 1;
        Ok(handle)
    }

    fn slot(&self, handle: u32) -> Option<&Slot> {
        let slot = self.slots.get((handle & INDEX_MASK) as usize)?;
        (slot.generation == handle >> INDEX_BITS && slot.tensor.is_some()).then_some(slot)
    }

    pub fn get(&self, op: &str, handle: u32) -> Result<&Tensor> {
        self.slot(handle).and_then(|s| s.tensor.as_ref()).ok_or_else(|| {
            Error::disposed(format!("{op}: the tensor was disposed (or its handle {handle:#x} is invalid)"))
        })
    }

    pub fn contains(&self, handle: u32) -> bool {
        self.slot(handle).is_some()
    }

    /// Frees the handle; returns the tensor, or `None` if it was already gone.
    pub fn remove(&mut self, handle: u32) -> Option<Tensor> {
        self.slot(handle)?;
        let index = handle & INDEX_MASK;
        let slot = &mut self.slots[index as usize];
        let tensor = slot.tensor.take();
        slot.generation = if slot.generation >= MAX_GENERATION { 1 } else { slot.generation + 1 };
        self.free.push(index);
        self.live -= 1;
        if let Some(t) = &tensor {
            if t.handle() == handle {
                t.set_handle(0);
            }
        }
        tensor
    }

    /// The handle `tensor` is registered under, registering it if it has none.
    pub fn handle_of(&mut self, tensor: &Tensor) -> Result<u32> {
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
        assert_eq!(r.get("t", h).unwrap_err().kind, crate::ErrorKind::Disposed);
        assert_eq!(r.live(), 1);
    }
}

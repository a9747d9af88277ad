//! Reference-counted element buffers with a version counter and live-memory accounting.

use crate::error::{Error, Result};
use std::cell::{Cell, Ref, RefCell, RefMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum DType {
    F32 = 0,
    I32 = 1,
    /// One byte per element, 0 or 1 (PyTorch's `torch.bool`); never requires grad.
    Bool = 2,
}

impl DType {
    pub fn from_code(code: u32) -> Result<DType> {
        match code {
            0 => Ok(DType::F32),
            1 => Ok(DType::I32),
            2 => Ok(DType::Bool),
            _ => Err(Error::argument(format!("unknown dtype code {code}"))),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::I32 => "int32",
            DType::Bool => "bool",
        }
    }
    pub fn size_of(self) -> usize {
        match self {
            DType::F32 | DType::I32 => 4,
            DType::Bool => 1,
        }
    }
}

#[derive(Debug)]
pub enum Buffer {
    F32(Vec<f32>),
    I32(Vec<i32>),
    /// Bytes rather than `Vec<bool>`: JS writes tensor data through raw pointers, and a
    /// byte other than 0 or 1 in a `bool` would be undefined behaviour. Readers treat any
    /// non-zero byte as true; the core only ever writes 0 or 1.
    Bool(Vec<u8>),
}

impl Buffer {
    pub fn dtype(&self) -> DType {
        match self {
            Buffer::F32(_) => DType::F32,
            Buffer::I32(_) => DType::I32,
            Buffer::Bool(_) => DType::Bool,
        }
    }
    pub fn len(&self) -> usize {
        match self {
            Buffer::F32(v) => v.len(),
            Buffer::I32(v) => v.len(),
            Buffer::Bool(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

thread_local! {
    static LIVE_BYTES: Cell<usize> = const { Cell::new(0) };
    static LIVE_BUFFERS: Cell<usize> = const { Cell::new(0) };
}

/// Bytes and buffers currently allocated for tensor data (views share one buffer).
pub fn live_memory() -> (usize, usize) {
    (LIVE_BYTES.with(Cell::get), LIVE_BUFFERS.with(Cell::get))
}

/// The most bytes one buffer can have: `isize::MAX` of wasm32 (2 GiB − 1), the limit Rust
/// puts on any one allocation there. The same on every target, so hosts agree with wasm.
pub const MAX_BUFFER_BYTES: usize = i32::MAX as usize;

/// Allocates `len` elements, reporting failure as an error instead of aborting.
///
/// Every element is written with `fill`: for outputs a kernel accumulates into. An output
/// the kernel writes in full is built with [`try_map`] or [`try_build`] instead, which
/// write the memory once rather than fill it and then overwrite it.
pub fn try_alloc<T: Clone>(op: &str, len: usize, fill: T) -> Result<Vec<T>> {
    let mut v = try_with_capacity(op, len)?;
    v.resize(len, fill);
    Ok(v)
}

/// `len` elements with unspecified values (zeros, or for f32 the data of a tensor freed
/// earlier): for an output its kernel writes in full. A large f32 one reuses a freed
/// buffer of the same length when there is one, which saves the zero fill (a pass over
/// memory as long as a bandwidth-bound kernel's).
pub fn try_alloc_overwritten<T: Recyclable>(op: &str, len: usize) -> Result<Vec<T>> {
    match T::recycled(len) {
        Some(v) => Ok(v),
        None => try_alloc(op, len, T::default()),
    }
}

/// Element types of tensor data; f32 buffers are recycled (see [`try_alloc_overwritten`]).
pub trait Recyclable: Copy + Default {
    /// A kept buffer of exactly `len` elements.
    fn recycled(_len: usize) -> Option<Vec<Self>> {
        None
    }
}

impl Recyclable for f32 {
    fn recycled(len: usize) -> Option<Vec<f32>> {
        take_recycled(len)
    }
}
impl Recyclable for i32 {}
impl Recyclable for u8 {}

/// An empty vector with room for exactly `len` elements, reporting failure as an error.
pub fn try_with_capacity<T>(op: &str, len: usize) -> Result<Vec<T>> {
    let size = std::mem::size_of::<T>().max(1);
    if len > MAX_BUFFER_BYTES / size {
        return Err(too_large(op, len, size));
    }
    let mut v = Vec::new();
    if crate::memory::fallible(|| v.try_reserve_exact(len)).is_err() {
        return Err(refused(op, len, std::mem::size_of::<T>()));
    }
    Ok(v)
}

/// Freed f32 buffers of at least this many elements (256 KiB) are kept for reuse. The unit
/// tests recycle every buffer, filled with NaN, so that a kernel relying on a zeroed
/// output it was given as overwritten shows up in their results.
const RECYCLE_MIN: usize = if cfg!(test) { 1 } else { 1 << 16 };
/// At most this many recycled buffers are kept, the newest,
const RECYCLE_SLOTS: usize = 8;
/// holding at most this many bytes in all.
const RECYCLE_BYTES: usize = 64 << 20;

/// The data of freed tensors kept for [`try_alloc_overwritten`], oldest first: a training
/// step frees the buffers the next step asks for again. A lock rather than a thread-local:
/// the global allocator may ask for them back ([`release_recycled`]) on any thread, and
/// only ever tries the lock (tensors live on one thread, so it is never contended).
static RECYCLED: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());
/// Bytes in [`RECYCLED`], readable without the lock.
static RECYCLED_BYTES: AtomicUsize = AtomicUsize::new(0);

/// Keeps a freed buffer for reuse (or drops it, if small), dropping the oldest ones past
/// the limits. Out of line: every drop of a tensor reaches it.
#[inline(never)]
fn recycle(v: Vec<f32>) {
    if v.len() < RECYCLE_MIN || v.capacity() > RECYCLE_BYTES / 4 {
        return;
    }
    let Ok(mut kept) = RECYCLED.try_lock() else { return };
    #[cfg(test)]
    let v = {
        let mut v = v;
        v.fill(f32::NAN);
        v
    };
    if kept.capacity() < RECYCLE_SLOTS + 1 && kept.try_reserve_exact(RECYCLE_SLOTS + 1).is_err() {
        return;
    }
    kept.push(v);
    while kept.len() > RECYCLE_SLOTS || bytes_of(&kept) > RECYCLE_BYTES {
        kept.remove(0);
    }
    RECYCLED_BYTES.store(bytes_of(&kept), Ordering::Relaxed);
}

fn bytes_of(kept: &[Vec<f32>]) -> usize {
    kept.iter().map(|v| v.capacity() * 4).sum()
}

/// A kept buffer of exactly `len` elements, the newest one.
#[inline(never)]
fn take_recycled(len: usize) -> Option<Vec<f32>> {
    if len < RECYCLE_MIN || RECYCLED_BYTES.load(Ordering::Relaxed) == 0 {
        return None;
    }
    let mut kept = RECYCLED.try_lock().ok()?;
    let i = kept.iter().rposition(|v| v.len() == len)?;
    let v = kept.remove(i);
    RECYCLED_BYTES.store(bytes_of(&kept), Ordering::Relaxed);
    Some(v)
}

/// Bytes held by recycled buffers: free memory as far as the user is concerned.
pub fn recycled_bytes() -> usize {
    RECYCLED_BYTES.load(Ordering::Relaxed)
}

/// Frees the recycled buffers; true if there were any. The global allocator calls it
/// before it refuses a request, so they never make an allocation fail; it does nothing
/// while the calling thread itself holds them (in [`recycle`] or [`take_recycled`]).
pub fn release_recycled() -> bool {
    if RECYCLED_BYTES.load(Ordering::Relaxed) == 0 {
        return false;
    }
    let Ok(mut kept) = RECYCLED.try_lock() else { return false };
    let freed = std::mem::take(&mut *kept);
    RECYCLED_BYTES.store(0, Ordering::Relaxed);
    drop(kept);
    !freed.is_empty()
}

/// The error for more elements than one buffer can hold (out of line, as both below).
#[cold]
#[inline(never)]
fn too_large(op: &str, len: usize, size: usize) -> Error {
    Error::oom(format!(
        "{op}: out of memory: {len} elements of {size} bytes need {} bytes; one tensor can hold at most {MAX_BUFFER_BYTES} \
         bytes (2 GiB - 1, wasm32's limit on one allocation): {} float32 elements",
        len as u64 * size as u64,
        MAX_BUFFER_BYTES / 4
    ))
}

/// The error for a buffer the allocator refused.
#[cold]
#[inline(never)]
fn refused(op: &str, len: usize, size: usize) -> Error {
    crate::memory::oom_error(op, &format!("{len} elements"), len as u64 * size as u64)
}

/// `f` over `src` into a new vector, reporting allocation failure as an error.
pub fn try_map<S: Copy, T: Copy + Default>(op: &str, src: &[S], f: impl Fn(S) -> T) -> Result<Vec<T>> {
    let mut out = try_alloc(op, src.len(), T::default())?;
    for (o, &v) in out.iter_mut().zip(src) {
        *o = f(v);
    }
    Ok(out)
}

/// A copy of `src`, reporting allocation failure as an error.
pub fn try_copy<T: Copy>(op: &str, src: &[T]) -> Result<Vec<T>> {
    let mut v = try_with_capacity(op, src.len())?;
    v.extend_from_slice(src);
    Ok(v)
}

/// The items of `iter` (at most `len` of them), collected into one fallible allocation.
pub fn try_collect<T>(op: &str, len: usize, iter: impl IntoIterator<Item = T>) -> Result<Vec<T>> {
    let mut v = try_with_capacity(op, len)?;
    v.extend(iter.into_iter().take(len));
    Ok(v)
}

/// The most elements [`try_build`] hands its `fill` at a time (4 KiB of f32 on the stack).
pub const BUILD_BLOCK: usize = 1024;

/// A vector of `len` elements, written block by block by `fill(start, block)`, which must
/// set every element of `block` (the elements `start .. start + block.len()`); blocks have
/// `block` elements (1 ≤ `block` ≤ [`BUILD_BLOCK`]), the last one possibly fewer.
///
/// For kernels that write into a slice: each block goes through a buffer on the stack,
/// which stays in L1, so the vector's memory is written once. Filling the vector with
/// zeros first and then letting the kernel overwrite it costs a second pass over memory,
/// as much time again as a bandwidth-bound kernel takes. Up to `block` elements there is
/// one call, on the vector itself (a small fill costs nothing measurable).
///
/// A recycled buffer ([`try_alloc_overwritten`]) is written in place, block by block.
pub fn try_build<T: Recyclable>(op: &str, len: usize, block: usize, mut fill: impl FnMut(usize, &mut [T])) -> Result<Vec<T>> {
    if let Some(mut v) = T::recycled(len) {
        fill_in_blocks_dyn(&mut v, block, &mut fill);
        return Ok(v);
    }
    let mut v = try_with_capacity(op, len)?;
    extend_in_blocks_dyn(&mut v, len, block, &mut fill);
    Ok(v)
}

/// `fill` over `v` in blocks, as [`extend_in_blocks_dyn`] hands them out.
#[inline(never)]
fn fill_in_blocks_dyn<T>(v: &mut [T], block: usize, fill: &mut dyn FnMut(usize, &mut [T])) {
    let block = block.clamp(1, BUILD_BLOCK);
    for (i, part) in v.chunks_mut(block).enumerate() {
        fill(i * block, part);
    }
}

/// Appends `len` elements to `v` (which has room for them) as [`try_build`] builds them,
/// with `fill` behind `&mut dyn`: compiled once per element type rather than once per
/// caller (one call per block costs nothing measurable).
#[inline(never)]
fn extend_in_blocks_dyn<T: Copy + Default>(v: &mut Vec<T>, len: usize, block: usize, fill: &mut dyn FnMut(usize, &mut [T])) {
    let block = block.clamp(1, BUILD_BLOCK);
    if len <= block {
        let at = v.len();
        v.resize(at + len, T::default());
        fill(0, &mut v[at..]);
        return;
    }
    let mut buf = [T::default(); BUILD_BLOCK];
    for start in (0..len).step_by(block) {
        let part = &mut buf[..block.min(len - start)];
        fill(start, part);
        v.extend_from_slice(part);
    }
}

/// One allocation of tensor data. `version` counts in-place writes, so that autograd can
/// detect that a tensor it saved for backward was modified afterwards.
#[derive(Debug)]
pub struct Storage {
    buffer: RefCell<Buffer>,
    version: Cell<u64>,
    bytes: usize,
}

impl Storage {
    pub fn new(buffer: Buffer) -> Storage {
        let bytes = buffer.len() * buffer.dtype().size_of();
        LIVE_BYTES.with(|b| b.set(b.get() + bytes));
        LIVE_BUFFERS.with(|b| b.set(b.get() + 1));
        Storage { buffer: RefCell::new(buffer), version: Cell::new(0), bytes }
    }
    pub fn dtype(&self) -> DType {
        self.buffer.borrow().dtype()
    }
    pub fn buffer(&self) -> Ref<'_, Buffer> {
        self.buffer.borrow()
    }
    /// Mutable access for in-place writes; bumps the version.
    pub fn buffer_mut(&self) -> RefMut<'_, Buffer> {
        self.version.set(self.version.get() + 1);
        self.buffer.borrow_mut()
    }
    pub fn version(&self) -> u64 {
        self.version.get()
    }
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        LIVE_BYTES.with(|b| b.set(b.get() - self.bytes));
        LIVE_BUFFERS.with(|b| b.set(b.get() - 1));
        if let Buffer::F32(v) = self.buffer.get_mut() {
            if v.len() >= RECYCLE_MIN {
                recycle(std::mem::take(v));
            }
        }
    }
}

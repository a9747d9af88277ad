//! The tensor: a layout over shared storage, plus its autograd metadata.

use crate::autograd::graph::Node;
use crate::error::{fmt_shape, Error, Result};
use crate::layout::{checked_numel, Layout, StridedWalk};
use crate::storage::{try_alloc, try_alloc_overwritten, try_map, Buffer, DType, Recyclable, Storage};
use std::cell::{Cell, Ref, RefCell};
use std::rc::Rc;

pub struct TensorInner {
    pub(crate) storage: Rc<Storage>,
    pub(crate) layout: Layout,
    pub(crate) requires_grad: Cell<bool>,
    /// Accumulated gradient of a leaf.
    pub(crate) grad: RefCell<Option<Tensor>>,
    /// The node that produced this tensor; `None` for leaves and constants.
    pub(crate) grad_fn: RefCell<Option<Rc<Node>>>,
    /// The handle this tensor is registered under, so the same grad tensor is handed out
    /// under one stable handle (0 while unregistered).
    pub(crate) handle: Cell<u64>,
    /// Host gradient hooks of a leaf (a non-leaf's hooks live on its node).
    pub(crate) hooks: RefCell<Vec<u32>>,
}

impl Drop for TensorInner {
    fn drop(&mut self) {
        if !self.hooks.get_mut().is_empty() {
            crate::autograd::host::release(self.hooks.take());
        }
    }
}

/// A cheap, reference-counted tensor. Cloning shares everything; views share storage.
#[derive(Clone)]
pub struct Tensor(pub(crate) Rc<TensorInner>);

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor({:?}, {})", self.shape(), self.dtype().name())
    }
}

impl Tensor {
    pub fn from_parts(storage: Rc<Storage>, layout: Layout) -> Tensor {
        Tensor(Rc::new(TensorInner {
            storage,
            layout,
            requires_grad: Cell::new(false),
            grad: RefCell::new(None),
            grad_fn: RefCell::new(None),
            handle: Cell::new(0),
            hooks: RefCell::new(Vec::new()),
        }))
    }

    pub fn from_buffer(buffer: Buffer, shape: &[usize]) -> Result<Tensor> {
        let n = checked_numel("tensor", shape)?;
        if n != buffer.len() {
            return Err(Error::shape(format!(
                "tensor: {} values do not fill shape {} ({n} elements)",
                buffer.len(),
                fmt_shape(shape)
            )));
        }
        Ok(Tensor::from_parts(Rc::new(Storage::new(buffer)), Layout::contiguous(shape)))
    }

    pub fn from_f32(values: Vec<f32>, shape: &[usize]) -> Result<Tensor> {
        Tensor::from_buffer(Buffer::F32(values), shape)
    }

    /// A tensor of `shape` filled with `value`.
    pub fn full(op: &str, shape: &[usize], value: f64, dtype: DType) -> Result<Tensor> {
        let n = checked_numel(op, shape)?;
        let buffer = match dtype {
            DType::F32 => Buffer::F32(try_alloc(op, n, value as f32)?),
            DType::I32 => Buffer::I32(try_alloc(op, n, value as i32)?),
            // NaN is non-zero, hence true, as in PyTorch.
            DType::Bool => Buffer::Bool(try_alloc(op, n, (value != 0.0) as u8)?),
        };
        Tensor::from_buffer(buffer, shape)
    }

    pub fn scalar(value: f32) -> Tensor {
        Tensor::from_parts(Rc::new(Storage::new(Buffer::F32(vec![value]))), Layout::contiguous(&[]))
    }

    pub fn shape(&self) -> &[usize] {
        &self.0.layout.shape
    }
    pub fn layout(&self) -> &Layout {
        &self.0.layout
    }
    pub fn ndim(&self) -> usize {
        self.0.layout.ndim()
    }
    pub fn numel(&self) -> usize {
        self.0.layout.numel()
    }
    pub fn dtype(&self) -> DType {
        self.0.storage.dtype()
    }
    pub fn storage(&self) -> &Rc<Storage> {
        &self.0.storage
    }
    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad.get()
    }
    pub fn is_leaf(&self) -> bool {
        self.0.grad_fn.borrow().is_none()
    }
    pub fn grad_fn(&self) -> Option<Rc<Node>> {
        self.0.grad_fn.borrow().clone()
    }
    pub fn grad(&self) -> Option<Tensor> {
        self.0.grad.borrow().clone()
    }
    pub fn handle(&self) -> u64 {
        self.0.handle.get()
    }
    pub fn set_handle(&self, handle: u64) {
        self.0.handle.set(handle)
    }
    pub fn same(&self, other: &Tensor) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }

    /// PyTorch's `requires_grad_`: only leaves may change the flag, only floats may need grads.
    pub fn set_requires_grad(&self, flag: bool) -> Result<()> {
        if !self.is_leaf() {
            // A non-leaf already requires grad: turning it on is a no-op, as in PyTorch.
            return if flag {
                Ok(())
            } else {
                Err(Error::autograd(
                    "requiresGrad: you can only change requiresGrad of leaf tensors; use detach() to get a leaf",
                ))
            };
        }
        if flag && self.dtype() != DType::F32 {
            return Err(Error::dtype(format!(
                "requiresGrad: only float32 tensors can require gradients, got {}",
                self.dtype().name()
            )));
        }
        self.0.requires_grad.set(flag);
        Ok(())
    }

    pub fn set_grad(&self, grad: Option<Tensor>) -> Result<()> {
        if let Some(g) = &grad {
            if g.shape() != self.shape() {
                return Err(Error::shape(format!(
                    "grad: assigned gradient of shape {} to a tensor of shape {}",
                    fmt_shape(g.shape()),
                    fmt_shape(self.shape())
                )));
            }
            g.expect_f32("grad")?;
        }
        *self.0.grad.borrow_mut() = grad;
        Ok(())
    }

    /// A new leaf sharing this tensor's data, outside any graph.
    pub fn detach(&self) -> Tensor {
        Tensor::from_parts(self.0.storage.clone(), self.0.layout.clone())
    }

    /// This tensor's data as a non-leaf produced by `node` (restores a saved output's link).
    pub(crate) fn with_grad_fn(&self, node: Rc<Node>) -> Tensor {
        let t = self.detach();
        t.0.requires_grad.set(true);
        *t.0.grad_fn.borrow_mut() = Some(node);
        t
    }

    /// A second tensor object for the same data and graph position (handed to host code
    /// that will dispose it, so the original keeps its handle).
    pub fn alias(&self) -> Tensor {
        let t = self.detach();
        t.0.requires_grad.set(self.requires_grad());
        *t.0.grad_fn.borrow_mut() = self.grad_fn();
        t
    }

    /// Registers host gradient hook `id`: on the producing node for a non-leaf, on the
    /// tensor itself for a leaf.
    pub fn add_hook(&self, id: u32) -> Result<()> {
        if !self.requires_grad() {
            return Err(Error::autograd(
                "registerHook: cannot register a hook on a tensor that doesn't require gradient",
            ));
        }
        match self.grad_fn() {
            Some(node) => node.hooks.borrow_mut().push(id),
            None => self.0.hooks.borrow_mut().push(id),
        }
        Ok(())
    }

    pub(crate) fn leaf_hooks(&self) -> Vec<u32> {
        self.0.hooks.borrow().clone()
    }

    /// A view of the same storage with another layout (no autograd recording).
    pub fn view_with(&self, layout: Layout) -> Tensor {
        Tensor::from_parts(self.0.storage.clone(), layout)
    }

    #[inline]
    pub fn expect_f32(&self, op: &str) -> Result<()> {
        match self.dtype() {
            DType::F32 => Ok(()),
            other => Err(self.not_f32(op, other)),
        }
    }

    #[cold]
    #[inline(never)]
    fn not_f32(&self, op: &str, dtype: DType) -> Error {
        Error::dtype(format!(
            "{op}: expected a float32 tensor, got {} of shape {}; cast it with .to('float32')",
            dtype.name(),
            fmt_shape(self.shape())
        ))
    }

    pub fn buffer(&self) -> Ref<'_, Buffer> {
        self.0.storage.buffer()
    }

    /// The f32 elements in row-major order, copied only when the layout is not contiguous.
    pub fn with_f32<R>(&self, op: &str, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
        self.expect_f32(op)?;
        let buffer = self.buffer();
        let Buffer::F32(data) = &*buffer else { unreachable_dtype() };
        let l = &self.0.layout;
        if l.is_contiguous() {
            return Ok(f(&data[l.offset..l.offset + l.numel()]));
        }
        let gathered = gather(op, data, l)?;
        Ok(f(&gathered))
    }

    /// A contiguous copy of the elements (any dtype) as a new tensor.
    pub fn contiguous_copy(&self, op: &str) -> Result<Tensor> {
        let buffer = self.buffer();
        let l = &self.0.layout;
        let out = match &*buffer {
            Buffer::F32(d) => Buffer::F32(gather(op, d, l)?),
            Buffer::I32(d) => Buffer::I32(gather(op, d, l)?),
            Buffer::Bool(d) => Buffer::Bool(gather(op, d, l)?),
        };
        drop(buffer);
        Tensor::from_buffer(out, self.shape())
    }

    /// This tensor if already contiguous, else a contiguous copy.
    pub fn contiguous(&self, op: &str) -> Result<Tensor> {
        if self.0.layout.is_contiguous() {
            Ok(self.clone())
        } else {
            self.contiguous_copy(op)
        }
    }

    /// Float values converted to f64 (for tests and printing).
    pub fn to_f64_vec(&self) -> Result<Vec<f64>> {
        self.f64_values("read")
    }

    /// Values converted to f64 in row-major order, for `op` (one fallible allocation).
    pub fn f64_values(&self, op: &str) -> Result<Vec<f64>> {
        let t = self.contiguous(op)?;
        let buffer = t.buffer();
        let l = t.layout();
        let range = l.offset..l.offset + l.numel();
        match &*buffer {
            Buffer::F32(d) => try_map(op, &d[range], |x| x as f64),
            Buffer::I32(d) => try_map(op, &d[range], |x| x as f64),
            Buffer::Bool(d) => try_map(op, &d[range], |x| (x != 0) as u8 as f64),
        }
    }

    /// Float values as a row-major f32 vector, for `op` (one fallible allocation).
    pub fn f32_values(&self, op: &str) -> Result<Vec<f32>> {
        let t = self.contiguous(op)?;
        let buffer = t.buffer();
        let l = t.layout();
        let range = l.offset..l.offset + l.numel();
        match &*buffer {
            Buffer::F32(d) => try_map(op, &d[range], |x| x),
            Buffer::I32(d) => try_map(op, &d[range], |x| x as f32),
            Buffer::Bool(d) => try_map(op, &d[range], |x| (x != 0) as u8 as f32),
        }
    }
}

/// The shortest unit-stride row [`gather`] and [`scatter`] copy with `copy_from_slice`.
const MIN_COPY_ROW: usize = 16;

/// Copies the elements a strided layout selects into a fresh row-major vector.
pub fn gather<T: Recyclable>(op: &str, data: &[T], layout: &Layout) -> Result<Vec<T>> {
    let mut out = try_alloc_overwritten(op, layout.numel())?;
    let walk = StridedWalk::new(&layout.shape, [&layout.strides]);
    let mut pos = 0;
    walk.for_each_row([layout.offset], |[o], len, [s]| {
        // Unit-stride rows (a narrowed or concatenated block) as one copy each; short
        // ones stay a loop, which beats a call to memcpy.
        if s == 1 && len >= MIN_COPY_ROW {
            out[pos..pos + len].copy_from_slice(&data[o..o + len]);
        } else {
            for (i, slot) in out[pos..pos + len].iter_mut().enumerate() {
                *slot = data[o + i * s];
            }
        }
        pos += len;
    });
    Ok(out)
}

/// Writes row-major `values` through a strided layout (the inverse of [`gather`]).
pub fn scatter<T: Copy + Send + Sync>(values: &[T], data: &mut [T], layout: &Layout) {
    if layout.is_contiguous() {
        // An optimizer's in-place update of a whole parameter: one copy, split among threads.
        let dst = &mut data[layout.offset..layout.offset + values.len()];
        return crate::parallel::for_chunks_mut(dst, copy_chunk(values.len()), &|start, part| {
            part.copy_from_slice(&values[start..start + part.len()]);
        });
    }
    let walk = StridedWalk::new(&layout.shape, [&layout.strides]);
    let mut pos = 0;
    walk.for_each_row([layout.offset], |[o], len, [s]| {
        if s == 1 && len >= MIN_COPY_ROW {
            data[o..o + len].copy_from_slice(&values[pos..pos + len]);
        } else {
            for (i, &v) in values[pos..pos + len].iter().enumerate() {
                data[o + i * s] = v;
            }
        }
        pos += len;
    });
}

/// Elements per task of a contiguous copy or fill: all of them (one task) below
/// [`crate::parallel::MIN_PARALLEL_ELEMENTS`], else fixed chunks from the length alone.
pub(crate) fn copy_chunk(len: usize) -> usize {
    if len < crate::parallel::MIN_PARALLEL_ELEMENTS { len } else { crate::parallel::chunk_len(len, 1) }
}

/// Writes `values` (any layout, `layout`'s shape, `target`'s dtype) into `target`'s
/// storage through `layout`. `values` must not share `target`'s storage.
pub fn write_through(target: &Tensor, layout: &Layout, values: &Tensor) -> Result<()> {
    let src = values.contiguous("write")?;
    let src_buffer = src.buffer();
    let range = src.layout().offset..src.layout().offset + src.numel();
    let mut dst_buffer = target.storage().buffer_mut();
    match (&*src_buffer, &mut *dst_buffer) {
        (Buffer::F32(s), Buffer::F32(d)) => scatter(&s[range], d, layout),
        (Buffer::I32(s), Buffer::I32(d)) => scatter(&s[range], d, layout),
        (Buffer::Bool(s), Buffer::Bool(d)) => scatter(&s[range], d, layout),
        _ => unreachable_dtype(),
    }
    Ok(())
}

/// Every tensor whose dtype was checked with `expect_f32` holds an F32 buffer; reaching
/// the other arm is a bug in the core, not a user error.
#[cold]
pub(crate) fn unreachable_dtype() -> ! {
    unreachable!("dtype was validated before the kernel ran")
}

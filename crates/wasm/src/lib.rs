//! The WebAssembly boundary: raw `extern "C"` exports over u32 tensor handles.
//!
//! Conventions, relied on by `ts/ffi.ts`:
//! - Handles cross as f64 (53-bit integers, exact in a JS number; see `registry.rs`): 0 is
//!   "none" in an argument and "failed" in a result; [`ABSENT`] is an explicit "no tensor"
//!   result (a leaf without a gradient), which is not an error.
//! - An export that makes a tensor returns its handle, or 0 on failure.
//! - An export that only acts returns a status: 0 on success, else an error code.
//! - After a failure, `wg_error_code` and `wg_error_message` (text buffer) describe it.
//! - Shapes, axes and other small integer lists travel through a fixed scratch area of
//!   `SCRATCH_WORDS` i32s (`wg_scratch`), so no call allocates to pass them. Float
//!   argument lists (optimizer hyper-parameters) use a second one of `FSCRATCH_WORDS`
//!   f64s (`wg_fscratch`).
//! - Strings (catalog, messages, names) are returned through a text buffer
//!   (`wg_text_ptr` + the returned length).
//!
//! - Pointers and sizes are unsigned (`usize`): JS reads them with `>>> 0`, since memory
//!   may pass 2 GiB.
//! - Every constant TS needs (dtype codes, error codes, flags, limits) is published by
//!   [`wg_constants`]; none is copied by hand.
//!
//! No export panics on user input; the core validates everything before kernels run. If a
//! bug panics anyway, the panic hook records the message where JS can read it after the
//! trap (`wg_panic_record`).

mod allocator;
mod autograd;
mod constants;
mod panic;
mod registry;

use std::cell::RefCell;
use wasmgrad_core::autograd::mode;
use wasmgrad_core::kernels::random;
use wasmgrad_core::layout::MAX_RANK;
use wasmgrad_core::ops::{self, creation, inplace, movement, nn, optim, reduce, unary};
use wasmgrad_core::memory::headroom;
use registry::{Handle, Registry};
use wasmgrad_core::storage::{live_memory, Buffer, DType};
use wasmgrad_core::{Error, Result, Tensor};

const SCRATCH_WORDS: usize = 64;
const FSCRATCH_WORDS: usize = 16;

/// A tensor handle as it crosses the boundary (see the conventions above).
type Wire = f64;
/// The result "no tensor, and no error".
const ABSENT: Wire = -1.0;

/// A handle from JS: an integer below 2^53 (anything else matches no tensor).
fn from_wire(h: Wire) -> Handle {
    if h >= 0.0 && h < 9007199254740992.0 && h.fract() == 0.0 {
        h as Handle
    } else {
        Handle::MAX
    }
}

fn to_wire(h: Handle) -> Wire {
    h as Wire
}

struct Runtime {
    registry: Registry,
    scratch: Box<[i32; SCRATCH_WORDS]>,
    fscratch: Box<[f64; FSCRATCH_WORDS]>,
    text: String,
    error_code: u32,
    error_message: String,
    /// Contiguous copy of the last non-contiguous tensor read through `wg_data_ptr`.
    readback: Option<Tensor>,
    /// Handle lists of any length (`wg_list`): autograd.grad's tensors, host-call arguments.
    list: Vec<Wire>,
    /// UTF-8 text from JS (`wg_text_in`), e.g. a custom function's name.
    text_in: Vec<u8>,
    /// What the last host callback returned (`wg_host_return`).
    host_results: Vec<Option<Tensor>>,
}

thread_local! {
    static RUNTIME: RefCell<Runtime> = RefCell::new({ autograd::install_host(); allocator::install(); panic::install(); Runtime {
        registry: Registry::new(),
        scratch: Box::new([0; SCRATCH_WORDS]),
        fscratch: Box::new([0.0; FSCRATCH_WORDS]),
        text: String::new(),
        error_code: 0,
        error_message: String::new(),
        readback: None,
        list: Vec::new(),
        text_in: Vec::new(),
        host_results: Vec::new(),
    }});
}

/// Runs `f` with the runtime borrowed. Never hold it across code that may call back into
/// JS (backward with hooks or custom functions): JS would re-enter and find it borrowed.
fn with_rt<R>(f: impl FnOnce(&mut Runtime) -> R) -> R {
    RUNTIME.with(|rt| f(&mut rt.borrow_mut()))
}

impl Runtime {
    fn fail(&mut self, e: Error) {
        self.error_code = e.kind as u32;
        self.error_message = e.message;
    }

    fn status(&mut self, r: Result<()>) -> u32 {
        match r {
            Ok(()) => 0,
            Err(e) => {
                let code = e.kind as u32;
                self.fail(e);
                code
            }
        }
    }

    /// Registers an op's result; a result that is an already registered tensor (e.g.
    /// `to()` with the same dtype) keeps its handle.
    fn handle(&mut self, r: Result<Tensor>) -> Wire {
        match r.and_then(|t| self.registry.handle_of(&t)) {
            Ok(h) => to_wire(h),
            Err(e) => {
                self.fail(e);
                0.0
            }
        }
    }

    fn get(&self, op: &str, h: Wire) -> Result<Tensor> {
        self.registry.get(op, from_wire(h)).cloned()
    }

    /// An optional operand: handle 0 means absent.
    fn get_optional(&self, op: &str, h: Wire) -> Result<Option<Tensor>> {
        if h == 0.0 { Ok(None) } else { self.get(op, h).map(Some) }
    }

    /// Frees exactly handle `h`. A leaf's gradient handle belongs to the leaf's own
    /// (primary) handle and goes with it, not with any further handle of the leaf.
    ///
    /// The leaf also lets go of its gradient: nobody can reach it any more, and a gradient
    /// recorded with `createGraph` refers back to the leaf (a cycle that would never be
    /// freed; PyTorch warns about it, here it is simply broken).
    fn dispose(&mut self, h: Wire) {
        if let Some((t, primary)) = self.registry.remove(from_wire(h)) {
            if primary {
                if let Some(g) = t.grad() {
                    if g.handle() != 0 {
                        self.registry.remove(g.handle());
                    }
                    let _ = t.set_grad(None);
                }
            }
        }
    }

    fn ints(&self, op: &str, n: i32) -> Result<Vec<i64>> {
        if n < 0 || n as usize > SCRATCH_WORDS.min(MAX_RANK) {
            return Err(Error::argument(format!("{op}: {n} dims/axes given; at most {MAX_RANK} are supported")));
        }
        Ok(self.scratch[..n as usize].iter().map(|&v| v as i64).collect())
    }

    fn floats(&self, op: &str, n: i32) -> Result<Vec<f64>> {
        if n < 0 || n as usize > FSCRATCH_WORDS {
            return Err(Error::argument(format!("{op}: {n} float arguments given; at most {FSCRATCH_WORDS} fit")));
        }
        Ok(self.fscratch[..n as usize].to_vec())
    }

    fn shape(&self, op: &str, n: i32) -> Result<Vec<usize>> {
        self.ints(op, n)?
            .into_iter()
            .map(|d| {
                usize::try_from(d).map_err(|_| Error::shape(format!("{op}: negative dimension {d} in shape")))
            })
            .collect()
    }

    fn set_text(&mut self, s: &str) -> i32 {
        self.text.clear();
        self.text.push_str(s);
        self.text.len() as i32
    }
}

/// The convention of every export that makes a tensor: check headroom (an
/// OutOfMemoryError up front if memory is too short to run anything, see
/// `wasmgrad_core::memory`), run `f`, register its result (or record its error and return 0).
fn tensor_export(op: &str, f: impl FnOnce(&mut Runtime) -> Result<Tensor>) -> Wire {
    with_rt(|rt| {
        let r = headroom(op).and_then(|()| f(rt));
        rt.handle(r)
    })
}

/// The convention of every export that acts in place: check headroom, run `f`, return a
/// status (0, or the error code with the error recorded).
fn op_status(op: &str, f: impl FnOnce(&mut Runtime) -> Result<()>) -> u32 {
    with_rt(|rt| {
        let r = headroom(op).and_then(|()| f(rt));
        rt.status(r)
    })
}

// ---- plumbing -------------------------------------------------------------------------

#[no_mangle]
pub extern "C" fn wg_scratch() -> *mut i32 {
    with_rt(|rt| rt.scratch.as_mut_ptr())
}

/// The f64 scratch area (`FSCRATCH_WORDS` values) for float argument lists.
#[no_mangle]
pub extern "C" fn wg_fscratch() -> *mut f64 {
    with_rt(|rt| rt.fscratch.as_mut_ptr())
}

#[no_mangle]
pub extern "C" fn wg_text_ptr() -> *const u8 {
    with_rt(|rt| rt.text.as_ptr())
}

#[no_mangle]
pub extern "C" fn wg_catalog() -> i32 {
    with_rt(|rt| rt.set_text(&ops::catalog()))
}

/// The constants TS reads at load (`name=value;…`, see `constants.rs`) into the text buffer.
#[no_mangle]
pub extern "C" fn wg_constants() -> i32 {
    with_rt(|rt| rt.set_text(&constants::text()))
}

#[no_mangle]
pub extern "C" fn wg_error_code() -> u32 {
    with_rt(|rt| rt.error_code)
}

/// Copies the last error's message into the text buffer and returns its length.
#[no_mangle]
pub extern "C" fn wg_error_message() -> i32 {
    with_rt(|rt| {
        let msg = std::mem::take(&mut rt.error_message);
        let n = rt.set_text(&msg);
        rt.error_message = msg;
        n
    })
}

/// Writes [live tensors, tensor bytes, buffers, heap bytes in use, heap limit (-1: none),
/// bytes available] into the f64 scratch area.
#[no_mangle]
pub extern "C" fn wg_memory() {
    with_rt(|rt| {
        rt.readback = None;
        let (bytes, buffers) = live_memory();
        let f = &mut rt.fscratch;
        f[0] = rt.registry.live() as f64;
        f[1] = bytes as f64;
        f[2] = buffers as f64;
        f[3] = allocator::in_use() as f64;
        f[4] = allocator::limit().map_or(-1.0, |l| l as f64);
        f[5] = wasmgrad_core::memory::available().unwrap_or(0) as f64;
    })
}

/// Limits the bytes the core may hold to `bytes` (< 0 lifts the limit). Returns a status:
/// a limit below what is already in use is refused.
#[no_mangle]
pub extern "C" fn wg_set_memory_limit(bytes: f64) -> u32 {
    with_rt(|rt| {
        let r = if bytes < 0.0 {
            allocator::set_limit(None);
            Ok(())
        } else if !(bytes.is_finite() && bytes.fract() == 0.0) {
            Err(Error::argument(format!("setMemoryLimit: expected a whole number of bytes, got {bytes}")))
        } else {
            let in_use = allocator::in_use();
            let wanted = bytes.min(usize::MAX as f64) as usize;
            if wanted < in_use {
                Err(Error::argument(format!("setMemoryLimit: {wanted} bytes is less than the {in_use} bytes in use")))
            } else {
                allocator::set_limit(Some(wanted));
                Ok(())
            }
        };
        rt.status(r)
    })
}

#[no_mangle]
pub extern "C" fn wg_manual_seed(seed: f64) {
    random::manual_seed(seed as u64)
}

#[no_mangle]
pub extern "C" fn wg_set_grad_enabled(enabled: u32) -> u32 {
    mode::set_grad_enabled(enabled != 0) as u32
}

#[no_mangle]
pub extern "C" fn wg_is_grad_enabled() -> u32 {
    mode::is_grad_enabled() as u32
}

// ---- tensor lifetime and inspection ---------------------------------------------------

#[no_mangle]
pub extern "C" fn wg_create(op: u32, dtype: u32, ndim: i32, a: f64, b: f64, c: f64) -> Wire {
    tensor_export("create", |rt| {
        let (dt, shape) = (DType::from_code(dtype)?, rt.shape("create", ndim)?);
        creation::create_by_id(op, dt, &shape, [a, b, c])
    })
}

/// Address of the tensor's elements in row-major order (a contiguous copy for strided
/// views, valid until the next call). New tensors from `wg_create` are filled this way.
#[no_mangle]
pub extern "C" fn wg_data_ptr(h: Wire) -> usize {
    with_rt(|rt| {
        let r = rt.get("data", h).and_then(|t| {
            let contiguous = t.layout().is_contiguous();
            if !contiguous {
                headroom("data")?;
            }
            Ok((contiguous, t.contiguous("data")?))
        });
        match r {
            Ok((was_contiguous, t)) => {
                let ptr = {
                    let buffer = t.buffer();
                    let offset = t.layout().offset;
                    match &*buffer {
                        Buffer::F32(d) => d[offset..].as_ptr() as usize,
                        Buffer::I32(d) => d[offset..].as_ptr() as usize,
                        Buffer::Bool(d) => d[offset..].as_ptr() as usize,
                    }
                };
                // A copy must outlive this call until JS has read it; the tensor's own
                // storage already does.
                rt.readback = if was_contiguous { None } else { Some(t) };
                ptr
            }
            Err(e) => {
                rt.fail(e);
                0
            }
        }
    })
}

/// Releases exactly handle `h` (idempotent). The tensor's data lives on while a graph
/// needs it. A leaf's gradient handle goes with the leaf's own handle.
#[no_mangle]
pub extern "C" fn wg_dispose(h: Wire) {
    with_rt(|rt| {
        rt.dispose(h);
        rt.readback = None;
    })
}

/// Releases the first `n` handles of the list (one call for a whole `tidy` scope).
#[no_mangle]
pub extern "C" fn wg_dispose_list(n: u32) -> u32 {
    with_rt(|rt| {
        let n = (n as usize).min(rt.list.len());
        let handles = std::mem::take(&mut rt.list);
        for &h in &handles[..n] {
            rt.dispose(h);
        }
        rt.list = handles;
        rt.readback = None;
        0
    })
}

/// 1 if `h` names a live tensor, else 0 (for views whose handle the core may free).
#[no_mangle]
pub extern "C" fn wg_alive(h: Wire) -> u32 {
    with_rt(|rt| rt.registry.contains(from_wire(h)) as u32)
}

/// Writes the shape into scratch; returns the rank, or -1.
#[no_mangle]
pub extern "C" fn wg_shape(h: Wire) -> i32 {
    with_rt(|rt| match rt.get("shape", h) {
        Ok(t) => {
            for (slot, &d) in rt.scratch.iter_mut().zip(t.shape()) {
                *slot = d as i32;
            }
            t.ndim() as i32
        }
        Err(e) => {
            rt.fail(e);
            -1
        }
    })
}

/// Bits: 0-1 dtype code, 2 requires grad, 3 is leaf, 4 has a gradient. -1 on error.
#[no_mangle]
pub extern "C" fn wg_info(h: Wire) -> i32 {
    with_rt(|rt| match rt.get("info", h) {
        Ok(t) => {
            use constants::{INFO_HAS_GRAD, INFO_IS_LEAF, INFO_REQUIRES_GRAD};
            t.dtype() as i32
                | if t.requires_grad() { INFO_REQUIRES_GRAD } else { 0 }
                | if t.is_leaf() { INFO_IS_LEAF } else { 0 }
                | if t.grad().is_some() { INFO_HAS_GRAD } else { 0 }
        }
        Err(e) => {
            rt.fail(e);
            -1
        }
    })
}

#[no_mangle]
pub extern "C" fn wg_set_requires_grad(h: Wire, flag: u32) -> u32 {
    with_rt(|rt| {
        let r = rt.get("requiresGrad", h).and_then(|t| t.set_requires_grad(flag != 0));
        rt.status(r)
    })
}

/// The leaf's gradient under one stable handle; [`ABSENT`] when it has none.
#[no_mangle]
///
/// No headroom check: reading a gradient must work when memory is full; registering a
/// handle for it is a fallible allocation.
pub extern "C" fn wg_grad(h: Wire) -> Wire {
    with_rt(|rt| {
        let r = rt.get("grad", h).and_then(|t| match t.grad() {
            Some(g) => rt.registry.handle_of(&g).map(to_wire),
            None => Ok(ABSENT),
        });
        match r {
            Ok(h) => h,
            Err(e) => {
                rt.fail(e);
                0.0
            }
        }
    })
}

/// Sets (`g` ≠ 0) or clears (`g` = 0) a tensor's gradient. The leaf keeps its own view
/// of `g`'s data, so disposing the leaf frees only that view, never the caller's `g`;
/// the replaced gradient's handle is freed.
#[no_mangle]
pub extern "C" fn wg_set_grad(h: Wire, g: Wire) -> u32 {
    with_rt(|rt| {
        let r = rt.get("grad", h).and_then(|t| {
            let new = rt.get_optional("grad", g)?;
            let old = t.grad();
            if let (Some(old), Some(new)) = (&old, &new) {
                if old.same(new) {
                    return Ok(());
                }
            }
            t.set_grad(new.map(|n| n.detach()))?;
            if let Some(old) = old {
                if old.handle() != 0 {
                    rt.registry.remove(old.handle());
                }
            }
            Ok(())
        });
        rt.status(r)
    })
}

/// Name of the node that produced the tensor into the text buffer; 0 for leaves, -1 on error.
#[no_mangle]
pub extern "C" fn wg_grad_fn_name(h: Wire) -> i32 {
    with_rt(|rt| match rt.get("gradFn", h) {
        Ok(t) => match t.grad_fn() {
            Some(node) => rt.set_text(node.name()),
            None => 0,
        },
        Err(e) => {
            rt.fail(e);
            -1
        }
    })
}

#[no_mangle]
pub extern "C" fn wg_detach(h: Wire) -> Wire {
    tensor_export("detach", |rt| Ok(rt.get("detach", h)?.detach()))
}

#[no_mangle]
pub extern "C" fn wg_cast(h: Wire, dtype: u32) -> Wire {
    tensor_export("to", |rt| creation::cast(&rt.get("to", h)?, DType::from_code(dtype)?))
}

// ---- ops, one export per call signature -----------------------------------------------

#[no_mangle]
pub extern "C" fn wg_unary(op: u32, x: Wire) -> Wire {
    tensor_export("unary", |rt| unary::unary_by_id(op, &rt.get(ops::op_name("unary", op), x)?))
}

/// A `unary`-family op with two float parameters (clamp's bounds).
#[no_mangle]
pub extern "C" fn wg_unary_scalar(op: u32, x: Wire, a: f64, b: f64) -> Wire {
    tensor_export("unary", |rt| unary::unary_scalar_by_id(op, &rt.get(ops::op_name("unary", op), x)?, a, b))
}

#[no_mangle]
pub extern "C" fn wg_binary(op: u32, a: Wire, b: Wire) -> Wire {
    tensor_export("binary", |rt| {
        let name = ops::op_name("binary", op);
        ops::binary_by_id(op, &rt.get(name, a)?, &rt.get(name, b)?)
    })
}

/// `a op s`, or `s op a` when `reversed` ≠ 0.
#[no_mangle]
pub extern "C" fn wg_binary_scalar(op: u32, a: Wire, s: f64, reversed: u32) -> Wire {
    tensor_export("binary", |rt| {
        let a = rt.get(ops::op_name("binary", op), a)?;
        ops::binary::binary_scalar_by_id(op, &a, s, reversed != 0)
    })
}

/// Axes in scratch; `naxes` = -1 reduces over all dims. `param`: the op's float parameter
/// (var/std's correction), ignored by the others.
#[no_mangle]
pub extern "C" fn wg_reduce(op: u32, x: Wire, naxes: i32, keepdim: u32, param: f64) -> Wire {
    tensor_export("reduce", |rt| {
        let name = ops::op_name("reduce", op);
        let x = rt.get(name, x)?;
        let axes = if naxes < 0 { None } else { Some(rt.ints(name, naxes)?) };
        reduce::reduce_by_id(op, &x, axes.as_deref(), keepdim != 0, param)
    })
}

/// Shape or permutation (`nargs` values) in scratch.
#[no_mangle]
pub extern "C" fn wg_movement(op: u32, x: Wire, nargs: i32) -> Wire {
    tensor_export("movement", |rt| {
        let name = ops::op_name("movement", op);
        movement::movement_by_id(op, &rt.get(name, x)?, &rt.ints(name, nargs)?)
    })
}

#[no_mangle]
pub extern "C" fn wg_inplace(op: u32, target: Wire, source: Wire) -> u32 {
    op_status("inplace", |rt| {
        let name = ops::op_name("inplace", op);
        rt.get(name, target).and_then(|t| inplace::apply_by_id(op, &t, &rt.get(name, source)?))
    })
}

#[no_mangle]
pub extern "C" fn wg_inplace_scalar(op: u32, target: Wire, s: f64) -> u32 {
    op_status("inplace", |rt| {
        rt.get(ops::op_name("inplace", op), target).and_then(|t| inplace::apply_scalar_by_id(op, &t, s))
    })
}

/// Concatenation of the first `n` tensors of the handle list along `dim`.
#[no_mangle]
pub extern "C" fn wg_cat(n: u32, dim: i32) -> Wire {
    tensor_export("cat", |rt| {
        let tensors = rt.required_tensors("cat", 0..n as usize)?;
        if tensors.is_empty() {
            return Err(Error::argument("cat: expected a non-empty list of tensors"));
        }
        ops::join::cat(&tensors, dim as i64)
    })
}

/// Neural-network functional ops: tensor operands `a`, `b`, `c` (0 = absent), `nints`
/// integer arguments in scratch, one float argument.
#[no_mangle]
pub extern "C" fn wg_nn(op: u32, a: Wire, b: Wire, c: Wire, nints: i32, f: f64) -> Wire {
    tensor_export("nn", |rt| {
        let name = ops::op_name("nn", op);
        let a = rt.get(name, a)?;
        let (b, c) = (rt.get_optional(name, b)?, rt.get_optional(name, c)?);
        nn::nn_by_id(op, &a, b.as_ref(), c.as_ref(), &rt.ints(name, nints)?, f)
    })
}

/// A fused optimizer step (`optim` family): updates `param` and its state tensors
/// (`state0`, `state1`; 0 = absent) in place from `grad`, with `nfloats` hyper-parameters
/// in the f64 scratch (layouts in `ops::optim::optim_by_id`). Returns a status.
#[no_mangle]
///
/// No headroom check: the update allocates nothing but bookkeeping (the reserve covers it),
/// so an optimizer whose state was allocated beforehand never fails half-way through.
pub extern "C" fn wg_optim(op: u32, param: Wire, grad: Wire, state0: Wire, state1: Wire, nfloats: i32) -> u32 {
    with_rt(|rt| {
        let name = ops::op_name("optim", op);
        let r = rt.get(name, param).and_then(|p| {
            let g = rt.get(name, grad)?;
            let (s0, s1) = (rt.get_optional(name, state0)?, rt.get_optional(name, state1)?);
            optim::optim_by_id(op, &p, &g, s0.as_ref(), s1.as_ref(), &rt.floats(name, nfloats)?)
        });
        rt.status(r)
    })
}

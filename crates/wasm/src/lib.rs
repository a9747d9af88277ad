//! The WebAssembly boundary: raw `extern "C"` exports over u32 tensor handles.
//!
//! Conventions, relied on by `ts/ffi.ts`:
//! - Handles cross as f64 (53-bit integers, exact in a JS number; see `registry.rs`): 0 is
//!   "none" in an argument and "failed" in a result; [`ABSENT`] is an explicit "no tensor"
//!   result (a leaf without a gradient), which is not an error.
//! - Every export returns by one of the conventions of [`Returns`] (one generic helper,
//!   [`export`]): a tensor as its handle (0: failed), maybe a tensor ([`ABSENT`]: none), a
//!   status (0, or the error code), a count or rank (-1: failed), an address (0: failed).
//! - After a failure, `wg_error_code` and `wg_error_message` (text buffer) describe it.
//! - Ops are called by id: the elementwise tables through `wg_unary`/`wg_binary`, every
//!   declared op through `wg_op`/`wg_update`, its arguments encoded from its schema into
//!   the f64 scratch (`wg_fscratch`, see `decode.rs`), so no call allocates to pass them.
//!   Shapes come back through the i32 scratch (`wg_scratch`).
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

// `memory.atomic.wait32`/`notify` (the worker pool's futex) are still unstable intrinsics;
// the wasm build is nightly-or-RUSTC_BOOTSTRAP already (-Zbuild-std).
#![cfg_attr(target_feature = "atomics", feature(stdarch_wasm_atomic_wait))]

mod allocator;
mod autograd;
mod constants;
mod decode;
mod panic;
mod registry;
#[cfg(target_feature = "atomics")]
mod threads;

use std::cell::RefCell;
use wasmgrad_core::autograd::mode;
use wasmgrad_core::kernels::random;
use wasmgrad_core::ops::{self, binary, schema, unary};
use wasmgrad_core::memory::headroom;
use registry::{Handle, Registry};
use wasmgrad_core::storage::{live_memory, Buffer};
use wasmgrad_core::{Error, Result, Tensor};

const SCRATCH_WORDS: usize = 64;
const FSCRATCH_WORDS: usize = 64;

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
    /// Decoded op arguments, kept between calls so decoding allocates nothing.
    values: Vec<schema::Value>,
}

thread_local! {
    static RUNTIME: RefCell<Runtime> = RefCell::new({ autograd::install_host(); allocator::install(); panic::install(); install_threads(); Runtime {
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
        values: Vec::new(),
    }});
}

/// The threads build runs the core's parallel loops on its worker pool (`threads.rs`).
fn install_threads() {
    #[cfg(target_feature = "atomics")]
    threads::install();
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

    fn set_text(&mut self, s: &str) -> i32 {
        self.text.clear();
        self.text.push_str(s);
        self.text.len() as i32
    }
}

/// How an export's result crosses the boundary: one implementation per return convention.
trait Returns: Sized {
    type Wire;
    fn into_wire(self, rt: &mut Runtime) -> Result<Self::Wire>;
    /// The result of a failed call (whose error is recorded), given the error's code.
    fn failed(code: u32) -> Self::Wire;
}

/// A tensor: its handle (an already registered tensor keeps its handle), 0 on failure.
impl Returns for Tensor {
    type Wire = Wire;
    fn into_wire(self, rt: &mut Runtime) -> Result<Wire> {
        rt.registry.handle_of(&self).map(to_wire)
    }
    fn failed(_: u32) -> Wire {
        0.0
    }
}

/// Maybe a tensor: [`ABSENT`] for none, which is not an error.
impl Returns for Option<Tensor> {
    type Wire = Wire;
    fn into_wire(self, rt: &mut Runtime) -> Result<Wire> {
        self.map_or(Ok(ABSENT), |t| t.into_wire(rt))
    }
    fn failed(_: u32) -> Wire {
        0.0
    }
}

/// A status: 0, or the error's code.
impl Returns for () {
    type Wire = u32;
    fn into_wire(self, _: &mut Runtime) -> Result<u32> {
        Ok(0)
    }
    fn failed(code: u32) -> u32 {
        code
    }
}

/// A count, rank or bit set: -1 on failure.
impl Returns for i32 {
    type Wire = i32;
    fn into_wire(self, _: &mut Runtime) -> Result<i32> {
        Ok(self)
    }
    fn failed(_: u32) -> i32 {
        -1
    }
}

/// An address: 0 on failure.
impl Returns for usize {
    type Wire = usize;
    fn into_wire(self, _: &mut Runtime) -> Result<usize> {
        Ok(self)
    }
    fn failed(_: u32) -> usize {
        0
    }
}

/// Whether an export first checks that memory has room to run anything (an
/// OutOfMemoryError up front, see `wasmgrad_core::memory`).
#[derive(Clone, Copy, PartialEq)]
enum Headroom {
    Check(&'static str),
    /// Reads, frees, and updates that allocate nothing must work with memory full.
    Skip,
}

/// Every export's body: check headroom if asked, run `f` with the runtime, and return its
/// result by its convention (or record the error and return the failure value).
fn export<R: Returns>(headroom_for: Headroom, f: impl FnOnce(&mut Runtime) -> Result<R>) -> R::Wire {
    with_rt(|rt| {
        let checked = match headroom_for {
            Headroom::Check(op) => headroom(op),
            Headroom::Skip => Ok(()),
        };
        match checked.and_then(|()| f(rt)).and_then(|r| r.into_wire(rt)) {
            Ok(w) => w,
            Err(e) => {
                let code = e.kind as u32;
                rt.fail(e);
                R::failed(code)
            }
        }
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
        // Recycled tensor buffers count as free: the next allocation that needs them gets them.
        let recycled = wasmgrad_core::storage::recycled_bytes();
        f[3] = allocator::in_use().saturating_sub(recycled) as f64;
        f[4] = allocator::limit().map_or(-1.0, |l| l as f64);
        f[5] = wasmgrad_core::memory::available().unwrap_or(0).saturating_add(recycled) as f64;
    })
}

/// Limits the bytes the core may hold to `bytes` (< 0 lifts the limit). Returns a status:
/// a limit below what is already in use is refused.
#[no_mangle]
pub extern "C" fn wg_set_memory_limit(bytes: f64) -> u32 {
    export(Headroom::Skip, |_| {
        if bytes < 0.0 {
            allocator::set_limit(None);
            Ok(())
        } else if !(bytes.is_finite() && bytes.fract() == 0.0) {
            Err(Error::argument(format!("setMemoryLimit: expected a whole number of bytes, got {}", wasmgrad_core::error::fmt_number(bytes))))
        } else {
            wasmgrad_core::storage::release_recycled();
            let in_use = allocator::in_use();
            let wanted = bytes.min(usize::MAX as f64) as usize;
            if wanted < in_use {
                Err(Error::argument(format!("setMemoryLimit: {wanted} bytes is less than the {in_use} bytes in use")))
            } else {
                allocator::set_limit(Some(wanted));
                Ok(())
            }
        }
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

/// Address of the tensor's elements in row-major order (a contiguous copy for strided
/// views, valid until the next call). New tensors from `full` are filled this way.
#[no_mangle]
pub extern "C" fn wg_data_ptr(h: Wire) -> usize {
    export(Headroom::Skip, |rt| {
        let t = rt.get("data", h)?;
        let contiguous = t.layout().is_contiguous();
        if !contiguous {
            headroom("data")?;
        }
        let t = t.contiguous("data")?;
        let ptr = {
            let buffer = t.buffer();
            let offset = t.layout().offset;
            match &*buffer {
                Buffer::F32(d) => d[offset..].as_ptr() as usize,
                Buffer::I32(d) => d[offset..].as_ptr() as usize,
                Buffer::Bool(d) => d[offset..].as_ptr() as usize,
            }
        };
        // A copy must outlive this call until JS has read it; the tensor's own storage
        // already does.
        rt.readback = if contiguous { None } else { Some(t) };
        Ok(ptr)
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
    export(Headroom::Skip, |rt| {
        let n = (n as usize).min(rt.list.len());
        let handles = std::mem::take(&mut rt.list);
        for &h in &handles[..n] {
            rt.dispose(h);
        }
        rt.list = handles;
        rt.readback = None;
        Ok(())
    })
}

/// 1 if `h` names a live tensor, else 0 (for views whose handle the core may free).
#[no_mangle]
pub extern "C" fn wg_alive(h: Wire) -> u32 {
    with_rt(|rt| rt.registry.contains(from_wire(h)) as u32)
}

/// Writes the shape into scratch; returns the rank.
#[no_mangle]
pub extern "C" fn wg_shape(h: Wire) -> i32 {
    export(Headroom::Skip, |rt| {
        let t = rt.get("shape", h)?;
        for (slot, &d) in rt.scratch.iter_mut().zip(t.shape()) {
            *slot = d as i32;
        }
        Ok(t.ndim() as i32)
    })
}

/// Bits: 0-1 dtype code, then the `info.*` bits of `constants.rs`.
#[no_mangle]
pub extern "C" fn wg_info(h: Wire) -> i32 {
    export(Headroom::Skip, |rt| {
        use constants::{INFO_HAS_GRAD, INFO_IS_LEAF, INFO_REQUIRES_GRAD};
        let t = rt.get("info", h)?;
        Ok(t.dtype() as i32
            | if t.requires_grad() { INFO_REQUIRES_GRAD } else { 0 }
            | if t.is_leaf() { INFO_IS_LEAF } else { 0 }
            | if t.grad().is_some() { INFO_HAS_GRAD } else { 0 })
    })
}

#[no_mangle]
pub extern "C" fn wg_set_requires_grad(h: Wire, flag: u32) -> u32 {
    export(Headroom::Skip, |rt| rt.get("requiresGrad", h)?.set_requires_grad(flag != 0))
}

/// The leaf's gradient under one stable handle; [`ABSENT`] when it has none.
///
/// No headroom check: reading a gradient must work when memory is full; registering a
/// handle for it is a fallible allocation.
#[no_mangle]
pub extern "C" fn wg_grad(h: Wire) -> Wire {
    export(Headroom::Skip, |rt| Ok(rt.get("grad", h)?.grad()))
}

/// Sets (`g` ≠ 0) or clears (`g` = 0) a tensor's gradient. The leaf keeps its own view
/// of `g`'s data, so disposing the leaf frees only that view, never the caller's `g`;
/// the replaced gradient's handle is freed.
#[no_mangle]
pub extern "C" fn wg_set_grad(h: Wire, g: Wire) -> u32 {
    export(Headroom::Skip, |rt| {
        let t = rt.get("grad", h)?;
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
    })
}

/// Name of the node that produced the tensor into the text buffer; 0 for leaves.
#[no_mangle]
pub extern "C" fn wg_grad_fn_name(h: Wire) -> i32 {
    export(Headroom::Skip, |rt| {
        Ok(match rt.get("gradFn", h)?.grad_fn() {
            Some(node) => rt.set_text(node.name()),
            None => 0,
        })
    })
}

#[no_mangle]
pub extern "C" fn wg_detach(h: Wire) -> Wire {
    export(Headroom::Check("detach"), |rt| Ok(rt.get("detach", h)?.detach()))
}

// ---- ops -------------------------------------------------------------------------------

/// An op of the unary elementwise table (the hot path: no argument decoding).
#[no_mangle]
pub extern "C" fn wg_unary(op: u32, x: Wire) -> Wire {
    export(Headroom::Check("unary"), |rt| unary::unary_by_id(op, &rt.get(ops::elementwise_name(false, op), x)?))
}

/// An op of the binary elementwise table.
#[no_mangle]
pub extern "C" fn wg_binary(op: u32, a: Wire, b: Wire) -> Wire {
    export(Headroom::Check("binary"), |rt| {
        let name = ops::elementwise_name(true, op);
        binary::binary_by_id(op, &rt.get(name, a)?, &rt.get(name, b)?)
    })
}

/// `a op s`, or `s op a` when `reversed` ≠ 0.
#[no_mangle]
pub extern "C" fn wg_binary_scalar(op: u32, a: Wire, s: f64, reversed: u32) -> Wire {
    export(Headroom::Check("binary"), |rt| {
        let a = rt.get(ops::elementwise_name(true, op), a)?;
        binary::binary_scalar_by_id(op, &a, s, reversed != 0)
    })
}

fn declared(id: u32) -> Result<&'static schema::OpDef> {
    ops::op_def(id).ok_or_else(|| Error::argument(format!("unknown op id {id}")))
}

/// A declared op that makes a tensor, its arguments in the first `nwords` words of the f64
/// scratch (see `decode.rs`).
#[no_mangle]
pub extern "C" fn wg_op(id: u32, nwords: u32) -> Wire {
    export(Headroom::Check("op"), |rt| {
        let def = declared(id)?;
        let values = std::mem::take(&mut rt.values);
        let args = decode::decode(rt, def, nwords, values)?;
        let out = schema::call(def, &args);
        rt.values = args.into_values();
        out
    })
}

/// A declared in-place update (an optimizer step), as [`wg_op`]; returns a status.
///
/// No headroom check: an update allocates nothing but bookkeeping (the reserve covers it),
/// so an optimizer whose state was allocated beforehand never fails half-way through.
#[no_mangle]
pub extern "C" fn wg_update(id: u32, nwords: u32) -> u32 {
    export(Headroom::Skip, |rt| {
        let def = declared(id)?;
        let values = std::mem::take(&mut rt.values);
        let args = decode::decode(rt, def, nwords, values)?;
        let done = schema::update(def, &args);
        rt.values = args.into_values();
        done
    })
}

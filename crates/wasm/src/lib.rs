//! The WebAssembly boundary: raw `extern "C"` exports over u32 tensor handles.
//!
//! Conventions, relied on by `ts/ffi.ts`:
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
//! No export panics on user input; the core validates everything before kernels run.

mod autograd;

use std::cell::RefCell;
use wasmgrad_core::autograd::mode;
use wasmgrad_core::kernels::random;
use wasmgrad_core::layout::MAX_RANK;
use wasmgrad_core::ops::{self, creation, inplace, movement, nn, optim, reduce, unary};
use wasmgrad_core::registry::Registry;
use wasmgrad_core::storage::{live_memory, Buffer, DType};
use wasmgrad_core::{Error, Result, Tensor};

const SCRATCH_WORDS: usize = 64;
const FSCRATCH_WORDS: usize = 16;

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
    list: Vec<u32>,
    /// UTF-8 text from JS (`wg_text_in`), e.g. a custom function's name.
    text_in: Vec<u8>,
    /// What the last host callback returned (`wg_host_return`).
    host_results: Vec<Option<Tensor>>,
}

thread_local! {
    static RUNTIME: RefCell<Runtime> = RefCell::new({ autograd::install_host(); Runtime {
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
    fn handle(&mut self, r: Result<Tensor>) -> u32 {
        match r.and_then(|t| self.registry.handle_of(&t)) {
            Ok(h) => h,
            Err(e) => {
                self.fail(e);
                0
            }
        }
    }

    fn get(&self, op: &str, h: u32) -> Result<Tensor> {
        self.registry.get(op, h).cloned()
    }

    /// An optional operand: handle 0 means absent.
    fn get_optional(&self, op: &str, h: u32) -> Result<Option<Tensor>> {
        if h == 0 { Ok(None) } else { self.get(op, h).map(Some) }
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

/// Writes [live tensors, live bytes, live buffers] into the scratch area.
#[no_mangle]
pub extern "C" fn wg_memory() {
    with_rt(|rt| {
        rt.readback = None;
        let (bytes, buffers) = live_memory();
        rt.scratch[0] = rt.registry.live() as i32;
        rt.scratch[1] = bytes as u32 as i32;
        rt.scratch[2] = buffers as i32;
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

// ---- tensor lifetime and inspection ---------------------------------------------------

#[no_mangle]
pub extern "C" fn wg_create(op: u32, dtype: u32, ndim: i32, a: f64, b: f64, c: f64) -> u32 {
    with_rt(|rt| {
        let r = DType::from_code(dtype)
            .and_then(|dt| rt.shape("create", ndim).map(|s| (dt, s)))
            .and_then(|(dt, shape)| creation::create_by_id(op, dt, &shape, [a, b, c]));
        rt.handle(r)
    })
}

/// Address of the tensor's elements in row-major order (a contiguous copy for strided
/// views, valid until the next call). New tensors from `wg_create` are filled this way.
#[no_mangle]
pub extern "C" fn wg_data_ptr(h: u32) -> usize {
    with_rt(|rt| {
        let r = rt.get("data", h).and_then(|t| Ok((t.layout().is_contiguous(), t.contiguous("data")?)));
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

/// Releases a handle (idempotent). The tensor's data lives on while a graph needs it.
/// A leaf's registered gradient handle goes with it.
#[no_mangle]
pub extern "C" fn wg_dispose(h: u32) {
    with_rt(|rt| {
        if let Some(t) = rt.registry.remove(h) {
            if let Some(g) = t.grad() {
                if g.handle() != 0 {
                    rt.registry.remove(g.handle());
                }
            }
        }
        rt.readback = None;
    })
}

/// Writes the shape into scratch; returns the rank, or -1.
#[no_mangle]
pub extern "C" fn wg_shape(h: u32) -> i32 {
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
pub extern "C" fn wg_info(h: u32) -> i32 {
    with_rt(|rt| match rt.get("info", h) {
        Ok(t) => {
            t.dtype() as i32
                | (t.requires_grad() as i32) << 2
                | (t.is_leaf() as i32) << 3
                | (t.grad().is_some() as i32) << 4
        }
        Err(e) => {
            rt.fail(e);
            -1
        }
    })
}

#[no_mangle]
pub extern "C" fn wg_set_requires_grad(h: u32, flag: u32) -> u32 {
    with_rt(|rt| {
        let r = rt.get("requiresGrad", h).and_then(|t| t.set_requires_grad(flag != 0));
        rt.status(r)
    })
}

/// The leaf's gradient under one stable handle; 0 with error code 0 when it has none.
#[no_mangle]
pub extern "C" fn wg_grad(h: u32) -> u32 {
    with_rt(|rt| {
        rt.error_code = 0;
        let r = rt.get("grad", h).and_then(|t| match t.grad() {
            Some(g) => rt.registry.handle_of(&g),
            None => Ok(0),
        });
        match r {
            Ok(h) => h,
            Err(e) => {
                rt.fail(e);
                0
            }
        }
    })
}

/// Sets (`g` ≠ 0) or clears (`g` = 0) a tensor's gradient. The leaf keeps its own view
/// of `g`'s data, so disposing the leaf frees only that view, never the caller's `g`;
/// the replaced gradient's handle is freed.
#[no_mangle]
pub extern "C" fn wg_set_grad(h: u32, g: u32) -> u32 {
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
pub extern "C" fn wg_grad_fn_name(h: u32) -> i32 {
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
pub extern "C" fn wg_detach(h: u32) -> u32 {
    with_rt(|rt| {
        let r = rt.get("detach", h).map(|t| t.detach());
        rt.handle(r)
    })
}

#[no_mangle]
pub extern "C" fn wg_cast(h: u32, dtype: u32) -> u32 {
    with_rt(|rt| {
        let r = rt.get("to", h).and_then(|t| creation::cast(&t, DType::from_code(dtype)?));
        rt.handle(r)
    })
}

// ---- ops, one export per call signature -----------------------------------------------

#[no_mangle]
pub extern "C" fn wg_unary(op: u32, x: u32) -> u32 {
    with_rt(|rt| {
        let r = rt.get(ops::op_name("unary", op), x).and_then(|x| unary::unary_by_id(op, &x));
        rt.handle(r)
    })
}

#[no_mangle]
pub extern "C" fn wg_binary(op: u32, a: u32, b: u32) -> u32 {
    with_rt(|rt| {
        let name = ops::op_name("binary", op);
        let r = rt.get(name, a).and_then(|a| ops::binary_by_id(op, &a, &rt.get(name, b)?));
        rt.handle(r)
    })
}

/// `a op s`, or `s op a` when `reversed` ≠ 0.
#[no_mangle]
pub extern "C" fn wg_binary_scalar(op: u32, a: u32, s: f64, reversed: u32) -> u32 {
    with_rt(|rt| {
        let r = rt.get(ops::op_name("binary", op), a).and_then(|a| {
            let s = Tensor::scalar(s as f32);
            if reversed != 0 { ops::binary_by_id(op, &s, &a) } else { ops::binary_by_id(op, &a, &s) }
        });
        rt.handle(r)
    })
}

/// Axes in scratch; `naxes` = -1 reduces over all dims.
#[no_mangle]
pub extern "C" fn wg_reduce(op: u32, x: u32, naxes: i32, keepdim: u32) -> u32 {
    with_rt(|rt| {
        let name = ops::op_name("reduce", op);
        let r = rt.get(name, x).and_then(|x| {
            let axes = if naxes < 0 { None } else { Some(rt.ints(name, naxes)?) };
            reduce::reduce_by_id(op, &x, axes.as_deref(), keepdim != 0)
        });
        rt.handle(r)
    })
}

/// Shape or permutation (`nargs` values) in scratch.
#[no_mangle]
pub extern "C" fn wg_movement(op: u32, x: u32, nargs: i32) -> u32 {
    with_rt(|rt| {
        let name = ops::op_name("movement", op);
        let r = rt.get(name, x).and_then(|x| movement::movement_by_id(op, &x, &rt.ints(name, nargs)?));
        rt.handle(r)
    })
}

#[no_mangle]
pub extern "C" fn wg_inplace(op: u32, target: u32, source: u32) -> u32 {
    with_rt(|rt| {
        let name = ops::op_name("inplace", op);
        let r = rt.get(name, target).and_then(|t| inplace::apply_by_id(op, &t, &rt.get(name, source)?));
        rt.status(r)
    })
}

#[no_mangle]
pub extern "C" fn wg_inplace_scalar(op: u32, target: u32, s: f64) -> u32 {
    with_rt(|rt| {
        let r = rt.get(ops::op_name("inplace", op), target).and_then(|t| inplace::apply_scalar_by_id(op, &t, s));
        rt.status(r)
    })
}

/// Concatenation of `n` ≤ `SCRATCH_WORDS` tensors (handles in scratch) along `dim`.
#[no_mangle]
pub extern "C" fn wg_cat(n: i32, dim: i32) -> u32 {
    with_rt(|rt| {
        let r = if n < 1 || n as usize > SCRATCH_WORDS {
            Err(Error::argument(format!("cat: {n} tensors given in one call; 1 to {SCRATCH_WORDS} are supported")))
        } else {
            Ok(rt.scratch[..n as usize].to_vec())
        };
        let r = r.and_then(|handles| {
            let tensors = handles.iter().map(|&h| rt.get("cat", h as u32)).collect::<Result<Vec<_>>>()?;
            ops::join::cat(&tensors, dim as i64)
        });
        rt.handle(r)
    })
}

/// Neural-network functional ops: tensor operands `a`, `b`, `c` (0 = absent), `nints`
/// integer arguments in scratch, one float argument.
#[no_mangle]
pub extern "C" fn wg_nn(op: u32, a: u32, b: u32, c: u32, nints: i32, f: f64) -> u32 {
    with_rt(|rt| {
        let name = ops::op_name("nn", op);
        let r = rt.get(name, a).and_then(|a| {
            let (b, c) = (rt.get_optional(name, b)?, rt.get_optional(name, c)?);
            nn::nn_by_id(op, &a, b.as_ref(), c.as_ref(), &rt.ints(name, nints)?, f)
        });
        rt.handle(r)
    })
}

/// A fused optimizer step (`optim` family): updates `param` and its state tensors
/// (`state0`, `state1`; 0 = absent) in place from `grad`, with `nfloats` hyper-parameters
/// in the f64 scratch (layouts in `ops::optim::optim_by_id`). Returns a status.
#[no_mangle]
pub extern "C" fn wg_optim(op: u32, param: u32, grad: u32, state0: u32, state1: u32, nfloats: i32) -> u32 {
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

//! Autograd exports: backward, `grad()`, gradient hooks and custom functions, and the
//! host imports through which the core calls JS back during a backward pass.
//!
//! Any export that may run JS callbacks takes what it needs out of the runtime, releases
//! the borrow, runs the pass, then borrows again: the callbacks call other exports.

use crate::{export, from_wire, to_wire, with_rt, Headroom, Runtime, Wire};
use wasmgrad_core::memory::{fallible_grow, headroom};
use wasmgrad_core::autograd::engine::{self, PassOptions};
use wasmgrad_core::autograd::host::{self, HostCalls};
use wasmgrad_core::{Error, Result, Tensor};

/// Longest handle list a call may pass (`wg_list`); far beyond any real parameter list.
pub(crate) const MAX_LIST: usize = 1 << 24;
/// Longest text JS may pass (`wg_text_in`): a custom function's name.
pub(crate) const MAX_TEXT_IN: usize = 4096;

pub(crate) const RETAIN_GRAPH: u32 = 1;
pub(crate) const CREATE_GRAPH: u32 = 2;
pub(crate) const ALLOW_UNUSED: u32 = 4;

#[cfg(target_arch = "wasm32")]
mod imports {
    #[link(wasm_import_module = "wasmgrad")]
    extern "C" {
        /// Runs JS callback `callback` on the `nargs` handles in the list; the callback hands
        /// its results over with `wg_host_return`. Returns < 0 if the callback threw.
        pub fn wg_host_call(callback: u32, nargs: u32) -> i32;
        /// JS forgets callback `callback` (must not call back into the core).
        pub fn wg_host_release(callback: u32);
    }
}

#[cfg(target_arch = "wasm32")]
fn raw_host_call(callback: u32, nargs: u32) -> i32 {
    // SAFETY: a plain import taking and returning integers; the JS side catches every
    // exception, so no unwinding crosses into Rust frames.
    unsafe { imports::wg_host_call(callback, nargs) }
}

#[cfg(target_arch = "wasm32")]
fn raw_host_release(callback: u32) {
    // SAFETY: as above.
    unsafe { imports::wg_host_release(callback) }
}

#[cfg(not(target_arch = "wasm32"))]
fn raw_host_call(_: u32, _: u32) -> i32 {
    -1
}

#[cfg(not(target_arch = "wasm32"))]
fn raw_host_release(_: u32) {}

pub(crate) fn install_host() {
    host::install(HostCalls { call: host_call, release: raw_host_release });
}

/// Registers `args` under extra handles (JS disposes them after the callback, which must
/// not free a handle the user holds; the tensors keep their identity, so a custom backward
/// differentiates through saved leaves), calls JS, and collects what it returned.
fn host_call(callback: u32, args: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
    with_rt(|rt| {
        rt.list.clear();
        fallible_grow("backward", &mut rt.list, args.len())?;
        for a in args {
            match rt.registry.insert_extra(a.clone()) {
                Ok(h) => rt.list.push(to_wire(h)),
                Err(e) => {
                    for h in std::mem::take(&mut rt.list) {
                        rt.registry.remove(from_wire(h));
                    }
                    return Err(e);
                }
            }
        }
        Ok(())
    })?;
    let status = raw_host_call(callback, args.len() as u32);
    let results = with_rt(|rt| std::mem::take(&mut rt.host_results));
    if status < 0 {
        return Err(Error::autograd("backward: a JavaScript hook or custom backward threw"));
    }
    Ok(results)
}

impl Runtime {
    /// `get` applied to `range` of the handle list. The result is as long as the list,
    /// which the user sizes: a fallible allocation.
    fn from_list<T>(&self, op: &str, range: std::ops::Range<usize>, get: impl Fn(&Self, &str, Wire) -> Result<T>) -> Result<Vec<T>> {
        let handles = self.list.get(range).ok_or_else(|| Error::argument(format!("{op}: the handle list is too short")))?;
        let mut tensors = Vec::new();
        fallible_grow(op, &mut tensors, handles.len())?;
        for &h in handles {
            tensors.push(get(self, op, h)?);
        }
        Ok(tensors)
    }

    /// The tensors of `range` of the handle list, none absent.
    pub(crate) fn required_tensors(&self, op: &str, range: std::ops::Range<usize>) -> Result<Vec<Tensor>> {
        self.from_list(op, range, Self::get)
    }

    /// The tensors of `range` of the handle list, handle 0 meaning absent.
    pub(crate) fn optional_tensors(&self, op: &str, range: std::ops::Range<usize>) -> Result<Vec<Option<Tensor>>> {
        self.from_list(op, range, Self::get_optional)
    }
}

/// Makes the handle list `n` long (keeping what it holds) and returns its address, or 0
/// (with the error set) if `n` is beyond [`MAX_LIST`] or memory is short.
#[no_mangle]
pub extern "C" fn wg_list(n: u32) -> usize {
    export(Headroom::Skip, |rt| {
        let n = n as usize;
        if n > MAX_LIST {
            return Err(Error::argument(format!("{n} tensors passed in one call; at most {MAX_LIST} can be")));
        }
        let more = n.saturating_sub(rt.list.len());
        fallible_grow("tensor list", &mut rt.list, more)?;
        rt.list.resize(n, 0.0);
        Ok(rt.list.as_mut_ptr() as usize)
    })
}

/// A buffer for `n` bytes of UTF-8 text from JS; 0 (with the error set) beyond
/// [`MAX_TEXT_IN`].
#[no_mangle]
pub extern "C" fn wg_text_in(n: u32) -> usize {
    export(Headroom::Skip, |rt| {
        if n as usize > MAX_TEXT_IN {
            return Err(Error::argument(format!("a text of {n} bytes was passed; at most {MAX_TEXT_IN} can be")));
        }
        rt.text_in.resize(n as usize, 0);
        Ok(rt.text_in.as_mut_ptr() as usize)
    })
}

/// Called by a JS callback before it returns: its results are the first `n` handles of
/// the list (0 = none).
#[no_mangle]
pub extern "C" fn wg_host_return(n: u32) -> u32 {
    export(Headroom::Skip, |rt| {
        rt.host_results = rt.optional_tensors("backward", 0..n as usize)?;
        Ok(())
    })
}

fn pass_options(flags: u32) -> PassOptions {
    PassOptions { retain_graph: flags & RETAIN_GRAPH != 0, create_graph: flags & CREATE_GRAPH != 0 }
}

/// `grad` = 0 means "implicit ones" (scalar outputs only). Gradients replaced rather than
/// updated in place (with `createGraph`) lose their handles, as `wg_set_grad` does.
#[no_mangle]
pub extern "C" fn wg_backward(root: Wire, grad: Wire, flags: u32) -> u32 {
    let inputs = with_rt(|rt| -> Result<(Tensor, Option<Tensor>)> {
        headroom("backward")?;
        let g = rt.get_optional("backward", grad)?;
        Ok((rt.get("backward", root)?, g))
    });
    let r = inputs.and_then(|(root, g)| engine::backward(&root, g.as_ref(), pass_options(flags)));
    export(Headroom::Skip, |rt| {
        for old in r?.iter().filter(|t| t.handle() != 0) {
            rt.registry.remove(old.handle());
        }
        Ok(())
    })
}

/// `torch.autograd.grad`: the list holds `n_out` outputs, `n_out` gradOutputs (0 = implicit
/// ones) and `n_in` inputs. On success the list's first `n_in` entries are the gradients'
/// handles (0 = unused input, with `ALLOW_UNUSED`).
#[no_mangle]
pub extern "C" fn wg_autograd_grad(n_out: u32, n_in: u32, flags: u32) -> u32 {
    let (n_out, n_in) = (n_out as usize, n_in as usize);
    let args = with_rt(|rt| -> Result<_> {
        headroom("grad")?;
        let outputs = rt.required_tensors("grad", 0..n_out)?;
        let grad_outputs = rt.optional_tensors("grad", n_out..2 * n_out)?;
        let inputs = rt.required_tensors("grad", 2 * n_out..2 * n_out + n_in)?;
        Ok((outputs, grad_outputs, inputs))
    });
    let r = args.and_then(|(outputs, grad_outputs, inputs)| {
        engine::grad(&outputs, &grad_outputs, &inputs, pass_options(flags), flags & ALLOW_UNUSED != 0)
    });
    export(Headroom::Skip, |rt| {
        r.and_then(|grads| {
            let mut handles = Vec::new();
            fallible_grow("grad", &mut handles, grads.len())?;
            for g in &grads {
                match g {
                    Some(g) => match rt.registry.insert(g.alias()) {
                        Ok(h) => handles.push(to_wire(h)),
                        Err(e) => {
                            for &h in &handles {
                                rt.dispose(h);
                            }
                            return Err(e);
                        }
                    },
                    None => handles.push(0.0),
                }
            }
            rt.list = handles;
            Ok(())
        })
    })
}

/// Registers JS hook `id` on tensor `h`'s gradient.
#[no_mangle]
pub extern "C" fn wg_register_hook(h: Wire, id: u32) -> u32 {
    export(Headroom::Check("registerHook"), |rt| rt.get("registerHook", h)?.add_hook(id))
}

/// A custom function's output: `output` (computed by JS without recording) joined to the
/// graph through a node whose backward is JS callback `callback`. The list holds the
/// `n_in` inputs then the `n_saved` saved tensors; the text buffer holds the name.
#[no_mangle]
pub extern "C" fn wg_custom(callback: u32, n_in: u32, n_saved: u32, output: Wire, name_len: u32) -> Wire {
    export(Headroom::Check("Function"), |rt| {
        let (n_in, n_saved) = (n_in as usize, n_saved as usize);
        let inputs = rt.required_tensors("Function", 0..n_in)?;
        let saved = rt.required_tensors("Function", n_in..n_in + n_saved)?;
        let out = rt.get("Function", output)?;
        let name = std::str::from_utf8(rt.text_in.get(..name_len as usize).unwrap_or(&[])).unwrap_or("Custom");
        host::custom_function(name, callback, &inputs, &saved, &out)
    })}

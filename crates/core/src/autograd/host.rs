//! Calls back into the host (JavaScript) during backward: tensor hooks and custom
//! differentiable functions whose backward is written in TypeScript.
//!
//! The core stays free of FFI: the wasm crate installs two plain functions at start-up,
//! one that runs a host callback on some tensors and one that tells the host a callback
//! will never be called again (its node or tensor is gone).

use super::graph::{try_record, Backward, VjpCtx};
use crate::error::{fmt_shape, Error, Result};
use crate::tensor::Tensor;
use std::cell::{Cell, RefCell};
use std::collections::HashSet;

/// What the embedding provides. `call(id, args)` runs callback `id` on `args` and returns
/// its results (`None` where it returned nothing); `release(id)` forgets the callback and
/// must not call back into the core (it runs while tensors are being dropped).
#[derive(Clone, Copy)]
pub struct HostCalls {
    pub call: fn(u32, &[Tensor]) -> Result<Vec<Option<Tensor>>>,
    pub release: fn(u32),
}

thread_local! {
    static HOST: Cell<Option<HostCalls>> = const { Cell::new(None) };
    static NAMES: RefCell<HashSet<&'static str>> = RefCell::new(HashSet::new());
}

pub fn install(calls: HostCalls) {
    HOST.with(|h| h.set(Some(calls)));
}

pub fn call(id: u32, args: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
    match HOST.with(Cell::get) {
        Some(host) => (host.call)(id, args),
        None => Err(Error::autograd("backward: this build has no host to run hooks or custom functions")),
    }
}

pub fn release(ids: impl IntoIterator<Item = u32>) {
    if let Some(host) = HOST.with(Cell::get) {
        ids.into_iter().for_each(host.release);
    }
}

/// Runs the gradient hooks `ids` in order on `grad`; a hook may return a replacement of
/// the same shape.
pub fn run_hooks(ids: &[u32], mut grad: Tensor) -> Result<Tensor> {
    for &id in ids {
        if let Some(Some(replacement)) = call(id, std::slice::from_ref(&grad))?.into_iter().next() {
            if replacement.shape() != grad.shape() {
                return Err(Error::shape(format!(
                    "registerHook: a hook returned a gradient of shape {} for a gradient of shape {}",
                    fmt_shape(replacement.shape()),
                    fmt_shape(grad.shape())
                )));
            }
            replacement.expect_f32("registerHook")?;
            grad = replacement;
        }
    }
    Ok(grad)
}

/// Backward names are `&'static str`; a custom function's name is interned once (the set
/// of distinct function names a program defines is small and fixed).
fn intern(name: &str) -> &'static str {
    NAMES.with_borrow_mut(|names| match names.get(name) {
        Some(&n) => n,
        None => {
            let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
            names.insert(leaked);
            leaked
        }
    })
}

/// The node of a custom function: its backward is host callback `callback`, called with
/// the output's gradient followed by the tensors the forward saved.
struct HostBackward {
    callback: u32,
    name: &'static str,
}

impl Backward for HostBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn vjp(&self, ctx: &VjpCtx, grad: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let mut args = Vec::with_capacity(1 + ctx.saved.len());
        args.push(grad.clone());
        args.extend(ctx.saved.iter().cloned());
        let mut grads = call(self.callback, &args)?;
        if grads.len() > ctx.input_shapes.len() {
            return Err(Error::autograd(format!(
                "{}: backward returned {} gradients for {} inputs",
                self.name,
                grads.len(),
                ctx.input_shapes.len()
            )));
        }
        grads.resize(ctx.input_shapes.len(), None);
        for (i, g) in grads.iter_mut().enumerate() {
            let Some(t) = g else { continue };
            if !ctx.needs(i) {
                *g = None;
                continue;
            }
            t.expect_f32(self.name)?;
            if !crate::layout::broadcasts_to(ctx.input_shapes[i], t.shape()) {
                return Err(Error::shape(format!(
                    "{}: backward returned a gradient of shape {} for input {i} of shape {}",
                    self.name,
                    fmt_shape(t.shape()),
                    fmt_shape(ctx.input_shapes[i])
                )));
            }
        }
        Ok(grads)
    }
}

impl Drop for HostBackward {
    fn drop(&mut self) {
        release([self.callback]);
    }
}

/// Attaches a custom function's node to (an alias of) `output`, computed by the host
/// from `inputs` without recording. Without grad mode or inputs that need gradients, the
/// output stays a constant and the callback is released at once.
pub fn custom_function(name: &str, callback: u32, inputs: &[Tensor], saved: &[Tensor], output: &Tensor) -> Result<Tensor> {
    let node = HostBackward { callback, name: intern(&format!("{name}Backward")) };
    output.expect_f32(node.name)?;
    let refs = crate::storage::try_collect(node.name, inputs.len(), inputs.iter())?;
    let saved = crate::storage::try_collect(node.name, saved.len(), saved.iter().cloned())?;
    try_record(node.name, output.detach(), &refs, || saved, node)
}

//! Fused optimizer updates: one pass over a parameter, its gradient and its state per
//! step, with `torch.optim` semantics — PyTorch 1.13's single-tensor (`foreach=False`),
//! non-capturable paths: `_single_tensor_sgd` ([`sgd`]), `_single_tensor_adam` /
//! `_single_tensor_adamw` with AMSGrad ([`adam`]), `_single_tensor_rmsprop` ([`rmsprop`])
//! and `_single_tensor_adagrad` ([`adagrad`]).
//!
//! The updates write the parameter and the state tensors in place (bumping their storage
//! versions, so a graph that saved the old values refuses to backward through them) and
//! never record a graph. Like PyTorch's `optimizer.step()`, which runs under `no_grad`,
//! they are allowed with grad mode on. Everything is validated before the first write:
//! a failing step leaves every tensor untouched. They allocate nothing (the state tensors
//! are allocated by the caller beforehand), so they cannot fail half-way for lack of memory.
//!
//! Arithmetic follows PyTorch's order of float32 operations (ATen's unfused kernels:
//! `add(x, alpha=a)` is `self + a·x`, `addcmul` is `self + (value·t1)·t2`, `addcdiv` is
//! `self + (value·t1)/t2`), with the scalar coefficients (`1 - dampening`,
//! `lr / bias_correction1`, …) computed in f64 and rounded to f32 once, as ATen does when
//! it receives a Python float.

mod adagrad;
mod adam;
mod rmsprop;
mod sgd;

pub use adagrad::{adagrad_step, AdagradConfig};
pub use adam::{adam_step, AdamConfig};
pub use rmsprop::{rmsprop_step, RmspropConfig};
pub use sgd::{sgd_step, SgdConfig};

use crate::error::{fmt_number, fmt_shape, Error, Result};
use crate::ops::schema::{flag, float, optional_tensor, tensor, OpDef, Run};
use crate::storage::Buffer;
use crate::tensor::{unreachable_dtype, Tensor};
use std::rc::Rc;

/// The optimizer updates (see `ops/schema.rs`): in place, allocating nothing.
pub static OPS: &[OpDef] = &[
    // freshBuffer: the momentum buffer was just allocated (the parameter's first step).
    OpDef { name: "sgd", grad_fn: "",
        args: &[tensor("param"), tensor("grad"), optional_tensor("momentumBuffer"), float("lr"), float("momentum"),
            float("dampening"), float("weightDecay"), flag("nesterov"), flag("maximize"), flag("freshBuffer")],
        run: Run::Update(|a| {
            let config = SgdConfig {
                lr: a.float(3)?,
                momentum: a.float(4)?,
                dampening: a.float(5)?,
                weight_decay: a.float(6)?,
                nesterov: a.flag(7)?,
                maximize: a.flag(8)?,
            };
            sgd_step(a.tensor(0)?, a.tensor(1)?, a.optional_tensor(2)?, a.flag(9)?, &config)
        }) },
    // step: the parameter's step number after this update (1 on its first); decoupled: AdamW;
    // maxExpAvgSq present: AMSGrad.
    OpDef { name: "adam", grad_fn: "",
        args: &[tensor("param"), tensor("grad"), tensor("expAvg"), tensor("expAvgSq"), optional_tensor("maxExpAvgSq"),
            float("lr"), float("beta1"), float("beta2"), float("eps"), float("weightDecay"), float("step"),
            flag("decoupled"), flag("maximize")],
        run: Run::Update(|a| {
            let config = AdamConfig {
                lr: a.float(5)?,
                beta1: a.float(6)?,
                beta2: a.float(7)?,
                eps: a.float(8)?,
                weight_decay: a.float(9)?,
                step: a.float(10)?,
                decoupled: a.flag(11)?,
                maximize: a.flag(12)?,
            };
            adam_step(a.tensor(0)?, a.tensor(1)?, a.tensor(2)?, a.tensor(3)?, a.optional_tensor(4)?, &config)
        }) },
    // gradAvg present: centered; momentumBuffer present: momentum (required when momentum > 0).
    OpDef { name: "rmsprop", grad_fn: "",
        args: &[tensor("param"), tensor("grad"), tensor("squareAvg"), optional_tensor("gradAvg"),
            optional_tensor("momentumBuffer"), float("lr"), float("alpha"), float("eps"), float("weightDecay"),
            float("momentum"), flag("centered"), flag("maximize")],
        run: Run::Update(|a| {
            let config = RmspropConfig {
                lr: a.float(5)?,
                alpha: a.float(6)?,
                eps: a.float(7)?,
                weight_decay: a.float(8)?,
                momentum: a.float(9)?,
                centered: a.flag(10)?,
                maximize: a.flag(11)?,
            };
            rmsprop_step(a.tensor(0)?, a.tensor(1)?, a.tensor(2)?, a.optional_tensor(3)?, a.optional_tensor(4)?, &config)
        }) },
    // step: the parameter's step number after this update (1 on its first).
    OpDef { name: "adagrad", grad_fn: "",
        args: &[tensor("param"), tensor("grad"), tensor("sum"), float("lr"), float("lrDecay"), float("weightDecay"),
            float("eps"), float("step"), flag("maximize")],
        run: Run::Update(|a| {
            let config = AdagradConfig {
                lr: a.float(3)?,
                lr_decay: a.float(4)?,
                weight_decay: a.float(5)?,
                eps: a.float(6)?,
                step: a.float(7)?,
                maximize: a.flag(8)?,
            };
            adagrad_step(a.tensor(0)?, a.tensor(1)?, a.tensor(2)?, &config)
        }) },
];

// ---- validation -----------------------------------------------------------------------

fn finite(op: &str, name: &str, v: f64) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(Error::argument(format!("{op}: {name} must be a finite number, got {}", fmt_number(v))))
    }
}

fn non_negative(op: &str, name: &str, v: f64) -> Result<f64> {
    if finite(op, name, v)? >= 0.0 {
        Ok(v)
    } else {
        Err(Error::argument(format!("{op}: invalid {name} {}; it must be >= 0", fmt_number(v))))
    }
}

fn beta(op: &str, name: &str, v: f64) -> Result<f64> {
    if (0.0..1.0).contains(&v) {
        Ok(v)
    } else {
        Err(Error::argument(format!("{op}: invalid {name} {}; it must be in [0, 1)", fmt_number(v))))
    }
}

/// A step number (the parameter's count of updates including this one).
fn step_number(op: &str, step: f64) -> Result<()> {
    if step.is_finite() && step >= 1.0 && step.fract() == 0.0 {
        Ok(())
    } else {
        Err(Error::argument(format!("{op}: step must be a whole number >= 1, got {}", fmt_number(step))))
    }
}

/// Checks dtype, shape and layout of the tensors a step reads (`grad`) and writes
/// (`param`, `states`), and that no two of them share storage (a written tensor aliasing
/// another would make the in-place update order-dependent).
fn validate_tensors(op: &str, param: &Tensor, grad: &Tensor, states: &[(&str, &Tensor)]) -> Result<()> {
    param.expect_f32(op)?;
    if !param.layout().is_contiguous() {
        return Err(Error::argument(format!(
            "{op}: the parameter (shape {}) is not contiguous; optimizers update contiguous leaf tensors",
            fmt_shape(param.shape())
        )));
    }
    let same_shape = |what: &str, t: &Tensor| -> Result<()> {
        t.expect_f32(op)?;
        if t.shape() != param.shape() {
            return Err(Error::shape(format!(
                "{op}: {what} of shape {} does not match the parameter's shape {}",
                fmt_shape(t.shape()),
                fmt_shape(param.shape())
            )));
        }
        Ok(())
    };
    same_shape("the gradient", grad)?;
    for &(what, t) in states {
        same_shape(what, t)?;
        if !t.layout().is_contiguous() {
            return Err(Error::argument(format!("{op}: {what} (shape {}) is not contiguous", fmt_shape(t.shape()))));
        }
    }
    let n = states.len() + 2;
    let at = |i: usize| -> (&str, &Tensor) {
        match i {
            0 => ("the parameter", param),
            1 => ("the gradient", grad),
            _ => states[i - 2],
        }
    };
    for i in 0..n {
        for j in i + 1..n {
            let ((a_name, a), (b_name, b)) = (at(i), at(j));
            if Rc::ptr_eq(a.storage(), b.storage()) {
                return Err(Error::argument(format!(
                    "{op}: {a_name} and {b_name} share memory; each must be a separate tensor"
                )));
            }
        }
    }
    Ok(())
}

/// The element range of a contiguous f32 tensor within its buffer.
fn range(t: &Tensor) -> std::ops::Range<usize> {
    let o = t.layout().offset;
    o..o + t.numel()
}

/// Runs `f` on the element slices of `N` contiguous f32 tensors, borrowed mutably (each
/// write bumps the tensor's storage version); an absent tensor gives an empty slice. The
/// tensors must have distinct storages (checked by [`validate_tensors`]).
fn with_mut<const N: usize, R>(tensors: [Option<&Tensor>; N], f: impl FnOnce([&mut [f32]; N]) -> R) -> R {
    let mut guards = tensors.map(|t| t.map(|t| t.storage().buffer_mut()));
    let mut items = guards.iter_mut().zip(tensors.iter());
    let slices: [&mut [f32]; N] = std::array::from_fn(|_| match items.next() {
        Some((Some(guard), Some(t))) => {
            let Buffer::F32(d) = &mut **guard else { unreachable_dtype() };
            &mut d[range(t)]
        }
        _ => &mut [],
    });
    f(slices)
}

/// Elements per task when an update is split among threads ([`crate::parallel`]). The
/// updates are elementwise, so any split gives the same bits; below two chunks the
/// fork-join is not worth it.
const UPDATE_CHUNK: usize = 1 << 14;

/// Runs `f(slices, grad)` over matching chunks of the `N` written slices and `grad`, in
/// parallel when the update is large (an empty slice, an absent state, stays empty).
fn for_chunks<const N: usize>(slices: [&mut [f32]; N], grad: &[f32], f: &(dyn Fn([&mut [f32]; N], &[f32]) + Sync)) {
    let n = grad.len();
    if n < 2 * UPDATE_CHUNK || crate::parallel::threads() == 1 {
        return f(slices, grad);
    }
    let tasks = n.div_ceil(UPDATE_CHUNK);
    let mut parts: Vec<[&mut [f32]; N]> = (0..tasks).map(|_| std::array::from_fn(|_| Default::default())).collect();
    for (j, s) in slices.into_iter().enumerate() {
        for (t, chunk) in s.chunks_mut(UPDATE_CHUNK).enumerate() {
            parts[t][j] = chunk;
        }
    }
    crate::parallel::for_each_mut(&mut parts, &|t, part| {
        let g = &grad[t * UPDATE_CHUNK..n.min((t + 1) * UPDATE_CHUNK)];
        f(part.each_mut().map(|s| &mut **s), g)
    });
}

#[cfg(test)]
mod tests;

//! Fused optimizer updates: one pass over a parameter, its gradient and its state per
//! step, with `torch.optim.SGD` / `Adam` / `AdamW` semantics (PyTorch 1.13's
//! `_single_tensor_sgd`, `_single_tensor_adam` and `_single_tensor_adamw`, non-capturable
//! path; AMSGrad is not supported).
//!
//! The updates write the parameter and the state tensors in place (bumping their storage
//! versions, so a graph that saved the old values refuses to backward through them) and
//! never record a graph. Like PyTorch's `optimizer.step()`, which runs under `no_grad`,
//! they are allowed with grad mode on. Everything is validated before the first write:
//! a failing step leaves every tensor untouched.
//!
//! Arithmetic follows PyTorch's order of float32 operations, with the scalar coefficients
//! (`1 - dampening`, `lr / bias_correction1`, …) computed in f64 and rounded to f32 once,
//! as ATen does when it receives a Python float.

use crate::error::{fmt_shape, Error, Result};
use crate::ops::schema::{flag, float, optional_tensor, tensor, OpDef, Run};
use crate::storage::Buffer;
use crate::tensor::{unreachable_dtype, Tensor};
use std::rc::Rc;

/// The optimizer updates (see `ops/schema.rs`): in place, allocating nothing.
pub const OPS: &[OpDef] = &[
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
    // step: the parameter's step number after this update (1 on its first); decoupled: AdamW.
    OpDef { name: "adam", grad_fn: "",
        args: &[tensor("param"), tensor("grad"), tensor("expAvg"), tensor("expAvgSq"), float("lr"), float("beta1"),
            float("beta2"), float("eps"), float("weightDecay"), float("step"), flag("decoupled"), flag("maximize")],
        run: Run::Update(|a| {
            let config = AdamConfig {
                lr: a.float(4)?,
                beta1: a.float(5)?,
                beta2: a.float(6)?,
                eps: a.float(7)?,
                weight_decay: a.float(8)?,
                step: a.float(9)?,
                decoupled: a.flag(10)?,
                maximize: a.flag(11)?,
            };
            adam_step(a.tensor(0)?, a.tensor(1)?, a.tensor(2)?, a.tensor(3)?, &config)
        }) },
];

/// Hyper-parameters of `torch.optim.SGD`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdConfig {
    pub lr: f64,
    pub momentum: f64,
    pub dampening: f64,
    pub weight_decay: f64,
    pub nesterov: bool,
    pub maximize: bool,
}

/// Hyper-parameters of `torch.optim.Adam` (`decoupled: false`) and `AdamW` (`true`), plus
/// the parameter's step number after this update (1 on its first step), from which the
/// bias corrections are computed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    /// AdamW: decay the parameter (`p *= 1 - lr·wd`) instead of adding `wd·p` to the gradient.
    pub decoupled: bool,
    pub maximize: bool,
    pub step: f64,
}

// ---- validation -----------------------------------------------------------------------

fn finite(op: &str, name: &str, v: f64) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(Error::argument(format!("{op}: {name} must be a finite number, got {v}")))
    }
}

fn non_negative(op: &str, name: &str, v: f64) -> Result<f64> {
    if finite(op, name, v)? >= 0.0 {
        Ok(v)
    } else {
        Err(Error::argument(format!("{op}: invalid {name} {v}; it must be >= 0")))
    }
}

fn beta(op: &str, name: &str, v: f64) -> Result<f64> {
    if (0.0..1.0).contains(&v) {
        Ok(v)
    } else {
        Err(Error::argument(format!("{op}: invalid {name} {v}; it must be in [0, 1)")))
    }
}


fn validate_sgd(c: &SgdConfig) -> Result<()> {
    non_negative("sgd", "learning rate (lr)", c.lr)?;
    non_negative("sgd", "momentum", c.momentum)?;
    finite("sgd", "dampening", c.dampening)?;
    non_negative("sgd", "weight decay", c.weight_decay)?;
    if c.nesterov && (c.momentum <= 0.0 || c.dampening != 0.0) {
        return Err(Error::argument(format!(
            "sgd: Nesterov momentum requires a momentum > 0 and zero dampening, got momentum {} and dampening {}",
            c.momentum, c.dampening
        )));
    }
    Ok(())
}

fn validate_adam(op: &str, c: &AdamConfig) -> Result<()> {
    non_negative(op, "learning rate (lr)", c.lr)?;
    beta(op, "beta1 (betas[0])", c.beta1)?;
    beta(op, "beta2 (betas[1])", c.beta2)?;
    non_negative(op, "epsilon (eps)", c.eps)?;
    non_negative(op, "weight decay", c.weight_decay)?;
    if !(c.step.is_finite() && c.step >= 1.0 && c.step.fract() == 0.0) {
        return Err(Error::argument(format!("{op}: step must be a whole number >= 1, got {}", c.step)));
    }
    Ok(())
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
    let mut all: Vec<(&str, &Tensor)> = vec![("the parameter", param), ("the gradient", grad)];
    all.extend_from_slice(states);
    for (i, (a_name, a)) in all.iter().enumerate() {
        for (b_name, b) in &all[i + 1..] {
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

// ---- SGD ------------------------------------------------------------------------------

/// f32 coefficients of one SGD step.
struct SgdCoef {
    sign: f32,
    weight_decay: f32,
    momentum: f32,
    one_minus_dampening: f32,
    neg_lr: f32,
}

const NO_MOMENTUM: u8 = 0;
const FRESH_BUFFER: u8 = 1;
const RUNNING_BUFFER: u8 = 2;

/// One element of `_single_tensor_sgd`; the const parameters select the branch PyTorch
/// takes, so each variant compiles to a branch-free, vectorizable loop.
#[inline(always)]
fn sgd_elem<const WD: bool, const MOM: u8, const NESTEROV: bool>(p: &mut f32, g: f32, buf: &mut f32, k: &SgdCoef) {
    let mut d = g * k.sign;
    if WD {
        d += k.weight_decay * *p;
    }
    if MOM != NO_MOMENTUM {
        *buf = if MOM == FRESH_BUFFER { d } else { *buf * k.momentum + k.one_minus_dampening * d };
        d = if NESTEROV { d + k.momentum * *buf } else { *buf };
    }
    *p += k.neg_lr * d;
}

fn sgd_loop<const WD: bool, const MOM: u8, const NESTEROV: bool>(
    p: &mut [f32],
    g: &[f32],
    buf: &mut [f32],
    k: &SgdCoef,
) {
    if MOM == NO_MOMENTUM {
        let mut unused = 0.0;
        for (p, &g) in p.iter_mut().zip(g) {
            sgd_elem::<WD, MOM, NESTEROV>(p, g, &mut unused, k);
        }
    } else {
        for ((p, &g), b) in p.iter_mut().zip(g).zip(buf.iter_mut()) {
            sgd_elem::<WD, MOM, NESTEROV>(p, g, b, k);
        }
    }
}

/// One `torch.optim.SGD` step for one parameter, in place:
///
/// ```text
/// d = ±grad (+ weight_decay·param)
/// buf = d on the first step (`fresh_buffer`), else momentum·buf + (1 − dampening)·d
/// d = d + momentum·buf (Nesterov) or buf          [only when momentum ≠ 0]
/// param −= lr·d
/// ```
///
/// `momentum_buffer` is required when `momentum ≠ 0` (and ignored otherwise); pass a
/// newly allocated one with `fresh_buffer = true` on the parameter's first step.
pub fn sgd_step(
    param: &Tensor,
    grad: &Tensor,
    momentum_buffer: Option<&Tensor>,
    fresh_buffer: bool,
    config: &SgdConfig,
) -> Result<()> {
    const OP: &str = "sgd";
    validate_sgd(config)?;
    let buffer = if config.momentum != 0.0 {
        Some(
            momentum_buffer
                .ok_or_else(|| Error::argument("sgd: a momentum buffer is required when momentum is not 0"))?,
        )
    } else {
        None
    };
    let states: Vec<(&str, &Tensor)> = buffer.map(|b| ("the momentum buffer", b)).into_iter().collect();
    validate_tensors(OP, param, grad, &states)?;

    let k = SgdCoef {
        sign: if config.maximize { -1.0 } else { 1.0 },
        weight_decay: config.weight_decay as f32,
        momentum: config.momentum as f32,
        one_minus_dampening: (1.0 - config.dampening) as f32,
        neg_lr: (-config.lr) as f32,
    };
    let wd = config.weight_decay != 0.0;
    let mom = match buffer {
        None => NO_MOMENTUM,
        Some(_) if fresh_buffer => FRESH_BUFFER,
        Some(_) => RUNNING_BUFFER,
    };
    grad.with_f32(OP, |g| {
        let mut p_buf = param.storage().buffer_mut();
        let Buffer::F32(p_data) = &mut *p_buf else { unreachable_dtype() };
        let p = &mut p_data[range(param)];
        let mut b_guard = buffer.map(|b| b.storage().buffer_mut());
        let b: &mut [f32] = match (&mut b_guard, buffer) {
            (Some(guard), Some(t)) => {
                let Buffer::F32(d) = &mut **guard else { unreachable_dtype() };
                &mut d[range(t)]
            }
            _ => &mut [],
        };
        match (wd, mom, config.nesterov) {
            (false, NO_MOMENTUM, _) => sgd_loop::<false, NO_MOMENTUM, false>(p, g, b, &k),
            (true, NO_MOMENTUM, _) => sgd_loop::<true, NO_MOMENTUM, false>(p, g, b, &k),
            (false, FRESH_BUFFER, false) => sgd_loop::<false, FRESH_BUFFER, false>(p, g, b, &k),
            (true, FRESH_BUFFER, false) => sgd_loop::<true, FRESH_BUFFER, false>(p, g, b, &k),
            (false, FRESH_BUFFER, true) => sgd_loop::<false, FRESH_BUFFER, true>(p, g, b, &k),
            (true, FRESH_BUFFER, true) => sgd_loop::<true, FRESH_BUFFER, true>(p, g, b, &k),
            (false, _, false) => sgd_loop::<false, RUNNING_BUFFER, false>(p, g, b, &k),
            (true, _, false) => sgd_loop::<true, RUNNING_BUFFER, false>(p, g, b, &k),
            (false, _, true) => sgd_loop::<false, RUNNING_BUFFER, true>(p, g, b, &k),
            (true, _, true) => sgd_loop::<true, RUNNING_BUFFER, true>(p, g, b, &k),
        }
    })
}

// ---- Adam / AdamW ---------------------------------------------------------------------

/// f32 coefficients of one Adam step.
struct AdamCoef {
    sign: f32,
    weight_decay: f32,
    /// AdamW's `1 − lr·weight_decay`.
    decay: f32,
    beta1: f32,
    one_minus_beta1: f32,
    beta2: f32,
    one_minus_beta2: f32,
    bias_correction2_sqrt: f32,
    eps: f32,
    neg_step_size: f32,
}

const NO_DECAY: u8 = 0;
const L2_DECAY: u8 = 1;
const DECOUPLED_DECAY: u8 = 2;

fn adam_loop<const DECAY: u8>(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], k: &AdamCoef) {
    for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        let mut g = g * k.sign;
        if DECAY == L2_DECAY {
            g += k.weight_decay * *p;
        }
        if DECAY == DECOUPLED_DECAY {
            *p *= k.decay;
        }
        *m = *m * k.beta1 + k.one_minus_beta1 * g;
        *v = *v * k.beta2 + k.one_minus_beta2 * g * g;
        let denom = v.sqrt() / k.bias_correction2_sqrt + k.eps;
        *p += k.neg_step_size * *m / denom;
    }
}

/// One `torch.optim.Adam` (or, with `decoupled`, `AdamW`) step for one parameter, in place:
///
/// ```text
/// g = ±grad (+ weight_decay·param for Adam);  AdamW: param *= 1 − lr·weight_decay
/// exp_avg    = beta1·exp_avg    + (1 − beta1)·g
/// exp_avg_sq = beta2·exp_avg_sq + (1 − beta2)·g²
/// param −= lr / (1 − beta1^step) · exp_avg / (√exp_avg_sq / √(1 − beta2^step) + eps)
/// ```
///
/// `config.step` is the parameter's step count including this one (1 on the first step,
/// with both moment tensors zero).
pub fn adam_step(
    param: &Tensor,
    grad: &Tensor,
    exp_avg: &Tensor,
    exp_avg_sq: &Tensor,
    config: &AdamConfig,
) -> Result<()> {
    let op = if config.decoupled { "adamw" } else { "adam" };
    validate_adam(op, config)?;
    validate_tensors(op, param, grad, &[("exp_avg", exp_avg), ("exp_avg_sq", exp_avg_sq)])?;

    let c = config;
    let bias_correction1 = 1.0 - c.beta1.powf(c.step);
    let bias_correction2 = 1.0 - c.beta2.powf(c.step);
    let k = AdamCoef {
        sign: if c.maximize { -1.0 } else { 1.0 },
        weight_decay: c.weight_decay as f32,
        decay: (1.0 - c.lr * c.weight_decay) as f32,
        beta1: c.beta1 as f32,
        one_minus_beta1: (1.0 - c.beta1) as f32,
        beta2: c.beta2 as f32,
        one_minus_beta2: (1.0 - c.beta2) as f32,
        bias_correction2_sqrt: bias_correction2.sqrt() as f32,
        eps: c.eps as f32,
        neg_step_size: (-(c.lr / bias_correction1)) as f32,
    };
    let decay = match (c.decoupled, c.weight_decay != 0.0) {
        (true, _) => DECOUPLED_DECAY,
        (false, true) => L2_DECAY,
        (false, false) => NO_DECAY,
    };
    grad.with_f32(op, |g| {
        let mut p_buf = param.storage().buffer_mut();
        let mut m_buf = exp_avg.storage().buffer_mut();
        let mut v_buf = exp_avg_sq.storage().buffer_mut();
        let (Buffer::F32(p), Buffer::F32(m), Buffer::F32(v)) = (&mut *p_buf, &mut *m_buf, &mut *v_buf) else {
            unreachable_dtype()
        };
        let (p, m, v) = (&mut p[range(param)], &mut m[range(exp_avg)], &mut v[range(exp_avg_sq)]);
        match decay {
            NO_DECAY => adam_loop::<NO_DECAY>(p, g, m, v, &k),
            L2_DECAY => adam_loop::<L2_DECAY>(p, g, m, v, &k),
            _ => adam_loop::<DECOUPLED_DECAY>(p, g, m, v, &k),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn t(v: &[f32]) -> Tensor {
        Tensor::from_f32(v.to_vec(), &[v.len()]).unwrap()
    }
    fn vals(t: &Tensor) -> Vec<f64> {
        t.to_f64_vec().unwrap()
    }
    fn close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= 1e-5 * y.abs().max(1e-3), "{a:?} vs {b:?}");
        }
    }
    fn sgd(lr: f64, momentum: f64, dampening: f64, weight_decay: f64, nesterov: bool, maximize: bool) -> SgdConfig {
        SgdConfig { lr, momentum, dampening, weight_decay, nesterov, maximize }
    }
    fn adam(lr: f64, weight_decay: f64, decoupled: bool, step: f64) -> AdamConfig {
        AdamConfig { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay, decoupled, maximize: false, step }
    }

    /// f64 reference of PyTorch's SGD over a few steps with fixed gradients.
    fn sgd_reference(p0: &[f64], grads: &[Vec<f64>], c: &SgdConfig) -> Vec<f64> {
        let mut p = p0.to_vec();
        let mut buf: Option<Vec<f64>> = None;
        for g in grads {
            let mut d: Vec<f64> = g.iter().map(|x| if c.maximize { -x } else { *x }).collect();
            if c.weight_decay != 0.0 {
                d.iter_mut().zip(&p).for_each(|(d, p)| *d += c.weight_decay * p);
            }
            if c.momentum != 0.0 {
                let b = match buf.take() {
                    None => d.clone(),
                    Some(b) => b.iter().zip(&d).map(|(b, d)| b * c.momentum + (1.0 - c.dampening) * d).collect(),
                };
                d = if c.nesterov { d.iter().zip(&b).map(|(d, b)| d + c.momentum * b).collect() } else { b.clone() };
                buf = Some(b);
            }
            p.iter_mut().zip(&d).for_each(|(p, d)| *p -= c.lr * d);
        }
        p
    }

    #[test]
    fn sgd_matches_the_reference_in_every_mode() {
        let p0 = [1.5, -2.0, 0.5];
        let grads: Vec<Vec<f64>> = vec![vec![0.3, -1.0, 2.0], vec![-0.5, 0.25, 1.0], vec![1.0, 1.0, -3.0]];
        for c in [
            sgd(0.1, 0.0, 0.0, 0.0, false, false),
            sgd(0.1, 0.9, 0.0, 0.0, false, false),
            sgd(0.1, 0.9, 0.0, 0.0, true, false),
            sgd(0.1, 0.9, 0.5, 0.1, false, true),
            sgd(0.1, 0.0, 0.0, 0.1, false, false),
            sgd(0.1, 0.9, 0.0, 0.1, true, true),
        ] {
            let p = t(&p0.map(|x| x as f32));
            let buf = t(&[0.0; 3]);
            for (i, g) in grads.iter().enumerate() {
                let g = t(&g.iter().map(|&x| x as f32).collect::<Vec<_>>());
                sgd_step(&p, &g, Some(&buf), i == 0, &c).unwrap();
            }
            close(&vals(&p), &sgd_reference(&p0, &grads, &c));
        }
    }

    #[test]
    fn adam_first_step_moves_each_element_by_about_lr() {
        // With zero state, step 1 gives m̂ = g and v̂ = g², so the update is lr·g/(|g| + eps).
        let p = t(&[1.0, -1.0, 0.0]);
        let (m, v) = (t(&[0.0; 3]), t(&[0.0; 3]));
        adam_step(&p, &t(&[2.0, -0.5, 3.0]), &m, &v, &adam(0.1, 0.0, false, 1.0)).unwrap();
        close(&vals(&p), &[0.9, -0.9, -0.1]);
        close(&vals(&m), &[0.2, -0.05, 0.3]);
        close(&vals(&v), &[0.004, 0.00025, 0.009]);
    }

    #[test]
    fn adamw_decays_the_parameter_before_the_update() {
        let p = t(&[1.0, -1.0]);
        let (m, v) = (t(&[0.0; 2]), t(&[0.0; 2]));
        adam_step(&p, &t(&[1.0, -1.0]), &m, &v, &adam(0.1, 0.5, true, 1.0)).unwrap();
        close(&vals(&p), &[0.95 - 0.1, -0.95 + 0.1]);
        // Adam (L2) adds the decay to the gradient instead: g = 1 + 0.5 = 1.5, same sign.
        let p = t(&[1.0]);
        let (m, v) = (t(&[0.0]), t(&[0.0]));
        adam_step(&p, &t(&[1.0]), &m, &v, &adam(0.1, 0.5, false, 1.0)).unwrap();
        close(&vals(&p), &[0.9]);
        close(&vals(&m), &[0.15]);
    }

    #[test]
    fn steps_bump_versions_and_record_nothing_with_grad_mode_on() {
        let p = t(&[1.0, 2.0]);
        p.set_requires_grad(true).unwrap();
        let (m, v) = (t(&[0.0; 2]), t(&[0.0; 2]));
        let before = (p.storage().version(), m.storage().version(), v.storage().version());
        adam_step(&p, &t(&[1.0, 1.0]), &m, &v, &adam(0.1, 0.0, false, 1.0)).unwrap();
        assert_eq!(p.storage().version(), before.0 + 1);
        assert_eq!(m.storage().version(), before.1 + 1);
        assert_eq!(v.storage().version(), before.2 + 1);
        assert!(p.is_leaf() && p.requires_grad());
        sgd_step(&p, &t(&[1.0, 1.0]), None, false, &sgd(0.1, 0.0, 0.0, 0.0, false, false)).unwrap();
        assert_eq!(p.storage().version(), before.0 + 2);
    }

    #[test]
    fn strided_gradients_are_read_through_their_layout() {
        // grad = [[1, 2], [3, 4]] transposed → [1, 3, 2, 4] in row-major order.
        let g = Tensor::from_f32(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
        let gt = g.view_with(g.layout().permuted(&[1, 0]));
        let p = Tensor::from_f32(vec![0.0; 4], &[2, 2]).unwrap();
        sgd_step(&p, &gt, None, false, &sgd(1.0, 0.0, 0.0, 0.0, false, false)).unwrap();
        close(&vals(&p), &[-1.0, -3.0, -2.0, -4.0]);
    }

    #[test]
    fn bad_input_is_a_typed_error_and_leaves_tensors_untouched() {
        let p = t(&[1.0, 2.0]);
        let g = t(&[1.0, 1.0]);
        let (m, v) = (t(&[0.0; 2]), t(&[0.0; 2]));
        let kind = |r: Result<()>| r.unwrap_err().kind;
        let base = sgd(0.1, 0.0, 0.0, 0.0, false, false);
        for c in [
            SgdConfig { lr: -0.1, ..base },
            SgdConfig { lr: f64::NAN, ..base },
            SgdConfig { momentum: -1.0, ..base },
            SgdConfig { weight_decay: f64::INFINITY, ..base },
            SgdConfig { nesterov: true, ..base },
            SgdConfig { nesterov: true, momentum: 0.9, dampening: 0.1, ..base },
        ] {
            assert_eq!(kind(sgd_step(&p, &g, Some(&m), false, &c)), ErrorKind::Argument, "{c:?}");
        }
        let a = adam(0.1, 0.0, false, 1.0);
        for c in [
            AdamConfig { beta1: 1.0, ..a },
            AdamConfig { beta2: -0.1, ..a },
            AdamConfig { eps: -1.0, ..a },
            AdamConfig { weight_decay: -1.0, ..a },
            AdamConfig { step: 0.0, ..a },
            AdamConfig { step: 1.5, ..a },
            AdamConfig { lr: f64::INFINITY, ..a },
        ] {
            assert_eq!(kind(adam_step(&p, &g, &m, &v, &c)), ErrorKind::Argument, "{c:?}");
        }
        // Momentum without a buffer; shapes; dtypes; aliasing; non-contiguous parameters.
        assert_eq!(kind(sgd_step(&p, &g, None, true, &sgd(0.1, 0.9, 0.0, 0.0, false, false))), ErrorKind::Argument);
        assert_eq!(kind(adam_step(&p, &t(&[1.0; 3]), &m, &v, &a)), ErrorKind::Shape);
        assert_eq!(kind(adam_step(&p, &g, &t(&[0.0; 3]), &v, &a)), ErrorKind::Shape);
        let ints = Tensor::from_buffer(Buffer::I32(vec![1, 1]), &[2]).unwrap();
        assert_eq!(kind(adam_step(&p, &ints, &m, &v, &a)), ErrorKind::DType);
        assert_eq!(kind(adam_step(&p, &g, &m, &m, &a)), ErrorKind::Argument);
        assert_eq!(kind(adam_step(&p, &p.detach(), &m, &v, &a)), ErrorKind::Argument);
        assert_eq!(kind(sgd_step(&p, &p, None, false, &base)), ErrorKind::Argument);
        let square = Tensor::from_f32(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
        let strided = square.view_with(square.layout().permuted(&[1, 0]));
        assert_eq!(
            kind(sgd_step(&strided, &Tensor::from_f32(vec![0.0; 4], &[2, 2]).unwrap(), None, false, &base)),
            ErrorKind::Argument
        );
        // A missing state tensor (the decoder guarantees presence; the accessor still checks).
        use crate::ops::schema::{update, Args, Value};
        let mut values = vec![Value::Tensor(Some(p.clone())), Value::Tensor(Some(g.clone())), Value::Tensor(Some(m.clone())), Value::Tensor(None)];
        values.extend([0.1, 0.9, 0.999, 1e-8, 0.0, 1.0].map(Value::Float));
        values.extend([false, false].map(Value::Bool));
        assert_eq!(kind(update(&OPS[1], &Args::new("adam", values))), ErrorKind::Argument);
        assert_eq!(vals(&p), [1.0, 2.0]);
        assert_eq!(vals(&m), [0.0, 0.0]);
        assert_eq!(vals(&v), [0.0, 0.0]);
        assert_eq!(p.storage().version(), 0);
    }
}

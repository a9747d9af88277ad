//! `torch.optim.Adam` and `AdamW`, with AMSGrad: `_single_tensor_adam`, `_single_tensor_adamw`.

use super::{beta, for_chunks, non_negative, step_number, validate_tensors, with_mut};
use crate::error::Result;
use crate::tensor::Tensor;

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

fn validate_adam(op: &str, c: &AdamConfig) -> Result<()> {
    non_negative(op, "learning rate (lr)", c.lr)?;
    beta(op, "beta1 (betas[0])", c.beta1)?;
    beta(op, "beta2 (betas[1])", c.beta2)?;
    non_negative(op, "epsilon (eps)", c.eps)?;
    non_negative(op, "weight decay", c.weight_decay)?;
    step_number(op, c.step)
}

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

/// `torch.maximum`: NaN if either is NaN.
#[inline(always)]
fn nan_max(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        f32::NAN
    } else if b > a {
        b
    } else {
        a
    }
}

fn adam_loop<const DECAY: u8, const AMSGRAD: bool>(
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    max_v: &mut [f32],
    k: &AdamCoef,
) {
    let n = p.len();
    let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
    let max_v = if AMSGRAD { &mut max_v[..n] } else { max_v };
    for i in 0..n {
        let mut gi = g[i] * k.sign;
        if DECAY == L2_DECAY {
            gi += k.weight_decay * p[i];
        }
        if DECAY == DECOUPLED_DECAY {
            p[i] *= k.decay;
        }
        m[i] = m[i] * k.beta1 + k.one_minus_beta1 * gi;
        v[i] = v[i] * k.beta2 + k.one_minus_beta2 * gi * gi;
        let second = if AMSGRAD {
            max_v[i] = nan_max(max_v[i], v[i]);
            max_v[i]
        } else {
            v[i]
        };
        let denom = second.sqrt() / k.bias_correction2_sqrt + k.eps;
        p[i] += k.neg_step_size * m[i] / denom;
    }
}

/// One `torch.optim.Adam` (or, with `decoupled`, `AdamW`) step for one parameter, in place:
///
/// ```text
/// g = ±grad (+ weight_decay·param for Adam);  AdamW: param *= 1 − lr·weight_decay
/// exp_avg    = beta1·exp_avg    + (1 − beta1)·g
/// exp_avg_sq = beta2·exp_avg_sq + (1 − beta2)·g²
/// AMSGrad:  max_exp_avg_sq = max(max_exp_avg_sq, exp_avg_sq), used below instead of exp_avg_sq
/// param −= lr / (1 − beta1^step) · exp_avg / (√exp_avg_sq / √(1 − beta2^step) + eps)
/// ```
///
/// `config.step` is the parameter's step count including this one (1 on the first step,
/// with the moment tensors zero). `max_exp_avg_sq` (AMSGrad's state, zero at first) turns
/// AMSGrad on.
pub fn adam_step(
    param: &Tensor,
    grad: &Tensor,
    exp_avg: &Tensor,
    exp_avg_sq: &Tensor,
    max_exp_avg_sq: Option<&Tensor>,
    config: &AdamConfig,
) -> Result<()> {
    let op = if config.decoupled { "adamw" } else { "adam" };
    validate_adam(op, config)?;
    let mut states = [("exp_avg", exp_avg), ("exp_avg_sq", exp_avg_sq), ("max_exp_avg_sq", exp_avg_sq)];
    let amsgrad = match max_exp_avg_sq {
        Some(t) => {
            states[2].1 = t;
            true
        }
        None => false,
    };
    validate_tensors(op, param, grad, &states[..if amsgrad { 3 } else { 2 }])?;

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
        with_mut([Some(param), Some(exp_avg), Some(exp_avg_sq), max_exp_avg_sq], |slices| {
            for_chunks(slices, g, &|[p, m, v, mx], g| match (decay, amsgrad) {
                (NO_DECAY, false) => adam_loop::<NO_DECAY, false>(p, g, m, v, mx, &k),
                (L2_DECAY, false) => adam_loop::<L2_DECAY, false>(p, g, m, v, mx, &k),
                (_, false) => adam_loop::<DECOUPLED_DECAY, false>(p, g, m, v, mx, &k),
                (NO_DECAY, true) => adam_loop::<NO_DECAY, true>(p, g, m, v, mx, &k),
                (L2_DECAY, true) => adam_loop::<L2_DECAY, true>(p, g, m, v, mx, &k),
                (_, true) => adam_loop::<DECOUPLED_DECAY, true>(p, g, m, v, mx, &k),
            })
        })
    })
}

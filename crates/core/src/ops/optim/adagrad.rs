//! `torch.optim.Adagrad`: `_single_tensor_adagrad` (dense gradients).

use super::{for_chunks, non_negative, step_number, validate_tensors, with_mut};
use crate::error::Result;
use crate::tensor::Tensor;

/// Hyper-parameters of `torch.optim.Adagrad`, plus the parameter's step number after this
/// update (1 on its first step), from which the decayed learning rate is computed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdagradConfig {
    pub lr: f64,
    pub lr_decay: f64,
    pub weight_decay: f64,
    pub eps: f64,
    pub step: f64,
    pub maximize: bool,
}

fn validate_adagrad(c: &AdagradConfig) -> Result<()> {
    const OP: &str = "adagrad";
    non_negative(OP, "learning rate (lr)", c.lr)?;
    non_negative(OP, "lr_decay", c.lr_decay)?;
    non_negative(OP, "weight decay", c.weight_decay)?;
    non_negative(OP, "epsilon (eps)", c.eps)?;
    step_number(OP, c.step)
}

fn adagrad_loop<const WD: bool>(p: &mut [f32], g: &[f32], sum: &mut [f32], sign: f32, wd: f32, eps: f32, neg_clr: f32) {
    for ((p, &g), s) in p.iter_mut().zip(g).zip(sum.iter_mut()) {
        let mut g = g * sign;
        if WD {
            g += wd * *p;
        }
        *s += g * g;
        let std = s.sqrt() + eps;
        *p += neg_clr * g / std;
    }
}

/// One `torch.optim.Adagrad` step for one parameter, in place:
///
/// ```text
/// g = ±grad (+ weight_decay·param)
/// clr = lr / (1 + (step − 1)·lr_decay)
/// sum += g²
/// param −= clr · g / (√sum + eps)
/// ```
///
/// `sum` starts at `initial_accumulator_value`; `config.step` counts this update (1 first).
pub fn adagrad_step(param: &Tensor, grad: &Tensor, sum: &Tensor, config: &AdagradConfig) -> Result<()> {
    const OP: &str = "adagrad";
    let c = config;
    validate_adagrad(c)?;
    validate_tensors(OP, param, grad, &[("sum", sum)])?;
    let clr = c.lr / (1.0 + (c.step - 1.0) * c.lr_decay);
    let (sign, wd, eps, neg_clr) = (if c.maximize { -1.0 } else { 1.0 }, c.weight_decay as f32, c.eps as f32, (-clr) as f32);
    grad.with_f32(OP, |g| {
        let decay = c.weight_decay != 0.0;
        with_mut([Some(param), Some(sum)], |slices| {
            for_chunks(slices, g, &|[p, s], g| {
                if decay {
                    adagrad_loop::<true>(p, g, s, sign, wd, eps, neg_clr)
                } else {
                    adagrad_loop::<false>(p, g, s, sign, wd, eps, neg_clr)
                }
            })
        })
    })
}

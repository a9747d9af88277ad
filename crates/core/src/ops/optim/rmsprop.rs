//! `torch.optim.RMSprop` (plain, centered, with momentum): `_single_tensor_rmsprop`.

use super::{for_chunks, non_negative, validate_tensors, with_mut};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Hyper-parameters of `torch.optim.RMSprop`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RmspropConfig {
    pub lr: f64,
    /// Smoothing constant of the running averages.
    pub alpha: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub momentum: f64,
    /// Normalize by an estimate of the gradient's variance (needs the `grad_avg` state).
    pub centered: bool,
    pub maximize: bool,
}

fn validate_rmsprop(c: &RmspropConfig) -> Result<()> {
    const OP: &str = "rmsprop";
    non_negative(OP, "learning rate (lr)", c.lr)?;
    non_negative(OP, "alpha", c.alpha)?;
    non_negative(OP, "epsilon (eps)", c.eps)?;
    non_negative(OP, "weight decay", c.weight_decay)?;
    non_negative(OP, "momentum", c.momentum)?;
    Ok(())
}

/// f32 coefficients of one RMSprop step.
struct RmspropCoef {
    sign: f32,
    weight_decay: f32,
    alpha: f32,
    one_minus_alpha: f32,
    eps: f32,
    momentum: f32,
    neg_lr: f32,
}

fn rmsprop_loop<const WD: bool, const CENTERED: bool, const MOMENTUM: bool>(
    p: &mut [f32],
    g: &[f32],
    sq: &mut [f32],
    ga: &mut [f32],
    buf: &mut [f32],
    k: &RmspropCoef,
) {
    let n = p.len();
    let (g, sq) = (&g[..n], &mut sq[..n]);
    let ga = if CENTERED { &mut ga[..n] } else { ga };
    let buf = if MOMENTUM { &mut buf[..n] } else { buf };
    for i in 0..n {
        let mut gi = g[i] * k.sign;
        if WD {
            gi += k.weight_decay * p[i];
        }
        sq[i] = sq[i] * k.alpha + k.one_minus_alpha * gi * gi;
        let avg = if CENTERED {
            ga[i] = ga[i] * k.alpha + k.one_minus_alpha * gi;
            (sq[i] - ga[i] * ga[i]).sqrt()
        } else {
            sq[i].sqrt()
        } + k.eps;
        if MOMENTUM {
            buf[i] = buf[i] * k.momentum + gi / avg;
            p[i] += k.neg_lr * buf[i];
        } else {
            p[i] += k.neg_lr * gi / avg;
        }
    }
}

/// One `torch.optim.RMSprop` step for one parameter, in place:
///
/// ```text
/// g = ±grad (+ weight_decay·param)
/// square_avg = alpha·square_avg + (1 − alpha)·g²
/// centered:  grad_avg = alpha·grad_avg + (1 − alpha)·g;  avg = √(square_avg − grad_avg²) + eps
/// else:      avg = √square_avg + eps
/// momentum > 0:  buf = momentum·buf + g/avg;  param −= lr·buf
/// else:          param −= lr·g/avg
/// ```
///
/// The state tensors start at zero. `grad_avg` is required when `centered`, and
/// `momentum_buffer` when `momentum > 0` (each is ignored otherwise).
pub fn rmsprop_step(
    param: &Tensor,
    grad: &Tensor,
    square_avg: &Tensor,
    grad_avg: Option<&Tensor>,
    momentum_buffer: Option<&Tensor>,
    config: &RmspropConfig,
) -> Result<()> {
    const OP: &str = "rmsprop";
    let c = config;
    validate_rmsprop(c)?;
    let grad_avg = if c.centered {
        Some(grad_avg.ok_or_else(|| Error::argument("rmsprop: centered RMSprop requires a grad_avg state tensor"))?)
    } else {
        None
    };
    let buffer = if c.momentum > 0.0 {
        Some(momentum_buffer.ok_or_else(|| Error::argument("rmsprop: a momentum buffer is required when momentum is > 0"))?)
    } else {
        None
    };
    let mut states = [("square_avg", square_avg); 3];
    let mut n = 1;
    for (what, t) in [("grad_avg", grad_avg), ("the momentum buffer", buffer)] {
        if let Some(t) = t {
            states[n] = (what, t);
            n += 1;
        }
    }
    validate_tensors(OP, param, grad, &states[..n])?;

    let k = RmspropCoef {
        sign: if c.maximize { -1.0 } else { 1.0 },
        weight_decay: c.weight_decay as f32,
        alpha: c.alpha as f32,
        one_minus_alpha: (1.0 - c.alpha) as f32,
        eps: c.eps as f32,
        momentum: c.momentum as f32,
        neg_lr: (-c.lr) as f32,
    };
    let wd = c.weight_decay != 0.0;
    grad.with_f32(OP, |g| {
        let momentum = buffer.is_some();
        with_mut([Some(param), Some(square_avg), grad_avg, buffer], |slices| {
            for_chunks(slices, g, &|[p, sq, ga, b], g| match (wd, c.centered, momentum) {
                (false, false, false) => rmsprop_loop::<false, false, false>(p, g, sq, ga, b, &k),
                (false, false, true) => rmsprop_loop::<false, false, true>(p, g, sq, ga, b, &k),
                (false, true, false) => rmsprop_loop::<false, true, false>(p, g, sq, ga, b, &k),
                (false, true, true) => rmsprop_loop::<false, true, true>(p, g, sq, ga, b, &k),
                (true, false, false) => rmsprop_loop::<true, false, false>(p, g, sq, ga, b, &k),
                (true, false, true) => rmsprop_loop::<true, false, true>(p, g, sq, ga, b, &k),
                (true, true, false) => rmsprop_loop::<true, true, false>(p, g, sq, ga, b, &k),
                (true, true, true) => rmsprop_loop::<true, true, true>(p, g, sq, ga, b, &k),
            })
        })
    })
}

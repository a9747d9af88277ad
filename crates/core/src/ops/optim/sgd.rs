//! `torch.optim.SGD`: `_single_tensor_sgd`.

use super::{finite, for_chunks, non_negative, range, validate_tensors};
use crate::error::{Error, Result};
use crate::storage::Buffer;
use crate::tensor::{unreachable_dtype, Tensor};

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

fn validate_sgd(c: &SgdConfig) -> Result<()> {
    non_negative("sgd", "learning rate (lr)", c.lr)?;
    non_negative("sgd", "momentum", c.momentum)?;
    finite("sgd", "dampening", c.dampening)?;
    non_negative("sgd", "weight decay", c.weight_decay)?;
    if c.nesterov && (c.momentum <= 0.0 || c.dampening != 0.0) {
        return Err(Error::argument(format!(
            "sgd: Nesterov momentum requires a momentum > 0 and zero dampening, got momentum {} and dampening {}",
            crate::error::fmt_number(c.momentum as f64),
            crate::error::fmt_number(c.dampening as f64)
        )));
    }
    Ok(())
}

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
        let nesterov = config.nesterov;
        for_chunks([p, b], g, &|[p, b], g| match (wd, mom, nesterov) {
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
        })
    })
}


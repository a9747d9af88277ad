//! Reductions. `sum` is the primitive; `mean` is composed from it.

use crate::autograd::graph::{record, Backward, VjpCtx};
use crate::error::{Error, Result};
use crate::kernels::reduce::sum_keepdim;
use crate::layout::normalize_axis;
use crate::ops::binary::mul_scalar;
use crate::ops::movement::{expand, reshape};
use crate::tensor::Tensor;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ReduceOp {
    Sum,
    Mean,
}

pub const REDUCE_NAMES: &[&str] = &["sum", "mean"];

/// Resolves `axes` (all dims when `None`) to a per-dim flag, rejecting repeats.
pub fn reduced_dims(op: &str, ndim: usize, axes: Option<&[i64]>) -> Result<Vec<bool>> {
    let Some(axes) = axes else { return Ok(vec![true; ndim]) };
    let mut flags = vec![false; ndim];
    for &a in axes {
        let d = normalize_axis(op, a, ndim)?;
        if ndim == 0 {
            continue;
        }
        if flags[d] {
            return Err(Error::argument(format!("{op}: dimension {a} appears more than once in {axes:?}")));
        }
        flags[d] = true;
    }
    Ok(flags)
}

fn output_shape(shape: &[usize], reduced: &[bool], keepdim: bool) -> Vec<usize> {
    shape
        .iter()
        .zip(reduced)
        .filter_map(|(&d, &r)| match (r, keepdim) {
            (false, _) => Some(d),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect()
}

struct SumBackward {
    keepdim_shape: Vec<usize>,
}

impl Backward for SumBackward {
    fn name(&self) -> &'static str {
        "SumBackward1"
    }
    fn vjp(&self, ctx: &VjpCtx, grad: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let g = reshape(grad, &self.keepdim_shape)?;
        Ok(vec![Some(expand(&g, ctx.input_shapes[0])?)])
    }
}

pub fn sum(x: &Tensor, axes: Option<&[i64]>, keepdim: bool) -> Result<Tensor> {
    let reduced = reduced_dims("sum", x.ndim(), axes)?;
    let kept = sum_keepdim("sum", x, &reduced)?;
    let keepdim_shape = kept.shape().to_vec();
    let out_shape = output_shape(x.shape(), &reduced, keepdim);
    let out = if keepdim { kept } else { kept.view_with(crate::layout::Layout::contiguous(&out_shape)) };
    Ok(record(out, &[x], Vec::new, SumBackward { keepdim_shape }))
}

pub fn mean(x: &Tensor, axes: Option<&[i64]>, keepdim: bool) -> Result<Tensor> {
    let reduced = reduced_dims("mean", x.ndim(), axes)?;
    let count: usize = x.shape().iter().zip(&reduced).filter(|(_, &r)| r).map(|(&d, _)| d).product();
    mul_scalar(&sum(x, axes, keepdim)?, 1.0 / count as f64)
}

pub fn reduce_by_id(id: u32, x: &Tensor, axes: Option<&[i64]>, keepdim: bool) -> Result<Tensor> {
    match id {
        0 => sum(x, axes, keepdim),
        1 => mean(x, axes, keepdim),
        _ => Err(Error::argument(format!("reduce: unknown op id {id}"))),
    }
}

/// Sums a broadcast gradient back to `shape` (the engine's single place for this).
pub fn sum_to_shape(g: &Tensor, shape: &[usize]) -> Result<Tensor> {
    let lead = g.ndim().checked_sub(shape.len()).ok_or_else(|| {
        Error::shape(format!("backward: gradient of shape {:?} cannot be reduced to {:?}", g.shape(), shape))
    })?;
    let reduced: Vec<bool> =
        g.shape().iter().enumerate().map(|(i, &d)| i < lead || (shape[i - lead] == 1 && d != 1)).collect();
    let kept = sum_keepdim("backward", g, &reduced)?;
    reshape(&kept, shape)
}

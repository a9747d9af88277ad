//! Reductions. `sum` is the primitive; `mean` is composed from it.

use crate::autograd::graph::{record, Backward, VjpCtx};
use crate::error::{Error, Result};
use crate::kernels::elementwise::map;
use crate::kernels::reduce::sum_keepdim;
use crate::layout::Layout;
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
    // A 0-d tensor has one addressable dim (0 or -1) but no flags to set.
    let mut flags = vec![false; ndim.max(1)];
    for &a in axes {
        let d = normalize_axis(op, a, ndim)?;
        if flags[d] {
            return Err(Error::argument(format!("{op}: dimension {a} appears more than once in {axes:?}")));
        }
        flags[d] = true;
    }
    flags.truncate(ndim);
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

/// Sum and mean: the gradient is the incoming one broadcast back over the reduced dims
/// (scaled by 1/count for the mean).
struct ReduceBackward {
    name: &'static str,
    keepdim_shape: Vec<usize>,
    scale: f64,
}

impl Backward for ReduceBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn vjp(&self, ctx: &VjpCtx, grad: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let mut g = reshape(grad, &self.keepdim_shape)?;
        if self.scale != 1.0 {
            g = mul_scalar(&g, self.scale)?;
        }
        Ok(vec![Some(expand(&g, ctx.input_shapes[0])?)])
    }
}

fn reduce(op: ReduceOp, x: &Tensor, axes: Option<&[i64]>, keepdim: bool) -> Result<Tensor> {
    let name = REDUCE_NAMES[op as usize];
    let reduced = reduced_dims(name, x.ndim(), axes)?;
    let mut kept = sum_keepdim(name, x, &reduced)?;
    let mut scale = 1.0;
    if op == ReduceOp::Mean {
        let count: usize = x.shape().iter().zip(&reduced).filter(|(_, &r)| r).map(|(&d, _)| d).product();
        // An empty mean is 0 · ∞ = NaN, as in PyTorch.
        scale = 1.0 / count as f64;
        kept = map(name, &kept, |v| (v as f64 * scale) as f32)?;
    }
    let keepdim_shape = kept.shape().to_vec();
    let out_shape = output_shape(x.shape(), &reduced, keepdim);
    let out = if keepdim { kept } else { kept.view_with(Layout::contiguous(&out_shape)) };
    // PyTorch names full reductions `…Backward0` and reductions over dims `…Backward1`.
    let name = match (op, axes.is_none()) {
        (ReduceOp::Sum, true) => "SumBackward0",
        (ReduceOp::Sum, false) => "SumBackward1",
        (ReduceOp::Mean, true) => "MeanBackward0",
        (ReduceOp::Mean, false) => "MeanBackward1",
    };
    Ok(record(out, &[x], Vec::new, ReduceBackward { name, keepdim_shape, scale }))
}

pub fn sum(x: &Tensor, axes: Option<&[i64]>, keepdim: bool) -> Result<Tensor> {
    reduce(ReduceOp::Sum, x, axes, keepdim)
}

pub fn mean(x: &Tensor, axes: Option<&[i64]>, keepdim: bool) -> Result<Tensor> {
    reduce(ReduceOp::Mean, x, axes, keepdim)
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

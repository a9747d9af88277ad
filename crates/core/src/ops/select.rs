//! `where(cond, a, b)`: elements of `a` where `cond` is non-zero, else of `b`, with NumPy
//! broadcasting of all three. The unselected branch never leaks into the result (no
//! `a·m + b·(1 − m)`, which would turn an unselected ∞ into NaN).

use crate::autograd::graph::{record, Backward, VjpCtx};
use crate::error::Result;
use crate::layout::{broadcast_shapes, checked_numel};
use crate::ops::movement::expand;
use crate::storage::{try_alloc, Buffer, DType};
use crate::tensor::Tensor;

struct WhereBackward;

impl Backward for WhereBackward {
    fn name(&self) -> &'static str {
        "WhereBackward0"
    }
    fn vjp(&self, ctx: &VjpCtx, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let cond = ctx.saved(0)?;
        let zero = Tensor::scalar(0.0);
        let ga = if ctx.needs(1) { Some(where_(cond, g, &zero)?) } else { None };
        let gb = if ctx.needs(2) { Some(where_(cond, &zero, g)?) } else { None };
        Ok(vec![None, ga, gb])
    }
}

pub fn where_(cond: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    const OP: &str = "where";
    a.expect_f32(OP)?;
    b.expect_f32(OP)?;
    let shape = broadcast_shapes(OP, &broadcast_shapes(OP, cond.shape(), a.shape())?, b.shape())?;
    let n = checked_numel(OP, &shape)?;
    let flags: Vec<bool> = {
        let c = expand(&cond.detach(), &shape)?.contiguous_copy(OP)?;
        let buffer = c.buffer();
        match &*buffer {
            Buffer::F32(v) => v.iter().map(|&x| x != 0.0).collect(),
            Buffer::I32(v) => v.iter().map(|&x| x != 0).collect(),
        }
    };
    let av = expand(&a.detach(), &shape)?.contiguous_copy(OP)?.to_f64_vec()?;
    let bv = expand(&b.detach(), &shape)?.contiguous_copy(OP)?.to_f64_vec()?;
    let mut out = try_alloc(OP, n, 0.0f32)?;
    for (i, o) in out.iter_mut().enumerate() {
        *o = if flags[i] { av[i] } else { bv[i] } as f32;
    }
    let out = Tensor::from_f32(out, &shape)?;
    let saved_cond = if cond.dtype() == DType::I32 { cond.clone() } else { cond.detach() };
    Ok(record(out, &[cond, a, b], || vec![saved_cond], WhereBackward))
}

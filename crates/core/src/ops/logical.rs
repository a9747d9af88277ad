//! Truth-value ops on any dtype, giving bool (no gradient): the forwards of `logicalNot`
//! (unary table), `logicalAnd`/`logicalOr`/`logicalXor` (binary table) and `any`/`all`
//! (reduce family). Non-zero and NaN are true, as in PyTorch.

use crate::error::Result;
use crate::kernels::elementwise::zip_slices;
use crate::kernels::reduce::fold_keepdim;
use crate::layout::Layout;
use crate::ops::creation::cast;
use crate::ops::reduce::{output_shape, reduced_dims};
use crate::storage::{try_map, Buffer, DType};
use crate::tensor::{unreachable_dtype, Tensor};

/// `x` as bool (a view of `x` itself when it already is one, so strides are kept).
fn truth(x: &Tensor) -> Result<Tensor> {
    cast(x, DType::Bool)
}

pub fn logical_not(x: &Tensor) -> Result<Tensor> {
    const OP: &str = "logicalNot";
    let t = truth(x)?.contiguous(OP)?;
    let values = {
        let buffer = t.buffer();
        let Buffer::Bool(d) = &*buffer else { unreachable_dtype() };
        let l = t.layout();
        try_map(OP, &d[l.offset..l.offset + l.numel()], |v| (v == 0) as u8)?
    };
    Tensor::from_buffer(Buffer::Bool(values), x.shape())
}

/// `f` over the truth values of `a` and `b`, broadcast.
pub fn logical_zip(op: &str, a: &Tensor, b: &Tensor, f: impl Fn(bool, bool) -> bool + Sync) -> Result<Tensor> {
    let (a, b) = (truth(a)?, truth(b)?);
    let (values, shape) = {
        let (ba, bb) = (a.buffer(), b.buffer());
        let (Buffer::Bool(da), Buffer::Bool(db)) = (&*ba, &*bb) else { unreachable_dtype() };
        zip_slices(op, (a.layout(), da), (b.layout(), db), |x, y| f(x != 0, y != 0) as u8)?
    };
    Tensor::from_buffer(Buffer::Bool(values), &shape)
}

/// `any` (`all` when `all`) over `axes` (every dim when `None`): an empty reduction gives
/// false for `any` and true for `all`, their identities.
pub fn any_all(x: &Tensor, axes: Option<&[i64]>, keepdim: bool, all: bool) -> Result<Tensor> {
    let op = if all { "all" } else { "any" };
    let reduced = reduced_dims(op, x.ndim(), axes)?;
    let t = truth(x)?;
    let (values, kept_shape) = {
        let buffer = t.buffer();
        let Buffer::Bool(d) = &*buffer else { unreachable_dtype() };
        // all(x) = not any(not x): one OR fold serves both (each instance of the fold is
        // about 3.5 kB of code), and an OR stays a reduction that vectorises.
        let flip = u8::from(all);
        let (mut values, shape) = fold_keepdim(op, d, t.layout(), &reduced, 0u8, move |acc, v| acc | (u8::from(v != 0) ^ flip))?;
        values.iter_mut().for_each(|v| *v ^= flip);
        (values, shape)
    };
    let kept = Tensor::from_buffer(Buffer::Bool(values), &kept_shape)?;
    Ok(if keepdim { kept } else { kept.view_with(Layout::contiguous(&output_shape(x.shape(), &reduced, false))) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bools(t: &Tensor) -> Vec<f64> {
        assert_eq!(t.dtype(), DType::Bool);
        t.to_f64_vec().unwrap()
    }

    #[test]
    fn logical_ops_treat_nonzero_and_nan_as_true() {
        let a = Tensor::from_f32(vec![0.0, 2.0, f32::NAN, -0.0], &[4]).unwrap();
        let b = Tensor::from_buffer(Buffer::I32(vec![1, 1, 0, 0]), &[4]).unwrap();
        assert_eq!(bools(&logical_not(&a).unwrap()), [1.0, 0.0, 0.0, 1.0]);
        assert_eq!(bools(&logical_zip("t", &a, &b, |x, y| x & y).unwrap()), [0.0, 1.0, 0.0, 0.0]);
        assert_eq!(bools(&logical_zip("t", &a, &b, |x, y| x ^ y).unwrap()), [1.0, 0.0, 1.0, 0.0]);
    }

    #[test]
    fn any_all_reduce_dims_and_handle_empty() {
        let x = Tensor::from_f32(vec![1.0, 0.0, 1.0, 1.0], &[2, 2]).unwrap();
        assert_eq!(bools(&any_all(&x, Some(&[1]), false, true).unwrap()), [0.0, 1.0]);
        assert_eq!(bools(&any_all(&x, Some(&[0]), true, false).unwrap()), [1.0, 1.0]);
        assert_eq!(any_all(&x, None, false, true).unwrap().shape(), &[] as &[usize]);
        let empty = Tensor::from_f32(vec![], &[0]).unwrap();
        assert_eq!(bools(&any_all(&empty, None, false, false).unwrap()), [0.0]);
        assert_eq!(bools(&any_all(&empty, None, false, true).unwrap()), [1.0]);
    }
}

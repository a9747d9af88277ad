//! Views: reshape, permute and expand share storage with their input when they can.

use crate::autograd::graph::{record, Backward, VjpCtx};
use crate::error::{fmt_shape, Error, Result};
use crate::layout::{broadcasts_to, checked_numel, normalize_axis, Layout};
use crate::tensor::Tensor;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum MovementOp {
    Reshape,
    Permute,
    Expand,
    Slice,
    Flip,
}

/// `flip` copies (see `scan`), but its signature, a tensor and a list of dims, is this family's.
pub const MOVEMENT_NAMES: &[&str] = &["reshape", "permute", "expand", "slice", "flip"];

struct ReshapeBackward;
impl Backward for ReshapeBackward {
    fn name(&self) -> &'static str {
        "ViewBackward0"
    }
    fn vjp(&self, ctx: &VjpCtx, grad: &Tensor) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(reshape(grad, ctx.input_shapes[0])?)])
    }
}

/// Resolves one `-1` in a requested shape.
fn resolve_shape(x: &Tensor, spec: &[i64]) -> Result<Vec<usize>> {
    let err = || {
        Error::shape(format!("reshape: shape {spec:?} is invalid for a tensor of shape {} ({} elements)", fmt_shape(x.shape()), x.numel()))
    };
    let mut infer = None;
    let mut known = 1usize;
    let mut shape = Vec::with_capacity(spec.len());
    for (i, &d) in spec.iter().enumerate() {
        if d == -1 && infer.is_none() {
            infer = Some(i);
            shape.push(0);
        } else if d < 0 {
            return Err(err());
        } else {
            known = known.checked_mul(d as usize).ok_or_else(err)?;
            shape.push(d as usize);
        }
    }
    if let Some(i) = infer {
        if known == 0 || x.numel() % known != 0 {
            return Err(err());
        }
        shape[i] = x.numel() / known;
    }
    if checked_numel("reshape", &shape)? != x.numel() {
        return Err(err());
    }
    Ok(shape)
}

pub fn reshape_spec(x: &Tensor, spec: &[i64]) -> Result<Tensor> {
    let shape = resolve_shape(x, spec)?;
    reshape(x, &shape)
}

pub fn reshape(x: &Tensor, shape: &[usize]) -> Result<Tensor> {
    if checked_numel("reshape", shape)? != x.numel() {
        return Err(Error::shape(format!(
            "reshape: shape {} is invalid for a tensor of shape {} ({} elements)",
            fmt_shape(shape),
            fmt_shape(x.shape()),
            x.numel()
        )));
    }
    let base = x.contiguous("reshape")?;
    let out = base.view_with(Layout { offset: base.layout().offset, ..Layout::contiguous(shape) });
    Ok(record(out, &[x], Vec::new, ReshapeBackward))
}

struct PermuteBackward {
    inverse: Vec<usize>,
}
impl Backward for PermuteBackward {
    fn name(&self) -> &'static str {
        "PermuteBackward0"
    }
    fn vjp(&self, _: &VjpCtx, grad: &Tensor) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(permute(grad, &self.inverse)?)])
    }
}

pub fn permute_spec(x: &Tensor, spec: &[i64]) -> Result<Tensor> {
    if spec.len() != x.ndim() {
        return Err(Error::argument(format!(
            "permute: {} dims given for a tensor of rank {} (shape {})",
            spec.len(),
            x.ndim(),
            fmt_shape(x.shape())
        )));
    }
    let mut perm = Vec::with_capacity(spec.len());
    let mut seen = vec![false; spec.len()];
    for &d in spec {
        let d = normalize_axis("permute", d, x.ndim())?;
        if seen[d] {
            return Err(Error::argument(format!("permute: dimension {d} repeats in {spec:?}")));
        }
        seen[d] = true;
        perm.push(d);
    }
    permute(x, &perm)
}

/// `perm` is a validated permutation of `0..ndim`.
pub fn permute(x: &Tensor, perm: &[usize]) -> Result<Tensor> {
    let mut inverse = vec![0; perm.len()];
    for (i, &p) in perm.iter().enumerate() {
        inverse[p] = i;
    }
    let out = x.view_with(x.layout().permuted(perm));
    Ok(record(out, &[x], Vec::new, PermuteBackward { inverse }))
}

/// Swaps the last two dims (a view).
pub fn transpose_last(x: &Tensor) -> Result<Tensor> {
    let n = x.ndim();
    let mut perm: Vec<usize> = (0..n).collect();
    perm.swap(n - 2, n - 1);
    permute(x, &perm)
}

/// Expand's gradient is the incoming one summed back to the input's shape; the engine
/// does that reduction for every op, so the rule itself passes the gradient through.
struct ExpandBackward;
impl Backward for ExpandBackward {
    fn name(&self) -> &'static str {
        "ExpandBackward0"
    }
    fn vjp(&self, _: &VjpCtx, grad: &Tensor) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(grad.clone())])
    }
}

pub fn expand_spec(x: &Tensor, spec: &[i64]) -> Result<Tensor> {
    let lead = spec.len().checked_sub(x.ndim());
    let mut shape = Vec::with_capacity(spec.len());
    for (i, &d) in spec.iter().enumerate() {
        shape.push(match (d, lead) {
            (-1, Some(lead)) if i >= lead => x.shape()[i - lead],
            (d, _) if d >= 0 => d as usize,
            _ => return Err(Error::shape(format!("expand: invalid size {d} in {spec:?} for shape {}", fmt_shape(x.shape())))),
        });
    }
    expand(x, &shape)
}

pub fn expand(x: &Tensor, shape: &[usize]) -> Result<Tensor> {
    if !broadcasts_to(x.shape(), shape) {
        return Err(Error::shape(format!(
            "expand: a tensor of shape {} cannot be expanded to {}",
            fmt_shape(x.shape()),
            fmt_shape(shape)
        )));
    }
    checked_numel("expand", shape)?;
    let out = x.view_with(x.layout().broadcast_to(shape));
    Ok(record(out, &[x], Vec::new, ExpandBackward))
}

pub fn movement_by_id(id: u32, x: &Tensor, args: &[i64]) -> Result<Tensor> {
    match id {
        0 => reshape_spec(x, args),
        1 => permute_spec(x, args),
        2 => expand_spec(x, args),
        3 => match args {
            &[dim, start, end, step] => super::join::slice(x, dim, start, end, step),
            _ => Err(Error::argument("slice: expected dim, start, end and step")),
        },
        4 => super::scan::flip(x, args),
        _ => Err(Error::argument(format!("movement: unknown op id {id}"))),
    }
}

/// Inserts a size-1 dim at `dim` (a reshape).
pub fn unsqueeze(x: &Tensor, dim: i64) -> Result<Tensor> {
    let d = normalize_axis("unsqueeze", dim, x.ndim() + 1)?;
    let mut shape = x.shape().to_vec();
    shape.insert(d, 1);
    reshape(x, &shape)
}

/// Removes the size-1 dim at `dim` (a reshape).
pub fn squeeze(x: &Tensor, dim: i64) -> Result<Tensor> {
    let d = normalize_axis("squeeze", dim, x.ndim())?;
    let mut shape = x.shape().to_vec();
    if shape.get(d) == Some(&1) {
        shape.remove(d);
    }
    reshape(x, &shape)
}

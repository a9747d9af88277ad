//! Shape and movement: reshape, permute and expand share storage with their input when
//! they can; `slice` is a view too, `cat` a copy (both in `join.rs`), and `tril`/`triu`
//! copies that select the kept triangle.

use crate::autograd::graph::{record, Backward, VjpCtx};
use crate::error::{fmt_shape, Error, Result};
use crate::layout::{broadcasts_to, checked_numel, normalize_axis, Layout};
use crate::ops::schema::{int, ints, tensor, tensors, OpDef, Run};
use crate::storage::{try_alloc, Buffer};
use crate::tensor::Tensor;

/// The shape and movement ops (see `ops/schema.rs`); `slice` and `cat` are in `join.rs`.
pub static OPS: &[OpDef] = &[
    OpDef { name: "reshape", grad_fn: "ViewBackward0", args: &[tensor("input"), ints("shape")],
        run: Run::Tensor(|a| reshape_spec(a.tensor(0)?, a.ints(1)?)) },
    OpDef { name: "permute", grad_fn: "PermuteBackward0", args: &[tensor("input"), ints("dims")],
        run: Run::Tensor(|a| permute_spec(a.tensor(0)?, a.ints(1)?)) },
    OpDef { name: "expand", grad_fn: "ExpandBackward0", args: &[tensor("input"), ints("size")],
        run: Run::Tensor(|a| expand_spec(a.tensor(0)?, a.ints(1)?)) },
    OpDef { name: "slice", grad_fn: "SliceBackward0", args: &[tensor("input"), int("dim"), int("start"), int("end"), int("step")],
        run: Run::Tensor(|a| super::join::slice(a.tensor(0)?, a.int(1)?, a.int(2)?, a.int(3)?, a.int(4)?)) },
    OpDef { name: "cat", grad_fn: "CatBackward0", args: &[tensors("tensors"), int("dim")],
        run: Run::Tensor(|a| super::join::cat(a.tensors(0)?, a.int(1)?)) },
    OpDef { name: "tril", grad_fn: "TrilBackward0", args: &[tensor("input"), int("diagonal")],
        run: Run::Tensor(|a| triangle(a.tensor(0)?, a.int(1)?, Triangle::Lower)) },
    OpDef { name: "triu", grad_fn: "TriuBackward0", args: &[tensor("input"), int("diagonal")],
        run: Run::Tensor(|a| triangle(a.tensor(0)?, a.int(1)?, Triangle::Upper)) },
];

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

// ---- tril / triu ----------------------------------------------------------------------

/// Which triangle of the last two dims `tril`/`triu` keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Triangle {
    /// `col − row ≤ diagonal` (tril)
    Lower,
    /// `col − row ≥ diagonal` (triu)
    Upper,
}

impl Triangle {
    fn name(self) -> &'static str {
        match self {
            Triangle::Lower => "tril",
            Triangle::Upper => "triu",
        }
    }
    /// The kept columns `[start, end)` of row `r` in a matrix of `cols` columns.
    fn kept_columns(self, r: usize, cols: usize, diagonal: i64) -> (usize, usize) {
        let edge = (r as i64).saturating_add(diagonal);
        let clamp = |v: i64| v.clamp(0, cols as i64) as usize;
        match self {
            Triangle::Lower => (0, clamp(edge.saturating_add(1))),
            Triangle::Upper => (clamp(edge), cols),
        }
    }
}


/// Copies the kept triangle of each `rows × cols` matrix of `src`; the rest is zero (false).
/// A selection, never a product with a mask, so ±inf and NaN outside the triangle vanish.
fn select_triangle<T: Copy + Default>(op: &str, src: &[T], (rows, cols): (usize, usize), diagonal: i64, part: Triangle) -> Result<Vec<T>> {
    let mut out = try_alloc(op, src.len(), T::default())?;
    if rows == 0 || cols == 0 {
        return Ok(out);
    }
    for (o, s) in out.chunks_exact_mut(rows * cols).zip(src.chunks_exact(rows * cols)) {
        for r in 0..rows {
            let (start, end) = part.kept_columns(r, cols, diagonal);
            if start < end {
                let at = r * cols;
                o[at + start..at + end].copy_from_slice(&s[at + start..at + end]);
            }
        }
    }
    Ok(out)
}

/// The gradient of a triangle is the same triangle of the gradient.
struct TriangleBackward {
    part: Triangle,
    diagonal: i64,
}

impl Backward for TriangleBackward {
    fn name(&self) -> &'static str {
        match self.part {
            Triangle::Lower => "TrilBackward0",
            Triangle::Upper => "TriuBackward0",
        }
    }
    fn vjp(&self, _: &VjpCtx, grad: &Tensor) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(triangle(grad, self.diagonal, self.part)?)])
    }
}

/// `tril`/`triu` of the last two dims (batched over the leading ones), any dtype, any
/// `diagonal`, as PyTorch's.
pub fn triangle(x: &Tensor, diagonal: i64, part: Triangle) -> Result<Tensor> {
    let op = part.name();
    let n = x.ndim();
    if n < 2 {
        return Err(Error::shape(format!("{op}: expects at least 2 dims, got shape {}", fmt_shape(x.shape()))));
    }
    let matrix = (x.shape()[n - 2], x.shape()[n - 1]);
    let c = x.contiguous(op)?;
    let l = c.layout();
    let range = l.offset..l.offset + l.numel();
    let out = {
        let buffer = c.buffer();
        match &*buffer {
            Buffer::F32(d) => Buffer::F32(select_triangle(op, &d[range], matrix, diagonal, part)?),
            Buffer::I32(d) => Buffer::I32(select_triangle(op, &d[range], matrix, diagonal, part)?),
            Buffer::Bool(d) => Buffer::Bool(select_triangle(op, &d[range], matrix, diagonal, part)?),
        }
    };
    let out = Tensor::from_buffer(out, x.shape())?;
    Ok(record(out, &[x], Vec::new, TriangleBackward { part, diagonal }))
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

//! gather, scatter and scatterAdd along one dim with int32 indices, as in PyTorch: for
//! an index element at position `(i, j, k)` holding `v`, gather reads `self[v, j, k]`
//! (dim 0) into `out[i, j, k]`, and scatter writes `src[i, j, k]` to `out[v, j, k]`.
//!
//! `scatter` with repeated indices is unspecified in PyTorch; here the last write in the
//! index's row-major order wins, and only that element of `src` receives a gradient.
//! The three are each other's gradients: gather's is a scatterAdd of the incoming
//! gradient into zeros, and both scatters pass the gradient back to `src` by gather.

use crate::autograd::graph::{record, Backward, VjpCtx};
use crate::autograd::mode::is_grad_enabled;
use crate::error::{fmt_shape, Error, Result};
use crate::layout::{checked_numel, contiguous_strides, normalize_axis};
use crate::ops::binary::mul;
use crate::ops::join::cat;
use crate::ops::movement::reshape;
use crate::storage::{try_alloc, try_map, Buffer, DType};
use crate::tensor::{unreachable_dtype, Tensor};

/// PyTorch treats 0-d and 1-d operands alike here; internally a 0-d shape is `[1]`.
fn at_least_1d(shape: &[usize]) -> Vec<usize> {
    if shape.is_empty() {
        vec![1]
    } else {
        shape.to_vec()
    }
}

/// Where each index element reads or writes, resolved once the arguments are validated.
struct Plan {
    dim: usize,
    /// Per index element (row-major): the flat offset in the input (`self`).
    targets: Vec<usize>,
    /// Per index element: the flat offset of the same position in `src` (scatter only).
    sources: Vec<usize>,
}

/// Validates `index` against the input's shape (and `src`'s) and resolves the offsets.
fn plan(op: &str, self_shape: &[usize], dim: i64, index: &Tensor, src_shape: Option<&[usize]>) -> Result<Plan> {
    if index.dtype() != DType::I32 {
        return Err(Error::dtype(format!(
            "{op}: index must be an int32 tensor, got {} of shape {}",
            index.dtype().name(),
            fmt_shape(index.shape())
        )));
    }
    let (shape, ishape) = (at_least_1d(self_shape), at_least_1d(index.shape()));
    let rank = shape.len();
    if ishape.len() != rank {
        return Err(Error::shape(format!(
            "{op}: index of shape {} must have as many dimensions as the input of shape {}",
            fmt_shape(index.shape()),
            fmt_shape(self_shape)
        )));
    }
    let d = normalize_axis(op, dim, self_shape.len())?;
    let sshape = src_shape.map(at_least_1d);
    if let (Some(s), Some(orig)) = (&sshape, src_shape) {
        if s.len() != rank {
            return Err(Error::shape(format!(
                "{op}: src of shape {} must have as many dimensions as the input of shape {}",
                fmt_shape(orig),
                fmt_shape(self_shape)
            )));
        }
    }
    for k in 0..rank {
        if k != d && ishape[k] > shape[k] {
            return Err(Error::shape(format!(
                "{op}: index of shape {} is larger than the input of shape {} at dimension {k} \
                 (only dimension {d} may be larger)",
                fmt_shape(index.shape()),
                fmt_shape(self_shape)
            )));
        }
        if let (Some(s), Some(orig)) = (&sshape, src_shape) {
            if ishape[k] > s[k] {
                return Err(Error::shape(format!(
                    "{op}: index of shape {} is larger than src of shape {} at dimension {k}",
                    fmt_shape(index.shape()),
                    fmt_shape(orig)
                )));
            }
        }
    }
    let n = checked_numel(op, &ishape)?;
    let self_strides = contiguous_strides(&shape);
    let src_strides = sshape.as_deref().map(contiguous_strides);
    let mut targets = try_alloc(op, n, 0usize)?;
    let mut sources = try_alloc(op, if src_strides.is_some() { n } else { 0 }, 0usize)?;
    let index = index.contiguous(op)?;
    let buffer = index.buffer();
    let Buffer::I32(all) = &*buffer else { unreachable_dtype() };
    let values = &all[index.layout().offset..index.layout().offset + n];
    let size = shape[d];
    let mut pos = vec![0usize; rank];
    for (k, &v) in values.iter().enumerate() {
        let v = usize::try_from(v).ok().filter(|&v| v < size).ok_or_else(|| {
            Error::argument(format!(
                "{op}: index {v} is out of bounds for dimension {d} with size {size} (input of shape {}{})",
                fmt_shape(self_shape),
                if v < 0 { "; negative indices are not supported" } else { "" }
            ))
        })?;
        targets[k] = (0..rank).map(|j| (if j == d { v } else { pos[j] }) * self_strides[j]).sum();
        if let Some(st) = &src_strides {
            sources[k] = pos.iter().zip(st).map(|(p, s)| p * s).sum();
        }
        for j in (0..rank).rev() {
            pos[j] += 1;
            if pos[j] < ishape[j] {
                break;
            }
            pos[j] = 0;
        }
    }
    Ok(Plan { dim: d, targets, sources })
}

/// `src` zero-extended to `shape`: an index smaller than `src` leaves the rest of `src`
/// unused, so its gradient there is 0.
fn zero_extend(t: &Tensor, shape: &[usize]) -> Result<Tensor> {
    if t.shape() == shape {
        return Ok(t.clone());
    }
    let target = at_least_1d(shape);
    let mut t = reshape(t, &at_least_1d(t.shape()))?;
    for d in 0..target.len() {
        if t.shape()[d] < target[d] {
            let mut rest = t.shape().to_vec();
            rest[d] = target[d] - rest[d];
            let zeros = Tensor::full("scatter", &rest, 0.0, DType::F32)?;
            t = cat(&[t, zeros], d as i64)?;
        }
    }
    reshape(&t, shape)
}

// ---- gather ---------------------------------------------------------------------------

struct GatherBackward {
    dim: usize,
}

impl Backward for GatherBackward {
    fn name(&self) -> &'static str {
        "GatherBackward0"
    }
    fn vjp(&self, ctx: &VjpCtx, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let zeros = Tensor::full("gather", ctx.input_shapes[0], 0.0, DType::F32)?;
        Ok(vec![Some(scatter_add(&zeros, self.dim as i64, ctx.saved(0)?, g)?), None])
    }
}

/// `out[…, i, …] = x[…, index[…, i, …], …]` along `dim`; the result has the index's shape.
pub fn gather(x: &Tensor, dim: i64, index: &Tensor) -> Result<Tensor> {
    const OP: &str = "gather";
    x.expect_f32(OP)?;
    let plan = plan(OP, x.shape(), dim, index, None)?;
    let mut out = try_alloc(OP, plan.targets.len(), 0.0f32)?;
    x.with_f32(OP, |src| {
        for (o, &t) in out.iter_mut().zip(&plan.targets) {
            *o = src[t];
        }
    })?;
    let out = Tensor::from_f32(out, index.shape())?;
    Ok(record(out, &[x, index], || vec![index.clone()], GatherBackward { dim: plan.dim }))
}

// ---- scatter and scatterAdd -----------------------------------------------------------

/// What is written at the indexed positions.
#[derive(Clone, Copy)]
pub enum ScatterSource<'a> {
    Tensor(&'a Tensor),
    Value(f64),
}

struct ScatterBackward {
    dim: usize,
    accumulate: bool,
    /// Written a number, not a tensor (no `src` input).
    value: bool,
    /// Repeated indices: saved slot 1 holds a 0/1 mask of the `src` elements that won.
    masked: bool,
}

impl Backward for ScatterBackward {
    fn name(&self) -> &'static str {
        match (self.accumulate, self.value) {
            (true, _) => "ScatterAddBackward0",
            (false, false) => "ScatterBackward0",
            (false, true) => "ScatterBackward1",
        }
    }
    fn vjp(&self, ctx: &VjpCtx, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let index = ctx.saved(0)?;
        let dim = self.dim as i64;
        let gx = match (ctx.needs(0), self.accumulate) {
            (false, _) => None,
            (true, true) => Some(g.clone()),
            // Overwritten positions did not reach the output.
            (true, false) => Some(scatter(g, dim, index, ScatterSource::Value(0.0))?),
        };
        let mut grads = vec![gx, None];
        if !self.value {
            grads.push(if ctx.needs(2) {
                let mut gs = gather(g, dim, index)?;
                if self.masked {
                    gs = mul(&gs, ctx.saved(1)?)?;
                }
                Some(zero_extend(&gs, ctx.input_shapes[2])?)
            } else {
                None
            });
        }
        Ok(grads)
    }
}

fn scatter_impl(op: &'static str, x: &Tensor, dim: i64, index: &Tensor, src: ScatterSource, accumulate: bool) -> Result<Tensor> {
    x.expect_f32(op)?;
    let src_tensor = match src {
        ScatterSource::Tensor(s) => {
            s.expect_f32(op)?;
            Some(s)
        }
        ScatterSource::Value(_) => None,
    };
    let plan = plan(op, x.shape(), dim, index, src_tensor.map(Tensor::shape))?;
    // f64 so that scatterAdd's repeated additions round once.
    let mut acc = x.with_f32(op, |v| -> Result<Vec<f64>> {
        let mut acc = try_alloc(op, v.len(), 0.0f64)?;
        acc.iter_mut().zip(v).for_each(|(a, &b)| *a = b as f64);
        Ok(acc)
    })??;
    match src {
        ScatterSource::Value(value) => {
            let value = value as f32 as f64;
            for &t in &plan.targets {
                acc[t] = if accumulate { acc[t] + value } else { value };
            }
        }
        ScatterSource::Tensor(s) => s.with_f32(op, |sv| {
            for (&t, &k) in plan.targets.iter().zip(&plan.sources) {
                let v = sv[k] as f64;
                acc[t] = if accumulate { acc[t] + v } else { v };
            }
        })?,
    }
    let out = Tensor::from_f32(try_map(op, &acc, |v| v as f32)?, x.shape())?;
    drop(acc);
    let wants_grad = is_grad_enabled() && (x.requires_grad() || src_tensor.is_some_and(Tensor::requires_grad));
    let mask = match src_tensor {
        Some(_) if !accumulate && wants_grad => winners(op, x.numel(), &plan.targets, index.shape())?,
        _ => None,
    };
    let node = ScatterBackward { dim: plan.dim, accumulate, value: src_tensor.is_none(), masked: mask.is_some() };
    let saved = || [Some(index.clone()), mask].into_iter().flatten().collect();
    Ok(match src_tensor {
        Some(s) => record(out, &[x, index, s], saved, node),
        None => record(out, &[x, index], saved, node),
    })
}

/// A 0/1 mask (the index's shape) of the writes that survive, or `None` when no index
/// repeats (every write survives).
fn winners(op: &str, numel: usize, targets: &[usize], index_shape: &[usize]) -> Result<Option<Tensor>> {
    let mut last = try_alloc(op, numel, usize::MAX)?;
    for (k, &t) in targets.iter().enumerate() {
        last[t] = k;
    }
    if targets.iter().enumerate().all(|(k, &t)| last[t] == k) {
        return Ok(None);
    }
    let mut mask = try_alloc(op, targets.len(), 0.0f32)?;
    for (k, &t) in targets.iter().enumerate() {
        mask[k] = (last[t] == k) as u8 as f32;
    }
    Ok(Some(Tensor::from_f32(mask, index_shape)?))
}

/// A copy of `x` with `src` (or a value) written at the indexed positions along `dim`;
/// with repeated indices the last write (row-major over the index) wins.
pub fn scatter(x: &Tensor, dim: i64, index: &Tensor, src: ScatterSource) -> Result<Tensor> {
    scatter_impl("scatter", x, dim, index, src, false)
}

/// A copy of `x` with `src` added at the indexed positions along `dim` (repeats add up).
pub fn scatter_add(x: &Tensor, dim: i64, index: &Tensor, src: &Tensor) -> Result<Tensor> {
    scatter_impl("scatterAdd", x, dim, index, ScatterSource::Tensor(src), true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autograd::engine::{backward, PassOptions};
    use crate::ErrorKind;

    fn t(values: &[f32], shape: &[usize]) -> Tensor {
        Tensor::from_f32(values.to_vec(), shape).unwrap()
    }
    fn idx(values: &[i32], shape: &[usize]) -> Tensor {
        Tensor::from_buffer(Buffer::I32(values.to_vec()), shape).unwrap()
    }

    #[test]
    fn gather_and_scatter_follow_pytorch() {
        let x = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
        let g = gather(&x, 1, &idx(&[2, 0, 1, 1], &[2, 2])).unwrap();
        assert_eq!(g.to_f64_vec().unwrap(), vec![3.0, 1.0, 5.0, 5.0]);
        let zeros = t(&[0.0; 6], &[2, 3]);
        let s = scatter_add(&zeros, 0, &idx(&[1, 1, 0], &[1, 3]), &t(&[7.0, 8.0, 9.0, 1.0], &[2, 2])).unwrap_err();
        assert_eq!(s.kind, ErrorKind::Shape, "{}", s.message);
        let s = scatter_add(&zeros, 0, &idx(&[1, 0, 1, 1], &[2, 2]), &t(&[7.0, 8.0, 9.0, 1.0], &[2, 2])).unwrap();
        assert_eq!(s.to_f64_vec().unwrap(), vec![0.0, 8.0, 0.0, 16.0, 1.0, 0.0]);
        // Repeated targets: the last write wins, and only it gets a gradient.
        let src = t(&[1.0, 2.0, 3.0], &[3]);
        src.set_requires_grad(true).unwrap();
        let out = scatter(&t(&[0.0; 2], &[2]), 0, &idx(&[1, 1, 0], &[3]), ScatterSource::Tensor(&src)).unwrap();
        assert_eq!(out.to_f64_vec().unwrap(), vec![3.0, 2.0]);
        backward(&out, Some(&t(&[10.0, 20.0], &[2])), PassOptions::default()).unwrap();
        assert_eq!(src.grad().unwrap().to_f64_vec().unwrap(), vec![0.0, 20.0, 10.0]);
    }

    #[test]
    fn bad_indices_are_errors_not_traps() {
        let x = t(&[1.0, 2.0, 3.0], &[3]);
        for (bad, kind) in [
            (idx(&[3], &[1]), ErrorKind::Argument),
            (idx(&[-1], &[1]), ErrorKind::Argument),
            (idx(&[0], &[1, 1]), ErrorKind::Shape),
            (t(&[0.0], &[1]), ErrorKind::DType),
        ] {
            let e = gather(&x, 0, &bad).unwrap_err();
            assert_eq!(e.kind, kind, "{}", e.message);
            assert!(e.message.starts_with("gather:"), "{}", e.message);
        }
        assert_eq!(gather(&x, 1, &idx(&[0], &[1])).unwrap_err().kind, ErrorKind::Argument);
    }
}

//! Slicing (a strided view) and concatenation. Each is the other's gradient: a slice's
//! gradient is the incoming one written into zeros at the sliced positions, and a
//! concatenation's gradient is sliced back into its inputs.

use crate::autograd::graph::{record, try_record, Backward, VjpCtx};
use crate::error::{fmt_shape, Error, Result};
use crate::layout::{checked_numel, normalize_axis, Layout};
use crate::ops::creation::cast;
use crate::memory;
use crate::storage::{try_collect, DType};
use crate::tensor::{write_through, Tensor};

/// The view of `x` along `dim` from `start` to `end` (exclusive) by `step`, with Python's
/// rules: negative indices count from the end, out-of-range bounds are clamped.
pub fn slice(x: &Tensor, dim: i64, start: i64, end: i64, step: i64) -> Result<Tensor> {
    if x.ndim() == 0 {
        return Err(Error::shape("slice: a 0-d tensor cannot be sliced".to_string()));
    }
    if step <= 0 {
        return Err(Error::argument(format!("slice: step must be positive, got {step}")));
    }
    let d = normalize_axis("slice", dim, x.ndim())?;
    let n = x.shape()[d] as i64;
    let clampi = |i: i64| (if i < 0 { i + n } else { i }).clamp(0, n);
    let (s, e) = (clampi(start), clampi(end).max(clampi(start)));
    let len = ((e - s) + step - 1) / step;
    let l = x.layout();
    let mut layout = l.clone();
    layout.offset = l.offset + s as usize * l.strides[d];
    layout.shape[d] = len as usize;
    layout.strides[d] = l.strides[d] * step as usize;
    let out = x.view_with(layout);
    let node = SliceBackward { dim: d, start: s as usize, step: step as usize };
    Ok(record(out, &[x], Vec::new, node))
}

struct SliceBackward {
    dim: usize,
    start: usize,
    step: usize,
}

impl Backward for SliceBackward {
    fn name(&self) -> &'static str {
        "SliceBackward0"
    }
    fn vjp(&self, ctx: &VjpCtx, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let full = Tensor::full("slice", ctx.input_shapes[0], 0.0, DType::F32)?;
        let base = Layout::contiguous(ctx.input_shapes[0]);
        let mut layout = base.clone();
        layout.offset = self.start * base.strides[self.dim];
        layout.shape[self.dim] = g.shape()[self.dim];
        layout.strides[self.dim] = base.strides[self.dim] * self.step;
        write_through(&full, &layout, g)?;
        // Writing into zeros is linear in g; its own gradient slices g's gradient back.
        let adjoint = SliceBackward { dim: self.dim, start: self.start, step: self.step };
        Ok(vec![Some(record(full, &[g], Vec::new, SliceGradBackward { slice: adjoint, len: g.shape()[self.dim] }))])
    }
}

/// The gradient of a slice's backward: the same slice of the incoming gradient.
struct SliceGradBackward {
    slice: SliceBackward,
    len: usize,
}

impl Backward for SliceGradBackward {
    fn name(&self) -> &'static str {
        "SliceBackwardBackward0"
    }
    fn vjp(&self, _: &VjpCtx, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let s = &self.slice;
        let end = s.start + self.len * s.step;
        Ok(vec![Some(slice(g, s.dim as i64, s.start as i64, end as i64, s.step as i64)?)])
    }
}

struct CatBackward {
    dim: usize,
}

impl Backward for CatBackward {
    fn name(&self) -> &'static str {
        "CatBackward0"
    }
    fn vjp(&self, ctx: &VjpCtx, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let mut start = 0;
        let mut grads = Vec::new();
        memory::fallible_grow("cat", &mut grads, ctx.input_shapes.len())?;
        for (i, shape) in ctx.input_shapes.iter().enumerate() {
            if *shape == [0] && g.ndim() != 1 {
                // A 1-D empty input the forward skipped (legacy rule): an empty gradient.
                grads.push(if ctx.needs(i) { Some(Tensor::full("cat", &[0], 0.0, DType::F32)?) } else { None });
                continue;
            }
            let len = shape[self.dim];
            grads.push(if ctx.needs(i) {
                Some(slice(g, self.dim as i64, start as i64, (start + len) as i64, 1)?)
            } else {
                None
            });
            start += len;
        }
        Ok(grads)
    }
}

/// Concatenates tensors along `dim`; all other dims must match. Tensors of one dtype keep
/// it; mixed dtypes are all converted to float32.
pub fn cat(tensors: &[Tensor], dim: i64) -> Result<Tensor> {
    let dtype = tensors.first().map_or(DType::F32, Tensor::dtype);
    if tensors.iter().any(|t| t.dtype() != dtype) {
        let mut floats = Vec::new();
        memory::fallible_grow("cat", &mut floats, tensors.len())?;
        for t in tensors {
            floats.push(cast(t, DType::F32)?);
        }
        return cat(&floats, dim);
    }
    // PyTorch's documented legacy rule: 1-D empty tensors (shape [0]) are skipped, whatever
    // the others' shapes (they stay inputs of the graph, with an empty gradient).
    let legacy_empty = |t: &&Tensor| t.shape() == [0];
    let skip_legacy = tensors.iter().any(|t| legacy_empty(&t)) && !tensors.iter().all(|t| legacy_empty(&t));
    let parts = || tensors.iter().filter(move |t| !(skip_legacy && legacy_empty(t)));
    let first = parts().next().ok_or_else(|| Error::argument("cat: expected a non-empty list of tensors"))?;
    if first.ndim() == 0 {
        return Err(Error::shape("cat: zero-dimensional tensors cannot be concatenated; unsqueeze them or use stack".to_string()));
    }
    let d = normalize_axis("cat", dim, first.ndim())?;
    let mut shape = first.shape().to_vec();
    shape[d] = 0;
    for t in parts() {
        let same = t.ndim() == first.ndim() && t.shape().iter().zip(first.shape()).enumerate().all(|(i, (a, b))| i == d || a == b);
        if !same {
            return Err(Error::shape(format!(
                "cat: tensors of shapes {} and {} differ outside dimension {d}",
                fmt_shape(first.shape()),
                fmt_shape(t.shape())
            )));
        }
        shape[d] += t.shape()[d];
    }
    checked_numel("cat", &shape)?;
    let out = Tensor::full("cat", &shape, 0.0, dtype)?;
    let base = Layout::contiguous(&shape);
    let mut start = 0;
    for t in parts() {
        let mut layout = base.clone();
        layout.offset = start * base.strides[d];
        layout.shape[d] = t.shape()[d];
        write_through(&out, &layout, t)?;
        start += t.shape()[d];
    }
    let inputs = try_collect("cat", tensors.len(), tensors.iter())?;
    try_record("cat", out, &inputs, Vec::new, CatBackward { dim: d })
}

//! Reductions: sum and mean (one node), amax/amin (ties share the gradient),
//! argmax/argmin (int32 indices, no gradient), prod (exact gradient at zeros) and any/all
//! (bool, in `logical`), var/std (two-pass, PyTorch's correction) and logsumexp
//! (max-shifted). Bool input to the numeric ones counts as 0./1. float32.

use crate::autograd::graph::{record, Backward, VjpCtx};
use crate::error::{Error, Result};
use crate::kernels::elementwise::map;
use crate::autograd::mode::is_grad_enabled;
use crate::kernels::extreme::{arg_extreme, extreme_keepdim};
use crate::kernels::reduce::{logsumexp_keepdim, prod_keepdim, prod_of_others, sum_keepdim, var_keepdim};
use crate::layout::Layout;
use crate::layout::normalize_axis;
use crate::ops::binary::{binary, div, mul, mul_scalar, sub, BinaryOp};
use crate::ops::logical::any_all;
use crate::ops::movement::{expand, reshape};
use crate::ops::indexing::where_;
use crate::ops::schema::{flag, float, optional_ints, tensor, Arg, OpDef, Run};
use crate::ops::unary::{unary, UnaryOp};
use crate::tensor::Tensor;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ReduceOp {
    Sum,
    Mean,
}

const DIMS_KEEPDIM: &[Arg] = &[tensor("input"), optional_ints("dim"), flag("keepdim")];
/// var/std: n − correction divides the squared deviations.
const DIMS_CORRECTION_KEEPDIM: &[Arg] = &[tensor("input"), optional_ints("dim"), float("correction"), flag("keepdim")];

/// The reductions (see `ops/schema.rs`). Bool input counts as 0./1. float32, except for
/// any/all, which read truth values.
pub static OPS: &[OpDef] = &[
    OpDef { name: "sum", grad_fn: "SumBackward1", args: DIMS_KEEPDIM,
        run: Run::Tensor(|a| sum(&a.numeric(0)?, a.optional_ints(1)?, a.flag(2)?)) },
    OpDef { name: "mean", grad_fn: "MeanBackward1", args: DIMS_KEEPDIM,
        run: Run::Tensor(|a| mean(&a.numeric(0)?, a.optional_ints(1)?, a.flag(2)?)) },
    OpDef { name: "amax", grad_fn: "AmaxBackward0", args: DIMS_KEEPDIM,
        run: Run::Tensor(|a| extreme(&a.numeric(0)?, a.optional_ints(1)?, a.flag(2)?, true)) },
    OpDef { name: "amin", grad_fn: "AminBackward0", args: DIMS_KEEPDIM,
        run: Run::Tensor(|a| extreme(&a.numeric(0)?, a.optional_ints(1)?, a.flag(2)?, false)) },
    OpDef { name: "argmax", grad_fn: "", args: DIMS_KEEPDIM,
        run: Run::Tensor(|a| arg_extreme_op(&a.numeric(0)?, a.optional_ints(1)?, a.flag(2)?, true)) },
    OpDef { name: "argmin", grad_fn: "", args: DIMS_KEEPDIM,
        run: Run::Tensor(|a| arg_extreme_op(&a.numeric(0)?, a.optional_ints(1)?, a.flag(2)?, false)) },
    OpDef { name: "prod", grad_fn: "ProdBackward1", args: DIMS_KEEPDIM,
        run: Run::Tensor(|a| prod(&a.numeric(0)?, a.optional_ints(1)?, a.flag(2)?)) },
    OpDef { name: "any", grad_fn: "", args: DIMS_KEEPDIM,
        run: Run::Tensor(|a| any_all(a.tensor(0)?, a.optional_ints(1)?, a.flag(2)?, false)) },
    OpDef { name: "all", grad_fn: "", args: DIMS_KEEPDIM,
        run: Run::Tensor(|a| any_all(a.tensor(0)?, a.optional_ints(1)?, a.flag(2)?, true)) },
    OpDef { name: "var", grad_fn: "VarBackward0", args: DIMS_CORRECTION_KEEPDIM,
        run: Run::Tensor(|a| var_std(&a.numeric(0)?, a.optional_ints(1)?, a.flag(3)?, a.float(2)?, false)) },
    OpDef { name: "std", grad_fn: "StdBackward0", args: DIMS_CORRECTION_KEEPDIM,
        run: Run::Tensor(|a| var_std(&a.numeric(0)?, a.optional_ints(1)?, a.flag(3)?, a.float(2)?, true)) },
    OpDef { name: "logsumexp", grad_fn: "LogsumexpBackward0", args: DIMS_KEEPDIM,
        run: Run::Tensor(|a| logsumexp(&a.numeric(0)?, a.optional_ints(1)?, a.flag(2)?)) },
];

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

pub(crate) fn output_shape(shape: &[usize], reduced: &[bool], keepdim: bool) -> Vec<usize> {
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
    let name = match op {
        ReduceOp::Sum => "sum",
        ReduceOp::Mean => "mean",
    };
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

/// Sums a broadcast gradient back to `shape` (the engine's single place for this). It is
/// the `sum` op, so under `createGraph` the reduction is recorded like any other.
pub fn sum_to_shape(g: &Tensor, shape: &[usize]) -> Result<Tensor> {
    let lead = g.ndim().checked_sub(shape.len()).ok_or_else(|| {
        Error::shape(format!("backward: gradient of shape {:?} cannot be reduced to {:?}", g.shape(), shape))
    })?;
    let axes: Vec<i64> = g
        .shape()
        .iter()
        .enumerate()
        .filter(|&(i, &d)| i < lead || (shape[i - lead] == 1 && d != 1))
        .map(|(i, _)| i as i64)
        .collect();
    reshape(&sum(g, Some(&axes), true)?, shape)
}

/// amax/amin: the gradient is shared evenly by the elements equal to the extreme.
struct ExtremeBackward {
    name: &'static str,
    keepdim_shape: Vec<usize>,
    axes: Vec<i64>,
}

impl Backward for ExtremeBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn vjp(&self, ctx: &VjpCtx, grad: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let (x, out) = (ctx.saved(0)?, ctx.saved(1)?);
        let out = reshape(out, &self.keepdim_shape)?;
        let mask = binary(BinaryOp::EqMask, x, &out)?;
        let count = sum(&mask, Some(&self.axes), true)?;
        let g = reshape(grad, &self.keepdim_shape)?;
        Ok(vec![Some(mul(&mask, &div(&g, &count)?)?)])
    }
}

fn extreme(x: &Tensor, axes: Option<&[i64]>, keepdim: bool, largest: bool) -> Result<Tensor> {
    let name = if largest { "amax" } else { "amin" };
    let reduced = reduced_dims(name, x.ndim(), axes)?;
    if x.shape().iter().zip(&reduced).any(|(&d, &r)| r && d == 0) {
        return Err(Error::shape(format!("{name}: cannot reduce an empty dimension of shape {:?} (no identity)", x.shape())));
    }
    let kept = extreme_keepdim(name, x, &reduced, largest)?;
    let keepdim_shape = kept.shape().to_vec();
    let out = if keepdim { kept } else { kept.view_with(Layout::contiguous(&output_shape(x.shape(), &reduced, keepdim))) };
    let axes: Vec<i64> = (0..x.ndim() as i64).filter(|&d| reduced[d as usize]).collect();
    let node = ExtremeBackward { name: if largest { "AmaxBackward0" } else { "AminBackward0" }, keepdim_shape, axes };
    Ok(record(out.clone(), &[x], || vec![x.clone(), out], node))
}

/// argmax/argmin over one dim, or over the flattened tensor when `axes` is `None`.
fn arg_extreme_op(x: &Tensor, axes: Option<&[i64]>, keepdim: bool, largest: bool) -> Result<Tensor> {
    let name = if largest { "argmax" } else { "argmin" };
    x.expect_f32(name)?;
    let (dim, shape): (Option<usize>, Vec<usize>) = match axes {
        None => (None, x.shape().to_vec()),
        Some([a]) => (Some(normalize_axis(name, *a, x.ndim())?), x.shape().to_vec()),
        Some(other) => return Err(Error::argument(format!("{name}: expected one dim, got {other:?}"))),
    };
    let (outer, n, inner, out_shape) = match dim {
        None => (1, x.numel(), 1, if keepdim { vec![1; x.ndim()] } else { vec![] }),
        Some(_) if x.ndim() == 0 => (1, 1, 1, vec![]),
        Some(d) => {
            let kept: Vec<usize> = shape.iter().enumerate().map(|(i, &s)| if i == d { 1 } else { s }).collect();
            let out = if keepdim { kept } else { shape.iter().enumerate().filter(|&(i, _)| i != d).map(|(_, &s)| s).collect() };
            (shape[..d].iter().product(), shape[d], shape[d + 1..].iter().product(), out)
        }
    };
    if n == 0 {
        return Err(Error::shape(format!("{name}: cannot take the {name} of an empty dimension (shape {:?})", x.shape())));
    }
    let indices = x.with_f32(name, |src| arg_extreme(name, src, outer, n, inner, largest))??;
    Tensor::from_buffer(crate::storage::Buffer::I32(indices), &out_shape)
}

/// prod's gradient is `g · out / x` when no input is zero. With zeros that division is
/// 0/0, so the product of the other elements is computed directly instead; that kernel is
/// not differentiable, hence the refusal under grad mode (double backward).
struct ProdBackward {
    name: &'static str,
    keepdim_shape: Vec<usize>,
    /// `(outer, n, inner)`: the input as groups of `n` elements multiplied together.
    groups: (usize, usize, usize),
    has_zero: bool,
}

impl Backward for ProdBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn vjp(&self, ctx: &VjpCtx, grad: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let (x, out) = (ctx.saved(0)?, ctx.saved(1)?);
        let g = reshape(grad, &self.keepdim_shape)?;
        if !self.has_zero {
            return Ok(vec![Some(div(&mul(&g, &reshape(out, &self.keepdim_shape)?)?, x)?)]);
        }
        if is_grad_enabled() {
            return Err(Error::autograd("prod: double backward through an input containing zeros is not supported"));
        }
        let (outer, n, inner) = self.groups;
        let others = x.with_f32("prod", |src| prod_of_others("prod", src, outer, n, inner))??;
        let others = Tensor::from_f32(others, x.shape())?;
        Ok(vec![Some(mul(&others, &g)?)])
    }
}

/// Product over all elements, or over one dim (`axes` of length 1), as `torch.prod`.
pub fn prod(x: &Tensor, axes: Option<&[i64]>, keepdim: bool) -> Result<Tensor> {
    const OP: &str = "prod";
    if let Some(a) = axes {
        if a.len() != 1 {
            return Err(Error::argument(format!("{OP}: expected one dim or none, got {a:?}")));
        }
    }
    let reduced = reduced_dims(OP, x.ndim(), axes)?;
    let (kept, has_zero) = prod_keepdim(OP, x, &reduced)?;
    let keepdim_shape = kept.shape().to_vec();
    let out = if keepdim { kept } else { kept.view_with(Layout::contiguous(&output_shape(x.shape(), &reduced, keepdim))) };
    let groups = match reduced.iter().position(|&r| r) {
        Some(d) if axes.is_some() => {
            let s = x.shape();
            (s[..d].iter().product(), s[d], s[d + 1..].iter().product())
        }
        _ if axes.is_some() => (x.numel(), 1, 1),
        _ => (1, x.numel(), 1),
    };
    let name = if axes.is_none() { "ProdBackward0" } else { "ProdBackward1" };
    let node = ProdBackward { name, keepdim_shape, groups, has_zero };
    Ok(record(out.clone(), &[x], || vec![x.clone(), out], node))
}

/// The reduced dims as a list (for the ops a VJP calls), and the keepdim output reshaped to
/// the requested one.
fn finish(x: &Tensor, kept: Tensor, reduced: &[bool], keepdim: bool) -> (Tensor, Vec<usize>, Vec<i64>) {
    let keepdim_shape = kept.shape().to_vec();
    let out = if keepdim { kept } else { kept.view_with(Layout::contiguous(&output_shape(x.shape(), reduced, keepdim))) };
    let axes: Vec<i64> = (0..x.ndim() as i64).filter(|&d| reduced[d as usize]).collect();
    (out, keepdim_shape, axes)
}

/// var: `g · 2(x − mean) / (n − correction)` (PyTorch's var_backward, the mean recomputed);
/// std: the same with `g / (2·std)`, which is 0 where std is 0 (a constant input).
struct VarStdBackward {
    name: &'static str,
    keepdim_shape: Vec<usize>,
    axes: Vec<i64>,
    divisor: f64,
    std: bool,
}

impl Backward for VarStdBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn vjp(&self, ctx: &VjpCtx, grad: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let x = ctx.saved(0)?;
        let mut g = reshape(grad, &self.keepdim_shape)?;
        if self.std {
            // where(std = 0, 0, g / (2·where(std = 0, 1, std))): the inner where keeps the
            // unselected branch finite, so a second derivative sees no 0·∞ either.
            let out = reshape(ctx.saved(1)?, &self.keepdim_shape)?;
            let zero = binary(BinaryOp::EqMask, &out, &Tensor::scalar(0.0))?;
            let safe = where_(&zero, &Tensor::scalar(1.0), &out)?;
            g = where_(&zero, &Tensor::scalar(0.0), &div(&g, &mul_scalar(&safe, 2.0)?)?)?;
        }
        let centred = sub(x, &mean(x, Some(&self.axes), true)?)?;
        // 2/0 = ∞ when n ≤ correction: the gradient is NaN (0·∞), as the value is.
        Ok(vec![Some(mul(&mul_scalar(&centred, 2.0 / self.divisor)?, &g)?)])
    }
}

/// Variance (or its square root) over `axes`, PyTorch's `var`/`std` with `correction`
/// (1: unbiased, 0: biased; any finite number as in PyTorch); where n − correction ≤ 0 the
/// divisor is 0 (∞, or NaN for a zero sum of squares).
pub fn var_std(x: &Tensor, axes: Option<&[i64]>, keepdim: bool, correction: f64, std: bool) -> Result<Tensor> {
    let name = if std { "std" } else { "var" };
    if !correction.is_finite() {
        return Err(Error::argument(format!("{name}: correction must be a finite number, got {}", crate::error::fmt_number(correction))));
    }
    let reduced = reduced_dims(name, x.ndim(), axes)?;
    let kept = var_keepdim(name, x, &reduced, correction, std)?;
    let n: usize = x.shape().iter().zip(&reduced).filter(|(_, &r)| r).map(|(&d, _)| d).product();
    let divisor = (n as f64 - correction).max(0.0);
    let (out, keepdim_shape, axes) = finish(x, kept, &reduced, keepdim);
    let node = VarStdBackward { name: if std { "StdBackward0" } else { "VarBackward0" }, keepdim_shape, axes, divisor, std };
    Ok(if std { record(out.clone(), &[x], || vec![x.clone(), out], node) } else { record(out, &[x], || vec![x.clone()], node) })
}

/// logsumexp: `g · exp(x − out)`, the softmax over the reduced dims (PyTorch's
/// logsumexp_backward; NaN where out is ±inf, as there).
struct LogsumexpBackward {
    keepdim_shape: Vec<usize>,
}

impl Backward for LogsumexpBackward {
    fn name(&self) -> &'static str {
        "LogsumexpBackward0"
    }
    fn vjp(&self, ctx: &VjpCtx, grad: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let (x, out) = (ctx.saved(0)?, ctx.saved(1)?);
        let out = reshape(out, &self.keepdim_shape)?;
        let g = reshape(grad, &self.keepdim_shape)?;
        Ok(vec![Some(mul(&g, &unary(UnaryOp::Exp, &sub(x, &out)?)?)?)])
    }
}

/// `log Σ exp(x)` over `axes` (all when `None`), max-shifted; −inf for an empty reduction.
pub fn logsumexp(x: &Tensor, axes: Option<&[i64]>, keepdim: bool) -> Result<Tensor> {
    const OP: &str = "logsumexp";
    let reduced = reduced_dims(OP, x.ndim(), axes)?;
    let kept = logsumexp_keepdim(OP, x, &reduced)?;
    let (out, keepdim_shape, _) = finish(x, kept, &reduced, keepdim);
    Ok(record(out.clone(), &[x], || vec![x.clone(), out], LogsumexpBackward { keepdim_shape }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autograd::engine::{backward, PassOptions};
    use crate::ErrorKind;

    /// Every numeric reduction takes a bool input as 0./1. (the table says which read truth
    /// values instead); prod once failed here through a hand-numbered id.
    #[test]
    fn bool_input_through_the_table() {
        let mask = Tensor::from_buffer(crate::storage::Buffer::Bool(vec![1, 0, 1]), &[3]).unwrap();
        use crate::ops::schema::{call, Args, Value};
        let value = |name: &str| {
            let def = OPS.iter().find(|d| d.name == name).unwrap();
            call(def, &Args::new(def.name, vec![Value::Tensor(Some(mask.clone())), Value::Ints(None), Value::Bool(false)])).unwrap()
        };
        assert_eq!(value("prod").to_f64_vec().unwrap(), vec![0.0]);
        assert_eq!(value("prod").dtype(), crate::DType::F32);
        assert_eq!(value("sum").to_f64_vec().unwrap(), vec![2.0]);
        assert_eq!(value("any").dtype(), crate::DType::Bool);
        assert_eq!(value("all").to_f64_vec().unwrap(), vec![0.0]);
    }

    #[test]
    fn prod_gradient_at_zeros() {
        let x = Tensor::from_f32(vec![2.0, 0.0, 3.0, 0.0, 0.0, 5.0, 1.0, 2.0, 4.0], &[3, 3]).unwrap();
        x.set_requires_grad(true).unwrap();
        let y = prod(&x, Some(&[1]), false).unwrap();
        assert_eq!(y.to_f64_vec().unwrap(), vec![0.0, 0.0, 8.0]);
        let ones = Tensor::full("t", &[3], 1.0, crate::DType::F32).unwrap();
        backward(&y, Some(&ones), PassOptions { retain_graph: true, ..Default::default() }).unwrap();
        assert_eq!(x.grad().unwrap().to_f64_vec().unwrap(), vec![0.0, 6.0, 0.0, 0.0, 0.0, 0.0, 8.0, 4.0, 2.0]);
        // A recorded backward (createGraph) cannot use the kernel path: a clear error.
        let err = backward(&y, Some(&ones), PassOptions { retain_graph: true, create_graph: true }).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Autograd);
        assert!(err.message.starts_with("prod:"), "{}", err.message);
    }
}

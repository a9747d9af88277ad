//! Neural-network functional ops with fused kernels: softmax, log-softmax, cross-entropy
//! (forward and backward in one pass each) and linear (GEMM with bias and activation
//! applied in the same pass over the output).

use crate::autograd::graph::{record, Backward, VjpCtx};
use crate::autograd::mode::{is_grad_enabled, NoGradGuard};
use crate::error::{fmt_shape, Error, Result};
use crate::kernels::softmax::{softmax_rows, SoftmaxKind};
use crate::layout::{checked_numel, normalize_axis};
use crate::ops::binary::{div, mul, mul_scalar, rsub_scalar, sub};
use crate::ops::creation::float_if_bool;
use crate::ops::linalg::matmul;
use crate::ops::movement::{reshape, transpose_last};
use crate::ops::reduce::sum;
use crate::ops::schema::{choice, float, int, optional_tensor, tensor, OpDef, Run};
use crate::ops::unary::{unary, UnaryOp};
use crate::storage::{try_alloc, try_alloc_overwritten, try_map, Buffer, DType};
use crate::tensor::{unreachable_dtype, Tensor};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum NnOp {
    Softmax,
    LogSoftmax,
    CrossEntropy,
    Linear,
}

/// The neural-network functions (see `ops/schema.rs`); convolution and pooling have their
/// own families.
pub static OPS: &[OpDef] = &[
    OpDef { name: "softmax", grad_fn: "SoftmaxBackward0", args: &[tensor("input"), int("dim")],
        run: Run::Tensor(|a| softmax(&a.numeric(0)?, a.int(1)?, SoftmaxKind::Softmax)) },
    OpDef { name: "logSoftmax", grad_fn: "LogSoftmaxBackward0", args: &[tensor("input"), int("dim")],
        run: Run::Tensor(|a| softmax(&a.numeric(0)?, a.int(1)?, SoftmaxKind::Log)) },
    OpDef { name: "crossEntropy", grad_fn: "CrossEntropyBackward0",
        args: &[tensor("input"), tensor("target"), choice("reduction", REDUCTION_NAMES), int("ignoreIndex"), float("labelSmoothing")],
        run: Run::Tensor(|a| {
            let ignore_index = i32::try_from(a.int(3)?).map_err(|_| Error::argument(format!("{}: ignoreIndex out of range", a.op)))?;
            let options = CrossEntropyOptions {
                reduction: a.choose(2, &Reduction::ALL)?,
                ignore_index,
                label_smoothing: a.float(4)? as f32,
            };
            cross_entropy(&a.numeric(0)?, &a.numeric(1)?, options)
        }) },
    OpDef { name: "linear", grad_fn: "AddmmBackward0",
        args: &[tensor("input"), tensor("weight"), optional_tensor("bias"), choice("activation", ACTIVATION_NAMES)],
        run: Run::Tensor(|a| {
            let bias = a.optional_tensor(2)?.map(float_if_bool).transpose()?;
            linear(&a.numeric(0)?, &a.numeric(1)?, bias.as_ref(), a.choose(3, &Activation::ALL)?)
        }) },
    OpDef { name: "binaryCrossEntropy", grad_fn: "BinaryCrossEntropyBackward0", args: &[tensor("input"), tensor("target")],
        run: Run::Tensor(|a| binary_cross_entropy(&a.numeric(0)?, &a.numeric(1)?)) },
];

/// `(outer, n, inner)` of a shape split around `dim`.
fn split_at(shape: &[usize], dim: usize) -> (usize, usize, usize) {
    (shape[..dim].iter().product(), shape[dim], shape[dim + 1..].iter().product())
}

// ---- softmax / logSoftmax -------------------------------------------------------------

struct SoftmaxBackward {
    kind: SoftmaxKind,
    dim: i64,
}

impl Backward for SoftmaxBackward {
    fn name(&self) -> &'static str {
        match self.kind {
            SoftmaxKind::Softmax => "SoftmaxBackward0",
            SoftmaxKind::Log => "LogSoftmaxBackward0",
        }
    }
    /// softmax: dx = y·(g − Σ g·y); log-softmax: dx = g − exp(y)·Σ g.
    fn vjp(&self, ctx: &VjpCtx, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let y = ctx.saved(0)?;
        let dims = [self.dim];
        let dx = match self.kind {
            SoftmaxKind::Softmax => mul(y, &sub(g, &sum(&mul(g, y)?, Some(&dims), true)?)?)?,
            SoftmaxKind::Log => sub(g, &mul(&unary(UnaryOp::Exp, y)?, &sum(g, Some(&dims), true)?)?)?,
        };
        Ok(vec![Some(dx)])
    }
}

/// Softmax (or log-softmax) along `dim`, numerically stable (the row max is subtracted).
pub fn softmax(x: &Tensor, dim: i64, kind: SoftmaxKind) -> Result<Tensor> {
    let name = if kind == SoftmaxKind::Softmax { "softmax" } else { "logSoftmax" };
    let d = normalize_axis(name, dim, x.ndim())?;
    let shape = if x.ndim() == 0 { vec![1] } else { x.shape().to_vec() };
    let (outer, n, inner) = split_at(&shape, d);
    let mut out = try_alloc_overwritten(name, x.numel())?;
    // Per-column running max and total when rows run across `inner` columns.
    let mut scratch = try_alloc(name, if inner > 1 { 2 * inner } else { 0 }, 0.0f32)?;
    x.with_f32(name, |src| softmax_rows(src, &mut out, outer, n, inner, kind, &mut scratch))?;
    let y = Tensor::from_f32(out, x.shape())?;
    Ok(record(y.clone(), &[x], || vec![y], SoftmaxBackward { kind, dim: d as i64 }))
}

// ---- cross-entropy --------------------------------------------------------------------

/// How per-element losses are combined, PyTorch's `reduction`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    None,
    Mean,
    Sum,
}

/// The reductions by PyTorch's name, in the order of [`Reduction::ALL`].
pub const REDUCTION_NAMES: &[&str] = &["none", "mean", "sum"];

impl Reduction {
    pub const ALL: [Reduction; 3] = [Reduction::None, Reduction::Mean, Reduction::Sum];
}

/// Cross-entropy settings.
#[derive(Clone, Copy, Debug)]
pub struct CrossEntropyOptions {
    pub reduction: Reduction,
    pub ignore_index: i32,
    pub label_smoothing: f32,
}

/// The target, normalised: class indices (`[N, S]`) or probabilities (`[N, C, S]`).
enum Target {
    Indices(Vec<i32>),
    Probabilities(Vec<f32>),
}

struct CeGeometry {
    n: usize,
    c: usize,
    s: usize,
}

impl CeGeometry {
    fn logp(&self, i: usize, class: usize, j: usize) -> usize {
        (i * self.c + class) * self.s + j
    }
}

/// The smoothed target weight of `class` at row (i, j), and whether the row counts.
fn target_weight(t: &Target, g: &CeGeometry, o: &CrossEntropyOptions, i: usize, class: usize, j: usize) -> (f32, bool) {
    let eps = o.label_smoothing;
    let uniform = eps / g.c as f32;
    match t {
        Target::Indices(idx) => {
            let label = idx[i * g.s + j];
            if label == o.ignore_index {
                (0.0, false)
            } else {
                ((1.0 - eps) * (class as i32 == label) as u8 as f32 + uniform, true)
            }
        }
        Target::Probabilities(p) => ((1.0 - eps) * p[g.logp(i, class, j)] + uniform, true),
    }
}

struct CrossEntropyBackward {
    target: Target,
    geometry: CeGeometry,
    options: CrossEntropyOptions,
    /// Rows that count (for the mean).
    count: usize,
}

impl Backward for CrossEntropyBackward {
    fn name(&self) -> &'static str {
        "CrossEntropyBackward0"
    }
    /// dlogits = w · (softmax · Σ t′ − t′), in one pass; w is the upstream gradient of the
    /// row (divided by the count for the mean), 0 for ignored rows.
    fn vjp(&self, ctx: &VjpCtx, grad: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let target_grad = match self.target {
            Target::Probabilities(_) if ctx.needs(1) => Some(self.target_vjp(ctx, grad)?),
            _ => None,
        };
        if !ctx.needs(0) {
            return Ok(vec![None, target_grad]);
        }
        if is_grad_enabled() {
            return Ok(vec![Some(self.vjp_recorded(ctx.saved(1)?, grad)?), target_grad]);
        }
        let logp = ctx.saved(0)?;
        let g = &self.geometry;
        let upstream = grad.f64_values("crossEntropy")?;
        let mut dx = try_alloc("crossEntropy", g.n * g.c * g.s, 0.0f32)?;
        logp.with_f32("crossEntropy", |lp| {
            for i in 0..g.n {
                for j in 0..g.s {
                    let w = match self.options.reduction {
                        Reduction::None => upstream[i * g.s + j],
                        Reduction::Sum => upstream[0],
                        Reduction::Mean => upstream[0] / self.count as f64,
                    } as f32;
                    let weight = |c: usize| target_weight(&self.target, g, &self.options, i, c, j);
                    if g.c == 0 || !weight(0).1 {
                        continue;
                    }
                    let total: f32 = (0..g.c).map(|c| weight(c).0).sum();
                    for c in 0..g.c {
                        let k = g.logp(i, c, j);
                        dx[k] = w * (lp[k].exp() * total - weight(c).0);
                    }
                }
            }
        })?;
        Ok(vec![Some(Tensor::from_f32(dx, ctx.input_shapes[0])?), target_grad])
    }
}

impl CrossEntropyBackward {
    /// The same gradient written with ops, for `createGraph`: w · (softmax(x) · Σ t′ − t′)
    /// with the smoothed targets t′ and their row sums as constants.
    fn vjp_recorded(&self, logits: &Tensor, grad: &Tensor) -> Result<Tensor> {
        const OP: &str = "crossEntropy";
        let g = &self.geometry;
        let mut targets = try_alloc(OP, g.n * g.c * g.s, 0.0f32)?;
        let mut totals = try_alloc(OP, g.n * g.s, 0.0f32)?;
        for i in 0..g.n {
            for j in 0..g.s {
                for c in 0..g.c {
                    let (t, counts) = target_weight(&self.target, g, &self.options, i, c, j);
                    if !counts {
                        break;
                    }
                    targets[g.logp(i, c, j)] = t;
                    totals[i * g.s + j] += t;
                }
            }
        }
        let class_dim = usize::from(logits.ndim() > 1);
        let mut row_shape = logits.shape().to_vec();
        row_shape[class_dim] = 1;
        let targets = Tensor::from_f32(targets, logits.shape())?;
        let totals = Tensor::from_f32(totals, &row_shape)?;
        let p = softmax(logits, class_dim as i64, SoftmaxKind::Softmax)?;
        mul(&self.row_weights(logits.shape(), grad)?, &sub(&mul(&p, &totals)?, &targets)?)
    }

    /// The upstream gradient per row, shaped to broadcast over the classes (÷ count for
    /// the mean).
    fn row_weights(&self, logits_shape: &[usize], grad: &Tensor) -> Result<Tensor> {
        let mut row_shape = logits_shape.to_vec();
        row_shape[usize::from(logits_shape.len() > 1)] = 1;
        match self.options.reduction {
            Reduction::None => reshape(grad, &row_shape),
            Reduction::Sum => Ok(grad.clone()),
            Reduction::Mean => mul_scalar(grad, 1.0 / self.count as f64),
        }
    }

    /// A probability target's gradient: −(1 − ε)·log p, per row weight. The log-softmax
    /// is recomputed as an op when the pass is recorded (the saved one has no graph).
    fn target_vjp(&self, ctx: &VjpCtx, grad: &Tensor) -> Result<Tensor> {
        let logits = ctx.saved(1)?;
        let logp = if is_grad_enabled() {
            softmax(logits, usize::from(logits.ndim() > 1) as i64, SoftmaxKind::Log)?
        } else {
            ctx.saved(0)?.clone()
        };
        let scale = -(1.0 - self.options.label_smoothing as f64);
        mul(&self.row_weights(logits.shape(), grad)?, &mul_scalar(&logp, scale)?)
    }
}

/// PyTorch's `cross_entropy`: logits `[N, C, d…]` (or `[C]`), target class indices
/// (int32, `[N, d…]`) or probabilities (float32, the logits' shape).
pub fn cross_entropy(logits: &Tensor, target: &Tensor, options: CrossEntropyOptions) -> Result<Tensor> {
    const OP: &str = "crossEntropy";
    logits.expect_f32(OP)?;
    if logits.ndim() == 0 {
        return Err(Error::shape(format!("{OP}: logits need at least 1 dimension (classes), got a 0-d tensor")));
    }
    if !(0.0..=1.0).contains(&options.label_smoothing) {
        return Err(Error::argument(format!("{OP}: labelSmoothing must be in [0, 1], got {}", crate::error::fmt_number(options.label_smoothing as f64))));
    }
    let batched = logits.ndim() > 1;
    let shape = logits.shape();
    let geometry = if batched {
        CeGeometry { n: shape[0], c: shape[1], s: shape[2..].iter().product() }
    } else {
        CeGeometry { n: 1, c: shape[0], s: 1 }
    };
    let row_shape: Vec<usize> = if batched { [&shape[..1], &shape[2..]].concat() } else { vec![] };
    let target_values = match target.dtype() {
        DType::I32 => {
            if target.shape() != row_shape.as_slice() {
                return Err(Error::shape(format!(
                    "{OP}: class-index target of shape {} does not match logits of shape {} (expected {})",
                    fmt_shape(target.shape()),
                    fmt_shape(shape),
                    fmt_shape(&row_shape)
                )));
            }
            let labels = try_map(OP, &target.f64_values(OP)?, |v| v as i32)?;
            if let Some(bad) = labels.iter().find(|&&l| l != options.ignore_index && (l < 0 || l as usize >= geometry.c)) {
                return Err(Error::argument(format!(
                    "{OP}: target {bad} is out of bounds for {} classes (ignoreIndex is {})",
                    geometry.c, options.ignore_index
                )));
            }
            Target::Indices(labels)
        }
        DType::F32 | DType::Bool => {
            if target.shape() != shape {
                return Err(Error::shape(format!(
                    "{OP}: probability target of shape {} must match logits of shape {}",
                    fmt_shape(target.shape()),
                    fmt_shape(shape)
                )));
            }
            Target::Probabilities(target.f32_values(OP)?)
        }
    };

    let logp = {
        let _no_grad = NoGradGuard::new();
        softmax(logits, if batched { 1 } else { 0 }, SoftmaxKind::Log)?
    };
    let g = &geometry;
    let mut losses = try_alloc(OP, g.n * g.s, 0.0f64)?;
    let mut count = 0usize;
    logp.with_f32(OP, |lp| {
        for i in 0..g.n {
            for j in 0..g.s {
                let mut loss = 0.0f64;
                for c in 0..g.c {
                    let (t, counts) = target_weight(&target_values, g, &options, i, c, j);
                    if !counts {
                        break;
                    }
                    if t != 0.0 {
                        loss -= t as f64 * lp[g.logp(i, c, j)] as f64;
                    }
                }
                let counts = g.c > 0 && target_weight(&target_values, g, &options, i, 0, j).1;
                count += counts as usize;
                losses[i * g.s + j] = loss;
            }
        }
    })?;
    let out = match options.reduction {
        Reduction::None => Tensor::from_f32(try_map(OP, &losses, |v| v as f32)?, &row_shape)?,
        Reduction::Sum => Tensor::scalar(losses.iter().sum::<f64>() as f32),
        // An all-ignored batch gives 0/0 = NaN, as in PyTorch.
        Reduction::Mean => Tensor::scalar((losses.iter().sum::<f64>() / count as f64) as f32),
    };
    let node = CrossEntropyBackward { target: target_values, geometry, options, count };
    Ok(record(out, &[logits, target], || vec![logp, logits.clone()], node))
}

// ---- binary cross-entropy -------------------------------------------------------------

/// PyTorch's clamp of each log term, so a probability of exactly 0 or 1 costs 100, not ∞.
const BCE_LOG_FLOOR: f32 = -100.0;
/// PyTorch's floor of `(1 − x)·x` in the gradient.
const BCE_GRAD_EPSILON: f32 = 1e-12;

struct BinaryCrossEntropyBackward;

impl Backward for BinaryCrossEntropyBackward {
    fn name(&self) -> &'static str {
        "BinaryCrossEntropyBackward0"
    }
    /// PyTorch's rules, written with ops (so they differentiate again):
    /// input: g·(x − t) / max((1 − x)·x, 1e-12), finite at x = 0 and 1;
    /// target: g·(log(1 − x) − log(x)), unclamped.
    fn vjp(&self, ctx: &VjpCtx, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let (x, t) = (ctx.saved(0)?, ctx.saved(1)?);
        let gx = if ctx.needs(0) {
            let floor = Tensor::scalar(BCE_GRAD_EPSILON);
            let denominator = crate::ops::binary::binary(crate::ops::binary::BinaryOp::Maximum, &mul(&rsub_scalar(x, 1.0)?, x)?, &floor)?;
            Some(div(&mul(g, &sub(x, t)?)?, &denominator)?)
        } else {
            None
        };
        let gt = if ctx.needs(1) {
            let log_ratio = sub(&unary(UnaryOp::Log1p, &mul_scalar(x, -1.0)?)?, &unary(UnaryOp::Log, x)?)?;
            Some(mul(g, &log_ratio)?)
        } else {
            None
        };
        Ok(vec![gx, gt])
    }
}

/// Elementwise binary cross-entropy of probabilities `x` in [0, 1] against `t` (same
/// shape): `−(t·max(log x, −100) + (1 − t)·max(log(1 − x), −100))`; the reduction is the
/// caller's. Inputs outside [0, 1] (or NaN) are rejected, as PyTorch does.
pub fn binary_cross_entropy(x: &Tensor, t: &Tensor) -> Result<Tensor> {
    const OP: &str = "binaryCrossEntropy";
    x.expect_f32(OP)?;
    t.expect_f32(OP)?;
    if x.shape() != t.shape() {
        return Err(Error::shape(format!(
            "{OP}: target of shape {} must have the shape of the input, {}",
            fmt_shape(t.shape()),
            fmt_shape(x.shape())
        )));
    }
    let targets = t.contiguous(OP)?;
    let mut out = try_alloc(OP, x.numel(), 0.0f32)?;
    let bad = x.with_f32(OP, |xs| {
        targets.with_f32(OP, |ts| {
            for ((o, &p), &q) in out.iter_mut().zip(xs).zip(ts) {
                if !(0.0..=1.0).contains(&p) {
                    return Some(p);
                }
                let log_p = p.ln().max(BCE_LOG_FLOOR);
                let log_1mp = (-p).ln_1p().max(BCE_LOG_FLOOR);
                *o = (q - 1.0) * log_1mp - q * log_p;
            }
            None
        })
    })??;
    if let Some(p) = bad {
        return Err(Error::argument(format!(
            "{OP}: all elements of input should be between 0 and 1, got {} (input of shape {})",
            crate::error::fmt_number(p as f64),
            fmt_shape(x.shape())
        )));
    }
    let out = Tensor::from_f32(out, x.shape())?;
    Ok(record(out, &[x, t], || vec![x.clone(), t.clone()], BinaryCrossEntropyBackward))
}

// ---- linear ---------------------------------------------------------------------------

/// An activation fused into `linear`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    None,
    Relu,
}

/// The fused activations of `linear` by name, in the order of [`Activation::ALL`].
pub const ACTIVATION_NAMES: &[&str] = &["none", "relu"];

impl Activation {
    pub const ALL: [Activation; 2] = [Activation::None, Activation::Relu];
}

struct LinearBackward {
    activation: Activation,
    has_bias: bool,
}

impl Backward for LinearBackward {
    fn name(&self) -> &'static str {
        "AddmmBackward0"
    }
    fn vjp(&self, ctx: &VjpCtx, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let (x, w) = (ctx.saved(0)?, ctx.saved(1)?);
        let g = match self.activation {
            Activation::None => g.clone(),
            Activation::Relu => mul(g, &unary(UnaryOp::Step, ctx.saved(2)?)?)?,
        };
        let (out_features, in_features) = (w.shape()[0], w.shape()[1]);
        // The rows of the batch, from the shape (not numel / features, which is 0 / 0 when
        // a feature count is 0).
        let rows: usize = x.shape()[..x.ndim() - 1].iter().product();
        let gx = if ctx.needs(0) { Some(matmul(&g, w)?) } else { None };
        let g2 = reshape(&g, &[rows, out_features])?;
        let gw = if ctx.needs(1) {
            let x2 = reshape(x, &[rows, in_features])?;
            Some(matmul(&transpose_last(&g2)?, &x2)?)
        } else {
            None
        };
        let gb = if self.has_bias && ctx.needs(2) { Some(sum(&g2, Some(&[0]), false)?) } else { None };
        Ok(if self.has_bias { vec![gx, gw, gb] } else { vec![gx, gw] })
    }
}

/// `act(x · wᵀ + b)` with `x` `[…, in]`, `w` `[out, in]`, `b` `[out]`: one GEMM, then
/// bias and activation in a single pass over the output.
pub fn linear(x: &Tensor, w: &Tensor, b: Option<&Tensor>, activation: Activation) -> Result<Tensor> {
    const OP: &str = "linear";
    for t in [Some(x), Some(w), b].into_iter().flatten() {
        t.expect_f32(OP)?;
    }
    let in_features = x.shape().last().copied().unwrap_or(0);
    if x.ndim() == 0 || w.ndim() != 2 || w.shape()[1] != in_features {
        return Err(Error::shape(format!(
            "{OP}: input of shape {} and weight of shape {} do not fit (expected weight [out, {in_features}])",
            fmt_shape(x.shape()),
            fmt_shape(w.shape())
        )));
    }
    let out_features = w.shape()[0];
    if let Some(b) = b {
        if b.shape() != [out_features] {
            return Err(Error::shape(format!(
                "{OP}: bias of shape {} does not match {out_features} output features",
                fmt_shape(b.shape())
            )));
        }
    }
    let product = {
        let _no_grad = NoGradGuard::new();
        matmul(x, &transpose_last(w)?)?
    };
    checked_numel(OP, product.shape())?;
    {
        let bias = b.map(|b| b.f32_values(OP)).transpose()?;
        let mut buffer = product.storage().buffer_mut();
        let Buffer::F32(out) = &mut *buffer else { unreachable_dtype() };
        for row in out.chunks_exact_mut(out_features.max(1)) {
            if let Some(bias) = &bias {
                for (o, &bv) in row.iter_mut().zip(bias) {
                    *o += bv;
                }
            }
            if activation == Activation::Relu {
                for o in row.iter_mut() {
                    if *o < 0.0 {
                        *o = 0.0;
                    }
                }
            }
        }
    }
    let out = product;
    let node = LinearBackward { activation, has_bias: b.is_some() };
    let saved = || {
        let mut s = vec![x.clone(), w.clone()];
        if activation == Activation::Relu {
            s.push(out.clone());
        }
        s
    };
    let inputs: Vec<&Tensor> = [Some(x), Some(w), b].into_iter().flatten().collect();
    Ok(record(out.clone(), &inputs, saved, node))
}

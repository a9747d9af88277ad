//! Elementwise unary ops: one table row each, forward and backward side by side; a second
//! table holds those with float parameters (clamp).

use crate::autograd::graph::{record, Backward, VjpCtx};
use crate::error::{Error, Result};
use crate::kernels::elementwise::{map, map_slice};
use crate::kernels::math;
use crate::autograd::mode::is_grad_enabled;
use crate::ops::binary::{add, add_scalar, binary, div, mul, mul_scalar, rsub_scalar, sub, BinaryOp};
use crate::ops::indexing::where_;
use crate::ops::schema::{self, float, tensor, Args, Grad, OpDef, Run};
use crate::storage::{try_map, Buffer};
use crate::tensor::Tensor;

/// Which tensor the backward rule needs.
#[derive(Clone, Copy, PartialEq)]
pub enum Saves {
    Nothing,
    Input,
    Output,
}

pub struct UnaryDef {
    pub op: UnaryOp,
    pub name: &'static str,
    pub backward_name: &'static str,
    pub forward: fn(&Tensor) -> Result<Tensor>,
    pub saves: Saves,
    /// `vjp(saved, grad)`; `None` marks an op without a gradient (its output is constant).
    pub vjp: Option<fn(&Tensor, &Tensor) -> Result<Tensor>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum UnaryOp {
    Neg,
    Exp,
    Log,
    Sqrt,
    Abs,
    Relu,
    Sigmoid,
    Tanh,
    Sign,
    Step,
    Gelu,
    GeluTanh,
    GeluGrad,
    GeluTanhGrad,
    Log1p,
    Expm1,
    Rsqrt,
    Reciprocal,
    Square,
    Sin,
    Cos,
    Tan,
    Silu,
    Softplus,
    Floor,
    Ceil,
    Round,
    Clone,
    LogicalNot,
}

/// Zero gradient, for piecewise-constant ops (as PyTorch defines floor/ceil/round).
fn zero_grad(_: &Tensor, g: &Tensor) -> Result<Tensor> {
    mul_scalar(g, 0.0)
}

/// √(2/π), the tanh-approximation's scale.
const SQRT_2_OVER_PI: f32 = 0.797_884_6;

/// d/dx ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³).
fn gelu_tanh_grad(x: f32) -> f32 {
    let t = math::tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x));
    0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044715 * x * x)
}

/// With t = tanh u, u = c(x + a·x³): f'' = (1 − t²)·(u′ − x·t·u′² + ½x·u″), u′ = c(1 + 3a·x²),
/// u″ = 6ac·x, written with ops so it is itself differentiable.
fn gelu_tanh_second_derivative(x: &Tensor) -> Result<Tensor> {
    const A: f64 = 0.044715;
    let c = SQRT_2_OVER_PI as f64;
    let x2 = mul(x, x)?;
    let t = unary(UnaryOp::Tanh, &mul_scalar(&add(x, &mul_scalar(&mul(&x2, x)?, A)?)?, c)?)?;
    let du = mul_scalar(&add_scalar(&mul_scalar(&x2, 3.0 * A)?, 1.0)?, c)?;
    let half_x_ddu = mul_scalar(&x2, 3.0 * A * c)?;
    let inner = add(&sub(&du, &mul(&mul(x, &t)?, &mul(&du, &du)?)?)?, &half_x_ddu)?;
    mul(&rsub_scalar(&mul(&t, &t)?, 1.0)?, &inner)
}

pub static UNARY: &[UnaryDef] = &[
    UnaryDef { op: UnaryOp::Neg, name: "neg", backward_name: "NegBackward0", saves: Saves::Nothing,
        forward: |x| map("neg", x, |v| -v),
        vjp: Some(|_, g| mul_scalar(g, -1.0)) },
    UnaryDef { op: UnaryOp::Exp, name: "exp", backward_name: "ExpBackward0", saves: Saves::Output,
        forward: |x| map_slice("exp", x, math::exp_slice),
        vjp: Some(|y, g| mul(g, y)) },
    UnaryDef { op: UnaryOp::Log, name: "log", backward_name: "LogBackward0", saves: Saves::Input,
        forward: |x| map_slice("log", x, math::log_slice),
        vjp: Some(|x, g| div(g, x)) },
    UnaryDef { op: UnaryOp::Sqrt, name: "sqrt", backward_name: "SqrtBackward0", saves: Saves::Output,
        forward: |x| map("sqrt", x, f32::sqrt),
        vjp: Some(|y, g| div(g, &mul_scalar(y, 2.0)?)) },
    UnaryDef { op: UnaryOp::Abs, name: "abs", backward_name: "AbsBackward0", saves: Saves::Input,
        forward: |x| map("abs", x, f32::abs),
        vjp: Some(|x, g| mul(g, &unary(UnaryOp::Sign, x)?)) },
    UnaryDef { op: UnaryOp::Relu, name: "relu", backward_name: "ReluBackward0", saves: Saves::Output,
        forward: |x| map("relu", x, |v| if v < 0.0 { 0.0 } else { v }), // NaN stays NaN
        // Recorded (createGraph) as ops that differentiate further; else in one pass.
        vjp: Some(|y, g| if is_grad_enabled() { mul(g, &unary(UnaryOp::Step, y)?) } else { binary(BinaryOp::ReluGrad, g, y) }) },
    UnaryDef { op: UnaryOp::Sigmoid, name: "sigmoid", backward_name: "SigmoidBackward0", saves: Saves::Output,
        forward: |x| map_slice("sigmoid", x, math::sigmoid_slice),
        vjp: Some(|y, g| mul(g, &mul(y, &rsub_scalar(y, 1.0)?)?)) },
    UnaryDef { op: UnaryOp::Tanh, name: "tanh", backward_name: "TanhBackward0", saves: Saves::Output,
        forward: |x| map_slice("tanh", x, math::tanh_slice),
        vjp: Some(|y, g| mul(g, &rsub_scalar(&mul(y, y)?, 1.0)?)) },
    UnaryDef { op: UnaryOp::Sign, name: "sign", backward_name: "SignBackward0", saves: Saves::Nothing,
        forward: |x| map("sign", x, |v| if v > 0.0 { 1.0 } else if v < 0.0 { -1.0 } else { v }),
        vjp: None },
    UnaryDef { op: UnaryOp::Step, name: "step", backward_name: "StepBackward0", saves: Saves::Nothing,
        forward: |x| map("step", x, |v| if v > 0.0 { 1.0 } else { 0.0 }),
        vjp: None },
    UnaryDef { op: UnaryOp::Gelu, name: "gelu", backward_name: "GeluBackward0", saves: Saves::Input,
        forward: |x| map_slice("gelu", x, math::gelu_erf_slice),
        vjp: Some(|x, g| mul(g, &unary(UnaryOp::GeluGrad, x)?)) },
    UnaryDef { op: UnaryOp::GeluTanh, name: "geluTanh", backward_name: "GeluBackward0", saves: Saves::Input,
        forward: |x| map_slice("gelu", x, math::gelu_tanh_slice),
        vjp: Some(|x, g| mul(g, &unary(UnaryOp::GeluTanhGrad, x)?)) },
    // Derivatives used by the gelu rules; their own gradients (second derivatives) are
    // written with ops, so they differentiate further still.
    UnaryDef { op: UnaryOp::GeluGrad, name: "gelu_grad", backward_name: "GeluBackwardBackward0", saves: Saves::Input,
        forward: |x| map_slice("gelu", x, math::gelu_erf_grad_slice),
        // d²/dx² x·Φ(x) = φ(x)·(2 − x²)
        vjp: Some(|x, g| {
            let x2 = mul(x, x)?;
            let pdf = mul_scalar(&unary(UnaryOp::Exp, &mul_scalar(&x2, -0.5)?)?, 0.398_942_280_401_432_7)?;
            mul(g, &mul(&pdf, &rsub_scalar(&x2, 2.0)?)?)
        }) },
    UnaryDef { op: UnaryOp::GeluTanhGrad, name: "gelu_tanh_grad", backward_name: "GeluBackwardBackward0", saves: Saves::Input,
        forward: |x| map("gelu", x, gelu_tanh_grad),
        vjp: Some(|x, g| mul(g, &gelu_tanh_second_derivative(x)?)) },
    UnaryDef { op: UnaryOp::Log1p, name: "log1p", backward_name: "Log1PBackward0", saves: Saves::Input,
        forward: |x| map_slice("log1p", x, math::log1p_slice),
        vjp: Some(|x, g| div(g, &add_scalar(x, 1.0)?)) },
    UnaryDef { op: UnaryOp::Expm1, name: "expm1", backward_name: "Expm1Backward0", saves: Saves::Output,
        forward: |x| map_slice("expm1", x, math::expm1_slice),
        vjp: Some(|y, g| mul(g, &add_scalar(y, 1.0)?)) },
    UnaryDef { op: UnaryOp::Rsqrt, name: "rsqrt", backward_name: "RsqrtBackward0", saves: Saves::Output,
        forward: |x| map("rsqrt", x, |v| 1.0 / v.sqrt()),
        // d(x^-½)/dx = -½·y³
        vjp: Some(|y, g| mul(g, &mul_scalar(&mul(y, &mul(y, y)?)?, -0.5)?)) },
    UnaryDef { op: UnaryOp::Reciprocal, name: "reciprocal", backward_name: "ReciprocalBackward0", saves: Saves::Output,
        forward: |x| map("reciprocal", x, |v| 1.0 / v),
        vjp: Some(|y, g| mul(g, &mul_scalar(&mul(y, y)?, -1.0)?)) },
    UnaryDef { op: UnaryOp::Square, name: "square", backward_name: "PowBackward0", saves: Saves::Input,
        forward: |x| map("square", x, |v| v * v),
        vjp: Some(|x, g| mul(g, &mul_scalar(x, 2.0)?)) },
    UnaryDef { op: UnaryOp::Sin, name: "sin", backward_name: "SinBackward0", saves: Saves::Input,
        forward: |x| map_slice("sin", x, math::sin_slice),
        vjp: Some(|x, g| mul(g, &unary(UnaryOp::Cos, x)?)) },
    UnaryDef { op: UnaryOp::Cos, name: "cos", backward_name: "CosBackward0", saves: Saves::Input,
        forward: |x| map_slice("cos", x, math::cos_slice),
        vjp: Some(|x, g| mul(g, &mul_scalar(&unary(UnaryOp::Sin, x)?, -1.0)?)) },
    UnaryDef { op: UnaryOp::Tan, name: "tan", backward_name: "TanBackward0", saves: Saves::Output,
        forward: |x| map("tan", x, f32::tan),
        vjp: Some(|y, g| mul(g, &add_scalar(&mul(y, y)?, 1.0)?)) },
    UnaryDef { op: UnaryOp::Silu, name: "silu", backward_name: "SiluBackward0", saves: Saves::Input,
        forward: |x| map_slice("silu", x, math::silu_slice),
        // d(x·σ(x))/dx = σ(x)·(1 + x·(1 − σ(x)))
        vjp: Some(|x, g| {
            let s = unary(UnaryOp::Sigmoid, x)?;
            mul(g, &mul(&s, &add_scalar(&mul(x, &rsub_scalar(&s, 1.0)?)?, 1.0)?)?)
        }) },
    UnaryDef { op: UnaryOp::Softplus, name: "softplus", backward_name: "SoftplusBackward0", saves: Saves::Input,
        forward: |x| map_slice("softplus", x, math::softplus_slice),
        vjp: Some(|x, g| mul(g, &unary(UnaryOp::Sigmoid, x)?)) },
    UnaryDef { op: UnaryOp::Floor, name: "floor", backward_name: "FloorBackward0", saves: Saves::Nothing,
        forward: |x| map("floor", x, f32::floor),
        vjp: Some(zero_grad) },
    UnaryDef { op: UnaryOp::Ceil, name: "ceil", backward_name: "CeilBackward0", saves: Saves::Nothing,
        forward: |x| map("ceil", x, f32::ceil),
        vjp: Some(zero_grad) },
    UnaryDef { op: UnaryOp::Round, name: "round", backward_name: "RoundBackward0", saves: Saves::Nothing,
        // Halves to even, as torch.round does.
        forward: |x| map("round", x, f32::round_ties_even),
        vjp: Some(zero_grad) },
    UnaryDef { op: UnaryOp::Clone, name: "clone", backward_name: "CloneBackward0", saves: Saves::Nothing,
        forward: |x| map("clone", x, |v| v),
        vjp: Some(|_, g| Ok(g.clone())) },
    // Any dtype in, bool out; no gradient (PyTorch's logical_not).
    UnaryDef { op: UnaryOp::LogicalNot, name: "logicalNot", backward_name: "", saves: Saves::Nothing,
        forward: crate::ops::logical::logical_not,
        vjp: None },
];

struct UnaryBackward(&'static UnaryDef);

impl Backward for UnaryBackward {
    fn name(&self) -> &'static str {
        self.0.backward_name
    }
    fn vjp(&self, ctx: &VjpCtx, grad: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let saved = match self.0.saves {
            Saves::Nothing => grad,
            _ => ctx.saved(0)?,
        };
        let vjp = self.0.vjp.ok_or_else(|| Error::autograd(format!("{} has no gradient", self.0.name)))?;
        Ok(vec![Some(vjp(saved, grad)?)])
    }
}

pub fn unary(op: UnaryOp, x: &Tensor) -> Result<Tensor> {
    let def = &UNARY[op as usize];
    let x = &if op == UnaryOp::LogicalNot { x.clone() } else { crate::ops::creation::float_if_bool(x)? };
    let out = (def.forward)(x)?;
    if def.vjp.is_none() {
        return Ok(out);
    }
    let saved = match def.saves {
        Saves::Nothing => None,
        Saves::Input => Some(x.clone()),
        Saves::Output => Some(out.clone()),
    };
    Ok(record(out, &[x], || saved.into_iter().collect(), UnaryBackward(def)))
}

pub fn unary_by_id(id: u32, x: &Tensor) -> Result<Tensor> {
    match UNARY.get(id as usize) {
        Some(def) => unary(def.op, x),
        None => Err(Error::argument(format!("unary: unknown op id {id}"))),
    }
}

// ---- elementwise ops with parameters ---------------------------------------------------

/// `min(max(x, lo), hi)` with NaN propagating from `x` and from either bound (PyTorch's
/// clamp): `lo > hi` gives `hi` everywhere.
fn clamp_value(v: f32, lo: f32, hi: f32) -> f32 {
    if v.is_nan() || lo.is_nan() || hi.is_nan() {
        return f32::NAN;
    }
    // std::min(std::max(v, lo), hi), as torch.clamp: clamp(−0, min=0) stays −0.
    let v = if v < lo { lo } else { v };
    if hi < v { hi } else { v }
}

/// `input` clamped to the bounds that follow it in the schema.
fn clamp_forward(a: &Args) -> Result<Tensor> {
    let (lo, hi) = (a.float(1)? as f32, a.float(2)? as f32);
    map(a.op, &a.numeric(0)?, |v| clamp_value(v, lo, hi))
}

/// The gradient where `lo ≤ x ≤ hi` (`lo < x < hi` unless `at_bounds`), else 0, also where
/// x or a bound is NaN (PyTorch's clamp_backward and hardtanh_backward); `where` keeps an ∞
/// gradient outside from becoming 0·∞ = NaN. The mask is a constant, so the second
/// derivative is `where`'s.
fn pass_between(s: &Grad, g: &Tensor, at_bounds: bool) -> Result<Vec<Option<Tensor>>> {
    let (op, x) = (s.args.op, s.input(0)?);
    let (lo, hi) = (s.args.float(1)? as f32, s.args.float(2)? as f32);
    let inside = |v: f32| if at_bounds { v >= lo && v <= hi } else { v > lo && v < hi };
    let mask = x.with_f32(op, |src| try_map(op, src, |v| inside(v) as u8))??;
    let mask = Tensor::from_buffer(Buffer::Bool(mask), x.shape())?;
    Ok(vec![Some(where_(&mask, g, &Tensor::scalar(0.0))?)])
}

/// Elementwise ops with float parameters, in the shared op table (see `ops/schema.rs`).
pub static OPS: &[OpDef] = &[
    // An absent bound is −∞ / +∞ (the same values and gradient).
    OpDef { name: "clamp", grad_fn: "ClampBackward1", args: &[tensor("input"), float("min"), float("max")],
        run: Run::Rule { saves: schema::Saves::Inputs, forward: clamp_forward, vjp: |s, g| pass_between(s, g, true) } },
    // clamp with the gradient strictly inside (0 at the bounds, as PyTorch's hardtanh).
    OpDef { name: "hardtanh", grad_fn: "HardtanhBackward0", args: &[tensor("input"), float("minVal"), float("maxVal")],
        run: Run::Rule { saves: schema::Saves::Inputs, forward: clamp_forward, vjp: |s, g| pass_between(s, g, false) } },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_order_matches_enum() {
        for (i, def) in UNARY.iter().enumerate() {
            assert_eq!(def.op as usize, i, "{} is out of place", def.name);
        }
    }
}

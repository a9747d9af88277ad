//! Elementwise binary ops with broadcasting: one table row each, forward and backward
//! side by side. Gradients come back at the broadcast shape; the engine reduces them.

use crate::autograd::graph::{record, Backward, VjpCtx};
use crate::autograd::mode::is_grad_enabled;
use crate::error::{Error, Result};
use crate::kernels::elementwise::zip;
use crate::ops::creation::{cast, float_if_bool};
use crate::ops::logical::logical_zip;
use crate::ops::unary::{unary, UnaryOp};
use crate::storage::{Buffer, DType};
use crate::tensor::Tensor;

pub struct BinaryDef {
    pub op: BinaryOp,
    pub name: &'static str,
    pub backward_name: &'static str,
    pub forward: fn(&Tensor, &Tensor) -> Result<Tensor>,
    /// Which of (a, b, output) the backward rule reads.
    pub saves: [bool; 3],
    /// `vjp(ctx, [a, b, out] as saved, grad) -> [grad_a, grad_b]`, computing only the
    /// gradients `ctx.needs` asks for; `None` for helper ops without a gradient.
    pub vjp: Option<fn(&VjpCtx, &Operands, &Tensor) -> Result<[Option<Tensor>; 2]>>,
}

/// The saved operands of a binary node (only those its row saves are present).
pub struct Operands {
    pub a: Option<Tensor>,
    pub b: Option<Tensor>,
    pub out: Option<Tensor>,
}

impl Operands {
    fn get(t: &Option<Tensor>) -> Result<&Tensor> {
        t.as_ref().ok_or_else(|| Error::autograd("backward: a saved operand is missing"))
    }
    pub fn a(&self) -> Result<&Tensor> {
        Self::get(&self.a)
    }
    pub fn b(&self) -> Result<&Tensor> {
        Self::get(&self.b)
    }
    pub fn out(&self) -> Result<&Tensor> {
        Self::get(&self.out)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    PowGradBase,
    PowGradExponent,
    Maximum,
    Minimum,
    MaxGradMask,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    EqMask,
    LogicalAnd,
    LogicalOr,
    LogicalXor,
}

/// A comparison: bool, true where `f` holds (no gradient), for masks and `where`. int32
/// operands (labels, argmax indices) are compared as floats, exact below 2^24.
fn compare(op: &str, a: &Tensor, b: &Tensor, f: impl Fn(f32, f32) -> bool) -> Result<Tensor> {
    let (a, b) = (cast(a, DType::F32)?, cast(b, DType::F32)?);
    let (values, shape) = crate::kernels::elementwise::zip_values(op, &a, &b, |x, y| f(x, y) as u8)?;
    Tensor::from_buffer(Buffer::Bool(values), &shape)
}

/// Where `a` wins a maximum against `b`: 1, ½ on ties (PyTorch splits the gradient), 0.
fn max_grad_mask(a: f32, b: f32) -> f32 {
    if a > b {
        1.0
    } else if a == b {
        0.5
    } else {
        0.0
    }
}

/// max/min that propagate NaN, as torch.maximum/minimum do (f32::max would drop it).
fn nan_max(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() { f32::NAN } else { a.max(b) }
}
fn nan_min(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() { f32::NAN } else { a.min(b) }
}

/// Runs `f` only for inputs that need a gradient.
fn when(ctx: &VjpCtx, input: usize, f: impl FnOnce() -> Result<Tensor>) -> Result<Option<Tensor>> {
    if ctx.needs(input) { f().map(Some) } else { Ok(None) }
}

/// Pow's gradient written with ops (for `createGraph`; the kernels below are the fast
/// first-order path), with the same conventions at b = 0 and at a = 0.
fn pow_vjp_recorded(ctx: &VjpCtx, a: &Tensor, b: &Tensor, g: &Tensor) -> Result<[Option<Tensor>; 2]> {
    let zero = Tensor::scalar(0.0);
    let as_float = |t: Tensor| crate::ops::creation::cast(&t, DType::F32);
    Ok([
        when(ctx, 0, || {
            let d = mul(b, &pow(a, &add_scalar(b, -1.0)?)?)?;
            mul(g, &crate::ops::indexing::where_(&binary(BinaryOp::Eq, b, &zero)?, &zero, &d)?)
        })?,
        when(ctx, 1, || {
            let undefined = mul(&as_float(binary(BinaryOp::Eq, a, &zero)?)?, &as_float(binary(BinaryOp::Ge, b, &zero)?)?)?;
            let d = mul(&pow(a, b)?, &unary(UnaryOp::Log, a)?)?;
            mul(g, &crate::ops::indexing::where_(&undefined, &zero, &d)?)
        })?,
    ])
}

pub const BINARY: &[BinaryDef] = &[
    BinaryDef { op: BinaryOp::Add, name: "add", backward_name: "AddBackward0", saves: [false, false, false],
        forward: |a, b| zip("add", a, b, |x, y| x + y),
        vjp: Some(|_, _, g| Ok([Some(g.clone()), Some(g.clone())])) },
    BinaryDef { op: BinaryOp::Sub, name: "sub", backward_name: "SubBackward0", saves: [false, false, false],
        forward: |a, b| zip("sub", a, b, |x, y| x - y),
        vjp: Some(|ctx, _, g| Ok([Some(g.clone()), when(ctx, 1, || unary(UnaryOp::Neg, g))?])) },
    BinaryDef { op: BinaryOp::Mul, name: "mul", backward_name: "MulBackward0", saves: [true, true, false],
        forward: |a, b| zip("mul", a, b, |x, y| x * y),
        vjp: Some(|ctx, s, g| Ok([when(ctx, 0, || mul(g, s.b()?))?, when(ctx, 1, || mul(g, s.a()?))?])) },
    BinaryDef { op: BinaryOp::Div, name: "div", backward_name: "DivBackward0", saves: [false, true, true],
        forward: |a, b| zip("div", a, b, |x, y| x / y),
        // d(a/b)/db = -a/b² = -out/b
        vjp: Some(|ctx, s, g| Ok([
            when(ctx, 0, || div(g, s.b()?))?,
            when(ctx, 1, || unary(UnaryOp::Neg, &div(&mul(g, s.out()?)?, s.b()?)?))?,
        ])) },
    BinaryDef { op: BinaryOp::Pow, name: "pow", backward_name: "PowBackward0", saves: [true, true, false],
        forward: |a, b| zip("pow", a, b, f32::powf),
        vjp: Some(|ctx, s, g| {
            if is_grad_enabled() {
                return pow_vjp_recorded(ctx, s.a()?, s.b()?, g);
            }
            Ok([
                when(ctx, 0, || mul(g, &binary(BinaryOp::PowGradBase, s.a()?, s.b()?)?))?,
                when(ctx, 1, || mul(g, &binary(BinaryOp::PowGradExponent, s.a()?, s.b()?)?))?,
            ])
        }) },
    // d(a^b)/da = b·a^(b-1), defined as 0 where b = 0 (PyTorch's convention; avoids 0·∞).
    BinaryDef { op: BinaryOp::PowGradBase, name: "pow_grad_base", backward_name: "", saves: [false; 3],
        forward: |a, b| zip("pow", a, b, |x, y| if y == 0.0 { 0.0 } else { y * x.powf(y - 1.0) }),
        vjp: None },
    // d(a^b)/db = a^b·ln a, defined as 0 where a = 0 and b ≥ 0 (the limit; avoids 0·-∞).
    BinaryDef { op: BinaryOp::PowGradExponent, name: "pow_grad_exponent", backward_name: "", saves: [false; 3],
        forward: |a, b| zip("pow", a, b, |x, y| if x == 0.0 && y >= 0.0 { 0.0 } else { x.powf(y) * x.ln() }),
        vjp: None },
    BinaryDef { op: BinaryOp::Maximum, name: "maximum", backward_name: "MaximumBackward0", saves: [true, true, false],
        forward: |a, b| zip("maximum", a, b, nan_max),
        vjp: Some(|ctx, s, g| Ok([
            when(ctx, 0, || mul(g, &binary(BinaryOp::MaxGradMask, s.a()?, s.b()?)?))?,
            when(ctx, 1, || mul(g, &binary(BinaryOp::MaxGradMask, s.b()?, s.a()?)?))?,
        ])) },
    BinaryDef { op: BinaryOp::Minimum, name: "minimum", backward_name: "MinimumBackward0", saves: [true, true, false],
        forward: |a, b| zip("minimum", a, b, nan_min),
        vjp: Some(|ctx, s, g| Ok([
            when(ctx, 0, || mul(g, &binary(BinaryOp::MaxGradMask, s.b()?, s.a()?)?))?,
            when(ctx, 1, || mul(g, &binary(BinaryOp::MaxGradMask, s.a()?, s.b()?)?))?,
        ])) },
    BinaryDef { op: BinaryOp::MaxGradMask, name: "max_grad_mask", backward_name: "", saves: [false; 3],
        forward: |a, b| zip("maximum", a, b, max_grad_mask),
        vjp: None },
    BinaryDef { op: BinaryOp::Eq, name: "eq", backward_name: "", saves: [false; 3],
        forward: |a, b| compare("eq", a, b, |x, y| x == y), vjp: None },
    BinaryDef { op: BinaryOp::Ne, name: "ne", backward_name: "", saves: [false; 3],
        forward: |a, b| compare("ne", a, b, |x, y| x != y), vjp: None },
    BinaryDef { op: BinaryOp::Lt, name: "lt", backward_name: "", saves: [false; 3],
        forward: |a, b| compare("lt", a, b, |x, y| x < y), vjp: None },
    BinaryDef { op: BinaryOp::Le, name: "le", backward_name: "", saves: [false; 3],
        forward: |a, b| compare("le", a, b, |x, y| x <= y), vjp: None },
    BinaryDef { op: BinaryOp::Gt, name: "gt", backward_name: "", saves: [false; 3],
        forward: |a, b| compare("gt", a, b, |x, y| x > y), vjp: None },
    BinaryDef { op: BinaryOp::Ge, name: "ge", backward_name: "", saves: [false; 3],
        forward: |a, b| compare("ge", a, b, |x, y| x >= y), vjp: None },
    // 1 where a == b (also where both are NaN), else 0: amax/amin route gradients with it.
    BinaryDef { op: BinaryOp::EqMask, name: "eq_mask", backward_name: "", saves: [false; 3],
        forward: |a, b| zip("amax", a, b, |x, y| (x == y || (x.is_nan() && y.is_nan())) as u8 as f32),
        vjp: None },
    // Logical ops take any dtype (non-zero and NaN are true) and give bool, as in PyTorch.
    BinaryDef { op: BinaryOp::LogicalAnd, name: "logicalAnd", backward_name: "", saves: [false; 3],
        forward: |a, b| logical_zip("logicalAnd", a, b, |x, y| x & y), vjp: None },
    BinaryDef { op: BinaryOp::LogicalOr, name: "logicalOr", backward_name: "", saves: [false; 3],
        forward: |a, b| logical_zip("logicalOr", a, b, |x, y| x | y), vjp: None },
    BinaryDef { op: BinaryOp::LogicalXor, name: "logicalXor", backward_name: "", saves: [false; 3],
        forward: |a, b| logical_zip("logicalXor", a, b, |x, y| x ^ y), vjp: None },
];

struct BinaryBackward(&'static BinaryDef);

impl Backward for BinaryBackward {
    fn name(&self) -> &'static str {
        self.0.backward_name
    }
    fn vjp(&self, ctx: &VjpCtx, grad: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let mut saved = ctx.saved.iter().cloned();
        let [sa, sb, so] = self.0.saves;
        let operands = Operands {
            a: if sa { saved.next() } else { None },
            b: if sb { saved.next() } else { None },
            out: if so { saved.next() } else { None },
        };
        let vjp = self.0.vjp.ok_or_else(|| Error::autograd(format!("{} has no gradient", self.0.name)))?;
        Ok(vjp(ctx, &operands, grad)?.into())
    }
}

pub fn binary(op: BinaryOp, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let def = &BINARY[op as usize];
    let (a, b) = if matches!(op, BinaryOp::LogicalAnd | BinaryOp::LogicalOr | BinaryOp::LogicalXor) {
        (a.clone(), b.clone())
    } else {
        (float_if_bool(a)?, float_if_bool(b)?)
    };
    let (a, b) = (&a, &b);
    let out = (def.forward)(a, b)?;
    if def.vjp.is_none() {
        return Ok(out);
    }
    let [sa, sb, so] = def.saves;
    let keep = |flag: bool, t: &Tensor| if flag { Some(t.clone()) } else { None };
    let saved = [keep(sa, a), keep(sb, b), keep(so, &out)];
    Ok(record(out, &[a, b], || saved.into_iter().flatten().collect(), BinaryBackward(def)))
}

pub fn binary_by_id(id: u32, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    match BINARY.get(id as usize) {
        Some(def) => binary(def.op, a, b),
        None => Err(Error::argument(format!("binary: unknown op id {id}"))),
    }
}

/// `a op s` (or `s op a` when `reversed`) with a constant scalar operand.
pub fn binary_scalar(op: BinaryOp, a: &Tensor, s: f64, reversed: bool) -> Result<Tensor> {
    let s = Tensor::scalar(s as f32);
    if reversed { binary(op, &s, a) } else { binary(op, a, &s) }
}

pub fn add(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(BinaryOp::Add, a, b)
}
pub fn sub(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(BinaryOp::Sub, a, b)
}
pub fn mul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(BinaryOp::Mul, a, b)
}
pub fn div(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(BinaryOp::Div, a, b)
}
pub fn pow(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(BinaryOp::Pow, a, b)
}
pub fn add_scalar(a: &Tensor, s: f64) -> Result<Tensor> {
    binary_scalar(BinaryOp::Add, a, s, false)
}
pub fn mul_scalar(a: &Tensor, s: f64) -> Result<Tensor> {
    binary_scalar(BinaryOp::Mul, a, s, false)
}
/// `s - a`.
pub fn rsub_scalar(a: &Tensor, s: f64) -> Result<Tensor> {
    binary_scalar(BinaryOp::Sub, a, s, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_order_matches_enum() {
        for (i, def) in BINARY.iter().enumerate() {
            assert_eq!(def.op as usize, i, "{} is out of place", def.name);
        }
    }
}

//! Elementwise binary ops with broadcasting: one table row each, forward and backward
//! side by side. Gradients come back at the broadcast shape; the engine reduces them.

use crate::autograd::graph::{record, Backward, VjpCtx};
use crate::autograd::mode::is_grad_enabled;
use crate::error::{Error, Result};
use crate::kernels::elementwise::zip;
use crate::kernels::pow::{pow_row, powf_call};
use crate::layout::Dims;
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
    ReluGrad,
}

/// A comparison: bool, true where `f` holds (no gradient), for masks and `where`. int32
/// operands (labels, argmax indices) are compared as floats, exact below 2^24.
fn compare(op: &str, a: &Tensor, b: &Tensor, f: impl Fn(f32, f32) -> bool + Sync) -> Result<Tensor> {
    compare_with(a, b, &|a, b| crate::kernels::elementwise::zip_values(op, a, b, |x, y| f(x, y) as u8))
}

/// The op-independent part of [`compare`] (casts and the bool tensor), not copied into
/// every comparison.
#[inline(never)]
fn compare_with(a: &Tensor, b: &Tensor, zip: &dyn Fn(&Tensor, &Tensor) -> Result<(Vec<u8>, Dims)>) -> Result<Tensor> {
    let (a, b) = (cast(a, DType::F32)?, cast(b, DType::F32)?);
    let (values, shape) = zip(&a, &b)?;
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

/// max/min that propagate NaN, as torch.maximum/minimum do (f32::max would drop it), and
/// otherwise are C++'s std::max/min (`a` when the two compare equal, so maximum(−0, 0) is
/// −0 as in torch). Compares and selects, which vectorise; f32::max is a libm call here.
pub(crate) fn nan_max(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() { f32::NAN } else if a < b { b } else { a }
}
pub(crate) fn nan_min(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() { f32::NAN } else if b < a { b } else { a }
}

/// x^y with the exponents PyTorch's pow(Tensor, Scalar) computes without `pow` (see
/// `scalar_forward`), so the gradient of x.pow(2), 2·x.pow(1), is 2·x and that of
/// x.pow(0.5) is 0.5·rsqrt(x), bit for bit as there.
fn pow_scalar(x: f32, y: f32) -> f32 {
    match y {
        1.0 => x,
        2.0 => x * x,
        3.0 => x * x * x,
        0.5 => x.sqrt(),
        -0.5 => 1.0 / x.sqrt(),
        -1.0 => 1.0 / x,
        -2.0 => 1.0 / (x * x),
        _ => powf_call(x, y),
    }
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

pub static BINARY: &[BinaryDef] = &[
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
        forward: |a, b| zip("pow", a, b, powf_call),
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
        forward: |a, b| zip("pow", a, b, |x, y| if y == 0.0 { 0.0 } else { y * pow_scalar(x, y - 1.0) }),
        vjp: None },
    // d(a^b)/db = a^b·ln a, defined as 0 where a = 0 and b ≥ 0 (the limit; avoids 0·-∞).
    BinaryDef { op: BinaryOp::PowGradExponent, name: "pow_grad_exponent", backward_name: "", saves: [false; 3],
        forward: |a, b| zip("pow", a, b, |x, y| if x == 0.0 && y >= 0.0 { 0.0 } else { powf_call(x, y) * x.ln() }),
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
    // relu's gradient `g · step(y)` in one pass over g and relu's output y, no mask tensor:
    // the same product, so the same bits (±0, and NaN for an infinite g where y ≤ 0).
    BinaryDef { op: BinaryOp::ReluGrad, name: "relu_grad", backward_name: "", saves: [false; 3],
        forward: |g, y| zip("relu", g, y, |g, y| g * if y > 0.0 { 1.0 } else { 0.0 }),
        vjp: None },
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

/// `a op s` (or `s op a` when `reversed`) with a constant scalar operand: the result and
/// graph node of `binary` with `s` as a 0-d float32 tensor. The arithmetic ops on a
/// float32 `a` compute it without making that tensor (it is made at backward time if the
/// rule reads it); the others, and other dtypes, go through `binary`.
pub fn binary_scalar(op: BinaryOp, a: &Tensor, s: f64, reversed: bool) -> Result<Tensor> {
    let s = s as f32;
    if a.dtype() == DType::F32 {
        let def = &BINARY[op as usize];
        if let Some(out) = scalar_forward(op, def.name, a, s, reversed) {
            let out = out?;
            if def.vjp.is_none() {
                return Ok(out);
            }
            let [sa, sb, so] = def.saves;
            let (keep_tensor, constant_at) = if reversed { (sb, 0) } else { (sa, 1) };
            let saved = |out: &Tensor| [keep_tensor.then(|| a.clone()), so.then(|| out.clone())].into_iter().flatten().collect();
            let none = |_: &Tensor| Vec::new();
            use crate::autograd::graph::record_with_constant as record_c;
            // Rules that read no operand get a node without data (no allocation for it).
            return Ok(match op {
                BinaryOp::Add => record_c(out, a, constant_at, none, NoOperands::<{ BinaryOp::Add as u8 }>),
                BinaryOp::Sub => record_c(out, a, constant_at, none, NoOperands::<{ BinaryOp::Sub as u8 }>),
                _ => record_c(out, a, constant_at, saved, ScalarBackward { def, s, reversed }),
            });
        }
    }
    let s = Tensor::scalar(s);
    if reversed { binary(op, &s, a) } else { binary(op, a, &s) }
}

/// [`binary_scalar`] by op id (the boundary's form).
pub fn binary_scalar_by_id(id: u32, a: &Tensor, s: f64, reversed: bool) -> Result<Tensor> {
    match BINARY.get(id as usize) {
        Some(def) => binary_scalar(def.op, a, s, reversed),
        None => Err(Error::argument(format!("binary: unknown op id {id}"))),
    }
}

/// The forward of the table's arithmetic rows against a number (the same functions as
/// their rows, `zip` with a 0-d operand), or `None` for ops that take the general path.
fn scalar_forward(op: BinaryOp, name: &str, a: &Tensor, s: f32, reversed: bool) -> Option<Result<Tensor>> {
    use crate::kernels::elementwise::{map_row, map_strided, ScalarRow};
    // One row function per op and side, chosen here and passed to a single call (see
    // `ScalarRow` for why not one call per op).
    macro_rules! rows {
        ($f:expr) => {{
            fn right(out: &mut [f32], src: &[f32], stride: usize, s: f32) {
                map_row(&|x| ($f)(x, s), out, src, stride)
            }
            fn left(out: &mut [f32], src: &[f32], stride: usize, s: f32) {
                map_row(&|x| ($f)(s, x), out, src, stride)
            }
            if reversed { left as ScalarRow } else { right as ScalarRow }
        }};
    }
    let row = match op {
        BinaryOp::Add => rows!(|x: f32, y: f32| x + y),
        BinaryOp::Sub => rows!(|x: f32, y: f32| x - y),
        BinaryOp::Mul => rows!(|x: f32, y: f32| x * y),
        BinaryOp::Div => rows!(|x: f32, y: f32| x / y),
        // PyTorch's pow(Tensor, Scalar) computes these exponents with products, sqrt and
        // division (so pow(-0, 0.5) is -0 and pow(-inf, 0.5) NaN, as sqrt gives), and
        // they are what models use: a multiply costs a sixtieth of `pow_row`'s element.
        BinaryOp::Pow if !reversed && s == 1.0 => rows!(|x: f32, _| x),
        BinaryOp::Pow if !reversed && s == 2.0 => rows!(|x: f32, _| x * x),
        BinaryOp::Pow if !reversed && s == 3.0 => rows!(|x: f32, _| x * x * x),
        BinaryOp::Pow if !reversed && s == 0.5 => rows!(|x: f32, _| x.sqrt()),
        BinaryOp::Pow if !reversed && s == -0.5 => rows!(|x: f32, _| 1.0 / x.sqrt()),
        BinaryOp::Pow if !reversed && s == -1.0 => rows!(|x: f32, _| 1.0 / x),
        BinaryOp::Pow if !reversed && s == -2.0 => rows!(|x: f32, _| 1.0 / (x * x)),
        BinaryOp::Pow if !reversed => pow_row as ScalarRow,
        BinaryOp::Pow => rows!(powf_call),
        BinaryOp::Maximum => rows!(nan_max),
        BinaryOp::Minimum => rows!(nan_min),
        _ => return None,
    };
    Some(map_strided(name, a, s, row))
}

/// The node of `Add` or `Sub` with a constant operand: their rules read no operand, so
/// the node holds nothing but the op.
struct NoOperands<const OP: u8>;

impl<const OP: u8> Backward for NoOperands<OP> {
    fn name(&self) -> &'static str {
        BINARY[OP as usize].backward_name
    }
    fn vjp(&self, ctx: &VjpCtx, grad: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let def = &BINARY[OP as usize];
        debug_assert_eq!(def.saves, [false; 3]);
        let vjp = def.vjp.ok_or_else(|| Error::autograd(format!("{} has no gradient", def.name)))?;
        Ok(vjp(ctx, &Operands { a: None, b: None, out: None }, grad)?.into())
    }
}

/// The node of a binary op with a constant operand: `BinaryBackward`'s rule, with the
/// constant remade as a 0-d tensor when the rule reads it.
struct ScalarBackward {
    def: &'static BinaryDef,
    s: f32,
    reversed: bool,
}

impl Backward for ScalarBackward {
    fn name(&self) -> &'static str {
        self.def.backward_name
    }
    fn vjp(&self, ctx: &VjpCtx, grad: &Tensor) -> Result<Vec<Option<Tensor>>> {
        if self.def.op == BinaryOp::Pow && !self.reversed && !is_grad_enabled() {
            // grad · s·x^(s−1) by the number kernels (the 0-d operand's path would run
            // the scalar `powf` per element); PyTorch's zeros where s = 0.
            let x = ctx.saved(0)?;
            let d = if self.s == 0.0 {
                Tensor::full("pow", x.shape(), 0.0, DType::F32)?
            } else {
                mul(grad, &mul_scalar(&binary_scalar(BinaryOp::Pow, &x, f64::from(self.s - 1.0), false)?, f64::from(self.s))?)?
            };
            return Ok(vec![Some(d), None]);
        }
        let mut saved = ctx.saved.iter().cloned();
        let [sa, sb, so] = self.def.saves;
        let (keep_tensor, keep_constant) = if self.reversed { (sb, sa) } else { (sa, sb) };
        let tensor = if keep_tensor { saved.next() } else { None };
        let constant = keep_constant.then(|| Tensor::scalar(self.s));
        let out = if so { saved.next() } else { None };
        let operands = if self.reversed {
            Operands { a: constant, b: tensor, out }
        } else {
            Operands { a: tensor, b: constant, out }
        };
        let vjp = self.def.vjp.ok_or_else(|| Error::autograd(format!("{} has no gradient", self.def.name)))?;
        Ok(vjp(ctx, &operands, grad)?.into())
    }
}

/// `binary_scalar` against `binary` with the number as a 0-d tensor: the same values
/// (bit for bit), the same node, the same gradients (first and second order).
#[cfg(test)]
mod scalar_tests {
    use super::*;
    use crate::autograd::engine::{self, PassOptions};
    use crate::ops::movement::{expand, permute};
    use crate::ops::reduce::sum;

    fn leaf(values: &[f32], shape: &[usize]) -> Tensor {
        let t = Tensor::from_f32(values.to_vec(), shape).unwrap();
        t.set_requires_grad(true).unwrap();
        t
    }

    fn bits(t: &Tensor) -> Vec<u32> {
        t.f32_values("t").unwrap().iter().map(|v| v.to_bits()).collect()
    }

    /// The input in several layouts, made from a fresh leaf each call.
    fn inputs(kind: usize, rg: bool) -> (Tensor, Tensor) {
        let vals = [1.5f32, -2.0, 0.0, 3.25, f32::NAN, -0.0, f32::INFINITY, 0.5];
        let (base, x) = match kind {
            0 => {
                let b = leaf(&vals[..1], &[]);
                (b.clone(), b)
            }
            1 => {
                let b = leaf(&vals[..6], &[2, 3]);
                (b.clone(), b)
            }
            2 => {
                let b = leaf(&vals[..6], &[2, 3]);
                let p = permute(&b, &[1, 0]).unwrap();
                (b, p)
            }
            3 => {
                let b = leaf(&vals[..3], &[3]);
                let e = expand(&b, &[2, 3]).unwrap();
                (b, e)
            }
            _ => {
                let b = leaf(&vals, &[2, 2, 2]);
                let p = permute(&b, &[2, 0, 1]).unwrap();
                (b, p)
            }
        };
        base.set_requires_grad(rg).unwrap();
        (base, x)
    }

    #[test]
    fn scalar_operand_matches_a_0d_tensor_operand() {
        for def in BINARY {
            for reversed in [false, true] {
                for kind in 0..5 {
                    for s in [2.0f64, 0.0, -1.5, 0.1, f64::NAN] {
                        for rg in [false, true] {
                            let ((ba, a), (bb, b)) = (inputs(kind, rg), inputs(kind, rg));
                            let got = binary_scalar(def.op, &a, s, reversed);
                            let c = Tensor::scalar(s as f32);
                            let want = if reversed { binary(def.op, &c, &b) } else { binary(def.op, &b, &c) };
                            let (got, want) = match (got, want) {
                                (Ok(g), Ok(w)) => (g, w),
                                (Err(g), Err(w)) => {
                                    assert_eq!((g.kind, g.message), (w.kind, w.message));
                                    continue;
                                }
                                (g, w) => panic!("{}: {g:?} vs {w:?}", def.name),
                            };
                            let what = format!("{} reversed={reversed} kind={kind} s={s} rg={rg}", def.name);
                            assert_eq!(got.shape(), want.shape(), "{what}");
                            assert_eq!(got.dtype(), want.dtype(), "{what}");
                            assert_eq!(bits(&got), bits(&want), "{what}");
                            assert_eq!(got.requires_grad(), want.requires_grad(), "{what}");
                            assert_eq!(got.grad_fn().map(|n| n.name()), want.grad_fn().map(|n| n.name()), "{what}");
                            if !want.requires_grad() {
                                continue;
                            }
                            // First order, then second order through createGraph.
                            let opts = PassOptions { retain_graph: true, create_graph: true };
                            let gs = engine::grad(&[sum(&got, None, false).unwrap()], &[None], &[ba.clone()], opts, false);
                            let ws = engine::grad(&[sum(&want, None, false).unwrap()], &[None], &[bb.clone()], opts, false);
                            let (gs, ws) = match (gs, ws) {
                                (Ok(g), Ok(w)) => (g[0].clone().unwrap(), w[0].clone().unwrap()),
                                (Err(g), Err(w)) => {
                                    assert_eq!((g.kind, g.message), (w.kind, w.message), "{what}");
                                    continue;
                                }
                                (g, w) => panic!("{what}: {g:?} vs {w:?}"),
                            };
                            assert_eq!(bits(&gs), bits(&ws), "{what}: gradient");
                            assert_eq!(gs.requires_grad(), ws.requires_grad(), "{what}");
                            if ws.requires_grad() {
                                let g2 = engine::backward(&sum(&gs, None, false).unwrap(), None, PassOptions::default());
                                let w2 = engine::backward(&sum(&ws, None, false).unwrap(), None, PassOptions::default());
                                match (g2, w2) {
                                    (Ok(_), Ok(_)) => assert_eq!(bits(&ba.grad().unwrap()), bits(&bb.grad().unwrap()), "{what}: 2nd"),
                                    (Err(g), Err(w)) => assert_eq!((g.kind, g.message), (w.kind, w.message), "{what}"),
                                    (g, w) => panic!("{what}: {g:?} vs {w:?}"),
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn scalar_operand_keeps_the_in_place_guard_and_dtype_rules() {
        // The saved input is still version-checked (mul saves it).
        let (ba, a) = inputs(1, true);
        let y = sum(&binary_scalar(BinaryOp::Mul, &a, 3.0, false).unwrap(), None, false).unwrap();
        let (bb, b) = inputs(1, true);
        let w = sum(&mul(&b, &Tensor::scalar(3.0)).unwrap(), None, false).unwrap();
        crate::ops::inplace::apply("add_", crate::ops::inplace::InplaceOp::Add, &ba.detach(), &Tensor::scalar(1.0)).unwrap();
        crate::ops::inplace::apply("add_", crate::ops::inplace::InplaceOp::Add, &bb.detach(), &Tensor::scalar(1.0)).unwrap();
        let (g, e) = (engine::backward(&y, None, PassOptions::default()), engine::backward(&w, None, PassOptions::default()));
        let (g, e) = (g.unwrap_err(), e.unwrap_err());
        assert_eq!((g.kind, g.message), (e.kind, e.message));
        // Other dtypes take the general path: the same result or error as before.
        let i = Tensor::full("t", &[2], 3.0, DType::I32).unwrap();
        let bools = binary(BinaryOp::Gt, &i, &Tensor::scalar(1.0)).unwrap();
        for t in [&i, &bools] {
            for def in BINARY {
                let got = binary_scalar(def.op, t, 2.0, false);
                let want = binary(def.op, t, &Tensor::scalar(2.0));
                match (got, want) {
                    (Ok(g), Ok(w)) => assert_eq!((g.dtype(), g.to_f64_vec().unwrap()), (w.dtype(), w.to_f64_vec().unwrap())),
                    (Err(g), Err(w)) => assert_eq!((g.kind, g.message), (w.kind, w.message)),
                    (g, w) => panic!("{}: {g:?} vs {w:?}", def.name),
                }
            }
        }
    }
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

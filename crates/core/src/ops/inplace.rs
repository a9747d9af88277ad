//! In-place updates (`sub_`, `zero_`, …) for optimizer steps. They are not recorded: on a
//! tensor that requires grad they are only allowed with grad mode off, and they bump the
//! storage version so a graph that saved the old values refuses to backward through it.

use super::binary::{binary, BinaryOp};
use crate::autograd::mode::is_grad_enabled;
use crate::error::{fmt_shape, Error, Result};
use crate::layout::broadcasts_to;
use crate::ops::movement::expand;
use crate::ops::creation::{cast, float_if_bool};
use crate::ops::schema::{operand, tensor, Arg, Args, OpDef, Run};
use crate::storage::Buffer;
use crate::tensor::{copy_chunk, unreachable_dtype, write_through, Tensor};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum InplaceOp {
    Add,
    Sub,
    Mul,
    Div,
    /// Overwrite with the source (`copy_`, and `fill_` with a scalar).
    Copy,
}

/// The in-place ops (see `ops/schema.rs`); each returns its target. A number source is a
/// 0-d float32 tensor.
pub static OPS: &[OpDef] = &[
    OpDef { name: "add_", grad_fn: "", args: TARGET_SOURCE, run: Run::Tensor(|a| in_place(a, InplaceOp::Add)) },
    OpDef { name: "sub_", grad_fn: "", args: TARGET_SOURCE, run: Run::Tensor(|a| in_place(a, InplaceOp::Sub)) },
    OpDef { name: "mul_", grad_fn: "", args: TARGET_SOURCE, run: Run::Tensor(|a| in_place(a, InplaceOp::Mul)) },
    OpDef { name: "div_", grad_fn: "", args: TARGET_SOURCE, run: Run::Tensor(|a| in_place(a, InplaceOp::Div)) },
    OpDef { name: "copy_", grad_fn: "", args: TARGET_SOURCE, run: Run::Tensor(|a| in_place(a, InplaceOp::Copy)) },
];

const TARGET_SOURCE: &[Arg] = &[tensor("target"), operand("source")];

fn in_place(a: &Args, op: InplaceOp) -> Result<Tensor> {
    let target = a.tensor(0)?;
    apply(a.op, op, target, &a.operand_tensor(1)?)?;
    Ok(target.clone())
}

/// `target ← target op source`, with `source` broadcast to `target`'s shape.
pub fn apply(name: &str, op: InplaceOp, target: &Tensor, source: &Tensor) -> Result<()> {
    // copy_ (and fill_) write any dtype, converting the source as to(dtype) does; the
    // arithmetic ones compute in float32.
    let source = &if op == InplaceOp::Copy {
        cast(source, target.dtype())?
    } else {
        target.expect_f32(name)?;
        let source = float_if_bool(source)?;
        source.expect_f32(name)?;
        source
    };
    if is_grad_enabled() && (target.requires_grad() || source.requires_grad()) {
        return Err(Error::autograd(format!(
            "{name}: in-place update of a tensor that requires grad (shape {}) while grad mode is on; \
             wrap optimizer steps in noGrad(() => …)",
            fmt_shape(target.shape())
        )));
    }
    if !broadcasts_to(source.shape(), target.shape()) {
        return Err(Error::shape(format!(
            "{name}: source of shape {} cannot be broadcast to the target's shape {}",
            fmt_shape(source.shape()),
            fmt_shape(target.shape())
        )));
    }
    if target.layout().has_overlap() {
        return Err(Error::argument(format!(
            "{name}: the target (shape {}) is an expanded view whose elements share memory; clone it first",
            fmt_shape(target.shape())
        )));
    }
    if op == InplaceOp::Copy && source.numel() == 1 && target.layout().is_contiguous() {
        return fill_contiguous(target, source);
    }
    let result = match op {
        InplaceOp::Add => binary(BinaryOp::Add, target, source)?,
        InplaceOp::Sub => binary(BinaryOp::Sub, target, source)?,
        InplaceOp::Mul => binary(BinaryOp::Mul, target, source)?,
        InplaceOp::Div => binary(BinaryOp::Div, target, source)?,
        // Always a fresh buffer: the source may alias the target's storage.
        InplaceOp::Copy => expand(source, target.shape())?.contiguous_copy(name)?,
    };
    write_through(target, target.layout(), &result)
}

/// `fill_` (or `copy_` of one element) into a contiguous target: one pass over it, split
/// among threads when long, instead of a broadcast copy and a second pass writing it back.
fn fill_contiguous(target: &Tensor, source: &Tensor) -> Result<()> {
    fn fill<T: Copy + Send + Sync>(dst: &mut [T], v: T) {
        crate::parallel::for_chunks_mut(dst, copy_chunk(dst.len()), &|_, part| part.fill(v));
    }
    let (at, range) = (source.layout().offset, target.layout().offset..target.layout().offset + target.numel());
    // The value is read before the target is borrowed: the source may be a view of it.
    let value = match &*source.buffer() {
        Buffer::F32(s) => Buffer::F32(vec![s[at]]),
        Buffer::I32(s) => Buffer::I32(vec![s[at]]),
        Buffer::Bool(s) => Buffer::Bool(vec![s[at]]),
    };
    match (&value, &mut *target.storage().buffer_mut()) {
        (Buffer::F32(v), Buffer::F32(d)) => fill(&mut d[range], v[0]),
        (Buffer::I32(v), Buffer::I32(d)) => fill(&mut d[range], v[0]),
        (Buffer::Bool(v), Buffer::Bool(d)) => fill(&mut d[range], v[0]),
        _ => unreachable_dtype(),
    }
    Ok(())
}

//! Scans: cumsum (a running sum along one dim, accumulated in f64), logcumsumexp (a
//! running log-sum-exp) and flip (reversal along dims). flip copies, as in PyTorch: layouts have unsigned strides, so a reversed view cannot be
//! expressed. Each is part of the other's gradient: cumsum's is the reversed running sum
//! of the incoming gradient, `flip(cumsum(flip(g)))`.

use crate::autograd::graph::{record, Backward, VjpCtx};
use crate::error::{Error, Result};
use crate::layout::{contiguous_strides, normalize_axis};
use crate::storage::{try_alloc, Buffer};
use crate::ops::binary::{add, binary, sub, BinaryOp};
use crate::ops::indexing::where_;
use crate::ops::schema::{self, int, ints, tensor, Args, OpDef, Run, Saves, Value};
use crate::ops::unary::{unary, UnaryOp};
use crate::tensor::Tensor;

/// The scans (see `ops/schema.rs`).
pub static OPS: &[OpDef] = &[
    OpDef { name: "cumsum", grad_fn: "CumsumBackward0", args: &[tensor("input"), int("dim")],
        run: Run::Tensor(|a| cumsum(&a.numeric(0)?, a.int(1)?)) },
    OpDef { name: "flip", grad_fn: "FlipBackward0", args: &[tensor("input"), ints("dims")],
        run: Run::Tensor(|a| flip(a.tensor(0)?, a.ints(1)?)) },
    OpDef { name: "logcumsumexp", grad_fn: "LogcumsumexpBackward0", args: &[tensor("input"), int("dim")],
        run: Run::Rule { saves: Saves::InputsAndOutput,
            forward: |a| Ok(scan("logcumsumexp", &a.numeric(0)?, a.int(1)?, (f64::NEG_INFINITY, 0.0), log_add_exp)?.0),
            vjp: |s, g| Ok(vec![Some(logcumsumexp_vjp(s.input(0)?, s.output()?, g, s.args.int(1)?)?)]) } },
];

/// One step of a running `log Σ exp`, kept as (max m, Σ exp(x − m)) in f64 so it neither
/// overflows nor loses small terms; ±∞ and NaN give what PyTorch gives.
fn log_add_exp(state: &mut (f64, f64), v: f32) -> f32 {
    let (m, s) = *state;
    let v = v as f64;
    *state = if v.is_nan() || m.is_nan() {
        (f64::NAN, f64::NAN)
    } else if v == f64::NEG_INFINITY {
        (m, s)
    } else if m == f64::NEG_INFINITY || v == f64::INFINITY || m == f64::INFINITY {
        (m.max(v), 1.0)
    } else if v > m {
        (v, s * (m - v).exp() + 1.0)
    } else {
        (m, s + (v - m).exp())
    };
    let (m, s) = *state;
    (if m.is_infinite() { m } else { m + s.ln() }) as f32
}

/// d/dx_j = Σ_{k≥j} g_k·exp(x_j − y_k), as a reversed running log-sum-exp of log|g| − y,
/// split by the sign of g (the log of a negative number does not exist); written with
/// differentiable ops, so it has its own gradient.
fn logcumsumexp_vjp(x: &Tensor, y: &Tensor, g: &Tensor, dim: i64) -> Result<Tensor> {
    let dims = [dim];
    let reversed = |t: &Tensor| -> Result<Tensor> {
        let def = OPS.iter().find(|d| d.name == "logcumsumexp").ok_or_else(|| Error::argument("logcumsumexp: not declared"))?;
        let flipped = flip(t, &dims)?;
        let args = Args::new(def.name, vec![Value::Tensor(Some(flipped)), Value::Int(dim)]);
        flip(&schema::call(def, &args)?, &dims)
    };
    let zero = Tensor::scalar(0.0);
    let lowest = Tensor::scalar(f32::MIN);
    let log_abs = unary(UnaryOp::Log, &unary(UnaryOp::Abs, g)?)?;
    let part = |sign: BinaryOp| -> Result<Tensor> {
        let log_g = where_(&binary(sign, g, &zero)?, &log_abs, &lowest)?;
        unary(UnaryOp::Exp, &add(&reversed(&sub(&log_g, y)?)?, x)?)
    };
    sub(&part(BinaryOp::Gt)?, &part(BinaryOp::Lt)?)
}

struct CumsumBackward {
    dim: usize,
}

impl Backward for CumsumBackward {
    fn name(&self) -> &'static str {
        "CumsumBackward0"
    }
    fn vjp(&self, _: &VjpCtx, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let d = [self.dim as i64];
        Ok(vec![Some(flip(&cumsum(&flip(g, &d)?, self.dim as i64)?, &d)?)])
    }
}

/// Running sums along `dim` (`torch.cumsum`); a 0-d tensor is its own running sum.
pub fn cumsum(x: &Tensor, dim: i64) -> Result<Tensor> {
    let (out, d) = scan("cumsum", x, dim, 0.0f64, |total, v| {
        *total += v as f64;
        *total as f32
    })?;
    Ok(record(out, &[x], Vec::new, CumsumBackward { dim: d }))
}

/// Runs `step(state, element) → output` along `dim` of float32 `x`, the state starting
/// from `init` on every line (so one pass computes every running quantity). Returns the
/// result and `dim` counted from 0.
fn scan<S: Copy>(op: &str, x: &Tensor, dim: i64, init: S, step: impl Fn(&mut S, f32) -> f32) -> Result<(Tensor, usize)> {
    x.expect_f32(op)?;
    let d = normalize_axis(op, dim, x.ndim())?;
    let shape = if x.ndim() == 0 { vec![1] } else { x.shape().to_vec() };
    let (outer, n, inner) = (shape[..d].iter().product::<usize>(), shape[d], shape[d + 1..].iter().product::<usize>());
    let mut out = try_alloc(op, x.numel(), 0.0f32)?;
    let mut state = try_alloc(op, inner, init)?;
    x.with_f32(op, |src| {
        if inner == 1 && n > 0 {
            // Along the last dim: the running state in a register, not a store and reload
            // of its slot per element (cumsum over rows of [1024, 1024] 3.6 → 1.4 ms).
            for (orow, srow) in out.chunks_exact_mut(n).zip(src.chunks_exact(n)) {
                let mut s = init;
                for (o, &v) in orow.iter_mut().zip(srow) {
                    *o = step(&mut s, v);
                }
            }
            return;
        }
        for o in 0..outer {
            state.iter_mut().for_each(|s| *s = init);
            for k in 0..n {
                let row = (o * n + k) * inner;
                for (i, s) in state.iter_mut().enumerate() {
                    out[row + i] = step(s, src[row + i]);
                }
            }
        }
    })?;
    Ok((Tensor::from_f32(out, x.shape())?, d))
}

struct FlipBackward {
    dims: Vec<i64>,
}

impl Backward for FlipBackward {
    fn name(&self) -> &'static str {
        "FlipBackward0"
    }
    fn vjp(&self, _: &VjpCtx, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(flip(g, &self.dims)?)])
    }
}

/// A copy of `x` with the order of elements reversed along each of `dims` (`torch.flip`),
/// for any dtype.
pub fn flip(x: &Tensor, dims: &[i64]) -> Result<Tensor> {
    const OP: &str = "flip";
    let rank = x.ndim();
    let flipped = crate::ops::reduce::reduced_dims(OP, rank, Some(dims))?;
    let shape = x.shape();
    let src = x.contiguous(OP)?;
    let buffer = src.buffer();
    let range = src.layout().offset..src.layout().offset + src.numel();
    let out = match &*buffer {
        Buffer::F32(d) => Buffer::F32(flipped_copy(&d[range], shape, &flipped, 0.0)?),
        Buffer::I32(d) => Buffer::I32(flipped_copy(&d[range], shape, &flipped, 0)?),
        Buffer::Bool(d) => Buffer::Bool(flipped_copy(&d[range], shape, &flipped, 0)?),
    };
    drop(buffer);
    let out = Tensor::from_buffer(out, shape)?;
    let node = FlipBackward { dims: (0..rank as i64).filter(|&d| flipped[d as usize]).collect() };
    Ok(record(out, &[x], Vec::new, node))
}

/// `src` (row-major, of `shape`) with the `flipped` dims reversed.
fn flipped_copy<T: Copy>(src: &[T], shape: &[usize], flipped: &[bool], zero: T) -> Result<Vec<T>> {
    let rank = shape.len();
    let total = src.len();
    let mut out = try_alloc("flip", total, zero)?;
    if rank == 0 || total == 0 {
        out.copy_from_slice(src);
        return Ok(out);
    }
    // One innermost row at a time: the source row's start comes from the outer index
    // (mirrored in flipped dims), and the row itself is reversed if the last dim is.
    let strides = contiguous_strides(shape);
    let row = shape[rank - 1];
    let mut index = vec![0usize; rank - 1];
    for dst in out.chunks_exact_mut(row) {
        let start: usize = (0..rank - 1)
            .map(|d| (if flipped[d] { shape[d] - 1 - index[d] } else { index[d] }) * strides[d])
            .sum();
        let s = &src[start..start + row];
        if flipped[rank - 1] {
            dst.iter_mut().zip(s.iter().rev()).for_each(|(o, &v)| *o = v);
        } else {
            dst.copy_from_slice(s);
        }
        for d in (0..rank - 1).rev() {
            index[d] += 1;
            if index[d] < shape[d] {
                break;
            }
            index[d] = 0;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autograd::engine::{backward, PassOptions};

    #[test]
    fn cumsum_and_flip_with_gradients() {
        let x = Tensor::from_f32(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
        x.set_requires_grad(true).unwrap();
        assert_eq!(cumsum(&x, 1).unwrap().to_f64_vec().unwrap(), vec![1.0, 3.0, 6.0, 4.0, 9.0, 15.0]);
        assert_eq!(flip(&x, &[0, -1]).unwrap().to_f64_vec().unwrap(), vec![6.0, 5.0, 4.0, 3.0, 2.0, 1.0]);
        assert_eq!(flip(&x, &[0]).unwrap().to_f64_vec().unwrap(), vec![4.0, 5.0, 6.0, 1.0, 2.0, 3.0]);
        assert!(flip(&x, &[1, -1]).is_err());
        let y = cumsum(&x, 1).unwrap();
        let g = Tensor::from_f32(vec![1.0, 2.0, 3.0, 0.0, 0.0, 1.0], &[2, 3]).unwrap();
        backward(&y, Some(&g), PassOptions::default()).unwrap();
        assert_eq!(x.grad().unwrap().to_f64_vec().unwrap(), vec![6.0, 5.0, 3.0, 1.0, 1.0, 1.0]);
    }
}

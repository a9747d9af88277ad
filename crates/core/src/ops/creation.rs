//! Tensors made from nothing: constants, ranges, identity, random. None record a graph.

use crate::error::{fmt_number, Error, Result};
use crate::kernels::random;
use crate::layout::{checked_numel, MAX_ELEMENTS};
use crate::storage::{try_alloc, try_copy, try_map, Buffer, DType};
use crate::ops::schema::{choice, float, int, ints, tensor, OpDef, Run, DTYPES};
use crate::tensor::Tensor;

fn count_arg(op: &str, what: &str, v: f64) -> Result<usize> {
    if !(v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= MAX_ELEMENTS as f64) {
        return Err(Error::argument(format!("{op}: {what} must be a non-negative integer, got {}", fmt_number(v))));
    }
    Ok(v as usize)
}

fn from_values(op: &str, dtype: DType, values: Vec<f64>, shape: &[usize]) -> Result<Tensor> {
    let buffer = match dtype {
        DType::F32 => Buffer::F32(try_map(op, &values, |v| v as f32)?),
        DType::I32 => Buffer::I32(try_map(op, &values, |v| v as i32)?),
        DType::Bool => Buffer::Bool(try_map(op, &values, |v| (v != 0.0) as u8)?),
    };
    Tensor::from_buffer(buffer, shape)
}

pub fn arange(start: f64, end: f64, step: f64, dtype: DType) -> Result<Tensor> {
    if step == 0.0 || !step.is_finite() || !start.is_finite() || !end.is_finite() {
        return Err(Error::argument(format!("arange: invalid range start={} end={} step={}", fmt_number(start), fmt_number(end), fmt_number(step))));
    }
    if (end - start) * step < 0.0 {
        return Err(Error::argument(format!(
            "arange: the range from {} to {} is inconsistent with the sign of step {}",
            fmt_number(start),
            fmt_number(end),
            fmt_number(step)
        )));
    }
    let count = ((end - start) / step).ceil().max(0.0);
    let n = count_arg("arange", "the number of elements", count)?;
    let mut values = try_alloc("arange", n, 0.0f64)?;
    for (i, v) in values.iter_mut().enumerate() {
        *v = start + i as f64 * step;
    }
    from_values("arange", dtype, values, &[n])
}

pub fn linspace(start: f64, end: f64, steps: f64) -> Result<Tensor> {
    let n = count_arg("linspace", "steps", steps)?;
    let mut values = try_alloc("linspace", n, 0.0f64)?;
    let step = if n > 1 { (end - start) / (n - 1) as f64 } else { 0.0 };
    for (i, v) in values.iter_mut().enumerate() {
        // Fill from both ends, as PyTorch does, so the last value is exactly `end`.
        *v = if i < n / 2 || n == 1 { start + step * i as f64 } else { end - step * (n - 1 - i) as f64 };
    }
    from_values("linspace", DType::F32, values, &[n])
}

pub fn eye(rows: f64, cols: f64, dtype: DType) -> Result<Tensor> {
    let (r, c) = (count_arg("eye", "n", rows)?, count_arg("eye", "m", cols)?);
    let t = Tensor::full("eye", &[r, c], 0.0, dtype)?;
    {
        let mut buffer = t.storage().buffer_mut();
        for i in 0..r.min(c) {
            match &mut *buffer {
                Buffer::F32(d) => d[i * c + i] = 1.0,
                Buffer::I32(d) => d[i * c + i] = 1,
                Buffer::Bool(d) => d[i * c + i] = 1,
            }
        }
    }
    Ok(t)
}

/// `shape` filled by `fill` from the seeded generator.
pub fn random(op: &str, shape: &[usize], fill: fn(&mut [f32])) -> Result<Tensor> {
    let n = checked_numel(op, shape)?;
    let mut values = try_alloc(op, n, 0.0f32)?;
    fill(&mut values);
    Tensor::from_f32(values, shape)
}

/// `to(dtype)`: a copy converted to `dtype` (float → int truncates toward zero; to bool,
/// non-zero and NaN are true), or the tensor itself when it already has that dtype, as in
/// PyTorch.
pub fn cast(x: &Tensor, dtype: DType) -> Result<Tensor> {
    if x.dtype() == dtype {
        return Ok(x.clone());
    }
    const OP: &str = "to";
    let c = x.contiguous(OP)?;
    let buffer = c.buffer();
    let l = c.layout();
    let range = l.offset..l.offset + l.numel();
    let out = match (&*buffer, dtype) {
        (Buffer::F32(d), DType::F32) => Buffer::F32(try_copy(OP, &d[range])?),
        (Buffer::F32(d), DType::I32) => Buffer::I32(try_map(OP, &d[range], |v| v as i32)?),
        (Buffer::F32(d), DType::Bool) => Buffer::Bool(try_map(OP, &d[range], |v| (v != 0.0) as u8)?),
        (Buffer::I32(d), DType::F32) => Buffer::F32(try_map(OP, &d[range], |v| v as f32)?),
        (Buffer::I32(d), DType::I32) => Buffer::I32(try_copy(OP, &d[range])?),
        (Buffer::I32(d), DType::Bool) => Buffer::Bool(try_map(OP, &d[range], |v| (v != 0) as u8)?),
        (Buffer::Bool(d), DType::F32) => Buffer::F32(try_map(OP, &d[range], |v| (v != 0) as u8 as f32)?),
        (Buffer::Bool(d), DType::I32) => Buffer::I32(try_map(OP, &d[range], |v| (v != 0) as i32)?),
        (Buffer::Bool(d), DType::Bool) => Buffer::Bool(try_copy(OP, &d[range])?),
    };
    Tensor::from_buffer(out, x.shape())
}

/// Bool operands of float ops compute as 0./1. floats: PyTorch promotes bool with float
/// to float, and without this every float kernel would need a byte path.
pub fn float_if_bool(x: &Tensor) -> Result<Tensor> {
    if x.dtype() == DType::Bool { cast(x, DType::F32) } else { Ok(x.clone()) }
}

/// A fill value as an int32 holds it (truncated toward zero), or the error PyTorch raises
/// for one it cannot hold (NaN, ±inf, beyond the int32 range).
fn int32_fill(op: &str, value: f64) -> Result<f64> {
    if !(value >= i32::MIN as f64 && value <= i32::MAX as f64) {
        return Err(Error::argument(format!("{op}: value {} cannot be converted to int32 without overflow", fmt_number(value))));
    }
    Ok(value.trunc())
}

/// Rejects the dtypes an op does not make (PyTorch's rand/linspace are floating point only).
fn made_in(op: &str, dtype: DType, allowed: &[DType]) -> Result<DType> {
    if allowed.contains(&dtype) {
        return Ok(dtype);
    }
    let names: Vec<&str> = allowed.iter().map(|d| d.name()).collect();
    Err(Error::dtype(format!("{op}: {} is not supported; use {}", dtype.name(), names.join(" or "))))
}

/// The creation ops and `to` (see `ops/schema.rs`).
pub static OPS: &[OpDef] = &[
    OpDef { name: "full", grad_fn: "", args: &[ints("size"), float("fillValue"), choice("dtype", DTYPES)],
        run: Run::Tensor(|a| {
            let (dtype, value) = (a.dtype(2)?, a.float(1)?);
            let value = if dtype == DType::I32 { int32_fill(a.op, value)? } else { value };
            Tensor::full(a.op, &a.shape(0)?, value, dtype)
        }) },
    OpDef { name: "arange", grad_fn: "", args: &[float("start"), float("end"), float("step"), choice("dtype", DTYPES)],
        run: Run::Tensor(|a| arange(a.float(0)?, a.float(1)?, a.float(2)?, made_in(a.op, a.dtype(3)?, &[DType::F32, DType::I32])?)) },
    OpDef { name: "linspace", grad_fn: "", args: &[float("start"), float("end"), int("steps"), choice("dtype", DTYPES)],
        run: Run::Tensor(|a| {
            made_in(a.op, a.dtype(3)?, &[DType::F32])?;
            linspace(a.float(0)?, a.float(1)?, a.int(2)? as f64)
        }) },
    OpDef { name: "eye", grad_fn: "", args: &[int("n"), int("m"), choice("dtype", DTYPES)],
        run: Run::Tensor(|a| eye(a.int(0)? as f64, a.int(1)? as f64, a.dtype(2)?)) },
    OpDef { name: "rand", grad_fn: "", args: &[ints("size"), choice("dtype", DTYPES)],
        run: Run::Tensor(|a| {
            made_in(a.op, a.dtype(1)?, &[DType::F32])?;
            random(a.op, &a.shape(0)?, random::fill_uniform)
        }) },
    OpDef { name: "randn", grad_fn: "", args: &[ints("size"), choice("dtype", DTYPES)],
        run: Run::Tensor(|a| {
            made_in(a.op, a.dtype(1)?, &[DType::F32])?;
            random(a.op, &a.shape(0)?, random::fill_normal)
        }) },
    OpDef { name: "to", grad_fn: "", args: &[tensor("input"), choice("dtype", DTYPES)],
        run: Run::Tensor(|a| cast(a.tensor(0)?, a.dtype(1)?)) },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int32_full_rejects_what_int32_cannot_hold() {
        use crate::ops::schema::{call, Args, Value};
        let full = |v: f64| {
            let args = vec![Value::Ints(Some(vec![2])), Value::Float(v), Value::Choice(DType::I32 as usize)];
            call(&OPS[0], &Args::new("full", args))
        };
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 3e9, -3e9, 2147483648.0, 2147483647.5, -2147483649.0] {
            let err = full(v).unwrap_err();
            assert_eq!(err.kind, crate::ErrorKind::Argument, "{v}");
        }
        let t = full(-2.7).unwrap();
        assert_eq!(t.to_f64_vec().unwrap(), vec![-2.0, -2.0]);
        let t = full(-2147483648.0).unwrap();
        assert_eq!(t.to_f64_vec().unwrap(), vec![-2147483648.0, -2147483648.0]);
    }
}

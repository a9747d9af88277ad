//! Tensors made from nothing: constants, ranges, identity, random. None record a graph.

use crate::error::{Error, Result};
use crate::kernels::random;
use crate::layout::{checked_numel, MAX_ELEMENTS};
use crate::storage::{try_alloc, try_copy, try_map, Buffer, DType};
use crate::tensor::Tensor;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum CreationOp {
    Full,
    Arange,
    Linspace,
    Eye,
    Rand,
    Randn,
}

pub const CREATION_NAMES: &[&str] = &["full", "arange", "linspace", "eye", "rand", "randn"];

fn count_arg(op: &str, what: &str, v: f64) -> Result<usize> {
    if !(v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= MAX_ELEMENTS as f64) {
        return Err(Error::argument(format!("{op}: {what} must be a non-negative integer, got {v}")));
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
        return Err(Error::argument(format!("arange: invalid range start={start} end={end} step={step}")));
    }
    if (end - start) * step < 0.0 {
        return Err(Error::argument(format!(
            "arange: the range from {start} to {end} is inconsistent with the sign of step {step}"
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

pub fn random(op: CreationOp, shape: &[usize]) -> Result<Tensor> {
    let name = CREATION_NAMES[op as usize];
    let n = checked_numel(name, shape)?;
    let mut values = try_alloc(name, n, 0.0f32)?;
    let draw: fn() -> f32 = if op == CreationOp::Randn { random::normal } else { random::uniform };
    for v in values.iter_mut() {
        *v = draw();
    }
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
        return Err(Error::argument(format!("{op}: value {value} cannot be converted to int32 without overflow")));
    }
    Ok(value.trunc())
}

/// Creation by id with up to three numeric arguments (shape passed separately).
pub fn create_by_id(id: u32, dtype: DType, shape: &[usize], args: [f64; 3]) -> Result<Tensor> {
    let Some(&name) = CREATION_NAMES.get(id as usize) else {
        return Err(Error::argument(format!("create: unknown op id {id}")));
    };
    if matches!(name, "linspace" | "rand" | "randn") && dtype != DType::F32 {
        return Err(Error::dtype(format!("{name}: only float32 is supported, got {}", dtype.name())));
    }
    if name == "arange" && dtype == DType::Bool {
        return Err(Error::dtype("arange: bool is not supported; use float32 or int32".to_string()));
    }
    match name {
        "full" => {
            let value = if dtype == DType::I32 { int32_fill(name, args[0])? } else { args[0] };
            Tensor::full(name, shape, value, dtype)
        }
        "arange" => arange(args[0], args[1], args[2], dtype),
        "linspace" => linspace(args[0], args[1], args[2]),
        "eye" => eye(args[0], args[1], dtype),
        "rand" => random(CreationOp::Rand, shape),
        "randn" => random(CreationOp::Randn, shape),
        _ => Err(Error::argument(format!("create: unknown op {name}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int32_full_rejects_what_int32_cannot_hold() {
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 3e9, -3e9, 2147483648.0, 2147483647.5, -2147483649.0] {
            let err = create_by_id(0, DType::I32, &[2], [v, 0.0, 0.0]).unwrap_err();
            assert_eq!(err.kind, crate::ErrorKind::Argument, "{v}");
        }
        let t = create_by_id(0, DType::I32, &[1], [-2.7, 0.0, 0.0]).unwrap();
        assert_eq!(t.to_f64_vec().unwrap(), vec![-2.0]);
        let t = create_by_id(0, DType::I32, &[1], [-2147483648.0, 0.0, 0.0]).unwrap();
        assert_eq!(t.to_f64_vec().unwrap(), vec![-2147483648.0]);
    }
}

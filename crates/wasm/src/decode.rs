//! Decodes a declared op's arguments from the wire, following its schema
//! (`wasmgrad_core::ops::schema`). TS writes one f64 word per value into the f64 scratch, in
//! schema order (the encoder in `ts/dispatch.ts` reads the same schema from the catalog):
//!
//! - tensor, optional tensor: the handle (0: absent, an error for a required tensor);
//! - operand: [`OPERAND_TENSOR`] and a handle, or [`OPERAND_NUMBER`] and a number;
//! - tensor list: the count; the handles are in the handle list (`wg_list`);
//! - int, float, bool (0 or 1), choice (the index of the chosen name): the value;
//! - ints: the count, then the values; optional ints: [`ABSENT_LIST`] when absent.
//!
//! Everything is checked here, at the trust boundary: counts fit the words given, integers
//! are exact, flags are 0 or 1, choices exist.

use wasmgrad_core::layout::MAX_RANK;
use wasmgrad_core::ops::schema::{Args, Kind, OpDef, Value};
use wasmgrad_core::{Error, Result};

use crate::Runtime;

/// The largest integer a JS number holds exactly.
const MAX_EXACT: f64 = 9007199254740992.0;
/// An operand's first word: a tensor handle follows, or a number (published to TS).
pub const OPERAND_TENSOR: i64 = 0;
pub const OPERAND_NUMBER: i64 = 1;
/// The count of an absent optional integer list (published to TS).
pub const ABSENT_LIST: i64 = -1;

struct Words<'a> {
    op: &'static str,
    words: &'a [f64],
    next: usize,
}

impl Words<'_> {
    fn take(&mut self, what: &str) -> Result<f64> {
        let w = self.words.get(self.next).copied();
        self.next += 1;
        w.ok_or_else(|| Error::argument(format!("{}: {what} is missing", self.op)))
    }

    fn int(&mut self, what: &str) -> Result<i64> {
        let v = self.take(what)?;
        if v.fract() == 0.0 && v.abs() <= MAX_EXACT {
            Ok(v as i64)
        } else {
            Err(Error::argument(format!("{}: {what} must be an integer, got {}", self.op, wasmgrad_core::error::fmt_number(v))))
        }
    }

    /// A list's count: -1 (absent, when allowed) or 0..=MAX_RANK.
    fn count(&mut self, what: &str, optional: bool) -> Result<Option<usize>> {
        match self.int(what)? {
            ABSENT_LIST if optional => Ok(None),
            n if (0..=MAX_RANK as i64).contains(&n) => Ok(Some(n as usize)),
            n => Err(Error::argument(format!("{}: {what} has {n} values; at most {MAX_RANK} are supported", self.op))),
        }
    }
}

/// The arguments of `def` from the first `n` words of the f64 scratch (and the handle list),
/// in `values` (an empty vector whose allocation is reused from call to call).
pub fn decode(rt: &Runtime, def: &'static OpDef, n: u32, mut values: Vec<Value>) -> Result<Args> {
    let op = def.name;
    let n = (n as usize).min(rt.fscratch.len());
    let mut w = Words { op, words: &rt.fscratch[..n], next: 0 };
    for arg in def.args {
        let what = arg.name;
        values.push(match arg.kind {
            Kind::Tensor => {
                let h = w.take(what)?;
                if h == 0.0 {
                    return Err(Error::argument(format!("{op}: {what} is missing")));
                }
                Value::Tensor(Some(rt.get(op, h)?))
            }
            Kind::OptionalTensor => Value::Tensor(rt.get_optional(op, w.take(what)?)?),
            Kind::Operand => match w.int(what)? {
                OPERAND_TENSOR => Value::Tensor(Some(rt.get(op, w.take(what)?)?)),
                OPERAND_NUMBER => Value::Number(w.take(what)?),
                tag => return Err(Error::argument(format!("{op}: {what} has an unknown operand tag {tag}"))),
            },
            Kind::TensorList => {
                let count = w.int(what)?;
                let count = usize::try_from(count).map_err(|_| Error::argument(format!("{op}: {what}: a negative count {count}")))?;
                Value::Tensors(rt.required_tensors(op, 0..count)?)
            }
            Kind::Int => Value::Int(w.int(what)?),
            Kind::Ints | Kind::OptionalInts => match w.count(what, arg.kind == Kind::OptionalInts)? {
                None => Value::Ints(None),
                Some(count) => Value::Ints(Some((0..count).map(|_| w.int(what)).collect::<Result<Vec<_>>>()?)),
            },
            Kind::Float => Value::Float(w.take(what)?),
            Kind::Bool => match w.take(what)? {
                v if v == 0.0 || v == 1.0 => Value::Bool(v == 1.0),
                v => return Err(Error::argument(format!("{op}: {what} must be true or false, got {}", wasmgrad_core::error::fmt_number(v)))),
            },
            Kind::Choice(choices) => {
                let i = w.int(what)?;
                match usize::try_from(i).ok().filter(|&i| i < choices.len()) {
                    Some(i) => Value::Choice(i),
                    None => return Err(Error::argument(format!("{op}: {what} must be one of {choices:?}, got choice {i}"))),
                }
            }
        });
    }
    if w.next != n {
        return Err(Error::argument(format!("{op}: {n} argument words were given; the declaration reads {}", w.next)));
    }
    Ok(Args::new(op, values))
}

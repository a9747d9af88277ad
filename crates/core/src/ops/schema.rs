//! Op declarations. Every op the boundary can call by id is one [`OpDef`]: its name, PyTorch's
//! name for its backward node, its argument schema and how it runs. The boundary decodes
//! arguments from the schema (`crates/wasm/src/decode.rs`), the TS layer encodes them from
//! the same schema read out of the catalog, and error messages name the op from it; so an op
//! is declared in exactly one place.
//!
//! Ops whose backward is written with tensor ops declare it here too ([`Run::Rule`]: forward,
//! what is saved, VJP side by side, recorded by [`run_rule`]); fused ops whose backward keeps
//! kernel state of its own record their node in their forward ([`Run::Tensor`]).

use std::rc::Rc;

use crate::autograd::graph::{record, Backward, VjpCtx};
use crate::autograd::mode::is_grad_enabled;
use crate::error::{Error, Result};
use crate::ops::creation::float_if_bool;
use crate::storage::DType;
use crate::tensor::Tensor;

/// What one argument is, at the boundary and in TypeScript.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    /// A tensor operand.
    Tensor,
    /// A tensor operand that may be absent (a bias).
    OptionalTensor,
    /// A tensor or a number (`where`'s branches, `scatter`'s source, `add_`'s source).
    Operand,
    /// Any number of tensors (`cat`).
    TensorList,
    /// An integer.
    Int,
    /// A list of integers (a shape, dims); a single integer stands for a list of one.
    Ints,
    /// A list of integers that may be absent (a reduction's dims: absent is all of them).
    OptionalInts,
    /// A number.
    Float,
    /// A flag.
    Bool,
    /// One of the named choices (a reduction, an activation, a dtype), passed by name.
    Choice(&'static [&'static str]),
}

/// One argument of an op's schema.
#[derive(Clone, Copy, Debug)]
pub struct Arg {
    pub name: &'static str,
    pub kind: Kind,
}

pub const fn tensor(name: &'static str) -> Arg {
    Arg { name, kind: Kind::Tensor }
}
pub const fn optional_tensor(name: &'static str) -> Arg {
    Arg { name, kind: Kind::OptionalTensor }
}
pub const fn operand(name: &'static str) -> Arg {
    Arg { name, kind: Kind::Operand }
}
pub const fn tensors(name: &'static str) -> Arg {
    Arg { name, kind: Kind::TensorList }
}
pub const fn int(name: &'static str) -> Arg {
    Arg { name, kind: Kind::Int }
}
pub const fn ints(name: &'static str) -> Arg {
    Arg { name, kind: Kind::Ints }
}
pub const fn optional_ints(name: &'static str) -> Arg {
    Arg { name, kind: Kind::OptionalInts }
}
pub const fn float(name: &'static str) -> Arg {
    Arg { name, kind: Kind::Float }
}
pub const fn flag(name: &'static str) -> Arg {
    Arg { name, kind: Kind::Bool }
}
pub const fn choice(name: &'static str, choices: &'static [&'static str]) -> Arg {
    Arg { name, kind: Kind::Choice(choices) }
}

/// The dtype names, in [`DType`] code order: a dtype argument is a choice among them.
pub const DTYPES: &[&str] = &["float32", "int32", "bool"];

/// Which tensors a declared backward rule reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Saves {
    Nothing,
    /// The tensor arguments, in schema order.
    Inputs,
    Output,
    /// The tensor arguments, then the output.
    InputsAndOutput,
}

/// A VJP: one gradient per tensor argument (in schema order), `None` where not needed.
pub type Vjp = fn(&Grad, &Tensor) -> Result<Vec<Option<Tensor>>>;

/// How an op runs.
#[derive(Clone, Copy)]
pub enum Run {
    /// Makes a tensor (recording its own graph node, if it has a gradient).
    Tensor(fn(&Args) -> Result<Tensor>),
    /// A forward kernel whose backward is declared beside it; [`run_rule`] records it.
    Rule { forward: fn(&Args) -> Result<Tensor>, saves: Saves, vjp: Vjp },
    /// Updates tensors in place and allocates nothing (optimizer steps), so it never fails
    /// half-way for lack of memory.
    Update(fn(&Args) -> Result<()>),
}

/// One op, declared once.
pub struct OpDef {
    /// The user-facing name (TS method and function name, error messages).
    pub name: &'static str,
    /// PyTorch's name for the backward node (`grad_fn`), or "" for an op without gradient.
    pub grad_fn: &'static str,
    pub args: &'static [Arg],
    pub run: Run,
}

/// A decoded argument.
#[derive(Clone)]
pub enum Value {
    Tensor(Option<Tensor>),
    Number(f64),
    Tensors(Vec<Tensor>),
    Int(i64),
    Ints(Option<Vec<i64>>),
    Float(f64),
    Bool(bool),
    Choice(usize),
}

/// The arguments of one call, typed by the op's schema (the decoder guarantees that each
/// value has its argument's kind; an accessor of the wrong kind is an internal error).
#[derive(Clone)]
pub struct Args {
    pub op: &'static str,
    values: Vec<Value>,
}

impl Args {
    pub fn new(op: &'static str, values: Vec<Value>) -> Args {
        Args { op, values }
    }

    /// The values, emptied, for the caller to reuse their allocation.
    pub fn into_values(mut self) -> Vec<Value> {
        self.values.clear();
        self.values
    }

    fn get(&self, i: usize) -> Result<&Value> {
        self.values.get(i).ok_or_else(|| self.mismatch(i))
    }

    fn mismatch(&self, i: usize) -> Error {
        Error::argument(format!("{}: argument {i} does not match the op's declaration", self.op))
    }

    pub fn tensor(&self, i: usize) -> Result<&Tensor> {
        match self.get(i)? {
            Value::Tensor(Some(t)) => Ok(t),
            _ => Err(self.mismatch(i)),
        }
    }
    /// A tensor argument as float32 (bool counts as 0./1., as PyTorch's numeric ops do).
    pub fn numeric(&self, i: usize) -> Result<Tensor> {
        float_if_bool(self.tensor(i)?)
    }
    pub fn optional_tensor(&self, i: usize) -> Result<Option<&Tensor>> {
        match self.get(i)? {
            Value::Tensor(t) => Ok(t.as_ref()),
            _ => Err(self.mismatch(i)),
        }
    }
    /// An operand as a tensor: a number becomes a 0-d float32 tensor.
    pub fn operand_tensor(&self, i: usize) -> Result<Tensor> {
        match self.get(i)? {
            Value::Tensor(Some(t)) => Ok(t.clone()),
            Value::Number(v) => Ok(Tensor::scalar(*v as f32)),
            _ => Err(self.mismatch(i)),
        }
    }
    /// An operand as it was given: `Ok(tensor)` or `Err(number)`.
    pub fn operand(&self, i: usize) -> Result<std::result::Result<&Tensor, f64>> {
        match self.get(i)? {
            Value::Tensor(Some(t)) => Ok(Ok(t)),
            Value::Number(v) => Ok(Err(*v)),
            _ => Err(self.mismatch(i)),
        }
    }
    pub fn tensors(&self, i: usize) -> Result<&[Tensor]> {
        match self.get(i)? {
            Value::Tensors(t) => Ok(t),
            _ => Err(self.mismatch(i)),
        }
    }
    pub fn int(&self, i: usize) -> Result<i64> {
        match self.get(i)? {
            Value::Int(v) => Ok(*v),
            _ => Err(self.mismatch(i)),
        }
    }
    pub fn ints(&self, i: usize) -> Result<&[i64]> {
        match self.get(i)? {
            Value::Ints(Some(v)) => Ok(v),
            _ => Err(self.mismatch(i)),
        }
    }
    /// A list of integers as a shape (a ShapeError for a negative size).
    pub fn shape(&self, i: usize) -> Result<Vec<usize>> {
        self.ints(i)?
            .iter()
            .map(|&d| usize::try_from(d).map_err(|_| Error::shape(format!("{}: negative dimension {d} in shape", self.op))))
            .collect()
    }
    pub fn optional_ints(&self, i: usize) -> Result<Option<&[i64]>> {
        match self.get(i)? {
            Value::Ints(v) => Ok(v.as_deref()),
            _ => Err(self.mismatch(i)),
        }
    }
    /// Exactly `N` integers (a kernel size, a stride), or an ArgumentError naming `what`.
    pub fn int_array<const N: usize>(&self, i: usize, what: &str) -> Result<[i64; N]> {
        let v = self.ints(i)?;
        v.try_into().map_err(|_| Error::argument(format!("{}: {what} takes {N} values, got {}", self.op, v.len())))
    }
    pub fn float(&self, i: usize) -> Result<f64> {
        match self.get(i)? {
            Value::Float(v) => Ok(*v),
            _ => Err(self.mismatch(i)),
        }
    }
    pub fn flag(&self, i: usize) -> Result<bool> {
        match self.get(i)? {
            Value::Bool(v) => Ok(*v),
            _ => Err(self.mismatch(i)),
        }
    }
    /// The index of the chosen name among the argument's choices.
    pub fn choice(&self, i: usize) -> Result<usize> {
        match self.get(i)? {
            Value::Choice(v) => Ok(*v),
            _ => Err(self.mismatch(i)),
        }
    }
    /// The chosen one of `options` (listed in the order of the argument's choices).
    pub fn choose<T: Copy>(&self, i: usize, options: &[T]) -> Result<T> {
        options.get(self.choice(i)?).copied().ok_or_else(|| self.mismatch(i))
    }
    pub fn dtype(&self, i: usize) -> Result<DType> {
        DType::from_code(self.choice(i)? as u32)
    }

    /// The tensors among the arguments, in schema order (a rule's inputs).
    fn input_tensors(&self) -> Vec<&Tensor> {
        let mut out = Vec::new();
        for v in &self.values {
            match v {
                Value::Tensor(Some(t)) => out.push(t),
                Value::Tensors(ts) => out.extend(ts),
                _ => {}
            }
        }
        out
    }

    /// The arguments without their tensors, for a graph node to keep (a node never holds
    /// its inputs except as saved tensors, which backward can release).
    fn without_tensors(&self) -> Args {
        let values = self
            .values
            .iter()
            .map(|v| match v {
                Value::Tensor(_) => Value::Tensor(None),
                Value::Tensors(_) => Value::Tensors(Vec::new()),
                other => other.clone(),
            })
            .collect();
        Args { op: self.op, values }
    }
}

/// What a declared VJP sees: the op's non-tensor arguments, its saved tensors and which
/// inputs need a gradient.
pub struct Grad<'a> {
    pub args: &'a Args,
    ctx: &'a VjpCtx<'a>,
    saves: Saves,
}

impl Grad<'_> {
    /// Saved input `i` (the i-th tensor argument).
    pub fn input(&self, i: usize) -> Result<&Tensor> {
        match self.saves {
            Saves::Inputs | Saves::InputsAndOutput => self.ctx.saved(i),
            _ => Err(Error::autograd(format!("{}: backward reads an input it did not save", self.args.op))),
        }
    }
    pub fn output(&self) -> Result<&Tensor> {
        match self.saves {
            Saves::Output => self.ctx.saved(0),
            Saves::InputsAndOutput => self.ctx.saved(self.ctx.saved.len().wrapping_sub(1)),
            _ => Err(Error::autograd(format!("{}: backward reads the output it did not save", self.args.op))),
        }
    }
    pub fn needs(&self, input: usize) -> bool {
        self.ctx.needs(input)
    }
}

struct RuleBackward {
    def: &'static OpDef,
    args: Rc<Args>,
    saves: Saves,
    vjp: Vjp,
}

impl Backward for RuleBackward {
    fn name(&self) -> &'static str {
        self.def.grad_fn
    }
    fn vjp(&self, ctx: &VjpCtx, grad: &Tensor) -> Result<Vec<Option<Tensor>>> {
        (self.vjp)(&Grad { args: &self.args, ctx, saves: self.saves }, grad)
    }
}

/// Runs a [`Run::Rule`] op: the forward, then (if grad mode records it) a node holding the
/// declared saves and VJP. Nothing is allocated for the graph when nothing is recorded.
fn run_rule(def: &'static OpDef, args: &Args, forward: fn(&Args) -> Result<Tensor>, saves: Saves, vjp: Vjp) -> Result<Tensor> {
    let out = forward(args)?;
    if !is_grad_enabled() || !args.values.iter().any(|v| matches!(v, Value::Tensor(Some(t)) if t.requires_grad())) {
        return Ok(out);
    }
    let inputs = args.input_tensors();
    let saved = || {
        let mut s: Vec<Tensor> = match saves {
            Saves::Inputs | Saves::InputsAndOutput => inputs.iter().map(|&t| t.clone()).collect(),
            _ => Vec::new(),
        };
        if matches!(saves, Saves::Output | Saves::InputsAndOutput) {
            s.push(out.clone());
        }
        s
    };
    let node = RuleBackward { def, args: Rc::new(args.without_tensors()), saves, vjp };
    Ok(record(out.clone(), &inputs, saved, node))
}

/// Runs a tensor-making op with decoded arguments.
pub fn call(def: &'static OpDef, args: &Args) -> Result<Tensor> {
    match def.run {
        Run::Tensor(f) => f(args),
        Run::Rule { forward, saves, vjp } => run_rule(def, args, forward, saves, vjp),
        Run::Update(_) => Err(Error::argument(format!("{}: an in-place update, not a tensor op", def.name))),
    }
}

/// Runs an in-place update with decoded arguments.
pub fn update(def: &'static OpDef, args: &Args) -> Result<()> {
    match def.run {
        Run::Update(f) => f(args),
        _ => Err(Error::argument(format!("{}: makes a tensor, not an in-place update", def.name))),
    }
}

fn json_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

impl OpDef {
    /// The declaration as JSON for the catalog: `{"name","family","gradFn","update","args":[…]}`.
    pub fn to_json(&self, family: &str) -> String {
        let args: Vec<String> = self
            .args
            .iter()
            .map(|a| {
                let kind = match a.kind {
                    Kind::Tensor => "tensor",
                    Kind::OptionalTensor => "optionalTensor",
                    Kind::Operand => "operand",
                    Kind::TensorList => "tensors",
                    Kind::Int => "int",
                    Kind::Ints => "ints",
                    Kind::OptionalInts => "optionalInts",
                    Kind::Float => "float",
                    Kind::Bool => "bool",
                    Kind::Choice(_) => "choice",
                };
                let choices = match a.kind {
                    Kind::Choice(c) => format!(",\"choices\":[{}]", c.iter().map(|c| json_str(c)).collect::<Vec<_>>().join(",")),
                    _ => String::new(),
                };
                format!("{{\"name\":{},\"kind\":\"{kind}\"{choices}}}", json_str(a.name))
            })
            .collect();
        format!(
            "{{\"name\":{},\"family\":{},\"gradFn\":{},\"update\":{},\"args\":[{}]}}",
            json_str(self.name),
            json_str(family),
            json_str(self.grad_fn),
            matches!(self.run, Run::Update(_)),
            args.join(",")
        )
    }
}

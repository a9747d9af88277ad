//! Indexing: `where`, `indexSelect` here, `gather`/`scatter`/`scatterAdd` in `scatter.rs`.
//!
//! `where(cond, a, b)`: elements of `a` where `cond` is true (bool, or non-zero in any
//! other dtype), else of `b`, with NumPy broadcasting of all three. The unselected branch
//! never leaks into the result (no `a·m + b·(1 − m)`, which would turn an unselected ∞
//! into NaN).

use crate::autograd::graph::{record, Backward, VjpCtx};
use crate::error::Result;
use crate::layout::{broadcast_shapes, checked_numel, Layout, StridedWalk};
use crate::storage::{try_alloc, try_copy, try_map, Buffer, DType};
use crate::ops::creation::float_if_bool;
use crate::ops::schema::{int, operand, tensor, OpDef, Run};
use crate::ops::scatter::{gather, scatter, scatter_add, ScatterSource};
use crate::tensor::{unreachable_dtype, Tensor};

/// The indexing ops (see `ops/schema.rs`). Bool values compute as float32; a condition and
/// an index keep their meaning.
pub static OPS: &[OpDef] = &[
    OpDef { name: "where", grad_fn: "WhereBackward0", args: &[tensor("condition"), operand("input"), operand("other")],
        run: Run::Tensor(|a| where_(a.tensor(0)?, &float_if_bool(&a.operand_tensor(1)?)?, &float_if_bool(&a.operand_tensor(2)?)?)) },
    OpDef { name: "indexSelect", grad_fn: "IndexSelectBackward0", args: &[tensor("input"), int("dim"), tensor("index")],
        run: Run::Tensor(|a| index_select(&a.numeric(0)?, a.int(1)?, a.tensor(2)?)) },
    OpDef { name: "gather", grad_fn: "GatherBackward0", args: &[tensor("input"), int("dim"), tensor("index")],
        run: Run::Tensor(|a| gather(&a.numeric(0)?, a.int(1)?, a.tensor(2)?)) },
    OpDef { name: "scatter", grad_fn: "ScatterBackward0", args: &[tensor("input"), int("dim"), tensor("index"), operand("src")],
        run: Run::Tensor(|a| {
            let src = match a.operand(3)? {
                Ok(t) => Ok(float_if_bool(t)?),
                Err(v) => Err(v),
            };
            let src = match &src {
                Ok(t) => ScatterSource::Tensor(t),
                Err(v) => ScatterSource::Value(*v),
            };
            scatter(&a.numeric(0)?, a.int(1)?, a.tensor(2)?, src)
        }) },
    OpDef { name: "scatterAdd", grad_fn: "ScatterAddBackward0", args: &[tensor("input"), int("dim"), tensor("index"), tensor("src")],
        run: Run::Tensor(|a| scatter_add(&a.numeric(0)?, a.int(1)?, a.tensor(2)?, &a.numeric(3)?)) },
];

struct WhereBackward;

impl Backward for WhereBackward {
    fn name(&self) -> &'static str {
        "WhereBackward0"
    }
    fn vjp(&self, ctx: &VjpCtx, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let cond = ctx.saved(0)?;
        let zero = Tensor::scalar(0.0);
        let ga = if ctx.needs(1) { Some(where_(cond, g, &zero)?) } else { None };
        let gb = if ctx.needs(2) { Some(where_(cond, &zero, g)?) } else { None };
        Ok(vec![None, ga, gb])
    }
}

pub fn where_(cond: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    const OP: &str = "where";
    a.expect_f32(OP)?;
    b.expect_f32(OP)?;
    let shape = broadcast_shapes(OP, &broadcast_shapes(OP, cond.shape(), a.shape())?, b.shape())?;
    let mut out = try_alloc(OP, checked_numel(OP, &shape)?, 0.0f32)?;
    {
        let (bc, ba, bb) = (cond.buffer(), a.buffer(), b.buffer());
        let (Buffer::F32(da), Buffer::F32(db)) = (&*ba, &*bb) else { unreachable_dtype() };
        let layouts = [cond.layout(), a.layout(), b.layout()].map(|l| l.broadcast_to(&shape));
        let operands = (&layouts, da.as_slice(), db.as_slice());
        match &*bc {
            Buffer::F32(c) => select_into(&mut out, c, |v| v != 0.0, operands),
            Buffer::I32(c) => select_into(&mut out, c, |v| v != 0, operands),
            Buffer::Bool(c) => select_into(&mut out, c, |v| v != 0, operands),
        }
    }
    let out = Tensor::from_f32(out, &shape)?;
    let saved_cond = cond.detach();
    Ok(record(out, &[cond, a, b], || vec![saved_cond], WhereBackward))
}

/// `out[i] = cond[i] ? a[i] : b[i]` over broadcast layouts (cond, a, b); generic over the
/// condition's element type so the test inlines into the loop.
fn select_into<C: Copy>(out: &mut [f32], c: &[C], truth: impl Fn(C) -> bool, (layouts, a, b): (&[Layout; 3], &[f32], &[f32])) {
    let walk = StridedWalk::new(&layouts[0].shape, [&layouts[0].strides, &layouts[1].strides, &layouts[2].strides]);
    let mut o = 0;
    walk.for_each_row(layouts.each_ref().map(|l| l.offset), |[pc, pa, pb], len, [sc, sa, sb]| {
        let row = &mut out[o..o + len];
        let (av, bv) = (Lane::of(a, pa, sa, len), Lane::of(b, pb, sb, len));
        match (sc, &av, &bv) {
            // The common cases get loops the compiler can vectorise.
            (1, Lane::Run(ar), Lane::Run(br)) => {
                for (((r, &cv), &x), &y) in row.iter_mut().zip(&c[pc..pc + len]).zip(*ar).zip(*br) {
                    *r = if truth(cv) { x } else { y };
                }
            }
            (1, Lane::Scalar(x), Lane::Run(br)) => {
                for ((r, &cv), &y) in row.iter_mut().zip(&c[pc..pc + len]).zip(*br) {
                    *r = if truth(cv) { *x } else { y };
                }
            }
            (1, Lane::Run(ar), Lane::Scalar(y)) => {
                for ((r, &cv), &x) in row.iter_mut().zip(&c[pc..pc + len]).zip(*ar) {
                    *r = if truth(cv) { x } else { *y };
                }
            }
            _ => {
                for (r, i) in row.iter_mut().zip(0..) {
                    *r = if truth(c[pc + i * sc]) { av.at(i) } else { bv.at(i) };
                }
            }
        }
        o += len;
    });
}

/// One operand's values along a row: a broadcast scalar, a contiguous run, or strided.
enum Lane<'a> {
    Scalar(f32),
    Run(&'a [f32]),
    Strided(&'a [f32], usize),
}

impl<'a> Lane<'a> {
    fn of(data: &'a [f32], start: usize, stride: usize, len: usize) -> Lane<'a> {
        match stride {
            0 => Lane::Scalar(data[start]),
            1 => Lane::Run(&data[start..start + len]),
            s => Lane::Strided(&data[start..], s),
        }
    }
    #[inline]
    fn at(&self, i: usize) -> f32 {
        match *self {
            Lane::Scalar(v) => v,
            Lane::Run(run) => run[i],
            Lane::Strided(data, s) => data[i * s],
        }
    }
}

/// Rows (slices along `dim`) of `x` picked by int32 `index` (PyTorch's `index_select`);
/// the gradient adds each picked slice back at its index (repeats accumulate).
pub fn index_select(x: &Tensor, dim: i64, index: &Tensor) -> Result<Tensor> {
    const OP: &str = "indexSelect";
    x.expect_f32(OP)?;
    if index.dtype() != DType::I32 || index.ndim() > 1 {
        return Err(crate::error::Error::dtype(format!(
            "{OP}: index must be a 0-d or 1-d int32 tensor, got {} of shape {:?}",
            index.dtype().name(),
            index.shape()
        )));
    }
    let d = crate::layout::normalize_axis(OP, dim, x.ndim())?;
    let shape = if x.ndim() == 0 { vec![1] } else { x.shape().to_vec() };
    let n = shape[d];
    let values = index.f64_values(OP)?;
    let mut picks = try_alloc(OP, values.len(), 0usize)?;
    for (p, &v) in picks.iter_mut().zip(&values) {
        // Negative indices are out of range, as in PyTorch ("index out of range in self").
        *p = usize::try_from(v as i64).ok().filter(|&i| i < n).ok_or_else(|| {
            crate::error::Error::argument(format!("{OP}: index {} is out of range for dimension {d} of size {n}", crate::error::fmt_number(v)))
        })?;
    }
    drop(values);
    let (outer, inner): (usize, usize) = (shape[..d].iter().product(), shape[d + 1..].iter().product());
    let mut out_shape = shape.clone();
    out_shape[d] = picks.len();
    let total = checked_numel(OP, &out_shape)?;
    let mut out = try_alloc(OP, total, 0.0f32)?;
    x.with_f32(OP, |src| {
        for o in 0..outer {
            for (k, &p) in picks.iter().enumerate() {
                let from = (o * n + p) * inner;
                let to = (o * picks.len() + k) * inner;
                out[to..to + inner].copy_from_slice(&src[from..from + inner]);
            }
        }
    })?;
    if x.ndim() == 0 {
        out_shape.clear();
    }
    let out = Tensor::from_f32(out, &out_shape)?;
    let node = IndexSelectBackward { picks, outer, n, inner, dim: d };
    Ok(record(out, &[x, index], Vec::new, node))
}

struct IndexSelectBackward {
    picks: Vec<usize>,
    dim: usize,
    outer: usize,
    n: usize,
    inner: usize,
}

impl Backward for IndexSelectBackward {
    fn name(&self) -> &'static str {
        "IndexSelectBackward0"
    }
    fn vjp(&self, ctx: &VjpCtx, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let mut dx = try_alloc("indexSelect", self.outer * self.n * self.inner, 0.0f32)?;
        g.with_f32("indexSelect", |gv| {
            for o in 0..self.outer {
                for (k, &p) in self.picks.iter().enumerate() {
                    let from = (o * self.picks.len() + k) * self.inner;
                    let to = (o * self.n + p) * self.inner;
                    for (d, &s) in dx[to..to + self.inner].iter_mut().zip(&gv[from..from + self.inner]) {
                        *d += s;
                    }
                }
            }
        })?;
        let dx = Tensor::from_f32(dx, ctx.input_shapes[0])?;
        // Adding rows into zeros is linear in g; its gradient picks the same rows again.
        let picks = try_copy("indexSelect", &self.picks)?;
        Ok(vec![Some(record(dx, &[g], Vec::new, IndexAddBackward { picks, dim: self.dim })), None])
    }
}

struct IndexAddBackward {
    picks: Vec<usize>,
    dim: usize,
}

impl Backward for IndexAddBackward {
    fn name(&self) -> &'static str {
        "IndexSelectBackwardBackward0"
    }
    fn vjp(&self, _: &VjpCtx, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let index = try_map("indexSelect", &self.picks, |p| p as i32)?;
        let index = Tensor::from_buffer(Buffer::I32(index), &[self.picks.len()])?;
        Ok(vec![Some(index_select(g, self.dim as i64, &index)?)])
    }
}

//! Linear algebra: matrix products with PyTorch's `matmul` semantics: 1-D operands are promoted and the
//! added dim removed again; batch dims broadcast.

use crate::autograd::graph::{record, Backward, VjpCtx};
use crate::error::{fmt_shape, Error, Result};
use crate::kernels::matmul::{GemmScratch, MatRef};
use crate::kernels::matmul_parallel::{self, gemm_rows_parallel};
use crate::layout::{broadcast_shapes, checked_numel, StridedWalk};
use crate::ops::movement::{squeeze, transpose_last, unsqueeze};
use crate::storage::{try_alloc_overwritten, Buffer};
use crate::tensor::{unreachable_dtype, Tensor};
use crate::ops::schema::{tensor, OpDef, Run};
use std::cell::RefCell;

/// The linear-algebra ops (see `ops/schema.rs`).
pub static OPS: &[OpDef] = &[
    OpDef { name: "matmul", grad_fn: "MmBackward0", args: &[tensor("input"), tensor("other")],
        run: Run::Tensor(|a| matmul(a.tensor(0)?, a.tensor(1)?)) },
];

thread_local! {
    /// Packing buffers, reused across calls so products allocate nothing per call.
    pub(crate) static GEMM_SCRATCH: RefCell<GemmScratch> = RefCell::new(GemmScratch::default());
}

struct MatmulBackward;

impl Backward for MatmulBackward {
    fn name(&self) -> &'static str {
        "MmBackward0"
    }
    /// dA = G·Bᵀ, dB = Aᵀ·G; the transposes are views the kernel reads through strides.
    fn vjp(&self, ctx: &VjpCtx, grad: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let (a, b) = (ctx.saved(0)?, ctx.saved(1)?);
        let ga = if ctx.needs(0) { Some(matmul_nd(grad, &transpose_last(b)?)?) } else { None };
        let gb = if ctx.needs(1) { Some(matmul_nd(&transpose_last(a)?, grad)?) } else { None };
        Ok(vec![ga, gb])
    }
}

pub fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let (a, b) = (&crate::ops::creation::float_if_bool(a)?, &crate::ops::creation::float_if_bool(b)?);
    if a.ndim() == 0 || b.ndim() == 0 {
        return Err(Error::shape(format!(
            "matmul: both arguments need at least 1 dimension, got shapes {} and {}",
            fmt_shape(a.shape()),
            fmt_shape(b.shape())
        )));
    }
    let a2 = if a.ndim() == 1 { unsqueeze(a, 0)? } else { a.clone() };
    let b2 = if b.ndim() == 1 { unsqueeze(b, -1)? } else { b.clone() };
    if a2.shape()[a2.ndim() - 1] != b2.shape()[b2.ndim() - 2] {
        return Err(Error::shape(format!(
            "matmul: shapes {} and {} cannot be multiplied ({} != {})",
            fmt_shape(a.shape()),
            fmt_shape(b.shape()),
            a2.shape()[a2.ndim() - 1],
            b2.shape()[b2.ndim() - 2]
        )));
    }
    let mut out = matmul_nd(&a2, &b2)?;
    // Remove the dims the 1-D promotion added (-2 first: for a dot product both go).
    if a.ndim() == 1 {
        out = squeeze(&out, -2)?;
    }
    if b.ndim() == 1 {
        out = squeeze(&out, -1)?;
    }
    Ok(out)
}

/// Both operands at least 2-D with matching inner dims.
fn matmul_nd(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    a.expect_f32("matmul")?;
    b.expect_f32("matmul")?;
    let (ra, rb) = (a.ndim(), b.ndim());
    let (m, k, n) = (a.shape()[ra - 2], a.shape()[ra - 1], b.shape()[rb - 1]);
    let batch = broadcast_shapes("matmul", &a.shape()[..ra - 2], &b.shape()[..rb - 2])?;
    let mut shape = batch.clone();
    shape.extend([m, n]);
    let total = checked_numel("matmul", &shape)?;
    let mut out = try_alloc_overwritten("matmul", total)?;
    GEMM_SCRATCH.with_borrow_mut(|scratch| matmul_parallel::prepare("matmul", m, n, k, scratch))?;
    GEMM_SCRATCH.with_borrow_mut(|scratch| {
        let (ba, bb) = (a.buffer(), b.buffer());
        let (Buffer::F32(da), Buffer::F32(db)) = (&*ba, &*bb) else { unreachable_dtype() };
        let (la, lb) = (a.layout(), b.layout());
        // Batch strides of each operand, broadcast to the output's batch shape.
        let batch_strides = |l: &crate::layout::Layout| -> Vec<usize> {
            let r = l.ndim() - 2;
            let lead = batch.len() - r;
            (0..batch.len())
                .map(|i| if i < lead || l.shape[i - lead] == 1 { 0 } else { l.strides[i - lead] })
                .collect()
        };
        let (sa, sb) = (batch_strides(la), batch_strides(lb));
        let mut index = 0;
        let walk = StridedWalk::new(&batch, [&sa, &sb]);
        walk.for_each_row([la.offset, lb.offset], |[oa, ob], len, [ia, ib]| {
            for i in 0..len {
                let am = MatRef { data: da, offset: oa + i * ia, row_stride: la.strides[ra - 2], col_stride: la.strides[ra - 1] };
                let bm = MatRef { data: db, offset: ob + i * ib, row_stride: lb.strides[rb - 2], col_stride: lb.strides[rb - 1] };
                gemm_rows_parallel(m, n, k, am, bm, &mut out[index * m * n..(index + 1) * m * n], scratch);
                index += 1;
            }
        });
    });
    let out = Tensor::from_f32(out, &shape)?;
    Ok(record(out, &[a, b], || vec![a.clone(), b.clone()], MatmulBackward))
}

//! Pooling (PyTorch's `max_pool2d`, `avg_pool2d`, `adaptive_avg_pool2d`) on NCHW float32
//! tensors, 3-D unbatched inputs included.
//!
//! Every argument is validated here, before any kernel runs, so bad shapes and sizes come
//! back as typed errors instead of a trap. The forward and backward passes are kernels
//! (`kernels::pool`), each backward a [`Backward`] node whose VJP calls the kernels
//! directly.

use crate::autograd::graph::{record, Backward, VjpCtx};
use crate::error::{fmt_shape, Error, Result};
use crate::kernels::pool::{self as k, AvgPoolMode, PoolGeom};
use crate::kernels::window::Window;
use crate::layout::checked_numel;
use crate::ops::conv::{at_least, f32s, split_input};
use crate::ops::schema::{flag, int, ints, tensor, OpDef, Run};
use crate::autograd::mode::is_grad_enabled;
use crate::parallel;
use crate::storage::{try_alloc, try_alloc_overwritten, try_build, Buffer, BUILD_BLOCK};
use crate::tensor::{unreachable_dtype, Tensor};

/// Pooling hyper-parameters, `[h, w]` each.
#[derive(Clone, Copy, Debug)]
pub struct PoolParams {
    pub kernel: [i64; 2],
    pub stride: [i64; 2],
    pub padding: [i64; 2],
    pub dilation: [i64; 2],
    pub ceil_mode: bool,
}

/// PyTorch's `pooling_output_shape`.
fn pooled_size(size: i64, k: i64, pad: i64, stride: i64, dilation: i64, ceil: bool) -> i64 {
    let span = size + 2 * pad - dilation * (k - 1) - 1 + if ceil { stride - 1 } else { 0 };
    let mut out = span.div_euclid(stride) + 1;
    if ceil && (out - 1) * stride >= size + pad {
        out -= 1;
    }
    out
}

/// Validates a 3-D or 4-D pooling input: `(planes, [h, w], batched)`.
fn pool_input(op: &str, x: &Tensor) -> Result<(usize, [usize; 2], Vec<usize>)> {
    x.expect_f32(op)?;
    let (n, c, sizes, batched) = split_input(op, x, 2)?;
    if c == 0 || sizes.contains(&0) {
        return Err(Error::shape(format!(
            "{op}: expected an input with non-zero channels, height and width (only the batch may be empty), got shape {}",
            fmt_shape(x.shape())
        )));
    }
    let lead = if batched { vec![n, c] } else { vec![c] };
    Ok((n * c, [sizes[0], sizes[1]], lead))
}

fn pool_geometry(op: &str, x: &Tensor, p: &PoolParams) -> Result<(PoolGeom, Vec<usize>)> {
    let (planes, [h, w], mut out_shape) = pool_input(op, x)?;
    at_least(op, "kernel size", &p.kernel, 1)?;
    at_least(op, "stride", &p.stride, 1)?;
    at_least(op, "padding", &p.padding, 0)?;
    at_least(op, "dilation", &p.dilation, 1)?;
    for d in 0..2 {
        if p.padding[d] > p.kernel[d] / 2 {
            return Err(Error::argument(format!(
                "{op}: padding should be at most half of the kernel size, but got padding={:?} and kernel size={:?}",
                p.padding, p.kernel
            )));
        }
    }
    let oh = pooled_size(h as i64, p.kernel[0], p.padding[0], p.stride[0], p.dilation[0], p.ceil_mode);
    let ow = pooled_size(w as i64, p.kernel[1], p.padding[1], p.stride[1], p.dilation[1], p.ceil_mode);
    if oh < 1 || ow < 1 {
        return Err(Error::shape(format!(
            "{op}: input of shape {} gives output size {oh}x{ow}, which is too small (kernel {:?}, stride {:?}, padding {:?}, dilation {:?})",
            fmt_shape(x.shape()),
            p.kernel,
            p.stride,
            p.padding,
            p.dilation
        )));
    }
    // Kernel, stride, padding and dilation now fit the input (padding ≤ kernel/2, and a
    // kernel larger than the padded input gives no output), so the casts are exact.
    out_shape.extend([oh as usize, ow as usize]);
    checked_numel(op, &out_shape)?;
    let [oh, ow] = [oh as usize, ow as usize];
    let usz = |v: [i64; 2]| v.map(|x| x as usize);
    let win = Window::new([h, w], [oh, ow], usz(p.kernel), usz(p.stride), usz(p.padding), usz(p.dilation));
    let geom = PoolGeom { planes, win };
    Ok((geom, out_shape))
}

struct MaxPool2dBackward {
    geom: PoolGeom,
}

impl Backward for MaxPool2dBackward {
    fn name(&self) -> &'static str {
        "MaxPool2DWithIndicesBackward0"
    }
    fn differentiable(&self) -> bool {
        false
    }
    fn vjp(&self, ctx: &VjpCtx, grad: &Tensor) -> Result<Vec<Option<Tensor>>> {
        const OP: &str = "maxPool2d";
        let indices = ctx.saved(0)?;
        let gc = grad.contiguous(OP)?;
        let (gb, ib) = (gc.buffer(), indices.buffer());
        let Buffer::I32(idx) = &*ib else { unreachable_dtype() };
        let g = &self.geom;
        let gout = f32s(&gb, &gc);
        let dx = build_rows(OP, g.in_len(), g.backward_rows_unit(), &|start, dx| k::max_pool2d_backward(gout, idx, g, start, dx))?;
        Ok(vec![Some(Tensor::from_f32(dx, ctx.input_shapes[0])?)])
    }
}

/// PyTorch's `max_pool2d` (padding counts as −∞; ties keep the first max).
pub fn max_pool2d(x: &Tensor, p: &PoolParams) -> Result<Tensor> {
    const OP: &str = "maxPool2d";
    let (geom, out_shape) = pool_geometry(OP, x, p)?;
    let (len, block) = (geom.out_len(), rows_block(geom.win.ow));
    let xc = x.contiguous(OP)?;
    let xb = xc.buffer();
    let xs = f32s(&xb, &xc);
    // The argmax indices only matter to the backward pass: without one, only the values.
    if !(is_grad_enabled() && x.requires_grad()) {
        let out = build_rows(OP, len, geom.win.ow, &|start, out| k::max_pool2d(xs, &geom, start, out, None))?;
        return Tensor::from_f32(out, &out_shape);
    }
    let mut idx = try_alloc(OP, len, 0i32)?;
    let out = if parallel::worth_splitting(len) {
        let mut out = try_alloc_overwritten(OP, len)?;
        let chunk = parallel::chunk_len(len, geom.win.ow);
        parallel::for_chunk_pairs_mut(&mut out, &mut idx, chunk, 1, &|start, out, idx| k::max_pool2d(xs, &geom, start, out, Some(idx)));
        out
    } else {
        try_build(OP, len, block, |start, out| k::max_pool2d(xs, &geom, start, out, Some(&mut idx[start..start + out.len()])))?
    };
    drop(xb);
    let y = Tensor::from_f32(out, &out_shape)?;
    let indices = Tensor::from_buffer(Buffer::I32(idx), &out_shape)?;
    Ok(record(y, &[x], || vec![indices], MaxPool2dBackward { geom }))
}

/// `len` values of a pooling kernel that computes any flat range `start..` of its output,
/// `fill(start, values)`, over rows of `cols` elements: large outputs in chunks of whole
/// rows on the thread pool (the kernels give the same bits for any split, see the tests
/// of `kernels::pool`), small ones block by block on the calling thread.
fn build_rows(op: &str, len: usize, cols: usize, fill: &(dyn Fn(usize, &mut [f32]) + Sync)) -> Result<Vec<f32>> {
    if !parallel::worth_splitting(len) {
        return try_build(op, len, rows_block(cols), fill);
    }
    let mut out = try_alloc_overwritten(op, len)?;
    parallel::for_chunks_mut(&mut out, parallel::chunk_len(len, cols), fill);
    Ok(out)
}

/// The block size for [`try_build`] over rows of `cols` elements: whole rows when they
/// fit, so that a block splits into as few row pieces as possible.
fn rows_block(cols: usize) -> usize {
    if cols <= BUILD_BLOCK { BUILD_BLOCK / cols * cols } else { BUILD_BLOCK }
}

struct AvgPool2dBackward {
    geom: PoolGeom,
    mode: AvgPoolMode,
}

impl Backward for AvgPool2dBackward {
    fn name(&self) -> &'static str {
        "AvgPool2DBackward0"
    }
    fn differentiable(&self) -> bool {
        false
    }
    fn vjp(&self, ctx: &VjpCtx, grad: &Tensor) -> Result<Vec<Option<Tensor>>> {
        const OP: &str = "avgPool2d";
        let gc = grad.contiguous(OP)?;
        let gb = gc.buffer();
        let (g, mode, gout) = (&self.geom, self.mode, f32s(&gb, &gc));
        let share = build_rows(OP, g.out_len(), g.win.ow, &|start, share| k::avg_pool2d_shares(gout, g, mode, start, share))?;
        let dx = build_rows(OP, g.in_len(), g.win.w, &|start, dx| k::avg_pool2d_backward(&share, g, start, dx))?;
        Ok(vec![Some(Tensor::from_f32(dx, ctx.input_shapes[0])?)])
    }
}

/// PyTorch's `avg_pool2d` (`divisor_override` 0 = none).
pub fn avg_pool2d(x: &Tensor, p: &PoolParams, count_include_pad: bool, divisor_override: i64) -> Result<Tensor> {
    const OP: &str = "avgPool2d";
    let (geom, out_shape) = pool_geometry(OP, x, p)?;
    if divisor_override < 0 {
        return Err(Error::argument(format!("{OP}: divisorOverride must be a positive integer, got {divisor_override}")));
    }
    let mode = AvgPoolMode { count_include_pad, divisor_override: divisor_override as usize };
    let xc = x.contiguous(OP)?;
    let out = {
        let xb = xc.buffer();
        let xs = f32s(&xb, &xc);
        build_rows(OP, geom.out_len(), geom.win.ow, &|start, out| k::avg_pool2d(xs, &geom, mode, start, out))?
    };
    let y = Tensor::from_f32(out, &out_shape)?;
    Ok(record(y, &[x], Vec::new, AvgPool2dBackward { geom, mode }))
}

struct AdaptiveAvgPool2dBackward {
    planes: usize,
    input: [usize; 2],
    output: [usize; 2],
}

impl Backward for AdaptiveAvgPool2dBackward {
    fn name(&self) -> &'static str {
        "AdaptiveAvgPool2DBackward0"
    }
    fn differentiable(&self) -> bool {
        false
    }
    fn vjp(&self, ctx: &VjpCtx, grad: &Tensor) -> Result<Vec<Option<Tensor>>> {
        const OP: &str = "adaptiveAvgPool2d";
        let gc = grad.contiguous(OP)?;
        let gb = gc.buffer();
        let ([h, w], [oh, ow]) = (self.input, self.output);
        let mut dx = try_alloc(OP, self.planes * h * w, 0.0f32)?;
        k::adaptive_avg_pool2d_backward(f32s(&gb, &gc), self.planes, h, w, oh, ow, &mut dx);
        Ok(vec![Some(Tensor::from_f32(dx, ctx.input_shapes[0])?)])
    }
}

/// PyTorch's `adaptive_avg_pool2d` to `[oh, ow]`: output (i, j) averages rows
/// `floor(i·H/oh) .. ceil((i+1)·H/oh)` and the matching columns.
pub fn adaptive_avg_pool2d(x: &Tensor, output: [i64; 2]) -> Result<Tensor> {
    const OP: &str = "adaptiveAvgPool2d";
    let (planes, [h, w], mut out_shape) = pool_input(OP, x)?;
    at_least(OP, "output size", &output, 0)?;
    let [oh, ow] = output.map(|v| v as usize);
    out_shape.extend([oh, ow]);
    checked_numel(OP, &out_shape)?;
    let mut out = try_alloc(OP, planes * oh * ow, 0.0f32)?;
    let xc = x.contiguous(OP)?;
    {
        let xb = xc.buffer();
        k::adaptive_avg_pool2d(f32s(&xb, &xc), planes, h, w, oh, ow, &mut out);
    }
    let y = Tensor::from_f32(out, &out_shape)?;
    Ok(record(y, &[x], Vec::new, AdaptiveAvgPool2dBackward { planes, input: [h, w], output: [oh, ow] }))
}

/// The poolings (see `ops/schema.rs`); sizes are `[h, w]`.
pub static OPS: &[OpDef] = &[
    OpDef { name: "maxPool2d", grad_fn: "MaxPool2DWithIndicesBackward0",
        args: &[tensor("input"), ints("kernelSize"), ints("stride"), ints("padding"), ints("dilation"), flag("ceilMode")],
        run: Run::Tensor(|a| max_pool2d(&a.numeric(0)?, &PoolParams {
            kernel: a.int_array(1, "kernelSize")?,
            stride: a.int_array(2, "stride")?,
            padding: a.int_array(3, "padding")?,
            dilation: a.int_array(4, "dilation")?,
            ceil_mode: a.flag(5)?,
        })) },
    // divisorOverride 0: none.
    OpDef { name: "avgPool2d", grad_fn: "AvgPool2DBackward0",
        args: &[tensor("input"), ints("kernelSize"), ints("stride"), ints("padding"), flag("ceilMode"), flag("countIncludePad"), int("divisorOverride")],
        run: Run::Tensor(|a| {
            let p = PoolParams {
                kernel: a.int_array(1, "kernelSize")?,
                stride: a.int_array(2, "stride")?,
                padding: a.int_array(3, "padding")?,
                dilation: [1, 1],
                ceil_mode: a.flag(4)?,
            };
            avg_pool2d(&a.numeric(0)?, &p, a.flag(5)?, a.int(6)?)
        }) },
    OpDef { name: "adaptiveAvgPool2d", grad_fn: "AdaptiveAvgPool2DBackward0", args: &[tensor("input"), ints("outputSize")],
        run: Run::Tensor(|a| adaptive_avg_pool2d(&a.numeric(0)?, a.int_array(1, "outputSize")?)) },
];

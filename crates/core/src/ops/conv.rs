//! Convolution (PyTorch's `conv1d`, `conv2d`, `conv_transpose2d`) on NCHW float32 tensors,
//! 3-D unbatched inputs included, and the argument helpers it shares with pooling
//! (`ops::pool`).
//!
//! Every argument is validated here, before any kernel runs, so bad shapes and sizes come
//! back as typed errors instead of a trap. The passes are kernels (`kernels::conv`):
//! convolution is `im2col` plus the packed GEMM, its input gradient (and the transposed
//! convolution) a GEMM plus `col2im`, its weight gradient `im2col` plus a GEMM, each run
//! over blocks of images on every thread (`kernels::conv_parallel`, which also allocates
//! their buffers, fallibly, before any kernel runs). Those are the three bilinear maps of one geometry ([`ConvMap`]); each map's VJP is made of the
//! other two, recorded as ops, so convolutions have derivatives of any order. `conv1d` is
//! `conv2d` with `H = kH = 1` (the `[N, C, L]` data already is `[N, C, 1, L]`, so nothing
//! is copied and the graph records a single `ConvolutionBackward0` node). The transposed
//! convolution's validation lives in `conv/transpose.rs`.

mod transpose;

pub use transpose::{conv_transpose2d, ConvTransposeParams};

use crate::autograd::graph::{record, Backward, VjpCtx};
use crate::error::{fmt_shape, Error, Result};
use crate::kernels::conv::ConvGeom;
use crate::kernels::conv_parallel as kp;
use crate::kernels::window::Window;
use crate::layout::{checked_numel, MAX_ELEMENTS};
use crate::ops::reduce::sum;
use crate::ops::schema::{int, ints, optional_tensor, tensor, Arg, Args, OpDef, Run};
use crate::storage::{try_alloc_overwritten, Buffer};
use crate::tensor::{unreachable_dtype, Tensor};

/// The f32 elements of a contiguous tensor.
pub(super) fn f32s<'a>(buffer: &'a Buffer, t: &Tensor) -> &'a [f32] {
    let Buffer::F32(d) = buffer else { unreachable_dtype() };
    let l = t.layout();
    &d[l.offset..l.offset + l.numel()]
}

/// Integer argument `i` of `ints`.
pub(super) fn at_least(op: &str, what: &str, values: &[i64], min: i64) -> Result<()> {
    if values.iter().any(|&v| v < min) {
        let rule = if min == 0 { "non-negative" } else { "positive" };
        return Err(Error::argument(format!("{op}: {what} must be {rule}, got {values:?}")));
    }
    Ok(())
}

/// Splits an input of rank `spatial + 2` (batched) or `spatial + 1` (unbatched) into
/// `(n, c, spatial dims, batched)`.
pub(super) fn split_input<'a>(op: &str, x: &'a Tensor, spatial: usize) -> Result<(usize, usize, &'a [usize], bool)> {
    let s = x.shape();
    if s.len() == spatial + 2 {
        Ok((s[0], s[1], &s[2..], true))
    } else if s.len() == spatial + 1 {
        Ok((1, s[0], &s[1..], false))
    } else {
        Err(Error::shape(format!(
            "{op}: expected a {}-D (unbatched) or {}-D (batched) input, got shape {}",
            spatial + 1,
            spatial + 2,
            fmt_shape(s)
        )))
    }
}

// ---- convolution ----------------------------------------------------------------------

/// Convolution hyper-parameters per spatial dim (H then W; a 1-D convolution uses one).
#[derive(Clone, Debug)]
pub struct ConvParams {
    pub stride: Vec<i64>,
    /// Padding before and after each spatial dim (PyTorch pads symmetrically, except for
    /// `padding='same'` with an even dilated kernel, where the extra one goes after).
    pub pad_begin: Vec<i64>,
    pub pad_end: Vec<i64>,
    pub dilation: Vec<i64>,
    pub groups: i64,
}

impl ConvParams {
    /// From [`CONV_ARGS`]: each list has one value per spatial dim.
    fn from_args(a: &Args, spatial: usize) -> Result<ConvParams> {
        let list = |i: usize, what: &str| {
            let v = a.ints(i)?;
            if v.len() != spatial {
                return Err(Error::argument(format!("{}: {what} takes {spatial} values, got {}", a.op, v.len())));
            }
            Ok(v.to_vec())
        };
        Ok(ConvParams {
            stride: list(3, "stride")?,
            pad_begin: list(4, "padding")?,
            pad_end: list(5, "padding")?,
            dilation: list(6, "dilation")?,
            groups: a.int(7)?,
        })
    }
}

/// Validates a convolution and returns its geometry (1-D mapped to `H = kH = 1`) and
/// the output shape.
fn conv_geometry(op: &str, spatial: usize, x: &Tensor, w: &Tensor, b: Option<&Tensor>, p: &ConvParams) -> Result<(ConvGeom, Vec<usize>)> {
    for t in [Some(x), Some(w), b].into_iter().flatten() {
        t.expect_f32(op)?;
    }
    let (n, c, sizes, batched) = split_input(op, x, spatial)?;
    if w.ndim() != spatial + 2 {
        return Err(Error::shape(format!(
            "{op}: expected a {}-D weight [out, in/groups, {}], got shape {}",
            spatial + 2,
            if spatial == 1 { "k" } else { "kH, kW" },
            fmt_shape(w.shape())
        )));
    }
    at_least(op, "stride", &p.stride, 1)?;
    at_least(op, "dilation", &p.dilation, 1)?;
    at_least(op, "padding", &p.pad_begin, 0)?;
    at_least(op, "padding", &p.pad_end, 0)?;
    at_least(op, "groups", &[p.groups], 1)?;
    let (o, cg, kernel) = (w.shape()[0], w.shape()[1], &w.shape()[2..]);
    let groups = p.groups as usize;
    if o % groups != 0 {
        return Err(Error::shape(format!(
            "{op}: weight of shape {} has {o} output channels, which groups={groups} does not divide",
            fmt_shape(w.shape())
        )));
    }
    if cg.checked_mul(groups) != Some(c) {
        return Err(Error::shape(format!(
            "{op}: given groups={groups}, weight of shape {} expects input with {} channels, but got input of shape {} ({c} channels)",
            fmt_shape(w.shape()),
            cg as u128 * groups as u128,
            fmt_shape(x.shape())
        )));
    }
    if let Some(b) = b {
        if b.shape() != [o] {
            return Err(Error::shape(format!("{op}: bias of shape {} does not match {o} output channels (expected [{o}])", fmt_shape(b.shape()))));
        }
    }
    if kernel.contains(&0) {
        return Err(Error::shape(format!("{op}: weight of shape {} has an empty kernel", fmt_shape(w.shape()))));
    }
    let mut out_sizes = Vec::with_capacity(spatial);
    for d in 0..spatial {
        let padded = sizes[d] as i64 + p.pad_begin[d] + p.pad_end[d];
        if padded > MAX_ELEMENTS as i64 {
            return Err(Error::argument(format!(
                "{op}: padding {:?} + {:?} of input shape {} exceeds the maximum size {MAX_ELEMENTS}",
                p.pad_begin,
                p.pad_end,
                fmt_shape(x.shape())
            )));
        }
        let effective = p.dilation[d] * (kernel[d] as i64 - 1) + 1;
        if padded < effective {
            return Err(Error::shape(format!(
                "{op}: input of shape {} padded to {:?} per channel is smaller than the kernel {:?} (dilated: {:?})",
                fmt_shape(x.shape()),
                (0..spatial).map(|i| sizes[i] as i64 + p.pad_begin[i] + p.pad_end[i]).collect::<Vec<_>>(),
                kernel,
                (0..spatial).map(|i| p.dilation[i] * (kernel[i] as i64 - 1) + 1).collect::<Vec<_>>()
            )));
        }
        out_sizes.push(((padded - effective) / p.stride[d] + 1) as usize);
    }
    let mut out_shape = if batched { vec![n, o] } else { vec![o] };
    out_shape.extend(&out_sizes);
    checked_numel(op, &out_shape)?;
    // Every padded size is at most MAX_ELEMENTS, so the casts below are exact and the
    // kernels' index arithmetic stays below it.
    // A stride or dilation beyond it only occurs where it cannot matter (a single output
    // position, a 1-tap kernel): clamped, so the window's arithmetic stays within usize on wasm32.
    let usz = |v: &[i64]| -> Vec<usize> { v.iter().map(|&v| v.min(MAX_ELEMENTS as i64) as usize).collect() };
    let (stride, pad, dilation) = (usz(&p.stride), usz(&p.pad_begin), usz(&p.dilation));
    // A 1-D convolution is a 2-D one over a single row.
    let pair = |v: &[usize], row: usize| if spatial == 1 { [row, v[0]] } else { [v[0], v[1]] };
    let win = Window::new(pair(sizes, 1), pair(&out_sizes, 1), pair(kernel, 1), pair(&stride, 1), pair(&pad, 0), pair(&dilation, 1));
    let geom = ConvGeom { n, c, o, groups, win };
    // The column matrix of one image must be allocatable.
    checked_numel(op, &[c, geom.win.kh, geom.win.kw, geom.win.oh, geom.win.ow])?;
    Ok((geom, out_shape))
}

/// The three bilinear maps of one convolution geometry. With the image `x [N, C, H, W]`,
/// the window side `y [N, O, OH, OW]` and the weight `w [O, C/groups, kH, kW]`, all three
/// are partial derivatives of the one trilinear form `⟨conv(x, w), y⟩`, so each one's VJP is
/// made of the other two, and convolutions differentiate to any order:
///
/// | map | computes | VJP wrt its first operand | wrt its second |
/// |---|---|---|---|
/// | `Conv(x, w)` | `y` (conv2d) | `Transpose(g, w)` | `Weight(x, g)` |
/// | `Transpose(y, w)` | `x` (conv2d's input gradient, conv_transpose2d) | `Conv(g, w)` | `Weight(g, y)` |
/// | `Weight(x, y)` | `w` (conv2d's weight gradient) | `Transpose(y, g)` | `Conv(x, g)` |
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ConvMap {
    Conv,
    Transpose,
    Weight,
}

/// Runs map `m` of geometry `g` on `a` and `b` (any layout; unbatched operands hold the
/// same data as batches of one), plus `bias` per output channel, giving a tensor of
/// `out_shape`; records nothing.
fn compute(op: &'static str, m: ConvMap, a: &Tensor, b: &Tensor, bias: Option<&Tensor>, g: &ConvGeom, out_shape: &[usize]) -> Result<Tensor> {
    let (ac, bc) = (a.contiguous(op)?, b.contiguous(op)?);
    let bias = bias.map(|t| t.f32_values(op)).transpose()?;
    let len = match m {
        ConvMap::Conv => g.n * g.o * g.ohw(),
        ConvMap::Transpose => g.n * g.c * g.hw(),
        ConvMap::Weight => g.o * g.kg(),
    };
    let mut out = try_alloc_overwritten(op, len)?;
    {
        let (ab, bb) = (ac.buffer(), bc.buffer());
        let (ad, bd) = (f32s(&ab, &ac), f32s(&bb, &bc));
        match m {
            ConvMap::Conv => kp::forward(op, ad, bd, bias.as_deref(), g, &mut out)?,
            ConvMap::Transpose => kp::backward_input(op, ad, bd, bias.as_deref(), g, &mut out)?,
            ConvMap::Weight => kp::backward_weight(op, bd, ad, g, &mut out)?,
        }
    }
    Tensor::from_f32(out, out_shape)
}

/// Map `m` of geometry `g` (see [`compute`]), recorded as differentiable.
fn conv_map(op: &'static str, m: ConvMap, a: &Tensor, b: &Tensor, g: &ConvGeom, out_shape: &[usize]) -> Result<Tensor> {
    let y = compute(op, m, a, b, None, g, out_shape)?;
    let node = ConvolutionBackward { op, map: m, geom: *g, has_bias: false, spatial: 2 };
    Ok(record(y, &[a, b], || vec![a.clone(), b.clone()], node))
}

/// The backward of a convolution map (and of the `conv2d`, `conv1d`, `convTranspose2d`
/// ops, which fuse a bias): the other two maps (see [`ConvMap`]), and for the bias the sum
/// of the gradient over all dims but the channel. Written with differentiable ops, so it
/// records its own graph under `createGraph`.
struct ConvolutionBackward {
    op: &'static str,
    map: ConvMap,
    geom: ConvGeom,
    has_bias: bool,
    /// Spatial dims of the op's tensors (1 for conv1d, else 2), to find the bias's channel dim.
    spatial: usize,
}

impl Backward for ConvolutionBackward {
    fn name(&self) -> &'static str {
        match self.map {
            ConvMap::Weight => "ConvolutionBackwardBackward0",
            _ => "ConvolutionBackward0",
        }
    }
    fn vjp(&self, ctx: &VjpCtx, grad: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let (op, g) = (self.op, &self.geom);
        let (a, b) = (ctx.saved(0)?, ctx.saved(1)?);
        let (sa, sb) = (ctx.input_shapes[0], ctx.input_shapes[1]);
        let (ma, mb) = match self.map {
            ConvMap::Conv => ((ConvMap::Transpose, grad, b), (ConvMap::Weight, a, grad)),
            ConvMap::Transpose => ((ConvMap::Conv, grad, b), (ConvMap::Weight, grad, a)),
            ConvMap::Weight => ((ConvMap::Transpose, b, grad), (ConvMap::Conv, a, grad)),
        };
        let da = if ctx.needs(0) { Some(conv_map(op, ma.0, ma.1, ma.2, g, sa)?) } else { None };
        let db = if ctx.needs(1) { Some(conv_map(op, mb.0, mb.1, mb.2, g, sb)?) } else { None };
        let mut grads = vec![da, db];
        if self.has_bias {
            // The channel dim is 1 (batched) or 0 (unbatched): sum over every other one.
            let channel = grad.ndim() as i64 - self.spatial as i64 - 1;
            let dims: Vec<i64> = (0..grad.ndim() as i64).filter(|&d| d != channel).collect();
            grads.push(if ctx.needs(2) { Some(sum(grad, Some(&dims), false)?) } else { None });
        }
        Ok(grads)
    }
}

/// A convolution op with a fused bias: `Conv(x, w) + b` (conv2d, conv1d) or
/// `Transpose(x, w) + b` (conv_transpose2d), recorded as one node.
fn biased_map(op: &'static str, map: ConvMap, spatial: usize, x: &Tensor, w: &Tensor, b: Option<&Tensor>, geom: ConvGeom, out_shape: &[usize]) -> Result<Tensor> {
    let y = compute(op, map, x, w, b, &geom, out_shape)?;
    let inputs: Vec<&Tensor> = [Some(x), Some(w), b].into_iter().flatten().collect();
    let node = ConvolutionBackward { op, map, geom, has_bias: b.is_some(), spatial };
    Ok(record(y, &inputs, || vec![x.clone(), w.clone()], node))
}

fn convolution(op: &'static str, spatial: usize, x: &Tensor, w: &Tensor, b: Option<&Tensor>, p: &ConvParams) -> Result<Tensor> {
    let (geom, out_shape) = conv_geometry(op, spatial, x, w, b, p)?;
    biased_map(op, ConvMap::Conv, spatial, x, w, b, geom, &out_shape)
}

/// PyTorch's `conv2d`: input `[N, C, H, W]` or `[C, H, W]`, weight `[O, C/groups, kH, kW]`,
/// bias `[O]`.
pub fn conv2d(x: &Tensor, w: &Tensor, b: Option<&Tensor>, p: &ConvParams) -> Result<Tensor> {
    convolution("conv2d", 2, x, w, b, p)
}

/// PyTorch's `conv1d`: input `[N, C, L]` or `[C, L]`, weight `[O, C/groups, k]`, bias `[O]`.
pub fn conv1d(x: &Tensor, w: &Tensor, b: Option<&Tensor>, p: &ConvParams) -> Result<Tensor> {
    convolution("conv1d", 1, x, w, b, p)
}

/// The convolutions (see `ops/schema.rs`). Padding is given per side (PyTorch pads
/// symmetrically except for `padding='same'` with an even dilated kernel).
const CONV_ARGS: &[Arg] = &[
    tensor("input"), tensor("weight"), optional_tensor("bias"),
    ints("stride"), ints("paddingBegin"), ints("paddingEnd"), ints("dilation"), int("groups"),
];

pub static OPS: &[OpDef] = &[
    OpDef { name: "conv2d", grad_fn: "ConvolutionBackward0", args: CONV_ARGS,
        run: Run::Tensor(|a| conv2d(&a.numeric(0)?, &a.numeric(1)?, a.optional_tensor(2)?, &ConvParams::from_args(a, 2)?)) },
    OpDef { name: "conv1d", grad_fn: "ConvolutionBackward0", args: CONV_ARGS,
        run: Run::Tensor(|a| conv1d(&a.numeric(0)?, &a.numeric(1)?, a.optional_tensor(2)?, &ConvParams::from_args(a, 1)?)) },
    OpDef { name: "convTranspose2d", grad_fn: "ConvolutionBackward0",
        args: &[
            tensor("input"), tensor("weight"), optional_tensor("bias"),
            ints("stride"), ints("padding"), ints("outputPadding"), ints("dilation"), int("groups"),
        ],
        run: Run::Tensor(|a| conv_transpose2d(&a.numeric(0)?, &a.numeric(1)?, a.optional_tensor(2)?, &ConvTransposeParams::from_args(a)?)) },
];

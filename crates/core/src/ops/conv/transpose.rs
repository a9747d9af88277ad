//! Transposed convolution (PyTorch's `conv_transpose2d`): the adjoint of `conv2d` in its
//! input. With input `x [N, Cin, H, W]` and weight `w [Cin, Cout/groups, kH, kW]`, it is
//! the input gradient of a `conv2d` whose image is the output `[N, Cout, OH, OW]` and whose
//! weight is `w` (read as `[O = Cin, C/groups = Cout/groups, kH, kW]`): per image and
//! group a GEMM `W_gᵀ · X_g` into a column matrix, then `col2im` scatter-adds the columns
//! into the output. Every argument is validated here, before any kernel runs.

use super::{at_least, biased_map, split_input, ConvMap};
use crate::error::{fmt_shape, Error, Result};
use crate::kernels::conv::ConvGeom;
use crate::kernels::window::Window;
use crate::layout::{checked_numel, MAX_ELEMENTS};
use crate::ops::schema::Args;
use crate::tensor::Tensor;

/// `conv_transpose2d`'s hyper-parameters, `[h, w]` each.
#[derive(Clone, Debug)]
pub struct ConvTransposeParams {
    pub stride: [i64; 2],
    pub padding: [i64; 2],
    pub output_padding: [i64; 2],
    pub dilation: [i64; 2],
    pub groups: i64,
}

impl ConvTransposeParams {
    /// From the op's arguments (after input, weight, bias).
    pub(super) fn from_args(a: &Args) -> Result<ConvTransposeParams> {
        Ok(ConvTransposeParams {
            stride: a.int_array(3, "stride")?,
            padding: a.int_array(4, "padding")?,
            output_padding: a.int_array(5, "outputPadding")?,
            dilation: a.int_array(6, "dilation")?,
            groups: a.int(7)?,
        })
    }
}

/// Validates a transposed convolution; returns the geometry of the convolution whose input
/// gradient it is, and the output shape.
fn geometry(op: &str, x: &Tensor, w: &Tensor, b: Option<&Tensor>, p: &ConvTransposeParams) -> Result<(ConvGeom, Vec<usize>)> {
    for t in [Some(x), Some(w), b].into_iter().flatten() {
        t.expect_f32(op)?;
    }
    let (n, c, sizes, batched) = split_input(op, x, 2)?;
    if w.ndim() != 4 {
        return Err(Error::shape(format!(
            "{op}: expected a 4-D weight [in, out/groups, kH, kW], got shape {}",
            fmt_shape(w.shape())
        )));
    }
    at_least(op, "stride", &p.stride, 1)?;
    at_least(op, "dilation", &p.dilation, 1)?;
    at_least(op, "padding", &p.padding, 0)?;
    at_least(op, "outputPadding", &p.output_padding, 0)?;
    at_least(op, "groups", &[p.groups], 1)?;
    for d in 0..2 {
        if p.output_padding[d] >= p.stride[d] && p.output_padding[d] >= p.dilation[d] {
            return Err(Error::argument(format!(
                "{op}: outputPadding must be smaller than either stride or dilation, got outputPadding {:?}, stride {:?}, dilation {:?}",
                p.output_padding, p.stride, p.dilation
            )));
        }
    }
    let (cin, cout_g, kernel) = (w.shape()[0], w.shape()[1], &w.shape()[2..]);
    let groups = p.groups as usize;
    if cin != c {
        return Err(Error::shape(format!(
            "{op}: weight of shape {} expects input with {cin} channels, but got input of shape {} ({c} channels)",
            fmt_shape(w.shape()),
            fmt_shape(x.shape())
        )));
    }
    if cin % groups != 0 {
        return Err(Error::shape(format!(
            "{op}: weight of shape {} has {cin} input channels, which groups={groups} does not divide",
            fmt_shape(w.shape())
        )));
    }
    if cin == 0 || cout_g == 0 {
        return Err(Error::shape(format!("{op}: weight of shape {} has no channels", fmt_shape(w.shape()))));
    }
    if kernel.contains(&0) {
        return Err(Error::shape(format!("{op}: weight of shape {} has an empty kernel", fmt_shape(w.shape()))));
    }
    // cout_g · groups ≤ numel(w) ≤ MAX_ELEMENTS: no overflow.
    let cout = cout_g * groups;
    if let Some(b) = b {
        if b.shape() != [cout] {
            return Err(Error::shape(format!(
                "{op}: bias of shape {} does not match {cout} output channels (weight of shape {}, groups={groups}; expected [{cout}])",
                fmt_shape(b.shape()),
                fmt_shape(w.shape())
            )));
        }
    }
    if sizes.contains(&0) {
        return Err(Error::shape(format!(
            "{op}: only the batch may be empty, got input of shape {}",
            fmt_shape(x.shape())
        )));
    }
    // (H − 1)·stride − 2·padding + dilation·(k − 1) + outputPadding + 1, exactly.
    let out_size = |d: usize| -> i128 {
        (sizes[d] as i128 - 1) * p.stride[d] as i128 - 2 * p.padding[d] as i128
            + p.dilation[d] as i128 * (kernel[d] as i128 - 1)
            + p.output_padding[d] as i128
            + 1
    };
    let out = [out_size(0), out_size(1)];
    if out.iter().any(|&o| o < 1 || o > MAX_ELEMENTS as i128) {
        return Err(Error::shape(format!(
            "{op}: input of shape {} with kernel {kernel:?}, stride {:?}, padding {:?}, dilation {:?}, outputPadding {:?} gives output size {out:?}, {}",
            fmt_shape(x.shape()),
            p.stride,
            p.padding,
            p.dilation,
            p.output_padding,
            if out.iter().any(|&o| o < 1) { "which is too small".to_string() } else { format!("which exceeds the maximum size {MAX_ELEMENTS}") }
        )));
    }
    let out_sizes = [out[0] as usize, out[1] as usize];
    let mut out_shape = if batched { vec![n, cout] } else { vec![cout] };
    out_shape.extend(out_sizes);
    checked_numel(op, &out_shape)?;
    // The column matrix of one image, [Cout·kH·kW, H·W], must be allocatable.
    checked_numel(op, &[cout, kernel[0], kernel[1], sizes[0], sizes[1]])?;
    // Padding is at most half an output size here. A stride or dilation beyond
    // MAX_ELEMENTS only occurs where it cannot matter (one input row, a 1-tap kernel), and
    // clamping keeps the window's arithmetic within usize on wasm32.
    let clamp = |v: i64| v.min(MAX_ELEMENTS as i64) as usize;
    let win = Window::new(
        out_sizes,
        [sizes[0], sizes[1]],
        [kernel[0], kernel[1]],
        p.stride.map(clamp),
        p.padding.map(clamp),
        p.dilation.map(clamp),
    );
    Ok((ConvGeom { n, c: cout, o: cin, groups, win }, out_shape))
}

/// PyTorch's `conv_transpose2d`: input `[N, Cin, H, W]` or `[Cin, H, W]`, weight
/// `[Cin, Cout/groups, kH, kW]`, bias `[Cout]`; output `[N, Cout, OH, OW]` with
/// `OH = (H − 1)·strideH − 2·padH + dilationH·(kH − 1) + outputPadH + 1` (likewise OW).
pub fn conv_transpose2d(x: &Tensor, w: &Tensor, b: Option<&Tensor>, p: &ConvTransposeParams) -> Result<Tensor> {
    let op = "convTranspose2d";
    let (geom, out_shape) = geometry(op, x, w, b, p)?;
    biased_map(op, ConvMap::Transpose, 2, x, w, b, geom, &out_shape)
}

#[cfg(test)]
mod tests {
    use crate::kernels::conv::test_values;
    use super::*;

    /// Direct scatter loops in f64: input pixel (y, x) adds `x·w` at `(y·s − p + i·d, x·s − p + j·d)`.
    fn naive(x: &[f32], xs: [usize; 4], w: &[f32], ws: [usize; 4], p: &ConvTransposeParams) -> (Vec<usize>, Vec<f64>) {
        let [n, c, h, wd] = xs;
        let [_, og, kh, kw] = ws;
        let g = p.groups as usize;
        let (cg, o) = (c / g, og * g);
        let size = |d: usize, len: usize, k: usize| {
            ((len as i64 - 1) * p.stride[d] - 2 * p.padding[d] + p.dilation[d] * (k as i64 - 1) + p.output_padding[d] + 1) as usize
        };
        let (oh, ow) = (size(0, h, kh), size(1, wd, kw));
        let mut out = vec![0.0f64; n * o * oh * ow];
        for b in 0..n {
            for ci in 0..c {
                for (y, xx) in (0..h).flat_map(|y| (0..wd).map(move |xx| (y, xx))) {
                    let v = x[((b * c + ci) * h + y) * wd + xx] as f64;
                    for (co, i, j) in (0..og).flat_map(|co| (0..kh).flat_map(move |i| (0..kw).map(move |j| (co, i, j)))) {
                        let oy = (y as i64) * p.stride[0] - p.padding[0] + i as i64 * p.dilation[0];
                        let ox = (xx as i64) * p.stride[1] - p.padding[1] + j as i64 * p.dilation[1];
                        if oy < 0 || ox < 0 || oy >= oh as i64 || ox >= ow as i64 {
                            continue;
                        }
                        let oc = (ci / cg) * og + co;
                        out[((b * o + oc) * oh + oy as usize) * ow + ox as usize] += v * w[((ci * og + co) * kh + i) * kw + j] as f64;
                    }
                }
            }
        }
        (vec![n, o, oh, ow], out)
    }


    #[test]
    fn forward_matches_direct_loops() {
        let params = |s: [i64; 2], p: [i64; 2], q: [i64; 2], d: [i64; 2], groups: i64| ConvTransposeParams {
            stride: s,
            padding: p,
            output_padding: q,
            dilation: d,
            groups,
        };
        let cases = [
            ([2, 3, 4, 4], [3, 2, 3, 3], params([1, 1], [0, 0], [0, 0], [1, 1], 1)),
            ([1, 4, 3, 5], [4, 3, 4, 4], params([2, 2], [1, 1], [1, 0], [1, 1], 2)),
            // outputPadding below the dilation but not the stride.
            ([1, 2, 3, 3], [2, 2, 2, 3], params([1, 1], [0, 1], [1, 2], [2, 3], 1)),
            // Depthwise (the direct loops) and pointwise (no column matrix).
            ([2, 4, 4, 3], [4, 1, 3, 3], params([2, 1], [1, 1], [1, 0], [1, 1], 4)),
            ([2, 5, 3, 4], [5, 3, 1, 1], params([1, 1], [0, 0], [0, 0], [1, 1], 1)),
            // A stride far beyond MAX_ELEMENTS over one pixel.
            ([1, 2, 1, 1], [2, 2, 2, 2], params([1 << 40, 1 << 40], [0, 0], [1, 1], [1, 1], 1)),
        ];
        for (xs, ws, p) in cases {
            let (xv, wv) = (test_values(xs.iter().product(), 1), test_values(ws.iter().product(), 2));
            let x = Tensor::from_f32(xv.clone(), &xs).unwrap();
            let w = Tensor::from_f32(wv.clone(), &ws).unwrap();
            let y = conv_transpose2d(&x, &w, None, &p).unwrap();
            let (shape, want) = naive(&xv, xs, &wv, ws, &p);
            assert_eq!(y.shape(), shape.as_slice(), "{p:?}");
            for (a, e) in y.to_f64_vec().unwrap().iter().zip(&want) {
                assert!((a - e).abs() < 1e-4, "{p:?}: {a} vs {e}");
            }
        }
    }
}

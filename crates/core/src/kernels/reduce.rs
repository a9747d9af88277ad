//! Sum reductions along any set of axes, accumulated in f64 for accuracy.

use crate::error::Result;
use crate::layout::{checked_numel, contiguous_strides, StridedWalk};
use crate::storage::{try_alloc, Buffer};
use crate::tensor::{unreachable_dtype, Tensor};

/// Sums `x` over the axes flagged in `reduced`; the result has those dims set to 1.
pub fn sum_keepdim(op: &str, x: &Tensor, reduced: &[bool]) -> Result<Tensor> {
    x.expect_f32(op)?;
    let shape: Vec<usize> = x.shape().iter().zip(reduced).map(|(&d, &r)| if r { 1 } else { d }).collect();
    let n = checked_numel(op, &shape)?;
    let mut acc = try_alloc(op, n, 0.0f64)?;
    // Walk the input; the output index ignores reduced dims (stride 0).
    let mut out_strides = contiguous_strides(&shape);
    for (s, &r) in out_strides.iter_mut().zip(reduced) {
        if r {
            *s = 0;
        }
    }
    {
        let buffer = x.buffer();
        let Buffer::F32(data) = &*buffer else { unreachable_dtype() };
        let l = x.layout();
        let walk = StridedWalk::new(&l.shape, [&l.strides, &out_strides]);
        walk.for_each_row([l.offset, 0], |[pi, po], len, [si, so]| {
            if so == 0 {
                acc[po] += row_sum(data, pi, len, si);
            } else {
                for i in 0..len {
                    acc[po + i * so] += data[pi + i * si] as f64;
                }
            }
        });
    }
    let out: Vec<f32> = acc.into_iter().map(|v| v as f32).collect();
    Tensor::from_f32(out, &shape)
}

fn row_sum(data: &[f32], start: usize, len: usize, stride: usize) -> f64 {
    if stride == 1 {
        // Eight independent f32 lanes vectorise; folding them per 1024-chunk into f64 keeps
        // the rounding error of long rows small.
        let mut total = 0.0f64;
        for chunk in data[start..start + len].chunks(1024) {
            let mut lanes = [0.0f32; 8];
            let mut it = chunk.chunks_exact(8);
            for c in &mut it {
                for k in 0..8 {
                    lanes[k] += c[k];
                }
            }
            let tail: f32 = it.remainder().iter().sum();
            total += lanes.iter().map(|&v| v as f64).sum::<f64>() + tail as f64;
        }
        total
    } else {
        (0..len).map(|i| data[start + i * stride] as f64).sum()
    }
}

//! Softmax and log-softmax over the middle axis of a contiguous `[outer, n, inner]` block,
//! stabilised by subtracting each row's maximum. Large inputs over the last axis run their
//! rows on the thread pool (each row computed alone, so the bits do not change).

use crate::kernels::extreme::row_value;
use crate::kernels::math::exp_slice;
use crate::parallel;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SoftmaxKind {
    Softmax,
    Log,
}

/// `scratch` holds at least `2 * inner` values when `inner > 1` (the caller allocates it,
/// fallibly).
pub fn softmax_rows(src: &[f32], out: &mut [f32], outer: usize, n: usize, inner: usize, kind: SoftmaxKind, scratch: &mut [f32]) {
    if n == 0 || inner == 0 {
        return;
    }
    if inner == 1 {
        let rows = |start: usize, out: &mut [f32]| {
            for (x, y) in src[start..].chunks_exact(n).zip(out.chunks_exact_mut(n)) {
                row(x, y, kind);
            }
        };
        let len = outer * n;
        if parallel::worth_splitting(len) {
            parallel::for_chunks_mut(&mut out[..len], parallel::chunk_len(len, n), &rows);
        } else {
            rows(0, out);
        }
        return;
    }
    // Rows run across `inner` columns: keep per-column running values so every pass
    // streams through memory in order.
    let (max, total) = scratch[..2 * inner].split_at_mut(inner);
    for (x, y) in src.chunks_exact(n * inner).zip(out.chunks_exact_mut(n * inner)).take(outer) {
        max.fill(f32::NEG_INFINITY);
        total.fill(0.0);
        for xr in x.chunks_exact(inner) {
            for (m, &v) in max.iter_mut().zip(xr) {
                *m = m.max(v);
            }
        }
        let mut shifted = [0.0f32; BLOCK];
        for (xr, yr) in x.chunks_exact(inner).zip(y.chunks_exact_mut(inner)) {
            for (((xb, yb), mb), tb) in xr.chunks(BLOCK).zip(yr.chunks_mut(BLOCK)).zip(max.chunks(BLOCK)).zip(total.chunks_mut(BLOCK)) {
                let t = &mut shifted[..xb.len()];
                t.iter_mut().zip(xb).zip(mb).for_each(|((t, &v), &m)| *t = v - m);
                exp_slice(t, yb);
                tb.iter_mut().zip(yb.iter()).for_each(|(t, &e)| *t += e);
                if kind == SoftmaxKind::Log {
                    yb.copy_from_slice(t);
                }
            }
        }
        for yr in y.chunks_exact_mut(inner) {
            for (o, &t) in yr.iter_mut().zip(total.iter()) {
                *o = if kind == SoftmaxKind::Softmax { *o / t } else { *o - t.ln() };
            }
        }
    }
}

/// Elements of a row handled at a time: `x - max` goes to a stack buffer, its exp to the
/// output, both through the vectorised kernels.
const BLOCK: usize = 256;

fn row(x: &[f32], y: &mut [f32], kind: SoftmaxKind) {
    // NaN anywhere makes the maximum NaN, hence the whole row NaN, as in PyTorch.
    let m = row_value::<true>(x);
    let mut shifted = [0.0f32; BLOCK];
    let mut total = 0.0f32;
    for (xb, yb) in x.chunks(BLOCK).zip(y.chunks_mut(BLOCK)) {
        let t = &mut shifted[..xb.len()];
        t.iter_mut().zip(xb).for_each(|(t, &v)| *t = v - m);
        exp_slice(t, yb);
        total += sum(yb);
        if kind == SoftmaxKind::Log {
            yb.copy_from_slice(t);
        }
    }
    match kind {
        SoftmaxKind::Softmax => {
            let inv = 1.0 / total;
            y.iter_mut().for_each(|o| *o *= inv);
        }
        SoftmaxKind::Log => {
            let log_total = total.ln();
            y.iter_mut().for_each(|o| *o -= log_total);
        }
    }
}

/// The sum of `v` in eight interleaved partial sums (independent adds the compiler turns
/// into two vector accumulators), combined in a fixed order.
fn sum(v: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let mut chunks = v.chunks_exact(8);
    for c in &mut chunks {
        acc.iter_mut().zip(c).for_each(|(a, &x)| *a += x);
    }
    let lanes = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    chunks.remainder().iter().fold(lanes, |a, &x| a + x)
}

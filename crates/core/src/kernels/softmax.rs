//! Softmax and log-softmax over the middle axis of a contiguous `[outer, n, inner]` block,
//! stabilised by subtracting each row's maximum. Large inputs over the last axis run their
//! rows on the thread pool (each row computed alone, so the bits do not change).

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
        for (xr, yr) in x.chunks_exact(inner).zip(y.chunks_exact_mut(inner)) {
            for (((o, &v), &m), t) in yr.iter_mut().zip(xr).zip(max.iter()).zip(total.iter_mut()) {
                let e = (v - m).exp();
                *t += e;
                *o = if kind == SoftmaxKind::Softmax { e } else { v - m };
            }
        }
        for yr in y.chunks_exact_mut(inner) {
            for (o, &t) in yr.iter_mut().zip(total.iter()) {
                *o = if kind == SoftmaxKind::Softmax { *o / t } else { *o - t.ln() };
            }
        }
    }
}

fn row(x: &[f32], y: &mut [f32], kind: SoftmaxKind) {
    let m = x.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
    let mut total = 0.0f32;
    for (o, &v) in y.iter_mut().zip(x) {
        let e = (v - m).exp();
        total += e;
        *o = if kind == SoftmaxKind::Softmax { e } else { v - m };
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

//! Sum, prod, var and logsumexp reductions along any set of axes, accumulated in f64 for
//! accuracy (max/min and their indices are in `kernels::extreme`).
//!
//! On the thread pool ([`crate::parallel`]): a large sum, var or logsumexp (and amax/amin)
//! that keeps some dims is cut along its outermost kept dim ([`for_kept_parts`]), so each
//! task owns a block of output elements and sums each of them over the same inputs in the
//! same order as one pass would. A large contiguous full sum is cut into fixed chunks of
//! the input ([`full_chunks`], from the length alone) whose f64 partials are added in
//! chunk order, on one thread or many alike, so the bits never depend on the thread count.
//! Full var/logsumexp/prod, and prod along dims, stay on the calling thread.

use crate::error::Result;
use crate::layout::{checked_numel, contiguous_strides, Layout, StridedWalk, INLINE_DIMS};
use crate::kernels::extreme::row_value;
use crate::kernels::math::exp_slice;
use crate::parallel;
use crate::storage::{try_alloc, try_map, Buffer};
use crate::tensor::{unreachable_dtype, Tensor};

/// The keepdim output shape of a reduction over `layout`, and output strides for walking
/// the input: reduced dims get stride 0, so every input element lands on its output slot.
pub(crate) fn kept_geometry(layout: &Layout, reduced: &[bool]) -> (Vec<usize>, Vec<usize>) {
    let shape: Vec<usize> = layout.shape.iter().zip(reduced).map(|(&d, &r)| if r { 1 } else { d }).collect();
    let mut out_strides = contiguous_strides(&shape);
    for (s, &r) in out_strides.iter_mut().zip(reduced) {
        if r {
            *s = 0;
        }
    }
    (shape, out_strides)
}

/// Runs `body(part, first slot, acc part)` over parts of a reduction of `layout` into the keepdim
/// output `acc` (see [`kept_geometry`]): the parts narrow the outermost kept dim longer
/// than 1, whose indices own consecutive blocks of `acc`, and run on the thread pool. The
/// walk over a part visits each output element's inputs in the same order as over the
/// whole (the narrowed dim never merges with the reduced dims before it: their output
/// strides are 0), so the bits are those of `body(layout, acc)`, which small reductions,
/// full ones, and ranks whose dims would need the heap in a task run instead.
pub(crate) fn for_kept_parts<A: Send>(layout: &Layout, reduced: &[bool], acc: &mut [A], body: &(dyn Fn(&Layout, usize, &mut [A]) + Sync)) {
    match kept_split(layout, reduced, acc.len()) {
        None => body(layout, 0, acc),
        Some((d, chunk, unit_out)) => parallel::for_chunks_mut(acc, chunk, &|start, part| {
            body(&narrowed(layout, d, start / unit_out, part.len() / unit_out), start, part);
        }),
    }
}

/// Every row of the walk of a reduction of `layout` into the keepdim output `acc` (see
/// [`kept_geometry`] for `out_strides`), split into parts like [`for_kept_parts`]: calls
/// `row(part, first, [input offset, output offset in part], len, [input stride, output
/// stride])`, `part` being the block of `acc` from index `first` that the task owns. The
/// skeleton the reductions share; each passes the fold of one row.
#[inline(always)]
pub(crate) fn for_kept_rows<A: Send>(
    layout: &Layout,
    reduced: &[bool],
    out_strides: &[usize],
    acc: &mut [A],
    row: impl Fn(&mut [A], usize, [usize; 2], usize, [usize; 2]) + Sync,
) {
    for_kept_parts(layout, reduced, acc, &|l, first, part| {
        walk_rows(l, out_strides, &mut |rows| rows.each(|at| row(part, first, at, rows.len, rows.strides)));
    });
}

/// How [`for_kept_parts`] splits: `(dim, output elements per part, output elements per
/// index of dim)`, or `None` for one part. Not generic, so compiled once.
#[inline(never)]
fn kept_split(layout: &Layout, reduced: &[bool], out_len: usize) -> Option<(usize, usize, usize)> {
    let n = layout.numel();
    let d = (0..layout.shape.len()).find(|&d| !reduced[d] && layout.shape[d] > 1)?;
    if layout.shape.len() > INLINE_DIMS || !parallel::worth_splitting(n) {
        return None;
    }
    let (unit_in, unit_out) = (n / layout.shape[d], out_len / layout.shape[d]);
    let mut per_task = parallel::chunk_len(n, unit_in) / unit_in;
    if layout.shape[..d].iter().any(|&s| s > 1) {
        // Reduced dims outside the split one: a part reads runs of `per_task` indices of
        // `d` (times the dims inside it) from every outer index. Short runs far apart
        // defeat the prefetchers (a column sum of [1024, 1024] in 64-column parts ran 3×
        // slower on 2 threads than on 1), so parts are made wide enough for long runs.
        let inside = unit_in / layout.shape[..d].iter().product::<usize>();
        per_task = per_task.max(parallel::MIN_RUN.div_ceil(inside.max(1)));
    }
    (per_task < layout.shape[d]).then_some((d, per_task * unit_out, unit_out))
}

/// `layout` with dim `d` narrowed to `count` indices from `first`.
#[inline(never)]
fn narrowed(layout: &Layout, d: usize, first: usize, count: usize) -> Layout {
    let mut l = layout.clone();
    l.shape[d] = count;
    l.offset += first * layout.strides[d];
    l
}

/// A call of [`walk_rows`]: `count` rows of `len` elements, row `r` at `offsets + r · step`
/// (input, output), its elements `strides` apart.
pub(crate) struct Rows {
    pub offsets: [usize; 2],
    pub len: usize,
    pub strides: [usize; 2],
    pub count: usize,
    pub step: [usize; 2],
}

impl Rows {
    /// `row([input offset, output offset])` for each row, in order.
    #[inline(always)]
    pub fn each(&self, mut row: impl FnMut([usize; 2])) {
        for r in 0..self.count {
            row([self.offsets[0] + r * self.step[0], self.offsets[1] + r * self.step[1]]);
        }
    }
}

/// The walk of a reduction over `l` into a keepdim output with `out_strides`, in row-major
/// order, as runs of innermost rows along the next dim ([`Rows`]). Behind `&mut dyn`, so
/// that the walk is compiled once instead of into every reduction's loop (a copy each cost
/// the threads build kilobytes of its size budget); a call per run, not per row, keeps
/// reductions of short rows ([2^18, 4] along the last dim) as fast as an inlined walk.
#[inline(never)]
pub(crate) fn walk_rows(l: &Layout, out_strides: &[usize], runs: &mut dyn FnMut(&Rows)) {
    let w = StridedWalk::new(&l.shape, [&l.strides, out_strides]);
    if w.shape.contains(&0) {
        return;
    }
    let r = w.shape.len();
    let (len, strides) = (w.shape[r - 1], [w.strides[0][r - 1], w.strides[1][r - 1]]);
    if r == 1 {
        return runs(&Rows { offsets: [l.offset, 0], len, strides, count: 1, step: [0, 0] });
    }
    let outer = StridedWalk::new(&w.shape[..r - 1], [&w.strides[0][..r - 1], &w.strides[1][..r - 1]]);
    outer.for_each_row([l.offset, 0], |offsets, count, step| runs(&Rows { offsets, len, strides, count, step }));
}

/// Input elements per chunk of a full reduction over `n` contiguous elements (a multiple
/// of `unit`), when it is split at all: only above [`parallel::MIN_PARALLEL_ELEMENTS`],
/// never depending on the thread count.
pub(crate) fn full_chunks(n: usize, unit: usize) -> Option<usize> {
    (n >= parallel::MIN_PARALLEL_ELEMENTS).then(|| parallel::chunk_len(n, unit))
}

/// Whether every dim of `layout` is reduced and its elements are one contiguous run.
pub(crate) fn is_full_contiguous(layout: &Layout, reduced: &[bool]) -> bool {
    reduced.iter().all(|&r| r) && layout.is_contiguous() && !layout.has_overlap()
}

/// `(rows, n)` when `layout` is one contiguous run whose trailing dims are the reduced
/// ones (at least one element each): every output is a contiguous row of `n` inputs.
fn trailing_rows(layout: &Layout, reduced: &[bool]) -> Option<(usize, usize)> {
    let first = reduced.iter().position(|&r| r)?;
    if !reduced[first..].iter().all(|&r| r) || !layout.is_contiguous() || layout.has_overlap() {
        return None;
    }
    let n: usize = layout.shape[first..].iter().product();
    (n > 0).then(|| (layout.shape[..first].iter().product(), n))
}

/// `out[r] = f(row r)` for the `rows` contiguous rows of `n` elements from `start`, split
/// among threads by whole rows when large (each row computed by one thread).
fn per_row(op: &str, data: &[f32], start: usize, (rows, n): (usize, usize), f: &(dyn Fn(&[f32]) -> f32 + Sync)) -> Result<Vec<f32>> {
    let mut out = try_alloc(op, rows, 0.0f32)?;
    let chunk = if parallel::worth_splitting(rows * n) { (parallel::chunk_len(rows * n, n) / n).max(1) } else { rows.max(1) };
    parallel::for_chunks_mut(&mut out, chunk, &|first, part| {
        for (k, o) in part.iter_mut().enumerate() {
            let at = start + (first + k) * n;
            *o = f(&data[at..at + n]);
        }
    });
    Ok(out)
}

/// Sums `x` over the axes flagged in `reduced`; the result has those dims set to 1.
pub fn sum_keepdim(op: &str, x: &Tensor, reduced: &[bool]) -> Result<Tensor> {
    x.expect_f32(op)?;
    let (shape, out_strides) = kept_geometry(x.layout(), reduced);
    let mut acc = try_alloc(op, checked_numel(op, &shape)?, 0.0f64)?;
    {
        let buffer = x.buffer();
        let Buffer::F32(data) = &*buffer else { unreachable_dtype() };
        let l = x.layout();
        let n = l.numel();
        if let (true, Some(chunk)) = (is_full_contiguous(l, reduced), full_chunks(n, 1024)) {
            // Chunks of whole 1024-element blocks of `row_sum`: partials in f64, added in order.
            let mut partials = try_alloc(op, n.div_ceil(chunk), 0.0f64)?;
            parallel::for_chunks_mut(&mut partials, 1, &|i, p| {
                let start = i * chunk;
                p[0] = row_sum(data, l.offset + start, chunk.min(n - start), 1);
            });
            acc[0] = partials.iter().fold(0.0, |t, &p| t + p);
        } else {
            for_kept_rows(l, reduced, &out_strides, &mut acc, |acc, _, [pi, po], len, [si, so]| {
                if so == 0 {
                    acc[po] += row_sum(data, pi, len, si);
                } else if si == 1 && so == 1 {
                    // A row of the input onto a row of the output (a column sum).
                    for (a, &v) in acc[po..po + len].iter_mut().zip(&data[pi..pi + len]) {
                        *a += v as f64;
                    }
                } else {
                    for i in 0..len {
                        acc[po + i * so] += data[pi + i * si] as f64;
                    }
                }
            });
        }
    }
    let out = try_map(op, &acc, |v| v as f32)?;
    drop(acc);
    Tensor::from_f32(out, &shape)
}

/// Folds the elements of `data` seen through `layout` into one accumulator per output
/// element, `f(acc, v)` starting from `init`; the result has the `reduced` dims set to 1.
pub fn fold_keepdim<T: Copy, A: Copy>(
    op: &str,
    data: &[T],
    layout: &Layout,
    reduced: &[bool],
    init: A,
    mut f: impl FnMut(A, T) -> A,
) -> Result<(Vec<A>, Vec<usize>)> {
    let (shape, out_strides) = kept_geometry(layout, reduced);
    let mut acc = try_alloc(op, checked_numel(op, &shape)?, init)?;
    let walk = StridedWalk::new(&layout.shape, [&layout.strides, &out_strides]);
    walk.for_each_row([layout.offset, 0], |[pi, po], len, [si, so]| {
        if so == 0 {
            // A row folded into one slot (the reduced axes innermost): the accumulator in a
            // register, not a store and reload of the slot per element (~2 ns each).
            let mut a = acc[po];
            if si == 1 {
                for &v in &data[pi..pi + len] {
                    a = f(a, v);
                }
            } else {
                for i in 0..len {
                    a = f(a, data[pi + i * si]);
                }
            }
            acc[po] = a;
            return;
        }
        for i in 0..len {
            let slot = &mut acc[po + i * so];
            *slot = f(*slot, data[pi + i * si]);
        }
    });
    Ok((acc, shape))
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

/// Products over the axes flagged in `reduced` (f64 accumulation; an empty product is 1),
/// with reduced dims kept as 1, and whether any element was zero: prod's backward can
/// only use `out / x` when none was.
pub fn prod_keepdim(op: &str, x: &Tensor, reduced: &[bool]) -> Result<(Tensor, bool)> {
    x.expect_f32(op)?;
    let buffer = x.buffer();
    let Buffer::F32(data) = &*buffer else { unreachable_dtype() };
    let mut has_zero = false;
    let (acc, shape) = fold_keepdim(op, data, x.layout(), reduced, 1.0f64, |p, v| {
        has_zero |= v == 0.0;
        p * v as f64
    })?;
    let out = try_map(op, &acc, |v| v as f32)?;
    drop(acc);
    Ok((Tensor::from_f32(out, &shape)?, has_zero))
}

/// For each element of a contiguous `[outer, n, inner]` block, the product of the other
/// elements of its length-`n` group, from prefix and suffix products (so zeros need no
/// division: one zero leaves the others' product at its position, two zero everything).
pub fn prod_of_others(op: &str, src: &[f32], outer: usize, n: usize, inner: usize) -> Result<Vec<f32>> {
    let mut out = try_alloc(op, src.len(), 0.0f32)?;
    let mut prefix = try_alloc(op, n, 1.0f64)?;
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| (o * n + k) * inner + i;
            let mut p = 1.0f64;
            for (k, slot) in prefix.iter_mut().enumerate() {
                *slot = p;
                p *= src[at(k)] as f64;
            }
            let mut s = 1.0f64;
            for k in (0..n).rev() {
                out[at(k)] = (prefix[k] * s) as f32;
                s *= src[at(k)] as f64;
            }
        }
    }
    Ok(out)
}

/// Like [`fold_keepdim`], but `f(acc, aux[slot], v)` also gets a per-output value `aux`
/// (one per output element), so a second pass can read what the first computed (the mean
/// for the variance, the shift for logsumexp); first passes pass units (`vec![(); n]`,
/// which takes no memory). On the thread pool like [`sum_keepdim`] ([`for_kept_parts`]).
fn fold_keepdim_aux<A: Copy + Send, B: Copy + Sync>(
    op: &str,
    data: &[f32],
    layout: &Layout,
    reduced: &[bool],
    init: A,
    aux: &[B],
    f: impl Fn(A, B, f32) -> A + Sync,
) -> Result<(Vec<A>, Vec<usize>)> {
    let (shape, out_strides) = kept_geometry(layout, reduced);
    let mut acc = try_alloc(op, checked_numel(op, &shape)?, init)?;
    for_kept_rows(layout, reduced, &out_strides, &mut acc, |acc, first, [pi, po], len, [si, so]| {
        for i in 0..len {
            let slot = po + i * so;
            acc[slot] = f(acc[slot], aux[first + slot], data[pi + i * si]);
        }
    });
    Ok((acc, shape))
}

/// Output-sized units for [`fold_keepdim_aux`]'s first passes (a zero-sized element type:
/// the vector never allocates).
fn no_aux(layout: &Layout, reduced: &[bool]) -> Vec<()> {
    let kept: usize = layout.shape.iter().zip(reduced).map(|(&d, &r)| if r { 1 } else { d }).product();
    vec![(); kept]
}

/// The variance over the axes flagged in `reduced` (kept as 1): two passes in f64 (the mean,
/// then the squared deviations from it), divided by `max(0, n − correction)` as PyTorch
/// does, so one element (unbiased) or an empty reduction is 0/0 = NaN; with `sqrt`, the
/// standard deviation (the root taken before rounding to f32).
pub fn var_keepdim(op: &str, x: &Tensor, reduced: &[bool], correction: f64, sqrt: bool) -> Result<Tensor> {
    x.expect_f32(op)?;
    let buffer = x.buffer();
    let Buffer::F32(data) = &*buffer else { unreachable_dtype() };
    let l = x.layout();
    let n: usize = l.shape.iter().zip(reduced).filter(|(_, &r)| r).map(|(&d, _)| d).product();
    let divisor = (n as f64 - correction).max(0.0);
    if let Some(rows) = trailing_rows(l, reduced) {
        // Rows: the same two f64 passes, the second in four independent sums.
        let out = per_row(op, data, l.offset, rows, &|row| {
            let mean = row_sum(row, 0, row.len(), 1) / row.len() as f64;
            let mut acc = [0.0f64; 4];
            let mut quads = row.chunks_exact(4);
            for q in &mut quads {
                for (a, &v) in acc.iter_mut().zip(q) {
                    let d = v as f64 - mean;
                    *a += d * d;
                }
            }
            let tail = quads.remainder().iter().fold(0.0, |s, &v| s + (v as f64 - mean) * (v as f64 - mean));
            let ssd = (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail;
            if sqrt { (ssd / divisor).sqrt() as f32 } else { (ssd / divisor) as f32 }
        })?;
        return Tensor::from_f32(out, &kept_geometry(l, reduced).0);
    }
    let (mut mean, shape) = fold_keepdim_aux(op, data, l, reduced, 0.0f64, &no_aux(l, reduced), |s, (), v| s + v as f64)?;
    for m in mean.iter_mut() {
        *m /= n as f64;
    }
    let (ssd, _) = fold_keepdim_aux(op, data, l, reduced, 0.0f64, &mean, |s, m, v| {
        let d = v as f64 - m;
        s + d * d
    })?;
    drop(mean);
    let out = try_map(op, &ssd, |s| if sqrt { (s / divisor).sqrt() as f32 } else { (s / divisor) as f32 })?;
    drop(ssd);
    Tensor::from_f32(out, &shape)
}

/// `log Σ exp(x)` over the axes flagged in `reduced` (kept as 1), shifted by the max as
/// PyTorch does: an infinite max shifts by 0 (so +inf gives +inf and all −inf gives −inf),
/// NaN propagates, and an empty reduction is log 0 = −inf. Sums and logs in f64.
pub fn logsumexp_keepdim(op: &str, x: &Tensor, reduced: &[bool]) -> Result<Tensor> {
    x.expect_f32(op)?;
    let buffer = x.buffer();
    let Buffer::F32(data) = &*buffer else { unreachable_dtype() };
    let l = x.layout();
    if let Some(rows) = trailing_rows(l, reduced) {
        // Rows: the max by the amax kernel (NaN first), e^(x − max) by the vectorised exp in
        // float32 (x − max ≤ 0, so no overflow), summed in f64 per block.
        let out = per_row(op, data, l.offset, rows, &|row| {
            let m = row_value::<true>(row);
            let shift = if m.is_infinite() { 0.0 } else { m };
            let (mut shifted, mut e) = ([0.0f32; 256], [0.0f32; 256]);
            let mut total = 0.0f64;
            for block in row.chunks(256) {
                let (t, e) = (&mut shifted[..block.len()], &mut e[..block.len()]);
                t.iter_mut().zip(block).for_each(|(t, &v)| *t = v - shift);
                exp_slice(t, e);
                total += row_sum(e, 0, e.len(), 1);
            }
            (total.ln() + shift as f64) as f32
        })?;
        return Tensor::from_f32(out, &kept_geometry(l, reduced).0);
    }
    let (mut shift, shape) = fold_keepdim_aux(op, data, l, reduced, f32::NEG_INFINITY, &no_aux(l, reduced), |m, (), v| {
        if v.is_nan() || m.is_nan() || v > m { if m.is_nan() { m } else { v } } else { m }
    })?;
    for m in shift.iter_mut() {
        if m.is_infinite() {
            *m = 0.0;
        }
    }
    let (sums, _) = fold_keepdim_aux(op, data, l, reduced, 0.0f64, &shift, |s, m, v| s + (v as f64 - m as f64).exp())?;
    let mut out = try_alloc(op, sums.len(), 0.0f32)?;
    for ((o, &s), &m) in out.iter_mut().zip(&sums).zip(&shift) {
        *o = (s.ln() + m as f64) as f32;
    }
    drop((sums, shift));
    Tensor::from_f32(out, &shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layouts() -> Vec<(Layout, Vec<bool>)> {
        let permuted = |shape: &[usize], perm: &[usize]| {
            let c = Layout::contiguous(shape);
            Layout {
                shape: perm.iter().map(|&p| c.shape[p]).collect::<Vec<_>>().as_slice().into(),
                strides: perm.iter().map(|&p| c.strides[p]).collect::<Vec<_>>().as_slice().into(),
                offset: 3,
            }
        };
        vec![
            (Layout::contiguous(&[37, 53]), vec![false, true]),
            (Layout::contiguous(&[37, 53]), vec![true, false]),
            (Layout::contiguous(&[5, 7, 9]), vec![true, false, true]),
            (Layout::contiguous(&[5, 1, 9, 4]), vec![false, true, true, false]),
            (Layout::contiguous(&[6, 0, 3]), vec![false, true, false]),
            (Layout::contiguous(&[1, 1]), vec![true, true]),
            (permuted(&[4, 6, 5], &[2, 0, 1]), vec![false, true, false]),
            (permuted(&[4, 6, 5], &[1, 2, 0]), vec![true, false, true]),
        ]
    }

    /// `walk_rows` visits the rows of `StridedWalk::for_each_row`, in the same order.
    #[test]
    fn walk_rows_visits_the_rows_of_the_strided_walk() {
        for (l, reduced) in layouts() {
            let (_, out_strides) = kept_geometry(&l, &reduced);
            let mut want = Vec::new();
            StridedWalk::new(&l.shape, [&l.strides, &out_strides]).for_each_row([l.offset, 0], |o, len, s| want.push((o, len, s)));
            let mut got = Vec::new();
            walk_rows(&l, &out_strides, &mut |rows| rows.each(|o| got.push((o, rows.len, rows.strides))));
            assert_eq!(got, want, "{:?} {reduced:?}", l.shape.as_slice());
        }
    }

    /// Parts along the outermost kept dim ([`narrowed`], as `for_kept_parts` cuts them) visit
    /// each output slot's inputs in the same order as the whole walk.
    #[test]
    fn narrowed_parts_visit_each_output_in_the_same_order() {
        for (l, reduced) in layouts() {
            let (shape, out_strides) = kept_geometry(&l, &reduced);
            let Some(d) = (0..l.shape.len()).find(|&d| !reduced[d] && l.shape[d] > 1) else { continue };
            let out_len: usize = shape.iter().product();
            let unit_out = out_len / l.shape[d];
            let visits = |l: &Layout, first: usize, seen: &mut Vec<Vec<usize>>| {
                walk_rows(l, &out_strides, &mut |rows| {
                    rows.each(|[pi, po]| (0..rows.len).for_each(|i| seen[first + po + i * rows.strides[1]].push(pi + i * rows.strides[0])))
                });
            };
            let mut whole = vec![Vec::new(); out_len];
            visits(&l, 0, &mut whole);
            for per in 1..l.shape[d] {
                let mut parts = vec![Vec::new(); out_len];
                for first in (0..l.shape[d]).step_by(per) {
                    let count = per.min(l.shape[d] - first);
                    visits(&narrowed(&l, d, first, count), first * unit_out, &mut parts);
                }
                assert_eq!(parts, whole, "{:?} {reduced:?} in parts of {per}", l.shape.as_slice());
            }
        }
    }
}

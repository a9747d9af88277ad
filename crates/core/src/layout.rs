//! Shapes, strides and offsets, kept apart from storage so that views (reshape, permute,
//! expand, transpose) share one buffer.

use crate::error::{fmt_shape, Error, Result};

/// Largest element count a shape may have (so element counts and offsets never overflow).
/// The bytes of one tensor are limited further, to 2 GiB - 1 (`storage::MAX_BUFFER_BYTES`).
pub const MAX_ELEMENTS: usize = 1 << 30;
/// Largest rank accepted at the boundary (the FFI scratch area holds this many dims).
pub const MAX_RANK: usize = 16;

/// Element count of a shape, rejecting overflow and sizes beyond [`MAX_ELEMENTS`].
#[inline]
pub fn checked_numel(op: &str, shape: &[usize]) -> Result<usize> {
    if shape.len() <= MAX_RANK {
        let mut n: usize = 1;
        let mut fits = true;
        for &d in shape {
            match n.checked_mul(d) {
                Some(m) if m <= MAX_ELEMENTS => n = m,
                _ => fits = false,
            }
        }
        if fits {
            return Ok(n);
        }
    }
    Err(numel_error(op, shape))
}

/// Why [`checked_numel`] refused `shape` (out of line: the checks pass on every hot path).
#[cold]
#[inline(never)]
fn numel_error(op: &str, shape: &[usize]) -> Error {
    if shape.len() > MAX_RANK {
        return Error::shape(format!("{op}: rank {} exceeds the maximum of {MAX_RANK}", shape.len()));
    }
    Error::oom(format!(
        "{op}: shape {} has more than {MAX_ELEMENTS} elements; one tensor can hold at most 2 GiB - 1 \
         bytes in wasm32 ({} float32 elements)",
        fmt_shape(shape),
        crate::storage::MAX_BUFFER_BYTES / 4
    ))
}

/// Dims kept inline by [`Dims`]: shapes and strides of this rank or less need no heap
/// allocation (almost every tensor: images in NCHW are 4-d), higher ranks (up to
/// [`MAX_RANK`] at the boundary) spill to a vector. Four keeps a `Dims` at 24 word-aligned
/// bytes on wasm32, so a layout, or a node's two edges, is copied with a few vector moves
/// rather than a `memory.copy` (which some engines run as a call out of the wasm code).
/// `Dims::from_slice` has one arm per inline length.
pub const INLINE_DIMS: usize = 4;

/// A short list of dimension sizes or strides: inline up to [`INLINE_DIMS`] entries, on
/// the heap beyond. Dereferences to `[usize]`, so it reads like a slice.
#[derive(Clone)]
pub struct Dims(DimsRepr);

#[derive(Clone)]
enum DimsRepr {
    Inline { len: usize, buf: [usize; INLINE_DIMS] },
    Heap(Vec<usize>),
}

impl Dims {
    pub const fn new() -> Dims {
        Dims(DimsRepr::Inline { len: 0, buf: [0; INLINE_DIMS] })
    }

    /// `n` zeros.
    pub fn zeros(n: usize) -> Dims {
        if n <= INLINE_DIMS {
            Dims(DimsRepr::Inline { len: n, buf: [0; INLINE_DIMS] })
        } else {
            Dims(DimsRepr::Heap(vec![0; n]))
        }
    }

    pub fn from_slice(values: &[usize]) -> Dims {
        // One arm per length: fixed-size copies compile to plain loads and stores, where a
        // copy of variable length would be a `memory.copy`, too slow for a shape's few words.
        let buf = match *values {
            [] => [0; INLINE_DIMS],
            [a] => [a, 0, 0, 0],
            [a, b] => [a, b, 0, 0],
            [a, b, c] => [a, b, c, 0],
            [a, b, c, d] => [a, b, c, d],
            _ => return Dims(DimsRepr::Heap(values.to_vec())),
        };
        Dims(DimsRepr::Inline { len: values.len(), buf })
    }

    pub fn push(&mut self, value: usize) {
        match &mut self.0 {
            DimsRepr::Inline { len, buf } if *len < INLINE_DIMS => {
                buf[*len] = value;
                *len += 1;
            }
            DimsRepr::Inline { len, buf } => {
                let mut v = Vec::with_capacity(INLINE_DIMS * 2);
                v.extend_from_slice(&buf[..*len]);
                v.push(value);
                self.0 = DimsRepr::Heap(v);
            }
            DimsRepr::Heap(v) => v.push(value),
        }
    }

    pub fn as_slice(&self) -> &[usize] {
        match &self.0 {
            DimsRepr::Inline { len, buf } => &buf[..*len],
            DimsRepr::Heap(v) => v,
        }
    }

    pub fn as_mut_slice(&mut self) -> &mut [usize] {
        match &mut self.0 {
            DimsRepr::Inline { len, buf } => &mut buf[..*len],
            DimsRepr::Heap(v) => v,
        }
    }
}

impl Default for Dims {
    fn default() -> Dims {
        Dims::new()
    }
}

impl std::ops::Deref for Dims {
    type Target = [usize];
    fn deref(&self) -> &[usize] {
        self.as_slice()
    }
}

impl std::ops::DerefMut for Dims {
    fn deref_mut(&mut self) -> &mut [usize] {
        self.as_mut_slice()
    }
}

impl AsRef<[usize]> for Dims {
    fn as_ref(&self) -> &[usize] {
        self.as_slice()
    }
}

impl std::borrow::Borrow<[usize]> for Dims {
    fn borrow(&self) -> &[usize] {
        self.as_slice()
    }
}

impl std::fmt::Debug for Dims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_slice().fmt(f)
    }
}

impl PartialEq for Dims {
    fn eq(&self, other: &Dims) -> bool {
        self.as_slice() == other.as_slice()
    }
}
impl Eq for Dims {}

impl PartialEq<[usize]> for Dims {
    fn eq(&self, other: &[usize]) -> bool {
        self.as_slice() == other
    }
}
impl PartialEq<&[usize]> for Dims {
    fn eq(&self, other: &&[usize]) -> bool {
        self.as_slice() == *other
    }
}
impl PartialEq<Vec<usize>> for Dims {
    fn eq(&self, other: &Vec<usize>) -> bool {
        self.as_slice() == other.as_slice()
    }
}
impl<const N: usize> PartialEq<[usize; N]> for Dims {
    fn eq(&self, other: &[usize; N]) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl From<&[usize]> for Dims {
    fn from(values: &[usize]) -> Dims {
        Dims::from_slice(values)
    }
}
impl From<Vec<usize>> for Dims {
    fn from(values: Vec<usize>) -> Dims {
        if values.len() <= INLINE_DIMS { Dims::from_slice(&values) } else { Dims(DimsRepr::Heap(values)) }
    }
}
impl From<Dims> for Vec<usize> {
    fn from(d: Dims) -> Vec<usize> {
        match d.0 {
            DimsRepr::Inline { len, buf } => buf[..len].to_vec(),
            DimsRepr::Heap(v) => v,
        }
    }
}

impl FromIterator<usize> for Dims {
    fn from_iter<I: IntoIterator<Item = usize>>(iter: I) -> Dims {
        let mut d = Dims::new();
        for v in iter {
            d.push(v);
        }
        d
    }
}

impl<'a> IntoIterator for &'a Dims {
    type Item = &'a usize;
    type IntoIter = std::slice::Iter<'a, usize>;
    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl<'a> IntoIterator for &'a mut Dims {
    type Item = &'a mut usize;
    type IntoIter = std::slice::IterMut<'a, usize>;
    fn into_iter(self) -> Self::IntoIter {
        self.as_mut_slice().iter_mut()
    }
}

pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

pub fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    contiguous_dims(shape).into()
}

/// Row-major strides of `shape`, as [`Dims`] (no allocation for ordinary ranks).
pub fn contiguous_dims(shape: &[usize]) -> Dims {
    let mut strides = Dims::zeros(shape.len());
    let mut acc = 1;
    for (s, &d) in strides.as_mut_slice().iter_mut().zip(shape).rev() {
        *s = acc;
        acc *= d;
    }
    strides
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub shape: Dims,
    pub strides: Dims,
    pub offset: usize,
}

impl Layout {
    pub fn contiguous(shape: &[usize]) -> Self {
        Layout { shape: Dims::from_slice(shape), strides: contiguous_dims(shape), offset: 0 }
    }

    pub fn numel(&self) -> usize {
        numel(&self.shape)
    }

    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// Row-major and gap-free (offset may be non-zero); size-1 dims may have any stride.
    #[inline]
    pub fn is_contiguous(&self) -> bool {
        let mut expected = 1;
        for i in (0..self.shape.len()).rev() {
            if self.shape[i] != 1 && self.strides[i] != expected {
                return false;
            }
            expected *= self.shape[i];
        }
        true
    }

    /// Index one past the last element this layout can touch (0 for empty tensors).
    pub fn extent(&self) -> usize {
        if self.numel() == 0 {
            return self.offset;
        }
        self.offset + self.shape.iter().zip(&self.strides).map(|(&d, &s)| (d - 1) * s).sum::<usize>() + 1
    }

    pub fn permuted(&self, perm: &[usize]) -> Layout {
        Layout {
            shape: perm.iter().map(|&p| self.shape[p]).collect(),
            strides: perm.iter().map(|&p| self.strides[p]).collect(),
            offset: self.offset,
        }
    }

    /// The layout viewed at `shape` under NumPy broadcasting: new leading dims and
    /// expanded size-1 dims get stride 0. The caller has checked compatibility.
    pub fn broadcast_to(&self, shape: &[usize]) -> Layout {
        let lead = shape.len() - self.shape.len();
        let mut strides = Dims::zeros(shape.len());
        for i in 0..self.shape.len() {
            strides[lead + i] = if self.shape[i] == 1 && shape[lead + i] != 1 { 0 } else { self.strides[i] };
        }
        Layout { shape: Dims::from_slice(shape), strides, offset: self.offset }
    }

    /// More than one index maps to the same element (an expanded view): writing through
    /// such a layout would be ambiguous.
    #[inline]
    pub fn has_overlap(&self) -> bool {
        // An empty view has no elements to share.
        self.shape.iter().zip(&self.strides).any(|(&d, &s)| d > 1 && s == 0) && self.numel() > 0
    }
}

/// NumPy broadcasting of two shapes.
pub fn broadcast_shapes(op: &str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    broadcast_dims(op, a, b).map(Vec::from)
}

/// As [`broadcast_shapes`], as [`Dims`] (no allocation for ordinary ranks).
pub fn broadcast_dims(op: &str, a: &[usize], b: &[usize]) -> Result<Dims> {
    let n = a.len().max(b.len());
    let mut out = Dims::zeros(n);
    for i in 0..n {
        let da = if i + a.len() >= n { a[i + a.len() - n] } else { 1 };
        let db = if i + b.len() >= n { b[i + b.len() - n] } else { 1 };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(Error::shape(format!(
                "{op}: shapes {} and {} cannot be broadcast together (dim {i}: {da} vs {db})",
                fmt_shape(a),
                fmt_shape(b)
            )));
        };
    }
    Ok(out)
}

/// Whether `from` broadcasts to exactly `to`.
pub fn broadcasts_to(from: &[usize], to: &[usize]) -> bool {
    from.len() <= to.len()
        && from.iter().rev().zip(to.iter().rev()).all(|(&f, &t)| f == t || f == 1)
}

/// Resolves a possibly negative axis against `ndim`.
pub fn normalize_axis(op: &str, axis: i64, ndim: usize) -> Result<usize> {
    // A 0-d tensor accepts dims 0 and -1, as in PyTorch.
    let n = (ndim as i64).max(1);
    let a = if axis < 0 { axis + n } else { axis };
    if a < 0 || a >= n {
        return Err(Error::argument(format!(
            "{op}: dimension {axis} is out of range for a tensor of rank {ndim} (expected {}..{})",
            -n,
            n - 1
        )));
    }
    Ok(a as usize)
}

/// Walks every index of `shape` in row-major order, yielding the offsets of `N` operands
/// with their own strides. Adjacent dims that are contiguous for every operand are merged
/// first, so the inner loop runs as long as possible; the walk is an odometer, not a
/// recursion, so rank never touches the stack.
pub struct StridedWalk<const N: usize> {
    pub shape: Dims,
    pub strides: [Dims; N],
}

impl<const N: usize> StridedWalk<N> {
    pub fn new(shape: &[usize], strides: [&[usize]; N]) -> Self {
        let mut dims = Dims::new();
        let mut out: [Dims; N] = std::array::from_fn(|_| Dims::new());
        for (i, &d) in shape.iter().enumerate() {
            if d == 1 {
                continue;
            }
            if let Some(&last) = dims.last() {
                let mergeable = (0..N).all(|k| *out[k].last().unwrap_or(&0) == strides[k][i] * d);
                if mergeable {
                    *dims.last_mut().unwrap_or(&mut 0) = last * d;
                    for k in 0..N {
                        if let Some(s) = out[k].last_mut() {
                            *s = strides[k][i];
                        }
                    }
                    continue;
                }
            }
            dims.push(d);
            for k in 0..N {
                out[k].push(strides[k][i]);
            }
        }
        if dims.is_empty() {
            dims.push(1);
            for k in 0..N {
                out[k].push(0);
            }
        }
        StridedWalk { shape: dims, strides: out }
    }

    /// Calls `row(offsets, len, inner_strides)` for each innermost row.
    pub fn for_each_row(&self, base: [usize; N], mut row: impl FnMut([usize; N], usize, [usize; N])) {
        let rank = self.shape.len();
        let inner_len = self.shape[rank - 1];
        let inner: [usize; N] = std::array::from_fn(|k| self.strides[k][rank - 1]);
        if self.shape.iter().any(|&d| d == 0) {
            return;
        }
        let mut index = Dims::zeros(rank - 1);
        let mut offsets = base;
        loop {
            row(offsets, inner_len, inner);
            // Advance the odometer over the outer dims.
            let mut d = rank - 1;
            loop {
                if d == 0 {
                    return;
                }
                d -= 1;
                index[d] += 1;
                for k in 0..N {
                    offsets[k] += self.strides[k][d];
                }
                if index[d] < self.shape[d] {
                    break;
                }
                for k in 0..N {
                    offsets[k] -= self.strides[k][d] * self.shape[d];
                }
                index[d] = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(broadcast_shapes("t", &[2, 1, 3], &[4, 1]).unwrap(), vec![2, 4, 3]);
        assert_eq!(broadcast_shapes("t", &[], &[5]).unwrap(), vec![5]);
        assert_eq!(broadcast_shapes("t", &[0, 1], &[1, 3]).unwrap(), vec![0, 3]);
        assert!(broadcast_shapes("t", &[2, 3], &[3, 2]).is_err());
    }

    #[test]
    fn walk_merges_contiguous_dims() {
        let s = contiguous_strides(&[2, 3, 4]);
        let w = StridedWalk::new(&[2, 3, 4], [&s]);
        assert_eq!(w.shape, vec![24]);
        let mut rows = 0;
        w.for_each_row([0], |_, len, _| {
            rows += 1;
            assert_eq!(len, 24);
        });
        assert_eq!(rows, 1);
    }

    #[test]
    fn walk_visits_transposed_offsets_in_order() {
        let l = Layout::contiguous(&[2, 3]).permuted(&[1, 0]);
        let w = StridedWalk::new(&l.shape, [&l.strides]);
        let mut seen = vec![];
        w.for_each_row([0], |[o], len, [s]| {
            for i in 0..len {
                seen.push(o + i * s);
            }
        });
        assert_eq!(seen, vec![0, 3, 1, 4, 2, 5]);
    }

    #[test]
    fn dims_read_like_slices_inline_and_spilled() {
        for n in [0, 1, INLINE_DIMS, INLINE_DIMS + 1, MAX_RANK + 3] {
            let values: Vec<usize> = (0..n).map(|i| i % 3 + 1).collect();
            let d = Dims::from_slice(&values);
            assert_eq!(d, values);
            assert_eq!(d.len(), n);
            assert_eq!(Dims::from(values.clone()), d);
            assert_eq!(Vec::from(d.clone()), values);
            assert_eq!(values.iter().copied().collect::<Dims>(), d);
            let mut pushed = Dims::new();
            for &v in &values {
                pushed.push(v);
            }
            assert_eq!(pushed, d);
            assert_eq!(format!("{pushed:?}"), format!("{values:?}"));
            let mut z = Dims::zeros(n);
            assert!(z.iter().all(|&v| v == 0) && z.len() == n);
            for (slot, &v) in (&mut z).into_iter().zip(&values) {
                *slot = v;
            }
            assert_eq!(z, d);
            assert_eq!(contiguous_dims(&values), contiguous_strides(&values));
        }
        let high: Vec<usize> = vec![1; INLINE_DIMS + 2];
        let l = Layout::contiguous(&high).broadcast_to(&[3; INLINE_DIMS + 4]);
        assert_eq!(l.shape, vec![3; INLINE_DIMS + 4]);
        assert!(l.strides.iter().all(|&s| s == 0) && l.has_overlap());
    }

    #[test]
    fn numel_rejects_overflow() {
        assert!(checked_numel("t", &[usize::MAX, 2]).is_err());
        assert!(checked_numel("t", &[1 << 20, 1 << 11]).is_err());
        assert_eq!(checked_numel("t", &[]).unwrap(), 1);
    }
}

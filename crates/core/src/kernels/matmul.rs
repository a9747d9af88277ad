//! Matrix multiplication on strided operands: a transposed operand is read through its
//! strides (or packed once), never materialised as a separate transposed tensor.

/// A matrix inside a slice: element (r, c) lives at `offset + r * row_stride + c * col_stride`.
#[derive(Clone, Copy)]
pub struct MatRef<'a> {
    pub data: &'a [f32],
    pub offset: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl MatRef<'_> {
    #[inline(always)]
    fn at(&self, r: usize, c: usize) -> f32 {
        self.data[self.offset + r * self.row_stride + c * self.col_stride]
    }
}

/// `c = a · b` with `a` m×k, `b` k×n and `c` a contiguous m×n slice (overwritten).
/// `packed_b` is scratch space of k×n, used when `b`'s rows are not contiguous.
pub fn gemm(m: usize, n: usize, k: usize, a: MatRef, b: MatRef, c: &mut [f32], packed_b: &mut Vec<f32>) {
    c.fill(0.0);
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    let (b_rows, b_offset, b_stride): (&[f32], usize, usize) = if b.col_stride == 1 {
        (b.data, b.offset, b.row_stride)
    } else {
        packed_b.clear();
        packed_b.extend((0..k).flat_map(|p| (0..n).map(move |j| b.at(p, j))));
        (packed_b.as_slice(), 0, n)
    };
    // Block over k so a panel of b stays in cache while every row of a streams past it.
    const KC: usize = 256;
    for p0 in (0..k).step_by(KC) {
        let p1 = (p0 + KC).min(k);
        for i in 0..m {
            let c_row = &mut c[i * n..(i + 1) * n];
            for p in p0..p1 {
                let aip = a.at(i, p);
                let b_row = &b_rows[b_offset + p * b_stride..b_offset + p * b_stride + n];
                for (cv, &bv) in c_row.iter_mut().zip(b_row) {
                    *cv += aip * bv;
                }
            }
        }
    }
}

//! The lanes the vectorised math kernels (`kernels::math`) are written in: the [`Lanes`]
//! trait, its one-lane `f32` implementation and, on wasm32 with `simd128`, `F32x4` (four
//! f32 lanes in a `v128`), plus `quads`, the slice loop that runs a function over
//! `F32x4`s.
#![forbid(unsafe_code)]

/// A vector of f32 lanes with the operations the math kernels are written in.
///
/// Float ops are IEEE single precision, rounded to nearest (no FMA contraction). The
/// "bit" ops (`and`, `iadd`, `shl`, …) act on each lane's bit pattern as an i32.
pub trait Lanes: Copy {
    /// One flag per lane (`bool` for one lane, an all-ones/all-zeros `v128` for SIMD).
    type Mask: Copy;
    fn splat(v: f32) -> Self;
    /// Every lane set to the float whose bit pattern is `bits`.
    fn splat_bits(bits: u32) -> Self;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn div(self, o: Self) -> Self;
    /// Round to the nearest integer, ties to even (wasm's `f32x4.nearest`).
    fn round_even(self) -> Self;
    fn lt(self, o: Self) -> Self::Mask;
    fn gt(self, o: Self) -> Self::Mask;
    fn eq(self, o: Self) -> Self::Mask;
    fn ne(self, o: Self) -> Self::Mask;
    fn mask_and(a: Self::Mask, b: Self::Mask) -> Self::Mask;
    /// Whether every lane's flag is set.
    fn all(m: Self::Mask) -> bool;
    /// i32 comparison and min/max of the bit patterns.
    fn igt(self, o: Self) -> Self::Mask;
    fn imin(self, o: Self) -> Self;
    fn imax(self, o: Self) -> Self;
    /// Lane-wise `if m { t } else { f }`.
    fn select(m: Self::Mask, t: Self, f: Self) -> Self;
    /// The flags as lanes: all bits set (a NaN) where `m`, 0.0 elsewhere.
    fn from_mask(m: Self::Mask) -> Self;
    fn and(self, o: Self) -> Self;
    fn or(self, o: Self) -> Self;
    fn xor(self, o: Self) -> Self;
    /// i32 addition of the bit patterns (wrapping).
    fn iadd(self, o: Self) -> Self;
    /// i32 subtraction of the bit patterns (wrapping).
    fn isub(self, o: Self) -> Self;
    /// Left shift of the bit patterns.
    fn shl(self, n: u32) -> Self;
    /// Arithmetic (sign-extending) right shift of the bit patterns as i32.
    fn shr_i(self, n: u32) -> Self;
    /// Logical right shift of the bit patterns.
    fn shr_u(self, n: u32) -> Self;
    /// The bit patterns read as i32 and converted to f32 (exact for |i| < 2^24).
    fn i32_to_f32(self) -> Self;
    /// `f` applied to each lane: the general forms' way to a scalar routine for rare inputs.
    fn each(self, f: fn(f32) -> f32) -> Self;
}

impl Lanes for f32 {
    type Mask = bool;
    #[inline(always)]
    fn splat(v: f32) -> Self {
        v
    }
    #[inline(always)]
    fn splat_bits(bits: u32) -> Self {
        f32::from_bits(bits)
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self + o
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        self - o
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        self * o
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        self / o
    }
    #[inline(always)]
    fn round_even(self) -> Self {
        self.round_ties_even()
    }
    #[inline(always)]
    fn lt(self, o: Self) -> bool {
        self < o
    }
    #[inline(always)]
    fn gt(self, o: Self) -> bool {
        self > o
    }
    #[inline(always)]
    fn eq(self, o: Self) -> bool {
        self == o
    }
    #[inline(always)]
    fn ne(self, o: Self) -> bool {
        self != o
    }
    #[inline(always)]
    fn mask_and(a: bool, b: bool) -> bool {
        a && b
    }
    #[inline(always)]
    fn all(m: bool) -> bool {
        m
    }
    #[inline(always)]
    fn igt(self, o: Self) -> bool {
        (self.to_bits() as i32) > (o.to_bits() as i32)
    }
    #[inline(always)]
    fn imin(self, o: Self) -> Self {
        f32::from_bits((self.to_bits() as i32).min(o.to_bits() as i32) as u32)
    }
    #[inline(always)]
    fn imax(self, o: Self) -> Self {
        f32::from_bits((self.to_bits() as i32).max(o.to_bits() as i32) as u32)
    }
    #[inline(always)]
    fn select(m: bool, t: Self, f: Self) -> Self {
        if m { t } else { f }
    }
    #[inline(always)]
    fn from_mask(m: bool) -> Self {
        f32::from_bits(if m { u32::MAX } else { 0 })
    }
    #[inline(always)]
    fn and(self, o: Self) -> Self {
        f32::from_bits(self.to_bits() & o.to_bits())
    }
    #[inline(always)]
    fn or(self, o: Self) -> Self {
        f32::from_bits(self.to_bits() | o.to_bits())
    }
    #[inline(always)]
    fn xor(self, o: Self) -> Self {
        f32::from_bits(self.to_bits() ^ o.to_bits())
    }
    #[inline(always)]
    fn iadd(self, o: Self) -> Self {
        f32::from_bits(self.to_bits().wrapping_add(o.to_bits()))
    }
    #[inline(always)]
    fn isub(self, o: Self) -> Self {
        f32::from_bits(self.to_bits().wrapping_sub(o.to_bits()))
    }
    #[inline(always)]
    fn shl(self, n: u32) -> Self {
        f32::from_bits(self.to_bits() << n)
    }
    #[inline(always)]
    fn shr_i(self, n: u32) -> Self {
        f32::from_bits(((self.to_bits() as i32) >> n) as u32)
    }
    #[inline(always)]
    fn shr_u(self, n: u32) -> Self {
        f32::from_bits(self.to_bits() >> n)
    }
    #[inline(always)]
    fn i32_to_f32(self) -> Self {
        self.to_bits() as i32 as f32
    }
    #[inline(always)]
    fn each(self, f: fn(f32) -> f32) -> Self {
        f(self)
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use simd::F32x4;

/// Four f32 or i32 lanes between a `v128` and a slice of exactly four (each one
/// `v128.load` / `v128.store`), for the kernels that work on `v128` directly
/// (`kernels::extreme`, `kernels::pool`). A slice of another length is a bug in the caller.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod quad {
    use core::arch::wasm32::*;

    /// Built from two 64-bit halves rather than four floats: LLVM folds shuffles of a
    /// four-float vector into per-lane loads (a `v128.load64_zero` and two
    /// `v128.load32_lane` per vector in max pooling's k2s2 loop, 1.2× slower), while two
    /// `i64`s stay one `v128.load`.
    #[inline(always)]
    pub fn load_f32(a: &[f32]) -> v128 {
        let Ok(a) = <&[f32; 4]>::try_from(a) else { unreachable!("a slice of 4") };
        let half = |i: usize| a[i].to_bits() as u64 | (a[i + 1].to_bits() as u64) << 32;
        u64x2(half(0), half(2))
    }

    #[inline(always)]
    pub fn store_f32(v: v128, out: &mut [f32]) {
        let Ok(out) = <&mut [f32; 4]>::try_from(out) else { unreachable!("a slice of 4") };
        *out = [f32x4_extract_lane::<0>(v), f32x4_extract_lane::<1>(v), f32x4_extract_lane::<2>(v), f32x4_extract_lane::<3>(v)];
    }

    #[inline(always)]
    pub fn load_i32(a: &[i32]) -> v128 {
        let Ok(a) = <&[i32; 4]>::try_from(a) else { unreachable!("a slice of 4") };
        i32x4(a[0], a[1], a[2], a[3])
    }

    #[inline(always)]
    pub fn store_i32(v: v128, out: &mut [i32]) {
        let Ok(out) = <&mut [i32; 4]>::try_from(out) else { unreachable!("a slice of 4") };
        *out = [i32x4_extract_lane::<0>(v), i32x4_extract_lane::<1>(v), i32x4_extract_lane::<2>(v), i32x4_extract_lane::<3>(v)];
    }
}

/// A 4×4 transpose: `out[r][c] = cols[c][r]`. On wasm with simd128, four `v128` loads,
/// eight shuffles and four stores, where element by element it is sixteen loads and
/// stores with their address arithmetic (the matrix product packs a column-major B with
/// it).
#[inline(always)]
pub fn transpose4(cols: [&[f32; 4]; 4]) -> [[f32; 4]; 4] {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        use core::arch::wasm32::*;
        let [a, b, c, d] = cols.map(|x| f32x4(x[0], x[1], x[2], x[3]));
        let ab_low = i32x4_shuffle::<0, 4, 1, 5>(a, b); // a0 b0 a1 b1
        let ab_high = i32x4_shuffle::<2, 6, 3, 7>(a, b); // a2 b2 a3 b3
        let cd_low = i32x4_shuffle::<0, 4, 1, 5>(c, d);
        let cd_high = i32x4_shuffle::<2, 6, 3, 7>(c, d);
        let rows = [
            i64x2_shuffle::<0, 2>(ab_low, cd_low), // a0 b0 c0 d0
            i64x2_shuffle::<1, 3>(ab_low, cd_low),
            i64x2_shuffle::<0, 2>(ab_high, cd_high),
            i64x2_shuffle::<1, 3>(ab_high, cd_high),
        ];
        rows.map(|v| [f32x4_extract_lane::<0>(v), f32x4_extract_lane::<1>(v), f32x4_extract_lane::<2>(v), f32x4_extract_lane::<3>(v)])
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        std::array::from_fn(|r| std::array::from_fn(|c| cols[c][r]))
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use super::Lanes;
    use core::arch::wasm32::*;

    /// Four f32 lanes in a wasm `v128`.
    #[derive(Clone, Copy)]
    pub struct F32x4(v128);

    impl F32x4 {
        /// Four consecutive floats (compiles to one `v128.load`).
        #[inline(always)]
        pub fn load(a: &[f32; 4]) -> Self {
            F32x4(f32x4(a[0], a[1], a[2], a[3]))
        }
        /// Writes the four lanes (compiles to one `v128.store`).
        #[inline(always)]
        pub fn store(self, out: &mut [f32; 4]) {
            let v = self.0;
            *out = [
                f32x4_extract_lane::<0>(v),
                f32x4_extract_lane::<1>(v),
                f32x4_extract_lane::<2>(v),
                f32x4_extract_lane::<3>(v),
            ];
        }
    }

    impl Lanes for F32x4 {
        type Mask = v128;
        #[inline(always)]
        fn splat(v: f32) -> Self {
            F32x4(f32x4_splat(v))
        }
        #[inline(always)]
        fn splat_bits(bits: u32) -> Self {
            F32x4(u32x4_splat(bits))
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            F32x4(f32x4_add(self.0, o.0))
        }
        #[inline(always)]
        fn sub(self, o: Self) -> Self {
            F32x4(f32x4_sub(self.0, o.0))
        }
        #[inline(always)]
        fn mul(self, o: Self) -> Self {
            F32x4(f32x4_mul(self.0, o.0))
        }
        #[inline(always)]
        fn div(self, o: Self) -> Self {
            F32x4(f32x4_div(self.0, o.0))
        }
        #[inline(always)]
        fn round_even(self) -> Self {
            F32x4(f32x4_nearest(self.0))
        }
        #[inline(always)]
        fn lt(self, o: Self) -> v128 {
            f32x4_lt(self.0, o.0)
        }
        #[inline(always)]
        fn gt(self, o: Self) -> v128 {
            f32x4_gt(self.0, o.0)
        }
        #[inline(always)]
        fn eq(self, o: Self) -> v128 {
            f32x4_eq(self.0, o.0)
        }
        #[inline(always)]
        fn ne(self, o: Self) -> v128 {
            f32x4_ne(self.0, o.0)
        }
        #[inline(always)]
        fn mask_and(a: v128, b: v128) -> v128 {
            v128_and(a, b)
        }
        #[inline(always)]
        fn all(m: v128) -> bool {
            i32x4_all_true(m)
        }
        #[inline(always)]
        fn igt(self, o: Self) -> v128 {
            i32x4_gt(self.0, o.0)
        }
        #[inline(always)]
        fn imin(self, o: Self) -> Self {
            F32x4(i32x4_min(self.0, o.0))
        }
        #[inline(always)]
        fn imax(self, o: Self) -> Self {
            F32x4(i32x4_max(self.0, o.0))
        }
        #[inline(always)]
        fn select(m: v128, t: Self, f: Self) -> Self {
            F32x4(v128_bitselect(t.0, f.0, m))
        }
        #[inline(always)]
        fn from_mask(m: v128) -> Self {
            F32x4(m)
        }
        #[inline(always)]
        fn and(self, o: Self) -> Self {
            F32x4(v128_and(self.0, o.0))
        }
        #[inline(always)]
        fn or(self, o: Self) -> Self {
            F32x4(v128_or(self.0, o.0))
        }
        #[inline(always)]
        fn xor(self, o: Self) -> Self {
            F32x4(v128_xor(self.0, o.0))
        }
        #[inline(always)]
        fn iadd(self, o: Self) -> Self {
            F32x4(i32x4_add(self.0, o.0))
        }
        #[inline(always)]
        fn isub(self, o: Self) -> Self {
            F32x4(i32x4_sub(self.0, o.0))
        }
        #[inline(always)]
        fn shl(self, n: u32) -> Self {
            F32x4(i32x4_shl(self.0, n))
        }
        #[inline(always)]
        fn shr_i(self, n: u32) -> Self {
            F32x4(i32x4_shr(self.0, n))
        }
        #[inline(always)]
        fn shr_u(self, n: u32) -> Self {
            F32x4(u32x4_shr(self.0, n))
        }
        #[inline(always)]
        fn i32_to_f32(self) -> Self {
            F32x4(f32x4_convert_i32x4(self.0))
        }
        #[inline(always)]
        fn each(self, f: fn(f32) -> f32) -> Self {
            let v = self.0;
            F32x4(f32x4(
                f(f32x4_extract_lane::<0>(v)),
                f(f32x4_extract_lane::<1>(v)),
                f(f32x4_extract_lane::<2>(v)),
                f(f32x4_extract_lane::<3>(v)),
            ))
        }
    }
}

/// `out = f(src)` four lanes at a time (lengths equal, a multiple of 4).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
pub fn quads(src: &[f32], out: &mut [f32], mut f: impl FnMut(F32x4) -> F32x4) {
    for (si, oi) in src.chunks_exact(4).zip(out.chunks_exact_mut(4)) {
        let (Ok(si), Ok(oi)) = (<&[f32; 4]>::try_from(si), <&mut [f32; 4]>::try_from(oi)) else {
            unreachable!("chunks_exact(4) yields chunks of 4")
        };
        f(F32x4::load(si)).store(oi);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn transpose4_swaps_rows_and_columns() {
        let cols = [[0.0, 1.0, 2.0, 3.0], [10.0, 11.0, 12.0, 13.0], [20.0, 21.0, 22.0, 23.0], [f32::NAN, -0.0, f32::INFINITY, 33.0]];
        let rows = super::transpose4([&cols[0], &cols[1], &cols[2], &cols[3]]);
        for (r, row) in rows.iter().enumerate() {
            for (c, x) in row.iter().enumerate() {
                assert_eq!(x.to_bits(), cols[c][r].to_bits(), "({r}, {c})");
            }
        }
    }
}

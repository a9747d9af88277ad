//! `pow` of two f32s without a libm call: x^y = 2^(y·log2|x|), carried in f64, with C99's
//! (and PyTorch's `std::pow`'s) special cases. libm's `powf` is a long branchy scalar
//! routine (about 50 ns an element here, 400× relu); this one has no branches and no
//! calls, so the elementwise loops that use it vectorise like any other map.
//!
//! Accuracy: f64 leaves room to spare. log2|x| comes from the atanh series of the
//! mantissa on [√½, √2) (7 terms, relative error below 2e-12), so t = y·log2|x| is off by
//! at most ~1e-12·|t|, and 2^t (|t| ≤ 150 where the f32 result is neither 0 nor ∞) by
//! less than 1e-9 relative: the one rounding to f32 at the end dominates, ≤ 0.51 ulp
//! (`tests` compare with the host's f64 `pow` over random and extreme inputs). Exact
//! powers (2^10, 3^2, 10^7) come out exact. f32 denormals are normal f64s, so they need
//! no special path, and the final f64 → f32 conversion rounds into the denormals and to
//! ±∞ as IEEE says.

/// 2/((2i+1)·ln 2): log2(m) = s·Σ LOG2_SERIES[i]·s^(2i), s = (m−1)/(m+1).
const LOG2_SERIES: [f64; 7] = [
    2.885390081777926814719849362,
    0.9617966939259756049066164541,
    0.5770780163555853629439698725,
    0.4121985831111324021028356232,
    0.3205988979753252016355388180,
    0.2623081892525387104290772148,
    0.2219530832136866780553730279,
];
/// (ln 2)^i / i!: 2^f = Σ EXP2_SERIES[i]·f^i for |f| ≤ ½ (degree 8: error below 2e-10).
const EXP2_SERIES: [f64; 9] = [
    1.0,
    0.6931471805599453094172321215,
    0.2402265069591007123335512632,
    0.05550410866482157995314226216,
    0.009618129107628477161979071575,
    0.001333355814642844342341222198,
    0.0001540353039338160954235709695,
    0.00001525273380405984028002543902,
    0.000001321548679014430948840375,
];
/// 2^52: a float whose low mantissa bits are an integer added to it.
const TWO_52: f64 = 4_503_599_627_370_496.0;
/// 1.5·2^52: adding it to |t| < 2^51 rounds t to an integer held in the low bits.
const ROUNDER: f64 = 6_755_399_441_055_744.0;
/// |t| beyond this is 0 or ∞ in f32 anyway; the clamp keeps 2^n a normal f64.
const T_CLAMP: f64 = 300.0;

/// log2|x| for every f32 (±0 → −∞, ±∞ → ∞, NaN → NaN).
#[inline(always)]
fn log2_abs(x: f64) -> f64 {
    let ax = x.abs();
    let bits = ax.to_bits();
    // The biased exponent as a float without an int → float conversion (wasm has none
    // for i64 lanes): its bits under 2^52's.
    let mut k = f64::from_bits(TWO_52.to_bits() | bits >> 52) - (TWO_52 + 1023.0);
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let big = m > std::f64::consts::SQRT_2;
    m = if big { m * 0.5 } else { m };
    k = if big { k + 1.0 } else { k };
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    // Estrin's scheme: the loop runs out of independent work long before out of
    // multipliers, so a short dependency chain is what makes it fast.
    let c = &LOG2_SERIES;
    let s4 = s2 * s2;
    let p = (c[0] + c[1] * s2) + s4 * (c[2] + c[3] * s2) + s4 * s4 * ((c[4] + c[5] * s2) + s4 * c[6]);
    let l = k + s * p;
    // Zero, infinity and NaN have no mantissa to speak of: their logs by hand.
    if ax == 0.0 {
        f64::NEG_INFINITY
    } else if ax < f64::INFINITY {
        l
    } else {
        ax
    }
}

/// 2^t (t may be ±∞ or NaN), as an f64 that rounds to the right f32.
#[inline(always)]
fn exp2(t: f64) -> f64 {
    // NaN fails both comparisons and stays NaN.
    let t = if t > T_CLAMP { T_CLAMP } else if t < -T_CLAMP { -T_CLAMP } else { t };
    // t + 1.5·2^52 rounds t to an integer n (ties to even), which the low bits then hold
    // (offset by 2^51): n and 2^n by integer lane ops, no float → int conversion.
    let shifted = t + ROUNDER;
    let n = shifted - ROUNDER;
    let f = t - n;
    let c = &EXP2_SERIES;
    let f2 = f * f;
    let f4 = f2 * f2;
    let p = ((c[0] + c[1] * f) + f2 * (c[2] + c[3] * f)) + f4 * ((c[4] + c[5] * f) + f2 * (c[6] + c[7] * f)) + f4 * f4 * c[8];
    // NaN's bits make some scale; p is NaN then anyway.
    let scale = shifted.to_bits().wrapping_sub(ROUNDER.to_bits()).wrapping_add(1023) << 52;
    p * f64::from_bits(scale)
}

/// x^y as C99's `powf` (and PyTorch's `pow`) defines it, special cases included: y = 0 or
/// x = 1 gives 1 (NaN too), x = −1 with y = ±∞ gives 1, a negative finite x with a
/// non-integer finite y gives NaN, and a negative x (−0 and −∞ included) with an odd
/// integer y gives the negated |x|^y.
#[inline(always)]
pub fn powf(x: f32, y: f32) -> f32 {
    let magnitude = exp2(f64::from(y) * log2_abs(f64::from(x))) as f32;
    let integer = y == y.trunc();
    // f32 integers of 2^24 and more are even (and `as i32` saturates beyond i32).
    let odd = integer && y.abs() < 16_777_216.0 && (y as i32) & 1 == 1;
    let r = if odd && x.is_sign_negative() { -magnitude } else { magnitude };
    let r = if x < 0.0 && x > f32::NEG_INFINITY && !integer && y.is_finite() { f32::NAN } else { r };
    if y == 0.0 || x == 1.0 || (x == -1.0 && y.is_infinite()) { 1.0 } else { r }
}

/// [`powf`] behind a call: for the loops that run it on views and broadcasts, where one
/// inlined copy per loop shape would cost more code than the loop gains.
#[inline(never)]
pub fn powf_call(x: f32, y: f32) -> f32 {
    powf(x, y)
}

/// `out[i] = src[i·stride]^y`: `pow` by a number, a [`ScalarRow`](super::elementwise::ScalarRow).
/// The contiguous loop is the one that vectorises, with [`powf`] inlined into it (through
/// a closure LLVM judged it too big to inline, and called it per element).
pub fn pow_row(out: &mut [f32], src: &[f32], stride: usize, y: f32) {
    if stride == 1 {
        for (o, &x) in out.iter_mut().zip(src) {
            *o = powf(x, y);
        }
    } else {
        for (i, o) in out.iter_mut().enumerate() {
            *o = powf_call(src[i * stride], y);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::powf;

    /// Distance in f32 ulps between `got` and the exact value `want` (an f64).
    fn ulps(got: f32, want: f64) -> f64 {
        if want == 0.0 || !want.is_finite() || (want as f32).is_infinite() {
            return if f64::from(got) == want || (want as f32) == got { 0.0 } else { f64::INFINITY };
        }
        let w = want as f32;
        let ulp = (f32::from_bits(w.abs().to_bits() + 1) - w.abs()).max(f32::from_bits(1));
        ((f64::from(got) - want) / f64::from(ulp)).abs()
    }

    #[test]
    fn special_cases_follow_c99() {
        let xs = [0.0f32, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, -3.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 1e-45, -1e-45, 3.4e38];
        let ys = [0.0f32, -0.0, 1.0, -1.0, 2.0, -2.0, 3.0, -3.0, 0.5, -0.5, 1.5, 1e10, -1e10, 16777217.0, 2147483648.0, 9e9, f32::INFINITY, f32::NEG_INFINITY, f32::NAN];
        for &x in &xs {
            for &y in &ys {
                // The host's powf is libm's: the C99 reference for the special cases.
                let (got, want) = (powf(x, y), x.powf(y));
                let same = got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()) || ulps(got, f64::from(x).powf(f64::from(y))) <= 0.51;
                assert!(same, "powf({x:e}, {y:e}) = {got:e}, libm says {want:e}");
            }
        }
    }

    #[test]
    fn within_half_an_ulp_of_the_exact_power() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut worst = 0.0f64;
        for i in 0..400_000 {
            // Bases over the whole f32 range (sign, exponent and mantissa at random) and
            // exponents both ordinary and large enough to reach overflow and denormals.
            let x = f32::from_bits(next() as u32 & 0xff7f_ffff);
            let y = match i % 3 {
                0 => (next() % 2001) as f32 / 100.0 - 10.0,
                1 => f32::from_bits(next() as u32 & 0x8000_0000 | 0x3000_0000 | (next() as u32 & 0x0fff_ffff)),
                _ => ((next() % 61) as f32 - 30.0) * 0.25,
            };
            let want = f64::from(x).powf(f64::from(y));
            let got = powf(x, y);
            if want.is_nan() {
                assert!(got.is_nan(), "powf({x:e}, {y:e}) = {got:e}, want NaN");
                continue;
            }
            let e = ulps(got, want);
            assert!(e <= 0.51, "powf({x:e}, {y:e}) = {got:e}, want {want:e} ({e} ulp)");
            worst = worst.max(e);
        }
        assert!(worst > 0.4, "the inputs reach near-halfway cases ({worst})");
    }

    #[test]
    fn exact_powers_are_exact() {
        for (x, y, want) in [(2.0f32, 10.0f32, 1024.0f32), (3.0, 2.0, 9.0), (10.0, 7.0, 1e7), (0.5, 3.0, 0.125), (-2.0, 3.0, -8.0), (4.0, 0.5, 2.0), (2.0, -149.0, 1e-45), (16.0, 0.25, 2.0)] {
            assert_eq!(powf(x, y), want, "powf({x}, {y})");
        }
    }
}

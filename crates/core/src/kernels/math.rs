//! Vectorised f32 elementary functions: `exp`, `log`, `log1p`, `sin`, `cos`, `tanh`,
//! `sigmoid`, two GELUs and the exact GELU's derivative.
//!
//! Every function is written once, generic over [`Lanes`]: a set of f32 lanes with the
//! handful of IEEE float and i32 bit operations the algorithms need. `f32` implements it
//! (one lane: the host build, and the tails of slices on wasm) and, on wasm32 with
//! `simd128`, [`F32x4`] does (four lanes in a `v128`). Both run the same range
//! reduction, the same polynomials and the same special-case handling in the same order,
//! with no fused multiply-add on either side, so a SIMD lane gives exactly the bits the
//! scalar path gives, and the host tests of the scalar path test the math that runs in
//! the browser (test/simd-math.test.ts checks the same on wasm, both builds).
//!
//! Algorithms:
//! - exp: n = round(x/ln2), r = x - n·ln2 (Cody-Waite, two-part ln2), e^r = 1 + r +
//!   r²·P(r) with a degree-4 near-minimax P, then 2^n into the exponent bits.
//! - log: x = 2^k·(1+f) with 1+f in [√½, √2) by integer ops, then fdlibm's
//!   log(1+f) = f - f²/2 + s·(f²/2 + R(s²)), s = f/(2+f).
//! - log1p: log(w) - ((w - 1) - x)/w with w = 1 + x (the quotient restores what rounding
//!   w lost).
//! - sin/cos: q = round(|x|·2/π), r = |x| - q·π/2 with π/2 in three parts (exact below
//!   |x| = 4096; libm's beyond, block by block), then Cephes' polynomials on |r| ≤ π/4,
//!   the quadrant choosing sin or cos of r and the sign. ≤ 1.55 ulp (1.2e-7 absolute
//!   where the result is below 1e-3) over a sweep of all exponents and [-5000, 5000].
//! - tanh: E/(E+2) with E = e^{2|x|} - 1 computed as 2^n·(e^r - 1) + (2^n - 1), which
//!   keeps relative accuracy down to 0 without a separate small-|x| polynomial (plus one
//!   correction step below |x| = 0.4).
//! - sigmoid: 1/(1 + e^{-x}); e^x below -86.5 (down into the denormals).
//! - gelu_erf: x·Φ(x) via erf's polynomial for |x| < 0.71, else via erfc(|x|/√2) =
//!   t·exp(-x²/2 + C(t)) with x²/2 carried exactly as two floats (accurate in the tail).
//! - gelu_tanh: x·σ(2u), no cancellation for negative x.
//!
//! Accuracy, in ulps of the f32 result against the exact (f64) value, exhaustive over
//! all 2^32 inputs (`tests::exhaustive_*`): exp 0.99, log 0.83, log1p 1.44, tanh 1.95, sigmoid 2.48.
//! gelu_erf ≤ 5.9 ulp; gelu_tanh ≤ 13.4 ulp for x > -3, its relative error growing as
//! x² below (the tail is ill-conditioned in u). Special values follow IEEE/libm: NaN
//! propagates; exp(-inf) = 0, exp(inf) = inf, exp overflows to inf above 88.7228 and
//! underflows through the denormals (rounded once) to 0 below -103.97; log(±0) = -inf,
//! log(x < 0) = NaN, log(inf) = inf, log of denormals as accurate as of normals;
//! tanh(±inf) = ±1, tanh(-0) = -0; sigmoid(inf) = 1, sigmoid(-inf) = 0; gelu(-inf) = NaN
//! as in PyTorch.
//!
//! Speed (V8, what the code layout is for): the slice loop must stay free of branches
//! and calls, or V8 re-materialises or reloads every constant on each iteration. So the
//! kernels with rare inputs (exp near over/underflow, log of 0, denormals, negatives,
//! inf, NaN) run a cheap `fast` form over a block of 256 while tracking the block's
//! input range with two integer min/max ops per vector, and redo the block with the
//! general form if it held a rare input; `fast` and the general form give the same bits
//! wherever `fast` is allowed (tested). Clamps use integer min on the bit patterns:
//! LLVM turns float min/max patterns into `f32x4.relaxed_min/max` in the relaxed-simd
//! build, and V8's relaxed min/max drop NaN.
//!
//! No `unsafe`: the simd128 intrinsics on `v128` values are safe functions when the
//! target feature is enabled at compile time, and lanes are loaded from `&[f32; 4]` by
//! value (`f32x4(a[0], a[1], a[2], a[3])`), which LLVM folds into one `v128.load` (the
//! store likewise into one `v128.store`).
#![forbid(unsafe_code)]

use super::lanes::Lanes;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use super::lanes::{quads, F32x4};

// ---------------------------------------------------------------------------------------
// exp

/// 1.5·2^23: adding it to |v| < 2^22 rounds v to an integer (ties to even) and leaves that
/// integer, offset by 0x40_0000, in the low mantissa bits.
const SHIFTER: f32 = 12582912.0;
const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split Cody-Waite style: `LN2_HI` has 9 significant bits, so `n * LN2_HI` is exact
/// for |n| < 2^15 and `x - n * LN2_HI` is exact near the reduced range.
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
/// |x| is clamped to this first: beyond it the result is 0 or inf anyway, and the clamp
/// keeps `n` in the range the two-step scaling handles.
const EXP_CLAMP: f32 = 110.0;
/// e^r ≈ 1 + r + r²·(P0 + P1 r + P2 r² + P3 r³ + P4 r⁴) on |r| ≤ ln2/2: a near-minimax fit
/// of the relative error (3.1e-9 before rounding the coefficients to f32).
const EXP_P: [f32; 5] = [0.49999994, 0.16666521, 0.041668389, 0.0083687110, 0.0013814601];

/// e^r - 1 for |r| ≲ ln2/2.
#[inline(always)]
fn expm1_poly<V: Lanes>(r: V) -> V {
    let p = V::splat(EXP_P[4]);
    let p = p.mul(r).add(V::splat(EXP_P[3]));
    let p = p.mul(r).add(V::splat(EXP_P[2]));
    let p = p.mul(r).add(V::splat(EXP_P[1]));
    let p = p.mul(r).add(V::splat(EXP_P[0]));
    r.add(r.mul(r).mul(p))
}

/// e^r for |r| ≲ ln2/2.
#[inline(always)]
fn exp_poly<V: Lanes>(r: V) -> V {
    V::splat(1.0).add(expm1_poly(r))
}

/// `e · 2^n` for the integer `n` (held as i32 bits in each lane, |n| ≤ 252), rounded once.
#[inline(always)]
fn scale2<V: Lanes>(e: V, n: V) -> V {
    // 2^n as 2^n1 · 2^n2 with n1 = n >> 1: both factors are normal floats, e·2^n1 is
    // exact (for the e of interest), and the second product rounds once, also into the
    // denormals or to inf.
    let n1 = n.shr_i(1);
    let n2 = n.isub(n1);
    let bias = V::splat_bits(127);
    let s1 = n1.iadd(bias).shl(23);
    let s2 = n2.iadd(bias).shl(23);
    e.mul(s1).mul(s2)
}

/// Below this |x|, e^x is a normal float and 2^n can go straight into the exponent bits.
const EXP_FAST: f32 = 86.5;

/// e^x for every input: clamped (NaN passes), then scaled by 2^n in two steps, which
/// overflows to inf and underflows gradually through the denormals to 0 with one
/// rounding. Equal, bit for bit, to [`exp_fast`] where that applies.
#[inline(always)]
fn exp_v<V: Lanes>(x: V) -> V {
    // Lanes whose result rounds to +0 are computed on 0 instead and zeroed after: an
    // underflowing product takes x86's slow microcode path, which made exp of −inf (a
    // masked logit) 6× slower than of ordinary inputs.
    let zero = x.lt(V::splat(EXP_ZERO_BELOW));
    let x_safe = V::select(zero, V::splat(0.0), x);
    let (n, r) = exp_reduce(clamp_abs(x_safe, EXP_CLAMP));
    V::select(zero, V::splat(0.0), scale2(exp_poly(r), n).or(nan_mask(x)))
}

/// Below this, e^x is under half the smallest denormal (2^-150 = e^-103.97), so it rounds
/// to +0; [`scale2`] gives +0 there too.
const EXP_ZERO_BELOW: f32 = -104.0;

/// e^x for |x| < 86.5 only (garbage elsewhere, NaN included): n added to the exponent.
#[inline(always)]
fn exp_fast<V: Lanes>(x: V) -> V {
    let (n, r) = exp_reduce(x);
    exp_poly(r).iadd(n.shl(23))
}

/// n = round(x / ln 2) (as i32 bits in each lane) and r = x - n ln 2.
#[inline(always)]
fn exp_reduce<V: Lanes>(x: V) -> (V, V) {
    let nf = x.mul(V::splat(LOG2E)).round_even();
    // nf + 1.5·2^23 holds n + 0x40_0000 in its low mantissa bits.
    let n = nf.add(V::splat(SHIFTER)).isub(V::splat(SHIFTER));
    let r = x.sub(nf.mul(V::splat(LN2_HI))).sub(nf.mul(V::splat(LN2_LO)));
    (n, r)
}

// ---------------------------------------------------------------------------------------
// log

const SQRT_HALF: f32 = std::f32::consts::FRAC_1_SQRT_2;
const MIN_NORMAL: f32 = f32::MIN_POSITIVE;
/// 2^23, to scale denormals into the normal range.
const TWO_23: f32 = 8388608.0;
/// ln 2 split for log (fdlibm `logf`): `LOG_LN2_HI` ends in zero bits, so k·LOG_LN2_HI is
/// exact for the exponents k of f32.
const LOG_LN2_HI: f32 = 6.9313812256e-01;
const LOG_LN2_LO: f32 = 9.0580006145e-06;
/// log(1+f) = f - f²/2 + s·(f²/2 + R(s²)) with s = f/(2+f), |s| ≤ 0.1716 (fdlibm's
/// `logf` as in FreeBSD: |error of R| < 2^-34.24).
const LOG_LG: [f32; 4] = [0.66666662693, 0.40000972152, 0.28498786688, 0.24279078841];

/// Splits a positive normal x into k (as a float) and f with x = 2^k·(1 + f), 1 + f in
/// [√½, √2).
#[inline(always)]
fn log_reduce<V: Lanes>(x: V) -> (V, V) {
    let t = x.isub(V::splat(SQRT_HALF));
    let k = t.shr_i(23);
    let m = x.isub(t.and(V::splat_bits(0xff80_0000)));
    (k.i32_to_f32(), m.sub(V::splat(1.0)))
}

/// log(2^k·(1 + f)).
#[inline(always)]
fn log_poly<V: Lanes>(k: V, f: V) -> V {
    let s = f.div(V::splat(2.0).add(f));
    let z = s.mul(s);
    let w = z.mul(z);
    let t1 = w.mul(V::splat(LOG_LG[1]).add(w.mul(V::splat(LOG_LG[3]))));
    let t2 = z.mul(V::splat(LOG_LG[0]).add(w.mul(V::splat(LOG_LG[2]))));
    let r = t2.add(t1);
    let hfsq = V::splat(0.5).mul(f).mul(f);
    let lo = s.mul(hfsq.add(r)).add(k.mul(V::splat(LOG_LN2_LO)));
    k.mul(V::splat(LOG_LN2_HI)).sub(hfsq.sub(lo).sub(f))
}

/// log(x) for positive normal finite x only.
#[inline(always)]
fn log_fast<V: Lanes>(x: V) -> V {
    let (k, f) = log_reduce(x);
    log_poly(k, f)
}

/// log(x) for every input; equal to [`log_fast`] where that applies.
#[inline(always)]
fn log_v<V: Lanes>(x: V) -> V {
    // Denormals are scaled into the normal range by 2^23 first.
    let tiny = x.lt(V::splat(MIN_NORMAL));
    let (k, f) = log_reduce(V::select(tiny, x.mul(V::splat(TWO_23)), x));
    let k = k.sub(V::select(tiny, V::splat(23.0), V::splat(0.0)));
    let r = log_poly(k, f);
    // log(inf) = inf, log(±0) = -inf, log(x < 0) = NaN, NaN stays NaN.
    let inf = V::splat(f32::INFINITY);
    let r = V::select(x.eq(inf), inf, r);
    let r = V::select(x.eq(V::splat(0.0)), V::splat(f32::NEG_INFINITY), r);
    let r = V::select(x.lt(V::splat(0.0)), V::splat(f32::NAN), r);
    V::select(x.ne(x), x, r)
}

// ---------------------------------------------------------------------------------------
// tanh, sigmoid

const SIGN: u32 = 0x8000_0000;
#[inline(always)]
fn abs_v<V: Lanes>(x: V) -> V {
    x.and(V::splat_bits(!SIGN))
}

/// x with |x| limited to `limit` (a positive float), the sign kept; NaN becomes ±limit.
///
/// Clamps compare the bit patterns as integers: float min/max patterns (`f32x4.pmin`, or
/// a compare and select) are turned into `f32x4.relaxed_min` by LLVM in the relaxed-simd
/// build, where V8 drops NaNs. Callers restore NaN with [`nan_mask`].
#[inline(always)]
fn clamp_abs<V: Lanes>(x: V, limit: f32) -> V {
    abs_v(x).imin(V::splat(limit)).or(x.and(V::splat_bits(SIGN)))
}

/// All bits set (a NaN) in the lanes where x is NaN, 0 elsewhere: OR it into a result to
/// make NaN inputs give NaN.
#[inline(always)]
fn nan_mask<V: Lanes>(x: V) -> V {
    V::from_mask(x.ne(x))
}

/// tanh(x) = E/(E + 2) with E = e^{2|x|} - 1, the sign put back bitwise. E comes from
/// the exp reduction without the final rounding of e^r (2^n·(e^r - 1) + (2^n - 1)), so
/// it keeps full relative accuracy as x → 0, and tanh needs no separate small-x branch.
#[inline(always)]
fn tanh_v<V: Lanes>(x: V) -> V {
    // 2|x| ≤ 20 keeps n ≤ 29: e^20 - 1 ≈ 4.9e8 already gives tanh = 1 after rounding, as
    // the true tanh does from |x| ≈ 9.01 on. (The integer clamp also maps NaN to 20.)
    let a = abs_v(x);
    let (n, r) = exp_reduce(a.add(a).imin(V::splat(20.0)));
    let s = V::splat(1.0).iadd(n.shl(23)); // 2^n
    let em1 = s.mul(expm1_poly(r)).add(s.sub(V::splat(1.0)));
    let t0 = em1.div(em1.add(V::splat(2.0)));
    // Below |x| = 0.4 one correction step: with h = E/2, tanh = h - h·tanh, so
    // h - h·t0 carries t0's error times h (< 0.62) and brings the worst case from 2.7 to
    // 1.9 ulp. (Above, the step would amplify the error instead.)
    let h = em1.mul(V::splat(0.5));
    let t1 = h.sub(h.mul(t0));
    V::select(a.lt(V::splat(0.4)), t1, t0).or(x.and(V::splat_bits(SIGN))).or(nan_mask(x))
}

/// e^x − 1 with full relative accuracy near 0: 2^n·(e^r − 1) + (2^n − 1) from the exp
/// reduction (as in tanh). |x| is clamped to 25 first: below −25 the result is −1 to f32
/// precision (e^−17.4 is already under half an ulp of 1), above it e^x − 1 = e^x, taken
/// from `exp_v` (which overflows to inf correctly). Tiny |x| returns x (keeps −0).
#[inline(always)]
fn expm1_v<V: Lanes>(x: V) -> V {
    let (n, r) = exp_reduce(clamp_abs(x, 25.0));
    let s = V::splat(1.0).iadd(n.shl(23)); // 2^n, |n| ≤ 37
    let e = s.mul(expm1_poly(r)).add(s.sub(V::splat(1.0)));
    let e = V::select(x.gt(V::splat(25.0)), exp_v(x), e);
    V::select(abs_v(x).lt(V::splat(1e-10)), x, e).or(nan_mask(x))
}

/// [`expm1_v`] for |x| < 25 only: no clamp, no e^x branch, no NaN (the guard keeps NaN out).
#[inline(always)]
fn expm1_fast<V: Lanes>(x: V) -> V {
    let (n, r) = exp_reduce(x);
    let s = V::splat(1.0).iadd(n.shl(23));
    let e = s.mul(expm1_poly(r)).add(s.sub(V::splat(1.0)));
    V::select(abs_v(x).lt(V::splat(1e-10)), x, e)
}

/// σ(x) = 1/(1 + e^{-x}); below x = -86.5, where e^{-x} nears overflow, σ(x) = e^x to
/// f32 precision (1 + e^x rounds to 1), computed as such down into the denormals.
#[inline(always)]
fn sigmoid_v<V: Lanes>(x: V) -> V {
    let s = V::splat(1.0).div(V::splat(1.0).add(exp_v(x.xor(V::splat_bits(SIGN)))));
    V::select(x.lt(V::splat(-EXP_FAST)), exp_v(x), s)
}

/// [`sigmoid_v`] for |x| < 86.5 only (NaN excluded).
#[inline(always)]
fn sigmoid_fast<V: Lanes>(x: V) -> V {
    V::splat(1.0).div(V::splat(1.0).add(exp_fast(x.xor(V::splat_bits(SIGN)))))
}

/// PyTorch's softplus threshold: above it, softplus(x) = x to float precision.
const SOFTPLUS_THRESHOLD: f32 = 20.0;

/// log(1 + x) accurate near 0: log(w) − ((w − 1) − x)/w with w = 1 + x, the quotient
/// putting back what rounding w lost. x = ±0 gives x, −1 gives −∞, ∞ gives ∞, below −1
/// and NaN give NaN.
#[inline(always)]
fn log1p_v<V: Lanes>(x: V) -> V {
    let one = V::splat(1.0);
    let w = one.add(x);
    let lost = w.sub(one).sub(x).div(w);
    let y = log_v(w).sub(lost);
    // At w = 0 and w = ∞ the quotient is 0/0 or ∞/∞: those two by their limits.
    let y = V::select(x.eq(V::splat(-1.0)), V::splat(f32::NEG_INFINITY), y);
    let y = V::select(x.eq(V::splat(f32::INFINITY)), x, y);
    V::select(x.eq(V::splat(0.0)), x, y)
}

/// log1p(u) for u = e^x as log(w) − ((w − 1) − u)/w with w = 1 + u: the quotient puts
/// back what rounding w lost, so the far negative tail gives u itself (≈ e^x, down into
/// the denormals), e^−∞ = 0 gives 0, and NaN stays NaN.
#[inline(always)]
fn softplus_v<V: Lanes>(x: V) -> V {
    let u = exp_v(x);
    let w = V::splat(1.0).add(u);
    let lost = w.sub(V::splat(1.0)).sub(u).div(w);
    V::select(x.gt(V::splat(SOFTPLUS_THRESHOLD)), x, log_v(w).sub(lost))
}

/// [`softplus_v`] for |x| < 20 only: e^x and log(1 + e^x) need none of their general forms.
#[inline(always)]
fn softplus_fast<V: Lanes>(x: V) -> V {
    let u = exp_fast(x);
    let w = V::splat(1.0).add(u);
    let lost = w.sub(V::splat(1.0)).sub(u).div(w);
    log_fast(w).sub(lost)
}

#[inline(always)]
fn silu_v<V: Lanes>(x: V) -> V {
    x.mul(sigmoid_v(x))
}

#[inline(always)]
fn silu_fast<V: Lanes>(x: V) -> V {
    x.mul(sigmoid_fast(x))
}

// ---------------------------------------------------------------------------------------
// GELU

/// 2·√(2/π) and 2·√(2/π)·0.044715: gelu_tanh(x) = x·σ(x·(K0 + K1·x²)).
const GELU_K0: f32 = 1.5957691216057308;
const GELU_K1: f32 = 0.07135481627159;

/// GELU with PyTorch's `approximate='tanh'`: 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))),
/// computed as x·σ(2u), which has no cancellation for negative x.
#[inline(always)]
fn gelu_tanh_v<V: Lanes>(x: V) -> V {
    x.mul(sigmoid_v(gelu_tanh_arg(x)))
}

/// 2u = 2·√(2/π)·(x + 0.044715x³).
#[inline(always)]
fn gelu_tanh_arg<V: Lanes>(x: V) -> V {
    x.mul(V::splat(GELU_K0).add(V::splat(GELU_K1).mul(x.mul(x))))
}

/// [`gelu_tanh_v`] for |x| < 9.9 only, where |2u| < 85.2 keeps σ on its fast form.
#[inline(always)]
fn gelu_tanh_fast<V: Lanes>(x: V) -> V {
    x.mul(sigmoid_fast(gelu_tanh_arg(x)))
}

/// |x| below which gelu uses erf's Taylor-like polynomial (|x|/√2 < 0.5).
const GELU_SMALL: f32 = 0.70710677;
/// |x| is clamped here for the erfc branch: gelu(x) = x for x ≥ 17 and -0 for x ≤ -17
/// (erfc(17/√2) ≈ 1e-64 underflows).
const GELU_CLAMP: f32 = 17.0;
/// erf(y) ≈ y·E(y²) on |y| ≤ 0.5 (near-minimax, relative error 1.4e-9).
const ERF_E: [f32; 5] = [1.1283791, -0.37612608, 0.11282824, -0.026757227, 0.0047180671];
/// erfc(y) ≈ t·exp(-y² + C(t - 0.48)) with t = 1/(1 + y/2), on 0.5 ≤ y ≤ 10.5 (the form
/// of Numerical Recipes' `erfcc`, refitted near-minimax around t = 0.48: error 1.5e-9).
const ERFC_C: [f32; 10] = [
    -0.69862109,
    1.3372666,
    0.21148151,
    -0.36140898,
    -0.18542771,
    0.26591843,
    0.15353037,
    -0.27887928,
    -0.097320586,
    0.25299874,
];
const ERFC_T0: f32 = 0.48;

/// Exact GELU, x·Φ(x) = 0.5·x·(1 + erf(x/√2)), accurate in relative terms in the negative
/// tail too: there it is 0.5·x·erfc(|x|/√2), with y² = x²/2 carried as a sum of two
/// floats into one exp. gelu(inf) = inf, gelu(-inf) = NaN (as PyTorch: -inf·0).
#[inline(always)]
fn gelu_erf_v<V: Lanes>(x: V) -> V {
    let half = V::splat(0.5);
    let one = V::splat(1.0);
    let hx = half.mul(x);
    // |x| < 0.707: 0.5·x·(1 + erf(y)) with erf from its polynomial.
    let y = x.mul(V::splat(SQRT_HALF));
    let y2 = y.mul(y);
    let mut p = V::splat(ERF_E[4]);
    for &c in ERF_E[..4].iter().rev() {
        p = p.mul(y2).add(V::splat(c));
    }
    let small = hx.mul(one.add(y.mul(p)));
    // Otherwise erfc(|y|) = t·exp(-(hi + lo) + C(t - t0)), where hi + lo = x²/2 exactly:
    // ah keeps the top 12 bits of |x| so ah²/2 is exact, lo = (a - ah)(a + ah)/2.
    // (NaN becomes 17 here, and NaN again in x·(1 - q) below.)
    let a = abs_v(x).imin(V::splat(GELU_CLAMP));
    let t = one.div(one.add(half.mul(a.mul(V::splat(SQRT_HALF)))));
    let s = t.sub(V::splat(ERFC_T0));
    // (Horner: Estrin's scheme ran 15% faster here but cost an ulp of accuracy.)
    let mut c = V::splat(ERFC_C[9]);
    for &k in ERFC_C[..9].iter().rev() {
        c = c.mul(s).add(V::splat(k));
    }
    let ah = a.and(V::splat_bits(0xffff_f000));
    let hi = ah.mul(ah).mul(half);
    let lo = c.sub(a.sub(ah).mul(a.add(ah)).mul(half));
    // exp(lo - hi) with the reduction on the pair: lo - hi - n ln2, hi exactly.
    let zs = lo.sub(hi).mul(V::splat(LOG2E)).add(V::splat(SHIFTER));
    let nf = zs.sub(V::splat(SHIFTER));
    let n = zs.isub(V::splat(SHIFTER));
    let r = V::splat(0.0).sub(hi).sub(nf.mul(V::splat(LN2_HI))).add(lo).sub(nf.mul(V::splat(LN2_LO)));
    // x < 0: gelu = 0.5·x·erfc(|y|), scaled by 2^n last so that a result in the
    // denormals is rounded once; x > 0: gelu = x·(1 - 0.5·erfc(|y|)).
    // (-0.5·a rather than 0.5·x: below -17 the result must underflow to -0.)
    let neg = x.lt(V::splat(0.0));
    let g = scale2(exp_poly(r).mul(V::select(neg, V::splat(-0.5).mul(a), half).mul(t)), n);
    let big = V::select(neg, g, x.mul(one.sub(g)));
    let out = V::select(abs_v(x).lt(V::splat(GELU_SMALL)), small, big);
    // PyTorch's 0.5·x·(1 + erf(x/√2)) is -inf·0 = NaN at -inf; so is this.
    V::select(x.eq(V::splat(f32::NEG_INFINITY)), V::splat(f32::NAN), out)
}

// ---------------------------------------------------------------------------------------
// sin, cos

/// 2/π, and π/2 in three parts (Cephes' π/4 split, doubled): `q·PIO2[0]` and `q·PIO2[1]`
/// are exact for q < 2^12, so r = |x| − q·π/2 loses nothing below |x| = [`TRIG_LIMIT`].
const TWO_OVER_PI: f32 = std::f32::consts::FRAC_2_PI;
const PIO2: [f32; 3] = [1.5703125, 4.837512969970703125e-4, 7.54978995489188216e-8];
/// Beyond this |x| (and for ±inf, NaN) sin and cos are libm's: the three-part reduction
/// is exact only below it, and large arguments need Payne–Hanek.
const TRIG_LIMIT: f32 = 4096.0;
/// sin r ≈ r + r³·S(r²) and cos r ≈ 1 − r²/2 + r⁴·C(r²) on |r| ≤ π/4 (Cephes' `sinf`/`cosf`).
const SIN_S: [f32; 3] = [-1.6666654611e-1, 8.3321608736e-3, -1.9515295891e-4];
const COS_C: [f32; 3] = [4.166664568298827e-2, -1.388731625493765e-3, 2.443315711809948e-5];

/// q = round(|x|·2/π) (as i32 bits) and r = |x| − q·π/2, |r| ≤ π/4, for |x| < TRIG_LIMIT.
#[inline(always)]
fn trig_reduce<V: Lanes>(ax: V) -> (V, V) {
    let z = ax.mul(V::splat(TWO_OVER_PI)).add(V::splat(SHIFTER));
    let q = z.sub(V::splat(SHIFTER));
    let r = ax.sub(q.mul(V::splat(PIO2[0]))).sub(q.mul(V::splat(PIO2[1]))).sub(q.mul(V::splat(PIO2[2])));
    (z.isub(V::splat(SHIFTER)), r)
}

/// (sin r, cos r) for |r| ≤ π/4.
#[inline(always)]
fn sin_cos_poly<V: Lanes>(r: V) -> (V, V) {
    let r2 = r.mul(r);
    let s = V::splat(SIN_S[2]).mul(r2).add(V::splat(SIN_S[1])).mul(r2).add(V::splat(SIN_S[0]));
    let c = V::splat(COS_C[2]).mul(r2).add(V::splat(COS_C[1])).mul(r2).add(V::splat(COS_C[0]));
    (r.add(r.mul(r2).mul(s)), V::splat(1.0).sub(V::splat(0.5).mul(r2)).add(r2.mul(r2).mul(c)))
}

/// sin x for |x| < TRIG_LIMIT: quadrant q picks sin or cos of r and the sign.
#[inline(always)]
fn sin_fast<V: Lanes>(x: V) -> V {
    let (q, r) = trig_reduce(abs_v(x));
    let (s, c) = sin_cos_poly(r);
    let odd = q.and(V::splat_bits(1)).igt(V::splat_bits(0));
    // Quadrants 2 and 3 negate; so does a negative x (sin is odd).
    V::select(odd, c, s).xor(q.and(V::splat_bits(2)).shl(30)).xor(x.and(V::splat_bits(SIGN)))
}

/// cos x for |x| < TRIG_LIMIT.
#[inline(always)]
fn cos_fast<V: Lanes>(x: V) -> V {
    let (q, r) = trig_reduce(abs_v(x));
    let (s, c) = sin_cos_poly(r);
    let odd = q.and(V::splat_bits(1)).igt(V::splat_bits(0));
    // cos(r + qπ/2) is −sin r, −cos r, sin r for q = 1, 2, 3: negated when (q + 1) & 2.
    V::select(odd, s, c).xor(q.iadd(V::splat_bits(1)).and(V::splat_bits(2)).shl(30))
}

#[inline(always)]
fn sin_v<V: Lanes>(x: V) -> V {
    V::select(abs_v(x).lt(V::splat(TRIG_LIMIT)), sin_fast(x), x.each(f32::sin))
}

#[inline(always)]
fn cos_v<V: Lanes>(x: V) -> V {
    V::select(abs_v(x).lt(V::splat(TRIG_LIMIT)), cos_fast(x), x.each(f32::cos))
}

/// 1/√(2π): φ(x) = e^(−x²/2)/√(2π).
const INV_SQRT_2PI: f32 = 0.398_942_3;

/// Exact GELU's derivative Φ(x) + x·φ(x), with Φ taken as gelu(x)/x (relative accuracy in
/// the negative tail), 0.5 for |x| < 1e-20. ±inf give NaN (inf·0), as in PyTorch.
#[inline(always)]
fn gelu_erf_grad_v<V: Lanes>(x: V) -> V {
    let cdf = V::select(abs_v(x).lt(V::splat(1e-20)), V::splat(0.5), gelu_erf_v(x).div(x));
    let pdf = exp_v(V::splat(-0.5).mul(x).mul(x)).mul(V::splat(INV_SQRT_2PI));
    cdf.add(x.mul(pdf))
}

// ---------------------------------------------------------------------------------------
// Public scalar functions and slice kernels

/// Bounds on the inputs' i32 bit patterns (of |x| when `abs`) within which a kernel's
/// `fast` form equals its general form.
struct Guard {
    abs: bool,
    min: i32,
    max: i32,
}

impl Guard {
    #[inline(always)]
    fn contains(&self, x: f32) -> bool {
        let b = if self.abs { x.abs() } else { x }.to_bits() as i32;
        self.min <= b && b <= self.max
    }
}

/// One element: `fast` when the guard allows it, else `apply` (the same value either way).
#[inline(always)]
fn scalar<K: Kernel>(x: f32) -> f32 {
    match K::GUARD {
        Some(g) if g.contains(x) => K::fast(x),
        _ => K::apply(x),
    }
}

/// A lane-generic function, so one definition serves the SIMD body and the scalar tail.
trait Kernel {
    /// Every input.
    fn apply<V: Lanes>(x: V) -> V;
    /// A cheaper form, bit for bit equal to `apply` for inputs within `GUARD`.
    #[inline(always)]
    fn fast<V: Lanes>(x: V) -> V {
        Self::apply(x)
    }
    const GUARD: Option<Guard> = None;
}

/// |x| < 86.5: e^x is a normal float.
const EXP_GUARD: Guard = Guard { abs: true, min: 0, max: EXP_FAST.to_bits() as i32 - 1 };
/// |x| < 9.9: |2u| < 85.2 in gelu_tanh.
const GELU_TANH_GUARD: Guard = Guard { abs: true, min: 0, max: 9.9f32.to_bits() as i32 - 1 };
/// Positive, normal and finite.
/// |x| < 20: softplus's fast form.
const SOFTPLUS_GUARD: Guard = Guard { abs: true, min: 0, max: SOFTPLUS_THRESHOLD.to_bits() as i32 - 1 };
/// |x| < 25: expm1's polynomial path alone.
const EXPM1_GUARD: Guard = Guard { abs: true, min: 0, max: 25.0f32.to_bits() as i32 - 1 };
/// |x| < 4096: sin and cos by the three-part reduction.
const TRIG_GUARD: Guard = Guard { abs: true, min: 0, max: TRIG_LIMIT.to_bits() as i32 - 1 };
const LOG_GUARD: Guard = Guard { abs: false, min: MIN_NORMAL.to_bits() as i32, max: f32::MAX.to_bits() as i32 };

macro_rules! kernels {
    ($($(#[$doc:meta])* $scalar:ident, $slice:ident, $kernel:ident => $body:ident $(, fast $fast:expr, $guard:expr)?;)*) => {$(
        struct $kernel;
        impl Kernel for $kernel {
            #[inline(always)]
            fn apply<V: Lanes>(x: V) -> V {
                $body(x)
            }
            $(
                #[inline(always)]
                fn fast<V: Lanes>(x: V) -> V {
                    $fast(x)
                }
                const GUARD: Option<Guard> = Some($guard);
            )?
        }
        $(#[$doc])*
        #[inline]
        pub fn $scalar(x: f32) -> f32 {
            scalar::<$kernel>(x)
        }
        /// The slice form: `out[i] = f(src[i])`, four lanes at a time on wasm simd128.
        /// Panics if the lengths differ.
        pub fn $slice(src: &[f32], out: &mut [f32]) {
            map_lanes::<$kernel>(src, out)
        }
    )*};
}

kernels! {
    /// e^x.
    exp, exp_slice, ExpK => exp_v, fast exp_fast, EXP_GUARD;
    /// Natural logarithm.
    log, log_slice, LogK => log_v, fast log_fast, LOG_GUARD;
    /// log(1 + x), accurate near 0.
    log1p, log1p_slice, Log1pK => log1p_v;
    /// e^x − 1, accurate near 0.
    expm1, expm1_slice, Expm1K => expm1_v, fast expm1_fast, EXPM1_GUARD;
    /// Hyperbolic tangent.
    tanh, tanh_slice, TanhK => tanh_v;
    /// Logistic sigmoid 1/(1 + e^-x).
    sigmoid, sigmoid_slice, SigmoidK => sigmoid_v, fast sigmoid_fast, EXP_GUARD;
    /// softplus log(1 + e^x), x itself above PyTorch's threshold of 20.
    softplus, softplus_slice, SoftplusK => softplus_v, fast softplus_fast, SOFTPLUS_GUARD;
    /// SiLU x·σ(x): the product of the input and [`sigmoid`]'s bits.
    silu, silu_slice, SiluK => silu_v, fast silu_fast, EXP_GUARD;
    /// Exact GELU x·Φ(x) (PyTorch's `gelu(x)`).
    gelu_erf, gelu_erf_slice, GeluErfK => gelu_erf_v;
    /// Sine (libm's beyond |x| = 4096).
    sin, sin_slice, SinK => sin_v, fast sin_fast, TRIG_GUARD;
    /// Cosine (libm's beyond |x| = 4096).
    cos, cos_slice, CosK => cos_v, fast cos_fast, TRIG_GUARD;
    /// Exact GELU's derivative Φ(x) + x·φ(x) (its backward).
    gelu_erf_grad, gelu_erf_grad_slice, GeluErfGradK => gelu_erf_grad_v;
    /// Tanh-approximated GELU (PyTorch's `gelu(x, approximate='tanh')`).
    gelu_tanh, gelu_tanh_slice, GeluTanhK => gelu_tanh_v, fast gelu_tanh_fast, GELU_TANH_GUARD;
}

/// Elements per block: the guarded kernels run `fast` over a block while tracking the
/// inputs' range, and redo the block with the general form if it held a rare input.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
const BLOCK: usize = 256;

#[inline(always)]
fn map_lanes<K: Kernel>(src: &[f32], out: &mut [f32]) {
    assert_eq!(src.len(), out.len(), "map_lanes: length mismatch");
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let (src, out) = {
        let (mut s, mut o) = (src.chunks_exact(BLOCK), out.chunks_exact_mut(BLOCK));
        for (sb, ob) in (&mut s).zip(&mut o) {
            map_block::<K>(sb, ob);
        }
        let (src, out) = (s.remainder(), o.into_remainder());
        let whole = src.len() / 4 * 4;
        map_block::<K>(&src[..whole], &mut out[..whole]);
        (&src[whole..], &mut out[whole..])
    };
    for (o, &x) in out.iter_mut().zip(src) {
        *o = scalar::<K>(x);
    }
}

/// One block (length a multiple of 4): `fast` with a range check, or `apply`.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn map_block<K: Kernel>(src: &[f32], out: &mut [f32]) {
    let Some(g) = K::GUARD else {
        return quads(src, out, K::apply);
    };
    // The least and greatest input bit patterns (as i32) seen in the block.
    let (mut lo, mut hi) = (F32x4::splat_bits(i32::MAX as u32), F32x4::splat_bits(i32::MIN as u32));
    quads(src, out, |x| {
        let b = if g.abs { abs_v(x) } else { x };
        if !g.abs {
            lo = lo.imin(b);
        }
        hi = hi.imax(b);
        K::fast(x)
    });
    let in_range = F32x4::mask_and(
        lo.igt(F32x4::splat_bits((g.min - 1) as u32)),
        F32x4::splat_bits((g.max + 1) as u32).igt(hi),
    );
    if !F32x4::all(in_range) {
        quads(src, out, K::apply);
    }
}

#[cfg(test)]
#[path = "math_tests.rs"]
mod tests;

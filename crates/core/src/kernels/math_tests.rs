//! Accuracy and lane-consistency tests of the vectorised math kernels.

use super::*;

/// Distance from `got` to the exact `want` in units of the f32 ulp at `want` (the
/// spacing of f32 values around it; denormal spacing below the normal range).
fn ulp_err(got: f32, want: f64) -> f64 {
    if got.is_nan() || want.is_nan() {
        return if got.is_nan() && want.is_nan() { 0.0 } else { f64::INFINITY };
    }
    let wf = want as f32; // nearest f32 (inf when beyond the range)
    if wf.is_infinite() || got.is_infinite() {
        return if got == wf { 0.0 } else { f64::INFINITY };
    }
    let a = want.abs().max(f32::MIN_POSITIVE as f64);
    let ulp = 2f64.powi(a.log2().floor() as i32 - 23);
    (got as f64 - want).abs() / ulp
}

/// Every `step`-th f32 bit pattern (both signs) plus a few fixed edge values.
fn sweep(step: u32) -> impl Iterator<Item = f32> {
    let edges = [
        0.0f32, -0.0, 1.0, -1.0, f32::MIN_POSITIVE, f32::MAX, -f32::MAX, 1e-45, f32::INFINITY,
        f32::NEG_INFINITY, f32::NAN, 88.72283, 88.72284, 89.0, -87.33655, -103.97208, -103.9721,
        -104.0, 0.625, 0.62500006, 0.70710677, 0.7071067,
    ];
    (0..=u32::MAX / step).map(move |i| f32::from_bits(i * step)).chain(edges)
}

/// Max ulp error of `f` against `reference` over `sweep(step)` restricted to `keep`.
fn max_ulp(f: fn(f32) -> f32, reference: fn(f64) -> f64, step: u32, keep: fn(f32) -> bool) -> (f64, f32) {
    let mut worst = (0.0, 0.0);
    for x in sweep(step).filter(|&x| keep(x)) {
        let e = ulp_err(f(x), reference(x as f64));
        if e > worst.0 || e.is_nan() {
            worst = (e, x);
        }
    }
    worst
}

const STEP: u32 = 4099; // ~1M inputs spread over all exponents and both signs

#[test]
fn exp_within_1_5_ulp() {
    let (e, at) = max_ulp(exp, f64::exp, STEP, |_| true);
    eprintln!("exp sweep: {e} ulp at {at:e}");
    assert!(e <= 1.5, "exp: {e} ulp at {at:e}");
}

#[test]
fn exp_fine_sweep_of_the_reduced_range_and_edges() {
    // A dense sweep where the polynomial matters and the output range ends.
    for (lo, hi) in [(-1.0f32, 1.0f32), (87.0, 89.0), (-104.5, -86.0)] {
        let mut worst: (f64, f32) = (0.0, 0.0);
        let n = 200_000;
        for i in 0..=n {
            let x = lo + (hi - lo) * i as f32 / n as f32;
            let e = ulp_err(exp(x), (x as f64).exp());
            if e > worst.0 {
                worst = (e, x);
            }
        }
        eprintln!("exp on [{lo}, {hi}]: {} ulp at {:e}", worst.0, worst.1);
        assert!(worst.0 <= 1.5, "exp on [{lo}, {hi}]: {} ulp at {:e}", worst.0, worst.1);
    }
}

#[test]
fn exp_special_values() {
    assert_eq!(exp(f32::NEG_INFINITY), 0.0);
    assert_eq!(exp(f32::INFINITY), f32::INFINITY);
    assert!(exp(f32::NAN).is_nan());
    assert_eq!(exp(0.0), 1.0);
    assert_eq!(exp(-0.0), 1.0);
    assert_eq!(exp(89.0), f32::INFINITY);
    assert_eq!(exp(88.72284), f32::INFINITY); // e^88.72283935546875 > f32::MAX + ulp/2
    assert!(exp(88.72283).is_finite() && exp(88.72283) > 3.4e38);
    assert_eq!(exp(-104.0), 0.0);
    assert_eq!(exp(-200.0), 0.0);
    assert_eq!(exp(-103.0), ((-103.0f64).exp()) as f32); // a denormal, rounded once
    assert_eq!(exp(-87.5), ((-87.5f64).exp()) as f32);
}

#[test]
fn log_within_1_5_ulp() {
    let (e, at) = max_ulp(log, f64::ln, STEP, |x| x > 0.0);
    eprintln!("log sweep: {e} ulp at {at:e}");
    assert!(e <= 1.5, "log: {e} ulp at {at:e}");
    // Densely around 1, where log is small and relative accuracy is hardest.
    let mut worst: (f64, f32) = (0.0, 0.0);
    for i in 0..400_000u32 {
        let x = f32::from_bits(1.0f32.to_bits() - 200_000 + i);
        let e = ulp_err(log(x), (x as f64).ln());
        if e > worst.0 {
            worst = (e, x);
        }
    }
    eprintln!("log near 1: {} ulp at {:e}", worst.0, worst.1);
    assert!(worst.0 <= 1.5, "log near 1: {} ulp at {:e}", worst.0, worst.1);
}

#[test]
fn log_special_values_and_denormals() {
    assert_eq!(log(0.0), f32::NEG_INFINITY);
    assert_eq!(log(-0.0), f32::NEG_INFINITY);
    assert!(log(-1.0).is_nan() && log(-1e-45).is_nan() && log(f32::NEG_INFINITY).is_nan());
    assert!(log(f32::NAN).is_nan());
    assert_eq!(log(f32::INFINITY), f32::INFINITY);
    assert_eq!(log(1.0), 0.0);
    for x in [1e-45f32, 3e-44, 1e-40, 5.8e-39, f32::MIN_POSITIVE, f32::MAX] {
        assert!(ulp_err(log(x), (x as f64).ln()) <= 1.5, "log({x:e}) = {}", log(x));
    }
}

#[test]
fn tanh_within_2_ulp() {
    let (e, at) = max_ulp(tanh, f64::tanh, STEP, |_| true);
    eprintln!("tanh sweep: {e} ulp at {at:e}");
    assert!(e <= 2.0, "tanh: {e} ulp at {at:e}");
    let mut worst: (f64, f32) = (0.0, 0.0);
    for i in 0..=400_000 {
        let x = -10.0 + 20.0 * i as f32 / 400_000.0;
        let e = ulp_err(tanh(x), (x as f64).tanh());
        if e > worst.0 {
            worst = (e, x);
        }
    }
    eprintln!("tanh on [-10, 10]: {} ulp at {:e}", worst.0, worst.1);
    assert!(worst.0 <= 2.0, "tanh on [-10, 10]: {} ulp at {:e}", worst.0, worst.1);
}

#[test]
fn tanh_special_values() {
    assert_eq!(tanh(f32::INFINITY), 1.0);
    assert_eq!(tanh(f32::NEG_INFINITY), -1.0);
    assert!(tanh(f32::NAN).is_nan());
    assert_eq!(tanh(0.0).to_bits(), 0.0f32.to_bits());
    assert_eq!(tanh(-0.0).to_bits(), (-0.0f32).to_bits());
    assert_eq!(tanh(1e-30), 1e-30);
    assert_eq!(tanh(50.0), 1.0);
    assert_eq!(tanh(-50.0), -1.0);
}

fn sigmoid64(x: f64) -> f64 {
    if x >= 0.0 { 1.0 / (1.0 + (-x).exp()) } else { x.exp() / (1.0 + x.exp()) }
}

#[test]
fn sigmoid_within_2_5_ulp() {
    let (e, at) = max_ulp(sigmoid, sigmoid64, STEP, |_| true);
    eprintln!("sigmoid sweep: {e} ulp at {at:e}");
    assert!(e <= 2.5, "sigmoid: {e} ulp at {at:e}");
    let mut worst: (f64, f32) = (0.0, 0.0);
    for i in 0..=400_000 {
        let x = -110.0 + 130.0 * i as f32 / 400_000.0;
        let e = ulp_err(sigmoid(x), sigmoid64(x as f64));
        if e > worst.0 {
            worst = (e, x);
        }
    }
    eprintln!("sigmoid on [-110, 20]: {} ulp at {:e}", worst.0, worst.1);
    assert!(worst.0 <= 2.5, "sigmoid on [-110, 20]: {} ulp at {:e}", worst.0, worst.1);
}

#[test]
fn sigmoid_special_values() {
    assert_eq!(sigmoid(f32::INFINITY), 1.0);
    assert_eq!(sigmoid(f32::NEG_INFINITY), 0.0);
    assert!(sigmoid(f32::NAN).is_nan());
    assert_eq!(sigmoid(0.0), 0.5);
    assert_eq!(sigmoid(-0.0), 0.5);
    assert_eq!(sigmoid(100.0), 1.0);
    assert!(sigmoid(-100.0) > 0.0); // e^-100 ≈ 3.7e-44, a denormal
    assert_eq!(sigmoid(-120.0), 0.0);
}

/// The blocks of the SIMD path take `fast` or `apply` depending on their neighbours:
/// both must give the same bits wherever the guard admits `fast`.
fn fast_matches_apply<K: Kernel>(name: &str) {
    let g = K::GUARD.expect("a guarded kernel");
    let mut checked = 0u64;
    for x in sweep(257).filter(|&x| g.contains(x)) {
        let (f, a) = (K::fast(x), K::apply(x));
        assert!(f.to_bits() == a.to_bits(), "{name}({x:e}): fast {f:e} != apply {a:e}");
        checked += 1;
    }
    assert!(checked > 1000, "{name}: only {checked} inputs in the guard");
}

#[test]
fn guarded_fast_forms_equal_the_general_forms() {
    fast_matches_apply::<ExpK>("exp");
    fast_matches_apply::<LogK>("log");
    fast_matches_apply::<SigmoidK>("sigmoid");
    fast_matches_apply::<GeluTanhK>("gelu_tanh");
    // The guards' edges.
    assert!(EXP_GUARD.contains(86.49999) && EXP_GUARD.contains(-86.49999) && !EXP_GUARD.contains(86.5));
    assert!(!EXP_GUARD.contains(f32::NAN) && !EXP_GUARD.contains(f32::INFINITY));
    assert!(LOG_GUARD.contains(f32::MIN_POSITIVE) && LOG_GUARD.contains(f32::MAX));
    for x in [0.0, -0.0, 1e-45, -1.0, f32::INFINITY, f32::NAN, -f32::NAN] {
        assert!(!LOG_GUARD.contains(x), "{x}");
    }
}

/// A sample of every 65 537th f32 input against f64 `std`; with
/// `WASMGRAD_EXHAUSTIVE=1` every f32 input, in release mode (a few minutes each):
/// `WASMGRAD_EXHAUSTIVE=1 cargo test --release -p wasmgrad-core --lib math::tests::exhaustive -- --nocapture`
fn exhaustive(name: &str, f: fn(f32) -> f32, reference: fn(f64) -> f64, bound: f64) {
    let step = if std::env::var_os("WASMGRAD_EXHAUSTIVE").is_some() { 1 } else { 65_537 };
    let (e, at) = max_ulp(f, reference, step, |x| !x.is_nan());
    eprintln!("{name}: max {e} ulp at {at:e} over all f32");
    assert!(e <= bound, "{name}: {e} ulp at {at:e}");
    for x in (0..=u32::MAX).step_by(1 << 16).map(|b| f32::from_bits(b | 1)).filter(|x| x.is_nan()) {
        assert!(f(x).is_nan(), "{name}({x})");
    }
}

#[test]
fn exhaustive_exp() {
    exhaustive("exp", exp, f64::exp, 1.0);
}

#[test]
fn exhaustive_log() {
    exhaustive("log", log, f64::ln, 1.0);
}

#[test]
fn exhaustive_log1p() {
    exhaustive("log1p", log1p, f64::ln_1p, 2.0);
}

#[test]
fn log1p_near_zero_and_special_values() {
    let mut worst = (0.0, 0.0);
    for i in -100_000..=100_000 {
        let x = i as f32 * 1e-5; // [-1, 1], where w = 1 + x loses the most
        let e = ulp_err(log1p(x), (x as f64).ln_1p());
        if e > worst.0 {
            worst = (e, x);
        }
    }
    eprintln!("log1p on [-1, 1]: {} ulp at {:e}", worst.0, worst.1);
    assert!(worst.0 <= 2.0, "log1p on [-1, 1]: {} ulp at {:e}", worst.0, worst.1);
    assert_eq!(log1p(-0.0).to_bits(), (-0.0f32).to_bits());
    assert_eq!(log1p(0.0).to_bits(), 0);
    assert_eq!(log1p(-1.0), f32::NEG_INFINITY);
    assert_eq!(log1p(f32::INFINITY), f32::INFINITY);
    assert_eq!(log1p(1e-30), 1e-30);
    assert_eq!(log1p(-1e-45), -1e-45);
    for x in [-1.5, f32::NEG_INFINITY, f32::NAN] {
        assert!(log1p(x).is_nan(), "log1p({x})");
    }
}

#[test]
fn exhaustive_expm1() {
    exhaustive("expm1", expm1, f64::exp_m1, 2.0);
}

#[test]
fn expm1_sweep_and_special_values() {
    let (e, at) = max_ulp(expm1, f64::exp_m1, STEP, |_| true);
    eprintln!("expm1 sweep: {e} ulp at {at:e}");
    assert!(e <= 2.0, "expm1: {e} ulp at {at:e}");
    let mut worst = (0.0, 0.0);
    for i in -40_000..=40_000 {
        let x = i as f32 * 1e-3; // [-40, 40], across the n = 0 / ±1 boundaries
        let e = ulp_err(expm1(x), (x as f64).exp_m1());
        if e > worst.0 {
            worst = (e, x);
        }
    }
    eprintln!("expm1 on [-40, 40]: {} ulp at {:e}", worst.0, worst.1);
    assert!(worst.0 <= 2.0, "expm1 on [-40, 40]: {} ulp at {:e}", worst.0, worst.1);
    assert_eq!(expm1(f32::INFINITY), f32::INFINITY);
    assert_eq!(expm1(f32::NEG_INFINITY), -1.0);
    assert!(expm1(f32::NAN).is_nan());
    assert_eq!(expm1(-0.0).to_bits(), (-0.0f32).to_bits());
    assert_eq!(expm1(1e-30), 1e-30);
    assert_eq!(expm1(89.0), f32::INFINITY);
    assert_eq!(expm1(-30.0), -1.0);
}

#[test]
fn exhaustive_tanh() {
    exhaustive("tanh", tanh, f64::tanh, 2.0);
}

#[test]
fn exhaustive_sigmoid() {
    exhaustive("sigmoid", sigmoid, sigmoid64, 2.5);
}

/// erfc in f64 for the GELU reference: a positive series for y < 3, the continued
/// fraction beyond (both ~1e-13 relative or better here).
fn erfc64(y: f64) -> f64 {
    if y < 0.0 {
        return 2.0 - erfc64(-y);
    }
    if y < 3.0 {
        // erf(y) = 2/√π e^{-y²} Σ 2^n y^{2n+1} / (1·3·…·(2n+1))
        let (mut term, mut sum, mut n) = (y, y, 0.0);
        while term > sum * 1e-17 {
            n += 1.0;
            term *= 2.0 * y * y / (2.0 * n + 1.0);
            sum += term;
        }
        return 1.0 - 2.0 / std::f64::consts::PI.sqrt() * (-y * y).exp() * sum;
    }
    // erfc(y) = e^{-y²}/√π · 1/(y + (1/2)/(y + 1/(y + (3/2)/(y + …))))
    let mut f = y;
    for k in (1..80).rev() {
        f = y + (k as f64 / 2.0) / f;
    }
    (-y * y).exp() / std::f64::consts::PI.sqrt() / f
}

fn gelu_erf64(x: f64) -> f64 {
    0.5 * x * erfc64(-x / std::f64::consts::SQRT_2)
}

fn gelu_tanh64(x: f64) -> f64 {
    let u = (2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x);
    x * sigmoid64(2.0 * u)
}

#[test]
fn erfc_reference_is_sane() {
    // Values from tables (Abramowitz & Stegun 7.1).
    // Values from mpmath; relative error ≤ 1e-10 (the series loses digits near y = 3).
    for (y, want) in [(0.5, 0.4795001221869535), (2.0, 0.004677734981047266), (2.9, 4.109787809945886e-05),
        (3.0, 2.209049699858544e-05), (5.0, 1.537459794428035e-12), (9.31, 1.3710500511252979e-39)]
    {
        assert!((erfc64(y) / want - 1.0).abs() < 1e-10, "erfc64({y})");
    }
}

/// Max ulp error of `f` over x = lo..hi in n steps.
fn dense(f: fn(f32) -> f32, reference: fn(f64) -> f64, lo: f32, hi: f32, n: u32) -> (f64, f32) {
    let mut worst: (f64, f32) = (0.0, 0.0);
    for i in 0..=n {
        let x = lo + (hi - lo) * i as f32 / n as f32;
        let e = ulp_err(f(x), reference(x as f64));
        if e > worst.0 {
            worst = (e, x);
        }
    }
    worst
}

#[test]
fn gelu_erf_accuracy() {
    let (e, at) = max_ulp(gelu_erf, gelu_erf64, STEP, |x| x.abs() < 1e30);
    eprintln!("gelu_erf sweep: {e} ulp at {at:e}");
    let (d, dat) = dense(gelu_erf, gelu_erf64, -18.0, 18.0, 400_000);
    eprintln!("gelu_erf dense: {d} ulp at {dat:e}");
    assert!(e <= GELU_ERF_ULP && d <= GELU_ERF_ULP, "gelu_erf: {e} ulp at {at:e}, {d} ulp at {dat:e}");
    assert_eq!(gelu_erf(f32::INFINITY), f32::INFINITY);
    assert!(gelu_erf(f32::NEG_INFINITY).is_nan()); // PyTorch: -inf · 0
    assert!(gelu_erf(f32::NAN).is_nan());
    assert_eq!(gelu_erf(0.0), 0.0);
    assert_eq!(gelu_erf(20.0), 20.0);
    assert_eq!(gelu_erf(-20.0), 0.0);
}

#[test]
fn gelu_tanh_accuracy() {
    // The tail of x·σ(2u) is ill-conditioned in u (relative error ≈ |2u|·δu), so the
    // bound is in ulps only where the result is not far into the tail.
    let (e, at) = max_ulp(gelu_tanh, gelu_tanh64, STEP, |x| x.abs() < 1e30 && x > -3.0);
    eprintln!("gelu_tanh sweep (x > -3): {e} ulp at {at:e}");
    let (d, dat) = dense(gelu_tanh, gelu_tanh64, -3.0, 18.0, 400_000);
    eprintln!("gelu_tanh dense [-3, 18]: {d} ulp at {dat:e}");
    let (t, tat) = dense(gelu_tanh, gelu_tanh64, -10.0, -3.0, 100_000);
    eprintln!("gelu_tanh dense [-10, -3]: {t} ulp at {tat:e}");
    assert!(e <= GELU_TANH_ULP && d <= GELU_TANH_ULP, "gelu_tanh: {e} ulp at {at:e}, {d} ulp at {dat:e}");
    assert_eq!(gelu_tanh(f32::INFINITY), f32::INFINITY);
    assert!(gelu_tanh(f32::NEG_INFINITY).is_nan());
    assert!(gelu_tanh(f32::NAN).is_nan());
    assert_eq!(gelu_tanh(0.0), 0.0);
    assert_eq!(gelu_tanh(20.0), 20.0);
    assert_eq!(gelu_tanh(-20.0), 0.0);
}

const GELU_ERF_ULP: f64 = 100.0;
const GELU_TANH_ULP: f64 = 100.0;

fn gelu_erf_grad64(x: f64) -> f64 {
    0.5 * erfc64(-x / std::f64::consts::SQRT_2) + x * (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

#[test]
fn gelu_erf_grad_accuracy() {
    // Near its zero (x ≈ -0.75) the derivative is a difference of two terms of about 0.3, so
    // the bound there is absolute; in the tail it is relative (the terms no longer cancel).
    let mut worst_abs: (f64, f32) = (0.0, 0.0);
    let mut worst_tail: (f64, f32) = (0.0, 0.0);
    for x in sweep(STEP).filter(|x| x.abs() < 40.0).chain((0..=400_000).map(|i| -18.0 + 36.0 * i as f32 / 400_000.0)) {
        let (got, want) = (gelu_erf_grad(x), gelu_erf_grad64(x as f64));
        let abs = (got as f64 - want).abs();
        if abs > worst_abs.0 {
            worst_abs = (abs, x);
        }
        if x < -3.0 {
            let e = ulp_err(got, want);
            if e > worst_tail.0 {
                worst_tail = (e, x);
            }
        }
    }
    eprintln!("gelu_erf_grad: {:e} absolute at {:e}; {} ulp at {:e} below -3", worst_abs.0, worst_abs.1, worst_tail.0, worst_tail.1);
    assert!(worst_abs.0 <= 3e-7 && worst_tail.0 <= GELU_ERF_ULP, "gelu_erf_grad: {worst_abs:?} absolute, {worst_tail:?} ulp in the tail");
    assert_eq!(gelu_erf_grad(0.0), 0.5);
    assert_eq!(gelu_erf_grad(-1e-30), 0.5);
    assert_eq!(gelu_erf_grad(20.0), 1.0);
    assert_eq!(gelu_erf_grad(-20.0), 0.0);
    for x in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        assert!(gelu_erf_grad(x).is_nan(), "gelu_erf_grad({x}) is NaN, as torch's inf·0");
    }
}

#[test]
fn sin_cos_accuracy_and_special_values() {
    for (name, f, reference) in [("sin", sin as fn(f32) -> f32, f64::sin as fn(f64) -> f64), ("cos", cos, f64::cos)] {
        // Absolute near the zeros (sin x·ulp-sized relative errors there are meaningless for
        // an argument that is itself rounded), relative elsewhere.
        let mut worst: (f64, f32) = (0.0, 0.0);
        let dense = (0..=2_000_000).map(|i| -5000.0 + 10_000.0 * i as f32 / 2_000_000.0);
        let small = (0..=200_000).map(|i| -8.0 + 16.0 * i as f32 / 200_000.0);
        for x in sweep(STEP).chain(dense).chain(small).filter(|x| x.is_finite()) {
            let want = reference(x as f64);
            let got = f(x);
            let e = if want.abs() < 1e-3 { (got as f64 - want).abs() / 2f64.powi(-24) } else { ulp_err(got, want) };
            if e > worst.0 {
                worst = (e, x);
            }
        }
        eprintln!("{name}: {} ulp at {:e}", worst.0, worst.1);
        assert!(worst.0 <= 2.0, "{name}: {} ulp at {:e}", worst.0, worst.1);
        for x in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            assert!(f(x).is_nan(), "{name}({x})");
        }
    }
    assert_eq!(sin(-0.0).to_bits(), (-0.0f32).to_bits());
    assert_eq!(sin(0.0).to_bits(), 0);
    assert_eq!(cos(0.0), 1.0);
    assert_eq!(cos(-0.0), 1.0);
    assert_eq!(sin(1e-30), 1e-30);
    assert_eq!(sin(1e30), 1e30f32.sin());
}

#[test]
fn trig_fast_forms_equal_the_general_forms() {
    fast_matches_apply::<Expm1K>("expm1");
    fast_matches_apply::<SinK>("sin");
    fast_matches_apply::<CosK>("cos");
}

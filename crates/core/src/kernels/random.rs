//! A small seedable generator (xoshiro128++), so `manualSeed(n)` reproduces exactly.

use super::math;
use std::cell::Cell;

thread_local! {
    static STATE: Cell<[u32; 4]> = const { Cell::new([0x9E37_79B9, 0x243F_6A88, 0xB7E1_5162, 0x0123_4567]) };
}

fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub fn manual_seed(seed: u64) {
    let mut s = seed;
    let a = splitmix64(&mut s);
    let b = splitmix64(&mut s);
    STATE.with(|st| st.set([a as u32, (a >> 32) as u32, b as u32, (b >> 32) as u32 | 1]));
}

/// One step of xoshiro128++.
#[inline(always)]
fn step(s: &mut [u32; 4]) -> u32 {
    let result = s[0].wrapping_add(s[3]).rotate_left(7).wrapping_add(s[0]);
    let t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s[3].rotate_left(11);
    result
}

/// Runs `f` on the generator's state, which stays in locals meanwhile: a fill keeps it in
/// registers instead of reading and writing the thread-local per element (8 ns an element).
fn with_state<R>(f: impl FnOnce(&mut [u32; 4]) -> R) -> R {
    STATE.with(|st| {
        let mut s = st.get();
        let r = f(&mut s);
        st.set(s);
        r
    })
}

pub fn next_u32() -> u32 {
    with_state(step)
}

/// Uniform in [0, 1) with 24 random bits (every f32 step in that range).
#[inline(always)]
fn unit(bits: u32) -> f32 {
    (bits >> 8) as f32 * (1.0 / (1u32 << 24) as f32)
}

pub fn uniform() -> f32 {
    unit(next_u32())
}

pub fn normal() -> f32 {
    let mut v = [0.0];
    fill_normal(&mut v);
    v[0]
}

/// Fills `out` with [`uniform`]'s draws, in the order a call per element makes them.
pub fn fill_uniform(out: &mut [f32]) {
    with_state(|s| out.iter_mut().for_each(|v| *v = unit(step(s))))
}

/// Normals per chunk: the uniforms of a chunk are drawn first, then mapped by the
/// vectorised `log` and `cos`.
const NORMAL_CHUNK: usize = 256;

/// Fills `out` with standard normals by Box-Muller, √(−2 ln u₁)·cos(2π u₂), one value per
/// pair of uniforms (u₁ = 1 − uniform, in (0, 1], so the log never sees 0), drawn in the
/// order u₁, u₂ for each value.
pub fn fill_normal(out: &mut [f32]) {
    let (mut radius, mut angle) = ([0.0f32; NORMAL_CHUNK], [0.0f32; NORMAL_CHUNK]);
    for chunk in out.chunks_mut(NORMAL_CHUNK) {
        let n = chunk.len();
        let (r, a) = (&mut radius[..n], &mut angle[..n]);
        with_state(|s| {
            for (r, a) in r.iter_mut().zip(a.iter_mut()) {
                *r = 1.0 - unit(step(s));
                *a = std::f32::consts::TAU * unit(step(s));
            }
        });
        math::log_slice(r, chunk);
        math::cos_slice(a, r);
        for (o, &c) in chunk.iter_mut().zip(r.iter()) {
            *o = (-2.0 * *o).sqrt() * c;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_draw_the_sequence_of_single_draws() {
        manual_seed(7);
        let single: Vec<f32> = (0..37).map(|i| if i % 3 == 0 { normal() } else { uniform() }).collect();
        manual_seed(7);
        let mut filled = Vec::new();
        for i in 0..37 {
            let mut v = [0.0f32];
            if i % 3 == 0 { fill_normal(&mut v) } else { fill_uniform(&mut v) }
            filled.push(v[0]);
        }
        assert_eq!(single, filled);
        manual_seed(9);
        let one_by_one: Vec<f32> = (0..1000).map(|_| uniform()).collect();
        manual_seed(9);
        let mut bulk = vec![0.0f32; 1000];
        fill_uniform(&mut bulk[..600]);
        fill_uniform(&mut bulk[600..]);
        assert_eq!(one_by_one, bulk);
    }

    #[test]
    fn normals_are_box_muller_of_the_uniform_pairs() {
        let n = 1000;
        manual_seed(3);
        let want: Vec<f64> = (0..n)
            .map(|_| {
                let (u1, u2) = (1.0 - f64::from(uniform()), f64::from(uniform()));
                (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
            })
            .collect();
        manual_seed(3);
        let mut got = vec![0.0f32; n];
        fill_normal(&mut got);
        for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
            // f32 log and cos of a rounded 2π·u₂: a few 1e-7 relative, more near cos's zeros.
            assert!((f64::from(g) - w).abs() <= 2e-6 * w.abs().max(1.0), "normal {i}: {g} vs {w}");
        }
        let mut many = vec![0.0f32; 200_000];
        fill_normal(&mut many);
        let mean = many.iter().map(|&v| f64::from(v)).sum::<f64>() / many.len() as f64;
        let var = many.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / many.len() as f64;
        assert!(mean.abs() < 0.01 && (var - 1.0).abs() < 0.02, "mean {mean}, variance {var}");
    }
}

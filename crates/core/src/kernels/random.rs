//! A small seedable generator (xoshiro128++), so `manualSeed(n)` reproduces exactly.

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

pub fn next_u32() -> u32 {
    STATE.with(|st| {
        let mut s = st.get();
        let result = s[0].wrapping_add(s[3]).rotate_left(7).wrapping_add(s[0]);
        let t = s[1] << 9;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(11);
        st.set(s);
        result
    })
}

/// Uniform in [0, 1) with 24 random bits (every f32 step in that range).
pub fn uniform() -> f32 {
    (next_u32() >> 8) as f32 * (1.0 / (1u32 << 24) as f32)
}

/// Standard normal by Box-Muller (one value per pair of uniforms; simplicity over speed).
pub fn normal() -> f32 {
    let u1 = 1.0 - uniform() as f64; // (0, 1]: log never sees 0
    let u2 = uniform() as f64;
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

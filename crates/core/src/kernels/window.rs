//! The 2-D sliding-window geometry shared by convolution (`kernels::conv`) and pooling
//! (`kernels::pool`).
#![forbid(unsafe_code)]

/// A 2-D sliding window over `[H, W]` planes, shared by convolution and pooling: input
/// and output sizes, kernel, stride, padding before the first row / column (padding after
/// only changes `oh` / `ow`) and dilation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub h: usize,
    pub w: usize,
    pub oh: usize,
    pub ow: usize,
    pub kh: usize,
    pub kw: usize,
    pub sh: usize,
    pub sw: usize,
    pub ph: usize,
    pub pw: usize,
    pub dh: usize,
    pub dw: usize,
}

impl Window {
    /// From `[rows, columns]` pairs of each quantity.
    pub fn new(size: [usize; 2], out: [usize; 2], kernel: [usize; 2], stride: [usize; 2], pad: [usize; 2], dilation: [usize; 2]) -> Window {
        let [h, w] = size;
        let [oh, ow] = out;
        let [kh, kw] = kernel;
        let [sh, sw] = stride;
        let [ph, pw] = pad;
        let [dh, dw] = dilation;
        Window { h, w, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw }
    }
}

/// Output positions `o` in `0..out` whose input index `o·stride + offset − pad` lies in
/// `0..size`, as a half-open range (empty ranges come back as `(x, x)`).
pub fn valid_range(out: usize, stride: usize, offset: usize, pad: usize, size: usize) -> (usize, usize) {
    let lo = if pad > offset { (pad - offset).div_ceil(stride) } else { 0 };
    let hi = if size + pad > offset { (size + pad - offset).div_ceil(stride) } else { 0 };
    let hi = hi.min(out);
    (lo.min(hi), hi)
}

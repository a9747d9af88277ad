//! Numeric loops over raw slices and strides. Kernels know nothing about autograd.

pub mod conv;
pub mod conv_block;
pub mod conv_parallel;
pub mod conv_single;
pub mod elementwise;
pub mod extreme;
pub mod lanes;
pub mod math;
pub mod matmul;
pub mod matmul_parallel;
pub mod pool;
pub mod pow;
mod pool_avg;
pub mod random;
pub mod reduce;
pub mod softmax;
pub mod vector;
pub mod window;

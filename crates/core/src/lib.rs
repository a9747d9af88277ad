//! wasmgrad's core: tensors (layout over shared storage), kernels, the op table and the
//! gradient tape. Safe Rust only; the FFI crate wraps it for WebAssembly.

pub mod autograd;
pub mod error;
pub mod kernels;
pub mod layout;
pub mod memory;
pub mod ops;
pub mod parallel;
pub mod storage;
pub mod tensor;

pub use error::{Error, ErrorKind, Result};
pub use storage::DType;
pub use tensor::Tensor;

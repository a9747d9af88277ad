//! Errors that cross the boundary as a status code plus a message.
//!
//! Every fallible core function returns `Result<T>`; nothing in the core panics on user
//! input, because a panic on wasm32 is an uncatchable trap that kills the instance.

use std::fmt;

/// Error categories; the numeric value is the status code the FFI reports and the TS
/// layer maps to an error class, so the values are part of the boundary's contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum ErrorKind {
    /// Incompatible or invalid shapes.
    Shape = 1,
    /// A handle that was disposed, or never existed.
    Disposed = 2,
    /// An operation that does not support the tensor's dtype.
    DType = 3,
    /// Autograd misuse: backward twice, non-scalar backward, in-place on a needed tensor.
    Autograd = 4,
    /// An allocation that could not be satisfied.
    OutOfMemory = 5,
    /// Any other invalid argument (bad axis, unknown op id, NaN where a count is needed).
    Argument = 6,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into() }
    }
    pub fn shape(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Shape, message)
    }
    pub fn dtype(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::DType, message)
    }
    pub fn autograd(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Autograd, message)
    }
    pub fn argument(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Argument, message)
    }
    pub fn oom(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::OutOfMemory, message)
    }
    pub fn disposed(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Disposed, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Formats a shape the way the error messages and PyTorch print it: `[2, 3]`.
pub fn fmt_shape(shape: &[usize]) -> String {
    format!("{shape:?}")
}

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

/// Formats a number for a message as JavaScript prints it in the common cases (`3`, `0.5`,
/// `NaN`, `Infinity`, `1e-7`): whole numbers exactly, others to 15 significant digits.
/// Written out instead of using `{}` on floats, whose shortest-digits machinery (Grisu
/// with a Dragon4 fallback) is about 7 kB of the gzipped wasm and is needed nowhere else.
pub fn fmt_number(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let sign = if v.is_sign_negative() && v != 0.0 { "-" } else { "" };
    let a = v.abs();
    if a.fract() == 0.0 && a < 9.0e15 {
        return format!("{sign}{}", a as u64);
    }
    // 15 significant digits: a ≈ digits · 10^(exp − 14), digits in [10^14, 10^15).
    let mut exp = a.log10().floor() as i32;
    let scaled = |exp: i32| {
        // Divide by 10^k rather than multiply by 10^-k (which is not representable), and
        // scale denormals up in two steps (10^k overflows past k = 308).
        let k = 14 - exp;
        let v = if k < 0 { a / 10f64.powi(-k) } else if k > 300 { a * 1e300 * 10f64.powi(k - 300) } else { a * 10f64.powi(k) };
        v.round() as u64
    };
    let mut digits = scaled(exp);
    if digits >= 1_000_000_000_000_000 {
        exp += 1;
        digits = scaled(exp);
    } else if digits < 100_000_000_000_000 {
        exp -= 1;
        digits = scaled(exp);
    }
    let text = digits.to_string();
    let text = text.trim_end_matches('0');
    let (lead, rest) = text.split_at(1);
    if (-6..21).contains(&exp) {
        if exp < 0 {
            return format!("{sign}0.{}{text}", "0".repeat((-exp - 1) as usize));
        }
        let whole = exp as usize + 1;
        if text.len() <= whole {
            return format!("{sign}{text}{}", "0".repeat(whole - text.len()));
        }
        return format!("{sign}{}.{}", &text[..whole], &text[whole..]);
    }
    let point = if rest.is_empty() { String::new() } else { format!(".{rest}") };
    format!("{sign}{lead}{point}e{}{exp}", if exp > 0 { "+" } else { "" })
}

#[cfg(test)]
mod number_tests {
    use super::fmt_number;

    #[test]
    fn numbers_print_as_javascript_prints_them() {
        let cases: [(f64, &str); 16] = [
            (3.0, "3"), (-0.0, "0"), (0.5, "0.5"), (-2.25, "-2.25"), (0.1, "0.1"), (1.0 / 3.0, "0.333333333333333"),
            (f64::NAN, "NaN"), (f64::INFINITY, "Infinity"), (f64::NEG_INFINITY, "-Infinity"), (1e-7, "1e-7"),
            (1.5e-9, "1.5e-9"), (0.000123, "0.000123"), (4294967295.0, "4294967295"), (1e21, "1e+21"),
            (123456.789, "123456.789"), (-1e300, "-1e+300"),
        ];
        for (v, want) in cases {
            assert_eq!(fmt_number(v), want, "{v:e}");
        }
        // At the ends of the range the powers of ten are rounded: the last digit may differ.
        assert!(fmt_number(f64::MAX).starts_with("1.7976931348623") && fmt_number(f64::MAX).ends_with("e+308"));
        assert!(fmt_number(5e-324).starts_with("4.940656458412") && fmt_number(5e-324).ends_with("e-324"));
    }
}

//! Whether ops record graph nodes (PyTorch's grad mode).

use std::cell::Cell;

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(Cell::get)
}

/// Sets grad mode and returns the previous value.
pub fn set_grad_enabled(enabled: bool) -> bool {
    GRAD_ENABLED.with(|g| g.replace(enabled))
}

/// Disables grad mode until dropped (restoring the previous mode, also on early return).
pub struct NoGradGuard {
    _mode: GradModeGuard,
}

impl NoGradGuard {
    pub fn new() -> Self {
        NoGradGuard { _mode: GradModeGuard::new(false) }
    }
}

impl Default for NoGradGuard {
    fn default() -> Self {
        Self::new()
    }
}

/// Sets grad mode until dropped, restoring the previous mode.
pub struct GradModeGuard {
    previous: bool,
}

impl GradModeGuard {
    pub fn new(enabled: bool) -> Self {
        GradModeGuard { previous: set_grad_enabled(enabled) }
    }
}

impl Drop for GradModeGuard {
    fn drop(&mut self) {
        set_grad_enabled(self.previous);
    }
}

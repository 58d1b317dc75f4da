//! Turning candle's errors (and the rare candle panic) into sfda's
//! [`Error::Backend`](sfda_core::Error::Backend), tagged with the op that failed.

use std::panic::{catch_unwind, AssertUnwindSafe};

use sfda_core::{Error, Result};

/// The backend name used in every error this crate raises.
pub(crate) const BACKEND: &str = "candle";

/// A backend error for `op` with candle's (or our own) message.
pub(crate) fn backend_error(op: &'static str, msg: impl Into<String>) -> Error {
    Error::Backend {
        backend: BACKEND,
        op,
        msg: msg.into(),
    }
}

/// Adds the failing op's name to a candle result.
pub(crate) trait CandleResultExt<T> {
    /// Maps a candle error into [`Error::Backend`] for `op`.
    fn op(self, op: &'static str) -> Result<T>;
}

impl<T> CandleResultExt<T> for candle_core::Result<T> {
    fn op(self, op: &'static str) -> Result<T> {
        self.map_err(|e| backend_error(op, message(&e)))
    }
}

/// candle's message without the backtrace it attaches when
/// `RUST_BACKTRACE` is set (that belongs in a debugger, not in a user error).
fn message(e: &candle_core::Error) -> String {
    match e {
        candle_core::Error::WithBacktrace { inner, .. } => message(inner),
        other => other.to_string(),
    }
}

/// Runs `f`, turning a panic inside candle (or cudarc) into an error for `op`.
/// Used around the few calls that are known to be able to panic: backward
/// (an internal `expect`) and CUDA driver loading.
pub(crate) fn no_panic<T>(op: &'static str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic payload".to_string());
            Err(backend_error(op, format!("candle panicked: {msg}")))
        }
    }
}

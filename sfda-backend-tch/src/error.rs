//! Conversion of tch errors into sfda's [`Error::Backend`], naming the op.

use sfda_core::{Error, Result};
use tch::TchError;

use crate::BACKEND_NAME;

/// Adds the failing op's name to a tch result.
pub(crate) trait TchResultExt<T> {
    /// Maps a [`TchError`] into [`Error::Backend`] for `op`.
    fn op(self, op: &'static str) -> Result<T>;
}

impl<T> TchResultExt<T> for std::result::Result<T, TchError> {
    fn op(self, op: &'static str) -> Result<T> {
        self.map_err(|e| backend_error(op, &e))
    }
}

/// An [`Error::Backend`] for `op` with tch's message, minus the C++ stack trace.
pub(crate) fn backend_error(op: &'static str, e: &TchError) -> Error {
    Error::Backend {
        backend: BACKEND_NAME,
        op,
        msg: clean_message(&e.to_string()),
    }
}

/// libtorch appends "Exception raised from ..." and a frame list to its
/// messages; users need the first part only.
fn clean_message(msg: &str) -> String {
    let cut = msg.find("\nException raised from").unwrap_or(msg.len());
    msg[..cut].trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_cpp_stack_trace() {
        let raw = "Internal torch error: shapes cannot be multiplied (2x3 and 4x5)\n\
                   Exception raised from meta at aten/src/ATen/native/LinearAlgebra.cpp:191 \
                   (most recent call first):\nframe #0: c10::Error::Error";
        assert_eq!(
            clean_message(raw),
            "Internal torch error: shapes cannot be multiplied (2x3 and 4x5)"
        );
    }
}

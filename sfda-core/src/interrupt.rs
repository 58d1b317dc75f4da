//! A stop request (Ctrl-C, SIGTERM) that long loops honour between steps:
//! the step in flight finishes, the run writes its resumable state, and the
//! loop returns [`Error::Interrupted`] saying how to continue.
//!
//! The library never installs signal handlers itself; the `sfda` binary does
//! (it points SIGINT and SIGTERM at [`flag`]), and an embedding program may
//! do the same or call [`request`] from its own code. A second signal while a
//! stop is pending is the binary's business (it exits at once).
//!
//! [`Error::Interrupted`]: crate::Error::Interrupted

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::sync::OnceLock;

static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// The process-wide stop flag, for signal handlers to set (e.g. with
/// `signal_hook::flag::register`).
pub fn flag() -> Arc<AtomicBool> {
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)))
        .clone()
}

/// Asks every running loop to stop after its current step.
pub fn request() {
    flag().store(true, Ordering::SeqCst);
}

/// Whether a stop was requested.
pub fn requested() -> bool {
    FLAG.get().is_some_and(|f| f.load(Ordering::SeqCst))
}

/// Withdraws a stop request (an embedding program that goes on after
/// handling one; tests).
pub fn clear() {
    if let Some(f) = FLAG.get() {
        f.store(false, Ordering::SeqCst);
    }
}

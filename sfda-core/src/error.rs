//! The one error type of sfda. Every fallible function of the library returns
//! [`Result`]; variants are structured so that a message names what failed
//! (the op, the file, the config key) and, where it can, what to do about it.

use std::path::PathBuf;

/// Errors raised by sfda.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An op failed inside a backend (tch or candle).
    #[error("{backend} backend: {op} failed: {msg}")]
    Backend {
        /// Backend name (`tch`, `candle`).
        backend: &'static str,
        /// The op that failed.
        op: &'static str,
        /// The backend's own message.
        msg: String,
    },
    /// Operands of an op had incompatible shapes.
    #[error("shape mismatch in {op}: {msg}")]
    Shape {
        /// The op that checked the shapes.
        op: &'static str,
        /// What was expected and what was found.
        msg: String,
    },
    /// A device was requested that this backend cannot use.
    #[error("device {device} is not available for the {backend} backend: {reason}")]
    DeviceUnavailable {
        /// Backend name.
        backend: &'static str,
        /// The requested device, e.g. `cuda:0`.
        device: String,
        /// Why it cannot be used and what to do.
        reason: String,
    },
    /// A device string could not be parsed.
    #[error("invalid device '{0}': expected 'cpu' or 'cuda:N' (e.g. cuda:0)")]
    InvalidDevice(String),
    /// No backend with this name is compiled into the binary.
    #[error("unknown backend '{name}'; compiled backends: {known}")]
    UnknownBackend {
        /// The requested name.
        name: String,
        /// Comma-separated list of the registered names.
        known: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A configuration value or key is wrong.
    #[error("config error at '{key}': {msg}")]
    Config {
        /// Dotted key path of the offending entry.
        key: String,
        /// What is wrong and what is allowed.
        msg: String,
    },
    /// A data file or folder is wrong (corrupt image, wrong label size...).
    #[error("data error in {path}: {msg}")]
    Data {
        /// The offending file or folder.
        path: PathBuf,
        /// What is wrong and what to do.
        msg: String,
    },
    /// A checkpoint is missing, corrupt or does not match the model.
    #[error("checkpoint {path}: {msg}")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// A plugin could not be loaded.
    #[error("plugin {path}: {msg}")]
    Plugin {
        /// The library file.
        path: PathBuf,
        /// What is wrong and how to rebuild it.
        msg: String,
    },
    /// A stop was requested (Ctrl-C, SIGTERM; see [`crate::interrupt`]):
    /// the run finished its step and wrote what `resume` says.
    #[error("interrupted after {what}; {resume}")]
    Interrupted {
        /// Where it stopped (e.g. `iteration 12 of 200`).
        what: String,
        /// What was saved and how to continue.
        resume: String,
    },
    /// A training loss became NaN or infinite; names the first term that was
    /// (see [`crate::diverged`]).
    #[error("the {step} loss is {value} at {at}: its first non-finite term is '{term}'; {hint}")]
    Diverged {
        /// The step (`generator`, `student`, `discriminator`, `source training`).
        step: String,
        /// Where (`warm-up step 3`, `iteration 12`, `step 40`).
        at: String,
        /// The first term (in the objective's order) that is not finite.
        term: String,
        /// The step's total loss.
        value: f32,
        /// What to change.
        hint: String,
    },
    /// A run folder cannot be written: another process holds it, or it holds
    /// another run's results that would be replaced.
    #[error("{path}: {msg}")]
    RunFolder {
        /// The run folder.
        path: PathBuf,
        /// Why, and the option that allows it.
        msg: String,
    },
    /// Any other error, with context.
    #[error("{0}")]
    Msg(String),
    /// An error with a context message prepended.
    #[error("{context}: {source}")]
    Context {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: Box<Error>,
    },
}

/// `Result` with sfda's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A plain message error.
    pub fn msg(m: impl Into<String>) -> Self {
        Error::Msg(m.into())
    }

    /// An I/O error attached to a path.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A shape error for `op`.
    pub fn shape(op: &'static str, msg: impl Into<String>) -> Self {
        Error::Shape {
            op,
            msg: msg.into(),
        }
    }
}

/// Adds context to errors, like `anyhow::Context`, keeping sfda's [`Error`].
pub trait Context<T> {
    /// Wraps the error with a fixed message.
    fn context(self, msg: impl Into<String>) -> Result<T>;
    /// Wraps the error with a lazily built message.
    fn with_context<F: FnOnce() -> String>(self, f: F) -> Result<T>;
}

impl<T> Context<T> for Result<T> {
    fn context(self, msg: impl Into<String>) -> Result<T> {
        self.map_err(|e| Error::Context {
            context: msg.into(),
            source: Box::new(e),
        })
    }
    fn with_context<F: FnOnce() -> String>(self, f: F) -> Result<T> {
        self.map_err(|e| Error::Context {
            context: f(),
            source: Box::new(e),
        })
    }
}

/// Returns early with an [`Error::Msg`] built from a format string.
///
/// ```
/// fn check(x: usize) -> sfda_core::Result<()> {
///     if x == 0 {
///         sfda_core::bail!("x must be positive, got {x}");
///     }
///     Ok(())
/// }
/// assert!(check(0).is_err());
/// ```
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::Error::Msg(format!($($arg)*)))
    };
}

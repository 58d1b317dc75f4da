//! A JSON-lines training log, rewritten atomically after every record so a
//! crash never leaves a half-written file.

use std::path::{Path, PathBuf};

use crate::data::write_atomic;
use crate::Result;

/// Accumulates JSON records and keeps them on disk as a JSON array.
#[derive(Debug)]
pub struct JsonLog {
    path: PathBuf,
    records: Vec<serde_json::Value>,
}

impl JsonLog {
    /// A log written to `path`, starting with `records` (e.g. when resuming).
    pub fn new(path: &Path, records: Vec<serde_json::Value>) -> Self {
        JsonLog {
            path: path.to_path_buf(),
            records,
        }
    }
    /// Appends a record and rewrites the file.
    pub fn push(&mut self, record: serde_json::Value) -> Result<()> {
        self.records.push(record);
        let text = serde_json::to_string_pretty(&self.records)
            .map_err(|e| crate::Error::msg(format!("serialising the log: {e}")))?;
        write_atomic(&self.path, text.as_bytes())
    }
    /// The records so far.
    pub fn records(&self) -> &[serde_json::Value] {
        &self.records
    }
}

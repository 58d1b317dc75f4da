//! What a finished cell and the source model measured: the records the
//! runner (`run.rs`) writes and the tables (`tables.rs`) read, so neither
//! depends on the other.

use serde::{Deserialize, Serialize};

use crate::experiment::grid::Cell;
use crate::metrics::SegMetrics;

/// What one finished cell measured (`<out>/cells/<id>.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CellResult {
    /// The cell as planned (config included).
    pub cell: Cell,
    /// [`Cell::hash`] when it ran: a changed grid entry reruns the cell.
    pub hash: String,
    /// Method name as the report writes it.
    pub method: String,
    /// Scores on the evaluation set (target val; source val for transfer).
    pub metrics: SegMetrics,
    /// Wall time of the adaptation loop, seconds.
    pub seconds: f64,
    /// Student steps done.
    pub iterations: usize,
    /// Backend and device it ran on.
    pub backend: String,
}

/// The source model and its scores.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceInfo {
    /// Checkpoint path as given or cached.
    pub checkpoint: String,
    /// Architecture.
    pub arch: String,
    /// Training steps (when the runner trained it).
    pub iterations: Option<usize>,
    /// Training seconds (measured when trained, read from its training log
    /// when cached).
    pub train_seconds: Option<f64>,
    /// On source val.
    pub source_val: SegMetrics,
    /// On target val (benchmark severity).
    pub target_val: SegMetrics,
}

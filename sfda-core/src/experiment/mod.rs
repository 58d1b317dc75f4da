//! `sfda experiment`: methods × seeds × settings from a TOML grid
//! ([`Experiment`]), validated before anything trains, run resumably
//! ([`ExperimentJob`]) and written up as the paper's tables ([`render`]).

mod cell;
mod grid;
mod run;
mod tables;

pub use cell::{CellResult, SourceInfo};
pub use grid::{
    fmt_value, grid_methods, BenchmarkSpec, Cell, ComparisonSpec, EstimatePlan, Experiment, Grid,
    SourceSpec, StudyKind, SweepSpec, TransferSpec, GRID_ALIASES, TRANSFER_VARIANTS,
};
pub use run::{ExperimentJob, ExperimentSummary};
pub use tables::{mean_std, render, RenderContext, Row, StudyTable};

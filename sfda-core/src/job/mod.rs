//! Jobs: the units of work the CLI hands to a backend picked at run time
//! (through [`crate::dispatch::Job`]). Each is plain data with a generic
//! `run::<B>`, so everything below it is statically dispatched.

mod adapt;
mod bench;
mod compare;
mod data_spec;
mod demo;
mod estimate;
mod eval;
mod predict;
mod train_source;

pub use adapt::AdaptJob;
pub use bench::{BenchJob, BenchResult};
pub use compare::{CompareJob, CompareRow};
pub use data_spec::DataSpec;
pub use demo::{cached_source_model, DemoJob, DemoSummary, SourceModelSpec, DEMO_PRESET};
pub use estimate::EstimateJob;
pub use eval::EvalJob;
pub use predict::{PredictJob, PredictSummary};
pub use train_source::TrainSourceJob;

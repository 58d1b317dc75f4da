//! Dispatch: the [`Job`] the CLI builds from its arguments, and the backend
//! registry ([`BackendEntry`]) that runs it. A job is plain data;
//! [`Job::run`] instantiates the generic code for the chosen backend, so
//! everything below it is statically dispatched. This module sits above
//! every other: it may use them all, none uses it.

mod backends;
mod catalog;
mod probe;

pub use backends::{backend_by_name, backends, BackendEntry};
pub use catalog::components;
pub use probe::probe;

use crate::algo::AdaptReport;
use crate::device::DeviceSpec;
use crate::experiment::{ExperimentJob, ExperimentSummary};
use crate::job::{
    AdaptJob, BenchJob, BenchResult, CompareJob, CompareRow, DemoJob, DemoSummary, EstimateJob,
    EvalJob, PredictJob, PredictSummary, TrainSourceJob,
};
use crate::metrics::SegMetrics;
use crate::tensor::Backend;
use crate::train::TrainSourceSummary;
use crate::Result;

/// Work that can run on any registered backend.
#[derive(Debug, Clone)]
pub enum Job {
    /// Opens the device and runs a small forward/backward (softmax of a
    /// matmul) to prove the backend works there.
    Probe,
    /// Trains a source model.
    TrainSource(TrainSourceJob),
    /// Evaluates a checkpoint.
    Eval(EvalJob),
    /// Writes colourised predictions.
    Predict(PredictJob),
    /// Source-free adaptation.
    Adapt(AdaptJob),
    /// Source estimation: the generator trained once on `L_BNS`.
    Estimate(EstimateJob),
    /// The whole demo on the embedded benchmark.
    Demo(DemoJob),
    /// Times whole SFDA iterations.
    Bench(BenchJob),
    /// Compares forward and backward of networks between the CPU and the
    /// job's device.
    Compare(CompareJob),
    /// Runs an experiment grid (methods × seeds × settings) and writes its tables.
    Experiment(Box<ExperimentJob>),
}

/// What a job returns to the CLI.
#[derive(Debug, Clone)]
pub enum JobOutput {
    /// Result of [`Job::Probe`].
    Probe {
        /// The device that ran it.
        device: DeviceSpec,
        /// Loss value of the probe computation.
        value: f32,
        /// Wall time in milliseconds.
        millis: f64,
    },
    /// Result of [`Job::TrainSource`].
    TrainSource(TrainSourceSummary),
    /// Result of [`Job::Eval`].
    Eval(Box<SegMetrics>),
    /// Result of [`Job::Predict`]: pictures written.
    Predict(PredictSummary),
    /// Result of [`Job::Adapt`].
    Adapt(Box<AdaptReport>),
    /// Result of [`Job::Estimate`].
    Estimate(Box<crate::algo::EstimateSummary>),
    /// Result of [`Job::Demo`].
    Demo(Box<DemoSummary>),
    /// Result of [`Job::Bench`].
    Bench(BenchResult),
    /// Result of [`Job::Compare`].
    Compare(Vec<CompareRow>),
    /// Result of [`Job::Experiment`].
    Experiment(Box<ExperimentSummary>),
}

impl Job {
    /// Runs this job with backend `B` on `device`.
    pub fn run<B: Backend>(&self, device: DeviceSpec) -> Result<JobOutput> {
        let dev = B::device(device)?;
        match self {
            Job::Probe => probe::<B>(&dev),
            Job::TrainSource(j) => Ok(JobOutput::TrainSource(j.run::<B>(&dev)?)),
            Job::Eval(j) => Ok(JobOutput::Eval(Box::new(j.run::<B>(&dev)?))),
            Job::Predict(j) => Ok(JobOutput::Predict(j.run::<B>(&dev)?)),
            Job::Adapt(j) => Ok(JobOutput::Adapt(Box::new(j.run::<B>(&dev)?))),
            Job::Estimate(j) => Ok(JobOutput::Estimate(Box::new(j.run::<B>(&dev)?))),
            Job::Demo(j) => Ok(JobOutput::Demo(Box::new(j.run::<B>(&dev)?))),
            Job::Bench(j) => Ok(JobOutput::Bench(j.run::<B>(&dev)?)),
            Job::Compare(j) => Ok(JobOutput::Compare(j.run::<B>(&dev)?)),
            Job::Experiment(j) => Ok(JobOutput::Experiment(Box::new(j.run::<B>(&dev)?))),
        }
    }
}

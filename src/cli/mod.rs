//! Command-line interface: one file per command group.

mod adapt;
mod backends;
mod bench;
mod bench_compete;
mod common;
mod data;
mod demo;
mod estimate;
mod eval;
mod experiment;
mod plugins;
mod predict;
mod train;

use clap::{Parser, Subcommand};

/// Source-free domain adaptation for semantic segmentation.
#[derive(Debug, Parser)]
#[command(name = "sfda", version, about, long_about = None)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The main job: generate the embedded benchmark, train (or reuse) the
    /// small source model, adapt it source-free, print the before/after table.
    Demo(demo::DemoArgs),
    /// Source-free adaptation of a source checkpoint to target images.
    Adapt(adapt::AdaptArgs),
    /// Train the generator once on the source model's BatchNorm statistics
    /// (source estimation) and save it for later `adapt` runs.
    EstimateSource(estimate::EstimateArgs),
    /// Train a source model on labelled data.
    TrainSource(train::TrainSourceArgs),
    /// Evaluate a checkpoint on labelled data (per-class IoU, mIoU, PA, mPA).
    Eval(eval::EvalArgs),
    /// Run a grid of methods × seeds × settings (baselines, SFDA, sweeps,
    /// transfer only) and write the paper's tables (markdown, CSV, JSON, PNG).
    Experiment(experiment::ExperimentArgs),
    /// Write colourised predictions and side-by-side grids.
    Predict(predict::PredictArgs),
    /// Synthetic data, dataset statistics and previews.
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Time whole SFDA iterations per backend, side by side (per-step breakdown, images/s, ratio).
    Bench(bench::BenchArgs),
    /// List compiled backends, their versions and usable devices.
    Backends(backends::BackendsArgs),
    /// List every registered backend, network, loss and ranker (built in or
    /// from --plugin libraries) with its origin and version.
    Plugins(plugins::PluginsArgs),
}

impl Command {
    /// Whether the command stops cleanly on Ctrl-C / SIGTERM (finishes the
    /// step, writes its state): the ones with long resumable loops.
    pub fn saves_on_interrupt(&self) -> bool {
        matches!(
            self,
            Command::Demo(_)
                | Command::Adapt(_)
                | Command::EstimateSource(_)
                | Command::TrainSource(_)
                | Command::Experiment(_)
        )
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Demo(a) => demo::run(a),
        Command::Adapt(a) => adapt::run(a),
        Command::EstimateSource(a) => estimate::run(a),
        Command::TrainSource(a) => train::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Experiment(a) => experiment::run(a),
        Command::Predict(a) => predict::run(a),
        Command::Data(c) => data::run(c),
        Command::Bench(a) => bench::run(a),
        Command::Backends(a) => backends::run(a),
        Command::Plugins(a) => plugins::run(a),
    }
}

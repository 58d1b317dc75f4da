//! `sfda predict`: colourised predictions and side-by-side grids.

use std::path::PathBuf;

use clap::Args;
use sfda_core::dispatch::{Job, JobOutput};
use sfda_core::job::{DataSpec, PredictJob};

use super::common::BackendArgs;

/// Arguments of `sfda predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The checkpoint.
    #[arg(long)]
    checkpoint: PathBuf,
    /// Images: a folder (plain images, or --layout) or `synth:DOMAIN:SPLIT[:COUNT]`.
    #[arg(long)]
    images: String,
    /// Layout of the folder (default: folder).
    #[arg(long, default_value = "folder")]
    layout: String,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// At most this many images.
    #[arg(long)]
    limit: Option<usize>,
    #[command(flatten)]
    backend: BackendArgs,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

/// Runs `sfda predict`.
pub fn run(a: PredictArgs) -> anyhow::Result<()> {
    let job = Job::Predict(PredictJob {
        checkpoint: a.checkpoint,
        images: DataSpec::parse(&a.images, Some(&a.layout), None)?,
        out: a.out.clone(),
        limit: a.limit,
        grid_rows: 6,
        progress: !a.quiet,
    });
    if let JobOutput::Predict(summary) = a.backend.run(&job)? {
        if let Some(w) = summary.class_warning() {
            eprintln!("{w}");
        }
        println!(
            "wrote {} predictions and grid.png to {}",
            summary.images,
            a.out.display()
        );
    }
    Ok(())
}

//! `sfda eval`: scores of a checkpoint on labelled data.

use std::path::PathBuf;

use clap::Args;
use sfda_core::data::ClassSet;
use sfda_core::dispatch::{Job, JobOutput};
use sfda_core::job::EvalJob;

use super::common::{BackendArgs, DataArgs};

/// Arguments of `sfda eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The checkpoint (.safetensors with its .json sidecar).
    #[arg(long)]
    checkpoint: PathBuf,
    #[command(flatten)]
    data: DataArgs,
    /// Class set: cityscapes19, synthia16, synthia13, nthu13 (default: the dataset's).
    #[arg(long)]
    class_set: Option<String>,
    /// Write the metrics as JSON to this file too.
    #[arg(long)]
    json: Option<PathBuf>,
    #[command(flatten)]
    backend: BackendArgs,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

/// Runs `sfda eval`.
pub fn run(a: EvalArgs) -> anyhow::Result<()> {
    let class_set = match &a.class_set {
        Some(s) => Some(
            serde_json::from_value::<ClassSet>(serde_json::Value::String(s.clone())).map_err(
                |_| {
                    anyhow::anyhow!(
                        "unknown class set '{s}': use cityscapes19, synthia16, synthia13 or nthu13"
                    )
                },
            )?,
        ),
        None => None,
    };
    let job = Job::Eval(EvalJob {
        checkpoint: a.checkpoint,
        data: a.data.spec()?,
        class_set,
        batch_size: 8,
        progress: !a.quiet,
    });
    if let JobOutput::Eval(m) = a.backend.run(&job)? {
        println!("{}", m.table());
        if let Some(p) = a.json {
            sfda_core::data::write_atomic(&p, m.to_json().as_bytes())?;
        }
    }
    Ok(())
}

//! `sfda estimate-source`: train the generator once on the source model's
//! BatchNorm statistics (`L_BNS`, eq. 4) and save it, with its provenance,
//! for any number of later `adapt` runs (`--source-estimate DIR`).

use std::path::PathBuf;

use clap::Args;
use sfda_core::algo::AdaptConfig;
use sfda_core::dispatch::{Job, JobOutput};
use sfda_core::job::{DataSpec, EstimateJob};

use super::common::BackendArgs;

/// Arguments of `sfda estimate-source`.
#[derive(Debug, Args)]
pub struct EstimateArgs {
    /// The source checkpoint.
    #[arg(long)]
    source: PathBuf,
    /// Adaptation config (TOML) whose generator shape, fake size and batch,
    /// generator optimizer and `[losses.bns]` options are used; default:
    /// the paper's settings.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Generator steps (default: the config's `generator_warmup`, or 200).
    #[arg(long)]
    steps: Option<usize>,
    /// Override the seed of the latents.
    #[arg(long)]
    seed: Option<u64>,
    /// Output folder (`estimate.safetensors`, pictures, logs).
    #[arg(long)]
    out: PathBuf,
    /// Continue an unfinished estimate in `--out`.
    #[arg(long)]
    resume: bool,
    /// Replace the estimate in `--out` (finished or not); `--force` is the
    /// same flag, as in `adapt` and `train-source`.
    #[arg(long, alias = "force")]
    overwrite: bool,
    /// Diagnostic, NOT source-free: labelled-or-not source images (a folder
    /// with --layout, or `synth:source:val[:COUNT]`) whose `L_BNS` through
    /// the same teacher, at the fake size and batch, is the reference a
    /// perfect estimate would reach.
    #[arg(long)]
    bns_reference: Option<String>,
    /// Layout of the --bns-reference folder (default: cityscapes).
    #[arg(long)]
    layout: Option<String>,
    #[command(flatten)]
    backend: BackendArgs,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

/// Runs `sfda estimate-source`.
pub fn run(a: EstimateArgs) -> anyhow::Result<()> {
    let mut cfg = match &a.config {
        Some(p) => AdaptConfig::from_file(p)?,
        None => AdaptConfig::default(),
    };
    if let Some(s) = a.seed {
        cfg.seed = s;
    }
    let steps = a.steps.unwrap_or(if cfg.generator_warmup > 0 {
        cfg.generator_warmup
    } else {
        200
    });
    let job = Job::Estimate(EstimateJob {
        cfg,
        source: a.source,
        out: a.out.clone(),
        steps,
        resume: a.resume,
        overwrite: a.overwrite,
        reference: a
            .bns_reference
            .as_ref()
            .map(|r| DataSpec::parse(r, a.layout.as_deref(), Some("val")))
            .transpose()?,
        progress: !a.quiet,
    });
    if let JobOutput::Estimate(s) = a.backend.run(&job)? {
        print!("{}", sfda_core::algo::estimate::report_text(&s.meta));
        println!("source estimate in {}", s.file.display());
    }
    Ok(())
}

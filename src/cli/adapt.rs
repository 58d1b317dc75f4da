//! `sfda adapt`: source-free adaptation of a checkpoint to target images.

use std::path::PathBuf;

use clap::Args;
use sfda_core::algo::AdaptConfig;
use sfda_core::dispatch::{Job, JobOutput};
use sfda_core::job::{AdaptJob, DataSpec};
use sfda_core::run_dir::WriteMode;

use super::common::BackendArgs;

/// Arguments of `sfda adapt`.
#[derive(Debug, Args)]
pub struct AdaptArgs {
    /// The source checkpoint.
    #[arg(long)]
    source: PathBuf,
    /// Unlabelled target images: a folder (with --layout) or `synth:target:train[:COUNT]`.
    #[arg(long)]
    target: Option<String>,
    /// Layout of the target folders (default: cityscapes).
    #[arg(long)]
    layout: Option<String>,
    /// Labelled target validation data, for the before/after report.
    #[arg(long)]
    target_val: Option<String>,
    /// Refuse label ids outside the layout's id table in --target-val
    /// (default: read as ignore, counted in the report).
    #[arg(long)]
    strict_labels: bool,
    /// Config file (TOML); default: the paper's settings.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Start the generator from this source estimate (`sfda estimate-source
    /// --out DIR`) and skip the warm-up; overrides the config's
    /// `source_estimate`.
    #[arg(long)]
    source_estimate: Option<PathBuf>,
    /// Override the number of iterations.
    #[arg(long)]
    iterations: Option<usize>,
    /// Override the seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// Continue an interrupted run from `<out>/state`.
    #[arg(long)]
    resume: bool,
    /// Replace the run `--out` holds (its report, checkpoint, logs, pictures
    /// and state are removed first; other files stay).
    #[arg(long, conflicts_with = "resume")]
    force: bool,
    /// Stop after N iterations of this invocation (resume later with --resume).
    #[arg(long)]
    stop_after: Option<usize>,
    #[command(flatten)]
    backend: BackendArgs,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

/// Runs `sfda adapt`.
pub fn run(a: AdaptArgs) -> anyhow::Result<()> {
    let mut cfg = match &a.config {
        Some(p) => AdaptConfig::from_file(p)?,
        None => AdaptConfig::default(),
    };
    if let Some(n) = a.iterations {
        cfg.iterations = n;
    }
    if let Some(s) = a.seed {
        cfg.seed = s;
    }
    let config_dir = a.config.as_deref().and_then(|p| p.parent());
    if let Some(p) = &a.source_estimate {
        cfg.source_estimate = Some(p.display().to_string());
    } else if let (Some(p), Some(dir)) = (cfg.source_estimate.clone(), config_dir) {
        if std::path::Path::new(&p).is_relative() {
            cfg.source_estimate = Some(dir.join(p).display().to_string());
        }
    }
    cfg.validate()?;
    a.backend.plugins.load(&cfg.plugin_paths(config_dir))?;
    let spec = |s: &String, split: &str| {
        DataSpec::parse(s, a.layout.as_deref(), Some(split))
            .map(|d| d.with_strict_labels(a.strict_labels))
    };
    let job = Job::Adapt(AdaptJob {
        cfg,
        source: a.source,
        target: a.target.as_ref().map(|t| spec(t, "train")).transpose()?,
        val: a.target_val.as_ref().map(|t| spec(t, "val")).transpose()?,
        out: a.out.clone(),
        mode: WriteMode::from_flags(a.resume, a.force),
        stop_after: a.stop_after,
        progress: !a.quiet,
        evaluate_source: true,
    });
    if let JobOutput::Adapt(r) = a.backend.run(&job)? {
        if r.after.is_some() {
            println!("{}", r.table());
            println!("adapted checkpoint and report in {}", a.out.display());
        } else if r.iterations >= r.config.iterations {
            println!(
                "adapted for {} iterations (not evaluated: no --target-val); checkpoint and \
                 report in {}",
                r.iterations,
                a.out.display()
            );
        } else {
            println!(
                "stopped after iteration {}; continue with --resume",
                r.iterations
            );
        }
    }
    Ok(())
}

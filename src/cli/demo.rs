//! `sfda demo`: the main job on the embedded benchmark.

use std::path::PathBuf;

use clap::Args;
use sfda_core::algo::AdaptConfig;
use sfda_core::dispatch::{Job, JobOutput};
use sfda_core::job::DemoJob;

use super::common::BackendArgs;

/// Arguments of `sfda demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Output folder (the trained source model is cached here).
    #[arg(long, default_value = "runs/demo")]
    out: PathBuf,
    /// Seed of data, init and adaptation.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Adaptation config (default: the shipped demo preset).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Override the adaptation iterations.
    #[arg(long)]
    iterations: Option<usize>,
    /// Source training steps.
    #[arg(long, default_value_t = 3000)]
    source_iterations: usize,
    /// Synthetic training images per domain.
    #[arg(long, default_value_t = 2000)]
    train_images: usize,
    /// Synthetic validation images per domain.
    #[arg(long, default_value_t = 200)]
    val_images: usize,
    /// Target-domain severity in [0, 1] (default: the benchmark's).
    #[arg(long)]
    severity: Option<f32>,
    /// Retrain the source model even if a cached one matches.
    #[arg(long)]
    retrain: bool,
    #[command(flatten)]
    backend: BackendArgs,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
}

/// Runs `sfda demo`.
pub fn run(a: DemoArgs) -> anyhow::Result<()> {
    let mut job = DemoJob::new(a.out.clone())?;
    if let Some(p) = &a.config {
        job.adapt = AdaptConfig::from_file(p)?;
        let dir = p.parent();
        a.backend.plugins.load(&job.adapt.plugin_paths(dir))?;
    }
    if let Some(n) = a.iterations {
        job.adapt.iterations = n;
    }
    job.seed = a.seed;
    job.source_iterations = a.source_iterations;
    job.train_images = a.train_images;
    job.val_images = a.val_images;
    job.severity = a.severity;
    job.retrain = a.retrain;
    job.progress = !a.quiet;
    if let JobOutput::Demo(s) = a.backend.run(&Job::Demo(job))? {
        println!(
            "source model: {:.2} mIoU on source val, {:.2} on target val ({:.0}% kept){}",
            s.source_on_source,
            s.source_on_target,
            100.0 * s.source_on_target / s.source_on_source.max(1e-9),
            if s.source_cached { " [cached]" } else { "" }
        );
        println!();
        println!("{}", s.adapt.table());
        if let Some(g) = s.adapt.gain() {
            println!(
                "SFDA gain on target val: {g:+.2} mIoU points ({} backend, {:.0} s total)",
                a.backend.backend, s.seconds
            );
        }
        println!(
            "report, pictures and adapted checkpoint in {} (source model in {})",
            s.adapt_dir.display(),
            a.out.join("source").display()
        );
    }
    Ok(())
}

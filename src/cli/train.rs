//! `sfda train-source`: supervised training of the source model.

use std::path::PathBuf;

use clap::Args;
use sfda_core::dispatch::{Job, JobOutput};
use sfda_core::job::TrainSourceJob;
use sfda_core::optim::SgdConfig;
use sfda_core::run_dir::WriteMode;
use sfda_core::train::TrainSourceConfig;

use super::common::{parse_wh, BackendArgs, DataArgs};

/// Arguments of `sfda train-source`.
#[derive(Debug, Args)]
pub struct TrainSourceArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Validation data (same syntax as --data).
    #[arg(long)]
    val: Option<String>,
    /// Architecture: deeplabv3-mini, segnet-mini, deeplabv3-resnet50, segnet-vgg16, ...
    /// or one a --plugin library registers (`sfda plugins` lists them).
    #[arg(long, default_value = "deeplabv3-mini")]
    arch: String,
    /// Training steps.
    #[arg(long, default_value_t = 1500)]
    iterations: usize,
    /// Images per batch.
    #[arg(long, default_value_t = 8)]
    batch_size: usize,
    /// Initial learning rate (SGD, Nesterov momentum 0.9, weight decay 1e-4, poly decay 0.9).
    #[arg(long, default_value_t = 0.02)]
    lr: f64,
    /// Random crop WIDTHxHEIGHT (default: whole images).
    #[arg(long, value_parser = parse_wh)]
    crop: Option<[u32; 2]>,
    /// Validate every N steps.
    #[arg(long, default_value_t = 250)]
    val_every: usize,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Start from pretrained weights (safetensors), e.g. torchvision's
    /// ImageNet `resnet50()` / `resnet101()` / `vgg16_bn()` state_dict:
    /// ResNet names are mapped under `backbone.`, VGG `features.*` under
    /// `encoder.`, a `module.` prefix is stripped; prints what was loaded,
    /// skipped and missing, and refuses a file that matches nothing.
    #[arg(long, value_name = "FILE")]
    init: Option<PathBuf>,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// Replace the trained model `--out` holds (its checkpoints, log and
    /// curves are removed first; other files stay).
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    backend: BackendArgs,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

/// Runs `sfda train-source`.
pub fn run(a: TrainSourceArgs) -> anyhow::Result<()> {
    let train = a.data.spec()?;
    let val = match &a.val {
        Some(v) => Some(
            sfda_core::job::DataSpec::parse(v, a.data.layout.as_deref(), Some("val"))?
                .with_strict_labels(a.data.strict_labels),
        ),
        None => None,
    };
    let job = Job::TrainSource(TrainSourceJob {
        cfg: TrainSourceConfig {
            arch: a.arch,
            iterations: a.iterations,
            sgd: SgdConfig {
                lr: a.lr,
                ..SgdConfig::default()
            },
            val_every: a.val_every,
            seed: a.seed,
            progress: !a.quiet,
            init: a.init.clone(),
            write_mode: if a.force {
                WriteMode::Force
            } else {
                WriteMode::New
            },
            ..TrainSourceConfig::default()
        },
        train,
        val,
        batch_size: a.batch_size,
        crop: a.crop,
        out: a.out,
    });
    if let JobOutput::TrainSource(s) = a.backend.run(&job)? {
        if let (Some(report), Some(path)) = (&s.init, &a.init) {
            println!("{}", report.summary(path));
        }
        println!(
            "trained {} steps in {:.1} s; best val mIoU {}; best: {}; last: {}",
            s.iterations,
            s.seconds,
            s.best_miou
                .map(|m| format!("{m:.2}"))
                .unwrap_or_else(|| "n/a".into()),
            s.best.display(),
            s.last.display()
        );
        if !s.unmapped_train_labels.is_empty() {
            println!(
                "training labels: ids outside the layout's id table read as ignore, over every load: {} (--strict-labels makes them an error)",
                sfda_core::data::ids::describe_unmapped(&s.unmapped_train_labels)
            );
        }
    }
    Ok(())
}

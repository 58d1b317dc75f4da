//! `sfda demo`: the whole method on the embedded benchmark. Generates the
//! two synthetic domains, trains the small source model (or reuses the one
//! cached under the output folder), measures it on source and target
//! validation data, adapts it source-free to the target and reports the
//! before/after table.

use std::path::PathBuf;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::algo::{AdaptConfig, AdaptReport};
use crate::checkpoint::read_meta;
use crate::data::{Domain, Split, SynthSpec};
use crate::job::{AdaptJob, DataSpec, EvalJob, TrainSourceJob};
use crate::tensor::Backend;
use crate::train::TrainSourceConfig;
use crate::{Error, Result};

/// The demo adaptation preset (also shipped as `sfda-core/presets/demo.toml`).
pub const DEMO_PRESET: &str = include_str!("../../presets/demo.toml");

/// Settings of the demo.
#[derive(Debug, Clone)]
pub struct DemoJob {
    /// Output folder (the source model is cached in `<out>/source`).
    pub out: PathBuf,
    /// Seed of data, init and adaptation.
    pub seed: u64,
    /// Image size `(width, height)`.
    pub size: (u32, u32),
    /// Source training images.
    pub train_images: usize,
    /// Validation images per domain.
    pub val_images: usize,
    /// Target domain severity (`None`: the benchmark's default).
    pub severity: Option<f32>,
    /// Source training steps.
    pub source_iterations: usize,
    /// The adaptation config (default: [`DEMO_PRESET`]).
    pub adapt: AdaptConfig,
    /// Retrain the source model even if a cached one matches.
    pub retrain: bool,
    /// Draw progress bars.
    pub progress: bool,
}

impl DemoJob {
    /// The demo with its preset.
    pub fn new(out: PathBuf) -> Result<Self> {
        Ok(DemoJob {
            out,
            seed: 0,
            size: (256, 128),
            train_images: 2000,
            val_images: 200,
            severity: None,
            source_iterations: 3000,
            adapt: AdaptConfig::from_toml(DEMO_PRESET, "presets/demo.toml")?,
            retrain: false,
            progress: true,
        })
    }
}

/// What the demo measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoSummary {
    /// Source model on source val (mIoU, percent).
    pub source_on_source: f64,
    /// Source model on target val.
    pub source_on_target: f64,
    /// The adaptation report (source-only vs adapted on target val).
    pub adapt: AdaptReport,
    /// The adaptation's folder: `<out>/adapt`, or `<out>/adapt-N` when
    /// earlier demo runs hold the first ones (they are kept).
    pub adapt_dir: PathBuf,
    /// Whether the source model came from the cache.
    pub source_cached: bool,
    /// Seconds spent training the source model (0 when cached).
    pub source_seconds: f64,
    /// Total wall time.
    pub seconds: f64,
}

fn synth(domain: Domain, split: Split, count: usize, job: &DemoJob) -> DataSpec {
    let mut s = SynthSpec::new(domain, split, count)
        .with_size(job.size.0, job.size.1)
        .with_seed(job.seed);
    if let Some(sev) = job.severity {
        s = s.with_severity(sev);
    }
    DataSpec::Synth(s)
}

impl DemoJob {
    /// Runs it with backend `B`.
    pub fn run<B: Backend>(&self, dev: &B::Device) -> Result<DemoSummary> {
        let t0 = Instant::now();
        let (ckpt, cached, source_seconds) = cached_source_model::<B>(
            &self.out.join("source"),
            &self.source_spec(),
            self.retrain,
            self.progress,
            dev,
        )?;
        if self.progress {
            eprintln!("[2/3] evaluating the source model on source and target validation images");
        }
        let eval = |data: DataSpec| -> Result<f64> {
            Ok(EvalJob {
                checkpoint: ckpt.clone(),
                data,
                class_set: None,
                batch_size: 8,
                progress: false,
            }
            .run::<B>(dev)?
            .miou
                * 100.0)
        };
        let source_on_source = eval(synth(Domain::Source, Split::Val, self.val_images, self))?;
        let source_on_target = eval(synth(Domain::Target, Split::Val, self.val_images, self))?;
        if self.progress {
            eprintln!(
                "[3/3] adapting source-free to the target domain ({} iterations)",
                self.adapt.iterations
            );
        }
        let mut cfg = self.adapt.clone();
        cfg.seed = self.seed;
        cfg.target_size = None;
        let adapt_dir = crate::run_dir::next_free(&self.out.join("adapt"), &crate::run_dir::ADAPT)?;
        let report = AdaptJob {
            cfg,
            source: ckpt.clone(),
            target: Some(synth(Domain::Target, Split::Train, self.train_images, self)),
            val: Some(synth(Domain::Target, Split::Val, self.val_images, self)),
            out: adapt_dir.clone(),
            mode: crate::run_dir::WriteMode::New,
            stop_after: None,
            progress: self.progress,
            evaluate_source: true,
        }
        .run::<B>(dev)?;
        Ok(DemoSummary {
            source_on_source,
            source_on_target,
            adapt: report,
            adapt_dir,
            source_cached: cached,
            source_seconds,
            seconds: t0.elapsed().as_secs_f64(),
        })
    }
}

impl DemoJob {
    /// The source model this demo trains (or reuses).
    pub fn source_spec(&self) -> SourceModelSpec {
        SourceModelSpec {
            seed: self.seed,
            size: self.size,
            train_images: self.train_images,
            iterations: self.source_iterations,
            severity: self.severity,
        }
    }
}

/// How the embedded benchmark's source model is trained: the cache key of
/// [`cached_source_model`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceModelSpec {
    /// Seed of data and init.
    pub seed: u64,
    /// Image size `(width, height)`.
    pub size: (u32, u32),
    /// Synthetic source training images.
    pub train_images: usize,
    /// Training steps.
    pub iterations: usize,
    /// Benchmark severity the run was made for (part of the cache key).
    pub severity: Option<f32>,
}

impl SourceModelSpec {
    fn tag(&self) -> String {
        format!(
            "demo-source seed={} size={}x{} images={} iters={} severity={:?}",
            self.seed, self.size.0, self.size.1, self.train_images, self.iterations, self.severity
        )
    }
}

/// Trains the small source model of the embedded benchmark into
/// `dir/best.safetensors`, or reuses the one there when it was trained with
/// the same `spec` (recorded in its sidecar) and `retrain` is off. Returns
/// the checkpoint, whether it came from the cache and the training seconds.
pub fn cached_source_model<B: Backend>(
    dir: &std::path::Path,
    spec: &SourceModelSpec,
    retrain: bool,
    progress: bool,
    dev: &B::Device,
) -> Result<(PathBuf, bool, f64)> {
    let ckpt = dir.join("best.safetensors");
    let tag = spec.tag();
    let found = read_meta(&ckpt)
        .ok()
        .map(|m| m.provenance.notes.get("demo").cloned().unwrap_or_default());
    let cached = !retrain && found.as_deref() == Some(tag.as_str());
    if let (Some(old), false) = (&found, retrain || cached) {
        return Err(Error::RunFolder {
            path: dir.to_path_buf(),
            msg: format!(
                "holds a source model made with other settings ('{old}', wanted '{tag}'); \
                 move it away, or pass --retrain (sfda demo) to replace it"
            ),
        });
    }
    if cached {
        if progress {
            eprintln!("[1/3] reusing the cached source model {}", ckpt.display());
        }
        return Ok((ckpt, true, 0.0));
    }
    if progress {
        eprintln!(
            "[1/3] training the source model on {} synthetic source images",
            spec.train_images
        );
    }
    let mut train = SynthSpec::new(Domain::Source, Split::Train, spec.train_images)
        .with_size(spec.size.0, spec.size.1)
        .with_seed(spec.seed);
    if let Some(sev) = spec.severity {
        train = train.with_severity(sev);
    }
    let job = TrainSourceJob {
        cfg: TrainSourceConfig {
            iterations: spec.iterations,
            seed: spec.seed,
            progress,
            val_every: 0,
            // Told to replace it (--retrain), or nothing finished is there.
            write_mode: crate::run_dir::WriteMode::Force,
            ..TrainSourceConfig::default()
        },
        train: DataSpec::Synth(train),
        val: None,
        batch_size: 8,
        crop: None,
        out: dir.to_path_buf(),
    };
    let s = job.run::<B>(dev)?;
    tag_checkpoint(&ckpt, &tag)?;
    Ok((ckpt, false, s.seconds))
}

/// Records in the checkpoint's sidecar which demo settings produced it.
fn tag_checkpoint(ckpt: &std::path::Path, tag: &str) -> Result<()> {
    let mut meta = read_meta(ckpt)?;
    meta.provenance.notes.insert("demo".into(), tag.into());
    let text = serde_json::to_string_pretty(&meta).map_err(|e| Error::msg(e.to_string()))?;
    crate::data::write_atomic(&crate::checkpoint::sidecar_path(ckpt), text.as_bytes())
}

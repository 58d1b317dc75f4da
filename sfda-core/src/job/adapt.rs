//! The `adapt` job: source-free adaptation of a checkpoint to target images.

use std::path::PathBuf;

use crate::algo::{build_run, run_adaptation, AdaptConfig, AdaptInputs, AdaptReport};
use crate::checkpoint::read_meta;
use crate::data::{ClassSet, DataLoader, LoaderConfig, Normalize, Transform};
use crate::job::DataSpec;
use crate::run_dir::WriteMode;
use crate::tensor::Backend;
use crate::Result;

/// Adapt a source checkpoint to unlabelled target data.
#[derive(Debug, Clone)]
pub struct AdaptJob {
    /// The configuration.
    pub cfg: AdaptConfig,
    /// The source checkpoint.
    pub source: PathBuf,
    /// Unlabelled target images (none in transfer-only mode).
    pub target: Option<DataSpec>,
    /// Labelled evaluation data (target val).
    pub val: Option<DataSpec>,
    /// Output folder.
    pub out: PathBuf,
    /// What to do with a run `out` already holds (new, resume, force).
    pub mode: WriteMode,
    /// Stop after this many iterations of this invocation.
    pub stop_after: Option<usize>,
    /// Draw progress bars.
    pub progress: bool,
    /// Also evaluate the source model (the report's "before" column).
    pub evaluate_source: bool,
}

impl AdaptJob {
    /// Runs it with backend `B`.
    pub fn run<B: Backend>(&self, dev: &B::Device) -> Result<AdaptReport> {
        let mut run = build_run::<B>(&self.cfg, &self.source, dev, None)?;
        let resize = self.cfg.target_size;
        // Target images are fed as the source model's sidecar says it was trained.
        let normalize = Normalize::from(run.core.source_meta.normalization);
        let target = match &self.target {
            Some(t) if !self.cfg.ablation.transfer_only => {
                let mut lc = LoaderConfig::train(self.cfg.batch_size, self.cfg.seed, None);
                lc.labels = false;
                lc.prefetch = 0;
                lc.transform = Transform::train(resize, None);
                lc.transform.normalize = normalize;
                Some(DataLoader::new(t.open()?, lc)?)
            }
            _ => None,
        };
        let (val, class_set) = match &self.val {
            Some(v) => {
                let ds = v.open()?;
                let set = ds.class_set();
                let mut lc = LoaderConfig::eval(8);
                lc.transform = Transform::eval(resize);
                lc.transform.normalize = normalize;
                (Some(DataLoader::new(ds, lc)?), set)
            }
            None => (None, class_set_of(&self.source)),
        };
        let summary = run_adaptation(
            &mut run,
            &AdaptInputs {
                source: &self.source,
                target: target.as_ref(),
                val: val.as_ref(),
                class_set,
                out: &self.out,
                mode: self.mode,
                progress: self.progress,
                stop_after: self.stop_after,
                evaluate_source: self.evaluate_source,
            },
        )?;
        Ok(summary.report)
    }
}

fn class_set_of(ckpt: &std::path::Path) -> ClassSet {
    read_meta(ckpt)
        .ok()
        .and_then(|m| serde_json::from_value(serde_json::Value::String(m.class_set)).ok())
        .unwrap_or(ClassSet::Cityscapes19)
}

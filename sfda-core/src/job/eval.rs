//! The `eval` job.

use std::path::PathBuf;

use crate::checkpoint::load_seg_model_reporting;
use crate::data::{ClassSet, DataLoader, LoaderConfig};
use crate::job::DataSpec;
use crate::metrics::SegMetrics;
use crate::nn::VarStore;
use crate::tensor::Backend;
use crate::train::evaluate;
use crate::Result;

/// Evaluate a checkpoint on labelled data.
#[derive(Debug, Clone)]
pub struct EvalJob {
    /// The checkpoint.
    pub checkpoint: PathBuf,
    /// Labelled data.
    pub data: DataSpec,
    /// Class set to report on (default: the dataset's).
    pub class_set: Option<ClassSet>,
    /// Images per batch.
    pub batch_size: usize,
    /// Draw a progress bar.
    pub progress: bool,
}

impl EvalJob {
    /// Runs it with backend `B`.
    pub fn run<B: Backend>(&self, dev: &B::Device) -> Result<SegMetrics> {
        let vs = VarStore::<B>::new(dev.clone(), 0);
        let (model, meta, report) = load_seg_model_reporting::<B>(&self.checkpoint, &vs.root())?;
        if self.progress {
            for note in report.notes() {
                eprintln!("{}: {note}", self.checkpoint.display());
            }
        }
        let ds = self.data.open()?;
        let set = self.class_set.unwrap_or(ds.class_set());
        // The model sees what its sidecar says it was trained on.
        let mut lc = LoaderConfig::eval(self.batch_size);
        lc.transform.normalize = meta.normalization.into();
        let loader = DataLoader::new(ds, lc)?;
        Ok(evaluate(model.as_ref(), &loader, set, dev, self.progress)?.metrics)
    }
}

//! The `train-source` job.

use std::path::PathBuf;

use crate::data::{DataLoader, LoaderConfig};
use crate::job::DataSpec;
use crate::tensor::Backend;
use crate::train::{train_source, TrainSourceConfig, TrainSourceSummary};
use crate::Result;

/// Train a source model on labelled data.
#[derive(Debug, Clone)]
pub struct TrainSourceJob {
    /// Training settings.
    pub cfg: TrainSourceConfig,
    /// Labelled training data.
    pub train: DataSpec,
    /// Labelled validation data.
    pub val: Option<DataSpec>,
    /// Images per batch.
    pub batch_size: usize,
    /// Random crop `[width, height]` (none: whole images).
    pub crop: Option<[u32; 2]>,
    /// Output folder.
    pub out: PathBuf,
}

impl TrainSourceJob {
    /// Runs it with backend `B`.
    pub fn run<B: Backend>(&self, dev: &B::Device) -> Result<TrainSourceSummary> {
        let train = DataLoader::new(
            self.train.open()?,
            LoaderConfig::train(self.batch_size, self.cfg.seed, self.crop),
        )?;
        let val = match &self.val {
            Some(v) => Some(DataLoader::new(
                v.open()?,
                LoaderConfig::eval(self.batch_size),
            )?),
            None => None,
        };
        train_source::<B>(&self.cfg, &train, val.as_ref(), dev, &self.out)
    }
}

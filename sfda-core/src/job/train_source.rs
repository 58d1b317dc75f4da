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
        let max = crate::algo::MAX_IMAGE_SIDE as u32;
        if let Some(c) = self.crop {
            if c.contains(&0) || c.iter().any(|&s| s > max) {
                return Err(crate::Error::Config {
                    key: "crop".into(),
                    msg: format!("{}x{}: both sides must lie in 1..={max}", c[0], c[1]),
                });
            }
        }
        if self.batch_size == 0 || self.batch_size > crate::algo::MAX_BATCH {
            return Err(crate::Error::Config {
                key: "batch_size".into(),
                msg: format!(
                    "must lie in 1..={}, got {}",
                    crate::algo::MAX_BATCH,
                    self.batch_size
                ),
            });
        }
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

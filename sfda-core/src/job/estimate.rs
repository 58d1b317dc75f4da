//! The `estimate-source` job: train the generator once on the source
//! model's BatchNorm statistics and save it for later adaptations (see
//! [`crate::algo::estimate`]).

use std::path::PathBuf;

use crate::algo::{estimate_source, AdaptConfig, EstimateInputs, EstimateSummary};
use crate::checkpoint::read_meta;
use crate::data::{DataLoader, LoaderConfig, Transform};
use crate::job::DataSpec;
use crate::tensor::Backend;
use crate::Result;

/// Estimate the source domain of a checkpoint.
#[derive(Debug, Clone)]
pub struct EstimateJob {
    /// The adaptation config whose generator, fakes, generator optimizer
    /// and `L_BNS` options are used.
    pub cfg: AdaptConfig,
    /// The source checkpoint.
    pub source: PathBuf,
    /// Output folder.
    pub out: PathBuf,
    /// Generator steps.
    pub steps: usize,
    /// Continue an unfinished estimate.
    pub resume: bool,
    /// Replace a finished estimate.
    pub overwrite: bool,
    /// Real source images for the reference `L_BNS` (a diagnostic; reads
    /// source data, which a source-free user does not have).
    pub reference: Option<DataSpec>,
    /// Progress bar.
    pub progress: bool,
}

impl EstimateJob {
    /// Runs it with backend `B`.
    pub fn run<B: Backend>(&self, dev: &B::Device) -> Result<EstimateSummary> {
        let reference = match &self.reference {
            Some(spec) => {
                let mut lc = LoaderConfig::eval(self.cfg.fake_batch_size);
                lc.labels = false;
                lc.drop_last = true;
                let [h, w] = self.cfg.fake_size;
                lc.transform = Transform::eval(Some([w as u32, h as u32]));
                lc.transform.normalize = read_meta(&self.source)?.normalization.into();
                Some(DataLoader::new(spec.open()?, lc)?)
            }
            None => None,
        };
        estimate_source::<B>(
            &self.cfg,
            &EstimateInputs {
                source: &self.source,
                out: &self.out,
                steps: self.steps,
                resume: self.resume,
                overwrite: self.overwrite,
                progress: self.progress,
                reference: reference.as_ref(),
            },
            dev,
        )
    }
}

//! The intra-domain patch-level self-supervision module (IPSM, paper sec.
//! 3.3.1, eq. 13–15): each target prediction is cut into `K × K` patches
//! labelled by position; a [`PatchRanker`] splits the patches at every
//! position into easy and hard halves across the batch; the discriminator
//! learns to tell them apart and the student learns to make hard patches look
//! easy (the losses are in [`loss`](crate::loss): [`discriminator_loss`],
//! [`fool_loss`]).
//!
//! [`discriminator_loss`]: crate::loss::discriminator_loss
//! [`fool_loss`]: crate::loss::fool_loss
//!
//! One discriminator step, sketched:
//!
//! ```
//! # fn demo<B: sfda_core::Backend>(
//! #     logits: &sfda_core::Tensor<B>, d: &dyn sfda_core::Discriminator<B>,
//! # ) -> sfda_core::Result<()> {
//! use sfda_core::ipsm::{split_patches, EntropyRanker, PatchRanker};
//! use sfda_core::loss::{discriminator_loss, AdvReduction};
//! let k = 3;
//! let labels = PatchRanker::<B>::rank(&EntropyRanker, logits, k)?; // eq. 13–14
//! let patches = split_patches(&logits.detach()?.softmax(1)?, k)?;
//! let d_logits = d.forward(&patches.patches, &patches.positions)?;
//! let loss = discriminator_loss(&d_logits, &labels.targets(), AdvReduction::Mean)?; // eq. 15
//! # let _ = loss; Ok(()) }
//! ```

mod entropy_ranker;
mod patch_entropy;
mod patches;

pub use entropy_ranker::EntropyRanker;
pub use patch_entropy::patch_mean_entropy;
pub use patches::{split_patches, PatchBatch, PatchGrid};

use serde::Deserialize;

use crate::tensor::{Backend, Tensor};
use crate::{Error, Result};

/// Easy/hard labels of the `K × K` patches of a batch, image-major: entry
/// `b·K² + pos` is patch `pos = row·K + col` of image `b` (the row order of
/// [`split_patches`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PatchLabels {
    batch: usize,
    k: usize,
    scores: Vec<f32>,
    hard: Vec<bool>,
}

impl PatchLabels {
    /// Labels from per-patch scores and hard flags (both `batch·k·k` long).
    pub fn new(batch: usize, k: usize, scores: Vec<f32>, hard: Vec<bool>) -> Result<Self> {
        let n = batch * k * k;
        if scores.len() != n || hard.len() != n {
            return Err(Error::shape(
                "PatchLabels::new",
                format!(
                    "{} scores and {} labels for {batch} images of {k}×{k} patches ({n} expected)",
                    scores.len(),
                    hard.len()
                ),
            ));
        }
        Ok(PatchLabels {
            batch,
            k,
            scores,
            hard,
        })
    }
    /// Number of images.
    pub fn batch(&self) -> usize {
        self.batch
    }
    /// Patches per side.
    pub fn k(&self) -> usize {
        self.k
    }
    /// Number of positions, `K·K`.
    pub fn positions(&self) -> usize {
        self.k * self.k
    }
    /// The ranking score of each patch (mean entropy for [`EntropyRanker`]).
    pub fn scores(&self) -> &[f32] {
        &self.scores
    }
    /// Whether each patch is hard.
    pub fn hard(&self) -> &[bool] {
        &self.hard
    }
    /// Whether patch `pos` of image `b` is hard.
    pub fn is_hard(&self, b: usize, pos: usize) -> bool {
        self.hard[b * self.positions() + pos]
    }
    /// Discriminator targets: `1.0` for hard, `0.0` for easy (eq. 15).
    pub fn targets(&self) -> Vec<f32> {
        self.hard
            .iter()
            .map(|&h| if h { 1.0 } else { 0.0 })
            .collect()
    }
    /// Row indices (into [`split_patches`]' output) of the hard patches.
    pub fn hard_indices(&self) -> Vec<usize> {
        (0..self.hard.len()).filter(|&i| self.hard[i]).collect()
    }
    /// Row indices of the easy patches.
    pub fn easy_indices(&self) -> Vec<usize> {
        (0..self.hard.len()).filter(|&i| !self.hard[i]).collect()
    }
    /// Patch position of row index `i`.
    pub fn position_of(&self, i: usize) -> usize {
        i % self.positions()
    }
}

/// Splits a batch of predictions into `K × K` patches and labels each patch
/// easy or hard (object safe; the built-in is [`EntropyRanker`]).
pub trait PatchRanker<B: Backend>: Send + Sync {
    /// The ranker's name in configs (`entropy`).
    fn name(&self) -> &str;
    /// Labels for the patches of `logits [B, C, H, W]` cut into `k × k`
    /// patches on the [`PatchGrid`]. Nothing is differentiated through.
    fn rank(&self, logits: &Tensor<B>, k: usize) -> Result<PatchLabels>;
}

/// Names accepted by [`builtin_patch_ranker`].
pub const BUILTIN_PATCH_RANKERS: &[&str] = &["entropy"];

/// Options of [`EntropyRanker`] (none yet; unknown keys are rejected).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntropyRankerOptions {}

/// Builds the built-in patch ranker `name` (one of [`BUILTIN_PATCH_RANKERS`])
/// from its TOML options table.
pub fn builtin_patch_ranker<B: Backend>(
    name: &str,
    options: &toml::Value,
) -> Result<Box<dyn PatchRanker<B>>> {
    match name {
        "entropy" => {
            options
                .clone()
                .try_into::<EntropyRankerOptions>()
                .map_err(|e| Error::Config {
                    key: name.to_string(),
                    msg: format!("invalid options for patch ranker '{name}': {}", e.message()),
                })?;
            Ok(Box::new(EntropyRanker))
        }
        other => Err(Error::Config {
            key: other.to_string(),
            msg: format!(
                "unknown patch ranker '{other}'; built-in rankers are: {}",
                BUILTIN_PATCH_RANKERS.join(", ")
            ),
        }),
    }
}

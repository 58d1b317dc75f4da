//! [`EntropyRanker`], the built-in [`PatchRanker`]: entropy ranking per
//! patch position across the batch (paper eq. 13–14).
//!
//! For every position `k`, the `B` patches at `k` (one per image) are sorted
//! by mean entropy (eq. 13, [`patch_mean_entropy`]) in ascending order, ties
//! broken by image index (and NaN sorted last); the first `⌊B/2⌋` are easy
//! (label 0), the remaining `⌈B/2⌉` hard (label 1). The paper assumes an even
//! `B`; with an odd batch the median patch goes to the **hard** group, so the
//! easy group — the reference the discriminator teaches hard patches to
//! resemble — holds only patches strictly in the more confident half. A batch
//! of one image has no easy half and is an error.

use crate::ipsm::patch_mean_entropy;
use crate::ipsm::{PatchLabels, PatchRanker};
use crate::tensor::{Backend, Tensor};
use crate::{Error, Result};

/// Entropy ranking (eq. 13–14): the lower-entropy half of each position's
/// patches is easy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EntropyRanker;

impl<B: Backend> PatchRanker<B> for EntropyRanker {
    fn name(&self) -> &str {
        "entropy"
    }

    fn rank(&self, logits: &Tensor<B>, k: usize) -> Result<PatchLabels> {
        let batch = logits.dim(0)?;
        if batch < 2 {
            return Err(Error::msg(format!(
                "entropy ranking (eq. 14) splits each patch position across the batch into \
                 easy and hard halves and needs at least 2 images, got {batch}; skip the \
                 IPSM step for this batch or use a larger target batch"
            )));
        }
        let scores = patch_mean_entropy(logits, k)?.to_vec()?; // [B, K·K]
        let n = k * k;
        let mut hard = vec![false; scores.len()];
        let mut order: Vec<usize> = Vec::with_capacity(batch);
        for pos in 0..n {
            order.clear();
            order.extend(0..batch);
            // Stable sort by score: equal scores keep ascending image index.
            order.sort_by(|&a, &b| {
                sort_key(scores[a * n + pos]).total_cmp(&sort_key(scores[b * n + pos]))
            });
            for &img in &order[batch / 2..] {
                hard[img * n + pos] = true;
            }
        }
        PatchLabels::new(batch, k, scores, hard)
    }
}

/// NaN (a diverged prediction) ranks as the most uncertain patch.
fn sort_key(score: f32) -> f32 {
    if score.is_nan() {
        f32::INFINITY
    } else {
        score
    }
}

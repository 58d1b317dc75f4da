//! The adversarial loss of the intra-domain patch-level self-supervision
//! module (paper eq. 15, used in eq. 16):
//!
//! ```text
//! L_ADV = −Σ_k Σ_{d,e} log(1 − D(k, i^e_{t,k})) + log D(k, i^d_{t,k})            (eq. 15)
//! ```
//!
//! `D(k, ·)` is the probability that a patch at position `k` is *hard*. With
//! the discriminator returning logits, eq. 15 is binary cross-entropy with
//! targets easy = 0, hard = 1, which the discriminator minimises
//! ([`discriminator_loss`]). The student "fools D from the side of hard
//! patches": it minimises the cross-entropy of its hard patches against the
//! *easy* label, `−log(1 − D(k, i^d))` ([`fool_loss`]), so hard patches come
//! to look like easy ones (the usual non-saturating form, as in IntraDA).
//!
//! Reduction: eq. 15 sums over positions and patches; we default to the mean
//! ([`AdvReduction::Mean`]) so that `γ` does not have to change with `K` and
//! the batch size. [`AdvReduction::Sum`] gives the literal sum.
//!
//! BCE with logits is computed stably from primitives:
//! `ℓ(x, y) = max(x, 0) − x·y + log(1 + exp(−|x|))`.

use serde::{Deserialize, Serialize};

use crate::tensor::{Backend, Tensor};
use crate::{Error, Result};

/// How per-patch adversarial terms are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdvReduction {
    /// Mean over patches (default).
    #[default]
    Mean,
    /// Sum over patches (eq. 15 literally).
    Sum,
}

/// Binary cross-entropy between `logits` and `targets` in `[0, 1]`
/// (broadcasting), reduced to a scalar.
pub fn bce_with_logits<B: Backend>(
    logits: &Tensor<B>,
    targets: &Tensor<B>,
    reduction: AdvReduction,
) -> Result<Tensor<B>> {
    let zero = Tensor::<B>::scalar(0.0, &logits.device())?;
    // max(x, 0) − x·y + log(1 + exp(−|x|))
    let softplus_neg_abs = logits.abs()?.neg()?.exp()?.add_scalar(1.0)?.log()?;
    let per = logits
        .maximum(&zero)?
        .sub(&logits.mul(targets)?)?
        .add(&softplus_neg_abs)?;
    match reduction {
        AdvReduction::Mean => per.mean_all(),
        AdvReduction::Sum => per.sum_all(),
    }
}

/// The discriminator's loss (eq. 15): BCE of its logits `[N]` against
/// `targets` (`1.0` = hard, `0.0` = easy, in the same order, e.g.
/// [`PatchLabels::targets`](crate::ipsm::PatchLabels::targets)).
pub fn discriminator_loss<B: Backend>(
    logits: &Tensor<B>,
    targets: &[f32],
    reduction: AdvReduction,
) -> Result<Tensor<B>> {
    if logits.elem_count() != targets.len() || targets.is_empty() {
        return Err(Error::shape(
            "discriminator_loss",
            format!(
                "{} logits (shape {:?}) for {} easy/hard targets; need one per patch",
                logits.elem_count(),
                logits.shape(),
                targets.len()
            ),
        ));
    }
    let y = Tensor::<B>::from_f32(targets, &logits.shape(), &logits.device())?;
    bce_with_logits(logits, &y, reduction)
}

/// The student's adversarial term (eq. 16): the discriminator's logits on
/// the *hard* patches, pushed towards the easy label 0, i.e.
/// `−log(1 − σ(x))` per patch.
pub fn fool_loss<B: Backend>(
    hard_logits: &Tensor<B>,
    reduction: AdvReduction,
) -> Result<Tensor<B>> {
    if hard_logits.elem_count() == 0 {
        return Err(Error::shape(
            "fool_loss",
            "no hard patches given (the batch needs at least 2 images)",
        ));
    }
    let y = Tensor::<B>::scalar(0.0, &hard_logits.device())?;
    bce_with_logits(hard_logits, &y, reduction)
}

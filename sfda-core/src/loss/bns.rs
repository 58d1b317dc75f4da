//! `L_BNS`, the batch-normalisation-statistics constraint on the generator
//! (paper eq. 4, after DeepInversion, Yin et al. CVPR 2020):
//!
//! ```text
//! L_BNS = Σ_l ‖μ_l(x̃) − μ̄_l‖₂² + Σ_l ‖σ²_l(x̃) − σ̄²_l‖₂²          (eq. 4)
//! ```
//!
//! `μ_l(x̃)`, `σ²_l(x̃)` are the batch mean and (biased) variance of the input
//! of the teacher's l-th BN layer on the fake batch, `μ̄_l`, `σ̄²_l` that
//! layer's running statistics. The paper squares the norm; DeepInversion's
//! public code uses the plain (unsquared) L2 norm, available as
//! [`BnsNorm::L2`]; [`BnsNorm::ChannelNormalised`] divides each channel's
//! difference by the running statistic's scale, so channels with large
//! activations do not dominate. The paper sums over layers; [`LayerReduction::Mean`]
//! divides by the number of layers so the loss scale does not grow with depth.
//!
//! Nothing is detached: the gradient reaches the generator through
//! `batch_mean`/`batch_var`, which must come from a teacher forward pass on
//! the (non-detached) fake batch.

use serde::{Deserialize, Serialize};

use crate::model::BnStat;
use crate::tensor::{Backend, Tensor};
use crate::{Error, Result};

/// The norm applied to the difference of statistics of one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BnsNorm {
    /// `‖·‖₂²`, the paper's eq. 4 (default).
    #[default]
    Squared,
    /// `‖·‖₂`, as in DeepInversion's code; computed as `sqrt(Σd² + 1e-12)` so
    /// the gradient stays finite when the statistics match exactly.
    L2,
    /// `Σ_c ((μ_c − μ̄_c) / √(σ̄²_c + ε))² + Σ_c ((σ²_c − σ̄²_c) / (σ̄²_c + ε))²`
    /// with ε = 1e-5 (BatchNorm's): each channel's difference in units of
    /// the running statistics, so every channel counts the same whatever its
    /// activation scale. Not the paper's; a variant of the study in
    /// `docs/measurements/transfer`.
    ChannelNormalised,
}

/// How the per-layer terms are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerReduction {
    /// Sum over layers, the paper's eq. 4 (default).
    #[default]
    Sum,
    /// Mean over layers.
    Mean,
}

/// Squared-norm epsilon of [`BnsNorm::L2`].
const L2_EPS: f64 = 1e-12;

/// Variance epsilon of [`BnsNorm::ChannelNormalised`] (BatchNorm's default).
const CHANNEL_EPS: f64 = 1e-5;

/// `L_BNS` (eq. 4) over the BN statistics of one forward pass.
///
/// Errors if `stats` is empty (the teacher was run without
/// `collect_bn_stats`) or if a layer's batch and running statistics differ
/// in shape.
pub fn bns_loss<B: Backend>(
    stats: &[BnStat<B>],
    norm: BnsNorm,
    layers: LayerReduction,
) -> Result<Tensor<B>> {
    if stats.is_empty() {
        return Err(Error::msg(
            "L_BNS (eq. 4) needs BatchNorm statistics, but none were given: run the teacher \
             with ForwardOpts { collect_bn_stats: true, .. } on the fake batch (and make sure \
             the network has BatchNorm layers)",
        ));
    }
    let mut total: Option<Tensor<B>> = None;
    for s in stats {
        let (mean_term, var_term) = if norm == BnsNorm::ChannelNormalised {
            let var = s.running_var.add_scalar(CHANNEL_EPS)?;
            let mean_scale = var.sqrt()?;
            (
                channel_normalised(&s.batch_mean, &s.running_mean, &mean_scale, &s.name)?,
                channel_normalised(&s.batch_var, &s.running_var, &var, &s.name)?,
            )
        } else {
            (
                norm_of_difference(&s.batch_mean, &s.running_mean, norm, &s.name)?,
                norm_of_difference(&s.batch_var, &s.running_var, norm, &s.name)?,
            )
        };
        let layer = mean_term.add(&var_term)?;
        total = Some(match total {
            None => layer,
            Some(t) => t.add(&layer)?,
        });
    }
    let total = total.expect("stats is not empty");
    match layers {
        LayerReduction::Sum => Ok(total),
        LayerReduction::Mean => total.scale(1.0 / stats.len() as f64),
    }
}

/// `‖a − b‖₂²` or `‖a − b‖₂` as a 0-dim tensor.
fn norm_of_difference<B: Backend>(
    a: &Tensor<B>,
    b: &Tensor<B>,
    norm: BnsNorm,
    layer: &str,
) -> Result<Tensor<B>> {
    check_same_shape(a, b, layer)?;
    let sq = a.sub(b)?.sqr()?.sum_all()?;
    match norm {
        BnsNorm::L2 => sq.add_scalar(L2_EPS)?.sqrt(),
        BnsNorm::Squared | BnsNorm::ChannelNormalised => Ok(sq),
    }
}

/// `Σ_c ((a_c − b_c) / scale_c)²` as a 0-dim tensor.
fn channel_normalised<B: Backend>(
    a: &Tensor<B>,
    b: &Tensor<B>,
    scale: &Tensor<B>,
    layer: &str,
) -> Result<Tensor<B>> {
    check_same_shape(a, b, layer)?;
    a.sub(b)?.div(scale)?.sqr()?.sum_all()
}

fn check_same_shape<B: Backend>(a: &Tensor<B>, b: &Tensor<B>, layer: &str) -> Result<()> {
    if a.shape() != b.shape() {
        return Err(Error::shape(
            "bns_loss",
            format!(
                "BN layer '{layer}': batch statistic has shape {:?} but running statistic has \
                 shape {:?}",
                a.shape(),
                b.shape()
            ),
        ));
    }
    Ok(())
}

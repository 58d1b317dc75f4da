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
//! [`BnsNorm::L2`]. The paper sums over layers; [`LayerReduction::Mean`]
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
        let mean_term = norm_of_difference(&s.batch_mean, &s.running_mean, norm, &s.name)?;
        let var_term = norm_of_difference(&s.batch_var, &s.running_var, norm, &s.name)?;
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
    let sq = a.sub(b)?.sqr()?.sum_all()?;
    match norm {
        BnsNorm::Squared => Ok(sq),
        BnsNorm::L2 => sq.add_scalar(L2_EPS)?.sqrt(),
    }
}

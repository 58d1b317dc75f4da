//! What the loop measures besides the loss values, to see whether knowledge
//! transfer works (issue: "a generator that reaches the source
//! statistics"): `L_BNS` split per BN layer into its mean and variance parts
//! (eq. 4), the norm of the gradient each weighted term sends to the network
//! that moves, the teacher's confidence on the fakes and the fakes' pixel
//! statistics.
//!
//! The per-layer parts use the paper's squared norm whatever the configured
//! [`BnsNorm`](crate::loss::BnsNorm), so runs with different options stay
//! comparable; their sum is eq. 4's `L_BNS`.

use crate::model::BnStat;
use crate::tensor::{grad, Backend, Tensor, Var};
use crate::Result;

/// One BN layer's share of `L_BNS` (eq. 4, squared norms).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LayerBns {
    /// The layer's path, e.g. `backbone.layer4.0.bn2`.
    pub name: String,
    /// `‖μ_l(x̃) − μ̄_l‖₂²`.
    pub mean: f32,
    /// `‖σ²_l(x̃) − σ̄²_l‖₂²`.
    pub var: f32,
}

/// The per-layer parts of eq. 4 over the statistics of one forward pass.
pub fn bns_layers<B: Backend>(stats: &[BnStat<B>]) -> Result<Vec<LayerBns>> {
    stats
        .iter()
        .map(|s| {
            let sq = |a: &Tensor<B>, b: &Tensor<B>| -> Result<f32> {
                a.detach()?.sub(b)?.sqr()?.sum_all()?.to_scalar()
            };
            Ok(LayerBns {
                name: s.name.clone(),
                mean: sq(&s.batch_mean, &s.running_mean)?,
                var: sq(&s.batch_var, &s.running_var)?,
            })
        })
        .collect()
}

/// `Σ_l (mean + var)`: eq. 4's `L_BNS` from its parts.
pub fn bns_total(layers: &[LayerBns]) -> f32 {
    layers.iter().map(|l| l.mean + l.var).sum()
}

/// The L2 norm of the gradient of `loss` with respect to `vars` (all
/// together), `sqrt(Σ_v ‖∂loss/∂v‖²)`; 0 when `loss` does not reach them.
pub fn grad_norm<B: Backend>(loss: &Tensor<B>, vars: &[Var<B>]) -> Result<f32> {
    let refs: Vec<&Var<B>> = vars.iter().collect();
    let mut sq = 0.0f64;
    for g in grad(loss, &refs)?.into_iter().flatten() {
        sq += g.sqr()?.sum_all()?.to_scalar()? as f64;
    }
    Ok(sq.sqrt() as f32)
}

/// Mean over pixels of the largest class probability of `logits [B,C,H,W]`.
pub fn mean_max_probability<B: Backend>(logits: &Tensor<B>) -> Result<f32> {
    logits
        .detach()?
        .softmax(1)?
        .max_dim(1, false)?
        .mean_all()?
        .to_scalar()
}

/// Mean and standard deviation of the generator's raw output (in `[-1, 1]`),
/// over every pixel and channel.
pub fn image_moments<B: Backend>(img: &Tensor<B>) -> Result<(f32, f32)> {
    let x = img.detach()?;
    let mean = x.mean_all()?.to_scalar()?;
    let var = x
        .add_scalar(-(mean as f64))?
        .sqr()?
        .mean_all()?
        .to_scalar()?;
    Ok((mean, var.max(0.0).sqrt()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_is_the_sum_of_parts() {
        let l = vec![
            LayerBns {
                name: "a".into(),
                mean: 1.5,
                var: 2.0,
            },
            LayerBns {
                name: "b".into(),
                mean: 0.25,
                var: 0.25,
            },
        ];
        assert_eq!(bns_total(&l), 4.0);
    }
}

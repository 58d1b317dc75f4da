//! Entropy objectives of the source-free baselines, on target predictions
//! `logits [B, C, H, W]` (softmax over dim 1):
//!
//! - **MinEnt** (Vu et al., ADVENT, CVPR 2019, eq. 3 as a loss on its own):
//!   the mean pixel entropy normalised by `log C`,
//!   `L_ent = −(1/(HW·log C)) Σ_{h,w} Σ_c p log p`, averaged over the batch.
//!   TENT (Wang et al., ICLR 2021) minimises the same entropy (unnormalised
//!   there; normalisation only rescales the gradient).
//! - **Information maximisation** (SHOT, Liang, Hu & Feng, ICML 2020, eq. 2–3):
//!   `L_IM = L_ent − L_div`, with `L_div = −Σ_c p̄_c log p̄_c` the entropy of
//!   the mean prediction `p̄` over every pixel of the batch: confident
//!   per-pixel predictions that are diverse over the batch.

use crate::tensor::{Backend, Tensor};
use crate::{Error, Result};

fn check<B: Backend>(what: &'static str, logits: &Tensor<B>) -> Result<usize> {
    let s = logits.shape();
    if s.len() != 4 || s.contains(&0) {
        return Err(Error::shape(
            what,
            format!("expected non-empty logits [B, C, H, W], got {s:?}"),
        ));
    }
    Ok(s[1])
}

/// Mean pixel entropy of `logits [B, C, H, W]` in nats, divided by `log C`
/// when `normalize` (ADVENT's MinEnt loss; 1 = uniform, 0 = one-hot).
pub fn entropy_loss<B: Backend>(logits: &Tensor<B>, normalize: bool) -> Result<Tensor<B>> {
    let c = check("entropy_loss", logits)?;
    let e = super::pixel_entropy(logits)?.mean_all()?;
    if normalize && c > 1 {
        e.scale(1.0 / (c as f64).ln())
    } else {
        Ok(e)
    }
}

/// The parts of SHOT's information-maximisation loss.
#[derive(Debug, Clone)]
pub struct InfoMax<B: Backend> {
    /// `L_ent − diversity·L_div`, the loss to minimise.
    pub loss: Tensor<B>,
    /// Mean pixel entropy `L_ent` (nats).
    pub entropy: Tensor<B>,
    /// Entropy of the batch-mean prediction `L_div` (nats).
    pub diversity: Tensor<B>,
}

/// SHOT's information-maximisation loss (eq. 2–3 of SHOT, pixels as samples):
/// `L_ent − diversity · L_div`. The `ε = 1e-5` inside the log of `p̄` is
/// SHOT's.
pub fn information_maximization<B: Backend>(
    logits: &Tensor<B>,
    diversity: f64,
) -> Result<InfoMax<B>> {
    let c = check("information_maximization", logits)?;
    let entropy = super::pixel_entropy(logits)?.mean_all()?;
    let mean_p = logits
        .softmax(1)?
        .mean_dims(&[0, 2, 3], false)?
        .reshape(&[c])?; // p̄ [C]
    let div = mean_p
        .mul(&mean_p.add_scalar(1e-5)?.log()?)?
        .sum_all()?
        .neg()?;
    let loss = entropy.sub(&div.scale(diversity)?)?;
    Ok(InfoMax {
        loss,
        entropy,
        diversity: div,
    })
}

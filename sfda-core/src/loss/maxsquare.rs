//! `L_TAR`, the maximum squares loss on target predictions (paper eq. 2,
//! after MaxSquare, Chen, Xue & Cai, ICCV 2019):
//!
//! ```text
//! L_TAR(x_t) = −(1/HW) Σ_{h,w} Σ_c (p_t^{h,w,c})²                         (eq. 2)
//! ```
//!
//! averaged over the images of the batch. A confident pixel contributes −1,
//! a uniform one −1/C. Normalisations differ between papers: the MaxSquare
//! paper writes `−1/(2N)` (set [`MaxSquareOptions::scale`] to 0.5), its code
//! additionally divides by `C`. Our default is SFDA's eq. 2 (`scale = 1`).
//!
//! Optional **image-wise class balancing** (MaxSquare, sec. 3.3; off by
//! default, as in SFDA): pixel `n` of an image whose argmax class `c` covers
//! `N_c` of its `N` pixels is weighted by `1 / max(N_c^α · N^{1−α}, 1)`
//! instead of `1/N`, so large classes (road, sky) no longer dominate the
//! gradient; `α = 0` gives back eq. 2 exactly. The weights are constants (no
//! gradient through the argmax), computed on the host.

use serde::{Deserialize, Serialize};

use crate::tensor::{Backend, Tensor};
use crate::{Error, Result};

/// Options of [`maxsquare_loss`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MaxSquareOptions {
    /// Multiplier of the loss (1 = SFDA's eq. 2; 0.5 = MaxSquare's `1/(2N)`).
    pub scale: f64,
    /// Image-wise class balancing (MaxSquare's IW weighting); default off.
    pub class_balance: bool,
    /// Exponent `α` of the balancing (MaxSquare uses 0.2).
    pub balance_ratio: f32,
}

impl Default for MaxSquareOptions {
    fn default() -> Self {
        MaxSquareOptions {
            scale: 1.0,
            class_balance: false,
            balance_ratio: 0.2,
        }
    }
}

/// `L_TAR` (eq. 2) of target `logits [B, C, H, W]` (softmax over dim 1).
pub fn maxsquare_loss<B: Backend>(
    logits: &Tensor<B>,
    opts: &MaxSquareOptions,
) -> Result<Tensor<B>> {
    check_logits(logits)?;
    maxsquare_loss_with_probs(logits, &logits.softmax(1)?, opts)
}

/// [`maxsquare_loss`] with the class probabilities `probs = softmax(logits,
/// 1)` already computed (and differentiable), for a caller that needs them
/// for something else too: the SFDA student step cuts the same
/// probabilities into IPSM's patches. The class-balancing weights still
/// come from the argmax of `logits`, so the result is the same to the bit.
pub fn maxsquare_loss_with_probs<B: Backend>(
    logits: &Tensor<B>,
    probs: &Tensor<B>,
    opts: &MaxSquareOptions,
) -> Result<Tensor<B>> {
    let s = check_logits(logits)?;
    if probs.shape() != s {
        return Err(Error::shape(
            "maxsquare_loss_with_probs",
            format!(
                "probabilities {:?} do not match the logits {s:?}",
                probs.shape()
            ),
        ));
    }
    let (b, c, h, w) = (s[0], s[1], s[2], s[3]);
    let sq = probs.sqr()?.sum_dims(&[1], false)?; // [B, H, W]
    if !opts.class_balance {
        return sq.mean_all()?.scale(-opts.scale);
    }
    if !(opts.balance_ratio.is_finite() && (0.0..=1.0).contains(&opts.balance_ratio)) {
        return Err(Error::Config {
            key: "balance_ratio".into(),
            msg: format!(
                "class-balance exponent must lie in [0, 1], got {}",
                opts.balance_ratio
            ),
        });
    }
    let arg = logits.argmax_dim(1, false)?.to_vec()?; // [B, H, W]
    let n = h * w;
    let alpha = opts.balance_ratio as f64;
    let mut weights = vec![0f32; arg.len()];
    for (img, (labels, out)) in arg.chunks(n).zip(weights.chunks_mut(n)).enumerate() {
        let mut hist = vec![0usize; c];
        for &l in labels {
            let l = l as usize;
            if l >= c {
                return Err(Error::msg(format!(
                    "maxsquare_loss: argmax {l} out of range for {c} classes (image {img})"
                )));
            }
            hist[l] += 1;
        }
        for (o, &l) in out.iter_mut().zip(labels) {
            let nc = hist[l as usize] as f64;
            *o = (1.0 / (nc.powf(alpha) * (n as f64).powf(1.0 - alpha)).max(1.0)) as f32;
        }
    }
    let weights = Tensor::<B>::from_f32(&weights, &[b, h, w], &logits.device())?;
    sq.mul(&weights)?.sum_all()?.scale(-opts.scale / b as f64)
}

/// The shape of non-empty `logits [B, C, H, W]`, or a shape error.
fn check_logits<B: Backend>(logits: &Tensor<B>) -> Result<Vec<usize>> {
    let s = logits.shape();
    if s.len() != 4 || s.contains(&0) {
        return Err(Error::shape(
            "maxsquare_loss",
            format!("expected non-empty logits [B, C, H, W], got {s:?}"),
        ));
    }
    Ok(s)
}

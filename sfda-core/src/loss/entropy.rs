//! Prediction entropy per pixel, the inner sum of paper eq. 13 (the patch
//! mean IPSM ranks patches by is [`crate::ipsm::patch_mean_entropy`]):
//!
//! ```text
//! E(x_{t,k}) = −(1/(H₂W₂)) Σ_{h,w} Σ_c p^{h,w,c} log p^{h,w,c}                    (eq. 13)
//! ```
//!
//! Probabilities come from a softmax over the class dim of the logits; the
//! entropy is computed as `−Σ_c p · log_softmax`, which is finite even where a
//! probability underflows to 0.

use crate::tensor::{Backend, Tensor};
use crate::{Error, Result};

/// Per-pixel entropy `−Σ_c p log p` of `logits [B, C, H, W]`, as `[B, H, W]`
/// (in nats).
pub fn pixel_entropy<B: Backend>(logits: &Tensor<B>) -> Result<Tensor<B>> {
    let s = logits.shape();
    if s.len() != 4 {
        return Err(Error::shape(
            "pixel_entropy",
            format!("expected logits [B, C, H, W], got {s:?}"),
        ));
    }
    let logp = logits.log_softmax(1)?;
    logp.exp()?.mul(&logp)?.sum_dims(&[1], false)?.neg()
}

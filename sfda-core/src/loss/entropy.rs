//! Prediction entropy, per pixel and per patch (paper eq. 13), the score the
//! intra-domain patch-level self-supervision module ranks patches by:
//!
//! ```text
//! E(x_{t,k}) = −(1/(H₂W₂)) Σ_{h,w} Σ_c p^{h,w,c} log p^{h,w,c}                    (eq. 13)
//! ```
//!
//! Probabilities come from a softmax over the class dim of the logits; the
//! entropy is computed as `−Σ_c p · log_softmax`, which is finite even where a
//! probability underflows to 0. Patches follow [`PatchGrid`]: a `K × K` grid
//! of equal patches `H₂ = ⌊H/K⌋`, `W₂ = ⌊W/K⌋`, the remainder rows/columns at
//! the bottom/right cropped.

use crate::ipsm::PatchGrid;
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

/// Mean entropy of each of the `K × K` patches of `logits [B, C, H, W]`
/// (eq. 13), as `[B, K·K]`; patch position `k = row·K + col` (row-major, as
/// in [`split_patches`](crate::ipsm::split_patches)).
pub fn patch_mean_entropy<B: Backend>(logits: &Tensor<B>, k: usize) -> Result<Tensor<B>> {
    let s = logits.shape();
    if s.len() != 4 {
        return Err(Error::shape(
            "patch_mean_entropy",
            format!("expected logits [B, C, H, W], got {s:?}"),
        ));
    }
    let grid = PatchGrid::new(s[2], s[3], k)?;
    let (ph, pw) = (grid.patch_h, grid.patch_w);
    let e = pixel_entropy(logits)?
        .narrow(1, 0, k * ph)?
        .narrow(2, 0, k * pw)?
        .reshape(&[s[0], k, ph, k, pw])?
        .mean_dims(&[2, 4], false)?; // [B, K, K]
    e.reshape(&[s[0], k * k])
}

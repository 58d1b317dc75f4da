//! The patch score of IPSM (paper eq. 13): the mean prediction entropy of
//! each patch,
//!
//! ```text
//! E(x_{t,k}) = −(1/(H₂W₂)) Σ_{h,w} Σ_c p^{h,w,c} log p^{h,w,c}                    (eq. 13)
//! ```
//!
//! over the [`PatchGrid`]: a `K × K` grid of equal patches `H₂ = ⌊H/K⌋`,
//! `W₂ = ⌊W/K⌋`, the remainder rows/columns at the bottom/right cropped. The
//! per-pixel entropy is [`pixel_entropy`] of `loss/`.

use crate::ipsm::PatchGrid;
use crate::loss::pixel_entropy;
use crate::tensor::{Backend, Tensor};
use crate::{Error, Result};

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

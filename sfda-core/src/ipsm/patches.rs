//! The `K × K` patch grid of IPSM (paper sec. 3.3.1) and [`split_patches`],
//! which cuts a batch of maps into its patches for the discriminator.
//!
//! **Remainders are cropped**: every patch is `⌊H/K⌋ × ⌊W/K⌋` and starts at
//! `(row·⌊H/K⌋, col·⌊W/K⌋)`; the last `H mod K` rows and `W mod K` columns of
//! the map belong to no patch. Equal patch sizes are what lets all patches
//! stack into one tensor for the (convolutional, fixed-input) discriminator,
//! and at most `K − 1` border rows/columns out of hundreds are lost. The
//! entropy ranking ([`patch_mean_entropy`](crate::ipsm::patch_mean_entropy))
//! uses the same grid, so a patch's score and its pixels agree.

use crate::tensor::{Backend, Tensor};
use crate::{Error, Result};

/// Geometry of a `K × K` patch grid over an `H × W` map (remainders cropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatchGrid {
    /// Patches per side.
    pub k: usize,
    /// Height of the map.
    pub height: usize,
    /// Width of the map.
    pub width: usize,
    /// Height of every patch, `⌊H/K⌋`.
    pub patch_h: usize,
    /// Width of every patch, `⌊W/K⌋`.
    pub patch_w: usize,
}

impl PatchGrid {
    /// The grid of `k × k` patches over an `height × width` map; errors if
    /// `k` is 0 or larger than a side.
    pub fn new(height: usize, width: usize, k: usize) -> Result<Self> {
        if k == 0 || height < k || width < k {
            return Err(Error::Config {
                key: "k".into(),
                msg: format!(
                    "cannot cut a {height}×{width} map into {k}×{k} patches: K must be between 1 \
                     and the smaller side (the paper uses K in 3..=5)"
                ),
            });
        }
        Ok(PatchGrid {
            k,
            height,
            width,
            patch_h: height / k,
            patch_w: width / k,
        })
    }
    /// Number of patch positions, `K·K`.
    pub fn positions(&self) -> usize {
        self.k * self.k
    }
    /// `(row, col)` of position `pos = row·K + col`.
    pub fn row_col(&self, pos: usize) -> (usize, usize) {
        (pos / self.k, pos % self.k)
    }
    /// Top-left pixel `(y, x)` of position `pos`.
    pub fn origin(&self, pos: usize) -> (usize, usize) {
        let (r, c) = self.row_col(pos);
        (r * self.patch_h, c * self.patch_w)
    }
}

/// A batch of maps cut into patches.
#[derive(Debug, Clone)]
pub struct PatchBatch<B: Backend> {
    /// The patches, `[B·K·K, C, ⌊H/K⌋, ⌊W/K⌋]`; row `b·K² + pos`.
    pub patches: Tensor<B>,
    /// Patch position `pos = row·K + col` of each row (what the conditional
    /// discriminator is told).
    pub positions: Vec<usize>,
    /// Source image `b` of each row.
    pub images: Vec<usize>,
    /// The grid.
    pub grid: PatchGrid,
}

/// Cuts `t [B, C, H, W]` into `K × K` patches (row-major positions, image
/// major rows; remainders cropped), differentiably.
///
/// ```
/// # fn demo<B: sfda_core::Backend>(dev: &B::Device) -> sfda_core::Result<()> {
/// use sfda_core::{ipsm::split_patches, Tensor};
/// let probs = Tensor::<B>::zeros(&[2, 19, 64, 128], dev)?;
/// let p = split_patches(&probs, 3)?;
/// assert_eq!(p.patches.shape(), vec![18, 19, 21, 42]);
/// assert_eq!(p.positions[10], 1); // image 1, position 1 (row 0, col 1)
/// # Ok(()) }
/// ```
pub fn split_patches<B: Backend>(t: &Tensor<B>, k: usize) -> Result<PatchBatch<B>> {
    let s = t.shape();
    if s.len() != 4 {
        return Err(Error::shape(
            "split_patches",
            format!("expected maps [B, C, H, W], got {s:?}"),
        ));
    }
    let (b, c) = (s[0], s[1]);
    let grid = PatchGrid::new(s[2], s[3], k)?;
    let (ph, pw) = (grid.patch_h, grid.patch_w);
    let patches = t
        .narrow(2, 0, k * ph)?
        .narrow(3, 0, k * pw)?
        .reshape(&[b, c, k, ph, k, pw])?
        .permute(&[0, 2, 4, 1, 3, 5])? // [B, K, K, C, ph, pw]
        .reshape(&[b * k * k, c, ph, pw])?;
    let n = grid.positions();
    Ok(PatchBatch {
        patches,
        positions: (0..b * n).map(|i| i % n).collect(),
        images: (0..b * n).map(|i| i / n).collect(),
        grid,
    })
}

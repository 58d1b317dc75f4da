//! The fake-image generator G of Liu et al. (CVPR 2021, section 3.2): a
//! DCGAN-style network (Radford, Metz & Chintala, ICLR 2016) mapping a latent
//! code `z ~ N(0, I)` of 256 dims to an RGB image in `[-1, 1]`.
//!
//! `fc` (linear, latent → `c₀·h₀·w₀`) → reshape → `bn0` → ReLU, then one stage
//! per doubling: nearest ×2 upsampling + 3×3 conv + BN + ReLU (`blocks.i`;
//! upsample + conv instead of transposed convs avoids checkerboard artefacts),
//! then a 3×3 conv to 3 channels (`out`) and tanh. The output size is
//! `(h₀·2ⁿ, w₀·2ⁿ)` for `n` stages. Mapping `[-1, 1]` to the segmentation
//! network's normalised input is the caller's business.

use serde::{Deserialize, Serialize};

use crate::model::{BnMode, ForwardOpts, Generator, NamedVar};
use crate::nn::{
    batch_norm2d, conv2d, linear, BatchNorm2d, BatchNormConfig, Conv2d, Conv2dConfig, ForwardCtx,
    Linear, VarPath,
};
use crate::tensor::{Backend, Tensor};
use crate::{Error, Result};

/// Shape of a [`DcganGenerator`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneratorConfig {
    /// Latent dimension (256 in the paper).
    pub latent_dim: usize,
    /// Output `(height, width)`; both divisible by `2^(channels.len() − 1)`.
    pub image_size: (usize, usize),
    /// Channels after the reshape, then after each upsampling stage.
    pub channels: Vec<usize>,
}

impl GeneratorConfig {
    /// The paper-size generator: latent 256, channels 128·128·64·32·16 (four
    /// doublings), for `image_size` such as `(128, 256)` (the paper's fakes).
    pub fn paper(image_size: (usize, usize)) -> Self {
        GeneratorConfig {
            latent_dim: 256,
            image_size,
            channels: vec![128, 128, 64, 32, 16],
        }
    }
    /// A narrow generator for CPU work (same depth, a quarter of the widths).
    pub fn mini(image_size: (usize, usize)) -> Self {
        GeneratorConfig {
            latent_dim: 256,
            image_size,
            channels: vec![64, 32, 16, 16, 8],
        }
    }
    /// Spatial size after the reshape.
    pub fn base_size(&self) -> Result<(usize, usize)> {
        let n = self.channels.len().saturating_sub(1);
        let f = 1usize << n;
        let (h, w) = self.image_size;
        if self.channels.is_empty() || h % f != 0 || w % f != 0 || h == 0 || w == 0 {
            return Err(Error::Config {
                key: "generator.image_size".into(),
                msg: format!(
                    "{h}×{w} must be a non-zero multiple of 2^{n} = {f} for {} channel entries",
                    self.channels.len()
                ),
            });
        }
        Ok((h / f, w / f))
    }
}

#[derive(Debug, Clone)]
struct UpBlock<B: Backend> {
    conv: Conv2d<B>,
    bn: BatchNorm2d<B>,
}

/// A DCGAN-style generator.
pub struct DcganGenerator<B: Backend> {
    cfg: GeneratorConfig,
    base: (usize, usize),
    fc: Linear<B>,
    bn0: BatchNorm2d<B>,
    blocks: Vec<UpBlock<B>>,
    out: Conv2d<B>,
    path: VarPath<B>,
}

impl<B: Backend> DcganGenerator<B> {
    /// Builds the generator under `p`.
    pub fn new(p: &VarPath<B>, cfg: &GeneratorConfig) -> Result<Self> {
        let base = cfg.base_size()?;
        let c0 = cfg.channels[0];
        let fc = linear(&p.pp("fc"), cfg.latent_dim, c0 * base.0 * base.1, true)?;
        let bn = BatchNormConfig::default();
        let bn0 = batch_norm2d(&p.pp("bn0"), c0, bn)?;
        let conv = Conv2dConfig::same(3, 1, 1);
        let mut blocks = Vec::new();
        for (i, pair) in cfg.channels.windows(2).enumerate() {
            let bp = p.pp("blocks").pp(i);
            blocks.push(UpBlock {
                conv: conv2d(&bp.pp("conv"), pair[0], pair[1], 3, conv)?,
                bn: batch_norm2d(&bp.pp("bn"), pair[1], bn)?,
            });
        }
        let last = *cfg.channels.last().unwrap_or(&c0);
        let out = conv2d(
            &p.pp("out"),
            last,
            3,
            3,
            Conv2dConfig {
                padding: 1,
                ..Conv2dConfig::default()
            },
        )?;
        Ok(DcganGenerator {
            cfg: cfg.clone(),
            base,
            fc,
            bn0,
            blocks,
            out,
            path: p.clone(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &GeneratorConfig {
        &self.cfg
    }
}

impl<B: Backend> Generator<B> for DcganGenerator<B> {
    fn latent_dim(&self) -> usize {
        self.cfg.latent_dim
    }
    fn image_size(&self) -> (usize, usize) {
        self.cfg.image_size
    }
    fn forward(&self, z: &Tensor<B>, train: bool) -> Result<Tensor<B>> {
        let s = z.shape();
        if s.len() != 2 || s[1] != self.cfg.latent_dim {
            return Err(Error::shape(
                "generator",
                format!("expected z [B, {}], got {s:?}", self.cfg.latent_dim),
            ));
        }
        let mut ctx = ForwardCtx::new(ForwardOpts {
            bn: if train {
                BnMode::Train {
                    update_running: true,
                }
            } else {
                BnMode::Eval
            },
            collect_bn_stats: false,
        });
        let (h0, w0) = self.base;
        let y = self
            .fc
            .forward(z)?
            .reshape(&[s[0], self.cfg.channels[0], h0, w0])?;
        let mut y = self.bn0.forward(&y, &mut ctx)?.relu()?;
        let (mut h, mut w) = (h0, w0);
        for b in &self.blocks {
            h *= 2;
            w *= 2;
            y = y.upsample_nearest2d((h, w))?;
            y = b.bn.forward(&b.conv.forward(&y)?, &mut ctx)?.relu()?;
        }
        self.out.forward(&y)?.tanh()
    }
    fn named_vars(&self) -> Vec<NamedVar<B>> {
        self.path.named_vars()
    }
}

//! The conditional patch discriminator D of the Intra-domain Patch-level
//! Self-supervision Module (Liu et al., CVPR 2021, section 3.3, eq. 15): given
//! the class-probability map of one patch and the patch's position k in the
//! K×K grid, it outputs a logit of `P(hard)`.
//!
//! Layout: strided 4×4 convolutions with leaky ReLU (slope 0.2, as DCGAN's
//! discriminator) `convs.i`; the position is embedded in 256 dims (`embed`,
//! the paper's label embedding) and injected twice — as a per-channel bias
//! after the first convolution (`cond`, linear 256 → c₀) and as a projection
//! term at the output (`proj`; Miyato & Koyama, "cGANs with Projection
//! Discriminator", ICLR 2018): `logit = fc(g) + ⟨proj(e_k), g⟩` with `g` the
//! globally averaged last feature map. No BatchNorm, so a patch's score does
//! not depend on the other patches of the batch.

use serde::{Deserialize, Serialize};

use crate::model::{Discriminator, NamedVar};
use crate::nn::{conv2d, embedding, linear, Conv2d, Conv2dConfig, Embedding, Linear, VarPath};
use crate::tensor::{Backend, Tensor};
use crate::{Error, Result};

/// Shape of a [`PatchDiscriminator`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscriminatorConfig {
    /// Input channels (the number of classes of the probability maps).
    pub num_classes: usize,
    /// Number of patch positions (K·K).
    pub num_positions: usize,
    /// Size of the position embedding (256 in the paper).
    pub embed_dim: usize,
    /// Channels of the stride-2 4×4 convolutions.
    pub channels: Vec<usize>,
    /// Negative slope of the leaky ReLUs.
    pub slope: f64,
}

impl DiscriminatorConfig {
    /// A DCGAN-sized discriminator: channels 64·128·256·512.
    pub fn paper(num_classes: usize, k: usize) -> Self {
        DiscriminatorConfig {
            num_classes,
            num_positions: k * k,
            embed_dim: 256,
            channels: vec![64, 128, 256, 512],
            slope: 0.2,
        }
    }
    /// A narrow discriminator for CPU work: channels 32·64·128.
    pub fn mini(num_classes: usize, k: usize) -> Self {
        DiscriminatorConfig {
            channels: vec![32, 64, 128],
            ..Self::paper(num_classes, k)
        }
    }
}

/// A position-conditioned patch discriminator.
pub struct PatchDiscriminator<B: Backend> {
    cfg: DiscriminatorConfig,
    embed: Embedding<B>,
    cond: Linear<B>,
    convs: Vec<Conv2d<B>>,
    proj: Linear<B>,
    fc: Linear<B>,
    path: VarPath<B>,
}

impl<B: Backend> PatchDiscriminator<B> {
    /// Builds the discriminator under `p`.
    pub fn new(p: &VarPath<B>, cfg: &DiscriminatorConfig) -> Result<Self> {
        if cfg.channels.is_empty() || cfg.num_positions == 0 || cfg.num_classes == 0 {
            return Err(Error::Config {
                key: "discriminator".into(),
                msg: format!("needs ≥ 1 conv, ≥ 1 position and ≥ 1 class, got {cfg:?}"),
            });
        }
        let embed = embedding(&p.pp("embed"), cfg.num_positions, cfg.embed_dim)?;
        let cond = linear(&p.pp("cond"), cfg.embed_dim, cfg.channels[0], true)?;
        let conv_cfg = Conv2dConfig {
            stride: 2,
            padding: 1,
            ..Conv2dConfig::default()
        };
        let mut convs = Vec::new();
        let mut cin = cfg.num_classes;
        for (i, &c) in cfg.channels.iter().enumerate() {
            convs.push(conv2d(&p.pp("convs").pp(i), cin, c, 4, conv_cfg)?);
            cin = c;
        }
        let proj = linear(&p.pp("proj"), cfg.embed_dim, cin, false)?;
        let fc = linear(&p.pp("fc"), cin, 1, true)?;
        Ok(PatchDiscriminator {
            cfg: cfg.clone(),
            embed,
            cond,
            convs,
            proj,
            fc,
            path: p.clone(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &DiscriminatorConfig {
        &self.cfg
    }

    /// Smallest patch side the convolution stack accepts.
    pub fn min_patch_size(&self) -> usize {
        1 << self.convs.len()
    }
}

impl<B: Backend> Discriminator<B> for PatchDiscriminator<B> {
    fn num_positions(&self) -> usize {
        self.cfg.num_positions
    }
    fn forward(&self, patches: &Tensor<B>, positions: &[usize]) -> Result<Tensor<B>> {
        let s = patches.shape();
        let min = self.min_patch_size();
        if s.len() != 4
            || s[1] != self.cfg.num_classes
            || s[0] != positions.len()
            || s[2] < min
            || s[3] < min
        {
            return Err(Error::shape(
                "discriminator",
                format!(
                    "expected patches [N, {}, h, w] with h, w ≥ {min} and N = {} positions, got {s:?}",
                    self.cfg.num_classes,
                    positions.len()
                ),
            ));
        }
        if let Some(bad) = positions.iter().find(|&&k| k >= self.cfg.num_positions) {
            return Err(Error::shape(
                "discriminator",
                format!(
                    "position {bad} out of range (K·K = {})",
                    self.cfg.num_positions
                ),
            ));
        }
        let n = s[0];
        let e = self.embed.forward(positions)?; // [N, E]
        let c0 = self.cfg.channels[0];
        let bias = self.cond.forward(&e)?.reshape(&[n, c0, 1, 1])?;
        let mut h = self.convs[0]
            .forward(patches)?
            .add(&bias)?
            .leaky_relu(self.cfg.slope)?;
        for conv in &self.convs[1..] {
            h = conv.forward(&h)?.leaky_relu(self.cfg.slope)?;
        }
        let g = h.mean_dims(&[2, 3], false)?; // [N, C]
        let projection = g.mul(&self.proj.forward(&e)?)?.sum_dims(&[1], false)?; // [N]
        self.fc.forward(&g)?.reshape(&[n])?.add(&projection)
    }
    fn named_vars(&self) -> Vec<NamedVar<B>> {
        self.path.named_vars()
    }
}

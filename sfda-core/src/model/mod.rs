//! The network traits the SFDA algorithm is written against: a segmentation
//! model ([`SegModel`]), the fake-image [`Generator`] and the patch
//! [`Discriminator`]. Implementations live in `net/` (written once against
//! [`Backend`], so every backend runs them) and in plugins.

use crate::tensor::{Backend, Tensor, Var};
use crate::Result;

/// How BatchNorm layers behave in a forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BnMode {
    /// Normalise with the running statistics (inference; the frozen teacher).
    Eval,
    /// Normalise with the batch statistics; update the running statistics
    /// only if `update_running` (the student on fake batches does not).
    Train {
        /// Whether the running mean/variance move towards this batch's.
        update_running: bool,
    },
}

/// Options of a [`SegModel::forward`] pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwardOpts {
    /// BatchNorm behaviour.
    pub bn: BnMode,
    /// Whether to return the per-layer BN statistics (for L_BNS, eq. 4).
    pub collect_bn_stats: bool,
}

impl ForwardOpts {
    /// Inference: running statistics, no BN statistics returned.
    pub const EVAL: ForwardOpts = ForwardOpts {
        bn: BnMode::Eval,
        collect_bn_stats: false,
    };
    /// Training on real data: batch statistics, running statistics updated.
    pub const TRAIN: ForwardOpts = ForwardOpts {
        bn: BnMode::Train {
            update_running: true,
        },
        collect_bn_stats: false,
    };
}

/// Statistics of the input of one BatchNorm layer (eq. 4 of the paper).
#[derive(Debug, Clone)]
pub struct BnStat<B: Backend> {
    /// The layer's parameter path, e.g. `backbone.layer1.0.bn1`.
    pub name: String,
    /// Mean of the layer's input over batch and space, `[C]`; differentiable
    /// w.r.t. the model input (never detached).
    pub batch_mean: Tensor<B>,
    /// Biased variance of the layer's input, `[C]`; differentiable.
    pub batch_var: Tensor<B>,
    /// The layer's running mean, `[C]` (constant).
    pub running_mean: Tensor<B>,
    /// The layer's running variance, `[C]` (constant).
    pub running_var: Tensor<B>,
}

/// What a segmentation network returns.
#[derive(Debug, Clone)]
pub struct SegOutput<B: Backend> {
    /// Class scores at the input resolution, `[B, classes, H, W]`.
    pub logits: Tensor<B>,
    /// The backbone feature map the dual attention module reads, `[B, F, h, w]`
    /// (DeepLabV3: backbone output; SegNet: encoder output).
    pub features: Tensor<B>,
    /// Per-BN-layer statistics, when [`ForwardOpts::collect_bn_stats`] is set.
    pub bn_stats: Vec<BnStat<B>>,
}

/// A named trainable or buffer tensor of a network.
#[derive(Debug, Clone)]
pub struct NamedVar<B: Backend> {
    /// Dotted path, matching PyTorch `state_dict` keys where possible.
    pub name: String,
    /// The variable.
    pub var: Var<B>,
    /// `false` for buffers such as BN running statistics.
    pub trainable: bool,
}

/// A semantic segmentation network (paper: DeepLabV3-ResNet50, SegNet-VGG16).
pub trait SegModel<B: Backend>: Send {
    /// Architecture name, e.g. `deeplabv3-resnet50`.
    fn arch(&self) -> &str;
    /// Number of output classes.
    fn num_classes(&self) -> usize;
    /// Forward pass of `x [B, 3, H, W]`.
    fn forward(&self, x: &Tensor<B>, opts: ForwardOpts) -> Result<SegOutput<B>>;
    /// Every parameter and buffer, in a stable order.
    fn named_vars(&self) -> Vec<NamedVar<B>>;
    /// Path prefix of the final classifier layer (the "hypothesis" SHOT
    /// freezes), e.g. `classifier.4`; `None` when the model does not say.
    fn head_prefix(&self) -> Option<String> {
        None
    }
    /// The trainable variables (what an optimizer updates).
    fn trainable_vars(&self) -> Vec<Var<B>> {
        self.named_vars()
            .into_iter()
            .filter(|v| v.trainable)
            .map(|v| v.var)
            .collect()
    }
}

/// Generates fake images from latent codes: `z [B, latent] -> x̃ [B, 3, h, w]`.
pub trait Generator<B: Backend>: Send {
    /// Latent dimension (256 in the paper).
    fn latent_dim(&self) -> usize;
    /// Output image size `(h, w)`.
    fn image_size(&self) -> (usize, usize);
    /// Forward pass; `train` selects batch statistics in the generator's BN.
    fn forward(&self, z: &Tensor<B>, train: bool) -> Result<Tensor<B>>;
    /// Every parameter and buffer.
    fn named_vars(&self) -> Vec<NamedVar<B>>;
}

/// The patch discriminator of IPSM (eq. 15), conditioned on the patch position.
pub trait Discriminator<B: Backend>: Send {
    /// Number of patch positions it is conditioned on (K·K).
    fn num_positions(&self) -> usize;
    /// `P(hard)` logits for patches `p [N, classes, h, w]` (probability maps)
    /// at positions `k` (one per patch, `< num_positions`); returns `[N]`.
    fn forward(&self, patches: &Tensor<B>, positions: &[usize]) -> Result<Tensor<B>>;
    /// Every parameter and buffer.
    fn named_vars(&self) -> Vec<NamedVar<B>>;
}

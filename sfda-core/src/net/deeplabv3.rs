//! DeepLabV3 (Chen, Papandreou, Schroff & Adam, "Rethinking Atrous
//! Convolution for Semantic Image Segmentation", 2017) on a dilated ResNet:
//! the paper's main segmentation network (Liu et al., CVPR 2021, section 4).
//!
//! The layout and names are those of torchvision's `deeplabv3_resnet50`
//! (without the auxiliary head): `backbone.*` (see [`super::resnet`]),
//! `classifier.0.*` (ASPP, see [`super::aspp`]), `classifier.1` (3×3 conv),
//! `classifier.2` (BN), `classifier.4` (1×1 conv with bias to the classes).
//! A PyTorch model exported with
//! `safetensors.torch.save_file(model.state_dict(), "m.safetensors")` loads
//! with [`crate::checkpoint::load_weights`] (its `num_batches_tracked` and
//! `aux_classifier.*` entries are skipped).
//!
//! Logits are upsampled bilinearly (`align_corners = false`) to the input
//! size; the feature map handed to the dual attention module is the backbone
//! output (`layer4`).

use serde::{Deserialize, Serialize};

use crate::model::{ForwardOpts, NamedVar, SegModel, SegOutput};
use crate::net::aspp::Aspp;
use crate::net::resnet::{ResNet, ResNetConfig};
use crate::nn::{
    batch_norm2d, conv2d, BatchNorm2d, BatchNormConfig, Conv2d, Conv2dConfig, ForwardCtx, Init,
    VarPath,
};
use crate::tensor::{Backend, Tensor};
use crate::Result;

/// Shape of a DeepLabV3 network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeepLabV3Config {
    /// The backbone.
    pub backbone: ResNetConfig,
    /// Channels of every ASPP branch and of the head (256 in torchvision).
    pub aspp_channels: usize,
    /// The three atrous rates (torchvision: 12, 24, 36 at output stride 8).
    pub atrous_rates: [usize; 3],
}

impl DeepLabV3Config {
    /// torchvision's DeepLabV3 on `backbone`: 256 channels; rates 12/24/36
    /// at output stride 8 and the DeepLabV3 paper's 6/12/18 otherwise.
    pub fn torchvision(backbone: ResNetConfig) -> Self {
        let atrous_rates = if backbone.output_stride == 8 {
            [12, 24, 36]
        } else {
            [6, 12, 18]
        };
        DeepLabV3Config {
            backbone,
            aspp_channels: 256,
            atrous_rates,
        }
    }
}

/// A DeepLabV3 segmentation network.
pub struct DeepLabV3<B: Backend> {
    arch: String,
    num_classes: usize,
    backbone: ResNet<B>,
    aspp: Aspp<B>,
    head_conv: Conv2d<B>,
    head_bn: BatchNorm2d<B>,
    classifier: Conv2d<B>,
    path: VarPath<B>,
}

impl<B: Backend> DeepLabV3<B> {
    /// Builds the network under `p`; `arch` is the name it reports.
    pub fn new(
        p: &VarPath<B>,
        arch: &str,
        cfg: &DeepLabV3Config,
        num_classes: usize,
    ) -> Result<Self> {
        super::check_num_classes(num_classes)?;
        let backbone = ResNet::new(&p.pp("backbone"), &cfg.backbone)?;
        let cls = p.pp("classifier");
        let a = cfg.aspp_channels;
        let aspp = Aspp::new(&cls.pp(0), cfg.backbone.out_channels(), a, cfg.atrous_rates)?;
        let head_cfg = Conv2dConfig {
            padding: 1,
            bias: false,
            init: Init::TorchDefault,
            ..Conv2dConfig::default()
        };
        let head_conv = conv2d(&cls.pp(1), a, a, 3, head_cfg)?;
        let head_bn = batch_norm2d(&cls.pp(2), a, BatchNormConfig::default())?;
        let classifier = conv2d(&cls.pp(4), a, num_classes, 1, Conv2dConfig::default())?;
        Ok(DeepLabV3 {
            arch: arch.to_string(),
            num_classes,
            backbone,
            aspp,
            head_conv,
            head_bn,
            classifier,
            path: p.clone(),
        })
    }
}

impl<B: Backend> SegModel<B> for DeepLabV3<B> {
    fn arch(&self) -> &str {
        &self.arch
    }
    fn num_classes(&self) -> usize {
        self.num_classes
    }
    fn forward(&self, x: &Tensor<B>, opts: ForwardOpts) -> Result<SegOutput<B>> {
        let (h, w) = super::check_image(x, "DeepLabV3")?;
        let mut ctx = ForwardCtx::new(opts);
        let features = self.backbone.forward(x, &mut ctx)?;
        let y = self.aspp.forward(&features, &mut ctx)?;
        let y = self
            .head_bn
            .forward(&self.head_conv.forward(&y)?, &mut ctx)?
            .relu()?;
        let y = self.classifier.forward(&y)?;
        let logits = y.upsample_bilinear2d((h, w))?;
        Ok(SegOutput {
            logits,
            features,
            bn_stats: ctx.bn_stats,
        })
    }
    fn named_vars(&self) -> Vec<NamedVar<B>> {
        self.path.named_vars()
    }
    fn head_prefix(&self) -> Option<String> {
        Some("classifier.4".into())
    }
}

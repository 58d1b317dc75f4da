//! SegNet (Badrinarayanan, Kendall & Cipolla, "SegNet: A Deep Convolutional
//! Encoder-Decoder Architecture for Image Segmentation", TPAMI 2017): a VGG16
//! encoder (Simonyan & Zisserman, ICLR 2015) and a mirrored decoder that
//! upsamples with the encoder's max-pooling positions — the paper's second
//! network (Liu et al., CVPR 2021, section 4).
//!
//! Encoder names follow torchvision's `vgg16_bn().features` (`features.0` the
//! first conv, `features.1` its BN, pool layers take an index but no weights),
//! under `encoder.`; so ImageNet VGG16-BN weights load into the encoder with a
//! prefix. Decoder stages are `decoder.stage{5..1}.{j}.conv` / `.bn`; the last
//! convolution is `classifier` (3×3 with bias, no BN/ReLU).
//!
//! The feature map handed to the dual attention module is the encoder output
//! after the fifth pooling, as the paper says. Unpooling uses
//! [`crate::nn::max_unpool2x2`] (first maximum per window, as PyTorch).

use serde::{Deserialize, Serialize};

use crate::model::{ForwardOpts, NamedVar, SegModel, SegOutput};
use crate::nn::{
    batch_norm2d, conv2d, max_pool2x2_with_mask, max_unpool2x2, BatchNorm2d, BatchNormConfig,
    Conv2d, Conv2dConfig, ForwardCtx, Init, VarPath,
};
use crate::tensor::{Backend, Tensor};
use crate::{Error, Result};

/// Shape of a SegNet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegNetConfig {
    /// Channels of the five encoder stages (VGG16: 64, 128, 256, 512, 512).
    pub widths: [usize; 5],
    /// 3×3 convolutions per stage (VGG16: 2, 2, 3, 3, 3); the decoder mirrors them.
    pub convs: [usize; 5],
    /// BatchNorm after every convolution but the classifier (VGG16-BN).
    pub batch_norm: bool,
}

impl SegNetConfig {
    /// SegNet on VGG16-BN, as in the SegNet paper.
    pub fn vgg16_bn() -> Self {
        SegNetConfig {
            widths: [64, 128, 256, 512, 512],
            convs: [2, 2, 3, 3, 3],
            batch_norm: true,
        }
    }
}

#[derive(Debug, Clone)]
struct ConvBnRelu<B: Backend> {
    conv: Conv2d<B>,
    bn: Option<BatchNorm2d<B>>,
}

impl<B: Backend> ConvBnRelu<B> {
    fn forward(&self, x: &Tensor<B>, ctx: &mut ForwardCtx<B>) -> Result<Tensor<B>> {
        let y = self.conv.forward(x)?;
        let y = match &self.bn {
            Some(bn) => bn.forward(&y, ctx)?,
            None => y,
        };
        y.relu()
    }
}

/// A SegNet segmentation network.
pub struct SegNet<B: Backend> {
    arch: String,
    num_classes: usize,
    encoder: Vec<Vec<ConvBnRelu<B>>>,
    decoder: Vec<Vec<ConvBnRelu<B>>>,
    classifier: Conv2d<B>,
    path: VarPath<B>,
}

impl<B: Backend> SegNet<B> {
    /// Builds the network under `p`; `arch` is the name it reports.
    pub fn new(p: &VarPath<B>, arch: &str, cfg: &SegNetConfig, num_classes: usize) -> Result<Self> {
        super::check_num_classes(num_classes)?;
        if cfg.convs.contains(&0) || cfg.widths.contains(&0) {
            return Err(Error::Config {
                key: "segnet".into(),
                msg: format!("every stage needs ≥ 1 conv and ≥ 1 channel, got {cfg:?}"),
            });
        }
        let bn_cfg = BatchNormConfig::default();
        let enc_conv = Conv2dConfig::same(3, 1, 1).with_bias(true);
        let features = p.pp("encoder").pp("features");
        // torchvision vgg `features` indices: conv, [bn], relu per conv; one per pool.
        let per_conv = if cfg.batch_norm { 3 } else { 2 };
        let mut idx = 0;
        let mut cin = 3;
        let mut encoder = Vec::with_capacity(5);
        for s in 0..5 {
            let mut stage = Vec::new();
            for _ in 0..cfg.convs[s] {
                let conv = conv2d(&features.pp(idx), cin, cfg.widths[s], 3, enc_conv)?;
                let bn = if cfg.batch_norm {
                    Some(batch_norm2d(&features.pp(idx + 1), cfg.widths[s], bn_cfg)?)
                } else {
                    None
                };
                stage.push(ConvBnRelu { conv, bn });
                idx += per_conv;
                cin = cfg.widths[s];
            }
            idx += 1; // the pooling layer
            encoder.push(stage);
        }

        let dec_conv = Conv2dConfig::same(3, 1, 1).with_bias(!cfg.batch_norm);
        let dp = p.pp("decoder");
        let mut decoder = Vec::with_capacity(5);
        for s in 0..5 {
            let sp = dp.pp(format!("stage{}", s + 1));
            let w = cfg.widths[s];
            // Mirror of the encoder stage: convs keep the width, the last one
            // narrows to the previous stage's; stage 1 ends in the classifier.
            let n = if s == 0 {
                cfg.convs[0] - 1
            } else {
                cfg.convs[s]
            };
            let mut stage = Vec::with_capacity(n);
            for j in 0..n {
                let cout = if j + 1 == n && s > 0 {
                    cfg.widths[s - 1]
                } else {
                    w
                };
                let lp = sp.pp(j);
                let conv = conv2d(&lp.pp("conv"), w, cout, 3, dec_conv)?;
                let bn = if cfg.batch_norm {
                    Some(batch_norm2d(&lp.pp("bn"), cout, bn_cfg)?)
                } else {
                    None
                };
                stage.push(ConvBnRelu { conv, bn });
            }
            decoder.push(stage);
        }
        let cls_cfg = Conv2dConfig {
            padding: 1,
            init: Init::KaimingNormalFanOut,
            ..Conv2dConfig::default()
        };
        let classifier = conv2d(&p.pp("classifier"), cfg.widths[0], num_classes, 3, cls_cfg)?;
        Ok(SegNet {
            arch: arch.to_string(),
            num_classes,
            encoder,
            decoder,
            classifier,
            path: p.clone(),
        })
    }
}

impl<B: Backend> SegModel<B> for SegNet<B> {
    fn arch(&self) -> &str {
        &self.arch
    }
    fn num_classes(&self) -> usize {
        self.num_classes
    }
    fn forward(&self, x: &Tensor<B>, opts: ForwardOpts) -> Result<SegOutput<B>> {
        let (h, w) = super::check_image(x, "SegNet")?;
        if h < 32 || w < 32 {
            return Err(Error::shape(
                "SegNet",
                format!("input {h}×{w} is too small for five 2×2 poolings (need ≥ 32×32)"),
            ));
        }
        let mut ctx = ForwardCtx::new(opts);
        let mut y = x.clone();
        let mut masks = Vec::with_capacity(5);
        for stage in &self.encoder {
            for layer in stage {
                y = layer.forward(&y, &mut ctx)?;
            }
            let (pooled, mask) = max_pool2x2_with_mask(&y)?;
            masks.push(mask);
            y = pooled;
        }
        let features = y.clone();
        for (stage, mask) in self.decoder.iter().zip(&masks).rev() {
            y = max_unpool2x2(&y, mask)?;
            for layer in stage {
                y = layer.forward(&y, &mut ctx)?;
            }
        }
        let logits = self.classifier.forward(&y)?;
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
        Some("classifier".into())
    }
}

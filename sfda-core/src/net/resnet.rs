//! ResNet backbones (He, Zhang, Ren & Sun, "Deep Residual Learning for Image
//! Recognition", CVPR 2016) laid out exactly as torchvision's `resnet18/34/50/
//! 101` (v1.5: the stride of a bottleneck sits on its 3×3 convolution), with
//! the dilated last stages DeepLabV3 uses (Chen et al., "Rethinking Atrous
//! Convolution for Semantic Image Segmentation", 2017) for an output stride of
//! 8 or 16 (torchvision's `replace_stride_with_dilation`).
//!
//! Names: `conv1`, `bn1`, `layer{1..4}.{i}.conv{1,2,3}`, `.bn{1,2,3}`,
//! `.downsample.0` (1×1 conv), `.downsample.1` (BN). There is no `fc`: the
//! segmentation networks read the `layer4` map (torchvision's
//! `IntermediateLayerGetter` drops it too).
//!
//! torchvision refuses dilation in basic blocks; here basic blocks dilate both
//! 3×3 convolutions the same way bottlenecks dilate theirs, so ResNet-18/34
//! backbones (and the CPU preset) can run at output stride 8.

use serde::{Deserialize, Serialize};

use crate::nn::{
    batch_norm2d, conv2d, BatchNorm2d, BatchNormConfig, Conv2d, Conv2dConfig, ForwardCtx, VarPath,
};
use crate::tensor::{Backend, Tensor};
use crate::{Error, Result};

/// Residual block type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlockKind {
    /// Two 3×3 convolutions (ResNet-18/34), expansion 1.
    Basic,
    /// 1×1 → 3×3 → 1×1 (ResNet-50/101), expansion 4.
    Bottleneck,
}

impl BlockKind {
    /// Output channels per unit of width.
    pub fn expansion(self) -> usize {
        match self {
            BlockKind::Basic => 1,
            BlockKind::Bottleneck => 4,
        }
    }
}

/// Shape of a ResNet backbone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResNetConfig {
    /// Block type.
    pub block: BlockKind,
    /// Number of blocks in `layer1..layer4`.
    pub layers: [usize; 4],
    /// Width ("planes") of `layer1..layer4`; outputs are `width · expansion`.
    pub widths: [usize; 4],
    /// Channels of the 7×7 stem convolution.
    pub stem_width: usize,
    /// Output stride: 8 (layer3 and layer4 dilated), 16 (layer4 dilated) or 32.
    pub output_stride: usize,
}

impl ResNetConfig {
    fn standard(block: BlockKind, layers: [usize; 4], output_stride: usize) -> Self {
        ResNetConfig {
            block,
            layers,
            widths: [64, 128, 256, 512],
            stem_width: 64,
            output_stride,
        }
    }
    /// ResNet-18.
    pub fn resnet18(output_stride: usize) -> Self {
        Self::standard(BlockKind::Basic, [2, 2, 2, 2], output_stride)
    }
    /// ResNet-34.
    pub fn resnet34(output_stride: usize) -> Self {
        Self::standard(BlockKind::Basic, [3, 4, 6, 3], output_stride)
    }
    /// ResNet-50.
    pub fn resnet50(output_stride: usize) -> Self {
        Self::standard(BlockKind::Bottleneck, [3, 4, 6, 3], output_stride)
    }
    /// ResNet-101.
    pub fn resnet101(output_stride: usize) -> Self {
        Self::standard(BlockKind::Bottleneck, [3, 4, 23, 3], output_stride)
    }
    /// Channels of the `layer4` output.
    pub fn out_channels(&self) -> usize {
        self.widths[3] * self.block.expansion()
    }
    /// Which of layer2..layer4 trade their stride for dilation.
    fn dilate(&self) -> Result<[bool; 3]> {
        match self.output_stride {
            8 => Ok([false, true, true]),
            16 => Ok([false, false, true]),
            32 => Ok([false, false, false]),
            os => Err(Error::Config {
                key: "output_stride".into(),
                msg: format!("{os} is not supported; use 8, 16 or 32"),
            }),
        }
    }
}

/// A conv + BN pair (`downsample.0` / `downsample.1`, or `convN` / `bnN`).
#[derive(Debug, Clone)]
struct ConvBn<B: Backend> {
    conv: Conv2d<B>,
    bn: BatchNorm2d<B>,
}

impl<B: Backend> ConvBn<B> {
    fn forward(&self, x: &Tensor<B>, ctx: &mut ForwardCtx<B>) -> Result<Tensor<B>> {
        self.bn.forward(&self.conv.forward(x)?, ctx)
    }
}

/// One residual block.
#[derive(Debug, Clone)]
struct Block<B: Backend> {
    convs: Vec<ConvBn<B>>,
    downsample: Option<ConvBn<B>>,
}

impl<B: Backend> Block<B> {
    #[allow(clippy::too_many_arguments)]
    fn new(
        p: &VarPath<B>,
        kind: BlockKind,
        inplanes: usize,
        planes: usize,
        stride: usize,
        dilation: usize,
        downsample: bool,
        bn: BatchNormConfig,
    ) -> Result<Self> {
        let out = planes * kind.expansion();
        let mk = |i: usize,
                  cin: usize,
                  cout: usize,
                  k: usize,
                  s: usize,
                  d: usize|
         -> Result<ConvBn<B>> {
            Ok(ConvBn {
                conv: conv2d(
                    &p.pp(format!("conv{i}")),
                    cin,
                    cout,
                    k,
                    Conv2dConfig::same(k, s, d),
                )?,
                bn: batch_norm2d(&p.pp(format!("bn{i}")), cout, bn)?,
            })
        };
        let convs = match kind {
            BlockKind::Basic => vec![
                mk(1, inplanes, planes, 3, stride, dilation)?,
                mk(2, planes, planes, 3, 1, dilation)?,
            ],
            BlockKind::Bottleneck => vec![
                mk(1, inplanes, planes, 1, 1, 1)?,
                mk(2, planes, planes, 3, stride, dilation)?,
                mk(3, planes, out, 1, 1, 1)?,
            ],
        };
        let downsample = if downsample {
            let d = p.pp("downsample");
            Some(ConvBn {
                conv: conv2d(&d.pp(0), inplanes, out, 1, Conv2dConfig::same(1, stride, 1))?,
                bn: batch_norm2d(&d.pp(1), out, bn)?,
            })
        } else {
            None
        };
        Ok(Block { convs, downsample })
    }

    fn forward(&self, x: &Tensor<B>, ctx: &mut ForwardCtx<B>) -> Result<Tensor<B>> {
        let mut h = x.clone();
        let last = self.convs.len() - 1;
        for (i, cb) in self.convs.iter().enumerate() {
            h = cb.forward(&h, ctx)?;
            if i != last {
                h = h.relu()?;
            }
        }
        let identity = match &self.downsample {
            Some(d) => d.forward(x, ctx)?,
            None => x.clone(),
        };
        h.add(&identity)?.relu()
    }
}

/// A ResNet backbone returning the `layer4` feature map.
#[derive(Debug, Clone)]
pub struct ResNet<B: Backend> {
    stem: ConvBn<B>,
    layers: Vec<Vec<Block<B>>>,
    cfg: ResNetConfig,
}

impl<B: Backend> ResNet<B> {
    /// Builds the backbone under `p` (e.g. the `backbone` path of DeepLabV3).
    pub fn new(p: &VarPath<B>, cfg: &ResNetConfig) -> Result<Self> {
        let bn = BatchNormConfig::default();
        let dilate = cfg.dilate()?;
        if cfg.layers.contains(&0) {
            return Err(Error::Config {
                key: "resnet.layers".into(),
                msg: format!("every stage needs at least one block, got {:?}", cfg.layers),
            });
        }
        let stem = ConvBn {
            conv: conv2d(
                &p.pp("conv1"),
                3,
                cfg.stem_width,
                7,
                Conv2dConfig::same(7, 2, 1),
            )?,
            bn: batch_norm2d(&p.pp("bn1"), cfg.stem_width, bn)?,
        };
        let exp = cfg.block.expansion();
        let mut inplanes = cfg.stem_width;
        let mut dilation = 1;
        let mut layers = Vec::with_capacity(4);
        for li in 0..4 {
            let lp = p.pp(format!("layer{}", li + 1));
            let planes = cfg.widths[li];
            let mut stride = if li == 0 { 1 } else { 2 };
            // torchvision `_make_layer`: the first block keeps the previous
            // dilation, the following ones use the new one.
            let previous_dilation = dilation;
            if li > 0 && dilate[li - 1] {
                dilation *= stride;
                stride = 1;
            }
            let mut blocks = Vec::with_capacity(cfg.layers[li]);
            let ds = stride != 1 || inplanes != planes * exp;
            blocks.push(Block::new(
                &lp.pp(0),
                cfg.block,
                inplanes,
                planes,
                stride,
                previous_dilation,
                ds,
                bn,
            )?);
            inplanes = planes * exp;
            for bi in 1..cfg.layers[li] {
                blocks.push(Block::new(
                    &lp.pp(bi),
                    cfg.block,
                    inplanes,
                    planes,
                    1,
                    dilation,
                    false,
                    bn,
                )?);
            }
            layers.push(blocks);
        }
        Ok(ResNet {
            stem,
            layers,
            cfg: cfg.clone(),
        })
    }

    /// `x [B, 3, H, W] → [B, out_channels, H/os, W/os]` (rounded up).
    pub fn forward(&self, x: &Tensor<B>, ctx: &mut ForwardCtx<B>) -> Result<Tensor<B>> {
        let mut h = self.stem.forward(x, ctx)?.relu()?.max_pool2d(3, 2, 1)?;
        for layer in &self.layers {
            for block in layer {
                h = block.forward(&h, ctx)?;
            }
        }
        Ok(h)
    }

    /// The configuration.
    pub fn config(&self) -> &ResNetConfig {
        &self.cfg
    }
}

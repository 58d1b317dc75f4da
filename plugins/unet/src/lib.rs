//! # sfda-plugin-unet
//!
//! A cdylib plugin adding two segmentation networks: a small U-Net
//! (Ronneberger, Fischer & Brox, "U-Net: Convolutional Networks for
//! Biomedical Image Segmentation", MICCAI 2015) with BatchNorm, written
//! once against sfda's [`Backend`] so it runs on tch and candle.
//!
//! | name | levels | widths |
//! |---|---|---|
//! | `unet-small` | 4 | 16 · 32 · 64 · 128 |
//! | `unet-mini` | 3 | 8 · 16 · 32 |
//!
//! Each encoder level is two 3×3 convolutions with BatchNorm and ReLU, then
//! 2×2 max pooling (none after the last level, the bottleneck). Each decoder
//! level upsamples bilinearly to the size of the matching encoder output,
//! concatenates it (the skip connection) and applies two 3×3 conv-BN-ReLU;
//! a 1×1 convolution gives the class scores at the input resolution. Any
//! input of at least `2^(levels−1)` pixels per side works.
//!
//! The feature map the dual attention losses read (`SegOutput::features`) is
//! the bottleneck output; every BatchNorm reports its statistics for
//! `L_BNS`. Weight names: `enc{i}.{0,1}.conv|bn`, `dec{i}.{0,1}.conv|bn`,
//! `classifier`.
//!
//! Build it together with the binary, `cargo build --release -p sfda -p
//! sfda-plugin-unet`, then e.g. `sfda train-source --arch unet-small
//! --plugin target/release/libsfda_plugin_unet.so ...` (see README.md).

#![warn(missing_docs)]

use sfda_plugin::sfda_core::model::{ForwardOpts, NamedVar, SegModel, SegOutput};
use sfda_plugin::sfda_core::nn::{
    batch_norm2d, conv2d, BatchNorm2d, BatchNormConfig, Conv2d, Conv2dConfig, ForwardCtx, VarPath,
};
use sfda_plugin::sfda_core::{Backend, Error, Result, Tensor};

/// One 3×3 convolution, BatchNorm, ReLU.
struct ConvBnRelu<B: Backend> {
    conv: Conv2d<B>,
    bn: BatchNorm2d<B>,
}

impl<B: Backend> ConvBnRelu<B> {
    fn new(p: &VarPath<B>, cin: usize, cout: usize) -> Result<Self> {
        Ok(ConvBnRelu {
            conv: conv2d(&p.pp("conv"), cin, cout, 3, Conv2dConfig::same(3, 1, 1))?,
            bn: batch_norm2d(&p.pp("bn"), cout, BatchNormConfig::default())?,
        })
    }
    fn forward(&self, x: &Tensor<B>, ctx: &mut ForwardCtx<B>) -> Result<Tensor<B>> {
        self.bn.forward(&self.conv.forward(x)?, ctx)?.relu()
    }
}

/// Two [`ConvBnRelu`]s: one U-Net level.
struct DoubleConv<B: Backend>([ConvBnRelu<B>; 2]);

impl<B: Backend> DoubleConv<B> {
    fn new(p: &VarPath<B>, cin: usize, cout: usize) -> Result<Self> {
        Ok(DoubleConv([
            ConvBnRelu::new(&p.pp(0), cin, cout)?,
            ConvBnRelu::new(&p.pp(1), cout, cout)?,
        ]))
    }
    fn forward(&self, x: &Tensor<B>, ctx: &mut ForwardCtx<B>) -> Result<Tensor<B>> {
        let y = self.0[0].forward(x, ctx)?;
        self.0[1].forward(&y, ctx)
    }
}

/// A U-Net with BatchNorm.
pub struct UNet<B: Backend> {
    arch: String,
    num_classes: usize,
    encoder: Vec<DoubleConv<B>>,
    decoder: Vec<DoubleConv<B>>,
    classifier: Conv2d<B>,
    path: VarPath<B>,
}

impl<B: Backend> UNet<B> {
    /// A U-Net with one level per entry of `widths` (at least 2) under `p`.
    pub fn new(p: &VarPath<B>, arch: &str, widths: &[usize], num_classes: usize) -> Result<Self> {
        if num_classes == 0 {
            return Err(Error::Config {
                key: "num_classes".into(),
                msg: "a segmentation network needs at least one class".into(),
            });
        }
        if widths.len() < 2 || widths.contains(&0) {
            return Err(Error::Config {
                key: "arch".into(),
                msg: format!("a U-Net needs ≥ 2 levels of positive width, got {widths:?}"),
            });
        }
        let mut encoder = Vec::with_capacity(widths.len());
        let mut cin = 3;
        for (i, &w) in widths.iter().enumerate() {
            encoder.push(DoubleConv::new(&p.pp(format!("enc{i}")), cin, w)?);
            cin = w;
        }
        let mut decoder = Vec::with_capacity(widths.len() - 1);
        for i in (0..widths.len() - 1).rev() {
            // Input: the level below (upsampled) concatenated with the skip.
            let cin = widths[i + 1] + widths[i];
            decoder.push(DoubleConv::new(&p.pp(format!("dec{i}")), cin, widths[i])?);
        }
        let classifier = conv2d(
            &p.pp("classifier"),
            widths[0],
            num_classes,
            1,
            Conv2dConfig::default(),
        )?;
        Ok(UNet {
            arch: arch.to_string(),
            num_classes,
            encoder,
            decoder,
            classifier,
            path: p.clone(),
        })
    }
}

impl<B: Backend> SegModel<B> for UNet<B> {
    fn arch(&self) -> &str {
        &self.arch
    }
    fn num_classes(&self) -> usize {
        self.num_classes
    }
    fn forward(&self, x: &Tensor<B>, opts: ForwardOpts) -> Result<SegOutput<B>> {
        let s = x.shape();
        let min = 1usize << (self.encoder.len() - 1);
        if s.len() != 4 || s[1] != 3 || s[0] == 0 || s[2] < min || s[3] < min {
            return Err(Error::shape(
                "UNet",
                format!("expected images [B, 3, H, W] with H, W ≥ {min}, got {s:?}"),
            ));
        }
        let mut ctx = ForwardCtx::new(opts);
        let mut skips = Vec::with_capacity(self.encoder.len());
        let mut y = x.clone();
        for (i, level) in self.encoder.iter().enumerate() {
            if i > 0 {
                y = y.max_pool2d(2, 2, 0)?;
            }
            y = level.forward(&y, &mut ctx)?;
            skips.push(y.clone());
        }
        let features = skips.pop().expect("at least two levels");
        let mut y = features.clone();
        for (level, skip) in self.decoder.iter().zip(skips.iter().rev()) {
            let ss = skip.shape();
            let up = y.upsample_bilinear2d((ss[2], ss[3]))?;
            y = level.forward(&Tensor::cat(&[up, skip.clone()], 1)?, &mut ctx)?;
        }
        Ok(SegOutput {
            logits: self.classifier.forward(&y)?,
            features,
            bn_stats: ctx.bn_stats,
        })
    }
    fn named_vars(&self) -> Vec<NamedVar<B>> {
        self.path.named_vars()
    }
}

/// `unet-small`: 4 levels, widths 16·32·64·128.
pub fn unet_small<B: Backend>(vs: &VarPath<B>, num_classes: usize) -> Result<Box<dyn SegModel<B>>> {
    Ok(Box::new(UNet::new(
        vs,
        "unet-small",
        &[16, 32, 64, 128],
        num_classes,
    )?))
}

/// `unet-mini`: 3 levels, widths 8·16·32 (for quick CPU runs).
pub fn unet_mini<B: Backend>(vs: &VarPath<B>, num_classes: usize) -> Result<Box<dyn SegModel<B>>> {
    Ok(Box::new(UNet::new(
        vs,
        "unet-mini",
        &[8, 16, 32],
        num_classes,
    )?))
}

sfda_plugin::register_arch! {
    name: "unet-small",
    summary: "U-Net with BatchNorm (Ronneberger et al., 2015), 4 levels, widths 16..128",
    make: unet_small,
}

sfda_plugin::register_arch! {
    name: "unet-mini",
    summary: "U-Net with BatchNorm, 3 levels, widths 8..32 (CPU tests)",
    make: unet_mini,
}

sfda_plugin::declare_plugin!();

#[cfg(test)]
mod tests {
    use super::*;
    use sfda_plugin::sfda_core::nn::VarStore;
    use sfda_plugin::sfda_core::{grad, DeviceSpec, SeedRng};
    use sfda_plugin::{CandleBackend, TchBackend};

    /// Shapes, BN statistics, and a gradient reaching the first layer.
    fn forward_and_backward<B: Backend>() -> Result<()> {
        let dev = B::device(DeviceSpec::Cpu)?;
        let vs = VarStore::<B>::new(dev.clone(), 3);
        let net = unet_mini::<B>(&vs.root(), 5)?;
        assert_eq!(net.arch(), "unet-mini");
        assert!(net
            .named_vars()
            .iter()
            .any(|v| v.name == "enc0.0.conv.weight"));
        assert!(net
            .named_vars()
            .iter()
            .any(|v| v.name == "classifier.weight"));
        let x = Tensor::<B>::randn(&[2, 3, 20, 30], 0.0, 1.0, &mut SeedRng::new(7), &dev)?;
        let out = net.forward(
            &x,
            ForwardOpts {
                collect_bn_stats: true,
                ..ForwardOpts::TRAIN
            },
        )?;
        assert_eq!(out.logits.shape(), vec![2, 5, 20, 30]);
        assert_eq!(out.features.shape(), vec![2, 32, 5, 7]); // 20×30 → 10×15 → 5×7
        assert_eq!(out.bn_stats.len(), 10);
        let first = net
            .named_vars()
            .into_iter()
            .find(|v| v.name == "enc0.0.conv.weight")
            .unwrap();
        let g = grad(&out.logits.sqr()?.mean_all()?, &[&first.var])?;
        assert!(g[0]
            .as_ref()
            .unwrap()
            .to_vec()?
            .iter()
            .any(|v| v.abs() > 0.0));
        assert!(net
            .forward(&Tensor::<B>::zeros(&[1, 3, 2, 2], &dev)?, ForwardOpts::EVAL)
            .is_err());
        Ok(())
    }

    #[test]
    fn tch_forward_and_backward() -> Result<()> {
        forward_and_backward::<TchBackend>()
    }
    #[test]
    fn candle_forward_and_backward() -> Result<()> {
        forward_and_backward::<CandleBackend>()
    }
}

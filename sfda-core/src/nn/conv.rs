//! [`Conv2d`]: 2-D convolution with PyTorch's weight layout
//! `[out, in / groups, k, k]` and names `weight`, `bias`.

use crate::nn::init::{fans, Init};
use crate::nn::var_store::VarPath;
use crate::tensor::{Backend, Conv2dOpts, Tensor, Var};
use crate::Result;

/// Options of [`conv2d`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conv2dConfig {
    /// Stride.
    pub stride: usize,
    /// Zero padding on each side.
    pub padding: usize,
    /// Dilation.
    pub dilation: usize,
    /// Groups.
    pub groups: usize,
    /// Whether the layer has a bias.
    pub bias: bool,
    /// Weight initialiser (the bias uses PyTorch's default).
    pub init: Init,
}

impl Default for Conv2dConfig {
    fn default() -> Self {
        Conv2dConfig {
            stride: 1,
            padding: 0,
            dilation: 1,
            groups: 1,
            bias: true,
            init: Init::TorchDefault,
        }
    }
}

impl Conv2dConfig {
    /// `k×k` "same" convolution without bias, He-initialised (torchvision's
    /// ResNet/VGG convention): padding `dilation·(k−1)/2`.
    pub fn same(k: usize, stride: usize, dilation: usize) -> Self {
        Conv2dConfig {
            stride,
            padding: dilation * (k - 1) / 2,
            dilation,
            groups: 1,
            bias: false,
            init: Init::KaimingNormalFanOut,
        }
    }
    /// The same options with a bias (`true`) or without.
    pub fn with_bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }
    /// The same options with another weight initialiser.
    pub fn with_init(mut self, init: Init) -> Self {
        self.init = init;
        self
    }
}

/// A 2-D convolution layer.
#[derive(Debug, Clone)]
pub struct Conv2d<B: Backend> {
    /// Weight `[out, in / groups, k, k]`.
    pub weight: Var<B>,
    /// Bias `[out]`.
    pub bias: Option<Var<B>>,
    opts: Conv2dOpts,
}

/// A convolution `in_ch → out_ch` with a square `k×k` kernel at `path`.
pub fn conv2d<B: Backend>(
    path: &VarPath<B>,
    in_ch: usize,
    out_ch: usize,
    k: usize,
    cfg: Conv2dConfig,
) -> Result<Conv2d<B>> {
    let groups = cfg.groups.max(1);
    if in_ch % groups != 0 || out_ch % groups != 0 {
        return Err(crate::Error::shape(
            "conv2d",
            format!(
                "{in_ch}→{out_ch} channels not divisible by {groups} groups at '{}'",
                path.prefix()
            ),
        ));
    }
    let shape = [out_ch, in_ch / groups, k, k];
    let weight = path.var("weight", &shape, cfg.init)?;
    let bias = if cfg.bias {
        let (fan_in, _) = fans(&shape);
        Some(path.var("bias", &[out_ch], Init::TorchDefaultBias { fan_in })?)
    } else {
        None
    };
    Ok(Conv2d {
        weight,
        bias,
        opts: Conv2dOpts {
            stride: cfg.stride,
            padding: cfg.padding,
            dilation: cfg.dilation,
            groups,
        },
    })
}

impl<B: Backend> Conv2d<B> {
    /// `x [B, in, H, W] → [B, out, H', W']`.
    pub fn forward(&self, x: &Tensor<B>) -> Result<Tensor<B>> {
        let b = self.bias.as_ref().map(|b| b.tensor());
        x.conv2d(&self.weight.tensor(), b.as_ref(), self.opts)
    }
    /// The convolution options.
    pub fn opts(&self) -> Conv2dOpts {
        self.opts
    }
    /// Number of output channels.
    pub fn out_channels(&self) -> usize {
        self.weight.shape()[0]
    }
}

//! [`ConvTranspose2d`]: 2-D transposed convolution with PyTorch's weight
//! layout `[in, out, k, k]`.

use crate::nn::init::{fans, Init};
use crate::nn::var_store::VarPath;
use crate::tensor::{Backend, ConvTranspose2dOpts, Tensor, Var};
use crate::Result;

/// Options of [`conv_transpose2d`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConvTranspose2dConfig {
    /// Stride.
    pub stride: usize,
    /// Padding removed from each side of the output.
    pub padding: usize,
    /// Extra rows/columns on one side of the output.
    pub output_padding: usize,
    /// Whether the layer has a bias.
    pub bias: bool,
    /// Weight initialiser.
    pub init: Init,
}

impl Default for ConvTranspose2dConfig {
    fn default() -> Self {
        ConvTranspose2dConfig {
            stride: 1,
            padding: 0,
            output_padding: 0,
            bias: true,
            init: Init::TorchDefault,
        }
    }
}

/// A transposed convolution layer.
#[derive(Debug, Clone)]
pub struct ConvTranspose2d<B: Backend> {
    /// Weight `[in, out, k, k]`.
    pub weight: Var<B>,
    /// Bias `[out]`.
    pub bias: Option<Var<B>>,
    opts: ConvTranspose2dOpts,
}

/// A transposed convolution `in_ch → out_ch` with a `k×k` kernel at `path`.
pub fn conv_transpose2d<B: Backend>(
    path: &VarPath<B>,
    in_ch: usize,
    out_ch: usize,
    k: usize,
    cfg: ConvTranspose2dConfig,
) -> Result<ConvTranspose2d<B>> {
    let shape = [in_ch, out_ch, k, k];
    let weight = path.var("weight", &shape, cfg.init)?;
    let bias = if cfg.bias {
        // PyTorch computes the bias bound from weight.size(1) · k · k.
        let (fan_in, _) = fans(&shape);
        Some(path.var("bias", &[out_ch], Init::TorchDefaultBias { fan_in })?)
    } else {
        None
    };
    Ok(ConvTranspose2d {
        weight,
        bias,
        opts: ConvTranspose2dOpts {
            stride: cfg.stride,
            padding: cfg.padding,
            output_padding: cfg.output_padding,
        },
    })
}

impl<B: Backend> ConvTranspose2d<B> {
    /// `x [B, in, H, W] → [B, out, H', W']`.
    pub fn forward(&self, x: &Tensor<B>) -> Result<Tensor<B>> {
        let b = self.bias.as_ref().map(|b| b.tensor());
        x.conv_transpose2d(&self.weight.tensor(), b.as_ref(), self.opts)
    }
}

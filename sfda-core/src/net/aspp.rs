//! Atrous Spatial Pyramid Pooling (Chen, Papandreou, Schroff & Adam,
//! "Rethinking Atrous Convolution for Semantic Image Segmentation", 2017,
//! section 3.3), laid out as torchvision's `ASPP` so its weights load:
//!
//! - `convs.0`: 1×1 conv (`convs.0.0`) + BN (`convs.0.1`) + ReLU
//! - `convs.1..3`: 3×3 atrous convs at the three rates (`convs.i.0`, `convs.i.1`)
//! - `convs.4`: image pooling — global average (`convs.4.0` has no weights),
//!   1×1 conv (`convs.4.1`) + BN (`convs.4.2`) + ReLU, broadcast back
//! - `project`: 1×1 conv (`project.0`) + BN (`project.1`) + ReLU over the
//!   concatenation.
//!
//! torchvision ends `project` with `Dropout(0.5)`; sfda leaves it out so that
//! train-mode passes are deterministic and identical across backends.

use crate::nn::{
    batch_norm2d, conv2d, BatchNorm2d, BatchNormConfig, Conv2d, Conv2dConfig, ForwardCtx, Init,
    VarPath,
};
use crate::tensor::{Backend, Tensor};
use crate::Result;

#[derive(Debug, Clone)]
struct ConvBnRelu<B: Backend> {
    conv: Conv2d<B>,
    bn: BatchNorm2d<B>,
}

impl<B: Backend> ConvBnRelu<B> {
    fn new(
        conv_p: &VarPath<B>,
        bn_p: &VarPath<B>,
        cin: usize,
        cout: usize,
        k: usize,
        dilation: usize,
    ) -> Result<Self> {
        // torchvision leaves the head at PyTorch's default initialisation.
        let cfg = Conv2dConfig {
            padding: dilation * (k - 1) / 2,
            dilation,
            bias: false,
            init: Init::TorchDefault,
            ..Conv2dConfig::default()
        };
        Ok(ConvBnRelu {
            conv: conv2d(conv_p, cin, cout, k, cfg)?,
            bn: batch_norm2d(bn_p, cout, BatchNormConfig::default())?,
        })
    }
    fn forward(&self, x: &Tensor<B>, ctx: &mut ForwardCtx<B>) -> Result<Tensor<B>> {
        self.bn.forward(&self.conv.forward(x)?, ctx)?.relu()
    }
}

/// The ASPP module (`classifier.0` of torchvision's DeepLabV3).
#[derive(Debug, Clone)]
pub struct Aspp<B: Backend> {
    branches: Vec<ConvBnRelu<B>>,
    pooling: ConvBnRelu<B>,
    project: ConvBnRelu<B>,
}

impl<B: Backend> Aspp<B> {
    /// ASPP over `in_ch` channels with `out_ch` per branch and the three atrous `rates`.
    pub fn new(p: &VarPath<B>, in_ch: usize, out_ch: usize, rates: [usize; 3]) -> Result<Self> {
        let convs = p.pp("convs");
        let mut branches = vec![ConvBnRelu::new(
            &convs.pp(0).pp(0),
            &convs.pp(0).pp(1),
            in_ch,
            out_ch,
            1,
            1,
        )?];
        for (i, &r) in rates.iter().enumerate() {
            let b = convs.pp(i + 1);
            branches.push(ConvBnRelu::new(&b.pp(0), &b.pp(1), in_ch, out_ch, 3, r)?);
        }
        let pb = convs.pp(4);
        let pooling = ConvBnRelu::new(&pb.pp(1), &pb.pp(2), in_ch, out_ch, 1, 1)?;
        let pr = p.pp("project");
        let project = ConvBnRelu::new(&pr.pp(0), &pr.pp(1), 5 * out_ch, out_ch, 1, 1)?;
        Ok(Aspp {
            branches,
            pooling,
            project,
        })
    }

    /// `x [B, in, h, w] → [B, out, h, w]`.
    pub fn forward(&self, x: &Tensor<B>, ctx: &mut ForwardCtx<B>) -> Result<Tensor<B>> {
        let s = x.shape();
        let mut outs = Vec::with_capacity(5);
        for b in &self.branches {
            outs.push(b.forward(x, ctx)?);
        }
        let pooled = self.pooling.forward(&x.mean_dims(&[2, 3], true)?, ctx)?;
        // Bilinear upsampling of a 1×1 map is a broadcast.
        let c = pooled.shape()[1];
        outs.push(pooled.broadcast_to(&[s[0], c, s[2], s[3]])?);
        let cat = Tensor::cat(&outs, 1)?;
        self.project.forward(&cat, ctx)
    }
}

//! [`ForwardCtx`]: the per-pass state threaded through a network's layers
//! (BatchNorm mode and the collected BN statistics for L_BNS, eq. 4 of Liu et
//! al., CVPR 2021).

use crate::model::{BnMode, BnStat, ForwardOpts};
use crate::tensor::Backend;

/// State of one forward pass: the options and the BN statistics gathered so far.
#[derive(Debug)]
pub struct ForwardCtx<B: Backend> {
    /// The options of this pass.
    pub opts: ForwardOpts,
    /// Statistics of every BatchNorm layer run so far (when collected).
    pub bn_stats: Vec<BnStat<B>>,
}

impl<B: Backend> ForwardCtx<B> {
    /// A fresh context for a pass with `opts`.
    pub fn new(opts: ForwardOpts) -> Self {
        ForwardCtx {
            opts,
            bn_stats: Vec::new(),
        }
    }
    /// A context for a plain train (`true`) or eval pass without statistics.
    pub fn train(train: bool) -> Self {
        Self::new(if train {
            ForwardOpts::TRAIN
        } else {
            ForwardOpts::EVAL
        })
    }
    /// BatchNorm behaviour of this pass.
    pub fn bn_mode(&self) -> BnMode {
        self.opts.bn
    }
}

//! [`BatchNorm2d`] (Ioffe & Szegedy, ICML 2015) written from primitives, so
//! the batch statistics it reports are ordinary differentiable tensors.
//!
//! Liu et al. (CVPR 2021, eq. 4) train the generator by matching the batch
//! mean and variance of the input of every BN layer of the frozen source
//! model to that layer's running statistics; the gradient of that loss must
//! reach the generated image, so the batch statistics are never detached.
//! Conventions follow PyTorch: normalisation by the biased variance, running
//! statistics updated as `r ← (1 − m)·r + m·s` with momentum `m = 0.1` and
//! the *unbiased* batch variance, names `weight`, `bias`, `running_mean`,
//! `running_var`.

use crate::model::{BnMode, BnStat};
use crate::nn::ctx::ForwardCtx;
use crate::nn::init::Init;
use crate::nn::var_store::VarPath;
use crate::tensor::{Backend, Tensor, Var};
use crate::{Error, Result};

/// Options of [`batch_norm2d`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchNormConfig {
    /// Added to the variance before the square root.
    pub eps: f64,
    /// Weight of the new batch in the running statistics.
    pub momentum: f64,
}

impl Default for BatchNormConfig {
    fn default() -> Self {
        BatchNormConfig {
            eps: 1e-5,
            momentum: 0.1,
        }
    }
}

/// A 2-D batch normalisation layer with affine parameters and running statistics.
#[derive(Debug, Clone)]
pub struct BatchNorm2d<B: Backend> {
    name: String,
    /// Scale γ `[C]`.
    pub weight: Var<B>,
    /// Shift β `[C]`.
    pub bias: Var<B>,
    /// Running mean `[C]` (buffer).
    pub running_mean: Var<B>,
    /// Running variance `[C]` (buffer).
    pub running_var: Var<B>,
    channels: usize,
    cfg: BatchNormConfig,
}

/// A BatchNorm over `channels` at `path` (γ = 1, β = 0, running mean 0, var 1).
pub fn batch_norm2d<B: Backend>(
    path: &VarPath<B>,
    channels: usize,
    cfg: BatchNormConfig,
) -> Result<BatchNorm2d<B>> {
    Ok(BatchNorm2d {
        name: path.prefix(),
        weight: path.var("weight", &[channels], Init::Const(1.0))?,
        bias: path.var("bias", &[channels], Init::Const(0.0))?,
        running_mean: path.buffer("running_mean", &[channels], Init::Const(0.0))?,
        running_var: path.buffer("running_var", &[channels], Init::Const(1.0))?,
        channels,
        cfg,
    })
}

impl<B: Backend> BatchNorm2d<B> {
    /// The layer's path, e.g. `backbone.layer1.0.bn1`.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Normalises `x [B, C, H, W]` as `ctx` says, records its statistics when
    /// asked and, in train mode with `update_running`, moves the running
    /// statistics towards the batch's.
    ///
    /// With a single value per channel (`B·H·W = 1`) the batch variance is 0
    /// and the running variance is updated with it (PyTorch raises an error
    /// instead).
    pub fn forward(&self, x: &Tensor<B>, ctx: &mut ForwardCtx<B>) -> Result<Tensor<B>> {
        let s = x.shape();
        if s.len() != 4 || s[1] != self.channels {
            return Err(Error::shape(
                "batch_norm2d",
                format!(
                    "'{}' expects [B, {}, H, W], got {s:?}",
                    self.name, self.channels
                ),
            ));
        }
        let n = s[0] * s[2] * s[3];
        let gamma = self.weight.tensor();
        let beta = self.bias.tensor();
        // Snapshots (fresh storage): a backend's `detach` may share storage
        // with the buffer, which the running update overwrites in place.
        let rm = self.running_mean.tensor().detach()?.affine(1.0, 0.0)?;
        let rv = self.running_var.tensor().detach()?.affine(1.0, 0.0)?;
        let collect = ctx.opts.collect_bn_stats;

        match ctx.opts.bn {
            BnMode::Train { update_running } if !collect => {
                // The statistics are only needed detached: the backend's
                // fused kernel (one op in the autodiff graph).
                let (y, mean, var) = x.batch_norm_train(&gamma, &beta, self.cfg.eps)?;
                if update_running {
                    self.update_running(&mean, &var, n, &rm, &rv)?;
                }
                Ok(y)
            }
            BnMode::Train { update_running } => {
                // y = (x − μ) · γ / √(σ² + ε) + β, with μ and σ² kept in the
                // graph for L_BNS.
                let (y, mean, var) = x.batch_norm_train_moments(&gamma, &beta, self.cfg.eps)?;
                ctx.bn_stats.push(self.stat(&mean, &var, &rm, &rv)?);
                if update_running {
                    self.update_running(&mean, &var, n, &rm, &rv)?;
                }
                Ok(y)
            }
            BnMode::Eval => {
                if collect {
                    let (mean, var) = x.channel_moments()?;
                    ctx.bn_stats.push(self.stat(&mean, &var, &rm, &rv)?);
                }
                x.batch_norm_eval(&gamma, &beta, &rm, &rv, self.cfg.eps)
            }
        }
    }

    fn stat(
        &self,
        mean: &Tensor<B>,
        var: &Tensor<B>,
        rm: &Tensor<B>,
        rv: &Tensor<B>,
    ) -> Result<BnStat<B>> {
        Ok(BnStat {
            name: self.name.clone(),
            batch_mean: mean.reshape(&[self.channels])?,
            batch_var: var.reshape(&[self.channels])?,
            running_mean: rm.clone(),
            running_var: rv.clone(),
        })
    }

    fn update_running(
        &self,
        mean: &Tensor<B>,
        var: &Tensor<B>,
        n: usize,
        rm: &Tensor<B>,
        rv: &Tensor<B>,
    ) -> Result<()> {
        let m = self.cfg.momentum;
        let c = [self.channels];
        let unbias = if n > 1 {
            n as f64 / (n as f64 - 1.0)
        } else {
            1.0
        };
        let mean = mean.detach()?.reshape(&c)?;
        let var = var.detach()?.reshape(&c)?.scale(unbias)?;
        let new_rm = rm.scale(1.0 - m)?.add(&mean.scale(m)?)?;
        let new_rv = rv.scale(1.0 - m)?.add(&var.scale(m)?)?;
        self.running_mean.set(&new_rm)?;
        self.running_var.set(&new_rv)
    }
}

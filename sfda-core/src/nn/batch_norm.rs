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
        let c = self.channels;
        let n = s[0] * s[2] * s[3];
        let bshape = [1, c, 1, 1];
        let gamma = self.weight.tensor().reshape(&bshape)?;
        let beta = self.bias.tensor().reshape(&bshape)?;
        // Snapshots (fresh storage): a backend's `detach` may share storage
        // with the buffer, which the running update overwrites in place.
        let rm = self.running_mean.tensor().detach()?.affine(1.0, 0.0)?;
        let rv = self.running_var.tensor().detach()?.affine(1.0, 0.0)?;
        let collect = ctx.opts.collect_bn_stats;

        match ctx.opts.bn {
            BnMode::Train { update_running } if !collect => {
                // The statistics are only needed detached: the backend's
                // fused kernel (one op in the autodiff graph).
                let (y, mean, var) =
                    x.batch_norm_train(&self.weight.tensor(), &self.bias.tensor(), self.cfg.eps)?;
                if update_running {
                    self.update_running(&mean, &var, n, &rm, &rv)?;
                }
                Ok(y)
            }
            BnMode::Train { update_running } => {
                let (mean, xc, var) = batch_moments(x)?;
                if collect {
                    ctx.bn_stats.push(self.stat(&mean, &var, &rm, &rv)?);
                }
                if update_running {
                    self.update_running(&mean, &var, n, &rm, &rv)?;
                }
                // y = (x − μ) · γ / √(σ² + ε) + β
                let scale = gamma.div(&var.add_scalar(self.cfg.eps)?.sqrt()?)?;
                xc.mul(&scale)?.add(&beta)
            }
            BnMode::Eval => {
                if collect {
                    let (mean, _, var) = batch_moments(x)?;
                    ctx.bn_stats.push(self.stat(&mean, &var, &rm, &rv)?);
                }
                // y = x · s + (β − μ_r · s) with s = γ / √(σ_r² + ε)
                let scale = gamma.div(&rv.reshape(&bshape)?.add_scalar(self.cfg.eps)?.sqrt()?)?;
                let shift = beta.sub(&rm.reshape(&bshape)?.mul(&scale)?)?;
                x.mul(&scale)?.add(&shift)
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

/// Mean `[1,C,1,1]`, centred input and biased variance `[1,C,1,1]` over
/// batch and space (dims 0, 2, 3); all differentiable.
fn batch_moments<B: Backend>(x: &Tensor<B>) -> Result<(Tensor<B>, Tensor<B>, Tensor<B>)> {
    let mean = x.mean_dims(&[0, 2, 3], true)?;
    let xc = x.sub(&mean)?;
    let var = xc.sqr()?.mean_dims(&[0, 2, 3], true)?;
    Ok((mean, xc, var))
}

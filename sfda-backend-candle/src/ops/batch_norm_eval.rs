//! Eval-mode batch normalisation and the differentiable per-channel moments
//! L_BNS reads (eq. 4), as CPU custom ops with their analytic backward.
//!
//! In the generator step the frozen teacher runs in eval mode on the fakes
//! and, for L_BNS, also takes each BN input's batch mean and variance. From
//! primitives that is, per BN layer, a centring and a square (the moments)
//! and a multiply and an add (the normalisation): four full-size tensors
//! forward, and in candle's backward a zeroed and accumulated gradient for
//! each, all on the calling thread. Here each is one op:
//!
//! - [`BatchNormEval`]: `y = x·s + t` with `s = γ/√(σ_r² + ε)` and
//!   `t = β − μ_r·s` (rounded like the composition, so the two agree bit
//!   for bit); backward `dx = dy·s`, `dγ = Σdy·(x − μ_r)/√(σ_r² + ε)`,
//!   `dβ = Σdy`.
//! - [`ChannelMoments`]: `x → (μ; σ²)` per channel, two passes in `f64`;
//!   backward `dx = dμ/n + 2·dσ²·(x − μ)/n`.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, Device, Layout, Shape, Tensor};

use super::batch_norm::{for_each_plane, rows2, Dims, GradSums, Moments};
use super::storage::contiguous_f32;

/// `(x [B, C, H, W], coef [3, C] = (k; m; b)) → k·(x − m) + b` per channel;
/// no backward (the kernel of both backward passes and of the eval
/// forward).
#[derive(Debug, Clone, Copy)]
struct ChannelAffine;

impl CustomOp2 for ChannelAffine {
    fn name(&self) -> &'static str {
        "channel_affine"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let d = Dims::of(l1.shape())?;
        let x = contiguous_f32(s1, l1, self.name())?;
        let coef = contiguous_f32(s2, l2, self.name())?;
        if coef.len() != 3 * d.c {
            candle_core::bail!("{}: operands do not match {:?}", self.name(), l1.shape())
        }
        let (k, rest) = coef.split_at(d.c);
        let (m, b) = rest.split_at(d.c);
        let mut y = vec![0f32; x.len()];
        for_each_plane(&mut y, d, |i, out| {
            let c = i % d.c;
            let src = &x[i * d.plane..][..d.plane];
            for (o, &v) in out.iter_mut().zip(src) {
                *o = k[c] * (v - m[c]) + b[c];
            }
        });
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }
}

/// `k·(x − m) + b` per channel of `x [B, C, H, W]` (`k`, `m`, `b` of
/// length `C`), outside the graph.
fn channel_affine(x: &Tensor, k: &[f32], m: &[f32], b: &[f32]) -> candle_core::Result<Tensor> {
    let coef = Tensor::from_vec([k, m, b].concat(), (3, k.len()), x.device())?;
    x.apply_op2_no_bwd(&coef, &ChannelAffine)
}

/// `(x [B, C, H, W], affine [2, C] = (γ; β), running [2, C] = (μ_r; σ_r²))
/// → y`, with the backward in `x` and `affine` (the running statistics are
/// buffers, not differentiated).
#[derive(Debug, Clone)]
struct BatchNormEval {
    eps: f32,
    /// `γ` and `β` as the caller passed them: the backward skips `daffine`
    /// when neither needs a gradient (the frozen teacher).
    gamma: Tensor,
    beta: Tensor,
}

impl BatchNormEval {
    /// Per channel `(s, t)`: `s = γ/√(σ_r² + ε)`, `t = β − μ_r·s`, in `f32`
    /// as the composition rounds them.
    fn scale_shift(
        &self,
        affine: &[f32],
        running: &[f32],
        c: usize,
    ) -> candle_core::Result<(Vec<f32>, Vec<f32>)> {
        let (gamma, beta) = rows2(affine, c, "batch_norm_eval")?;
        let (mean, var) = rows2(running, c, "batch_norm_eval")?;
        let s: Vec<f32> = (0..c)
            .map(|i| gamma[i] / (var[i] + self.eps).sqrt())
            .collect();
        let t: Vec<f32> = (0..c).map(|i| beta[i] - mean[i] * s[i]).collect();
        Ok((s, t))
    }
}

impl CustomOp3 for BatchNormEval {
    fn name(&self) -> &'static str {
        "batch_norm_eval"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let d = Dims::of(l1.shape())?;
        let affine = contiguous_f32(s2, l2, self.name())?;
        let running = contiguous_f32(s3, l3, self.name())?;
        let (s, t) = self.scale_shift(affine, running, d.c)?;
        let zero = vec![0f32; d.c];
        // x·s + t: k·(x − 0) + b rounds exactly so.
        let coef = [s.as_slice(), &zero, &t].concat();
        ChannelAffine.cpu_fwd(
            s1,
            l1,
            &CpuStorage::F32(coef),
            &Layout::contiguous((3, d.c)),
        )
    }
    fn bwd(
        &self,
        x: &Tensor,
        affine: &Tensor,
        running: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let dy = dy.contiguous()?;
        let c = x.dim(1)?;
        let aff: Vec<f32> = affine.flatten_all()?.to_vec1()?;
        let run: Vec<f32> = running.flatten_all()?.to_vec1()?;
        let dx = if crate::wanted::needs_grad(x) {
            let (s, _) = self.scale_shift(&aff, &run, c)?;
            let zero = vec![0f32; c];
            Some(channel_affine(&dy, &s, &zero, &zero)?)
        } else {
            None
        };
        let wants_affine =
            crate::wanted::needs_grad(&self.gamma) || crate::wanted::needs_grad(&self.beta);
        let daffine = if !crate::wanted::needs_grad(affine) {
            None
        } else if !wants_affine {
            // candle wants a gradient for every tracked operand (here the
            // stack of γ and β): zeros, without the pass over `dy`.
            Some(Tensor::zeros((2, c), x.dtype(), x.device())?)
        } else {
            // Σdy and Σdy·(x − μ_r) per channel, in f64.
            let sums = dy
                .apply_op3_no_bwd(x, running, &GradSums)?
                .to_vec2::<f64>()?;
            let (_, var) = rows2(&run, c, self.name())?;
            let dgamma =
                (0..c).map(|i| (sums[1][i] / (var[i] as f64 + self.eps as f64).sqrt()) as f32);
            let dbeta = sums[0].iter().map(|&v| v as f32);
            let v: Vec<f32> = dgamma.chain(dbeta).collect();
            Some(Tensor::from_vec(v, (2, c), x.device())?)
        };
        Ok((dx, daffine, None))
    }
}

/// `x [B, C, H, W] → [2, C] = (μ; σ²)` (biased variance), differentiable
/// in `x`.
#[derive(Debug, Clone, Copy)]
struct ChannelMoments;

impl CustomOp1 for ChannelMoments {
    fn name(&self) -> &'static str {
        "channel_moments"
    }
    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        Moments.cpu_fwd(s, l)
    }
    fn bwd(&self, x: &Tensor, res: &Tensor, dres: &Tensor) -> candle_core::Result<Option<Tensor>> {
        if !crate::wanted::needs_grad(x) {
            return Ok(None);
        }
        let c = x.dim(1)?;
        let n = (x.elem_count() / c.max(1)).max(1) as f64;
        let stats = res.to_vec2::<f32>()?;
        let g = dres.to_vec2::<f32>()?;
        // dx = 2·dσ²/n·(x − μ) + dμ/n
        let k: Vec<f32> = g[1].iter().map(|&v| (2.0 * v as f64 / n) as f32).collect();
        let b: Vec<f32> = g[0].iter().map(|&v| (v as f64 / n) as f32).collect();
        Ok(Some(channel_affine(&x.contiguous()?, &k, &stats[0], &b)?))
    }
}

/// Whether the fused kernels apply: an `f32` `[B, C, H, W]` tensor on the
/// CPU.
fn applies(x: &Tensor) -> bool {
    matches!(x.device(), Device::Cpu) && x.dtype() == candle_core::DType::F32 && x.rank() == 4
}

/// `[C]` operands of a `[B, C, H, W]` input, or an error naming them.
fn check_channels(op: &str, c: usize, named: &[(&str, &Tensor)]) -> candle_core::Result<()> {
    for (name, t) in named {
        if t.dims() != [c] {
            candle_core::bail!("{op}: {name} {:?} must be [{c}]", t.dims())
        }
    }
    Ok(())
}

/// A fused eval-mode BatchNorm that ran: its output and what its backward
/// needs.
pub(crate) struct BatchNormEvalCpu {
    /// The normalised output.
    pub(crate) y: Tensor,
    x: Tensor,
    affine: Tensor,
    running: Tensor,
    op: BatchNormEval,
}

impl BatchNormEvalCpu {
    /// `(dx, dγ, dβ)` from the output gradient `dy`, each only when needed.
    pub(crate) fn grad(
        &self,
        dy: &Tensor,
        [need_x, need_gamma, need_beta]: [bool; 3],
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let needed = [
            (&self.x, need_x),
            (&self.affine, need_gamma || need_beta),
            (&self.op.gamma, need_gamma),
            (&self.op.beta, need_beta),
        ];
        // `bwd` never reads the output: `x` stands in.
        let (dx, daffine, _) = crate::wanted::with_needed(&needed, || {
            self.op
                .bwd(&self.x, &self.affine, &self.running, &self.x, dy)
        })?;
        let (dgamma, dbeta) = match daffine {
            Some(d) => (Some(d.get(0)?), Some(d.get(1)?)),
            None => (None, None),
        };
        Ok((dx, dgamma, dbeta))
    }
}

/// The fused eval-mode BatchNorm for an `f32` `[B, C, H, W]` tensor on the
/// CPU (`γ`, `β`, running mean and variance all `[C]`); `None` elsewhere.
pub(crate) fn batch_norm_eval_cpu(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    eps: f64,
) -> candle_core::Result<Option<BatchNormEvalCpu>> {
    if !applies(x) {
        return Ok(None);
    }
    let c = x.dim(1)?;
    let named = [
        ("gamma", gamma),
        ("beta", beta),
        ("mean", mean),
        ("var", var),
    ];
    check_channels("batch_norm_eval", c, &named)?;
    let affine = Tensor::stack(&[gamma, beta], 0)?.contiguous()?;
    let running = Tensor::stack(&[mean, var], 0)?.contiguous()?;
    let op = BatchNormEval {
        eps: eps as f32,
        gamma: gamma.clone(),
        beta: beta.clone(),
    };
    let x = x.contiguous()?;
    let y = x.apply_op3(&affine, &running, op.clone())?;
    Ok(Some(BatchNormEvalCpu {
        y,
        x,
        affine,
        running,
        op,
    }))
}

/// Fused differentiable per-channel moments of an `f32` `[B, C, H, W]`
/// tensor on the CPU: `[2, C]` = (mean; biased variance); `None` elsewhere.
pub(crate) fn channel_moments_cpu(x: &Tensor) -> candle_core::Result<Option<(Tensor, Tensor)>> {
    if !applies(x) {
        return Ok(None);
    }
    let x = x.contiguous()?;
    let stats = x.apply_op1(ChannelMoments)?;
    Ok(Some((x, stats)))
}

/// `dx` of [`channel_moments_cpu`] from its input `x`, its `stats` and
/// their gradient `dstats` (`[2, C]`).
pub(crate) fn channel_moments_grad(
    x: &Tensor,
    stats: &Tensor,
    dstats: &Tensor,
) -> candle_core::Result<Option<Tensor>> {
    crate::wanted::with_needed(&[(x, true)], || ChannelMoments.bwd(x, stats, dstats))
}

//! Training-mode batch normalisation as one CPU custom op with its analytic
//! backward (Ioffe & Szegedy 2015, §3).
//!
//! From primitives, a training-mode BatchNorm is a mean, a centring, a
//! square, a second mean and a scale-and-shift: five full-size tensors
//! forward, and in candle's backward a zeroed and accumulated gradient for
//! each plus the gradients of two broadcasts. Here the statistics are one
//! read of `x` (outside the graph, accumulated in `f64`), the forward one
//! pass, and the backward two passes (per-channel sums of `dy` and
//! `dy·(x − μ)`, then `dx`), with the dependence of `μ` and `σ²` on `x`
//! folded into `dx`:
//!
//! `dx = γr·dy − γr·Σdy/n − (x − μ)·γr³·Σ(dy·(x − μ))/n`, `r = 1/√(σ² + ε)`,
//! `dγ = r·Σ(dy·(x − μ))`, `dβ = Σdy`.
//!
//! The forward rounds like the composed version (`(x − μ)·(γ/√(σ² + ε)) + β`
//! in `f32`), so both backends give the same numbers.

use candle_core::{CpuStorage, CustomOp1, CustomOp3, Device, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::storage::{contiguous_f32, pair_f32};

/// `[B, C, H, W]` of a batch-norm input.
#[derive(Debug, Clone, Copy)]
pub(super) struct Dims {
    pub(super) b: usize,
    pub(super) c: usize,
    pub(super) plane: usize,
}

impl Dims {
    pub(super) fn of(shape: &Shape) -> candle_core::Result<Self> {
        match *shape.dims() {
            [b, c, h, w] => Ok(Dims { b, c, plane: h * w }),
            ref d => candle_core::bail!("batch_norm: input must be [B, C, H, W], got {d:?}"),
        }
    }
    /// Values per channel, `B·H·W`.
    fn n(&self) -> usize {
        self.b * self.plane
    }
    /// The `B` planes of channel `c` in a `[B, C, H, W]` slice.
    fn planes<'a>(&self, data: &'a [f32], c: usize) -> impl Iterator<Item = &'a [f32]> + 'a {
        let (cc, plane) = (self.c, self.plane);
        (0..self.b).map(move |b| &data[(b * cc + c) * plane..][..plane])
    }
}

/// `f(c)` for each channel, on rayon's pool when it has several threads.
fn per_channel<T: Send>(c: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    if rayon::current_num_threads() > 1 {
        (0..c).into_par_iter().map(f).collect()
    } else {
        (0..c).map(f).collect()
    }
}

/// `x [B, C, H, W] → [2, C]`: per-channel mean and biased variance (two
/// passes, `f64`); no backward.
#[derive(Debug, Clone, Copy)]
pub(super) struct Moments;

impl CustomOp1 for Moments {
    fn name(&self) -> &'static str {
        "batch_norm_moments"
    }
    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(s, l, self.name())?;
        let d = Dims::of(l.shape())?;
        let n = d.n().max(1) as f64;
        let stats = per_channel(d.c, |c| {
            let sum: f64 = d.planes(x, c).flatten().map(|&v| v as f64).sum();
            let mean = sum / n;
            let sq: f64 = d
                .planes(x, c)
                .flatten()
                .map(|&v| (v as f64 - mean).powi(2))
                .sum();
            (mean as f32, (sq / n) as f32)
        });
        let (mean, var): (Vec<f32>, Vec<f32>) = stats.into_iter().unzip();
        Ok((CpuStorage::F32([mean, var].concat()), Shape::from((2, d.c))))
    }
}

/// `(x [B, C, H, W], affine [2, C] = (γ; β), stats [2, C] = (μ; σ²)) → y`,
/// with the full backward in `x` and `affine` (`stats` is a function of `x`
/// outside the graph, accounted for in `dx`).
#[derive(Debug, Clone, Copy)]
struct BatchNormTrain {
    eps: f32,
}

/// Two `[C]` rows of a `[2, C]` operand.
pub(super) fn rows2<'a>(
    data: &'a [f32],
    c: usize,
    op: &'static str,
) -> candle_core::Result<(&'a [f32], &'a [f32])> {
    if data.len() != 2 * c {
        candle_core::bail!("{op}: expected [2, {c}], got {} values", data.len())
    }
    Ok(data.split_at(c))
}

/// Runs `f(i, plane)` over the `[H, W]` planes of a `[B, C, H, W]` output
/// (`i = b·C + c`), in parallel when rayon has several threads.
pub(super) fn for_each_plane(out: &mut [f32], d: Dims, f: impl Fn(usize, &mut [f32]) + Sync) {
    super::parallel::for_each_chunk(out, d.plane, f);
}

impl CustomOp3 for BatchNormTrain {
    fn name(&self) -> &'static str {
        "batch_norm_train"
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
        let x = contiguous_f32(s1, l1, self.name())?;
        let (gamma, beta) = rows2(contiguous_f32(s2, l2, self.name())?, d.c, self.name())?;
        let (mean, var) = rows2(contiguous_f32(s3, l3, self.name())?, d.c, self.name())?;
        // As composed: scale = γ / √(σ² + ε), y = (x − μ)·scale + β, in f32.
        let scale: Vec<f32> = (0..d.c)
            .map(|c| gamma[c] / (var[c] + self.eps).sqrt())
            .collect();
        let mut y = vec![0f32; x.len()];
        for_each_plane(&mut y, d, |i, out| {
            let c = i % d.c;
            let src = &x[i * d.plane..][..d.plane];
            for (o, &v) in out.iter_mut().zip(src) {
                *o = (v - mean[c]) * scale[c] + beta[c];
            }
        });
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }
    fn bwd(
        &self,
        x: &Tensor,
        affine: &Tensor,
        stats: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let dy = dy.contiguous()?;
        // Per channel: Σdy and Σdy·(x − μ) (f64), then everything is [C].
        let sums = dy.apply_op3_no_bwd(x, stats, &GradSums)?.to_vec2::<f64>()?;
        let (sum_dy, sum_dyxc) = (&sums[0], &sums[1]);
        let aff = affine.to_vec2::<f32>()?;
        let st = stats.to_vec2::<f32>()?;
        let (gamma, mean, var) = (&aff[0], &st[0], &st[1]);
        let c = gamma.len();
        let n = (x.elem_count() / c.max(1)).max(1) as f64;
        let r: Vec<f64> = var
            .iter()
            .map(|&v| 1.0 / (v as f64 + self.eps as f64).sqrt())
            .collect();
        let dev = x.device();
        let dx = if crate::wanted::needs_grad(x) {
            // dx = a·dy + k·(x − μ) + b0, per channel.
            let mut coef = vec![0f32; 4 * c];
            for ch in 0..c {
                let gr = gamma[ch] as f64 * r[ch];
                coef[ch] = gr as f32;
                coef[c + ch] = (-gr * r[ch] * r[ch] * sum_dyxc[ch] / n) as f32;
                coef[2 * c + ch] = (-gr * sum_dy[ch] / n) as f32;
                coef[3 * c + ch] = mean[ch];
            }
            let coef = Tensor::from_vec(coef, (4, c), dev)?;
            Some(dy.apply_op3_no_bwd(x, &coef, &InputGrad)?)
        } else {
            None
        };
        let daffine = if crate::wanted::needs_grad(affine) {
            let dgamma = (0..c).map(|ch| (sum_dyxc[ch] * r[ch]) as f32);
            let dbeta = sum_dy.iter().map(|&v| v as f32);
            let v: Vec<f32> = dgamma.chain(dbeta).collect();
            Some(Tensor::from_vec(v, (2, c), dev)?)
        } else {
            None
        };
        Ok((dx, daffine, None))
    }
}

/// `(dy, x, stats) → [2, C]` in `f64`: per-channel `Σdy` and `Σdy·(x − μ)`.
#[derive(Debug, Clone, Copy)]
pub(super) struct GradSums;

impl CustomOp3 for GradSums {
    fn name(&self) -> &'static str {
        "batch_norm_grad_sums"
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
        let (dy, x) = pair_f32(self.name(), (s1, l1), (s2, l2))?;
        let (mean, _) = rows2(contiguous_f32(s3, l3, self.name())?, d.c, self.name())?;
        let sums = per_channel(d.c, |c| {
            let m = mean[c] as f64;
            let (mut s, mut sx) = (0f64, 0f64);
            for (gp, xp) in d.planes(dy, c).zip(d.planes(x, c)) {
                for (&g, &v) in gp.iter().zip(xp) {
                    s += g as f64;
                    sx += g as f64 * (v as f64 - m);
                }
            }
            (s, sx)
        });
        let (s, sx): (Vec<f64>, Vec<f64>) = sums.into_iter().unzip();
        Ok((CpuStorage::F64([s, sx].concat()), Shape::from((2, d.c))))
    }
}

/// `(dy, x, coef [4, C] = (a; k; b0; μ)) → dx = a·dy + k·(x − μ) + b0`.
#[derive(Debug, Clone, Copy)]
struct InputGrad;

impl CustomOp3 for InputGrad {
    fn name(&self) -> &'static str {
        "batch_norm_input_grad"
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
        let (dy, x) = pair_f32(self.name(), (s1, l1), (s2, l2))?;
        let coef = contiguous_f32(s3, l3, self.name())?;
        if coef.len() != 4 * d.c {
            candle_core::bail!("{}: operands do not match {:?}", self.name(), l1.shape())
        }
        let (a, rest) = coef.split_at(d.c);
        let (k, rest) = rest.split_at(d.c);
        let (b0, mean) = rest.split_at(d.c);
        let mut dx = vec![0f32; x.len()];
        for_each_plane(&mut dx, d, |i, out| {
            let c = i % d.c;
            let g = &dy[i * d.plane..][..d.plane];
            let v = &x[i * d.plane..][..d.plane];
            for ((o, &g), &v) in out.iter_mut().zip(g).zip(v) {
                *o = a[c] * g + k[c] * (v - mean[c]) + b0[c];
            }
        });
        Ok((CpuStorage::F32(dx), l1.shape().clone()))
    }
}

/// A fused training-mode BatchNorm that ran: its output, its detached
/// statistics, and what its backward needs.
pub(crate) struct BatchNormTrainCpu {
    /// The normalised output.
    pub(crate) y: Tensor,
    /// Batch mean `[C]` (detached).
    pub(crate) mean: Tensor,
    /// Biased batch variance `[C]` (detached).
    pub(crate) var: Tensor,
    x: Tensor,
    affine: Tensor,
    stats: Tensor,
    op: BatchNormTrain,
}

impl BatchNormTrainCpu {
    /// `(dx, dγ, dβ)` from the output gradient `dy`; `dx` only when
    /// `need_x`, `dγ` and `dβ` only when `need_affine`.
    pub(crate) fn grad(
        &self,
        dy: &Tensor,
        need_x: bool,
        need_affine: bool,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let needed = [(&self.x, need_x), (&self.affine, need_affine)];
        // `bwd` never reads the output: `x` stands in.
        let (dx, daffine, _) = crate::wanted::with_needed(&needed, || {
            self.op.bwd(&self.x, &self.affine, &self.stats, &self.x, dy)
        })?;
        let (dgamma, dbeta) = match daffine {
            Some(d) => (Some(d.get(0)?), Some(d.get(1)?)),
            None => (None, None),
        };
        Ok((dx, dgamma, dbeta))
    }
}

/// The fused training-mode BatchNorm on the CPU for `f32` `[B, C, H, W]`
/// input, or `None` where it does not apply (another device or dtype).
pub(crate) fn batch_norm_train_cpu(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f64,
) -> candle_core::Result<Option<BatchNormTrainCpu>> {
    let applies =
        matches!(x.device(), Device::Cpu) && x.dtype() == candle_core::DType::F32 && x.rank() == 4;
    if !applies {
        return Ok(None);
    }
    let c = x.dim(1)?;
    if gamma.dims() != [c] || beta.dims() != [c] {
        candle_core::bail!(
            "batch_norm: gamma {:?} and beta {:?} must be [{c}]",
            gamma.dims(),
            beta.dims()
        )
    }
    let x = x.contiguous()?;
    let stats = x.apply_op1_no_bwd(&Moments)?;
    let affine = Tensor::stack(&[gamma, beta], 0)?.contiguous()?;
    let op = BatchNormTrain { eps: eps as f32 };
    let y = x.apply_op3(&affine, &stats, op)?;
    Ok(Some(BatchNormTrainCpu {
        y,
        mean: stats.get(0)?,
        var: stats.get(1)?,
        x,
        affine,
        stats,
        op,
    }))
}

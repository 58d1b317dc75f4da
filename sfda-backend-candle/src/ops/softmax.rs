//! Softmax and log-softmax over one dimension as single CPU custom ops with
//! their analytic backward.
//!
//! Composed from primitives, a softmax is a max, a shifted copy, an `exp`, a
//! sum and a division: four full-size tensors forward, and in candle's
//! backward the gradients of a broadcast subtraction and a broadcast
//! division, each zeroed and accumulated. Here the forward is one op (max,
//! `exp` and sum per slice, accumulated in `f64`) and the backward one op:
//!
//! - softmax `y`: `dx = y ⊙ (dy − Σ_d dy ⊙ y)`;
//! - log-softmax `y`: `dx = dy − exp(y) ⊙ Σ_d dy`.
//!
//! The tensor is seen as `[outer, d, inner]` around the softmax dimension;
//! whole `[d, inner]` slabs go to rayon's threads.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::storage::{contiguous_f32, pair_f32};

/// `[outer, d, inner]` around dimension `dim` of `shape`.
#[derive(Debug, Clone, Copy)]
struct Slabs {
    d: usize,
    inner: usize,
}

impl Slabs {
    fn of(shape: &Shape, dim: usize) -> candle_core::Result<Self> {
        let dims = shape.dims();
        if dim >= dims.len() {
            candle_core::bail!("softmax: dim {dim} out of range for {dims:?}")
        }
        Ok(Slabs {
            d: dims[dim],
            inner: dims[dim + 1..].iter().product(),
        })
    }
    fn len(&self) -> usize {
        self.d * self.inner
    }
}

/// Runs `f(slab_in_a, slab_in_b, slab_out)` over matching `[d, inner]`
/// slabs, several slabs per task on rayon's pool when it has more than one
/// thread.
fn over_slabs(
    s: Slabs,
    (a, b): (&[f32], &[f32]),
    f: impl Fn(&[f32], &[f32], &mut [f32]) + Sync,
) -> Vec<f32> {
    let mut out = vec![0f32; a.len()];
    let len = s.len().max(1);
    let threads = rayon::current_num_threads();
    let slabs = a.len() / len;
    if threads > 1 && slabs > 1 {
        let per_task = slabs.div_ceil(threads) * len;
        out.par_chunks_mut(per_task)
            .zip(a.par_chunks(per_task).zip(b.par_chunks(per_task)))
            .for_each(|(o, (a, b))| {
                for ((o, a), b) in o.chunks_mut(len).zip(a.chunks(len)).zip(b.chunks(len)) {
                    f(a, b, o);
                }
            });
    } else {
        for ((o, a), b) in out.chunks_mut(len).zip(a.chunks(len)).zip(b.chunks(len)) {
            f(a, b, o);
        }
    }
    out
}

/// Softmax or log-softmax of one contiguous row (`inner == 1`).
fn forward_row(log: bool, x: &[f32], y: &mut [f32]) {
    let m = x.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let mut sum = 0f64;
    for (o, &v) in y.iter_mut().zip(x) {
        let e = (v - m).exp();
        sum += e as f64;
        *o = e;
    }
    if log {
        let l = sum.ln() as f32;
        for (o, &v) in y.iter_mut().zip(x) {
            *o = (v - m) - l;
        }
    } else {
        let total = sum as f32;
        for o in y.iter_mut() {
            *o /= total;
        }
    }
}

/// The gradient of one contiguous row (`inner == 1`).
fn backward_row(log: bool, dy: &[f32], y: &[f32], dx: &mut [f32]) {
    let dot: f64 = if log {
        dy.iter().map(|&g| g as f64).sum()
    } else {
        dy.iter().zip(y).map(|(&g, &p)| g as f64 * p as f64).sum()
    };
    let dot = dot as f32;
    for ((o, &g), &p) in dx.iter_mut().zip(dy).zip(y) {
        *o = if log {
            g - p.exp() * dot
        } else {
            p * (g - dot)
        };
    }
}

/// Softmax (`log: false`) or log-softmax (`log: true`) of one `[d, inner]`
/// slab `x` into `y`.
fn forward_slab(s: Slabs, log: bool, x: &[f32], y: &mut [f32]) {
    if s.inner == 1 {
        return forward_row(log, x, y);
    }
    let mut max = vec![f32::NEG_INFINITY; s.inner];
    for row in x.chunks(s.inner) {
        for (m, &v) in max.iter_mut().zip(row) {
            *m = m.max(v);
        }
    }
    let mut sum = vec![0f64; s.inner];
    for (row, out) in x.chunks(s.inner).zip(y.chunks_mut(s.inner)) {
        for (((o, &v), &m), acc) in out.iter_mut().zip(row).zip(&max).zip(&mut sum) {
            let e = (v - m).exp();
            *acc += e as f64;
            *o = e;
        }
    }
    if log {
        let lse: Vec<f32> = sum.iter().map(|&t| t.ln() as f32).collect();
        for (row, out) in x.chunks(s.inner).zip(y.chunks_mut(s.inner)) {
            for (((o, &v), &m), &l) in out.iter_mut().zip(row).zip(&max).zip(&lse) {
                *o = (v - m) - l;
            }
        }
    } else {
        let total: Vec<f32> = sum.iter().map(|&t| t as f32).collect();
        for out in y.chunks_mut(s.inner) {
            for (o, &t) in out.iter_mut().zip(&total) {
                *o /= t;
            }
        }
    }
}

/// The gradient of one slab from `dy` and the forward output `y`.
fn backward_slab(s: Slabs, log: bool, dy: &[f32], y: &[f32], dx: &mut [f32]) {
    if s.inner == 1 {
        return backward_row(log, dy, y, dx);
    }
    let mut dot = vec![0f64; s.inner];
    for (g, p) in dy.chunks(s.inner).zip(y.chunks(s.inner)) {
        for ((acc, &g), &p) in dot.iter_mut().zip(g).zip(p) {
            // softmax: Σ dy·y; log-softmax: Σ dy.
            *acc += if log { g as f64 } else { g as f64 * p as f64 };
        }
    }
    let dot: Vec<f32> = dot.iter().map(|&t| t as f32).collect();
    for ((out, g), p) in dx
        .chunks_mut(s.inner)
        .zip(dy.chunks(s.inner))
        .zip(y.chunks(s.inner))
    {
        for (((o, &g), &p), &t) in out.iter_mut().zip(g).zip(p).zip(&dot) {
            *o = if log { g - p.exp() * t } else { p * (g - t) };
        }
    }
}

/// Softmax or log-softmax over `dim`, differentiable.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Softmax {
    /// The normalised dimension.
    pub dim: usize,
    /// Log-softmax instead of softmax.
    pub log: bool,
}

impl Softmax {
    /// `dx` from the output `y` and its gradient `dy`.
    pub(crate) fn grad(&self, y: &Tensor, dy: &Tensor) -> candle_core::Result<Tensor> {
        dy.contiguous()?.apply_op2_no_bwd(y, &SoftmaxGrad(*self))
    }
}

impl CustomOp1 for Softmax {
    fn name(&self) -> &'static str {
        if self.log {
            "log_softmax"
        } else {
            "softmax"
        }
    }
    fn cpu_fwd(&self, st: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(st, l, self.name())?;
        let s = Slabs::of(l.shape(), self.dim)?;
        let log = self.log;
        let y = over_slabs(s, (x, x), |x, _, y| forward_slab(s, log, x, y));
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }
    fn bwd(&self, _x: &Tensor, y: &Tensor, dy: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(self.grad(y, dy)?))
    }
}

/// `(dy, y) → dx` for [`Softmax`].
#[derive(Debug, Clone, Copy)]
struct SoftmaxGrad(Softmax);

impl CustomOp2 for SoftmaxGrad {
    fn name(&self) -> &'static str {
        "softmax_grad"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (dy, y) = pair_f32(self.name(), (s1, l1), (s2, l2))?;
        let s = Slabs::of(l1.shape(), self.0.dim)?;
        let log = self.0.log;
        let dx = over_slabs(s, (dy, y), |g, p, o| backward_slab(s, log, g, p, o));
        Ok((CpuStorage::F32(dx), l1.shape().clone()))
    }
}

/// The fused (log-)softmax for `f32` tensors on the CPU; `None` elsewhere.
pub(crate) fn softmax_cpu(
    t: &Tensor,
    dim: usize,
    log: bool,
) -> candle_core::Result<Option<Tensor>> {
    if !t.device().is_cpu() || t.dtype() != candle_core::DType::F32 || dim >= t.rank() {
        return Ok(None);
    }
    Ok(Some(t.contiguous()?.apply_op1(Softmax { dim, log })?))
}

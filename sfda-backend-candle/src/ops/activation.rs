//! ReLU and leaky ReLU as single CPU custom ops with PyTorch's gradient at
//! the kink.
//!
//! Written from candle primitives (a zero tensor, a comparison mask and a
//! `where_cond`), one activation costs four full-size tensors forward and,
//! in candle's backward, two more `where_cond`s plus a zeroed gradient for
//! each operand, the constant zero tensor included. Here the forward is one
//! pass and the backward one pass over `(dy, x)`.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor};

use super::parallel::{map1, map2};
use super::storage::{contiguous_f32, pair_f32};

/// `x > 0 ? x : slope·x`, or ReLU `max(x, 0)` when `slope` is `None`. NaN
/// propagates as in PyTorch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LeakyRelu {
    /// Factor below zero; `None` for ReLU.
    pub slope: Option<f32>,
}

impl LeakyRelu {
    #[inline]
    fn value(&self, x: f32) -> f32 {
        match self.slope {
            // `x ≤ 0` is false for NaN; ReLU(-∞) is 0, not 0·(-∞).
            None if x <= 0.0 => 0.0,
            Some(s) if x <= 0.0 => s * x,
            _ => x,
        }
    }
    /// PyTorch's derivatives: ReLU's is `x ≤ 0 ? 0 : 1` (threshold_backward,
    /// so 1 at NaN), leaky ReLU's `x > 0 ? 1 : slope` (slope at 0 and NaN).
    #[inline]
    fn slope_at(&self, x: f32) -> f32 {
        match self.slope {
            None if x <= 0.0 => 0.0,
            None => 1.0,
            Some(_) if x > 0.0 => 1.0,
            Some(s) => s,
        }
    }
}

impl LeakyRelu {
    /// `dx = dy · f'(x)`.
    pub(crate) fn grad(&self, x: &Tensor, dy: &Tensor) -> candle_core::Result<Tensor> {
        dy.contiguous()?.apply_op2_no_bwd(x, &LeakyReluGrad(*self))
    }
}

impl CustomOp1 for LeakyRelu {
    fn name(&self) -> &'static str {
        "leaky_relu"
    }
    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(s, l, self.name())?;
        let y = map1(x, |v| self.value(v));
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }
    fn bwd(&self, x: &Tensor, _y: &Tensor, dy: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(self.grad(x, dy)?))
    }
}

/// `(dy, x) → dy · f'(x)` for [`LeakyRelu`] `f`.
#[derive(Debug, Clone, Copy)]
struct LeakyReluGrad(LeakyRelu);

impl CustomOp2 for LeakyReluGrad {
    fn name(&self) -> &'static str {
        "leaky_relu_grad"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (dy, x) = pair_f32(self.name(), (s1, l1), (s2, l2))?;
        let dx = map2(dy, x, |g, v| g * self.0.slope_at(v));
        Ok((CpuStorage::F32(dx), l1.shape().clone()))
    }
}

/// Applies [`LeakyRelu`] (`slope: None` for ReLU) on the CPU to an `f32`
/// tensor; `None` elsewhere (the caller falls back to candle primitives).
pub(crate) fn leaky_relu_cpu(
    t: &Tensor,
    slope: Option<f64>,
) -> candle_core::Result<Option<(Tensor, LeakyRelu)>> {
    if !t.device().is_cpu() || t.dtype() != candle_core::DType::F32 {
        return Ok(None);
    }
    let slope = slope.map(|s| s as f32);
    let op = LeakyRelu { slope };
    Ok(Some((t.contiguous()?.apply_op1(op)?, op)))
}

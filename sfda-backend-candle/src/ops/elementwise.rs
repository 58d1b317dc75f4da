//! Element-wise ops whose candle gradient differs from PyTorch's at a kink
//! (relu and abs at 0, leaky relu at 0), or that need care to stay in the
//! graph (affine with a zero factor, `x^0`) or finite (sigmoid).
//!
//! Each is written from candle primitives (relu and leaky relu: a fused CPU
//! op, [`super::activation`], with these as the other devices' path) so that
//! the value and the gradient are PyTorch's: `relu'(0) = 0`, `|x|'(0) = 0`, `leaky_relu'(0) = slope`,
//! `sigmoid' = y(1 - y)` without overflow.

use candle_core::{DType, Tensor};
use sfda_core::{CmpOp, Result};

use crate::error::CandleResultExt;

/// `max(t, 0)` with PyTorch's gradient: `grad` where `t > 0`, else 0
/// (candle's native relu passes the gradient at `t == 0`).
pub(crate) fn relu(t: &Tensor) -> Result<Tensor> {
    let op = "relu";
    if let Some((y, _)) = super::activation::leaky_relu_cpu(t, None).op(op)? {
        return Ok(y);
    }
    let zeros = t.zeros_like().op(op)?;
    // `t <= 0` is false for NaN, so NaN propagates like in PyTorch.
    let nonpos = t.le(&zeros).op(op)?;
    nonpos.where_cond(&zeros, t).op(op)
}

/// `|t|` as `t · sign(t)` with a detached sign, so the gradient is `sign(t)`
/// (0 at 0, as in PyTorch; candle's native abs gives 1 there).
pub(crate) fn abs(t: &Tensor) -> Result<Tensor> {
    let op = "abs";
    // `sign` is not differentiable in candle: it cuts the graph by itself.
    let s = t.sign().op(op)?;
    t.mul(&s).op(op)
}

/// `t > 0 ? t : slope·t`, gradient `1` or `slope` (`slope` at 0, like PyTorch).
pub(crate) fn leaky_relu(t: &Tensor, slope: f64) -> Result<Tensor> {
    let op = "leaky_relu";
    if let Some((y, _)) = super::activation::leaky_relu_cpu(t, Some(slope)).op(op)? {
        return Ok(y);
    }
    let zeros = t.zeros_like().op(op)?;
    let pos = t.gt(&zeros).op(op)?;
    let neg = t.affine(slope, 0.0).op(op)?;
    pos.where_cond(t, &neg).op(op)
}

/// Logistic sigmoid from `e = exp(-|t|) ∈ (0, 1]`: `1/(1+e)` for `t ≥ 0`,
/// `e/(1+e)` below. Accurate for large `|t|` and never overflows, so the
/// gradient stays finite where `1/(1+exp(-t))` would give `0·∞ = NaN`.
pub(crate) fn sigmoid(t: &Tensor) -> Result<Tensor> {
    let op = "sigmoid";
    let zeros = t.zeros_like().op(op)?;
    let nonneg = t.ge(&zeros).op(op)?;
    // -|t| with the derivative of the branch it is in (-1 at t = 0).
    let neg_abs = nonneg.where_cond(&t.neg().op(op)?, t).op(op)?;
    let e = neg_abs.exp().op(op)?;
    let ones = t.ones_like().op(op)?;
    let num = nonneg.where_cond(&ones, &e).op(op)?;
    let den = e.affine(1.0, 1.0).op(op)?;
    num.div(&den).op(op)
}

/// `t · mul + add`. candle drops the graph of an affine with `mul == 0`; here
/// that case multiplies by a zero tensor instead, so the gradient is a zero
/// tensor (as in PyTorch), not a missing one.
pub(crate) fn affine(t: &Tensor, mul: f64, add: f64) -> Result<Tensor> {
    let op = "affine";
    if mul == 0.0 {
        let zero = Tensor::zeros((), t.dtype(), t.device()).op(op)?;
        return t.broadcast_mul(&zero).op(op)?.affine(1.0, add).op(op);
    }
    t.affine(mul, add).op(op)
}

/// `t ^ e`; `e == 0` gives ones with a zero gradient (candle's `powf`
/// backward would compute `0 · t⁻¹`, NaN at 0).
pub(crate) fn powf(t: &Tensor, e: f64) -> Result<Tensor> {
    if e == 0.0 {
        return affine(t, 0.0, 1.0);
    }
    t.powf(e).op("powf")
}

/// Broadcasting comparison as an `f32` 0/1 mask (outside the graph).
pub(crate) fn cmp(a: &Tensor, b: &Tensor, cmp: CmpOp) -> Result<Tensor> {
    let op = "cmp";
    let m = match cmp {
        CmpOp::Eq => a.broadcast_eq(b),
        CmpOp::Gt => a.broadcast_gt(b),
        CmpOp::Ge => a.broadcast_ge(b),
        CmpOp::Lt => a.broadcast_lt(b),
    }
    .op(op)?;
    m.to_dtype(DType::F32).op(op)
}

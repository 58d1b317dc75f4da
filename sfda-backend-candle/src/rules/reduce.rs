//! Reductions and the (log-)softmax.

use candle_core::Tensor as Value;
use sfda_core::Result;

use super::unary;
use crate::error::CandleResultExt;
use crate::ops::broadcast::broadcast_materialized;
use crate::ops::reduce;
use crate::ops::softmax::{softmax_cpu, Softmax};
use crate::tape::record::through_candle1;
use crate::tape::Tensor;

/// Sum over `dims`: `dx` is `g` broadcast back over them.
pub(crate) fn sum_dims(t: &Tensor, dims: &[usize], keepdim: bool) -> Result<Tensor> {
    if dims.is_empty() {
        return Ok(t.clone());
    }
    let y = reduce::sum_dims(&t.value, dims, keepdim)?;
    let shape = t.value.dims().to_vec();
    let mut kept = shape.clone();
    for &d in dims {
        kept[d] = 1;
    }
    Ok(unary(t, y, move |g| {
        let op = "sum_dims";
        let g = g.reshape(kept.as_slice()).op(op)?;
        broadcast_materialized(&g, &shape).op(op)
    }))
}

/// Maximum over `dim` (the gradient goes to the first maximum), through
/// candle's autodiff.
pub(crate) fn max_dim(t: &Tensor, dim: usize, keepdim: bool) -> Result<Tensor> {
    through_candle1(&[t], "max_dim", move |v| {
        reduce::max_dim(&v[0], dim, keepdim)
    })
}

/// Softmax (`log: false`) or log-softmax over `dim`: the fused kernel and
/// its backward on the CPU, the composition elsewhere.
pub(crate) fn softmax(t: &Tensor, dim: usize, log: bool) -> Result<Tensor> {
    let op = if log { "log_softmax" } else { "softmax" };
    if let Some(y) = softmax_cpu(&t.value, dim, log).op(op)? {
        let yc: Value = y.clone();
        let f = Softmax { dim, log };
        return Ok(unary(t, y, move |g| f.grad(&yc, g).op(op)));
    }
    through_candle1(&[t], op, move |v| {
        if log {
            reduce::log_softmax(&v[0], dim)
        } else {
            reduce::softmax(&v[0], dim)
        }
    })
}

/// Index of the maximum over `dim`, as `f32`: not differentiated.
pub(crate) fn argmax_dim(t: &Tensor, dim: usize, keepdim: bool) -> Result<Tensor> {
    Ok(Tensor::constant(reduce::argmax_dim(
        &t.value, dim, keepdim,
    )?))
}

/// Stable argsort over `dim`, as `f32`: not differentiated.
pub(crate) fn argsort(t: &Tensor, dim: usize, descending: bool) -> Result<Tensor> {
    Ok(Tensor::constant(reduce::argsort(
        &t.value, dim, descending,
    )?))
}

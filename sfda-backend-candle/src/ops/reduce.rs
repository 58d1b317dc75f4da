//! Reductions with PyTorch's conventions: `max(dim)` sends the gradient to
//! the first maximal entry only (candle's `max` sends it to every tied entry),
//! argmax/argsort return `f32` indices, argsort is stable with NaN sorted as
//! the largest value.

use std::cmp::Ordering;

use candle_core::{DType, Tensor};
use sfda_core::Result;

use super::broadcast::{arith, sum_keepdim, Arith};
use crate::error::CandleResultExt;

/// Sum over `dims` (none: the tensor itself).
pub(crate) fn sum_dims(t: &Tensor, dims: &[usize], keepdim: bool) -> Result<Tensor> {
    if dims.is_empty() {
        return Ok(t.clone());
    }
    let op = "sum_dims";
    let r = super::broadcast::sum_keepdim(t, dims).op(op)?;
    if keepdim {
        return Ok(r);
    }
    let kept: Vec<usize> = (0..t.rank())
        .filter(|d| !dims.contains(d))
        .map(|d| t.dims()[d])
        .collect();
    r.reshape(kept).op(op)
}

/// Maximum over `dim` as `gather(t, argmax)`: the value of `torch.max(t, dim)`
/// and its gradient, which goes to the first maximal entry only.
pub(crate) fn max_dim(t: &Tensor, dim: usize, keepdim: bool) -> Result<Tensor> {
    let op = "max_dim";
    let idx = t.argmax_keepdim(dim).op(op)?;
    let v = t.contiguous().op(op)?.gather(&idx, dim).op(op)?;
    if keepdim {
        Ok(v)
    } else {
        v.squeeze(dim).op(op)
    }
}

/// Index of the first maximum over `dim`, as `f32`.
pub(crate) fn argmax_dim(t: &Tensor, dim: usize, keepdim: bool) -> Result<Tensor> {
    let op = "argmax_dim";
    let idx = if keepdim {
        t.argmax_keepdim(dim)
    } else {
        t.argmax(dim)
    }
    .op(op)?;
    idx.to_dtype(DType::F32).op(op)
}

/// Softmax over `dim`: one fused op on the CPU ([`super::softmax`]); on
/// other devices the default formula with candle's native (detached)
/// max as the shift, which is cheaper than [`max_dim`] and gives the same
/// values and gradient.
pub(crate) fn softmax(t: &Tensor, dim: usize) -> Result<Tensor> {
    let op = "softmax";
    if let Some(y) = super::softmax::softmax_cpu(t, dim, false).op(op)? {
        return Ok(y);
    }
    let m = t.max_keepdim(dim).op(op)?.detach();
    let e = arith(t, &m, Arith::Sub)?.exp().op(op)?;
    let s = sum_keepdim(&e, &[dim]).op(op)?;
    arith(&e, &s, Arith::Div)
}

/// Log-softmax over `dim` (same shift as [`softmax`]).
pub(crate) fn log_softmax(t: &Tensor, dim: usize) -> Result<Tensor> {
    let op = "log_softmax";
    if let Some(y) = super::softmax::softmax_cpu(t, dim, true).op(op)? {
        return Ok(y);
    }
    let m = t.max_keepdim(dim).op(op)?.detach();
    let shifted = arith(t, &m, Arith::Sub)?;
    let lse = sum_keepdim(&shifted.exp().op(op)?, &[dim])
        .op(op)?
        .log()
        .op(op)?;
    arith(&shifted, &lse, Arith::Sub)
}

/// Stable argsort over `dim`, as `f32` indices.
///
/// Sorted on the host: candle's CUDA argsort is a bitonic sort (not stable)
/// and its CPU comparator is inconsistent for NaN. Ties keep index order in
/// both directions and NaN counts as the largest value, like
/// `torch.sort(stable=True)`.
pub(crate) fn argsort(t: &Tensor, dim: usize, descending: bool) -> Result<Tensor> {
    let op = "argsort";
    let rank = t.rank();
    let n = t.dim(dim).op(op)?;
    // Move `dim` last, sort rows on the host, move it back.
    let perm: Vec<usize> = (0..rank).filter(|&d| d != dim).chain([dim]).collect();
    let moved = t
        .detach()
        .permute(perm.clone())
        .op(op)?
        .contiguous()
        .op(op)?;
    let data = moved.flatten_all().op(op)?.to_vec1::<f32>().op(op)?;
    let mut out = vec![0f32; data.len()];
    if n > 0 {
        let mut idx: Vec<usize> = Vec::with_capacity(n);
        for (row, orow) in data.chunks(n).zip(out.chunks_mut(n)) {
            idx.clear();
            idx.extend(0..n);
            if descending {
                idx.sort_by(|&i, &j| nan_last(row[j], row[i]));
            } else {
                idx.sort_by(|&i, &j| nan_last(row[i], row[j]));
            }
            for (o, &i) in orow.iter_mut().zip(&idx) {
                *o = i as f32;
            }
        }
    }
    let sorted = Tensor::from_vec(out, moved.shape(), t.device()).op(op)?;
    let mut inv = vec![0; rank];
    for (i, &p) in perm.iter().enumerate() {
        inv[p] = i;
    }
    sorted.permute(inv).op(op)
}

/// A total order on `f32` with NaN above every number (and equal to NaN).
fn nan_last(a: f32, b: f32) -> Ordering {
    a.partial_cmp(&b)
        .unwrap_or_else(|| a.is_nan().cmp(&b.is_nan()))
}

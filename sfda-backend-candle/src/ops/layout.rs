//! Matmul with NumPy batch broadcasting, and the layout ops (reshape,
//! permute, narrow, cat, broadcast, index_select), with the contiguity that
//! candle's kernels require made explicit.

use candle_core::{Device, Tensor};
use sfda_core::{Error, Result};

use crate::error::CandleResultExt;

/// Matrix product over the last two dims; leading (batch) dims broadcast
/// NumPy-style. A 1-D operand is treated like PyTorch's `matmul` does (a row
/// vector on the left, a column vector on the right, the added dim removed).
pub(crate) fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let op = "matmul";
    if a.rank() == 0 || b.rank() == 0 {
        return Err(Error::shape(
            op,
            format!("0-dim operand: {:?} x {:?}", a.dims(), b.dims()),
        ));
    }
    let a2 = if a.rank() == 1 {
        a.unsqueeze(0).op(op)?
    } else {
        a.clone()
    };
    let b2 = if b.rank() == 1 {
        b.unsqueeze(1).op(op)?
    } else {
        b.clone()
    };
    let (ad, bd) = (a2.dims().to_vec(), b2.dims().to_vec());
    let (m, k) = (ad[ad.len() - 2], ad[ad.len() - 1]);
    let (k2, n) = (bd[bd.len() - 2], bd[bd.len() - 1]);
    if k != k2 {
        return Err(Error::shape(
            op,
            format!("inner dims differ: {:?} x {:?}", a.dims(), b.dims()),
        ));
    }
    let batch = broadcast_shape(&ad[..ad.len() - 2], &bd[..bd.len() - 2]).ok_or_else(|| {
        Error::shape(
            op,
            format!(
                "batch dims do not broadcast: {:?} x {:?}",
                a.dims(),
                b.dims()
            ),
        )
    })?;
    let nb: usize = batch.iter().product();
    let mut out_dims = batch.clone();
    out_dims.extend([m, n]);

    let out = if bd.len() == 2 {
        // Fold the batch of `a` into its rows: one 2-D product, no copy of `b`.
        let a_rows = if ad.len() == 2 {
            gemm_ready(&a2)?
        } else {
            a2.reshape((nb * m, k)).op(op)?
        };
        a_rows
            .matmul(&gemm_ready(&b2)?)
            .op(op)?
            .reshape(out_dims)
            .op(op)?
    } else {
        let a3 = batched(&a2, &batch, nb)?;
        let b3 = batched(&b2, &batch, nb)?;
        a3.matmul(&b3).op(op)?.reshape(out_dims).op(op)?
    };
    let out = if b.rank() == 1 {
        out.squeeze(out.rank() - 1).op(op)?
    } else {
        out
    };
    if a.rank() == 1 {
        out.squeeze(out.rank() - if b.rank() == 1 { 1 } else { 2 })
            .op(op)
    } else {
        Ok(out)
    }
}

/// NumPy broadcast of two shapes, or `None` if they are incompatible.
pub(crate) fn broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let r = a.len().max(b.len());
    let mut out = vec![0; r];
    for (i, o) in out.iter_mut().enumerate() {
        let da = if i + a.len() >= r {
            a[i + a.len() - r]
        } else {
            1
        };
        let db = if i + b.len() >= r {
            b[i + b.len() - r]
        } else {
            1
        };
        *o = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// A layout gemm accepts: row-major, or row-major with the last two dims
/// swapped (a transposed view); anything else is copied.
fn gemm_ready(t: &Tensor) -> Result<Tensor> {
    let op = "matmul";
    let r = t.rank();
    if t.is_contiguous() || t.transpose(r - 2, r - 1).op(op)?.is_contiguous() {
        Ok(t.clone())
    } else {
        t.contiguous().op(op)
    }
}

/// `t` broadcast to `batch + [rows, cols]` and viewed as `[nb, rows, cols]`,
/// keeping a transposed view transposed (no copy) when possible.
fn batched(t: &Tensor, batch: &[usize], nb: usize) -> Result<Tensor> {
    let op = "matmul";
    let d = t.dims();
    let (rows, cols) = (d[d.len() - 2], d[d.len() - 1]);
    let mut full = batch.to_vec();
    full.extend([rows, cols]);
    let t = if d == full.as_slice() {
        t.clone()
    } else {
        t.broadcast_as(full).op(op)?
    };
    let r = t.rank();
    if t.is_contiguous() {
        return t.reshape((nb, rows, cols)).op(op);
    }
    let tt = t.transpose(r - 2, r - 1).op(op)?;
    if tt.is_contiguous() {
        return tt.reshape((nb, cols, rows)).op(op)?.transpose(1, 2).op(op);
    }
    t.contiguous().op(op)?.reshape((nb, rows, cols)).op(op)
}

/// Same data, new shape (copies a non-contiguous input).
pub(crate) fn reshape(t: &Tensor, shape: &[usize]) -> Result<Tensor> {
    t.reshape(shape).op("reshape")
}

/// Reorders dims (a view).
pub(crate) fn permute(t: &Tensor, dims: &[usize]) -> Result<Tensor> {
    t.permute(dims.to_vec()).op("permute")
}

/// Slice of `dim` (a view).
pub(crate) fn narrow(t: &Tensor, dim: usize, start: usize, len: usize) -> Result<Tensor> {
    t.narrow(dim, start, len).op("narrow")
}

/// Concatenation along `dim`.
pub(crate) fn cat(ts: &[Tensor], dim: usize) -> Result<Tensor> {
    Tensor::cat(ts, dim).op("cat")
}

/// Broadcast to `shape` (a stride-0 view).
pub(crate) fn broadcast_to(t: &Tensor, shape: &[usize]) -> Result<Tensor> {
    super::broadcast::broadcast_as(t, shape).op("broadcast_to")
}

/// Entries `indices` of `dim`; candle's CPU kernel needs a contiguous source.
pub(crate) fn index_select(t: &Tensor, dim: usize, indices: &[usize]) -> Result<Tensor> {
    let op = "index_select";
    let ids = index_tensor(indices, t.device(), op)?;
    t.contiguous().op(op)?.index_select(&ids, dim).op(op)
}

/// Host indices as a `u32` tensor on `device`.
pub(crate) fn index_tensor(indices: &[usize], device: &Device, op: &'static str) -> Result<Tensor> {
    let ids = indices
        .iter()
        .map(|&i| u32::try_from(i))
        .collect::<std::result::Result<Vec<u32>, _>>()
        .map_err(|_| crate::error::backend_error(op, "index does not fit in u32"))?;
    let n = ids.len();
    Tensor::from_vec(ids, n, device).op(op)
}

//! Layout ops and the matrix product: their backward moves the gradient
//! back into the input's layout.

use candle_core::{Device, Tensor as Value};
use sfda_core::{Error, Result};

use super::elementwise::reduce_to;
use super::unary;
use crate::error::CandleResultExt;
use crate::ops::layout;
use crate::tape::record::{record, record1, rule1};
use crate::tape::Tensor;

/// Matrix product with NumPy's batch broadcasting and 1-D operands:
/// `da = g·bᵀ`, `db = aᵀ·g`, each summed over the batch dimensions the
/// operand was broadcast along.
pub(crate) fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let y = layout::matmul(&a.value, &b.value)?;
    let (av, bv) = (a.value.clone(), b.value.clone());
    Ok(record1(&[a, b], y, move || {
        rule1(move |g, needs| {
            let op = "matmul";
            // As matrices: a 1-D `a` is one row, a 1-D `b` one column.
            let a2 = match av.rank() {
                1 => av.unsqueeze(0).op(op)?,
                _ => av.clone(),
            };
            let b2 = match bv.rank() {
                1 => bv.unsqueeze(1).op(op)?,
                _ => bv.clone(),
            };
            let (ad, bd) = (a2.dims(), b2.dims());
            let batch = layout::broadcast_shape(&ad[..ad.len() - 2], &bd[..bd.len() - 2])
                .ok_or_else(|| Error::shape(op, format!("batch dims of {ad:?} and {bd:?}")))?;
            let mut out = batch;
            out.extend([ad[ad.len() - 2], bd[bd.len() - 1]]);
            let g2 = g.reshape(out.as_slice()).op(op)?;
            let ga = if needs[0] {
                let d = layout::matmul(&g2, &b2.t().op(op)?)?;
                Some(reduce_to(d, a2.dims(), op)?.reshape(av.dims()).op(op)?)
            } else {
                None
            };
            let gb = if needs[1] {
                let d = layout::matmul(&a2.t().op(op)?, &g2)?;
                Some(reduce_to(d, b2.dims(), op)?.reshape(bv.dims()).op(op)?)
            } else {
                None
            };
            Ok(vec![ga, gb])
        })
    }))
}

/// A new shape for the same elements.
pub(crate) fn reshape(t: &Tensor, shape: &[usize]) -> Result<Tensor> {
    let y = layout::reshape(&t.value, shape)?;
    let back = t.value.dims().to_vec();
    Ok(unary(t, y, move |g| {
        g.reshape(back.as_slice()).op("reshape")
    }))
}

/// Dimensions reordered: the gradient goes through the inverse order.
pub(crate) fn permute(t: &Tensor, dims: &[usize]) -> Result<Tensor> {
    let y = layout::permute(&t.value, dims)?;
    let mut inverse = vec![0; dims.len()];
    for (i, &d) in dims.iter().enumerate() {
        inverse[d] = i;
    }
    Ok(unary(t, y, move |g| {
        g.permute(inverse.clone()).op("permute")
    }))
}

/// `len` entries of `dim` from `start`: the gradient is padded with zeros.
pub(crate) fn narrow(t: &Tensor, dim: usize, start: usize, len: usize) -> Result<Tensor> {
    let y = layout::narrow(&t.value, dim, start, len)?;
    let size = t.value.dims()[dim];
    Ok(unary(t, y, move |g| {
        g.pad_with_zeros(dim, start, size - start - len)
            .op("narrow")
    }))
}

/// Concatenation along `dim`: each input gets its slice of the gradient.
pub(crate) fn cat(ts: &[Tensor], dim: usize) -> Result<Tensor> {
    let values: Vec<Value> = ts.iter().map(|t| t.value.clone()).collect();
    let y = layout::cat(&values, dim)?;
    let lens: Vec<usize> = values.iter().map(|v| v.dims()[dim]).collect();
    let inputs: Vec<&Tensor> = ts.iter().collect();
    let mut out = record(&inputs, vec![y], move || {
        rule1(move |g, needs| {
            let mut start = 0;
            let mut grads = Vec::with_capacity(lens.len());
            for (&len, &need) in lens.iter().zip(needs) {
                grads.push(if need {
                    Some(g.narrow(dim, start, len).op("cat")?)
                } else {
                    None
                });
                start += len;
            }
            Ok(grads)
        })
    });
    Ok(out.pop().expect("one output recorded"))
}

/// Broadcast to `shape`: the gradient is summed back.
pub(crate) fn broadcast_to(t: &Tensor, shape: &[usize]) -> Result<Tensor> {
    let y = layout::broadcast_to(&t.value, shape)?;
    let back = t.value.dims().to_vec();
    Ok(unary(t, y, move |g| {
        reduce_to(g.clone(), &back, "broadcast_to")
    }))
}

/// Entries `indices` of `dim`: the gradient is added back at them.
pub(crate) fn index_select(t: &Tensor, dim: usize, indices: &[usize]) -> Result<Tensor> {
    let op = "index_select";
    let y = layout::index_select(&t.value, dim, indices)?;
    let ids = layout::index_tensor(indices, t.value.device(), op)?;
    let x = t.value.clone();
    Ok(unary(t, y, move |g| {
        x.zeros_like()
            .op(op)?
            .index_add(&ids, &g.contiguous().op(op)?, dim)
            .op(op)
    }))
}

/// A copy on `device`: the gradient goes back to the source device.
pub(crate) fn to_device(t: &Tensor, device: &Device) -> Result<Tensor> {
    let y = t.value.to_device(device).op("to_device")?;
    let src = t.value.device().clone();
    Ok(unary(t, y, move |g| g.to_device(&src).op("to_device")))
}

/// Cut from the tape. A variable's own tensor is copied (others share
/// their immutable storage), so a detached snapshot of a weight does not
/// change when the variable is later set.
pub(crate) fn detach(t: &Tensor) -> Result<Tensor> {
    if t.is_leaf() {
        return Ok(Tensor::constant(t.value.copy().op("detach")?));
    }
    Ok(Tensor::constant(t.value.clone()))
}

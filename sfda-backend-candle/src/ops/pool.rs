//! Max pooling with `-inf` padding and PyTorch's gradient.
//!
//! candle's native `max_pool2d` has no padding, and its backward only exists
//! for `kernel == stride` and splits the gradient among tied maxima. PyTorch
//! sends the whole gradient to the first maximum of each window (row-major
//! scan) and accumulates where windows overlap. That is what a `gather` at
//! the window argmax does, so the pool is built as: pad with `-inf`, stack
//! the `k²` strided shifts of the input on a last axis, take the argmax
//! there (candle's argmax keeps the first of equal values), and gather.

use candle_core::Tensor;
use sfda_core::{Error, Result};

use crate::error::CandleResultExt;
use crate::ops::conv::dims4;

/// `max_pool2d(x, kernel, stride, padding)` on `[B, C, H, W]`.
pub(crate) fn max_pool2d(
    x: &Tensor,
    kernel: usize,
    stride: usize,
    padding: usize,
) -> Result<Tensor> {
    let op = "max_pool2d";
    let [b, c, h, w] = dims4(x, op, "input")?;
    let (k, s, p) = (kernel, stride, padding);
    if k == 0 || s == 0 {
        return Err(Error::shape(op, "kernel and stride must be positive"));
    }
    if 2 * p > k {
        return Err(Error::shape(
            op,
            format!("padding {p} must be at most half the kernel size {k}"),
        ));
    }
    let (hp, wp) = (h + 2 * p, w + 2 * p);
    if hp < k || wp < k {
        return Err(Error::shape(
            op,
            format!("kernel {k} larger than the padded input {hp}x{wp}"),
        ));
    }
    let (oh, ow) = ((hp - k) / s + 1, (wp - k) / s + 1);
    // Strided extraction reads `s * out` entries from offset `k - 1`: pad
    // past the end so that slice exists (the extra entries are never picked).
    let ext_h = hp.max(k - 1 + s * oh);
    let ext_w = wp.max(k - 1 + s * ow);
    let xp = pad_const(x, 2, p, ext_h - h - p, f32::NEG_INFINITY)?;
    let xp = pad_const(&xp, 3, p, ext_w - w - p, f32::NEG_INFINITY)?;

    let mut shifts = Vec::with_capacity(k * k);
    for ki in 0..k {
        let rows = every_nth(&xp, 2, ki, s, oh)?; // [b, c, oh, ext_w]
        for kj in 0..k {
            let win = every_nth(&rows, 3, kj, s, ow)?; // [b, c, oh, ow]
            shifts.push(win.unsqueeze(4).op(op)?);
        }
    }
    // [b, c, oh, ow, k²]; candle's gather needs a contiguous source and a
    // cat along a trailing dim can return a strided view.
    let stack = Tensor::cat(&shifts, 4).op(op)?.contiguous().op(op)?;
    let idx = stack.argmax_keepdim(4).op(op)?;
    let out = stack.gather(&idx, 4).op(op)?.squeeze(4).op(op)?;
    if out.dims() != [b, c, oh, ow] {
        return Err(Error::shape(
            op,
            format!(
                "internal: got {:?}, expected {:?}",
                out.dims(),
                [b, c, oh, ow]
            ),
        ));
    }
    Ok(out)
}

/// Pads `dim` of `t` with `left` and `right` entries equal to `value`.
fn pad_const(t: &Tensor, dim: usize, left: usize, right: usize, value: f32) -> Result<Tensor> {
    let op = "max_pool2d";
    if left == 0 && right == 0 {
        return Ok(t.clone());
    }
    let mut parts = Vec::with_capacity(3);
    let mut shape = t.dims().to_vec();
    if left > 0 {
        shape[dim] = left;
        parts.push(Tensor::full(value, shape.as_slice(), t.device()).op(op)?);
    }
    parts.push(t.clone());
    if right > 0 {
        shape[dim] = right;
        parts.push(Tensor::full(value, shape.as_slice(), t.device()).op(op)?);
    }
    Tensor::cat(&parts, dim).op(op)
}

/// Entries `start, start + step, ...` (`n` of them) of `dim`; needs
/// `start + step * n <= t.dim(dim)`. Differentiable (narrow + reshape).
fn every_nth(t: &Tensor, dim: usize, start: usize, step: usize, n: usize) -> Result<Tensor> {
    let op = "max_pool2d";
    if step == 1 {
        return t.narrow(dim, start, n).op(op);
    }
    let v = t.narrow(dim, start, step * n).op(op)?;
    let mut shape = v.dims().to_vec();
    shape[dim] = n;
    shape.insert(dim + 1, step);
    v.reshape(shape)
        .op(op)?
        .narrow(dim + 1, 0, 1)
        .op(op)?
        .squeeze(dim + 1)
        .op(op)
}

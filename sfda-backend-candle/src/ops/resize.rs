//! Nearest-neighbour resize with PyTorch's `nearest` rule.
//!
//! PyTorch picks source index `min(floor(dst · (in / out)), in - 1)` with the
//! scale computed in `f32`. candle's native kernel computes the scale in
//! `f64` (which can round differently) and only has a backward for integer,
//! equal factors, so the resize is two `index_select`s (differentiable, the
//! gradient accumulates over repeated sources).

use candle_core::Tensor;
use sfda_core::{Error, Result};

use crate::error::CandleResultExt;
use crate::ops::conv::dims4;
use crate::ops::layout::index_tensor;

/// Nearest-neighbour resize of `[B, C, H, W]` to `size = (h, w)`.
pub(crate) fn upsample_nearest2d(x: &Tensor, size: (usize, usize)) -> Result<Tensor> {
    let op = "upsample_nearest2d";
    let [_, _, h, w] = dims4(x, op, "input")?;
    let (oh, ow) = size;
    if h == 0 || w == 0 || oh == 0 || ow == 0 {
        return Err(Error::shape(
            op,
            format!("cannot resize {h}x{w} to {oh}x{ow}: empty"),
        ));
    }
    let mut y = x.clone();
    if oh != h {
        let ids = index_tensor(&nearest_indices(h, oh), x.device(), op)?;
        y = y.contiguous().op(op)?.index_select(&ids, 2).op(op)?;
    }
    if ow != w {
        let ids = index_tensor(&nearest_indices(w, ow), x.device(), op)?;
        y = y.contiguous().op(op)?.index_select(&ids, 3).op(op)?;
    }
    Ok(y)
}

/// Source index of each of `output` positions, exactly as PyTorch's
/// `nearest_idx` (including its `out == in` and `out == 2·in` shortcuts).
pub(crate) fn nearest_indices(input: usize, output: usize) -> Vec<usize> {
    if output == input {
        return (0..output).collect();
    }
    if output == 2 * input {
        return (0..output).map(|i| i >> 1).collect();
    }
    let scale = input as f32 / output as f32;
    (0..output)
        .map(|i| ((i as f32 * scale).floor() as usize).min(input - 1))
        .collect()
}

//! Nearest-neighbour resize with PyTorch's `nearest` rule.
//!
//! PyTorch picks source index `min(floor(dst · (in / out)), in - 1)` with the
//! scale computed in `f32`. candle's native kernel computes the scale in
//! `f64` (which can round differently) and only has a backward for integer,
//! equal factors. On the CPU the resize is one custom op ([`NearestResize`]:
//! a gather per plane forward, the matching scatter-add per plane backward);
//! elsewhere it is two `index_select`s (differentiable, the gradient
//! accumulates over repeated sources). The custom op is one node in the
//! autodiff graph instead of two, and its backward one pass instead of two
//! `index_add`s; it sums a source's gradient in row-major output order, the
//! two `index_select`s row by row, so the two may differ in the last bit.

use candle_core::{CpuStorage, CustomOp1, Device, Layout, Shape, Tensor};
use sfda_core::{Error, Result};

use crate::error::CandleResultExt;
use crate::ops::conv::dims4;
use crate::ops::layout::index_tensor;
use crate::ops::parallel::for_each_chunk;
use crate::ops::storage::planes_of;

/// Nearest-neighbour resize of `[B, C, H, W]` to `size = (h, w)`.
pub(crate) fn upsample_nearest2d(
    x: &Tensor,
    size: (usize, usize),
) -> Result<(Tensor, Option<NearestResize>)> {
    let op = "upsample_nearest2d";
    let [_, _, h, w] = dims4(x, op, "input")?;
    let (oh, ow) = size;
    if h == 0 || w == 0 || oh == 0 || ow == 0 {
        return Err(Error::shape(
            op,
            format!("cannot resize {h}x{w} to {oh}x{ow}: empty"),
        ));
    }
    if matches!(x.device(), Device::Cpu) && x.dtype() == candle_core::DType::F32 {
        let resize = NearestResize {
            rows: nearest_indices(h, oh),
            cols: nearest_indices(w, ow),
        };
        let y = x.contiguous().op(op)?.apply_op1(resize.clone()).op(op)?;
        return Ok((y, Some(resize)));
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
    Ok((y, None))
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

/// `[B, C, H, W] → [B, C, h, w]`, output `(i, j)` of each plane read from
/// source `(rows[i], cols[j])`.
#[derive(Debug, Clone)]
pub(crate) struct NearestResize {
    rows: Vec<usize>,
    cols: Vec<usize>,
}

impl CustomOp1 for NearestResize {
    fn name(&self) -> &'static str {
        "upsample_nearest2d"
    }
    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = super::storage::contiguous_f32(s, l, self.name())?;
        let (n, h, w) = planes_of(l, "upsample_nearest2d")?;
        let (oh, ow) = (self.rows.len(), self.cols.len());
        let mut y = vec![0f32; n * oh * ow];
        for_each_chunk(&mut y, oh * ow, |p, out| {
            let src = &x[p * h * w..][..h * w];
            for (orow, &r) in out.chunks_mut(ow.max(1)).zip(&self.rows) {
                let srow = &src[r * w..][..w];
                for (o, &c) in orow.iter_mut().zip(&self.cols) {
                    *o = srow[c];
                }
            }
        });
        let d = l.dims();
        Ok((CpuStorage::F32(y), Shape::from((d[0], d[1], oh, ow))))
    }
    fn bwd(&self, x: &Tensor, _y: &Tensor, dy: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(self.grad(x, dy)?))
    }
}

impl NearestResize {
    /// `dx` from the input `x` (only its size is read) and the output
    /// gradient `dy`.
    pub(crate) fn grad(&self, x: &Tensor, dy: &Tensor) -> candle_core::Result<Tensor> {
        let (oh, ow) = (self.rows.len(), self.cols.len());
        let dy = dy.contiguous()?;
        let scatter = NearestScatter {
            rows: self.rows.clone(),
            cols: self.cols.clone(),
            in_h: x.dim(2)?,
            in_w: x.dim(3)?,
        };
        debug_assert_eq!(dy.dims()[2..], [oh, ow]);
        dy.apply_op1_no_bwd(&scatter)
    }
}

/// The backward of [`NearestResize`]: each source sums the gradients of the
/// outputs read from it, in row-major output order.
#[derive(Debug, Clone)]
struct NearestScatter {
    rows: Vec<usize>,
    cols: Vec<usize>,
    in_h: usize,
    in_w: usize,
}

impl CustomOp1 for NearestScatter {
    fn name(&self) -> &'static str {
        "upsample_nearest2d_backward"
    }
    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let dy = super::storage::contiguous_f32(s, l, self.name())?;
        let (n, oh, ow) = planes_of(l, "upsample_nearest2d")?;
        if oh != self.rows.len() || ow != self.cols.len() {
            candle_core::bail!(
                "{}: gradient {:?} does not match the resize",
                self.name(),
                l.dims()
            )
        }
        let (h, w) = (self.in_h, self.in_w);
        let mut dx = vec![0f32; n * h * w];
        for_each_chunk(&mut dx, h * w, |p, out| {
            let g = &dy[p * oh * ow..][..oh * ow];
            for (grow, &r) in g.chunks(ow.max(1)).zip(&self.rows) {
                let drow = &mut out[r * w..][..w];
                for (&v, &c) in grow.iter().zip(&self.cols) {
                    drow[c] += v;
                }
            }
        });
        let d = l.dims();
        Ok((CpuStorage::F32(dx), Shape::from((d[0], d[1], h, w))))
    }
}

//! Max pooling with `-inf` padding and PyTorch's gradient.
//!
//! candle's native `max_pool2d` has no padding, and its backward only exists
//! for `kernel == stride` and splits the gradient among tied maxima. PyTorch
//! sends the whole gradient to the first maximum of each window (row-major
//! scan) and accumulates where windows overlap. That is what a `gather` at
//! the window argmax does, so the pool is built as: pad with `-inf`, stack
//! the `k²` strided shifts of the input on a last axis, take the argmax
//! there (candle's argmax keeps the first of equal values), and gather.
//!
//! That graph is some forty nodes, each of which candle's backward zeroes
//! and accumulates on the calling thread (the narrows' backward pads with
//! zeros by concatenation). On the CPU the pool is therefore one custom op
//! ([`MaxPool`]): per plane, the window maximum with PyTorch's rule (the
//! first maximum in row-major order, NaN counting as the maximum, padding
//! never picked); backward, each output's gradient added at that position,
//! in row-major output order. The graph above stays for other devices.

use candle_core::{CpuStorage, CustomOp1, Device, Layout, Shape, Tensor};
use sfda_core::{Error, Result};

use crate::error::CandleResultExt;
use crate::ops::conv::dims4;
use crate::ops::parallel::for_each_chunk;
use crate::ops::storage::{contiguous_f32, planes_of};

/// `max_pool2d(x, kernel, stride, padding)` on `[B, C, H, W]`.
pub(crate) fn max_pool2d(
    x: &Tensor,
    kernel: usize,
    stride: usize,
    padding: usize,
) -> Result<(Tensor, Option<MaxPool>)> {
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
    if matches!(x.device(), Device::Cpu) && x.dtype() == candle_core::DType::F32 {
        let pool = MaxPool {
            k,
            s,
            p,
            out: (oh, ow),
        };
        let y = x.contiguous().op(op)?.apply_op1(pool).op(op)?;
        return Ok((y, Some(pool)));
    }
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
    Ok((out, None))
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

/// Max pooling of `[B, C, H, W]` with `kernel`, `stride`, `padding` (`-inf`
/// padding) to `[B, C, oh, ow]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MaxPool {
    k: usize,
    s: usize,
    p: usize,
    out: (usize, usize),
}

impl MaxPool {
    /// For each output of one `h × w` plane, in row-major order, the plane
    /// index of its window's maximum and the value there (padding `2p ≤ k`,
    /// checked by the caller, leaves every window an in-plane entry).
    fn argmax(&self, plane: &[f32], h: usize, w: usize, mut f: impl FnMut(usize, f32)) {
        let (oh, ow) = self.out;
        for oy in 0..oh {
            let y0 = (oy * self.s) as isize - self.p as isize;
            for ox in 0..ow {
                let x0 = (ox * self.s) as isize - self.p as isize;
                // PyTorch starts at the window's first in-plane entry with
                // -inf, and a larger value or a NaN replaces the maximum.
                let first = y0.max(0) as usize * w + x0.max(0) as usize;
                let (mut best, mut at) = (f32::NEG_INFINITY, first);
                for dy in 0..self.k as isize {
                    let y = y0 + dy;
                    if y < 0 || y >= h as isize {
                        continue;
                    }
                    let row = y as usize * w;
                    for dx in 0..self.k as isize {
                        let x = x0 + dx;
                        if x < 0 || x >= w as isize {
                            continue;
                        }
                        let v = plane[row + x as usize];
                        if v > best || v.is_nan() {
                            (best, at) = (v, row + x as usize);
                        }
                    }
                }
                f(at, best);
            }
        }
    }
}

impl MaxPool {
    /// `dx` from the input `x` and the output gradient `dy`.
    pub(crate) fn grad(&self, x: &Tensor, dy: &Tensor) -> candle_core::Result<Tensor> {
        x.apply_op2_no_bwd(&dy.contiguous()?, &MaxPoolGrad(*self))
    }
}

impl CustomOp1 for MaxPool {
    fn name(&self) -> &'static str {
        "max_pool2d"
    }
    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(s, l, self.name())?;
        let (n, h, w) = planes_of(l, "max_pool2d")?;
        let (oh, ow) = self.out;
        let mut y = vec![0f32; n * oh * ow];
        for_each_chunk(&mut y, oh * ow, |i, out| {
            let mut o = out.iter_mut();
            self.argmax(&x[i * h * w..][..h * w], h, w, |_, v| {
                if let Some(o) = o.next() {
                    *o = v;
                }
            });
        });
        let d = l.dims();
        Ok((CpuStorage::F32(y), Shape::from((d[0], d[1], oh, ow))))
    }
    fn bwd(&self, x: &Tensor, _y: &Tensor, dy: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(self.grad(x, dy)?))
    }
}

/// `(x, dy) → dx` of [`MaxPool`]: each output's gradient added at its
/// window's maximum (found again from `x`), in row-major output order.
#[derive(Debug, Clone, Copy)]
struct MaxPoolGrad(MaxPool);

impl candle_core::CustomOp2 for MaxPoolGrad {
    fn name(&self) -> &'static str {
        "max_pool2d_backward"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(s1, l1, self.name())?;
        let g = contiguous_f32(s2, l2, self.name())?;
        let (n, h, w) = planes_of(l1, "max_pool2d")?;
        let (oh, ow) = self.0.out;
        if g.len() != n * oh * ow {
            candle_core::bail!("{}: gradient {:?} does not match", self.name(), l2.dims())
        }
        let mut dx = vec![0f32; x.len()];
        for_each_chunk(&mut dx, h * w, |i, out| {
            let mut gi = g[i * oh * ow..][..oh * ow].iter();
            self.0.argmax(&x[i * h * w..][..h * w], h, w, |at, _| {
                if let Some(&v) = gi.next() {
                    out[at] += v;
                }
            });
        });
        Ok((CpuStorage::F32(dx), l1.shape().clone()))
    }
}

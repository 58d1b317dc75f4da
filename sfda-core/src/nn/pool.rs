//! 2×2 max pooling that remembers where each maximum came from, and the
//! matching max-unpooling, as SegNet uses them (Badrinarayanan, Kendall &
//! Cipolla, "SegNet", TPAMI 2017).
//!
//! The backend has no "pooling indices" op, so the position of each maximum is
//! recovered from primitives: a window entry is a maximum where it equals the
//! pooled value (`cmp(x, maxpool(x), Eq)`; exact, since the pooled value *is*
//! one of the entries). **Ties**: several entries of a window can equal the
//! maximum — very common after a ReLU, where whole windows are 0. Keeping every
//! tied entry would copy the decoder value into each of them, unlike PyTorch's
//! `MaxUnpool2d`. We therefore keep only the *first* maximum in row-major
//! order, which is the entry PyTorch's `max_pool2d(..., return_indices=True)`
//! reports on CPU and CUDA. A remaining difference: NaN inputs (PyTorch treats
//! NaN as the maximum; here a NaN window selects nothing).
//!
//! The mask is a constant (no gradient flows through the choice of position,
//! as in PyTorch); the gradient of the unpooled map w.r.t. the decoder input
//! flows through an ordinary broadcast product.

use crate::tensor::{Backend, CmpOp, Tensor};
use crate::{Error, Result};

/// Where the maxima of a 2×2 / stride-2 pooling were: a 0/1 mask
/// `[B, C, h, 2, w, 2]` with exactly one 1 per window, and the size of the
/// pooled input.
#[derive(Debug, Clone)]
pub struct PoolMask<B: Backend> {
    mask: Tensor<B>,
    input_size: (usize, usize),
}

impl<B: Backend> PoolMask<B> {
    /// `(H, W)` of the map that was pooled (the size unpooling restores).
    pub fn input_size(&self) -> (usize, usize) {
        self.input_size
    }
    /// The mask as `[B, C, 2h, 2w]` (1 where a window's maximum was).
    pub fn to_map(&self) -> Result<Tensor<B>> {
        let s = self.mask.shape();
        self.mask.reshape(&[s[0], s[1], s[2] * 2, s[4] * 2])
    }
}

/// 2×2 max pooling with stride 2 of `x [B, C, H, W]` (odd trailing rows or
/// columns are dropped, like PyTorch), with the mask of the first maximum of
/// every window.
pub fn max_pool2x2_with_mask<B: Backend>(x: &Tensor<B>) -> Result<(Tensor<B>, PoolMask<B>)> {
    let s = x.shape();
    if s.len() != 4 || s[2] < 2 || s[3] < 2 {
        return Err(Error::shape(
            "max_pool2x2_with_mask",
            format!("expected [B, C, H, W] with H, W ≥ 2, got {s:?}"),
        ));
    }
    let (b, c, hh, ww) = (s[0], s[1], s[2], s[3]);
    let (h, w) = (hh / 2, ww / 2);
    let pooled = x.max_pool2d(2, 2, 0)?;

    let mut xe = x.detach()?;
    if hh != 2 * h {
        xe = xe.narrow(2, 0, 2 * h)?;
    }
    if ww != 2 * w {
        xe = xe.narrow(3, 0, 2 * w)?;
    }
    let shape6 = [b, c, h, 2, w, 2];
    let x6 = xe.reshape(&shape6)?;
    let p6 = pooled
        .detach()?
        .reshape(&[b, c, h, 1, w, 1])?
        .broadcast_to(&shape6)?;
    let eq = x6.cmp(&p6, CmpOp::Eq)?;
    let at = |i: usize, j: usize| -> Result<Tensor<B>> { eq.narrow(3, i, 1)?.narrow(5, j, 1) };

    // First maximum in row-major order: (0,0), (0,1), (1,0), (1,1).
    let m00 = at(0, 0)?;
    let mut taken = m00.clone();
    let m01 = at(0, 1)?.mul(&taken.affine(-1.0, 1.0)?)?;
    taken = taken.add(&m01)?;
    let m10 = at(1, 0)?.mul(&taken.affine(-1.0, 1.0)?)?;
    taken = taken.add(&m10)?;
    let m11 = at(1, 1)?.mul(&taken.affine(-1.0, 1.0)?)?;
    let top = Tensor::cat(&[m00, m01], 5)?;
    let bottom = Tensor::cat(&[m10, m11], 5)?;
    let mask = Tensor::cat(&[top, bottom], 3)?;
    Ok((
        pooled,
        PoolMask {
            mask,
            input_size: (hh, ww),
        },
    ))
}

/// Max-unpooling: places each value of `x [B, C, h, w]` at the position its
/// window's maximum had, zeros elsewhere; returns `[B, C, H, W]` with the
/// pooled input's size (zero rows/columns where pooling dropped odd ones).
pub fn max_unpool2x2<B: Backend>(x: &Tensor<B>, mask: &PoolMask<B>) -> Result<Tensor<B>> {
    let ms = mask.mask.shape();
    let s = x.shape();
    let (b, c, h, w) = (ms[0], ms[1], ms[2], ms[4]);
    if s != [b, c, h, w] {
        return Err(Error::shape(
            "max_unpool2x2",
            format!("input {s:?} does not match the pooling mask of [{b}, {c}, {h}, {w}]"),
        ));
    }
    let x6 = x.reshape(&[b, c, h, 1, w, 1])?;
    let mut out = mask.mask.mul(&x6)?.reshape(&[b, c, 2 * h, 2 * w])?;
    let (hh, ww) = mask.input_size;
    let dev = x.device();
    if hh > 2 * h {
        let z = Tensor::zeros(&[b, c, hh - 2 * h, 2 * w], &dev)?;
        out = Tensor::cat(&[out, z], 2)?;
    }
    if ww > 2 * w {
        let z = Tensor::zeros(&[b, c, hh, ww - 2 * w], &dev)?;
        out = Tensor::cat(&[out, z], 3)?;
    }
    Ok(out)
}

//! `im2col` and its adjoint `col2im` as candle custom ops with backward, the
//! building blocks of the CPU convolutions in [`super::conv`].
//!
//! candle's own CPU convolution is fast forward (it already uses im2col) but
//! its backward builds the input gradient with a direct-loop transposed
//! convolution and the weight gradient with a convolution over transposed
//! operands; together they made a whole SFDA iteration ~12x slower than
//! libtorch. Writing a convolution as `im2col` + one GEMM keeps every heavy
//! step (forward and both gradients) a GEMM in candle's multi-threaded
//! matmul; the only non-GEMM work left is this copy, which is parallel over
//! the rows of the column matrix (unfold) or the image channels (fold).
//!
//! Column layout shared by both ops: `[C·kh·kw, B·OH·OW]`, row
//! `(c·kh + ki)·kw + kj`, column `(b·OH + oy)·OW + ox`, holding
//! `x[b, c, oy·s − p + ki·d, ox·s − p + kj·d]` (zero outside the image).
//! One matrix for the whole batch makes the convolution a single large GEMM.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};
use rayon::prelude::*;

/// Geometry of a sliding-window unfold: image `[B, C, H, W]`, windows
/// `kh×kw` with stride, zero padding and dilation, laid out on an
/// `OH×OW` grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Windows {
    pub b: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    pub pad: usize,
    pub dil: usize,
    pub oh: usize,
    pub ow: usize,
}

impl Windows {
    fn rows(&self) -> usize {
        self.c * self.kh * self.kw
    }
    fn cols(&self) -> usize {
        self.b * self.oh * self.ow
    }
    /// Source coordinate along one axis for output index `o` and kernel tap
    /// `k`, or `None` when it falls in the zero padding.
    #[inline]
    fn src(&self, o: usize, k: usize, len: usize) -> Option<usize> {
        let pos = (o * self.stride + k * self.dil) as isize - self.pad as isize;
        (pos >= 0 && (pos as usize) < len).then_some(pos as usize)
    }
}

/// The input as a contiguous `f32` slice, or an error naming the op.
pub(crate) fn contiguous_f32<'a>(
    storage: &'a CpuStorage,
    layout: &Layout,
    op: &'static str,
) -> candle_core::Result<&'a [f32]> {
    let CpuStorage::F32(data) = storage else {
        candle_core::bail!("{op}: only f32 is supported, got {:?}", storage.dtype())
    };
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("{op}: input must be contiguous")
    };
    Ok(&data[start..end])
}

/// `[B, C, H, W]` → columns `[C·kh·kw, B·OH·OW]`; backward is [`Col2Im`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Im2Col(pub Windows);

/// Columns `[C·kh·kw, B·OH·OW]` → `[B, C, H, W]`, summing overlapping
/// windows (the adjoint of [`Im2Col`]); backward is [`Im2Col`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Col2Im(pub Windows);

impl CustomOp1 for Im2Col {
    fn name(&self) -> &'static str {
        "im2col"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = self.0;
        let x = contiguous_f32(s, l, self.name())?;
        if x.len() != g.b * g.c * g.h * g.w {
            candle_core::bail!("im2col: input of {} values for {g:?}", x.len())
        }
        let (ncols, plane) = (g.cols(), g.oh * g.ow);
        let mut out = vec![0f32; g.rows() * ncols];
        out.par_chunks_mut(ncols).enumerate().for_each(|(r, row)| {
            let (c, ki, kj) = (r / (g.kh * g.kw), (r / g.kw) % g.kh, r % g.kw);
            for b in 0..g.b {
                let img = &x[(b * g.c + c) * g.h * g.w..][..g.h * g.w];
                let dst = &mut row[b * plane..][..plane];
                for oy in 0..g.oh {
                    let Some(iy) = g.src(oy, ki, g.h) else {
                        continue;
                    };
                    let src_row = &img[iy * g.w..][..g.w];
                    let dst_row = &mut dst[oy * g.ow..][..g.ow];
                    for (ox, d) in dst_row.iter_mut().enumerate() {
                        if let Some(ix) = g.src(ox, kj, g.w) {
                            *d = src_row[ix];
                        }
                    }
                }
            }
        });
        Ok((CpuStorage::F32(out), Shape::from((g.rows(), ncols))))
    }

    fn bwd(
        &self,
        _arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(grad.contiguous()?.apply_op1(Col2Im(self.0))?))
    }
}

impl CustomOp1 for Col2Im {
    fn name(&self) -> &'static str {
        "col2im"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = self.0;
        let cols = contiguous_f32(s, l, self.name())?;
        if cols.len() != g.rows() * g.cols() {
            candle_core::bail!("col2im: input of {} values for {g:?}", cols.len())
        }
        let (ncols, plane, hw) = (g.cols(), g.oh * g.ow, g.h * g.w);
        // Output channel-major `[C, B, H, W]` so each channel is one disjoint
        // chunk a thread owns; reordered to `[B, C, H, W]` at the end.
        let mut by_channel = vec![0f32; g.c * g.b * hw];
        by_channel
            .par_chunks_mut(g.b * hw)
            .enumerate()
            .for_each(|(c, chan)| {
                for ki in 0..g.kh {
                    for kj in 0..g.kw {
                        let r = (c * g.kh + ki) * g.kw + kj;
                        let row = &cols[r * ncols..][..ncols];
                        for b in 0..g.b {
                            let img = &mut chan[b * hw..][..hw];
                            let src = &row[b * plane..][..plane];
                            for oy in 0..g.oh {
                                let Some(iy) = g.src(oy, ki, g.h) else {
                                    continue;
                                };
                                let dst_row = &mut img[iy * g.w..][..g.w];
                                let src_row = &src[oy * g.ow..][..g.ow];
                                for (ox, v) in src_row.iter().enumerate() {
                                    if let Some(ix) = g.src(ox, kj, g.w) {
                                        dst_row[ix] += v;
                                    }
                                }
                            }
                        }
                    }
                }
            });
        let out = if g.b == 1 {
            by_channel
        } else {
            let mut out = vec![0f32; by_channel.len()];
            out.par_chunks_mut(hw).enumerate().for_each(|(bc, dst)| {
                let (b, c) = (bc / g.c, bc % g.c);
                dst.copy_from_slice(&by_channel[(c * g.b + b) * hw..][..hw]);
            });
            out
        };
        Ok((CpuStorage::F32(out), Shape::from((g.b, g.c, g.h, g.w))))
    }

    fn bwd(
        &self,
        _arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(grad.contiguous()?.apply_op1(Im2Col(self.0))?))
    }
}

//! Sliding-window unfold (`im2col`) and its adjoint fold (`col2im`) of one
//! image, plus a bounds-checked single-precision GEMM: the three pieces the
//! CPU convolutions of [`super::conv_gemm`] are made of.
//!
//! Column layout: `[C·kh·kw, OH·OW]` for one image, row `(c·kh + ki)·kw +
//! kj`, column `oy·OW + ox`, holding `x[c, oy·s − p + ki·d, ox·s − p + kj·d]`
//! (zero outside the image). Working one image at a time keeps the column
//! buffer `B` times smaller than a whole-batch matrix and lets the GEMM write
//! straight into the `[B, C, H, W]` output, with no reordering copy.

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
    /// Rows of the column matrix, `C·kh·kw`.
    pub(crate) fn rows(&self) -> usize {
        self.c * self.kh * self.kw
    }
    /// Values of one image, `C·H·W`.
    pub(crate) fn image_len(&self) -> usize {
        self.c * self.h * self.w
    }
    /// Output positions per image, `OH·OW`.
    pub(crate) fn plane(&self) -> usize {
        self.oh * self.ow
    }
    /// A 1×1 window with stride 1 and no padding: the image already is its
    /// column matrix.
    pub(crate) fn pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.stride == 1 && self.pad == 0
    }
    /// Source coordinate along one axis for output index `o` and kernel tap
    /// `k`, or `None` when it falls in the zero padding.
    #[inline]
    fn src(&self, o: usize, k: usize, len: usize) -> Option<usize> {
        let pos = (o * self.stride + k * self.dil) as isize - self.pad as isize;
        (pos >= 0 && (pos as usize) < len).then_some(pos as usize)
    }
    /// The output columns `lo..hi` whose tap `kj` reads inside a row of
    /// width `W` (the rest read padding); column `ox` reads `ox·s + kj·d − p`.
    #[inline]
    fn valid_cols(&self, kj: usize) -> (usize, usize) {
        let (s, off) = (self.stride, kj * self.dil);
        let lo = self.pad.saturating_sub(off).div_ceil(s);
        let hi = (self.w + self.pad)
            .saturating_sub(off)
            .div_ceil(s)
            .min(self.ow);
        (lo.min(hi), hi)
    }
}

/// Runs `f(index, chunk)` over the `len`-sized chunks of `data`, on
/// rayon's pool when `parallel` and it has more than one thread, and on the
/// caller otherwise (handing work to a single worker only adds two context
/// switches per call).
fn for_each_chunk<T: Send>(
    data: &mut [T],
    len: usize,
    parallel: bool,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    if parallel && rayon::current_num_threads() > 1 {
        data.par_chunks_mut(len)
            .enumerate()
            .for_each(|(i, c)| f(i, c));
    } else {
        data.chunks_mut(len).enumerate().for_each(|(i, c)| f(i, c));
    }
}

/// Unfolds one image `[C, H, W]` into `cols [C·kh·kw, OH·OW]`, overwriting
/// every entry (padding positions get 0), over rows in parallel if `parallel`.
pub(crate) fn unfold(g: &Windows, img: &[f32], cols: &mut [f32], parallel: bool) {
    let hw = g.h * g.w;
    for_each_chunk(cols, g.plane(), parallel, |r, row| {
        let (c, ki, kj) = (r / (g.kh * g.kw), (r / g.kw) % g.kh, r % g.kw);
        let chan = &img[c * hw..][..hw];
        let (lo, hi) = g.valid_cols(kj);
        for (oy, dst) in row.chunks_mut(g.ow).enumerate() {
            let Some(iy) = g.src(oy, ki, g.h) else {
                dst.fill(0.0);
                continue;
            };
            dst[..lo].fill(0.0);
            dst[hi..].fill(0.0);
            if lo == hi {
                continue;
            }
            // First source column read, `lo·s + kj·d − p` (≥ 0 by `valid_cols`).
            let first = lo * g.stride + kj * g.dil - g.pad;
            let src = &chan[iy * g.w + first..(iy + 1) * g.w];
            if g.stride == 1 {
                dst[lo..hi].copy_from_slice(&src[..hi - lo]);
            } else {
                for (d, v) in dst[lo..hi].iter_mut().zip(src.iter().step_by(g.stride)) {
                    *d = *v;
                }
            }
        }
    });
}

/// Folds `cols [C·kh·kw, OH·OW]` back onto one image `[C, H, W]`, summing
/// overlapping windows into `img` (which the caller zeroes), over channels
/// in parallel if `parallel` (each thread owns one plane).
pub(crate) fn fold(g: &Windows, cols: &[f32], img: &mut [f32], parallel: bool) {
    let plane = g.plane();
    for_each_chunk(img, g.h * g.w, parallel, |c, chan| {
        for ki in 0..g.kh {
            for kj in 0..g.kw {
                let row = &cols[((c * g.kh + ki) * g.kw + kj) * plane..][..plane];
                let (lo, hi) = g.valid_cols(kj);
                if lo == hi {
                    continue;
                }
                let first = lo * g.stride + kj * g.dil - g.pad;
                for (oy, src) in row.chunks(g.ow).enumerate() {
                    let Some(iy) = g.src(oy, ki, g.h) else {
                        continue;
                    };
                    let dst = &mut chan[iy * g.w + first..(iy + 1) * g.w];
                    if g.stride == 1 {
                        // Plain slices: the compiler vectorises this loop,
                        // not the `step_by` one below.
                        for (d, v) in dst[..hi - lo].iter_mut().zip(&src[lo..hi]) {
                            *d += v;
                        }
                        continue;
                    }
                    for (d, v) in dst.iter_mut().step_by(g.stride).zip(&src[lo..hi]) {
                        *d += v;
                    }
                }
            }
        }
    });
}

/// A strided read-only matrix operand: `m[i, j] = data[i·rs + j·cs]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mat<'a> {
    pub data: &'a [f32],
    pub rs: usize,
    pub cs: usize,
}

impl<'a> Mat<'a> {
    /// Row-major `rows × cols` (row stride `cols`).
    pub(crate) fn rows(data: &'a [f32], cols: usize) -> Self {
        Mat {
            data,
            rs: cols,
            cs: 1,
        }
    }
    /// The transpose of a row-major matrix with `cols` columns.
    pub(crate) fn transposed(data: &'a [f32], cols: usize) -> Self {
        Mat {
            data,
            rs: 1,
            cs: cols,
        }
    }
    /// `true` when every entry of an `r × c` view lies inside `data`.
    fn covers(&self, r: usize, c: usize) -> bool {
        r == 0 || c == 0 || (r - 1) * self.rs + (c - 1) * self.cs < self.data.len()
    }
}

/// `dst [m×n, row-major] = (accumulate ? dst : 0) + lhs [m×k] · rhs [k×n]`
/// on the `gemm` crate (candle's own CPU matmul), split over `threads` of
/// rayon's pool (`0` or `1`: on the caller).
pub(crate) fn sgemm(
    (m, n, k): (usize, usize, usize),
    dst: &mut [f32],
    accumulate: bool,
    (lhs, rhs): (Mat<'_>, Mat<'_>),
    threads: usize,
) -> candle_core::Result<()> {
    if dst.len() < m * n || !lhs.covers(m, k) || !rhs.covers(k, n) {
        candle_core::bail!("sgemm: operands too small for {m}x{k} · {k}x{n}")
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(0.0);
        }
        return Ok(());
    }
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: `covers` checked that every index the strides reach lies
    // inside each slice, `dst` holds `m·n` values and is exclusively
    // borrowed, and the inputs do not alias it (shared vs mutable borrows).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.cs as isize,
            lhs.rs as isize,
            rhs.data.as_ptr(),
            rhs.cs as isize,
            rhs.rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
    Ok(())
}

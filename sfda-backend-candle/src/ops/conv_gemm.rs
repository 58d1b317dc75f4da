//! CPU convolution and transposed convolution as single candle custom ops
//! whose forward and backward are each one GEMM per image.
//!
//! A convolution is `y_b = W · unfold(x_b)` with `W [Cout, C·kh·kw]`; its
//! input gradient is `fold(Wᵀ · dy_b)` and its weight gradient `Σ_b dy_b ·
//! unfold(x_b)ᵀ`. A transposed convolution is the same three kernels with the
//! roles of forward and input gradient swapped. Writing each direction as
//! one op (instead of a graph of unfold, matmul and reordering copies) keeps
//! the `C·kh·kw`-times-larger column matrix out of the autodiff graph:
//! candle's backward allocates, zeroes and accumulates a gradient for every
//! node it visits, and for the column matrix that was the largest cost of a
//! training step. The column buffer now lives for one image inside the op.
//! Gradients are only computed for the operands the backward pass needs
//! ([`crate::wanted`]).

use candle_core::{CpuStorage, CustomOp2, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::im2col::{fold, sgemm, unfold, Mat, Windows};
use super::storage::contiguous_f32;

/// How a batch shares rayon's threads: `groups` groups of whole images run
/// in parallel, and each GEMM and copy inside a group is split over `inner`
/// threads. One parallel region per op instead of one per GEMM and copy,
/// which on a few cores costs more than it gains; and a batch smaller than
/// the pool (8 images on 16 cores) still runs its images side by side, each
/// GEMM on the threads left over, instead of one image at a time with every
/// small per-image GEMM cut into as many pieces as the pool has threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Split {
    /// Groups of whole images run in parallel (`1`: one after the other).
    pub groups: usize,
    /// Threads for each GEMM and copy inside a group (`1`: serial).
    pub inner: usize,
}

impl Split {
    /// The split of `b` images over a pool of `threads` threads.
    pub(crate) fn of(b: usize, threads: usize) -> Split {
        let threads = threads.max(1);
        let groups = b.clamp(1, threads);
        Split {
            groups,
            inner: threads / groups,
        }
    }

    /// The split of `b` images over rayon's current pool.
    fn current(b: usize) -> Split {
        Split::of(b, rayon::current_num_threads())
    }
}

/// A column buffer for one image (empty for pointwise windows).
fn column_buffer(g: &Windows) -> Vec<f32> {
    vec![
        0f32;
        if g.pointwise() {
            0
        } else {
            g.rows() * g.plane()
        }
    ]
}

/// Runs `f(input_image, output_image, column_buffer, inner_threads)` for
/// each image: output chunks are disjoint, so groups of images run in
/// parallel without changing any result.
fn per_image(
    g: &Windows,
    (input, in_len): (&[f32], usize),
    (output, out_len): (&mut [f32], usize),
    f: impl Fn(&[f32], &mut [f32], &mut [f32], usize) -> candle_core::Result<()> + Sync,
) -> candle_core::Result<()> {
    let split = Split::current(g.b);
    if split.groups > 1 {
        input
            .par_chunks(in_len)
            .zip(output.par_chunks_mut(out_len))
            .try_for_each_init(
                || column_buffer(g),
                |cols, (i, o)| f(i, o, cols, split.inner),
            )
    } else {
        let mut cols = column_buffer(g);
        input
            .chunks(in_len)
            .zip(output.chunks_mut(out_len))
            .try_for_each(|(i, o)| f(i, o, &mut cols, split.inner))
    }
}

/// `y [B, Cout, OH, OW] = W [Cout, K] · unfold(x_b)` for each image.
fn conv_forward(g: &Windows, cout: usize, x: &[f32], w: &[f32]) -> candle_core::Result<Vec<f32>> {
    let (k, plane) = (g.rows(), g.plane());
    let mut y = vec![0f32; g.b * cout * plane];
    per_image(
        g,
        (x, g.image_len()),
        (&mut y, cout * plane),
        |img, out, cols, threads| {
            let rhs = if g.pointwise() {
                img
            } else {
                unfold(g, img, cols, threads > 1);
                cols
            };
            let ops = (Mat::rows(w, k), Mat::rows(rhs, plane));
            sgemm((cout, plane, k), out, false, ops, threads)
        },
    )?;
    Ok(y)
}

/// `dx [B, C, H, W] = fold(Wᵀ · dy_b)` for each image: the adjoint of
/// [`conv_forward`] in `x`.
fn conv_input_grad(
    g: &Windows,
    cout: usize,
    dy: &[f32],
    w: &[f32],
) -> candle_core::Result<Vec<f32>> {
    let (k, plane) = (g.rows(), g.plane());
    let mut dx = vec![0f32; g.b * g.image_len()];
    per_image(
        g,
        (dy, cout * plane),
        (&mut dx, g.image_len()),
        |gy, img, cols, threads| {
            let ops = (Mat::transposed(w, k), Mat::rows(gy, plane));
            if g.pointwise() {
                return sgemm((k, plane, cout), img, false, ops, threads);
            }
            sgemm((k, plane, cout), cols, false, ops, threads)?;
            fold(g, cols, img, threads > 1);
            Ok(())
        },
    )?;
    Ok(dx)
}

/// `dw [Cout, K] = Σ dy_b · unfold(x_b)ᵀ` over a run of images.
///
/// The sum is taken transposed, `dwᵀ [K, Cout] = Σ unfold(x_b) · dy_bᵀ`,
/// and written back at the end. Both products are the same multiply-adds,
/// but the `gemm` crate wants its destination column-major and packs the
/// operand it then calls the left one: for `dw` that is the whole
/// `K × plane` column matrix, re-laid out once per image (three times the
/// GEMM's own time in a profile of the demo iteration), for `dwᵀ` only
/// `dy_b`, `Cout × plane`, while the column matrix is read in place.
fn weight_grad_run(
    g: &Windows,
    cout: usize,
    (x, dy): (&[f32], &[f32]),
    dw: &mut [f32],
    threads: usize,
) -> candle_core::Result<()> {
    let (k, plane) = (g.rows(), g.plane());
    if dw.len() != cout * k {
        candle_core::bail!("conv2d weight gradient: {} values for {cout}x{k}", dw.len())
    }
    let mut cols = column_buffer(g);
    let mut dwt = vec![0f32; k * cout];
    for (i, (img, gy)) in x
        .chunks(g.image_len())
        .zip(dy.chunks(cout * plane))
        .enumerate()
    {
        let lhs = if g.pointwise() {
            img
        } else {
            unfold(g, img, &mut cols, threads > 1);
            &cols
        };
        let ops = (Mat::rows(lhs, plane), Mat::transposed(gy, plane));
        sgemm((k, cout, plane), &mut dwt, i > 0, ops, threads)?;
    }
    for (c, row) in dw.chunks_mut(k).enumerate() {
        for (j, d) in row.iter_mut().enumerate() {
            *d = dwt[j * cout + c];
        }
    }
    Ok(())
}

/// `dW [Cout, K] = Σ_b dy_b · unfold(x_b)ᵀ`: the adjoint of
/// [`conv_forward`] in `W`. With several image groups, each sums its own
/// images and the partial sums are added in group order, so the result
/// depends on the thread count but not on scheduling.
fn conv_weight_grad(
    g: &Windows,
    cout: usize,
    x: &[f32],
    dy: &[f32],
) -> candle_core::Result<Vec<f32>> {
    let split = Split::current(g.b);
    let mut dw = vec![0f32; cout * g.rows()];
    if split.groups == 1 {
        weight_grad_run(g, cout, (x, dy), &mut dw, split.inner)?;
        return Ok(dw);
    }
    let per_group = g.b.div_ceil(split.groups);
    let (x_len, dy_len) = (per_group * g.image_len(), per_group * cout * g.plane());
    let partials = x
        .par_chunks(x_len)
        .zip(dy.par_chunks(dy_len))
        .map(|(xs, gys)| {
            let mut part = vec![0f32; dw.len()];
            weight_grad_run(g, cout, (xs, gys), &mut part, split.inner).map(|()| part)
        })
        .collect::<candle_core::Result<Vec<_>>>()?;
    for part in partials {
        for (d, p) in dw.iter_mut().zip(&part) {
            *d += p;
        }
    }
    Ok(dw)
}

/// Both operands as contiguous `f32` slices of the expected lengths.
fn operands<'a>(
    op: &'static str,
    (s1, l1, len1): (&'a CpuStorage, &Layout, usize),
    (s2, l2, len2): (&'a CpuStorage, &Layout, usize),
) -> candle_core::Result<(&'a [f32], &'a [f32])> {
    let a = contiguous_f32(s1, l1, op)?;
    let b = contiguous_f32(s2, l2, op)?;
    if a.len() != len1 || b.len() != len2 {
        candle_core::bail!(
            "{op}: operands of {} and {} values, expected {len1} and {len2}",
            a.len(),
            b.len()
        )
    }
    Ok((a, b))
}

/// `(x [B, C, H, W], W [Cout, C, kh, kw]) → y [B, Cout, OH, OW]`, no
/// backward (a building block of [`Conv2dGemm`] and [`ConvTranspose2dGemm`]).
#[derive(Debug, Clone, Copy)]
struct ConvForward {
    g: Windows,
    cout: usize,
}

impl CustomOp2 for ConvForward {
    fn name(&self) -> &'static str {
        "conv2d_forward"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = &self.g;
        let lens = (g.b * g.image_len(), self.cout * g.rows());
        let (x, w) = operands(self.name(), (s1, l1, lens.0), (s2, l2, lens.1))?;
        let y = conv_forward(g, self.cout, x, w)?;
        Ok((
            CpuStorage::F32(y),
            Shape::from((g.b, self.cout, g.oh, g.ow)),
        ))
    }
}

/// `(dy [B, Cout, OH, OW], W [Cout, C, kh, kw]) → dx [B, C, H, W]`, no backward.
#[derive(Debug, Clone, Copy)]
struct ConvInputGrad {
    g: Windows,
    cout: usize,
}

impl CustomOp2 for ConvInputGrad {
    fn name(&self) -> &'static str {
        "conv2d_input_grad"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = &self.g;
        let lens = (g.b * self.cout * g.plane(), self.cout * g.rows());
        let (dy, w) = operands(self.name(), (s1, l1, lens.0), (s2, l2, lens.1))?;
        let dx = conv_input_grad(g, self.cout, dy, w)?;
        Ok((CpuStorage::F32(dx), Shape::from((g.b, g.c, g.h, g.w))))
    }
}

/// `(x [B, C, H, W], dy [B, Cout, OH, OW]) → dW` of shape `w_shape`
/// (`Cout·C·kh·kw` values), no backward.
#[derive(Debug, Clone)]
struct ConvWeightGrad {
    g: Windows,
    cout: usize,
    w_shape: Shape,
}

impl CustomOp2 for ConvWeightGrad {
    fn name(&self) -> &'static str {
        "conv2d_weight_grad"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = &self.g;
        let lens = (g.b * g.image_len(), g.b * self.cout * g.plane());
        let (x, dy) = operands(self.name(), (s1, l1, lens.0), (s2, l2, lens.1))?;
        if self.w_shape.elem_count() != self.cout * g.rows() {
            candle_core::bail!("{}: weight shape {:?} for {g:?}", self.name(), self.w_shape)
        }
        let dw = conv_weight_grad(g, self.cout, x, dy)?;
        Ok((CpuStorage::F32(dw), self.w_shape.clone()))
    }
}

/// `(dx, dW)` of a convolution (`transposed: false`) or its transpose, each
/// only when the backward pass needs it: `dx = dx_op(dy, W)`, and `dW` the
/// weight gradient of the convolution with geometry `g` and `cout` output
/// channels between its image and its output gradient, which are `(x, dy)`
/// for a convolution and `(dy, x)` for a transposed one.
fn conv_grads(
    (x, w, dy): (&Tensor, &Tensor, &Tensor),
    (g, cout): (Windows, usize),
    dx_op: &impl CustomOp2,
    transposed: bool,
) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
    let dy = dy.contiguous()?;
    let dx = match crate::wanted::needs_grad(x) {
        true => Some(dy.apply_op2_no_bwd(w, dx_op)?),
        false => None,
    };
    let dw = match crate::wanted::needs_grad(w) {
        true => {
            let op = ConvWeightGrad {
                g,
                cout,
                w_shape: w.shape().clone(),
            };
            let (image, out_grad) = if transposed { (&dy, x) } else { (x, &dy) };
            Some(image.apply_op2_no_bwd(out_grad, &op)?)
        }
        false => None,
    };
    Ok((dx, dw))
}

/// A differentiable CPU convolution `(x, W) → y` (groups 1): forward,
/// input gradient and weight gradient are each one GEMM per image.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Conv2dGemm {
    /// Geometry of the input image and windows.
    pub g: Windows,
    /// Output channels.
    pub cout: usize,
}

impl CustomOp2 for Conv2dGemm {
    fn name(&self) -> &'static str {
        "conv2d_gemm"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        ConvForward {
            g: self.g,
            cout: self.cout,
        }
        .cpu_fwd(s1, l1, s2, l2)
    }
    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let dx_op = ConvInputGrad {
            g: self.g,
            cout: self.cout,
        };
        conv_grads((x, w, dy), (self.g, self.cout), &dx_op, false)
    }
}

/// A differentiable CPU transposed convolution `(x [B, Cin, OH, OW], W
/// [Cin, Cout, kh, kw]) → y [B, Cout, H, W]`: the adjoint of a convolution
/// from `y`'s geometry (`g`, with `g.c = Cout`) to `Cin` channels.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConvTranspose2dGemm {
    /// Geometry of the *output* image and the windows that read it.
    pub g: Windows,
    /// Input channels (the output channels of the adjoint convolution).
    pub cin: usize,
}

impl CustomOp2 for ConvTranspose2dGemm {
    fn name(&self) -> &'static str {
        "conv_transpose2d_gemm"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        ConvInputGrad {
            g: self.g,
            cout: self.cin,
        }
        .cpu_fwd(s1, l1, s2, l2)
    }
    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let dx_op = ConvForward {
            g: self.g,
            cout: self.cin,
        };
        conv_grads((x, w, dy), (self.g, self.cin), &dx_op, true)
    }
}

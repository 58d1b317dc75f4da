//! Summing over dimensions and broadcasting back, as a pair of adjoint candle
//! custom ops with fast CPU kernels.
//!
//! candle reduces over any dimensions other than the trailing ones with a
//! per-element divide/modulo loop, and its autodiff uses that same reduction
//! for the gradient of every broadcast operand (a bias, a BatchNorm mean, a
//! per-channel weight). Here both directions walk the large tensor in
//! contiguous blocks: the shapes are merged into alternating groups of
//! kept and reduced (broadcast) dimensions, so the innermost group is either
//! one long run summed into one value, or a run added element-wise onto a
//! run of the small tensor. Sums accumulate in `f64`.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor};
use sfda_core::{Error, Result};

use crate::error::CandleResultExt;

/// The pair of shapes: `big`, and `small` of the same rank with every
/// dimension equal to `big`'s or 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shapes {
    big: Vec<usize>,
    small: Vec<usize>,
}

impl Shapes {
    /// `None` unless `small` has `big`'s rank and each of its dimensions
    /// equals `big`'s or is 1.
    pub(crate) fn new(big: &[usize], small: &[usize]) -> Option<Self> {
        let ok = big.len() == small.len() && big.iter().zip(small).all(|(&b, &s)| s == b || s == 1);
        ok.then(|| Shapes {
            big: big.to_vec(),
            small: small.to_vec(),
        })
    }

    /// Consecutive dimensions merged into `(size, kept)` groups, where kept
    /// means the small tensor has the full size; dimensions of size 1 in
    /// both are dropped.
    fn groups(&self) -> Vec<(usize, bool)> {
        let mut g: Vec<(usize, bool)> = Vec::new();
        for (&b, &s) in self.big.iter().zip(&self.small) {
            if b == 1 {
                continue;
            }
            let kept = s == b;
            match g.last_mut() {
                Some((size, k)) if *k == kept => *size *= b,
                _ => g.push((b, kept)),
            }
        }
        g
    }

    /// Calls `f(big_offset, small_offset, len, inner_kept)` for each
    /// contiguous block of the big tensor: `len` big elements starting at
    /// `big_offset`, which map to `len` small elements from `small_offset`
    /// when `inner_kept`, else all to the one at `small_offset`.
    fn for_each_block(&self, mut f: impl FnMut(usize, usize, usize, bool)) {
        let groups = self.groups();
        let Some(&(inner, inner_kept)) = groups.last() else {
            f(0, 0, 1, true); // every dimension is 1: one element
            return;
        };
        let outer = &groups[..groups.len() - 1];
        // Small-tensor stride of each outer group (0 for reduced groups).
        let mut strides = vec![0usize; outer.len()];
        let mut acc = if inner_kept { inner } else { 1 };
        for (i, &(size, kept)) in outer.iter().enumerate().rev() {
            if kept {
                strides[i] = acc;
                acc *= size;
            }
        }
        let n_outer: usize = outer.iter().map(|g| g.0).product();
        for o in 0..n_outer {
            let (mut rest, mut small_off) = (o, 0);
            for (i, &(size, _)) in outer.iter().enumerate().rev() {
                small_off += (rest % size) * strides[i];
                rest /= size;
            }
            f(o * inner, small_off, inner, inner_kept);
        }
    }

    fn big_len(&self) -> usize {
        self.big.iter().product()
    }

    /// Every block as `(big_offset, small_offset)`, with the common block
    /// length and kind (see [`Shapes::for_each_block`]).
    fn blocks(&self) -> (Vec<(usize, usize)>, usize, bool) {
        let (mut len, mut kept) = (1, true);
        let mut blocks = Vec::new();
        self.for_each_block(|big, small, l, k| {
            (len, kept) = (l, k);
            blocks.push((big, small));
        });
        (blocks, len, kept)
    }

    /// Calls `f(dst, big_offset, small_offset, kept)` for each block of a
    /// `big`-shaped `out`, `dst` being the block's slice (blocks tile `out` in order). On
    /// rayon's pool when the output is worth splitting; every block is
    /// written by one call either way, so the result is the same.
    fn fill_blocks(&self, out: &mut [f32], f: impl Fn(&mut [f32], usize, usize, bool) + Sync) {
        use rayon::prelude::*;
        if !super::parallel::worth_splitting(out.len()) {
            return self.for_each_block(|big, small, len, kept| {
                f(&mut out[big..big + len], big, small, kept)
            });
        }
        let (blocks, len, kept) = self.blocks();
        if len == 0 {
            return;
        }
        out.par_chunks_mut(len)
            .zip(blocks.par_iter())
            .with_min_len(super::parallel::CHUNK_LEN.div_ceil(len))
            .for_each(|(dst, &(big, small))| f(dst, big, small, kept));
    }

    fn small_len(&self) -> usize {
        self.small.iter().product()
    }
}

/// Sums a `big`-shaped tensor down to `small` (same rank, keepdim);
/// backward is a broadcast.
#[derive(Debug, Clone)]
pub(crate) struct SumTo(pub Shapes);

/// Copies a `small`-shaped tensor out to `big`; backward is [`SumTo`].
#[derive(Debug, Clone)]
pub(crate) struct BroadcastTo(pub Shapes);

/// The input as a contiguous `f32` slice of `len` values.
fn input<'a>(
    s: &'a CpuStorage,
    l: &Layout,
    len: usize,
    op: &'static str,
) -> candle_core::Result<&'a [f32]> {
    let data = super::storage::contiguous_f32(s, l, op)?;
    if data.len() != len {
        candle_core::bail!("{op}: expected {len} values, got {}", data.len())
    }
    Ok(data)
}

/// [`SumTo`]'s kernel: every block added into its output run in block order.
fn sum_to_serial(shapes: &Shapes, src: &[f32]) -> Vec<f32> {
    let mut acc = vec![0f64; shapes.small_len()];
    shapes.for_each_block(|big, small, len, kept| {
        let block = &src[big..big + len];
        if kept {
            for (a, &v) in acc[small..small + len].iter_mut().zip(block) {
                *a += v as f64;
            }
        } else {
            acc[small] += block.iter().map(|&v| v as f64).sum::<f64>();
        }
    });
    acc.into_iter().map(|v| v as f32).collect()
}

/// [`sum_to_serial`] with the output runs on rayon's pool: blocks are
/// grouped by the run they add into, and each run takes its blocks in the
/// same order as the serial kernel, so every output value is the same sum
/// in the same order (bit-identical). Runs are one value wide when the
/// innermost dimensions are reduced (a per-channel sum: one task per
/// channel) and the kept innermost extent otherwise.
fn sum_to_by_output(shapes: &Shapes, src: &[f32]) -> Vec<f32> {
    use rayon::prelude::*;
    // Every block has the same length and kind; `run` is the width of the
    // output run a block adds into.
    let (blocks, len, kept) = shapes.blocks();
    let run = if kept { len.max(1) } else { 1 };
    let mut by_run: Vec<Vec<usize>> = vec![Vec::new(); shapes.small_len() / run];
    for (big, small) in blocks {
        by_run[small / run].push(big);
    }
    let mut out = vec![0f32; shapes.small_len()];
    out.par_chunks_mut(run)
        .zip(by_run.par_iter())
        .for_each(|(dst, bigs)| {
            let mut acc = vec![0f64; run];
            for &big in bigs {
                let block = &src[big..big + len];
                if kept {
                    for (a, &v) in acc.iter_mut().zip(block) {
                        *a += v as f64;
                    }
                } else {
                    acc[0] += block.iter().map(|&v| v as f64).sum::<f64>();
                }
            }
            for (d, a) in dst.iter_mut().zip(acc) {
                *d = a as f32;
            }
        });
    out
}

impl CustomOp1 for SumTo {
    fn name(&self) -> &'static str {
        "sum_to"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let src = input(s, l, self.0.big_len(), self.name())?;
        let out = if super::parallel::worth_splitting(src.len()) {
            sum_to_by_output(&self.0, src)
        } else {
            sum_to_serial(&self.0, src)
        };
        Ok((CpuStorage::F32(out), Shape::from(self.0.small.clone())))
    }

    fn bwd(
        &self,
        _arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(grad.broadcast_as(self.0.big.clone())?))
    }
}

impl CustomOp1 for BroadcastTo {
    fn name(&self) -> &'static str {
        "broadcast_to"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let src = input(s, l, self.0.small_len(), self.name())?;
        let mut out = vec![0f32; self.0.big_len()];
        self.0.fill_blocks(&mut out, |dst, _, small, kept| {
            if kept {
                dst.copy_from_slice(&src[small..small + dst.len()]);
            } else {
                dst.fill(src[small]);
            }
        });
        Ok((CpuStorage::F32(out), Shape::from(self.0.big.clone())))
    }

    fn bwd(
        &self,
        _arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(grad.contiguous()?.apply_op1(SumTo(self.0.clone()))?))
    }
}

/// `t` summed over `dims`, keeping them as size 1: the fast kernel on the
/// CPU, candle's reduction elsewhere.
pub(crate) fn sum_keepdim(t: &Tensor, dims: &[usize]) -> candle_core::Result<Tensor> {
    let big = t.dims().to_vec();
    let mut small = big.clone();
    for &d in dims {
        if d >= small.len() {
            candle_core::bail!("sum over dim {d} of a rank-{} tensor", big.len())
        }
        small[d] = 1;
    }
    match Shapes::new(&big, &small) {
        Some(s) if t.device().is_cpu() && t.dtype() == candle_core::DType::F32 => {
            t.contiguous()?.apply_op1(SumTo(s))
        }
        _ => t.sum_keepdim(dims),
    }
}

/// `t` broadcast to `shape` (numpy rules: leading dimensions added, size-1
/// dimensions stretched). On the CPU a tracked tensor is materialised by
/// [`BroadcastTo`], so its gradient is the fast [`SumTo`] rather than
/// candle's generic reduction; untracked tensors stay zero-copy views.
pub(crate) fn broadcast_as(t: &Tensor, shape: &[usize]) -> candle_core::Result<Tensor> {
    if t.dims() == shape {
        return Ok(t.clone());
    }
    let fast = t.device().is_cpu() && t.dtype() == candle_core::DType::F32 && t.track_op();
    if !fast || shape.len() < t.rank() {
        return t.broadcast_as(shape);
    }
    let mut small = vec![1; shape.len() - t.rank()];
    small.extend_from_slice(t.dims());
    match Shapes::new(shape, &small) {
        Some(s) => t.reshape(small)?.contiguous()?.apply_op1(BroadcastTo(s)),
        None => t.broadcast_as(shape),
    }
}

/// `t` broadcast to `shape` as a new contiguous tensor: [`BroadcastTo`]'s
/// kernel on the CPU, candle's broadcast and copy elsewhere.
pub(crate) fn broadcast_materialized(t: &Tensor, shape: &[usize]) -> candle_core::Result<Tensor> {
    if t.dims() == shape {
        return Ok(t.clone());
    }
    let fast = t.device().is_cpu() && t.dtype() == candle_core::DType::F32;
    if fast && shape.len() >= t.rank() {
        let mut small = vec![1; shape.len() - t.rank()];
        small.extend_from_slice(t.dims());
        if let Some(s) = Shapes::new(shape, &small) {
            return t
                .reshape(small)?
                .contiguous()?
                .apply_op1_no_bwd(&BroadcastTo(s));
        }
    }
    t.broadcast_as(shape)?.contiguous()
}

/// `f(a, b)` after broadcasting both operands to their common shape with
/// [`broadcast_as`] (NumPy rules), so gradients of broadcast operands are
/// summed by the fast kernel.
pub(crate) fn binary(
    a: &Tensor,
    b: &Tensor,
    op: &'static str,
    f: impl Fn(&Tensor, &Tensor) -> candle_core::Result<Tensor>,
) -> Result<Tensor> {
    if a.dims() == b.dims() {
        return f(a, b).op(op);
    }
    let shape = super::layout::broadcast_shape(a.dims(), b.dims()).ok_or_else(|| {
        Error::shape(
            op,
            format!("shapes {:?} and {:?} do not broadcast", a.dims(), b.dims()),
        )
    })?;
    let a = broadcast_as(a, &shape).op(op)?;
    let b = broadcast_as(b, &shape).op(op)?;
    f(&a, &b).op(op)
}

/// The four arithmetic ops with a fused broadcasting CPU kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arith {
    /// `a + b`.
    Add,
    /// `a - b`.
    Sub,
    /// `a * b`.
    Mul,
    /// `a / b`.
    Div,
}

impl Arith {
    fn name(self) -> &'static str {
        match self {
            Arith::Add => "add",
            Arith::Sub => "sub",
            Arith::Mul => "mul",
            Arith::Div => "div",
        }
    }
    fn apply(self, a: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Arith::Add => a.add(b),
            Arith::Sub => a.sub(b),
            Arith::Mul => a.mul(b),
            Arith::Div => a.div(b),
        }
    }
}

/// `big ∘ small` (or `small ∘ big` when `small_first`) with `small`
/// broadcast on the fly: no broadcast copy is made, and the gradient of the
/// small operand is the fast [`SumTo`] of the big-shaped gradient.
#[derive(Debug, Clone)]
struct FusedBroadcast {
    op: Arith,
    small_first: bool,
    shapes: Shapes,
}

impl FusedBroadcast {
    /// The kernel for one operation: generic over it, so the per-element
    /// closure is inlined and the inner loops vectorise.
    fn run(&self, a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32 + Sync) -> Vec<f32> {
        let mut out = vec![0f32; a.len()];
        self.shapes.fill_blocks(&mut out, |dst, big, small, kept| {
            let len = dst.len();
            let src = &a[big..big + len];
            if kept {
                for ((d, &x), &y) in dst.iter_mut().zip(src).zip(&b[small..small + len]) {
                    *d = f(x, y);
                }
            } else {
                let y = b[small];
                for (d, &x) in dst.iter_mut().zip(src) {
                    *d = f(x, y);
                }
            }
        });
        out
    }
}

impl CustomOp2 for FusedBroadcast {
    fn name(&self) -> &'static str {
        "fused_broadcast"
    }

    /// Argument 1 is always the big operand, argument 2 the small one.
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let a = input(s1, l1, self.shapes.big_len(), self.name())?;
        let b = input(s2, l2, self.shapes.small_len(), self.name())?;
        let out = match (self.op, self.small_first) {
            (Arith::Add, _) => self.run(a, b, |x, y| x + y),
            (Arith::Mul, _) => self.run(a, b, |x, y| x * y),
            (Arith::Sub, false) => self.run(a, b, |x, y| x - y),
            (Arith::Sub, true) => self.run(a, b, |x, y| y - x),
            (Arith::Div, false) => self.run(a, b, |x, y| x / y),
            (Arith::Div, true) => self.run(a, b, |x, y| y / x),
        };
        Ok((CpuStorage::F32(out), Shape::from(self.shapes.big.clone())))
    }

    fn bwd(
        &self,
        big: &Tensor,
        small: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let sum = |t: Tensor| t.contiguous()?.apply_op1(SumTo(self.shapes.clone()));
        let wide = small.broadcast_as(self.shapes.big.clone())?;
        let (g_big, g_small) = match (self.op, self.small_first) {
            (Arith::Add, _) => (grad.clone(), sum(grad.clone())?),
            (Arith::Sub, false) => (grad.clone(), sum(grad.neg()?)?),
            (Arith::Sub, true) => (grad.neg()?, sum(grad.clone())?),
            (Arith::Mul, _) => (grad.mul(&wide)?, sum(grad.mul(big)?)?),
            // res = big / small: d big = g / small, d small = -g · res / small
            (Arith::Div, false) => (grad.div(&wide)?, sum(grad.mul(res)?.div(&wide)?.neg()?)?),
            // res = small / big: d big = -g · res / big, d small = g / big
            (Arith::Div, true) => (grad.mul(res)?.div(big)?.neg()?, sum(grad.div(big)?)?),
        };
        Ok((Some(g_big), Some(g_small)))
    }
}

/// `a ∘ b` with NumPy broadcasting. On the CPU, when one operand already has
/// the result's shape, the other is broadcast inside one fused kernel
/// ([`FusedBroadcast`]); otherwise both are broadcast with [`broadcast_as`].
pub(crate) fn arith(a: &Tensor, b: &Tensor, op: Arith) -> Result<Tensor> {
    let name = op.name();
    let fused = a.dims() != b.dims()
        && a.device().is_cpu()
        && a.dtype() == candle_core::DType::F32
        && b.dtype() == candle_core::DType::F32;
    if fused {
        if let Some(shape) = super::layout::broadcast_shape(a.dims(), b.dims()) {
            let (big, small, small_first) = if a.dims() == shape.as_slice() {
                (a, b, false)
            } else if b.dims() == shape.as_slice() {
                (b, a, true)
            } else {
                return binary(a, b, name, |x, y| op.apply(x, y));
            };
            let mut dims = vec![1; shape.len() - small.rank()];
            dims.extend_from_slice(small.dims());
            if let Some(shapes) = Shapes::new(&shape, &dims) {
                let op2 = FusedBroadcast {
                    op,
                    small_first,
                    shapes,
                };
                let big = big.contiguous().op(name)?;
                let small = small.reshape(dims).op(name)?.contiguous().op(name)?;
                return big.apply_op2(&small, op2).op(name);
            }
        }
    }
    binary(a, b, name, |x, y| op.apply(x, y))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn ramp(shape: &[usize]) -> Tensor {
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
        Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
    }

    fn close(a: &Tensor, b: &Tensor) {
        let d = (a - b).unwrap().abs().unwrap().max_all().unwrap();
        assert!(d.to_scalar::<f32>().unwrap() < 1e-5, "{a} vs {b}");
    }

    #[test]
    fn sum_matches_candle_for_every_dim_subset() {
        let t = ramp(&[2, 3, 4, 5]);
        for mask in 0..16u32 {
            let dims: Vec<usize> = (0..4).filter(|d| mask & (1 << d) != 0).collect();
            let ours = sum_keepdim(&t, &dims).unwrap();
            let theirs = if dims.is_empty() {
                t.clone()
            } else {
                t.sum_keepdim(dims.as_slice()).unwrap()
            };
            close(&ours, &theirs);
        }
    }

    #[test]
    fn broadcast_matches_candle_and_gradient_sums() {
        let var = Var::from_tensor(&ramp(&[3, 1, 5])).unwrap();
        let shape = [2, 3, 4, 5];
        let ours = broadcast_as(var.as_tensor(), &shape).unwrap();
        close(&ours, &var.as_tensor().broadcast_as(&shape[..]).unwrap());
        let w = ramp(&shape);
        let g = (ours * &w).unwrap().sum_all().unwrap().backward().unwrap();
        let expect = w
            .sum_keepdim(0)
            .unwrap()
            .sum_keepdim(2)
            .unwrap()
            .squeeze(0)
            .unwrap();
        close(g.get(var.as_tensor()).unwrap(), &expect);
    }
}

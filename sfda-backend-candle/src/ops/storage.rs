//! Reading the CPU storage that candle hands to a custom op.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, Layout};

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

/// Two operands of the same length (an output gradient and the tensor it
/// belongs to), as contiguous `f32` slices, or an error naming the op.
pub(crate) fn pair_f32<'a>(
    op: &'static str,
    (s1, l1): (&'a CpuStorage, &Layout),
    (s2, l2): (&'a CpuStorage, &Layout),
) -> candle_core::Result<(&'a [f32], &'a [f32])> {
    let a = contiguous_f32(s1, l1, op)?;
    let b = contiguous_f32(s2, l2, op)?;
    if a.len() != b.len() {
        candle_core::bail!("{op}: operands of {} and {} values", a.len(), b.len())
    }
    Ok((a, b))
}

/// `(B·C, H, W)` of a `[B, C, H, W]` layout: the planes a per-plane op
/// walks, or an error naming the op.
pub(crate) fn planes_of(
    l: &Layout,
    op: &'static str,
) -> candle_core::Result<(usize, usize, usize)> {
    match *l.dims() {
        [b, c, h, w] => Ok((b * c, h, w)),
        ref d => candle_core::bail!("{op}: expected [B, C, H, W], got {d:?}"),
    }
}

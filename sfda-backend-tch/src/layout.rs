//! Memory layout of the tch backend's variables: convolution weights are
//! stored channels-last (NHWC strides) on the CPU.
//!
//! oneDNN, which runs libtorch's CPU convolutions, computes in a blocked or
//! channels-last layout. Given plain NCHW tensors, it reorders every input
//! into its blocked layout and every output back, in each direction:
//! 144–163 ms of a 1.65–1.9 s demo-scale iteration on one thread, measured
//! with `ONEDNN_VERBOSE=1` (docs/performance.md). When a convolution's weight is
//! channels-last, libtorch runs it channels-last: the output comes out
//! channels-last, batch norm, ReLU, pooling, residual additions and nearest
//! resizes keep that layout, and the next convolution takes its input as
//! it is, so the reorders go. A concatenation along the channels of
//! channels-last tensors stays channels-last (the backend's `cat`; libtorch
//! would give NCHW where one part, like the ASPP's broadcast pooled branch,
//! is not). Only where a network leaves the layout (a reshape, the
//! generator's first activations, the discriminator's patches) does the
//! next convolution copy its input once.
//!
//! The layout is libtorch's business: shapes, values and every other op are
//! the same, and host copies ([`crate::TchBackend`]'s `to_f32`) make tensors
//! contiguous first. Results differ from the NCHW path in the last bits
//! (oneDNN picks other kernels), as between thread counts.
//!
//! `SFDA_TCH_CHANNELS_LAST=0` keeps every variable NCHW (for comparisons);
//! `1` or unset is the default. Keep one setting for a run and its resume:
//! the run state does not record it, and the two layouts round differently.
//! CUDA tensors stay NCHW (not measured).

use std::sync::OnceLock;

use sfda_core::{Error, Result};
use tch::{Device, Tensor};

use crate::error::TchResultExt;

/// The environment variable that switches the layout off (`0`) or on (`1`).
pub const CHANNELS_LAST_VAR: &str = "SFDA_TCH_CHANNELS_LAST";

/// Whether 4-D CPU variables are stored channels-last: read once from
/// [`CHANNELS_LAST_VAR`]; any value but `0` or `1` is an error naming it.
fn channels_last_enabled() -> Result<bool> {
    static CHOICE: OnceLock<std::result::Result<bool, String>> = OnceLock::new();
    CHOICE
        .get_or_init(|| parse(std::env::var(CHANNELS_LAST_VAR).ok().as_deref()))
        .clone()
        .map_err(Error::msg)
}

fn parse(value: Option<&str>) -> std::result::Result<bool, String> {
    match value.map(str::trim) {
        None | Some("1") => Ok(true),
        Some("0") => Ok(false),
        Some(other) => Err(format!(
            "{CHANNELS_LAST_VAR}={other:?}: expected 0 (NCHW variables) or 1 (channels-last \
             convolution weights on the CPU, the default)"
        )),
    }
}

/// `t` in the layout a fresh variable gets: a channels-last copy for a 4-D
/// tensor on the CPU (unless switched off), `t` itself otherwise.
pub(crate) fn for_variable(t: Tensor) -> Result<Tensor> {
    if t.dim() != 4 || t.device() != Device::Cpu || !channels_last_enabled()? {
        return Ok(t);
    }
    to_channels_last(&t).op("var_new")
}

/// A copy of the 4-D `t` with channels-last strides (`[H·W·C, 1, W·C, C]`),
/// a fresh tensor rather than a permuted view, so it can be a leaf.
fn to_channels_last(t: &Tensor) -> std::result::Result<Tensor, tch::TchError> {
    let s = t.size();
    let mut out = Tensor::f_empty_strided(
        s.as_slice(),
        channels_last_strides(&s).as_slice(),
        (t.kind(), t.device()),
    )?;
    out.f_copy_(t)?;
    Ok(out)
}

fn channels_last_strides(s: &[i64]) -> [i64; 4] {
    [s[1] * s[2] * s[3], 1, s[3] * s[1], s[1]]
}

/// Whether a concatenation of `parts` along the channels should come out
/// channels-last: all are 4-D CPU tensors and one is channels-last. (libtorch
/// makes the result NCHW as soon as one input is not channels-last, and the
/// ASPP concatenates a broadcast pooled branch, whose strides are neither.)
pub(crate) fn keeps_channels_last(parts: &[&Tensor]) -> bool {
    parts
        .iter()
        .all(|t| t.dim() == 4 && t.device() == Device::Cpu)
        && parts.iter().any(|t| is_channels_last(t))
}

/// `cat(parts, 1)` with a channels-last result: the concatenation of the
/// NHWC views along their last dimension, viewed back as NCHW. The next
/// convolution takes it without a copy, and the gradient slices handed back
/// to each branch are channels-last too.
pub(crate) fn cat_channels_last(parts: &[&Tensor]) -> std::result::Result<Tensor, tch::TchError> {
    let nhwc: Vec<Tensor> = parts.iter().map(|t| t.permute([0, 2, 3, 1])).collect();
    Ok(Tensor::f_cat(&nhwc, 3)?.permute([0, 3, 1, 2]))
}

/// Whether the 4-D `t` has channels-last strides.
fn is_channels_last(t: &Tensor) -> bool {
    t.dim() == 4 && t.stride() == channels_last_strides(&t.size())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variable_parses_strictly() {
        assert_eq!(parse(None), Ok(true));
        assert_eq!(parse(Some("1")), Ok(true));
        assert_eq!(parse(Some(" 0 ")), Ok(false));
        let err = parse(Some("yes")).unwrap_err();
        assert!(
            err.contains(CHANNELS_LAST_VAR) && err.contains("\"yes\""),
            "{err}"
        );
    }

    #[test]
    fn a_channels_last_copy_keeps_shape_and_values() {
        let t =
            Tensor::arange(2 * 3 * 4 * 5, (tch::Kind::Float, Device::Cpu)).reshape([2, 3, 4, 5]);
        let c = to_channels_last(&t).unwrap();
        assert!(is_channels_last(&c));
        assert!(!is_channels_last(&t));
        assert_eq!(c.size(), t.size());
        assert!(c.equal(&t));
    }
}

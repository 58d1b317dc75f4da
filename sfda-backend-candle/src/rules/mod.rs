//! The candle backend's ops on sfda's tape: each runs the forward of
//! [`crate::ops`] on the untracked candle values and records its backward
//! rule (see [`crate::tape`]).
//!
//! A rule is the fused kernel's analytic backward where the op has one
//! (convolutions, BatchNorm, pooling, resizing, softmax, activations), a
//! formula of candle ops for the element-wise and layout ops, and candle's
//! own autodiff on a recomputation for the rest (rare ops, and devices
//! without the fused kernels).

pub(crate) mod elementwise;
pub(crate) mod layout;
pub(crate) mod nn;
pub(crate) mod reduce;

use candle_core::Tensor as Value;
use sfda_core::Result;

use crate::tape::record::{record1, rule1};
use crate::tape::Tensor;

/// Records a one-input op whose input gradient is `dx(g)`.
pub(crate) fn unary(
    x: &Tensor,
    y: Value,
    dx: impl Fn(&Value) -> Result<Value> + Send + Sync + 'static,
) -> Tensor {
    record1(&[x], y, || rule1(move |g, _| Ok(vec![Some(dx(g)?)])))
}

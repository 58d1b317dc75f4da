//! sfda's own reverse-mode autodiff for the candle backend.
//!
//! Every op of [`CandleBackend`](crate::CandleBackend) computes on untracked
//! candle tensors (candle records no graph) and, when an input depends on a
//! variable, records one node here with the op's backward rule: the fused
//! CPU kernels' analytic backward where the op has one, a formula of candle
//! ops for the simple ones, and candle's own autodiff on a recomputation
//! (`record::record_through_candle`) for the rest. `backward::grad` then runs
//! the reverse pass without candle's per-node zero fill and add.

pub(crate) mod backward;
pub(crate) mod record;
mod tensor;

pub(crate) use tensor::BackwardFn;
pub use tensor::{Tensor, Var};

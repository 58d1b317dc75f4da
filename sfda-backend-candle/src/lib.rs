//! # sfda-backend-candle
//!
//! The sfda [`Backend`](sfda_core::Backend) on
//! [candle](https://github.com/huggingface/candle): [`CandleBackend`] runs
//! every op of the SFDA losses, networks and loops on candle-core tensors
//! (`f32`), on the CPU or, with the `cuda` feature, on CUDA devices.
//!
//! The backend follows PyTorch (the tch backend) op for op, gradients
//! included; where candle's own op differs, the op is rebuilt from candle
//! primitives:
//!
//! - `relu`, `abs`, `leaky_relu`: PyTorch's gradient at 0;
//! - `max_dim`, `max_pool2d`: the gradient goes to the first maximum only;
//!   `max_pool2d` supports padding (with `-inf`) and overlapping windows;
//! - `upsample_nearest2d`: PyTorch's `floor(dst · in/out)` rule, any factor;
//! - `argsort`: stable, on the host;
//! - `conv2d`: works around candle's backward for stride > 1 when height and
//!   width leave different remainders.
//!
//! Gradients come from sfda's own reverse-mode tape ([`tape`]), not from
//! candle's `backward`: each op computes on untracked candle tensors and
//! records its backward rule, and the reverse pass moves each first
//! gradient in instead of zero-filling and adding, and visits only the
//! nodes that lead to a wanted variable.
//!
//! The backend registers itself under the name `candle`. Its ops go through
//! an op table ([`route`]) so that cdylib plugins run their candle ops in the
//! host's copy of candle.

#![warn(missing_docs)]

mod backend;
mod device;
mod error;
mod ops;
pub mod route;
mod rules;
pub mod tape;
mod wanted;

#[cfg(test)]
mod tests;

pub use device::{CANDLE_VERSION, ELEMWISE_THREADS_VAR};
pub use route::CandleBackend;
pub use tape::{Tensor as CandleTensor, Var as CandleVar};

sfda_core::register_backend!(CandleBackend, host_ops = route::host_ops);

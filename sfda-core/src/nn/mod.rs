//! Neural-network layers written once against [`Backend`](crate::Backend).
//!
//! The building blocks of the networks in [`crate::net`]: a [`VarStore`] with
//! hierarchical [`VarPath`]s (in the style of tch's `nn::Path`: dotted names
//! such as `backbone.layer1.0.conv1.weight` that match PyTorch `state_dict`
//! keys), [`Conv2d`], [`ConvTranspose2d`], [`BatchNorm2d`] (batch statistics
//! from primitives, PyTorch's running-statistics rule, and the per-layer
//! statistics the BNS loss of Liu et al., CVPR 2021, eq. 4 needs), [`Linear`],
//! [`Embedding`], 2×2 max pooling with unpooling masks (SegNet,
//! Badrinarayanan et al., TPAMI 2017) and the initialisers of He et al.
//! (ICCV 2015) and PyTorch.
//!
//! Layers are built by constructor functions taking a path, like candle's
//! `linear(in, out, vb.pp("fc1"))`:
//!
//! ```
//! # fn demo<B: sfda_core::Backend>(dev: &B::Device) -> sfda_core::Result<()> {
//! use sfda_core::nn::{conv2d, Conv2dConfig, VarStore};
//! let vs = VarStore::<B>::new(dev.clone(), 0);
//! let root = vs.root();
//! let conv = conv2d(&root.pp("backbone").pp("conv1"), 3, 8, 3, Conv2dConfig::default())?;
//! assert!(vs.named_vars().iter().any(|v| v.name == "backbone.conv1.weight"));
//! # let _ = conv; Ok(()) }
//! ```

mod batch_norm;
mod conv;
mod conv_transpose;
mod ctx;
mod embedding;
mod init;
mod linear;
mod pool;
mod var_store;

pub use batch_norm::{batch_norm2d, BatchNorm2d, BatchNormConfig};
pub use conv::{conv2d, Conv2d, Conv2dConfig};
pub use conv_transpose::{conv_transpose2d, ConvTranspose2d, ConvTranspose2dConfig};
pub use ctx::ForwardCtx;
pub use embedding::{embedding, Embedding};
pub use init::Init;
pub use linear::{linear, Linear};
pub use pool::{max_pool2x2_with_mask, max_unpool2x2, PoolMask};
pub use var_store::{copy_vars, VarPath, VarStore};

//! # sfda-backend-tch
//!
//! The [`Backend`](sfda_core::Backend) of sfda on libtorch, through
//! [tch](https://docs.rs/tch): CPU, and CUDA when built with the `cuda`
//! feature (which links libtorch_cuda into final binaries; without it
//! libtorch reports no CUDA device).
//!
//! Every primitive maps to one native libtorch op; softmax, log-softmax,
//! bilinear resize, adaptive average pooling, `sqr`, `sigmoid` and the mean
//! override the trait's composite defaults with libtorch kernels (same
//! results, fewer kernel launches). Gradients come from libtorch's autograd.
//! All tensors are `f32`.
//!
//! On the CPU, convolution weights are stored channels-last, so oneDNN runs
//! every convolution without reordering its input and output, and the
//! activations stay channels-last between layers ([`layout`];
//! `SFDA_TCH_CHANNELS_LAST=0` switches it off). Shapes are the same either
//! way, values to rounding.
//!
//! The crate registers itself in sfda's backend registry under the name
//! `tch`; a binary only needs to link it (`use sfda_backend_tch as _;`).
//!
//! Its build script adds an rpath to `$LIBTORCH/lib`, so test executables
//! find libtorch without `LD_LIBRARY_PATH`.
//!
//! ```
//! use sfda_backend_tch::TchBackend;
//! use sfda_core::{Backend, DeviceSpec, Tensor};
//! let dev = TchBackend::device(DeviceSpec::Cpu)?;
//! let p = Tensor::<TchBackend>::from_f32(&[0.0, 0.0], &[1, 2], &dev)?.softmax(1)?;
//! assert_eq!(p.to_vec()?, vec![0.5, 0.5]);
//! # Ok::<(), sfda_core::Error>(())
//! ```

#![warn(missing_docs)]

mod autodiff;
mod backend;
mod device;
mod error;
mod handle;
pub mod layout;

pub use handle::{TchTensor, TchVar};
/// The tch crate this backend is built on (for interop with tch code).
pub use tch;

/// The name of this backend on the command line and in errors.
pub(crate) const BACKEND_NAME: &str = "tch";

/// The libtorch backend (CPU and CUDA), registered as `tch`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TchBackend;

sfda_core::register_backend!(TchBackend);

//! The backend-neutral tensor abstraction: the [`Backend`] trait, the typed
//! [`Tensor`] and [`Var`] handles and gradient computation.

pub mod backend;
pub mod interp;
#[allow(clippy::module_inception)]
pub mod tensor;
pub mod var;

pub use backend::{Backend, CmpOp, Conv2dOpts, ConvTranspose2dOpts};
pub use tensor::Tensor;
pub use var::{grad, Var};

/// Runs `f` on backend `B` without recording autodiff history (see
/// [`Backend::no_grad`]): for forward passes whose outputs are only used
/// detached.
///
/// ```
/// # fn demo<B: sfda_core::Backend>(x: &sfda_core::Tensor<B>) -> sfda_core::Result<()> {
/// let doubled = sfda_core::tensor::no_grad::<B, _>(|| x.scale(2.0))?;
/// # let _ = doubled; Ok(()) }
/// ```
pub fn no_grad<B: Backend, R>(f: impl FnOnce() -> R) -> R {
    B::no_grad(f)
}

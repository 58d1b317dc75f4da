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

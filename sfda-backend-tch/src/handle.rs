//! The tensor and variable handles of the tch backend.

use std::fmt;

/// A tensor of the tch backend: an `f32` [`tch::Tensor`].
///
/// Cloning is cheap: it makes a new handle on the same storage and autodiff
/// node (`shallow_clone`). The handle is `Send` but, like `tch::Tensor`, not
/// `Sync`.
///
/// ```
/// use sfda_backend_tch::TchTensor;
/// let t = TchTensor::from_tch(tch::Tensor::from_slice(&[1.0f32, 2.0]));
/// assert_eq!(t.inner().size(), vec![2]);
/// ```
pub struct TchTensor(pub(crate) tch::Tensor);

impl TchTensor {
    /// Wraps a tch tensor (it should hold `f32` values, as every op expects).
    pub fn from_tch(t: tch::Tensor) -> Self {
        TchTensor(t)
    }
    /// The underlying tch tensor.
    pub fn inner(&self) -> &tch::Tensor {
        &self.0
    }
    /// Unwraps into the underlying tch tensor.
    pub fn into_inner(self) -> tch::Tensor {
        self.0
    }
}

impl Clone for TchTensor {
    fn clone(&self) -> Self {
        TchTensor(self.0.shallow_clone())
    }
}

impl fmt::Debug for TchTensor {
    /// Shape, kind and device only: printing a feature map in full is never
    /// what a `{:?}` in an error message wants.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.0.defined() {
            return write!(f, "TchTensor(undefined)");
        }
        write!(
            f,
            "TchTensor({:?}, {:?}, {:?}{})",
            self.0.size(),
            self.0.f_kind().ok(),
            self.0.device(),
            if self.0.requires_grad() {
                ", requires_grad"
            } else {
                ""
            }
        )
    }
}

/// A trainable variable of the tch backend: a leaf tensor with
/// `requires_grad = true`, updated in place (without autodiff) by
/// `Backend::var_set`. Clones share the same leaf.
///
/// ```
/// use sfda_backend_tch::TchBackend;
/// use sfda_core::{Tensor, Var};
/// let dev = tch::Device::Cpu;
/// let v = Var::<TchBackend>::new(&Tensor::from_f32(&[1.0, 2.0], &[2], &dev)?)?;
/// assert!(v.inner().leaf().requires_grad());
/// # Ok::<(), sfda_core::Error>(())
/// ```
pub struct TchVar(pub(crate) tch::Tensor);

impl TchVar {
    /// The leaf tensor (shares storage and autodiff node with the variable).
    pub fn leaf(&self) -> &tch::Tensor {
        &self.0
    }
}

impl Clone for TchVar {
    fn clone(&self) -> Self {
        TchVar(self.0.shallow_clone())
    }
}

impl fmt::Debug for TchVar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TchVar({:?}, {:?})", self.0.size(), self.0.device())
    }
}

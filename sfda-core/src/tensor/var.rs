//! Trainable variables and gradients.

use crate::tensor::backend::Backend;
use crate::tensor::tensor::Tensor;
use crate::Result;

/// A trainable tensor of backend `B`: a leaf of the autodiff graph.
#[derive(Clone, Debug)]
pub struct Var<B: Backend> {
    inner: B::Var,
}

impl<B: Backend> Var<B> {
    /// A variable initialised with a (detached) copy of `t`.
    pub fn new(t: &Tensor<B>) -> Result<Self> {
        Ok(Var {
            inner: B::var_new(t.inner())?,
        })
    }
    /// The tracked tensor of this variable.
    pub fn tensor(&self) -> Tensor<B> {
        Tensor::wrap(B::var_tensor(&self.inner))
    }
    /// Overwrites the value (not recorded by autodiff).
    pub fn set(&self, t: &Tensor<B>) -> Result<()> {
        B::var_set(&self.inner, t.inner())
    }
    /// The backend variable.
    pub fn inner(&self) -> &B::Var {
        &self.inner
    }
    /// Shape.
    pub fn shape(&self) -> Vec<usize> {
        self.tensor().shape()
    }
}

/// Gradients of the scalar `loss` w.r.t. `vars` (`None` where `loss` does not
/// depend on a variable).
///
/// ```
/// # fn demo<B: sfda_core::Backend>(dev: &B::Device) -> sfda_core::Result<()> {
/// use sfda_core::{grad, Tensor, Var};
/// let x = Var::new(&Tensor::<B>::from_f32(&[3.0], &[1], dev)?)?;
/// let y = x.tensor().sqr()?.sum_all()?; // y = x², dy/dx = 6
/// let g = grad(&y, &[&x])?;
/// assert_eq!(g[0].as_ref().unwrap().to_vec()?, vec![6.0]);
/// # Ok(()) }
/// ```
pub fn grad<B: Backend>(loss: &Tensor<B>, vars: &[&Var<B>]) -> Result<Vec<Option<Tensor<B>>>> {
    if loss.elem_count() != 1 {
        return Err(crate::Error::shape(
            "grad",
            format!("loss must be a scalar, got shape {:?}", loss.shape()),
        ));
    }
    let inner: Vec<&B::Var> = vars.iter().map(|v| v.inner()).collect();
    Ok(B::grad(loss.inner(), &inner)?
        .into_iter()
        .map(|g| g.map(Tensor::wrap))
        .collect())
}

//! Optimizers and learning-rate schedules, written once against the backend
//! trait: SGD with (Nesterov) momentum and weight decay, Adam, and the
//! polynomial decay the paper uses for the segmentation network.

mod adam;
mod schedule;
mod sgd;

pub use adam::{Adam, AdamConfig};
pub use schedule::PolyLr;
pub use sgd::{Sgd, SgdConfig};

use crate::tensor::{Backend, Tensor, Var};
use crate::Result;

/// An optimizer over a fixed list of variables.
pub trait Optimizer<B: Backend> {
    /// Applies one update given the gradients (same order as the variables;
    /// `None` leaves a variable untouched).
    fn step(&mut self, grads: &[Option<Tensor<B>>]) -> Result<()>;
    /// Current learning rate.
    fn lr(&self) -> f64;
    /// Sets the learning rate (for schedules).
    fn set_lr(&mut self, lr: f64);
    /// The variables this optimizer updates.
    fn vars(&self) -> &[Var<B>];
    /// Optimizer state tensors (momentum buffers etc.) for checkpoints, by name.
    fn state(&self) -> Result<Vec<(String, Tensor<B>)>>;
    /// Restores state written by [`Optimizer::state`].
    fn load_state(&mut self, state: &[(String, Tensor<B>)]) -> Result<()>;
}

/// Computes gradients of `loss` for the optimizer's variables and steps.
pub fn minimize<B: Backend, O: Optimizer<B> + ?Sized>(opt: &mut O, loss: &Tensor<B>) -> Result<()> {
    let vars: Vec<&Var<B>> = opt.vars().iter().collect();
    let grads = crate::tensor::grad(loss, &vars)?;
    opt.step(&grads)
}

fn check_grad_count<B: Backend>(vars: usize, grads: &[Option<Tensor<B>>]) -> Result<()> {
    if vars != grads.len() {
        return Err(crate::Error::shape(
            "optimizer step",
            format!("{} gradients for {} variables", grads.len(), vars),
        ));
    }
    Ok(())
}

fn find_state<'a, B: Backend>(
    state: &'a [(String, Tensor<B>)],
    name: &str,
) -> Option<&'a Tensor<B>> {
    state.iter().find(|(n, _)| n == name).map(|(_, t)| t)
}

//! [`Linear`]: `y = x·Wᵀ + b` with PyTorch's layout `W [out, in]`.

use crate::nn::init::Init;
use crate::nn::var_store::VarPath;
use crate::tensor::{Backend, Tensor, Var};
use crate::{Error, Result};

/// A fully connected layer.
#[derive(Debug, Clone)]
pub struct Linear<B: Backend> {
    /// Weight `[out, in]`.
    pub weight: Var<B>,
    /// Bias `[out]`.
    pub bias: Option<Var<B>>,
}

/// A linear layer `in_dim → out_dim` at `path` (PyTorch's default init).
pub fn linear<B: Backend>(
    path: &VarPath<B>,
    in_dim: usize,
    out_dim: usize,
    bias: bool,
) -> Result<Linear<B>> {
    let weight = path.var("weight", &[out_dim, in_dim], Init::TorchDefault)?;
    let bias = if bias {
        Some(path.var(
            "bias",
            &[out_dim],
            Init::TorchDefaultBias { fan_in: in_dim },
        )?)
    } else {
        None
    };
    Ok(Linear { weight, bias })
}

impl<B: Backend> Linear<B> {
    /// `x [N, in] → [N, out]`.
    pub fn forward(&self, x: &Tensor<B>) -> Result<Tensor<B>> {
        let w = self.weight.tensor();
        if x.rank() != 2 || x.shape()[1] != w.shape()[1] {
            return Err(Error::shape(
                "linear",
                format!("input {:?} for weight {:?}", x.shape(), w.shape()),
            ));
        }
        let y = x.matmul(&w.transpose(0, 1)?)?;
        match &self.bias {
            Some(b) => y.add(&b.tensor()),
            None => Ok(y),
        }
    }
}

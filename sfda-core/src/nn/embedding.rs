//! [`Embedding`]: a lookup table `[num, dim]` (PyTorch's `nn.Embedding`,
//! `N(0, 1)` init), used to condition the patch discriminator on the patch
//! position k (Liu et al., CVPR 2021, eq. 15).

use crate::nn::init::Init;
use crate::nn::var_store::VarPath;
use crate::tensor::{Backend, Tensor, Var};
use crate::{Error, Result};

/// An embedding table.
#[derive(Debug, Clone)]
pub struct Embedding<B: Backend> {
    /// Table `[num, dim]`.
    pub weight: Var<B>,
}

/// A table of `num` embeddings of size `dim` at `path`.
pub fn embedding<B: Backend>(path: &VarPath<B>, num: usize, dim: usize) -> Result<Embedding<B>> {
    let weight = path.var(
        "weight",
        &[num, dim],
        Init::Normal {
            mean: 0.0,
            std: 1.0,
        },
    )?;
    Ok(Embedding { weight })
}

impl<B: Backend> Embedding<B> {
    /// Rows `indices` of the table, `[indices.len(), dim]` (differentiable
    /// w.r.t. the table).
    pub fn forward(&self, indices: &[usize]) -> Result<Tensor<B>> {
        let num = self.weight.shape()[0];
        if let Some(bad) = indices.iter().find(|&&i| i >= num) {
            return Err(Error::shape(
                "embedding",
                format!("index {bad} out of range for a table of {num} entries"),
            ));
        }
        self.weight.tensor().index_select(0, indices)
    }
}

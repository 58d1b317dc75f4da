//! `L_MAE`, the output-space discrepancy between the frozen teacher `S̃` and
//! the student `S` on fake samples (paper eq. 5, after DFAD, Fang et al.
//! 2020):
//!
//! ```text
//! L_MAE = E_x̃ ( (1/C) ‖S(x̃) − ỹ_s‖₁ ),   ỹ_s = S̃(x̃)                 (eq. 5)
//! ```
//!
//! Choices where the paper is silent:
//! - *Which outputs*: the paper says "prediction outputs". We compare
//!   **logits** by default ([`OutputSpace::Logits`]), as DFAD (whose
//!   adversarial scheme SFDA adopts) does: on probabilities the generator's
//!   maximisation saturates — once the two softmaxes disagree completely the
//!   gradient through the softmax vanishes. [`OutputSpace::Probabilities`]
//!   compares softmax maps (bounded in `[0, 2/C]` per pixel).
//! - *Normalisation*: `(1/C)‖·‖₁` per pixel, then the mean over pixels and
//!   images (the expectation), i.e. the mean absolute difference over all
//!   `B·C·H·W` entries — PyTorch's `F.l1_loss`, independent of resolution.

use serde::{Deserialize, Serialize};

use crate::tensor::{Backend, Tensor};
use crate::{Error, Result};

/// Which network outputs a distance compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputSpace {
    /// Raw class scores (default; DFAD's choice).
    #[default]
    Logits,
    /// Softmax probabilities over the class dim (dim 1).
    Probabilities,
}

/// `L_MAE` (eq. 5) between `student` and `teacher` outputs `[B, C, H, W]`
/// (any equal shapes with the classes on dim 1): the mean of `|s − t|`.
pub fn mae_loss<B: Backend>(
    student: &Tensor<B>,
    teacher: &Tensor<B>,
    space: OutputSpace,
) -> Result<Tensor<B>> {
    if student.shape() != teacher.shape() {
        return Err(Error::shape(
            "mae_loss",
            format!(
                "student output {:?} and teacher output {:?} differ; both networks must see the \
                 same fake batch",
                student.shape(),
                teacher.shape()
            ),
        ));
    }
    let (s, t) = match space {
        OutputSpace::Logits => (student.clone(), teacher.clone()),
        OutputSpace::Probabilities => (student.softmax(1)?, teacher.softmax(1)?),
    };
    s.sub(&t)?.abs()?.mean_all()
}

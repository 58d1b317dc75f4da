//! The finite check of every training step. A step whose loss is NaN or
//! infinite stops the run before any variable moves, with an
//! [`Error::Diverged`] naming the step, where it happened and the first term
//! of the objective that is not finite — its first source. On the very first
//! step the cause is an input (weights, images, a config value), not the
//! learning rate, and the hint says so.

use crate::{Backend, Error, Result, Tensor};

/// Where a step sits in its run, for the message.
#[derive(Debug, Clone, Copy)]
pub struct StepAt<'a> {
    /// `warm-up step 3`, `iteration 12`, …: shown as is.
    pub label: &'a str,
    /// Whether no step of this run came before (the hint blames the inputs).
    pub first: bool,
    /// The config key or option whose lowering the hint suggests.
    pub lr_key: &'a str,
}

/// Returns the scalar of `total`, or [`Error::Diverged`] if it is not
/// finite. `parts` are the weighted terms summed into `total`, in the
/// objective's order (only read when `total` is not finite).
pub fn check_step<B: Backend>(
    step: &str,
    at: StepAt<'_>,
    parts: &[(String, Tensor<B>)],
    total: &Tensor<B>,
) -> Result<f32> {
    let value = total.to_scalar()?;
    if value.is_finite() {
        return Ok(value);
    }
    let mut term = String::from("(the total only)");
    for (name, part) in parts {
        if !part.to_scalar()?.is_finite() {
            term = name.clone();
            break;
        }
    }
    Err(diverged(step, at, term, value))
}

/// [`Error::Diverged`] for a step whose loss `value` (term `term`) is not
/// finite.
pub fn diverged(step: &str, at: StepAt<'_>, term: String, value: f32) -> Error {
    let hint = if at.first {
        "it is not finite on the first step, so an input is the cause (the checkpoint's \
         weights, the images or a config value), not the learning rate"
            .to_string()
    } else {
        format!("training diverged; lower {} in the config", at.lr_key)
    };
    Error::Diverged {
        step: step.into(),
        at: at.label.into(),
        term,
        value,
        hint,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_step_blames_the_inputs_and_later_ones_the_learning_rate() {
        let first = StepAt {
            label: "warm-up step 1",
            first: true,
            lr_key: "generator_optim.lr",
        };
        let e = diverged("generator", first, "bns".into(), f32::NAN).to_string();
        assert!(e.contains("warm-up step 1") && e.contains("'bns'"), "{e}");
        assert!(
            e.contains("an input is the cause") && !e.contains("lower"),
            "{e}"
        );
        let later = StepAt {
            label: "iteration 12",
            first: false,
            ..first
        };
        let e = diverged("student", later, "mae".into(), f32::INFINITY).to_string();
        assert!(e.contains("student loss is inf at iteration 12"), "{e}");
        assert!(e.contains("lower generator_optim.lr"), "{e}");
    }
}

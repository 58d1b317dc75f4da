//! The [`DistillLoss`] trait: a named, configurable discrepancy between the
//! frozen teacher `S̃` and the student `S` that the SFDA loop evaluates in
//! the generator step (eq. 11) and the student step (eq. 12/16). The
//! built-in ones and their factory live in `loss/builtin.rs`, which depends
//! on this file (never the other way round).
//!
//! A loss returns the *discrepancy* (a non-negative scalar for the
//! built-ins); the loop applies the weights and signs of eq. 11 and 16
//! (`L_BNS − α·L_MAE − β·L_DAD^ss + τ·L_DAD^st` for the generator,
//! `α·L_MAE + β·L_DAD^ss` for the student).

use crate::model::SegOutput;
use crate::tensor::{Backend, Tensor};
use crate::{Error, Result};

/// What a distillation loss can read: the outputs of both networks on the
/// same fake batch, and optionally their outputs on a target batch.
#[derive(Debug, Clone, Copy)]
pub struct DistillInputs<'a, B: Backend> {
    /// The frozen teacher `S̃` on the fake batch `x̃` (with BN statistics
    /// when a loss [needs them](DistillLoss::needs_bn_stats)).
    pub teacher_fake: &'a SegOutput<B>,
    /// The student `S` on the same fake batch.
    pub student_fake: &'a SegOutput<B>,
    /// The student on a target batch `x_t` (needed by `L_DAD^st`, eq. 7).
    pub student_target: Option<&'a SegOutput<B>>,
    /// The frozen teacher on the same target batch, BN in eval mode (no
    /// built-in loss reads it). Filled in every step a loss that
    /// [declares it](DistillLoss::needs_teacher_target) is weighted in.
    pub teacher_target: Option<&'a SegOutput<B>>,
}

impl<'a, B: Backend> DistillInputs<'a, B> {
    /// Inputs with the fake-batch outputs only.
    pub fn new(teacher_fake: &'a SegOutput<B>, student_fake: &'a SegOutput<B>) -> Self {
        DistillInputs {
            teacher_fake,
            student_fake,
            student_target: None,
            teacher_target: None,
        }
    }
    /// Adds the student's output on a target batch.
    pub fn with_student_target(mut self, out: &'a SegOutput<B>) -> Self {
        self.student_target = Some(out);
        self
    }
    /// Adds the teacher's output on a target batch.
    pub fn with_teacher_target(mut self, out: &'a SegOutput<B>) -> Self {
        self.teacher_target = Some(out);
        self
    }
    /// The student-on-target output, or an error naming the loss that needs it.
    pub fn require_student_target(&self, loss: &str) -> Result<&'a SegOutput<B>> {
        self.student_target.ok_or_else(|| {
            Error::msg(format!(
                "distillation loss '{loss}' needs the student's output on a target batch, but \
                 DistillInputs::student_target is None"
            ))
        })
    }
    /// The teacher-on-target output, or an error naming the loss that needs it.
    pub fn require_teacher_target(&self, loss: &str) -> Result<&'a SegOutput<B>> {
        self.teacher_target.ok_or_else(|| {
            Error::msg(format!(
                "distillation loss '{loss}' needs the teacher's output on a target batch, but \
                 DistillInputs::teacher_target is None (declare it with \
                 DistillLoss::needs_teacher_target)"
            ))
        })
    }
}

/// A distillation loss between teacher and student outputs (object safe:
/// the loop holds a `Vec<Box<dyn DistillLoss<B>>>`).
///
/// ```
/// # fn demo<B: sfda_core::Backend>(t: &sfda_core::SegOutput<B>, s: &sfda_core::SegOutput<B>)
/// # -> sfda_core::Result<()> {
/// use sfda_core::loss::{builtin_distill_loss, DistillInputs};
/// let options: toml::Value = toml::from_str("space = \"logits\"").unwrap();
/// let mae = builtin_distill_loss::<B>("mae", &options)?;
/// let value = mae.compute(&DistillInputs::new(t, s))?.to_scalar()?;
/// # let _ = value; Ok(()) }
/// ```
pub trait DistillLoss<B: Backend>: Send + Sync {
    /// The loss's name as it appears in configs and logs (`mae`, `dad_ss`...).
    fn name(&self) -> &str;
    /// The loss value, a 0-dim tensor differentiable w.r.t. whatever produced
    /// the inputs.
    fn compute(&self, inputs: &DistillInputs<'_, B>) -> Result<Tensor<B>>;
    /// Whether the teacher must be run with `collect_bn_stats` on the fakes.
    fn needs_bn_stats(&self) -> bool {
        false
    }
    /// Whether [`DistillInputs::student_target`] must be present. The loop
    /// provides it in every step the loss is weighted in (the generator step
    /// reads the student's output on the last target batch, detached; the
    /// student step its live output on the current one); transfer-only
    /// configs, which have no target batch, are refused naming the loss.
    fn needs_student_target(&self) -> bool {
        false
    }
    /// Whether [`DistillInputs::teacher_target`] must be present (same rules
    /// as [`Self::needs_student_target`]).
    fn needs_teacher_target(&self) -> bool {
        false
    }
}

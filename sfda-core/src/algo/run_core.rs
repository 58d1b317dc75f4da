//! What every adaptation method shares, owned by the driver: the frozen
//! teacher (the source model), the student being adapted, the student's
//! optimizer and schedule, the data cursor and the step counters. A method
//! ([`crate::algo::AdaptMethod`]) gets it mutably in each step and moves
//! the student through [`RunCore::step_student`].

use std::path::PathBuf;

use crate::algo::config::AdaptConfig;
use crate::algo::cursor::Cursor;
use crate::algo::diagnostics::grad_norm;
use crate::checkpoint::CheckpointMeta;
use crate::diverged::{check_step, StepAt};
use crate::model::SegModel;
use crate::optim::{Optimizer, PolyLr, Sgd};
use crate::tensor::{grad, Backend, Tensor, Var};
use crate::Result;

/// Loss values of one step, by name, for logs and progress bars.
pub type StepLosses = Vec<(String, f32)>;

/// The shared state of a run.
pub struct RunCore<B: Backend> {
    /// The configuration.
    pub cfg: AdaptConfig,
    /// The frozen source model (always BN eval mode, never updated).
    pub teacher: Box<dyn SegModel<B>>,
    /// The adapted model.
    pub student: Box<dyn SegModel<B>>,
    /// The source checkpoint's metadata (normalisation, class set...).
    pub source_meta: CheckpointMeta,
    /// The source checkpoint.
    pub source: PathBuf,
    /// Student optimizer (SGD, Nesterov) over the variables the method
    /// moves ([`crate::algo::AdaptMethod::student_vars`]).
    pub student_opt: Sgd<B>,
    /// Polynomial decay of the student's learning rate.
    pub student_lr: PolyLr,
    /// Position in the target data.
    pub cursor: Cursor,
    /// Student steps done.
    pub iteration: usize,
    /// Warm-up steps done (methods with a warm-up; SFDA's generator).
    pub warmup_done: usize,
    /// Warm-up steps the method runs before its first iteration.
    pub warmup_steps: usize,
    /// Device.
    pub device: B::Device,
}

impl<B: Backend> RunCore<B> {
    /// Where the next step sits, for error messages: `warm-up step N` while
    /// the warm-up runs (no student step yet), `iteration N` after.
    pub fn step_label(&self) -> String {
        if self.iteration == 0 && self.warmup_done < self.warmup_steps {
            format!("warm-up step {}", self.warmup_done + 1)
        } else {
            format!("iteration {}", self.iteration + 1)
        }
    }

    /// [`StepAt`] of the next step, with `label` from [`Self::step_label`].
    pub fn step_at<'a>(&self, label: &'a str, lr_key: &'a str) -> StepAt<'a> {
        StepAt {
            label,
            first: self.iteration == 0 && self.warmup_done == 0,
            lr_key,
        }
    }

    /// The finite check of a step ([`check_step`]): its total's scalar, or
    /// an error naming the first non-finite term and the step.
    pub fn check(
        &self,
        step: &str,
        lr_key: &str,
        parts: &[(String, Tensor<B>)],
        total: &Tensor<B>,
    ) -> Result<f32> {
        let label = self.step_label();
        check_step(step, self.step_at(&label, lr_key), parts, total)
    }

    /// Whether this step records the diagnostics of
    /// [`AdaptConfig::diagnostics_every`] (counted over warm-up and student
    /// steps together).
    pub fn diagnose_now(&self) -> bool {
        let every = self.cfg.diagnostics_every;
        every > 0 && (self.warmup_done + self.iteration) % every == 0
    }

    /// The variables the student optimizer moves.
    pub fn student_vars(&self) -> Vec<Var<B>> {
        self.student_opt.vars().to_vec()
    }

    /// One student step on `total` (the sum of `parts`): the finite check
    /// (an error names the first non-finite part), on diagnostic steps the
    /// gradient norm of each part (`gn_<part>` in `values`), then SGD at the
    /// scheduled learning rate. Returns the total's value.
    pub fn step_student(
        &mut self,
        parts: &[(String, Tensor<B>)],
        total: &Tensor<B>,
        values: &mut StepLosses,
    ) -> Result<f32> {
        let v = self.check("student", "student_optim.lr", parts, total)?;
        let vars = self.student_vars();
        if self.diagnose_now() {
            for (name, part) in parts {
                values.push((format!("gn_{name}"), grad_norm(part, &vars)?));
            }
        }
        self.student_opt.set_lr(self.student_lr.lr(self.iteration));
        let refs: Vec<&Var<B>> = vars.iter().collect();
        let grads = grad(total, &refs)?;
        self.student_opt.step(&grads)?;
        Ok(v)
    }
}

//! The weighted distillation terms of one run: which built-in losses are on
//! (from α, β, τ and the ablation switches) plus extra losses selected by
//! name (`[[extra_losses]]`: built-ins, statically registered or plugin
//! losses, all found through [`crate::registry::make_loss`]), each with its
//! weight in the generator objective (eq. 11) and in the student objective
//! (eq. 16).

use crate::algo::config::AdaptConfig;
use crate::loss::{DistillInputs, DistillLoss};
use crate::registry::{loss_names, make_loss};
use crate::tensor::{Backend, Tensor};
use crate::{Error, Result};

/// One distillation term and its two weights.
pub struct WeightedLoss<B: Backend> {
    /// The loss.
    pub loss: Box<dyn DistillLoss<B>>,
    /// Weight in the generator objective (negative: G maximises the term).
    pub generator_weight: f64,
    /// Weight in the student objective.
    pub student_weight: f64,
}

/// Resolves a loss name that no registry entry provides (a hook for library
/// users with losses of their own that they do not register); `None` in the
/// CLI, which finds every loss through the registry.
pub type LossResolver<'a, B> =
    Option<&'a dyn Fn(&str, &toml::Value) -> Result<Box<dyn DistillLoss<B>>>>;

/// The distillation terms of `cfg`:
///
/// | term | generator (eq. 11) | student (eq. 16) |
/// |---|---|---|
/// | `L_BNS` (eq. 4) | `+1` | – |
/// | `L_MAE` (eq. 5) | `−α` | `+α` |
/// | `L_DAD^ss` (eq. 6) | `−β` | `+β` |
/// | `L_DAD^st` (eq. 7) | `+τ` | – (not in transfer-only mode) |
pub fn distill_terms<B: Backend>(
    cfg: &AdaptConfig,
    resolve: LossResolver<'_, B>,
) -> Result<Vec<WeightedLoss<B>>> {
    let w = &cfg.weights;
    let a = &cfg.ablation;
    let mut out = Vec::new();
    let mut push = |name: &str, g: f64, s: f64| -> Result<()> {
        if g != 0.0 || s != 0.0 {
            out.push(WeightedLoss {
                loss: make_loss::<B>(&format!("losses.{name}"), name, &cfg.loss_options(name))?,
                generator_weight: g,
                student_weight: s,
            });
        }
        Ok(())
    };
    if a.bns {
        push("bns", w.bns, 0.0)?;
    }
    push("mae", -w.alpha, w.alpha)?;
    if a.dad {
        push("dad_ss", -w.beta, w.beta)?;
        if !a.transfer_only {
            push("dad_st", w.tau, 0.0)?;
        }
    }
    for (i, extra) in cfg.extra_losses.iter().enumerate() {
        let key = format!("extra_losses[{i}].name");
        let loss = match resolve {
            Some(r) if !loss_names().contains(&extra.name.as_str()) => {
                r(&extra.name, &extra.options)?
            }
            _ => make_loss::<B>(&key, &extra.name, &extra.options)?,
        };
        if a.transfer_only {
            let reads = match (loss.needs_student_target(), loss.needs_teacher_target()) {
                (true, true) => Some("the student's and the teacher's outputs"),
                (true, false) => Some("the student's output"),
                (false, true) => Some("the teacher's output"),
                (false, false) => None,
            };
            if let Some(what) = reads {
                return Err(Error::Config {
                    key,
                    msg: format!(
                        "loss '{}' reads {what} on target images, which transfer-only mode \
                         (ablation.transfer_only) never computes",
                        extra.name
                    ),
                });
            }
        }
        out.push(WeightedLoss {
            loss,
            generator_weight: extra.generator_weight,
            student_weight: extra.student_weight,
        });
    }
    Ok(out)
}

/// `Σ weight(term)·term` over the terms whose weight is non-zero, with each
/// term's value recorded (for logs) under its name.
pub fn weighted_sum<B: Backend>(
    terms: &[WeightedLoss<B>],
    inputs: &DistillInputs<'_, B>,
    weight: impl Fn(&WeightedLoss<B>) -> f64,
    values: &mut Vec<(String, f32)>,
) -> Result<Option<Tensor<B>>> {
    sum_terms(&weighted_terms(terms, inputs, weight, values)?)
}

/// Each term with a non-zero weight as `(name, weight·term)`, its unweighted
/// value recorded (for logs) under its name. A term whose inputs are missing
/// (a loss that needs the student's or teacher's output on a target batch,
/// without one)
/// is an error naming the loss, never a silent skip.
pub fn weighted_terms<B: Backend>(
    terms: &[WeightedLoss<B>],
    inputs: &DistillInputs<'_, B>,
    weight: impl Fn(&WeightedLoss<B>) -> f64,
    values: &mut Vec<(String, f32)>,
) -> Result<Vec<(String, Tensor<B>)>> {
    let mut out = Vec::new();
    for t in terms {
        let w = weight(t);
        if w == 0.0 {
            continue;
        }
        let missing = if t.loss.needs_student_target() && inputs.student_target.is_none() {
            Some("student")
        } else if t.loss.needs_teacher_target() && inputs.teacher_target.is_none() {
            Some("teacher")
        } else {
            None
        };
        if let Some(who) = missing {
            return Err(Error::msg(format!(
                "distillation loss '{}' needs the {who}'s output on a target batch and none \
                 was computed in this step",
                t.loss.name()
            )));
        }
        let v = t.loss.compute(inputs)?;
        values.push((t.loss.name().to_string(), v.to_scalar()?));
        out.push((t.loss.name().to_string(), v.scale(w)?));
    }
    Ok(out)
}

/// The sum of weighted parts (`None` when there are none).
pub fn sum_terms<B: Backend>(parts: &[(String, Tensor<B>)]) -> Result<Option<Tensor<B>>> {
    let mut total: Option<Tensor<B>> = None;
    for (_, v) in parts {
        total = Some(match total {
            Some(acc) => acc.add(v)?,
            None => v.clone(),
        });
    }
    Ok(total)
}

//! The source-free baselines' side of the loop (see [`crate::algo::Method`]):
//! which student variables each one updates and its objective on a target
//! batch. The step itself ([`Sfda::baseline_step`]) runs in the same loop as
//! SFDA, with the same optimizer, schedule, data order and checkpoints.
//!
//! The student sees target batches in BN train mode (batch statistics; the
//! running statistics follow the target batches), as in SFDA's student step;
//! for TENT this is its "batch statistics" rule, and since evaluation uses the
//! running statistics, the evaluated model normalises with target statistics.

use crate::algo::method::Method;
use crate::algo::sfda::{Sfda, StepLosses};
use crate::algo::Cursor;
use crate::data::DataLoader;
use crate::loss::{
    class_balanced_pseudo_labels, entropy_loss, information_maximization, maxsquare_loss,
    ClassConfidences,
};
use crate::model::{BnMode, ForwardOpts, NamedVar, SegModel};
use crate::optim::Optimizer;
use crate::tensor::{grad, Backend, Tensor, Var};
use crate::train::{batch_images, cross_entropy_ignore};
use crate::{Error, Result};

/// Names of the BatchNorm affine parameters (`X.weight`, `X.bias` of every
/// layer `X` that has a `X.running_mean` buffer).
pub fn bn_affine_names<B: Backend>(vars: &[NamedVar<B>]) -> Vec<String> {
    let layers: Vec<&str> = vars
        .iter()
        .filter_map(|v| v.name.strip_suffix(".running_mean"))
        .collect();
    vars.iter()
        .filter(|v| v.trainable)
        .filter(|v| {
            layers.iter().any(|l| {
                v.name
                    .strip_prefix(l)
                    .is_some_and(|r| r == ".weight" || r == ".bias")
            })
        })
        .map(|v| v.name.clone())
        .collect()
}

/// The student variables `method` updates: BN affine parameters for TENT,
/// everything but the classifier head for SHOT-IM, every trainable variable
/// otherwise.
pub fn student_vars<B: Backend>(
    method: Method,
    student: &dyn SegModel<B>,
) -> Result<Vec<NamedVar<B>>> {
    let vars: Vec<NamedVar<B>> = student.named_vars();
    let picked: Vec<NamedVar<B>> = match method {
        Method::Tent => {
            let names = bn_affine_names(&vars);
            if names.is_empty() {
                return Err(Error::msg(format!(
                    "TENT updates BatchNorm affine parameters, and '{}' has no BatchNorm layer",
                    student.arch()
                )));
            }
            vars.into_iter()
                .filter(|v| names.contains(&v.name))
                .collect()
        }
        Method::ShotIm => {
            let head = student.head_prefix().ok_or_else(|| {
                Error::msg(format!(
                    "SHOT-IM freezes the classifier head, and '{}' does not name it (SegModel::head_prefix)",
                    student.arch()
                ))
            })?;
            let prefix = format!("{head}.");
            vars.into_iter()
                .filter(|v| v.trainable && !v.name.starts_with(&prefix))
                .collect()
        }
        _ => vars.into_iter().filter(|v| v.trainable).collect(),
    };
    Ok(picked)
}

impl<B: Backend> Sfda<B> {
    /// One baseline step on target images `xt`: the method's objective on
    /// the student's predictions, minimised over the variables it updates.
    pub fn baseline_step(&mut self, xt: &Tensor<B>) -> Result<StepLosses> {
        let method = self.cfg.method;
        let opts = self.cfg.baseline;
        let st = self.models.student.forward(xt, ForwardOpts::TRAIN)?;
        let mut values: StepLosses = Vec::new();
        let loss = match method {
            Method::MinEnt | Method::Tent => {
                let l = entropy_loss(&st.logits, opts.entropy_normalize)?;
                values.push(("ent".into(), l.to_scalar()?));
                l
            }
            Method::MaxSquare => {
                let l = maxsquare_loss(&st.logits, &self.cfg.maxsquare)?; // eq. 2
                values.push(("tar".into(), l.to_scalar()?));
                l
            }
            Method::ShotIm => {
                let im = information_maximization(&st.logits, opts.shot_diversity)?;
                values.push(("ent".into(), im.entropy.to_scalar()?));
                values.push(("div".into(), im.diversity.to_scalar()?));
                im.loss
            }
            Method::Cbst => {
                let thresholds = self.cbst_thresholds.clone().ok_or_else(|| {
                    Error::msg("CBST step before its class thresholds were estimated")
                })?;
                let s = st.logits.shape();
                let probs = st.logits.detach()?.softmax(1)?.to_vec()?;
                let labels = class_balanced_pseudo_labels(&probs, s[0], &thresholds)?;
                let kept = labels.iter().filter(|&&l| l != crate::data::IGNORE).count();
                values.push(("kept".into(), kept as f32 / labels.len().max(1) as f32));
                let l = cross_entropy_ignore(&st.logits, &labels)?;
                values.push(("pl".into(), l.to_scalar()?));
                l
            }
            Method::SourceOnly | Method::Sfda => {
                return Err(Error::msg(format!(
                    "'{}' has no baseline step",
                    method.key()
                )))
            }
        };
        let parts = [(method.key().to_string(), loss.clone())];
        let v = self.check("student", "student_optim.lr", &parts, &loss)?;
        self.student_opt.set_lr(self.student_lr.lr(self.iteration));
        let vars: Vec<Var<B>> = self.student_opt.vars().to_vec();
        let refs: Vec<&Var<B>> = vars.iter().collect();
        let grads = grad(&loss, &refs)?;
        self.student_opt.step(&grads)?;
        values.push(("total".into(), v));
        Ok(values)
    }

    /// CBST: re-estimates the class thresholds from the current student on
    /// `baseline.cbst_threshold_batches` target batches (a fixed, seeded
    /// order per round, independent of the training order).
    pub fn estimate_cbst_thresholds(&mut self, loader: &DataLoader) -> Result<Vec<f32>> {
        let opts = self.cfg.baseline;
        let round = (self.iteration / opts.cbst_round) as u64;
        let mut cursor = Cursor {
            epoch: 1_000_000 + round,
            batch: 0,
        };
        let mut acc = ClassConfidences::new(self.models.student.num_classes());
        for _ in 0..opts.cbst_threshold_batches {
            let batch = cursor.next_batch(loader)?;
            let x = batch_images::<B>(&batch, &self.device)?;
            let out = self.models.student.forward(
                &x,
                ForwardOpts {
                    bn: BnMode::Train {
                        update_running: false,
                    },
                    collect_bn_stats: false,
                },
            )?;
            let n = out.logits.shape()[0];
            acc.add(&out.logits.detach()?.softmax(1)?.to_vec()?, n)?;
        }
        let t = acc.thresholds(opts.cbst_portion)?;
        self.cbst_thresholds = Some(t.clone());
        Ok(t)
    }
}

//! SHOT's information maximisation (Liang, Hu & Feng, "Do We Really Need to
//! Access the Source Data? Source Hypothesis Transfer for Unsupervised
//! Domain Adaptation", ICML 2020): `L_ent − λ·L_div` on the student's target
//! predictions with the classifier head frozen (the source hypothesis).

use serde::Deserialize;

use crate::algo::config::AdaptConfig;
use crate::algo::losses::LossResolver;
use crate::algo::methods::method::{
    student_objective, AdaptMethod, MethodBuild, MethodInfo, TargetBatch,
};
use crate::algo::methods::BuiltinMethod;
use crate::algo::run_core::{RunCore, StepLosses};
use crate::loss::information_maximization;
use crate::model::{ForwardOpts, NamedVar, SegModel};
use crate::tensor::Backend;
use crate::{Error, Result};

/// SHOT-IM's options (`[method]` table).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShotOptions {
    /// Weight λ of the diversity term `L_div` (SHOT: 1.0).
    pub diversity: f64,
}

impl Default for ShotOptions {
    fn default() -> Self {
        ShotOptions { diversity: 1.0 }
    }
}

/// The SHOT-IM method.
pub struct ShotIm {
    opts: ShotOptions,
}

impl ShotIm {
    fn options(cfg: &AdaptConfig) -> Result<ShotOptions> {
        let o: ShotOptions = cfg.method.parse_options()?;
        if !(o.diversity.is_finite() && o.diversity >= 0.0) {
            return Err(cfg.method.bad_option(
                "diversity",
                format!("must be a finite, non-negative number, got {}", o.diversity),
            ));
        }
        Ok(o)
    }
}

impl BuiltinMethod for ShotIm {
    const NAME: &'static str = "shot_im";
    const SUMMARY: &'static str =
        "SHOT-IM (ICML 2020): entropy minus diversity, classifier head frozen";

    fn describe(cfg: &AdaptConfig) -> Result<MethodInfo> {
        Self::options(cfg)?;
        Ok(MethodInfo::adapting("SHOT-IM", cfg))
    }

    fn build<B: Backend>(
        b: &MethodBuild<B>,
        _resolve: LossResolver<'_, B>,
    ) -> Result<Box<dyn AdaptMethod<B>>> {
        Ok(Box::new(ShotIm {
            opts: Self::options(&b.cfg)?,
        }))
    }
}

impl<B: Backend> AdaptMethod<B> for ShotIm {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn student_vars(&self, student: &dyn SegModel<B>) -> Result<Vec<NamedVar<B>>> {
        let head = student.head_prefix().ok_or_else(|| {
            Error::msg(format!(
                "SHOT-IM freezes the classifier head, and '{}' does not name it (SegModel::head_prefix)",
                student.arch()
            ))
        })?;
        let prefix = format!("{head}.");
        Ok(student
            .named_vars()
            .into_iter()
            .filter(|v| v.trainable && !v.name.starts_with(&prefix))
            .collect())
    }

    fn step(
        &mut self,
        run: &mut RunCore<B>,
        target: Option<&TargetBatch<'_, B>>,
    ) -> Result<StepLosses> {
        let t = target.ok_or_else(|| Error::msg("SHOT-IM needs target images"))?;
        let st = run.student.forward(&t.images, ForwardOpts::TRAIN)?;
        let im = information_maximization(&st.logits, self.opts.diversity)?;
        let values = vec![
            ("ent".to_string(), im.entropy.to_scalar()?),
            ("div".to_string(), im.diversity.to_scalar()?),
        ];
        student_objective(run, vec![(Self::NAME.to_string(), im.loss)], values)
    }
}

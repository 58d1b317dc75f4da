//! MaxSquare (Chen, Xue & Cai, "Domain Adaptation for Semantic Segmentation
//! with Maximum Squares Loss", ICCV 2019) alone, source-free: the student
//! minimises `L_TAR` (eq. 2 of the SFDA paper, with the config's
//! `[maxsquare]` options, shared with SFDA) on its target predictions.

use crate::algo::config::AdaptConfig;
use crate::algo::losses::LossResolver;
use crate::algo::methods::method::NoOptions;
use crate::algo::methods::method::{
    student_objective, AdaptMethod, MethodBuild, MethodInfo, TargetBatch,
};
use crate::algo::methods::BuiltinMethod;
use crate::algo::run_core::{RunCore, StepLosses};
use crate::loss::{maxsquare_loss, MaxSquareOptions};
use crate::model::ForwardOpts;
use crate::tensor::Backend;
use crate::{Error, Result};

/// The MaxSquare method.
pub struct MaxSquare {
    loss: MaxSquareOptions,
}

impl BuiltinMethod for MaxSquare {
    const NAME: &'static str = "maxsquare";
    const SUMMARY: &'static str = "MaxSquare (ICCV 2019): L_TAR (eq. 2) on target predictions";

    fn describe(cfg: &AdaptConfig) -> Result<MethodInfo> {
        cfg.method.parse_options::<NoOptions>()?;
        Ok(MethodInfo::adapting("MaxSquare", cfg))
    }

    fn build<B: Backend>(
        b: &MethodBuild<B>,
        _resolve: LossResolver<'_, B>,
    ) -> Result<Box<dyn AdaptMethod<B>>> {
        b.cfg.method.parse_options::<NoOptions>()?;
        Ok(Box::new(MaxSquare {
            loss: b.cfg.maxsquare,
        }))
    }
}

impl<B: Backend> AdaptMethod<B> for MaxSquare {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn step(
        &mut self,
        run: &mut RunCore<B>,
        target: Option<&TargetBatch<'_, B>>,
    ) -> Result<StepLosses> {
        let t = target.ok_or_else(|| Error::msg("MaxSquare needs target images"))?;
        let st = run.student.forward(&t.images, ForwardOpts::TRAIN)?;
        let l = maxsquare_loss(&st.logits, &self.loss)?; // eq. 2
        let values = vec![("tar".to_string(), l.to_scalar()?)];
        student_objective(run, vec![(Self::NAME.to_string(), l)], values)
    }
}

//! Source only: no adaptation; the source model is evaluated as is (the
//! tables' lower bound).

use crate::algo::config::AdaptConfig;
use crate::algo::losses::LossResolver;
use crate::algo::methods::method::NoOptions;
use crate::algo::methods::method::{AdaptMethod, MethodBuild, MethodInfo, TargetBatch};
use crate::algo::methods::BuiltinMethod;
use crate::algo::run_core::{RunCore, StepLosses};
use crate::model::{NamedVar, SegModel};
use crate::tensor::Backend;
use crate::{Error, Result};

/// The source-only "method".
pub struct SourceOnly;

impl BuiltinMethod for SourceOnly {
    const NAME: &'static str = "source_only";
    const SUMMARY: &'static str = "no adaptation: the source model as is";

    fn describe(cfg: &AdaptConfig) -> Result<MethodInfo> {
        cfg.method.parse_options::<NoOptions>()?;
        Ok(MethodInfo {
            student_steps: 0,
            ..MethodInfo::adapting("source only", cfg)
        })
    }

    fn build<B: Backend>(
        _b: &MethodBuild<B>,
        _resolve: LossResolver<'_, B>,
    ) -> Result<Box<dyn AdaptMethod<B>>> {
        Ok(Box::new(SourceOnly))
    }
}

impl<B: Backend> AdaptMethod<B> for SourceOnly {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn student_vars(&self, _student: &dyn SegModel<B>) -> Result<Vec<NamedVar<B>>> {
        Ok(Vec::new())
    }

    fn step(
        &mut self,
        _run: &mut RunCore<B>,
        _target: Option<&TargetBatch<'_, B>>,
    ) -> Result<StepLosses> {
        Err(Error::msg("source only runs no step"))
    }
}

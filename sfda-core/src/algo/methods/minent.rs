//! MinEnt (Vu, Jain, Bucher, Cord & Pérez, "ADVENT: Adversarial Entropy
//! Minimization for Domain Adaptation in Semantic Segmentation", CVPR 2019),
//! source-free: the student minimises the mean pixel entropy of its target
//! predictions, normalised by `log C` (`entropy_normalize`), over every
//! trainable variable.

use crate::algo::config::AdaptConfig;
use crate::algo::losses::LossResolver;
use crate::algo::methods::entropy::{entropy_step, EntropyOptions};
use crate::algo::methods::method::{AdaptMethod, MethodBuild, MethodInfo, TargetBatch};
use crate::algo::methods::BuiltinMethod;
use crate::algo::run_core::{RunCore, StepLosses};
use crate::tensor::Backend;
use crate::{Error, Result};

/// The MinEnt method.
pub struct MinEnt {
    opts: EntropyOptions,
}

impl BuiltinMethod for MinEnt {
    const NAME: &'static str = "minent";
    const SUMMARY: &'static str = "MinEnt (ADVENT, CVPR 2019): mean target pixel entropy / log C";

    fn describe(cfg: &AdaptConfig) -> Result<MethodInfo> {
        cfg.method.parse_options::<EntropyOptions>()?;
        Ok(MethodInfo::adapting("MinEnt", cfg))
    }

    fn build<B: Backend>(
        b: &MethodBuild<B>,
        _resolve: LossResolver<'_, B>,
    ) -> Result<Box<dyn AdaptMethod<B>>> {
        Ok(Box::new(MinEnt {
            opts: b.cfg.method.parse_options()?,
        }))
    }
}

impl<B: Backend> AdaptMethod<B> for MinEnt {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn step(
        &mut self,
        run: &mut RunCore<B>,
        target: Option<&TargetBatch<'_, B>>,
    ) -> Result<StepLosses> {
        let t = target.ok_or_else(|| Error::msg("MinEnt needs target images"))?;
        entropy_step(run, &t.images, self.opts, Self::NAME)
    }
}

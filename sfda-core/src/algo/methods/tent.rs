//! TENT (Wang, Shelhamer, Liu, Olshausen & Darrell, "Tent: Fully Test-Time
//! Adaptation by Entropy Minimization", ICLR 2021): the student minimises
//! the mean pixel entropy of its target predictions with BatchNorm on batch
//! statistics, moving only the BatchNorm affine parameters (γ, β).

use crate::algo::config::AdaptConfig;
use crate::algo::losses::LossResolver;
use crate::algo::methods::entropy::{entropy_step, EntropyOptions};
use crate::algo::methods::method::{AdaptMethod, MethodBuild, MethodInfo, TargetBatch};
use crate::algo::methods::BuiltinMethod;
use crate::algo::run_core::{RunCore, StepLosses};
use crate::model::{NamedVar, SegModel};
use crate::tensor::Backend;
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

/// The TENT method.
pub struct Tent {
    opts: EntropyOptions,
}

impl BuiltinMethod for Tent {
    const NAME: &'static str = "tent";
    const SUMMARY: &'static str =
        "TENT (ICLR 2021): target entropy, BN batch statistics, BN affine parameters only";

    fn describe(cfg: &AdaptConfig) -> Result<MethodInfo> {
        cfg.method.parse_options::<EntropyOptions>()?;
        Ok(MethodInfo::adapting("TENT", cfg))
    }

    fn build<B: Backend>(
        b: &MethodBuild<B>,
        _resolve: LossResolver<'_, B>,
    ) -> Result<Box<dyn AdaptMethod<B>>> {
        Ok(Box::new(Tent {
            opts: b.cfg.method.parse_options()?,
        }))
    }
}

impl<B: Backend> AdaptMethod<B> for Tent {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn student_vars(&self, student: &dyn SegModel<B>) -> Result<Vec<NamedVar<B>>> {
        let vars = student.named_vars();
        let names = bn_affine_names(&vars);
        if names.is_empty() {
            return Err(Error::msg(format!(
                "TENT updates BatchNorm affine parameters, and '{}' has no BatchNorm layer",
                student.arch()
            )));
        }
        Ok(vars
            .into_iter()
            .filter(|v| names.contains(&v.name))
            .collect())
    }

    fn step(
        &mut self,
        run: &mut RunCore<B>,
        target: Option<&TargetBatch<'_, B>>,
    ) -> Result<StepLosses> {
        let t = target.ok_or_else(|| Error::msg("TENT needs target images"))?;
        entropy_step(run, &t.images, self.opts, Self::NAME)
    }
}

//! The built-in [`DistillLoss`] implementations — `mae` (eq. 5), `dad_ss`
//! (eq. 6), `dad_st` (eq. 7), `bns` (eq. 4) — and their option structs
//! (serde, unknown keys rejected; every default is the paper's or, where the
//! paper is silent, the choice documented on the formula's own function).

use serde::{Deserialize, Serialize};

use crate::loss::attention::FeatureScale;
use crate::loss::bns::{bns_loss, BnsNorm, LayerReduction};
use crate::loss::dad::{dad_ss_loss, dad_st_loss, StPairing};
use crate::loss::distill::{DistillInputs, DistillLoss};
use crate::loss::mae::{mae_loss, OutputSpace};
use crate::tensor::{Backend, Tensor};
use crate::{Error, Result};

/// Options of [`MaeLoss`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MaeOptions {
    /// Compare logits (default) or softmax probabilities.
    pub space: OutputSpace,
}

/// `L_MAE` (eq. 5) between the student's and the teacher's logits on fakes.
#[derive(Debug, Clone, Default)]
pub struct MaeLoss {
    /// Options.
    pub options: MaeOptions,
}

impl MaeLoss {
    /// A MAE loss with `options`.
    pub fn new(options: MaeOptions) -> Self {
        MaeLoss { options }
    }
}

impl<B: Backend> DistillLoss<B> for MaeLoss {
    fn name(&self) -> &str {
        "mae"
    }
    fn compute(&self, inputs: &DistillInputs<'_, B>) -> Result<Tensor<B>> {
        mae_loss(
            &inputs.student_fake.logits,
            &inputs.teacher_fake.logits,
            self.options.space,
        )
    }
}

/// Options of [`DadSsLoss`].
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DadSsOptions {
    /// Feature scaling before the attention products.
    pub scale: FeatureScale,
    /// Adaptive-average-pool both feature maps to `[h, w]` first (default:
    /// no pooling; the two maps have the same size).
    pub pool: Option<[usize; 2]>,
}

/// `L_DAD^ss` (eq. 6) between the teacher's and the student's backbone
/// features on the same fakes.
#[derive(Debug, Clone, Default)]
pub struct DadSsLoss {
    /// Options.
    pub options: DadSsOptions,
}

impl DadSsLoss {
    /// A DAD-ss loss with `options` (checked).
    pub fn new(options: DadSsOptions) -> Result<Self> {
        options.scale.validate()?;
        check_pool(options.pool)?;
        Ok(DadSsLoss { options })
    }
}

impl<B: Backend> DistillLoss<B> for DadSsLoss {
    fn name(&self) -> &str {
        "dad_ss"
    }
    fn compute(&self, inputs: &DistillInputs<'_, B>) -> Result<Tensor<B>> {
        dad_ss_loss(
            &inputs.teacher_fake.features,
            &inputs.student_fake.features,
            self.options.scale,
            self.options.pool.map(|[h, w]| (h, w)),
        )
    }
}

/// Options of [`DadStLoss`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DadStOptions {
    /// Feature scaling before the attention products.
    pub scale: FeatureScale,
    /// Common size `[h, w]` both feature maps are adaptive-average pooled to
    /// (default `[8, 16]`: 128 positions, landscape like the 2:1 images).
    pub pool: [usize; 2],
    /// How fake and target images are paired.
    pub pairing: StPairing,
}

impl Default for DadStOptions {
    fn default() -> Self {
        DadStOptions {
            scale: FeatureScale::default(),
            pool: [8, 16],
            pairing: StPairing::default(),
        }
    }
}

/// `L_DAD^st` (eq. 7): KL between the teacher's attention on fakes and the
/// student's attention on target images.
#[derive(Debug, Clone, Default)]
pub struct DadStLoss {
    /// Options.
    pub options: DadStOptions,
}

impl DadStLoss {
    /// A DAD-st loss with `options` (checked).
    pub fn new(options: DadStOptions) -> Result<Self> {
        options.scale.validate()?;
        check_pool(Some(options.pool))?;
        Ok(DadStLoss { options })
    }
}

impl<B: Backend> DistillLoss<B> for DadStLoss {
    fn name(&self) -> &str {
        "dad_st"
    }
    fn compute(&self, inputs: &DistillInputs<'_, B>) -> Result<Tensor<B>> {
        let target = inputs.require_student_target("dad_st")?;
        let [h, w] = self.options.pool;
        dad_st_loss(
            &inputs.teacher_fake.features,
            &target.features,
            self.options.scale,
            (h, w),
            self.options.pairing,
        )
    }
    fn needs_student_target(&self) -> bool {
        true
    }
}

/// Options of [`BnsLoss`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BnsOptions {
    /// Squared (paper) or plain L2 norm.
    pub norm: BnsNorm,
    /// Sum (paper) or mean over BN layers.
    pub layers: LayerReduction,
}

/// `L_BNS` (eq. 4) on the teacher's BN statistics of the fake batch.
#[derive(Debug, Clone, Default)]
pub struct BnsLoss {
    /// Options.
    pub options: BnsOptions,
}

impl BnsLoss {
    /// A BNS loss with `options`.
    pub fn new(options: BnsOptions) -> Self {
        BnsLoss { options }
    }
}

impl<B: Backend> DistillLoss<B> for BnsLoss {
    fn name(&self) -> &str {
        "bns"
    }
    fn compute(&self, inputs: &DistillInputs<'_, B>) -> Result<Tensor<B>> {
        bns_loss(
            &inputs.teacher_fake.bn_stats,
            self.options.norm,
            self.options.layers,
        )
    }
    fn needs_bn_stats(&self) -> bool {
        true
    }
}

fn check_pool(pool: Option<[usize; 2]>) -> Result<()> {
    match pool {
        Some([h, w]) if h == 0 || w == 0 => Err(Error::Config {
            key: "pool".into(),
            msg: format!("pooling size must be positive, got [{h}, {w}]"),
        }),
        _ => Ok(()),
    }
}

/// Names accepted by [`builtin_distill_loss`].
pub const BUILTIN_DISTILL_LOSSES: &[&str] = &["bns", "dad_ss", "dad_st", "mae"];

/// Builds the built-in distillation loss `name` (one of
/// [`BUILTIN_DISTILL_LOSSES`]) from its TOML options (a table; an empty
/// table gives the paper's defaults; unknown keys are rejected by name).
pub fn builtin_distill_loss<B: Backend>(
    name: &str,
    options: &toml::Value,
) -> Result<Box<dyn DistillLoss<B>>> {
    Ok(match name {
        "mae" => Box::new(MaeLoss::new(parse_options::<MaeOptions>(name, options)?)),
        "dad_ss" => Box::new(DadSsLoss::new(parse_options::<DadSsOptions>(
            name, options,
        )?)?),
        "dad_st" => Box::new(DadStLoss::new(parse_options::<DadStOptions>(
            name, options,
        )?)?),
        "bns" => Box::new(BnsLoss::new(parse_options::<BnsOptions>(name, options)?)),
        other => {
            return Err(Error::Config {
                key: other.to_string(),
                msg: format!(
                    "unknown distillation loss '{other}'; built-in losses are: {}",
                    BUILTIN_DISTILL_LOSSES.join(", ")
                ),
            })
        }
    })
}

fn parse_options<T: serde::de::DeserializeOwned>(name: &str, options: &toml::Value) -> Result<T> {
    if !options.is_table() {
        return Err(Error::Config {
            key: name.to_string(),
            msg: format!(
                "options of loss '{name}' must be a table, got {}",
                options.type_str()
            ),
        });
    }
    options.clone().try_into::<T>().map_err(|e| Error::Config {
        key: name.to_string(),
        msg: format!("invalid options for loss '{name}': {}", e.message()),
    })
}

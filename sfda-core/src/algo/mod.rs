//! Source-free adaptation, written once against [`Backend`](crate::Backend):
//! the config ([`AdaptConfig`], with its [`MethodConfig`]), the methods
//! ([`methods`]: each an [`AdaptMethod`] in its own file, SFDA of Liu, Zhang
//! & Wang, CVPR 2021, and the source-free baselines), what every method
//! shares ([`RunCore`]) and the resumable driver with its report
//! ([`build_run`], [`run_adaptation`]).

mod config;
mod cursor;
pub mod diagnostics;
mod losses;
mod method_config;
pub mod methods;
mod pictures;
mod report;
mod run;
mod run_core;
mod state;

pub use config::{
    Ablation, AdaptConfig, ExtraLoss, FakeBn, LossWeights, NetSize, MAX_BATCH, MAX_IMAGE_SIDE,
};
pub use cursor::Cursor;
pub use losses::{
    distill_terms, sum_terms, weighted_sum, weighted_terms, LossResolver, WeightedLoss,
};
pub use method_config::{MethodConfig, SFDA_METHOD};
pub use methods::sfda::estimate::{
    self as estimate, estimate_source, EstimateInputs, EstimateMeta, EstimateSummary,
};
pub use methods::sfda::{build_sfda_run, fake_to_input, SfdaMethod};
pub use methods::{
    bn_affine_names, build_method, describe_method, AdaptMethod, MethodBuild, MethodInfo,
    StudentInit, TargetBatch, TargetViews,
};
pub use report::{AdaptReport, MethodScores};
pub use run::{build_run, build_run_with, run_adaptation, AdaptInputs, AdaptSummary, Adaptation};
pub use run_core::{RunCore, StepLosses};
pub use state::{
    load_run_state, load_tensors, save_run_state, save_tensors, save_tensors_with_metadata,
    RunState,
};

/// `name value` pairs joined for logs and reports.
pub fn run_loss_line(values: &[(String, f32)]) -> String {
    values
        .iter()
        .map(|(k, v)| format!("{k} {v:.4}"))
        .collect::<Vec<_>>()
        .join(", ")
}

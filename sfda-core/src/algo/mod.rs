//! The SFDA algorithm (Liu, Zhang & Wang, CVPR 2021, §3.2–3.3), written once
//! against [`Backend`](crate::Backend): the config ([`AdaptConfig`]), the
//! distillation terms ([`distill_terms`]), one iteration ([`Sfda`]) and the
//! resumable driver with its report ([`run_adaptation`]). The same loop runs
//! the source-free baselines ([`Method`]).

mod baselines;
mod config;
mod cursor;
pub mod diagnostics;
pub mod estimate;
mod losses;
mod method;
mod models;
mod pictures;
mod report;
mod run;
mod sfda;
mod state;

pub use baselines::{bn_affine_names, student_vars};
pub use config::{
    Ablation, AdaptConfig, ExtraLoss, FakeBn, LossWeights, NetSize, MAX_BATCH, MAX_IMAGE_SIDE,
};
pub use cursor::Cursor;
pub use estimate::{estimate_source, EstimateInputs, EstimateMeta, EstimateSummary};
pub use losses::{
    distill_terms, sum_terms, weighted_sum, weighted_terms, LossResolver, WeightedLoss,
};
pub use method::{BaselineOptions, Method};
pub use models::{fake_to_input, SfdaModels};
pub use report::{AdaptReport, MethodScores};
pub use run::{build_run, method_name, run_adaptation, AdaptInputs, AdaptSummary};
pub use sfda::{Sfda, StepLosses};
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

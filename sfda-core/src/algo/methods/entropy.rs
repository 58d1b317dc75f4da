//! What MinEnt and TENT share: the entropy objective on the student's
//! target predictions, and its option.

use serde::Deserialize;

use crate::algo::methods::method::student_objective;
use crate::algo::run_core::{RunCore, StepLosses};
use crate::loss::entropy_loss;
use crate::model::ForwardOpts;
use crate::tensor::{Backend, Tensor};
use crate::Result;

/// Options of the entropy methods (`[method]` table).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EntropyOptions {
    /// Divide the entropy by `log C` (ADVENT's normalisation).
    pub entropy_normalize: bool,
}

impl Default for EntropyOptions {
    fn default() -> Self {
        EntropyOptions {
            entropy_normalize: true,
        }
    }
}

/// One step of `min mean pixel entropy` over the student variables of
/// `run` on target images `xt`; `name` keys the objective in error
/// messages. Values: `s_ent`, `s_gn_*` on diagnostic steps, `s_total`.
pub fn entropy_step<B: Backend>(
    run: &mut RunCore<B>,
    xt: &Tensor<B>,
    opts: EntropyOptions,
    name: &str,
) -> Result<StepLosses> {
    let st = run.student.forward(xt, ForwardOpts::TRAIN)?;
    let l = entropy_loss(&st.logits, opts.entropy_normalize)?;
    let values = vec![("ent".to_string(), l.to_scalar()?)];
    student_objective(run, vec![(name.to_string(), l)], values)
}

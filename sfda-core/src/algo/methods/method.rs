//! The [`AdaptMethod`] trait: what a source-free adaptation method is to the
//! driver, and the types it is handed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::algo::config::AdaptConfig;
use crate::algo::run_core::{RunCore, StepLosses};
use crate::checkpoint::CheckpointMeta;
use crate::data::DataLoader;
use crate::model::{NamedVar, SegModel};
use crate::tensor::{Backend, Tensor};
use crate::{Error, Result};

/// The options of a method that takes none in its `[method]` table: any
/// key is an error naming it.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoOptions {}

/// What a method does with a config, known before anything is built (the
/// experiment grid plans with it; the driver reports with it).
#[derive(Debug, Clone, PartialEq)]
pub struct MethodInfo {
    /// Its name in tables and reports (`MinEnt`, `SFDA (w/o IPSM)`...).
    pub label: String,
    /// Whether it needs neither source data nor source labels while it
    /// adapts (the tables' "SF" column).
    pub source_free: bool,
    /// Warm-up steps before its first iteration (SFDA: the generator's
    /// source estimation; 0 for most methods).
    pub warmup_steps: usize,
    /// Iterations it runs (`iterations` of the config; 0 for source-only).
    pub student_steps: usize,
}

impl MethodInfo {
    /// A source-free method called `label` that runs every iteration of
    /// `cfg` and has no warm-up.
    pub fn adapting(label: impl Into<String>, cfg: &AdaptConfig) -> Self {
        MethodInfo {
            label: label.into(),
            source_free: true,
            warmup_steps: 0,
            student_steps: cfg.iterations,
        }
    }
}

/// The backend-independent description of a method for a config: parses
/// and checks the method's options (errors at `method.<key>`) and says what
/// it will do.
pub type DescribeFn = fn(&AdaptConfig) -> Result<MethodInfo>;

/// Where the student starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StudentInit {
    /// A copy of the source model (every method adapting on target data).
    Source,
    /// Random weights (SFDA's transfer-only "new model").
    Fresh,
}

/// Which views of each target batch a method reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetViews {
    /// No target data (SFDA in transfer-only mode).
    None,
    /// The batch as loaded.
    One,
    /// The batch as loaded (the weak view) and a strongly augmented copy of
    /// the same images ([`crate::data::strong_view()`]): mean-teacher
    /// self-training.
    WeakStrong,
}

/// One target batch as a method sees it.
pub struct TargetBatch<'a, B: Backend> {
    /// The images as loaded (resize, normalisation; the weak view).
    pub images: Tensor<B>,
    /// The strongly augmented view, when the method asked for it.
    pub strong: Option<Tensor<B>>,
    /// The loader the batch came from (for methods that read more batches,
    /// such as CBST's threshold estimation).
    pub loader: &'a DataLoader,
}

impl<B: Backend> TargetBatch<'_, B> {
    /// The strong view, or an error naming the method that forgot to ask
    /// for it ([`AdaptMethod::target_views`]).
    pub fn strong_view(&self, method: &str) -> Result<&Tensor<B>> {
        self.strong.as_ref().ok_or_else(|| {
            Error::msg(format!(
                "method '{method}' reads the strong view of the target batch but its \
                 target_views() is not TargetViews::WeakStrong"
            ))
        })
    }
}

/// What a method is built from (owned, so that a plugin's type-erased
/// constructor can receive it).
pub struct MethodBuild<B: Backend> {
    /// The run's config (the method's own options are in `cfg.method`).
    pub cfg: AdaptConfig,
    /// The source checkpoint (a method may load more copies of it, e.g. an
    /// EMA teacher).
    pub source: PathBuf,
    /// Its metadata.
    pub source_meta: CheckpointMeta,
    /// The device.
    pub device: B::Device,
}

/// A source-free adaptation method. The driver ([`crate::algo::run_adaptation`])
/// owns what every method shares ([`RunCore`]: teacher, student, student
/// optimizer, data cursor, step counters) and does the loop, progress,
/// evaluation, report, checkpoints and resume; a method owns everything
/// else (its networks, optimizers, caches, options) and does its steps.
///
/// Object safe: the driver holds a `Box<dyn AdaptMethod<B>>` from the
/// method registry (`register_method!` in `sfda-plugin`, or the built-in
/// list of [`crate::algo::methods`]).
pub trait AdaptMethod<B: Backend>: Send {
    /// Its registered name (`minent`).
    fn name(&self) -> &str;

    /// The student variables it moves (default: every trainable one).
    fn student_vars(&self, student: &dyn SegModel<B>) -> Result<Vec<NamedVar<B>>> {
        Ok(student
            .named_vars()
            .into_iter()
            .filter(|v| v.trainable)
            .collect())
    }

    /// Where the student starts (default: the source model).
    fn student_init(&self) -> StudentInit {
        StudentInit::Source
    }

    /// The views of each target batch it reads (default: one).
    fn target_views(&self) -> TargetViews {
        TargetViews::One
    }

    /// Called once the run is assembled, before any step or resume (SFDA
    /// puts a source estimate into its generator here).
    fn start(&mut self, _run: &mut RunCore<B>) -> Result<()> {
        Ok(())
    }

    /// One warm-up step (only called for [`MethodInfo::warmup_steps`] > 0).
    fn warmup_step(&mut self, _run: &mut RunCore<B>) -> Result<StepLosses> {
        Err(Error::msg(format!(
            "method '{}' has no warm-up",
            self.name()
        )))
    }

    /// One iteration on the next target batch (absent when
    /// [`Self::target_views`] is [`TargetViews::None`]). The driver counts
    /// the iteration afterwards. Returns the logged values (prefix them
    /// `s_` for student terms, as the built-ins do).
    fn step(
        &mut self,
        run: &mut RunCore<B>,
        target: Option<&TargetBatch<'_, B>>,
    ) -> Result<StepLosses>;

    /// Its resumable tensors, by names unique in the run state (the driver
    /// writes `student.*` and `opt_student.*`; use a prefix of your own).
    fn state(&self) -> Result<Vec<(String, Tensor<B>)>> {
        Ok(Vec::new())
    }

    /// Restores [`Self::state`] from the state file's tensors (`file` for
    /// error messages).
    fn load_state(&mut self, _tensors: &BTreeMap<String, Tensor<B>>, _file: &Path) -> Result<()> {
        Ok(())
    }

    /// Its resumable scalars (JSON), stored in the state's header.
    fn scalars(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    /// Restores [`Self::scalars`].
    fn load_scalars(&mut self, _scalars: &serde_json::Value) -> Result<()> {
        Ok(())
    }

    /// Notes for the log at the start of a run (e.g. a skipped warm-up).
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }

    /// Pictures of its own, written next to the report when the run is
    /// finished (SFDA: `fakes.png`).
    fn write_pictures(&self, _run: &RunCore<B>, _out: &Path) -> Result<()> {
        Ok(())
    }
}

/// The tensor `key` of a state, or an error naming the file.
pub fn state_tensor<'a, B: Backend>(
    tensors: &'a BTreeMap<String, Tensor<B>>,
    key: &str,
    file: &Path,
) -> Result<&'a Tensor<B>> {
    tensors.get(key).ok_or_else(|| Error::Checkpoint {
        path: file.to_path_buf(),
        msg: format!("missing tensor '{key}'"),
    })
}

/// `vars` as state tensors named `<prefix>.<var name>`.
pub fn prefixed_state<B: Backend>(
    prefix: &str,
    vars: Vec<NamedVar<B>>,
) -> Vec<(String, Tensor<B>)> {
    vars.into_iter()
        .map(|v| (format!("{prefix}.{}", v.name), v.var.tensor()))
        .collect()
}

/// Sets `vars` from the state tensors `<prefix>.<var name>`.
pub fn load_prefixed<B: Backend>(
    prefix: &str,
    vars: Vec<NamedVar<B>>,
    tensors: &BTreeMap<String, Tensor<B>>,
    file: &Path,
) -> Result<()> {
    for v in vars {
        v.var.set(state_tensor(
            tensors,
            &format!("{prefix}.{}", v.name),
            file,
        )?)?;
    }
    Ok(())
}

/// The optimizer state tensors stored under `<prefix>.`, without it.
pub fn optimizer_state<B: Backend>(
    prefix: &str,
    tensors: &BTreeMap<String, Tensor<B>>,
) -> Vec<(String, Tensor<B>)> {
    let p = format!("{prefix}.");
    tensors
        .iter()
        .filter_map(|(k, t)| k.strip_prefix(&p).map(|n| (n.to_string(), t.clone())))
        .collect()
}

/// Ends a step whose objective is the sum of `parts`: one student step
/// ([`RunCore::step_student`]), the values prefixed `s_` with `total` last.
pub fn student_objective<B: Backend>(
    run: &mut RunCore<B>,
    parts: Vec<(String, Tensor<B>)>,
    mut values: StepLosses,
) -> Result<StepLosses> {
    let total = crate::algo::losses::sum_terms(&parts)?
        .ok_or_else(|| crate::Error::msg("the student objective is empty"))?;
    let v = run.step_student(&parts, &total, &mut values)?;
    values.push(("total".into(), v));
    Ok(values
        .into_iter()
        .map(|(k, v)| (format!("s_{k}"), v))
        .collect())
}

//! Building an adaptation run from a source checkpoint and driving it to the
//! end: warm-up, iterations with a progress bar showing every loss term,
//! resumable state every `checkpoint_every` steps, evaluation before and
//! after, the adapted checkpoint, the report and the pictures.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::algo::config::AdaptConfig;
use crate::algo::cursor::Cursor;
use crate::algo::losses::LossResolver;
use crate::algo::methods::{
    build_method, describe_method, AdaptMethod, MethodBuild, MethodInfo, StudentInit, TargetBatch,
    TargetViews,
};
use crate::algo::pictures::{bns_layer_curves, loss_curves};
use crate::algo::report::{AdaptReport, MethodScores};
use crate::algo::run_core::{RunCore, StepLosses};
use crate::algo::state::{load_run_state, load_tensors, save_tensors_with_metadata, RunState};
use crate::checkpoint::{self, load_seg_model, CheckpointMeta, Provenance};
use crate::data::{strong_view, ClassSet, DataLoader};
use crate::model::{NamedVar, SegModel};
use crate::net::build_seg_model;
use crate::nn::VarStore;
use crate::optim::{Optimizer, PolyLr, Sgd};
use crate::rng::SeedRng;
use crate::run_dir::{self, WriteMode};
use crate::tensor::{Backend, Tensor};
use crate::train::{batch_images, evaluate, progress_bar, JsonLog};
use crate::{Error, Result};

/// An adaptation run: what every method shares ([`RunCore`], the driver's)
/// and the method ([`AdaptMethod`], everything else), with the method's
/// description for this config.
pub struct Adaptation<B: Backend> {
    /// Teacher, student, student optimizer, data cursor, step counters.
    pub core: RunCore<B>,
    /// The method.
    pub method: Box<dyn AdaptMethod<B>>,
    /// What the method does with this config (label, steps).
    pub info: MethodInfo,
}

impl<B: Backend> Adaptation<B> {
    /// One warm-up step of the method, counted.
    pub fn warmup_step(&mut self) -> Result<StepLosses> {
        let values = self.method.warmup_step(&mut self.core)?;
        self.core.warmup_done += 1;
        Ok(values)
    }

    /// One iteration: the next target batch (in the views the method reads;
    /// none for a method without target data), the method's step, counted.
    /// The values come with `time_data` (loading the batch) and `time_step`
    /// (the method's step) in seconds.
    pub fn iterate(&mut self, target: Option<&DataLoader>) -> Result<StepLosses> {
        let t0 = Instant::now();
        let views = self.method.target_views();
        let batch = match (views, target) {
            (TargetViews::None, _) => None,
            (_, None) => {
                return Err(Error::msg(format!(
                    "method '{}' needs target images",
                    self.method.name()
                )))
            }
            (_, Some(loader)) => {
                let epoch = self.core.cursor.epoch;
                let index = self.core.cursor.batch;
                let batch = self.core.cursor.next_batch(loader)?;
                let images = batch_images::<B>(&batch, &self.core.device)?;
                let strong = match views {
                    TargetViews::WeakStrong => {
                        let norm = loader.config().transform.normalize;
                        let mut rng = SeedRng::derive(
                            self.core.cfg.seed,
                            &format!("strong-view/{epoch}/{index}"),
                        );
                        let s = strong_view(&batch, &norm, &mut rng)?;
                        Some(batch_images::<B>(&s, &self.core.device)?)
                    }
                    _ => None,
                };
                Some(TargetBatch {
                    images,
                    strong,
                    loader,
                })
            }
        };
        B::synchronize(&self.core.device)?;
        let data_s = t0.elapsed().as_secs_f32();
        let t1 = Instant::now();
        let mut out = vec![("time_data".to_string(), data_s)];
        out.extend(self.method.step(&mut self.core, batch.as_ref())?);
        B::synchronize(&self.core.device)?;
        out.push(("time_step".into(), t1.elapsed().as_secs_f32()));
        self.core.iteration += 1;
        Ok(out)
    }
}

/// Loads the frozen teacher (the source model) of a run.
fn load_teacher<B: Backend>(
    cfg: &AdaptConfig,
    source: &Path,
    dev: &B::Device,
) -> Result<(Box<dyn SegModel<B>>, CheckpointMeta)> {
    let seed = SeedRng::derive(cfg.seed, "teacher").next_u64();
    let tvs = VarStore::<B>::new(dev.clone(), seed);
    load_seg_model::<B>(source, &tvs.root())
}

/// The shared part of a run for `method`: the student (a copy of the source
/// or a fresh network, as the method asks) and its optimizer over the
/// variables the method moves; then the method's [`AdaptMethod::start`].
fn assemble<B: Backend>(
    cfg: &AdaptConfig,
    source: &Path,
    dev: &B::Device,
    teacher: Box<dyn SegModel<B>>,
    meta: CheckpointMeta,
    method: &mut dyn AdaptMethod<B>,
    warmup_steps: usize,
) -> Result<RunCore<B>> {
    let seed = SeedRng::derive(cfg.seed, "student").next_u64();
    let svs = VarStore::<B>::new(dev.clone(), seed);
    let student = match method.student_init() {
        StudentInit::Fresh => build_seg_model::<B>(&meta.arch, meta.num_classes, &svs.root())?,
        StudentInit::Source => load_seg_model::<B>(source, &svs.root())?.0,
    };
    let vars = method
        .student_vars(student.as_ref())?
        .into_iter()
        .map(|v| v.var)
        .collect();
    let mut core = RunCore {
        cfg: cfg.clone(),
        teacher,
        student,
        source_meta: meta,
        source: source.to_path_buf(),
        student_opt: Sgd::new(vars, cfg.student_optim),
        student_lr: PolyLr {
            base: cfg.student_optim.lr,
            max_iter: cfg.iterations,
            power: cfg.poly_power,
        },
        cursor: Cursor::default(),
        iteration: 0,
        warmup_done: 0,
        warmup_steps,
        device: dev.clone(),
    };
    method.start(&mut core)?;
    Ok(core)
}

/// The steps every way of building a run shares: validate, describe the
/// method, load the teacher, build the method with `make` and assemble the
/// shared part around it (`view` lends the built method as a trait object).
fn build_parts<B: Backend, T>(
    cfg: &AdaptConfig,
    source: &Path,
    dev: &B::Device,
    make: impl FnOnce(&MethodBuild<B>) -> Result<T>,
    view: impl FnOnce(&mut T) -> &mut dyn AdaptMethod<B>,
) -> Result<(RunCore<B>, T, MethodInfo)> {
    cfg.validate()?;
    let info = describe_method(cfg)?;
    let (teacher, meta) = load_teacher::<B>(cfg, source, dev)?;
    let build = MethodBuild {
        cfg: cfg.clone(),
        source: source.to_path_buf(),
        source_meta: meta.clone(),
        device: dev.clone(),
    };
    let mut method = make(&build)?;
    let core = assemble(
        cfg,
        source,
        dev,
        teacher,
        meta,
        view(&mut method),
        info.warmup_steps,
    )?;
    Ok((core, method, info))
}

/// Builds a run from a source checkpoint: the teacher, the method of
/// `cfg.method` from the method registry (a built-in or a plugin's), the
/// student it starts from and the student optimizer. `resolve` finds extra
/// distillation losses no registry entry provides (`None` in the CLI).
pub fn build_run<B: Backend>(
    cfg: &AdaptConfig,
    source: &Path,
    dev: &B::Device,
    resolve: LossResolver<'_, B>,
) -> Result<Adaptation<B>> {
    let (core, method, info) = build_parts(
        cfg,
        source,
        dev,
        |b| build_method::<B>(b, resolve),
        |m| m.as_mut(),
    )?;
    Ok(Adaptation { core, method, info })
}

/// [`build_run`] for a method of a known type: `make` builds it (SFDA's
/// source estimation uses this to reach the generator).
pub fn build_run_with<B: Backend, M: AdaptMethod<B>>(
    cfg: &AdaptConfig,
    source: &Path,
    dev: &B::Device,
    make: impl FnOnce(&MethodBuild<B>) -> Result<M>,
) -> Result<(RunCore<B>, M)> {
    let (core, method, _) = build_parts(cfg, source, dev, make, |m| m as &mut dyn AdaptMethod<B>)?;
    Ok((core, method))
}

/// Data and output of [`run_adaptation`].
pub struct AdaptInputs<'a> {
    /// The source checkpoint (for provenance).
    pub source: &'a Path,
    /// Unlabelled target images (unused in transfer-only mode).
    pub target: Option<&'a DataLoader>,
    /// Labelled evaluation set (target val; source val in transfer-only mode).
    pub val: Option<&'a DataLoader>,
    /// Class set to report on.
    pub class_set: ClassSet,
    /// Output folder.
    pub out: &'a Path,
    /// What to do with a run `out` already holds: refuse it ([`WriteMode::New`]),
    /// continue from `out/state` if there is one ([`WriteMode::Resume`]), or
    /// remove its files first ([`WriteMode::Force`]); see [`crate::run_dir`].
    pub mode: WriteMode,
    /// Draw progress bars.
    pub progress: bool,
    /// Stop after this many iterations of this invocation (to test resuming);
    /// `None` runs to the end.
    pub stop_after: Option<usize>,
    /// Evaluate the source model (the teacher) too, for the report's
    /// "before" column (an experiment grid measures it once instead).
    pub evaluate_source: bool,
}

/// What [`run_adaptation`] wrote and measured.
#[derive(Debug, Clone)]
pub struct AdaptSummary {
    /// The adapted checkpoint.
    pub checkpoint: PathBuf,
    /// The report (also written as `report.md` and `report.json`).
    pub report: AdaptReport,
    /// Whether the run reached `iterations` (false after `stop_after`).
    pub finished: bool,
}

fn config_hash(cfg: &AdaptConfig) -> String {
    let text = serde_json::to_string(cfg).unwrap_or_default();
    format!("{:016x}", crate::algo::estimate::fnv1a64(text.as_bytes()))
}

fn prefixed<B: Backend>(prefix: &str, vars: Vec<NamedVar<B>>) -> Vec<(String, Tensor<B>)> {
    vars.into_iter()
        .map(|v| (format!("{prefix}.{}", v.name), v.var.tensor()))
        .collect()
}

/// Every tensor of the state: the student and its optimizer (the driver's),
/// then the method's own.
fn all_tensors<B: Backend>(run: &Adaptation<B>) -> Result<Vec<(String, Tensor<B>)>> {
    let mut out = prefixed("student", run.core.student.named_vars());
    for (n, t) in run.core.student_opt.state()? {
        out.push((format!("opt_student.{n}"), t));
    }
    let method = run.method.state()?;
    if let Some((name, _)) = method
        .iter()
        .find(|(n, _)| n.starts_with("student.") || n.starts_with("opt_student."))
    {
        return Err(Error::msg(format!(
            "method '{}' names a state tensor '{name}', which is the driver's; use a prefix of its own",
            run.method.name()
        )));
    }
    out.extend(method);
    Ok(out)
}

/// The resumable state of a run: every tensor, with the scalar [`RunState`]
/// as JSON in the same file's header, so one atomic rename commits both (a
/// kill can leave the old state or the new one, never a mix).
const STATE_FILE: &str = "state.safetensors";
/// Header key of the scalar state in [`STATE_FILE`].
const RUN_STATE_KEY: &str = "sfda.run_state";
/// The two files of states written before the state was one file (read for
/// resuming such runs; removed once a new state is committed).
const LEGACY_STATE: [&str; 2] = ["state.json", "tensors.safetensors"];

/// Whether `dir` holds a state to resume from.
fn has_state(dir: &Path) -> bool {
    dir.join(STATE_FILE).exists() || dir.join(LEGACY_STATE[0]).exists()
}

fn save_state<B: Backend>(
    run: &Adaptation<B>,
    dir: &Path,
    log: &[serde_json::Value],
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let state = RunState {
        iteration: run.core.iteration,
        warmup_done: run.core.warmup_done,
        cursor: run.core.cursor,
        method: run.method.scalars(),
        log: log.to_vec(),
        config_hash: config_hash(&run.core.cfg),
        cpu_threads: B::cpu_threads(),
    };
    let json = serde_json::to_string(&state)
        .map_err(|e| Error::msg(format!("serialising run state: {e}")))?;
    let header = std::collections::HashMap::from([(RUN_STATE_KEY.to_string(), json)]);
    save_tensors_with_metadata(&dir.join(STATE_FILE), &all_tensors(run)?, Some(header))?;
    for legacy in LEGACY_STATE {
        let p = dir.join(legacy);
        if p.exists() {
            std::fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
        }
    }
    Ok(())
}

/// The scalar state and the tensors of the state in `dir` (one file, or the
/// two files of older runs).
fn read_state<B: Backend>(
    dir: &Path,
    dev: &B::Device,
) -> Result<(
    RunState,
    PathBuf,
    std::collections::BTreeMap<String, Tensor<B>>,
)> {
    let file = dir.join(STATE_FILE);
    if file.exists() {
        let header = checkpoint::read_metadata(&file)?;
        let json = header.get(RUN_STATE_KEY).ok_or_else(|| Error::Checkpoint {
            path: file.clone(),
            msg: format!("has no '{RUN_STATE_KEY}' entry in its header: not an sfda run state"),
        })?;
        let state: RunState = serde_json::from_str(json).map_err(|e| Error::Checkpoint {
            path: file.clone(),
            msg: format!("corrupt run state: {e}"),
        })?;
        let tensors = load_tensors::<B>(&file, dev)?;
        return Ok((state, file, tensors));
    }
    let state = load_run_state(&dir.join(LEGACY_STATE[0]))?;
    let file = dir.join(LEGACY_STATE[1]);
    let tensors = load_tensors::<B>(&file, dev)?;
    Ok((state, file, tensors))
}

fn restore_state<B: Backend>(
    run: &mut Adaptation<B>,
    dir: &Path,
) -> Result<Vec<serde_json::Value>> {
    let (state, file, tensors) = read_state::<B>(dir, &run.core.device)?;
    if state.config_hash != config_hash(&run.core.cfg) {
        return Err(Error::Checkpoint {
            path: file,
            msg: "was written with a different config; resume with the same config, or start a new --out folder".into(),
        });
    }
    crate::algo::methods::load_prefixed("student", run.core.student.named_vars(), &tensors, &file)?;
    run.core
        .student_opt
        .load_state(&crate::algo::methods::optimizer_state(
            "opt_student",
            &tensors,
        ))?;
    run.method.load_state(&tensors, &file)?;
    run.method
        .load_scalars(&state.method)
        .map_err(|e| Error::Checkpoint {
            path: file.clone(),
            msg: e.to_string(),
        })?;
    run.core.iteration = state.iteration;
    run.core.warmup_done = state.warmup_done;
    run.core.cursor = state.cursor;
    if let Some(n) = state.cpu_threads {
        crate::cpu_threads::resume_with::<B>(n);
    }
    Ok(state.log)
}

/// Writes the state after a stop request and says how to continue (or, if
/// the state cannot be written, says that too).
fn interrupted<B: Backend>(
    run: &Adaptation<B>,
    state_dir: &Path,
    log: &[serde_json::Value],
    what: String,
) -> Error {
    let resume = match save_state(run, state_dir, log) {
        Ok(()) => format!(
            "the state is saved in {}; continue with the same command and --resume",
            state_dir.display()
        ),
        Err(e) => format!("the state could not be saved ({e}); the last checkpoint stays"),
    };
    Error::Interrupted { what, resume }
}

fn prefix_values(prefix: &str, values: StepLosses) -> StepLosses {
    values
        .into_iter()
        .map(|(k, v)| (format!("{prefix}{k}"), v))
        .collect()
}

/// The `train_log.json` record of one step (every value but the per-layer
/// `L_BNS` parts) and, on diagnostic steps, the `bns_layers.json` record
/// (`{"step", "layers": {name: {"mean", "var"}}}`).
pub(crate) fn log_record(
    step: i64,
    values: &[(String, f32)],
) -> (serde_json::Value, Option<serde_json::Value>) {
    let mut rec = serde_json::json!({ "step": step });
    let mut layers = serde_json::Map::new();
    for (k, v) in values {
        match k.split_once("bns/") {
            Some((_, rest)) => {
                if let Some((name, part)) = rest.rsplit_once('/') {
                    let e = layers
                        .entry(name.to_string())
                        .or_insert_with(|| serde_json::json!({}));
                    e[part] = serde_json::json!(v);
                }
            }
            None => rec[k] = serde_json::json!(v),
        }
    }
    let layers =
        (!layers.is_empty()).then(|| serde_json::json!({ "step": step, "layers": layers }));
    (rec, layers)
}

/// The records of a JSON-array log (empty when it is missing or unreadable).
pub(crate) fn read_records(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<Vec<serde_json::Value>>(&t).ok())
        .unwrap_or_default()
}

fn loss_message(values: &[(String, f32)]) -> String {
    values
        .iter()
        .filter(|(k, _)| !k.starts_with("time_") && !k.contains("gn_") && !k.contains("bns/"))
        .map(|(k, v)| format!("{k} {v:.3}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `run` to `cfg.iterations` (or `stop_after`), writing into `inputs.out`:
/// `adapted.safetensors` (+ sidecar), `report.md`, `report.json`,
/// `train_log.json`, `fakes.png` (fakes with the teacher's predictions, the
/// paper's Fig. 7), `loss_curves.png`, and `state/` for `--resume`.
pub fn run_adaptation<B: Backend>(
    run: &mut Adaptation<B>,
    inputs: &AdaptInputs<'_>,
) -> Result<AdaptSummary> {
    let out = inputs.out;
    let claim = run_dir::claim(out, &run_dir::ADAPT, inputs.mode)?;
    if let Some(h) = &claim.lock.replaced_stale {
        if inputs.progress {
            eprintln!(
                "note: took over the stale lock of `sfda {}` (pid {}, no longer running)",
                h.command, h.pid
            );
        }
    }
    let resume = inputs.mode == WriteMode::Resume;
    let state_dir = out.join("state");
    // What killed writes of an earlier invocation left (their writers are gone).
    for dir in [out, state_dir.as_path()] {
        crate::atomic::remove_stale_temps(dir)?;
    }
    let mut log_records = Vec::new();
    if resume && has_state(&state_dir) {
        log_records = restore_state(run, &state_dir)?;
    }
    let mut log = JsonLog::new(&out.join("train_log.json"), log_records);
    let dev = run.core.device.clone();
    let before = match inputs.val.filter(|_| inputs.evaluate_source) {
        Some(v) => Some(
            evaluate(
                run.core.teacher.as_ref(),
                v,
                inputs.class_set,
                &dev,
                inputs.progress,
            )?
            .metrics,
        ),
        None => None,
    };
    if run.method.target_views() != TargetViews::None && inputs.target.is_none() {
        return Err(Error::Config {
            key: "target".into(),
            msg: "adaptation needs target images (or set ablation.transfer_only = true)".into(),
        });
    }
    let t0 = Instant::now();
    let (warmup, iterations) = (run.info.warmup_steps, run.info.student_steps);
    let total = (warmup + iterations) as u64;
    let bar = progress_bar(total, "adapt", inputs.progress);
    bar.set_position((run.core.warmup_done + run.core.iteration) as u64);
    let mut done_now = 0usize;
    let stop = |n: usize| inputs.stop_after.is_some_and(|s| n >= s);
    let mut last_values = Vec::new();
    let bns_path = out.join("bns_layers.json");
    let bns_records = if resume {
        read_records(&bns_path)
    } else {
        Vec::new()
    };
    let mut bns_log = JsonLog::new(&bns_path, bns_records);
    if run.core.warmup_done == 0 && run.core.iteration == 0 {
        for note in run.method.notes() {
            bar.println(&note);
            log.push(serde_json::json!({ "step": 0, "note": note }))?;
        }
    }
    while run.core.warmup_done < warmup && !stop(done_now) {
        let values = prefix_values("g_", run.warmup_step()?);
        bar.set_message(format!("warm-up {}", loss_message(&values)));
        bar.inc(1);
        crate::cpu_threads::tick::<B>();
        done_now += 1;
        // Warm-up steps are logged with steps −warmup+1 … 0.
        let step = run.core.warmup_done as i64 - warmup as i64;
        let (mut rec, layers) = log_record(step, &values);
        rec["phase"] = serde_json::json!("warmup");
        log.push(rec)?;
        if let Some(l) = layers {
            bns_log.push(l)?;
        }
        if run.core.cfg.checkpoint_every > 0
            && run.core.warmup_done % run.core.cfg.checkpoint_every == 0
        {
            save_state(run, &state_dir, log.records())?;
        }
        if crate::interrupt::requested() {
            bar.finish_and_clear();
            return Err(interrupted(
                run,
                &state_dir,
                log.records(),
                format!("warm-up step {} of {warmup}", run.core.warmup_done),
            ));
        }
    }
    while run.core.iteration < iterations && !stop(done_now) {
        let values = run.iterate(inputs.target)?;
        bar.set_message(loss_message(&values));
        bar.inc(1);
        crate::cpu_threads::tick::<B>();
        done_now += 1;
        let (mut rec, layers) = log_record(run.core.iteration as i64, &values);
        if let Some(l) = layers {
            bns_log.push(l)?;
        }
        let values: Vec<(String, f32)> = values
            .into_iter()
            .filter(|(k, _)| !k.contains("bns/"))
            .collect();
        last_values = values;
        let it = run.core.iteration;
        if run.core.cfg.eval_every > 0
            && it % run.core.cfg.eval_every == 0
            && it < run.core.cfg.iterations
        {
            if let Some(v) = inputs.val {
                let m =
                    evaluate(run.core.student.as_ref(), v, inputs.class_set, &dev, false)?.metrics;
                rec["val_miou"] = serde_json::json!(m.miou * 100.0);
                bar.println(format!("step {it}: val mIoU {:.2}", m.miou * 100.0));
            }
        }
        log.push(rec)?;
        if run.core.cfg.checkpoint_every > 0 && it % run.core.cfg.checkpoint_every == 0 {
            save_state(run, &state_dir, log.records())?;
        }
        if crate::interrupt::requested() && it < iterations {
            bar.finish_and_clear();
            return Err(interrupted(
                run,
                &state_dir,
                log.records(),
                format!("iteration {it} of {iterations}"),
            ));
        }
    }
    bar.finish_and_clear();
    let finished = run.core.iteration >= iterations && run.core.warmup_done >= warmup;
    if !finished {
        save_state(run, &state_dir, log.records())?;
    }
    let after = match (inputs.val, finished) {
        (Some(v), true) => Some(
            evaluate(
                run.core.student.as_ref(),
                v,
                inputs.class_set,
                &dev,
                inputs.progress,
            )?
            .metrics,
        ),
        _ => None,
    };
    let ckpt = out.join("adapted.safetensors");
    if finished {
        let src = &run.core.source_meta;
        let meta = CheckpointMeta {
            provenance: Provenance {
                backend: B::NAME.into(),
                device: B::device_spec(&dev).to_string(),
                command: "adapt".into(),
                data: inputs
                    .target
                    .map(|t| t.dataset().describe())
                    .unwrap_or_default(),
                seed: Some(run.core.cfg.seed),
                iterations: Some(run.core.iteration as u64),
                parent: Some(inputs.source.display().to_string()),
                ..Provenance::default()
            },
            ..src.clone()
        };
        checkpoint::save(&ckpt, run.core.student.as_ref(), &meta)?;
        run.method.write_pictures(&run.core, out)?;
        if !log.records().is_empty() {
            loss_curves(log.records(), &out.join("loss_curves.png"))?;
        }
        if !bns_log.records().is_empty() {
            bns_layer_curves(bns_log.records(), &out.join("bns_layers.png"))?;
        }
    }
    let report = AdaptReport {
        method: run.info.label.clone(),
        backend: B::NAME.into(),
        device: B::device_spec(&dev).to_string(),
        source: inputs.source.display().to_string(),
        iterations: run.core.iteration,
        seconds: t0.elapsed().as_secs_f64(),
        class_set: inputs.class_set,
        before: before.map(|m| MethodScores {
            name: "source only".into(),
            metrics: m,
        }),
        after: after.map(|m| MethodScores {
            name: run.info.label.clone(),
            metrics: m,
        }),
        final_losses: last_values
            .into_iter()
            .filter(|(k, _)| !k.starts_with("time_"))
            .collect(),
        config: run.core.cfg.clone(),
        cpu_threads: B::cpu_threads(),
    };
    if finished {
        report.write(out)?;
    }
    Ok(AdaptSummary {
        checkpoint: ckpt,
        report,
        finished,
    })
}

//! Building an adaptation run from a source checkpoint and driving it to the
//! end: warm-up, iterations with a progress bar showing every loss term,
//! resumable state every `checkpoint_every` steps, evaluation before and
//! after, the adapted checkpoint, the report and the pictures.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::algo::config::{AdaptConfig, NetSize};
use crate::algo::losses::{distill_terms, LossResolver};
use crate::algo::models::SfdaModels;
use crate::algo::pictures::{bns_layer_curves, fake_grid, loss_curves};
use crate::algo::report::{AdaptReport, MethodScores};
use crate::algo::sfda::{Sfda, StepLosses};
use crate::algo::state::{load_run_state, load_tensors, save_tensors_with_metadata, RunState};
use crate::checkpoint::{self, load_seg_model, CheckpointMeta, Provenance};
use crate::data::{ClassSet, DataLoader};
use crate::model::NamedVar;
use crate::net::{build_seg_model, DcganGenerator, DiscriminatorConfig, PatchDiscriminator};
use crate::nn::VarStore;
use crate::optim::Optimizer;
use crate::rng::SeedRng;
use crate::run_dir::{self, WriteMode};
use crate::tensor::{Backend, Tensor};
use crate::train::{evaluate, progress_bar, JsonLog};
use crate::{Error, Result};

/// Builds the four networks and the losses of a run: the teacher and the
/// student from the source checkpoint (a fresh student in transfer-only mode
/// with `fresh_student`), a new generator and discriminator.
pub fn build_run<B: Backend>(
    cfg: &AdaptConfig,
    source: &Path,
    dev: &B::Device,
    resolve: LossResolver<'_, B>,
) -> Result<Sfda<B>> {
    cfg.validate()?;
    let seed = |label: &str| SeedRng::derive(cfg.seed, label).next_u64();
    let tvs = VarStore::<B>::new(dev.clone(), seed("teacher"));
    let (teacher, meta) = load_seg_model::<B>(source, &tvs.root())?;
    let svs = VarStore::<B>::new(dev.clone(), seed("student"));
    let student = if cfg.ablation.transfer_only && cfg.ablation.fresh_student {
        build_seg_model::<B>(&meta.arch, meta.num_classes, &svs.root())?
    } else {
        load_seg_model::<B>(source, &svs.root())?.0
    };
    let gcfg = crate::algo::estimate::generator_config(cfg);
    let gvs = VarStore::<B>::new(dev.clone(), seed("generator"));
    let generator = Box::new(DcganGenerator::new(&gvs.root(), &gcfg)?);
    let discriminator: Option<Box<dyn crate::model::Discriminator<B>>> =
        if cfg.ablation.ipsm && !cfg.ablation.transfer_only {
            let dcfg = match cfg.net_size {
                NetSize::Paper => DiscriminatorConfig::paper(meta.num_classes, cfg.k),
                NetSize::Mini => DiscriminatorConfig::mini(meta.num_classes, cfg.k),
            };
            let dvs = VarStore::<B>::new(dev.clone(), seed("discriminator"));
            Some(Box::new(PatchDiscriminator::new(&dvs.root(), &dcfg)?))
        } else {
            None
        };
    let terms = distill_terms::<B>(cfg, resolve)?;
    let models = SfdaModels {
        teacher,
        student,
        generator,
        discriminator,
        source_meta: meta,
    };
    let mut run = Sfda::new(
        cfg.clone(),
        models,
        terms,
        crate::registry::make_ranker::<B>(
            &cfg.ranker,
            &toml::Value::Table(cfg.ranker_options.clone()),
        )?,
        dev.clone(),
    )?;
    if let Some(p) = &cfg.source_estimate {
        crate::algo::estimate::apply_estimate(&mut run, Path::new(p), source)?;
    }
    Ok(run)
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

fn all_tensors<B: Backend>(run: &Sfda<B>) -> Result<Vec<(String, Tensor<B>)>> {
    let m = &run.models;
    let mut out = prefixed("student", m.student.named_vars());
    out.extend(prefixed("generator", m.generator.named_vars()));
    if let Some(d) = &m.discriminator {
        out.extend(prefixed("discriminator", d.named_vars()));
    }
    if let Some(t) = &run.cbst_thresholds {
        out.push((
            "cache.cbst_thresholds".into(),
            Tensor::from_f32(t, &[t.len()], &run.device)?,
        ));
    }
    if let Some((features, logits)) = run.target_cache() {
        out.push(("cache.target_features".into(), features));
        out.push(("cache.target_logits".into(), logits));
    }
    if let Some((features, logits)) = run.teacher_target_cache() {
        out.push(("cache.teacher_target_features".into(), features));
        out.push(("cache.teacher_target_logits".into(), logits));
    }
    for (n, t) in run.student_opt.state()? {
        out.push((format!("opt_student.{n}"), t));
    }
    for (n, t) in run.generator_opt.state()? {
        out.push((format!("opt_generator.{n}"), t));
    }
    if let Some(o) = &run.discriminator_opt {
        for (n, t) in o.state()? {
            out.push((format!("opt_discriminator.{n}"), t));
        }
    }
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

fn save_state<B: Backend>(run: &Sfda<B>, dir: &Path, log: &[serde_json::Value]) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let (rng_seed, rng_word_pos) = run.rng.state();
    let state = RunState {
        iteration: run.iteration,
        warmup_done: run.warmup_done,
        rng_seed,
        rng_word_pos,
        cursor: run.cursor,
        log: log.to_vec(),
        config_hash: config_hash(&run.cfg),
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

fn restore_state<B: Backend>(run: &mut Sfda<B>, dir: &Path) -> Result<Vec<serde_json::Value>> {
    let (state, file, tensors) = read_state::<B>(dir, &run.device)?;
    if state.config_hash != config_hash(&run.cfg) {
        return Err(Error::Checkpoint {
            path: file,
            msg: "was written with a different config; resume with the same config, or start a new --out folder".into(),
        });
    }
    let set = |prefix: &str, vars: Vec<NamedVar<B>>| -> Result<()> {
        for v in vars {
            let key = format!("{prefix}.{}", v.name);
            let t = tensors.get(&key).ok_or_else(|| Error::Checkpoint {
                path: file.clone(),
                msg: format!("missing tensor '{key}'"),
            })?;
            v.var.set(t)?;
        }
        Ok(())
    };
    set("student", run.models.student.named_vars())?;
    set("generator", run.models.generator.named_vars())?;
    if let Some(d) = &run.models.discriminator {
        set("discriminator", d.named_vars())?;
    }
    let opt_state = |prefix: &str| -> Vec<(String, Tensor<B>)> {
        tensors
            .iter()
            .filter_map(|(k, t)| {
                k.strip_prefix(&format!("{prefix}."))
                    .map(|n| (n.to_string(), t.clone()))
            })
            .collect()
    };
    run.student_opt.load_state(&opt_state("opt_student"))?;
    run.generator_opt.load_state(&opt_state("opt_generator"))?;
    if let Some(o) = run.discriminator_opt.as_mut() {
        o.load_state(&opt_state("opt_discriminator"))?;
    }
    if let (Some(f), Some(l)) = (
        tensors.get("cache.target_features"),
        tensors.get("cache.target_logits"),
    ) {
        run.set_target_cache(f.clone(), l.clone());
    }
    if let (Some(f), Some(l)) = (
        tensors.get("cache.teacher_target_features"),
        tensors.get("cache.teacher_target_logits"),
    ) {
        run.set_teacher_target_cache(f.clone(), l.clone());
    }
    if let Some(t) = tensors.get("cache.cbst_thresholds") {
        run.cbst_thresholds = Some(t.to_vec()?);
    }
    run.iteration = state.iteration;
    run.warmup_done = state.warmup_done;
    run.rng = SeedRng::from_state(state.rng_seed, state.rng_word_pos);
    run.cursor = state.cursor;
    Ok(state.log)
}

/// Writes the state after a stop request and says how to continue (or, if
/// the state cannot be written, says that too).
fn interrupted<B: Backend>(
    run: &Sfda<B>,
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
    run: &mut Sfda<B>,
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
    let dev = run.device.clone();
    let before = match inputs.val.filter(|_| inputs.evaluate_source) {
        Some(v) => Some(
            evaluate(
                run.models.teacher.as_ref(),
                v,
                inputs.class_set,
                &dev,
                inputs.progress,
            )?
            .metrics,
        ),
        None => None,
    };
    if !run.cfg.ablation.transfer_only && inputs.target.is_none() {
        return Err(Error::Config {
            key: "target".into(),
            msg: "adaptation needs target images (or set ablation.transfer_only = true)".into(),
        });
    }
    let t0 = Instant::now();
    let (warmup, iterations) = (run.cfg.warmup_steps(), run.cfg.student_steps());
    let total = (warmup + iterations) as u64;
    let bar = progress_bar(total, "adapt", inputs.progress);
    bar.set_position((run.warmup_done + run.iteration) as u64);
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
    if run.cfg.method == crate::algo::Method::Sfda
        && run.cfg.generator_warmup > 0
        && warmup == 0
        && run.warmup_done == 0
        && run.iteration == 0
    {
        let note =
            "generator warm-up skipped: it estimates the source by L_BNS alone, which is off";
        bar.println(note);
        log.push(serde_json::json!({ "step": 0, "note": note }))?;
    }
    while run.warmup_done < warmup && !stop(done_now) {
        let values = prefix_values("g_", run.warmup_step()?);
        bar.set_message(format!("warm-up {}", loss_message(&values)));
        bar.inc(1);
        done_now += 1;
        // Warm-up steps are logged with steps −warmup+1 … 0.
        let step = run.warmup_done as i64 - warmup as i64;
        let (mut rec, layers) = log_record(step, &values);
        rec["phase"] = serde_json::json!("warmup");
        log.push(rec)?;
        if let Some(l) = layers {
            bns_log.push(l)?;
        }
        if run.cfg.checkpoint_every > 0 && run.warmup_done % run.cfg.checkpoint_every == 0 {
            save_state(run, &state_dir, log.records())?;
        }
        if crate::interrupt::requested() {
            bar.finish_and_clear();
            return Err(interrupted(
                run,
                &state_dir,
                log.records(),
                format!("warm-up step {} of {warmup}", run.warmup_done),
            ));
        }
    }
    while run.iteration < iterations && !stop(done_now) {
        let values = run.iterate(inputs.target)?;
        bar.set_message(loss_message(&values));
        bar.inc(1);
        done_now += 1;
        let (mut rec, layers) = log_record(run.iteration as i64, &values);
        if let Some(l) = layers {
            bns_log.push(l)?;
        }
        let values: Vec<(String, f32)> = values
            .into_iter()
            .filter(|(k, _)| !k.contains("bns/"))
            .collect();
        last_values = values;
        let it = run.iteration;
        if run.cfg.eval_every > 0 && it % run.cfg.eval_every == 0 && it < run.cfg.iterations {
            if let Some(v) = inputs.val {
                let m = evaluate(
                    run.models.student.as_ref(),
                    v,
                    inputs.class_set,
                    &dev,
                    false,
                )?
                .metrics;
                rec["val_miou"] = serde_json::json!(m.miou * 100.0);
                bar.println(format!("step {it}: val mIoU {:.2}", m.miou * 100.0));
            }
        }
        log.push(rec)?;
        if run.cfg.checkpoint_every > 0 && it % run.cfg.checkpoint_every == 0 {
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
    let finished = run.iteration >= iterations && run.warmup_done >= warmup;
    if !finished {
        save_state(run, &state_dir, log.records())?;
    }
    let after = match (inputs.val, finished) {
        (Some(v), true) => Some(
            evaluate(
                run.models.student.as_ref(),
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
        let src = &run.models.source_meta;
        let meta = CheckpointMeta {
            provenance: Provenance {
                backend: B::NAME.into(),
                device: B::device_spec(&dev).to_string(),
                command: "adapt".into(),
                data: inputs
                    .target
                    .map(|t| t.dataset().describe())
                    .unwrap_or_default(),
                seed: Some(run.cfg.seed),
                iterations: Some(run.iteration as u64),
                parent: Some(inputs.source.display().to_string()),
                ..Provenance::default()
            },
            ..src.clone()
        };
        checkpoint::save(&ckpt, run.models.student.as_ref(), &meta)?;
        if !run.cfg.method.is_baseline() {
            fake_grid(run, &out.join("fakes.png"), 6)?;
        }
        if !log.records().is_empty() {
            loss_curves(log.records(), &out.join("loss_curves.png"))?;
        }
        if !bns_log.records().is_empty() {
            bns_layer_curves(bns_log.records(), &out.join("bns_layers.png"))?;
        }
    }
    let report = AdaptReport {
        method: method_name(&run.cfg),
        backend: B::NAME.into(),
        device: B::device_spec(&dev).to_string(),
        source: inputs.source.display().to_string(),
        iterations: run.iteration,
        seconds: t0.elapsed().as_secs_f64(),
        class_set: inputs.class_set,
        before: before.map(|m| MethodScores {
            name: "source only".into(),
            metrics: m,
        }),
        after: after.map(|m| MethodScores {
            name: method_name(&run.cfg),
            metrics: m,
        }),
        final_losses: last_values
            .into_iter()
            .filter(|(k, _)| !k.starts_with("time_"))
            .collect(),
        config: run.cfg.clone(),
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

/// The method's name in tables (`SFDA`, `SFDA (w/o IPSM)`, `transfer only
/// (BNS+DAD)`, `MinEnt`, `TENT`...).
pub fn method_name(cfg: &AdaptConfig) -> String {
    if cfg.method.is_baseline() {
        return cfg.method.display().into();
    }
    let a = &cfg.ablation;
    if a.transfer_only {
        let parts: Vec<&str> = [("BNS", a.bns), ("DAD", a.dad)]
            .iter()
            .filter(|(_, on)| *on)
            .map(|(n, _)| *n)
            .collect();
        let what = if parts.is_empty() {
            "MAE".to_string()
        } else {
            parts.join("+")
        };
        return format!("transfer only ({what})");
    }
    if a.ipsm {
        "SFDA".into()
    } else {
        "SFDA (w/o IPSM)".into()
    }
}

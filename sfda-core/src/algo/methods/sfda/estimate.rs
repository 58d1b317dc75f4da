//! Source estimation as a reusable artifact (paper §3.2, the generator half
//! that depends on the source model alone): the generator `G` is trained so
//! that the frozen teacher's BatchNorm statistics on its fakes match the
//! running statistics the source data left behind (`L_BNS`, eq. 4). That is
//! exactly the generator warm-up of an adaptation run
//! ([`SfdaMethod::warmup_step`]); done once here, it is saved with its provenance
//! and reused by any number of `adapt` runs, seeds and experiment cells
//! (`source_estimate = "DIR"` in the config, or `sfda adapt
//! --source-estimate DIR`), which then skip their warm-up.
//!
//! The artifact is one file, `DIR/estimate.safetensors`: the generator's
//! tensors, its Adam moments, and in the header the [`EstimateMeta`]
//! (source checkpoint hash, generator shape, steps, final `L_BNS`, the RNG
//! position and log for `--resume`). One atomic rename commits all of it.
//! Pictures and logs beside it (`fakes.png`, `train_log.json`,
//! `bns_layers.json|png`, `report.md`) are for people.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::algo::config::{AdaptConfig, NetSize};
use crate::algo::diagnostics::{bns_layers, bns_total};
use crate::algo::method_config::MethodConfig;
use crate::algo::methods::sfda::{build_sfda, fake_grid, SfdaMethod};
use crate::algo::pictures::{bns_layer_curves, loss_curves};
use crate::algo::run::{build_run_with, log_record, read_records};
use crate::algo::run_core::RunCore;
use crate::algo::state::{load_tensors, save_tensors_with_metadata};
use crate::data::{write_atomic, DataLoader};
use crate::model::{BnMode, ForwardOpts};
use crate::net::GeneratorConfig;
use crate::optim::Optimizer;
use crate::rng::SeedRng;
use crate::tensor::{Backend, Tensor};
use crate::train::{batch_images, progress_bar, JsonLog};
use crate::{Error, Result};

/// `format` of an [`EstimateMeta`].
pub const ESTIMATE_FORMAT: &str = "sfda-source-estimate";
/// The artifact's file name inside its folder.
pub const ESTIMATE_FILE: &str = "estimate.safetensors";
const META_KEY: &str = "sfda_source_estimate";

/// What a source estimate says about itself (the header of
/// `estimate.safetensors`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EstimateMeta {
    /// Always [`ESTIMATE_FORMAT`].
    pub format: String,
    /// Format version (1).
    pub version: u32,
    /// The source checkpoint it was made from, as given.
    pub source: String,
    /// `fnv1a64:<hex>` of the source checkpoint's bytes.
    pub source_hash: String,
    /// The generator's shape.
    pub generator: GeneratorConfig,
    /// Fake batch size used.
    pub fake_batch_size: usize,
    /// Steps done (all of them when `finished`).
    pub steps: usize,
    /// Steps asked for.
    pub target_steps: usize,
    /// Whether the estimate ran to `target_steps` (an unfinished one can
    /// only be resumed, not used).
    pub finished: bool,
    /// Seed of the latents.
    pub seed: u64,
    /// `L_BNS` (eq. 4, squared norms summed over layers) of the last step.
    pub final_bns: f32,
    /// `L_BNS` of real source batches of the same size through the same
    /// teacher, when `--bns-reference` gave some (a diagnostic that reads
    /// source images; a perfect estimate would have about this value).
    pub reference_bns: Option<f32>,
    /// `L_BNS` of each real batch behind [`Self::reference_bns`] (its
    /// mean), in loader order: how far single real batches scatter around
    /// the mean, the yardstick for a single batch of fakes.
    #[serde(default)]
    pub reference_bns_batches: Vec<f32>,
    /// Latent RNG position, for resuming.
    pub rng_seed: [u8; 32],
    /// Its word position.
    pub rng_word_pos: u128,
    /// Hash of the estimation settings, to refuse resuming with others.
    pub config_hash: String,
    /// Seconds spent (over all invocations).
    pub seconds: f64,
    /// The backend's CPU thread count when it was written (a resume goes
    /// on with it; see [`crate::cpu_threads`]).
    #[serde(default)]
    pub cpu_threads: Option<usize>,
}

/// `fnv1a64:<hex>` of a file's bytes: identifies the source checkpoint an
/// estimate belongs to.
pub fn file_hash(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    Ok(format!("fnv1a64:{:016x}", fnv1a64(&bytes)))
}

/// The 64-bit FNV-1a hash of `bytes` (provenance and config checks, not
/// security).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// Sets the generator of `run` from the `generator.*` tensors of `file`.
fn set_generator<B: Backend>(
    sfda: &SfdaMethod<B>,
    tensors: &std::collections::BTreeMap<String, Tensor<B>>,
    file: &Path,
) -> Result<()> {
    for v in sfda.generator.named_vars() {
        let key = format!("generator.{}", v.name);
        let t = tensors.get(&key).ok_or_else(|| Error::Checkpoint {
            path: file.to_path_buf(),
            msg: format!("missing tensor '{key}'"),
        })?;
        v.var.set(t)?;
    }
    Ok(())
}

/// The generator shape `cfg` builds.
pub fn generator_config(cfg: &AdaptConfig) -> GeneratorConfig {
    let (h, w) = (cfg.fake_size[0], cfg.fake_size[1]);
    let mut g = match cfg.net_size {
        NetSize::Paper => GeneratorConfig::paper((h, w)),
        NetSize::Mini => GeneratorConfig::mini((h, w)),
    };
    g.latent_dim = cfg.latent_dim;
    g
}

/// The estimate file of `path` (a folder holding [`ESTIMATE_FILE`], or the
/// file itself).
pub fn estimate_file(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join(ESTIMATE_FILE)
    } else {
        path.to_path_buf()
    }
}

/// Reads the [`EstimateMeta`] of an estimate (folder or file).
pub fn read_estimate_meta(path: &Path) -> Result<EstimateMeta> {
    let file = estimate_file(path);
    let bad = |msg: String| Error::Checkpoint {
        path: file.clone(),
        msg,
    };
    let meta = crate::checkpoint::read_metadata(&file)?;
    let text = meta.get(META_KEY).ok_or_else(|| {
        bad("not a source estimate (no sfda_source_estimate header); make one with `sfda estimate-source`".into())
    })?;
    let m: EstimateMeta =
        serde_json::from_str(text).map_err(|e| bad(format!("unreadable estimate header: {e}")))?;
    if m.format != ESTIMATE_FORMAT || m.version != 1 {
        return Err(bad(format!(
            "format '{}' version {} is not {ESTIMATE_FORMAT} version 1",
            m.format, m.version
        )));
    }
    Ok(m)
}

/// Puts the generator of a finished estimate into `sfda` and marks the
/// warm-up of `run` done. Errors name the file and what differs: another
/// source checkpoint, another generator shape, an unfinished estimate.
pub fn apply_estimate<B: Backend>(
    sfda: &mut SfdaMethod<B>,
    run: &mut RunCore<B>,
    path: &Path,
    source: &Path,
) -> Result<()> {
    let file = estimate_file(path);
    let meta = read_estimate_meta(&file)?;
    let bad = |msg: String| Error::Checkpoint {
        path: file.clone(),
        msg,
    };
    if !meta.finished {
        return Err(bad(format!(
            "unfinished estimate ({} of {} steps); finish it with `sfda estimate-source ... --resume`",
            meta.steps, meta.target_steps
        )));
    }
    let hash = file_hash(source)?;
    if meta.source_hash != hash {
        return Err(bad(format!(
            "was estimated from another source checkpoint ({}, {}) than {} ({hash})",
            meta.source,
            meta.source_hash,
            source.display()
        )));
    }
    let want = generator_config(&sfda.cfg);
    if meta.generator != want {
        return Err(bad(format!(
            "its generator is {:?} but this config builds {:?} (fake_size, net_size, latent_dim must match)",
            meta.generator, want
        )));
    }
    let tensors = load_tensors::<B>(&file, &run.device)?;
    set_generator(sfda, &tensors, &file)?;
    run.warmup_done = run.warmup_steps;
    Ok(())
}

/// Inputs of [`estimate_source`].
pub struct EstimateInputs<'a> {
    /// The source checkpoint.
    pub source: &'a Path,
    /// Output folder.
    pub out: &'a Path,
    /// Generator steps.
    pub steps: usize,
    /// Continue an unfinished estimate in `out`.
    pub resume: bool,
    /// Replace a finished estimate in `out` (otherwise an error).
    pub overwrite: bool,
    /// Progress bar.
    pub progress: bool,
    /// Real source images at the fake size, for the reference `L_BNS`
    /// (batches of `fake_batch_size`; up to 8 batches are averaged).
    pub reference: Option<&'a DataLoader>,
}

/// What [`estimate_source`] made.
#[derive(Debug, Clone)]
pub struct EstimateSummary {
    /// The artifact.
    pub file: PathBuf,
    /// Its header.
    pub meta: EstimateMeta,
}

fn estimation_config(cfg: &AdaptConfig, steps: usize) -> AdaptConfig {
    let mut c = cfg.clone();
    c.method = MethodConfig::default();
    c.generator_warmup = steps;
    c.source_estimate = None;
    c.ablation.transfer_only = true;
    c.ablation.fresh_student = true;
    c.ablation.ipsm = false;
    c
}

fn settings_hash(cfg: &AdaptConfig) -> String {
    let key = (
        generator_config(cfg),
        cfg.fake_batch_size,
        cfg.seed,
        cfg.generator_optim,
        cfg.loss_options("bns").to_string(),
        cfg.weights.bns,
    );
    let text = serde_json::to_string(&key).unwrap_or_default();
    format!("{:016x}", fnv1a64(text.as_bytes()))
}

/// A key naming the estimate that `cfg` would make in `steps` steps from
/// the source checkpoint hashed `source_hash` ([`file_hash`]): equal keys,
/// equal estimates (the experiment runner shares one per key).
pub fn estimate_key(cfg: &AdaptConfig, steps: usize, source_hash: &str) -> String {
    let text = format!(
        "{}|{steps}|{source_hash}",
        settings_hash(&estimation_config(cfg, steps))
    );
    format!("{:016x}", fnv1a64(text.as_bytes()))
}

/// `L_BNS` (eq. 4) of up to 8 real batches through the teacher: their mean
/// and each batch's value.
fn reference_bns<B: Backend>(run: &RunCore<B>, loader: &DataLoader) -> Result<(f32, Vec<f32>)> {
    let mut sum = 0.0f64;
    let mut each = Vec::new();
    for batch in loader.epoch(0).take(8) {
        let x = batch_images::<B>(&batch?, &run.device)?;
        let t = run.teacher.forward(
            &x,
            ForwardOpts {
                bn: BnMode::Eval,
                collect_bn_stats: true,
            },
        )?;
        let v = bns_total(&bns_layers(&t.bn_stats)?);
        sum += v as f64;
        each.push(v);
    }
    if each.is_empty() {
        return Err(Error::msg(
            "--bns-reference gave no complete batch of images",
        ));
    }
    Ok(((sum / each.len() as f64) as f32, each))
}

/// Trains the generator of `cfg` on `L_BNS` alone for `steps` steps (the
/// warm-up of an adaptation, done once) and writes the artifact into
/// `inputs.out`. Resumable: a checkpoint every `cfg.checkpoint_every` steps.
pub fn estimate_source<B: Backend>(
    cfg: &AdaptConfig,
    inputs: &EstimateInputs<'_>,
    dev: &B::Device,
) -> Result<EstimateSummary> {
    if inputs.steps == 0 {
        return Err(Error::Config {
            key: "steps".into(),
            msg: "source estimation needs at least 1 generator step".into(),
        });
    }
    if !cfg.bns_on() {
        return Err(Error::Config {
            key: "ablation.bns".into(),
            msg: "source estimation trains the generator by L_BNS; it is off in this config".into(),
        });
    }
    let ecfg = estimation_config(cfg, inputs.steps);
    let out = inputs.out;
    let _lock = crate::run_dir::RunLock::acquire(out, "estimate-source")?;
    crate::atomic::remove_stale_temps(out)?;
    let file = out.join(ESTIMATE_FILE);
    let (mut run, mut sfda) =
        build_run_with::<B, _>(&ecfg, inputs.source, dev, |b| build_sfda(b, None))?;
    let source_hash = file_hash(inputs.source)?;
    let config_hash = settings_hash(&ecfg);
    let mut seconds = 0.0;
    let mut records = Vec::new();
    let mut bns_records = Vec::new();
    // A finished estimate resumed: a stop after its file was committed but
    // before its pictures and report; those are written again from it.
    let mut finished_before: Option<EstimateMeta> = None;
    if file.exists() {
        let m = read_estimate_meta(&file)?;
        if m.finished && !inputs.overwrite && !inputs.resume {
            return Err(Error::Checkpoint {
                path: file,
                msg: "holds a finished estimate; pass --overwrite to replace it, --resume to \
                      write its report again, or pick another --out"
                    .into(),
            });
        }
        if !m.finished && !inputs.resume && !inputs.overwrite {
            return Err(Error::Checkpoint {
                path: file,
                msg: "holds an unfinished estimate; continue it with --resume or replace it with --overwrite".into(),
            });
        }
        if inputs.resume && !inputs.overwrite {
            if m.config_hash != config_hash || m.source_hash != source_hash {
                return Err(Error::Checkpoint {
                    path: file,
                    msg: "was started with another source checkpoint or other settings; resume with the same ones".into(),
                });
            }
            if m.finished && m.target_steps != inputs.steps {
                return Err(Error::Checkpoint {
                    path: file,
                    msg: format!(
                        "holds a finished estimate of {} steps, not {}; pass --overwrite to \
                         replace it or pick another --out",
                        m.target_steps, inputs.steps
                    ),
                });
            }
            let tensors = load_tensors::<B>(&file, dev)?;
            set_generator(&sfda, &tensors, &file)?;
            let opt: Vec<(String, Tensor<B>)> = tensors
                .iter()
                .filter_map(|(k, t)| k.strip_prefix("opt.").map(|n| (n.to_string(), t.clone())))
                .collect();
            sfda.generator_opt.load_state(&opt)?;
            sfda.rng = SeedRng::from_state(m.rng_seed, m.rng_word_pos);
            if let Some(n) = m.cpu_threads {
                crate::cpu_threads::resume_with::<B>(n);
            }
            run.warmup_done = m.steps;
            seconds = m.seconds;
            // Only the records of the steps the estimate holds (a stop
            // may have logged steps after its last checkpoint).
            let upto = |name: &str| {
                let mut r = read_records(&out.join(name));
                r.retain(|r| {
                    r.get("step")
                        .and_then(|s| s.as_i64())
                        .is_some_and(|s| s <= m.steps as i64)
                });
                r
            };
            records = upto("train_log.json");
            bns_records = upto("bns_layers.json");
            if m.finished {
                finished_before = Some(m);
            }
        }
    }
    let mut log = JsonLog::new(&out.join("train_log.json"), records);
    let mut bns_log = JsonLog::new(&out.join("bns_layers.json"), bns_records);
    let t0 = Instant::now();
    let bar = progress_bar(inputs.steps as u64, "estimate", inputs.progress);
    bar.set_position(run.warmup_done as u64);
    let mut last_bns = finished_before.as_ref().map_or(f32::NAN, |m| m.final_bns);
    let meta = |run: &RunCore<B>,
                sfda: &SfdaMethod<B>,
                finished: bool,
                last_bns: f32,
                reference: Option<(f32, Vec<f32>)>,
                secs: f64| {
        let (rng_seed, rng_word_pos) = sfda.rng.state();
        EstimateMeta {
            format: ESTIMATE_FORMAT.into(),
            version: 1,
            source: inputs.source.display().to_string(),
            source_hash: source_hash.clone(),
            generator: generator_config(&ecfg),
            fake_batch_size: ecfg.fake_batch_size,
            steps: run.warmup_done,
            target_steps: inputs.steps,
            finished,
            seed: ecfg.seed,
            final_bns: last_bns,
            reference_bns: reference.as_ref().map(|r| r.0),
            reference_bns_batches: reference.map(|r| r.1).unwrap_or_default(),
            rng_seed,
            rng_word_pos,
            config_hash: config_hash.clone(),
            seconds: secs,
            cpu_threads: B::cpu_threads(),
        }
    };
    while run.warmup_done < inputs.steps {
        let values = sfda.warmup_step(&run)?;
        run.warmup_done += 1;
        if let Some((_, v)) = values.iter().find(|(k, _)| k == "bns_eq4") {
            last_bns = *v;
        }
        bar.set_message(format!("L_BNS {last_bns:.3}"));
        bar.inc(1);
        crate::cpu_threads::tick::<B>();
        let (rec, layers) = log_record(run.warmup_done as i64, &values);
        log.push(rec)?;
        if let Some(l) = layers {
            bns_log.push(l)?;
        }
        let every = ecfg.checkpoint_every;
        let unfinished = run.warmup_done < inputs.steps;
        let save_unfinished = |run: &RunCore<B>, sfda: &SfdaMethod<B>| {
            let m = meta(
                run,
                sfda,
                false,
                last_bns,
                None,
                seconds + t0.elapsed().as_secs_f64(),
            );
            save_estimate(sfda, &file, &m)
        };
        if every > 0 && run.warmup_done % every == 0 && unfinished {
            save_unfinished(&run, &sfda)?;
        }
        if crate::interrupt::requested() && unfinished {
            bar.finish_and_clear();
            let resume = match save_unfinished(&run, &sfda) {
                Ok(()) => format!(
                    "the estimate so far is saved in {}; continue with the same command and \
                     --resume",
                    file.display()
                ),
                Err(e) => format!("the estimate could not be saved ({e})"),
            };
            return Err(Error::Interrupted {
                what: format!("step {} of {}", run.warmup_done, inputs.steps),
                resume,
            });
        }
    }
    bar.finish_and_clear();
    let m = match finished_before {
        Some(m) => m,
        None => {
            let reference = inputs
                .reference
                .map(|l| reference_bns(&run, l))
                .transpose()?;
            let m = meta(
                &run,
                &sfda,
                true,
                last_bns,
                reference,
                seconds + t0.elapsed().as_secs_f64(),
            );
            save_estimate(&sfda, &file, &m)?;
            m
        }
    };
    fake_grid(&run, sfda.generator.as_ref(), &out.join("fakes.png"), 6)?;
    if !log.records().is_empty() {
        loss_curves(log.records(), &out.join("loss_curves.png"))?;
    }
    if !bns_log.records().is_empty() {
        bns_layer_curves(bns_log.records(), &out.join("bns_layers.png"))?;
    }
    write_atomic(&out.join("report.md"), report_text(&m).as_bytes())?;
    Ok(EstimateSummary { file, meta: m })
}

fn save_estimate<B: Backend>(sfda: &SfdaMethod<B>, file: &Path, meta: &EstimateMeta) -> Result<()> {
    let mut tensors: Vec<(String, Tensor<B>)> = sfda
        .generator
        .named_vars()
        .into_iter()
        .map(|v| (format!("generator.{}", v.name), v.var.tensor()))
        .collect();
    for (n, t) in sfda.generator_opt.state()? {
        tensors.push((format!("opt.{n}"), t));
    }
    let text = serde_json::to_string(meta).map_err(|e| Error::msg(e.to_string()))?;
    let header: HashMap<String, String> = [(META_KEY.to_string(), text)].into_iter().collect();
    save_tensors_with_metadata(file, &tensors, Some(header))
}

/// The human-readable summary of an estimate (`report.md`).
pub fn report_text(m: &EstimateMeta) -> String {
    let reference = match m.reference_bns {
        Some(r) => {
            let (lo, hi) = m
                .reference_bns_batches
                .iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
                    (a.min(v), b.max(v))
                });
            let scatter = if m.reference_bns_batches.is_empty() {
                String::new()
            } else {
                format!(
                    "; mean of {} real batches, single batches {lo:.3} to {hi:.3} = {:.2}× to {:.2}× the mean",
                    m.reference_bns_batches.len(),
                    lo / r,
                    hi / r
                )
            };
            format!(
                "{r:.3} (real source images, same size and batch; fakes / real = {:.2}{scatter})",
                m.final_bns / r
            )
        }
        None => "not measured (give --bns-reference)".into(),
    };
    format!(
        "# Source estimate\n\n| | |\n|---|---|\n| source | `{}` ({}) |\n| generator | {:?}, latent {}, fakes {}×{} |\n| steps | {} |\n| final L_BNS (eq. 4) | {:.3} |\n| reference L_BNS | {} |\n| seconds | {:.1} |\n\nPictures: `fakes.png` (fakes | teacher prediction), `bns_layers.png` (L_BNS per BN layer), `loss_curves.png`.\n",
        m.source,
        m.source_hash,
        m.generator.channels,
        m.generator.latent_dim,
        m.generator.image_size.1,
        m.generator.image_size.0,
        m.steps,
        m.final_bns,
        reference,
        m.seconds
    )
}

//! Supervised training of the source model: SGD with Nesterov momentum,
//! weight decay and polynomial LR decay (the paper's recipe), random crop and
//! flip, periodic validation, best and last checkpoints, a JSON log.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::checkpoint::{self, CheckpointMeta, ImageSize, InitReport, Provenance};
use crate::data::{ClassSet, DataLoader};
use crate::diverged::{check_step, StepAt};
use crate::model::ForwardOpts;
use crate::net::build_seg_model;
use crate::nn::VarStore;
use crate::optim::{minimize, Optimizer, PolyLr, Sgd, SgdConfig};
use crate::run_dir::{self, WriteMode};
use crate::tensor::Backend;
use crate::train::batch::batch_images;
use crate::train::cross_entropy::cross_entropy_ignore;
use crate::train::evaluate::evaluate;
use crate::train::log::JsonLog;
use crate::train::progress::progress_bar;
use crate::{Error, Result};

/// Settings of [`train_source`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainSourceConfig {
    /// Architecture (see [`crate::net::KNOWN_ARCHS`]).
    pub arch: String,
    /// Class set of the labels (its size is the number of outputs).
    pub class_set: ClassSet,
    /// Optimisation steps.
    pub iterations: usize,
    /// SGD settings. The paper's lr 2.5e-4 fine-tunes an ImageNet-pretrained
    /// backbone; networks trained from scratch (the small presets) need a
    /// larger rate, hence the default 0.02.
    pub sgd: SgdConfig,
    /// Power of the polynomial LR decay.
    pub poly_power: f64,
    /// Validate (and maybe save `best`) every this many steps (0: only at the end).
    pub val_every: usize,
    /// Seed of weight init (data order is the loader's seed).
    pub seed: u64,
    /// Draw progress bars.
    pub progress: bool,
    /// Pretrained weights to start from (e.g. a torchvision ImageNet
    /// `resnet50()` / `vgg16_bn()` state_dict saved as safetensors), mapped
    /// onto the network by [`checkpoint::init_from_pretrained`]; none: random
    /// initialisation.
    pub init: Option<PathBuf>,
    /// What to do with a trained model `out` already holds: refuse
    /// ([`WriteMode::New`]) or replace it ([`WriteMode::Force`]). Not a
    /// config key.
    #[serde(skip)]
    pub write_mode: WriteMode,
}

impl Default for TrainSourceConfig {
    fn default() -> Self {
        TrainSourceConfig {
            arch: "deeplabv3-mini".into(),
            class_set: ClassSet::Cityscapes19,
            iterations: 1000,
            sgd: SgdConfig {
                lr: 0.02,
                ..SgdConfig::default()
            },
            poly_power: 0.9,
            val_every: 250,
            seed: 0,
            progress: true,
            init: None,
            write_mode: WriteMode::New,
        }
    }
}

/// What [`train_source`] produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainSourceSummary {
    /// Checkpoint with the best validation mIoU (or the last one without validation).
    pub best: PathBuf,
    /// Checkpoint after the last step.
    pub last: PathBuf,
    /// Best validation mIoU (percent), if validated.
    pub best_miou: Option<f64>,
    /// Wall time of the training loop in seconds.
    pub seconds: f64,
    /// Steps done.
    pub iterations: usize,
    /// Label pixels of ids outside the training layout's id table read as
    /// ignore, per raw id, summed over every load of the run (an image
    /// seen in several epochs counts each time).
    pub unmapped_train_labels: Vec<(u8, u64)>,
    /// What `init` loaded, when the network started from pretrained weights.
    pub init: Option<InitReport>,
}

/// Trains `cfg.arch` from scratch on `train` (labelled batches) with backend
/// `B` on `dev`, validating on `val`, and writes `best.safetensors`,
/// `last.safetensors` (+ JSON sidecars) and `train_log.json` into `out`.
pub fn train_source<B: Backend>(
    cfg: &TrainSourceConfig,
    train: &DataLoader,
    val: Option<&DataLoader>,
    dev: &B::Device,
    out: &Path,
) -> Result<TrainSourceSummary> {
    if cfg.iterations == 0 {
        return Err(Error::Config {
            key: "iterations".into(),
            msg: "must be at least 1".into(),
        });
    }
    let lr = cfg.sgd.lr;
    if !(lr.is_finite() && lr > 0.0) {
        return Err(Error::Config {
            key: "lr".into(),
            msg: format!("must be finite and positive, got {lr}"),
        });
    }
    let m = cfg.sgd.momentum;
    if !(m.is_finite() && (0.0..1.0).contains(&m)) {
        return Err(Error::Config {
            key: "momentum".into(),
            msg: format!("must lie in [0, 1), got {m}"),
        });
    }
    let _claim = run_dir::claim(out, &run_dir::TRAIN_SOURCE, cfg.write_mode)?;
    crate::atomic::remove_stale_temps(out)?;
    let vs = VarStore::<B>::new(dev.clone(), cfg.seed);
    let model = build_seg_model::<B>(&cfg.arch, cfg.class_set.len().max(19), &vs.root())?;
    let init = match &cfg.init {
        Some(p) => Some(checkpoint::init_from_pretrained(p, &model.named_vars())?),
        None => None,
    };
    let mut opt = Sgd::new(model.trainable_vars(), cfg.sgd);
    let sched = PolyLr {
        base: cfg.sgd.lr,
        max_iter: cfg.iterations,
        power: cfg.poly_power,
    };
    let mut log = JsonLog::new(&out.join("train_log.json"), Vec::new());
    let best = out.join("best.safetensors");
    let last = out.join("last.safetensors");
    let mut best_miou: Option<f64> = None;
    let mut stream = train.stream(0);
    let bar = progress_bar(cfg.iterations as u64, "train", cfg.progress);
    if let (Some(report), Some(p)) = (&init, &cfg.init) {
        bar.println(report.summary(p));
    }
    let t0 = Instant::now();
    let mut image_hw = (0, 0);
    let mut running = 0.0f64;
    for it in 0..cfg.iterations {
        opt.set_lr(sched.lr(it));
        let batch = stream
            .next()
            .ok_or_else(|| Error::msg("the training stream ended"))??;
        let labels = batch.labels.as_ref().ok_or_else(|| Error::Data {
            path: train.dataset().describe().into(),
            msg: "source training needs labels, but this dataset has none".into(),
        })?;
        image_hw = batch.hw();
        let x = batch_images::<B>(&batch, dev)?;
        let outp = model.forward(&x, ForwardOpts::TRAIN)?;
        let loss = cross_entropy_ignore(&outp.logits, labels)?;
        // Checked before the update, so no saved weight is ever NaN.
        let label = format!("step {}", it + 1);
        let at = StepAt {
            label: &label,
            first: it == 0,
            lr_key: "--lr (sgd.lr)",
        };
        let parts = [("cross_entropy".to_string(), loss.clone())];
        let l = check_step("source training", at, &parts, &loss)? as f64;
        minimize(&mut opt, &loss)?;
        running = if it == 0 {
            l
        } else {
            0.95 * running + 0.05 * l
        };
        bar.set_message(format!("loss {running:.3} lr {:.2e}", opt.lr()));
        bar.inc(1);
        crate::cpu_threads::tick::<B>();
        let step = it + 1;
        let validate = val.is_some()
            && ((cfg.val_every > 0 && step % cfg.val_every == 0) || step == cfg.iterations);
        let mut record = serde_json::json!({
            "step": step, "loss": l, "lr": opt.lr(), "seconds": t0.elapsed().as_secs_f64(),
        });
        if validate {
            if let Some(val) = val {
                let ev = evaluate(model.as_ref(), val, cfg.class_set, dev, false)?;
                let miou = ev.metrics.miou * 100.0;
                record["val_miou"] = serde_json::json!(miou);
                bar.println(format!("step {step}: val mIoU {miou:.2}"));
                if best_miou.is_none_or(|b| miou > b) {
                    best_miou = Some(miou);
                    save_model::<B>(&best, model.as_ref(), cfg, train, dev, step, image_hw)?;
                }
            }
            log.push(record)?;
        } else if step % 10 == 0 {
            log.push(record)?;
        }
        if crate::interrupt::requested() && step < cfg.iterations {
            bar.finish_and_clear();
            let saved = save_model::<B>(&last, model.as_ref(), cfg, train, dev, step, image_hw);
            let resume = match saved {
                Ok(()) => format!(
                    "train-source cannot resume; the weights of step {step} are in {}",
                    last.display()
                ),
                Err(e) => format!("the weights could not be saved ({e})"),
            };
            return Err(Error::Interrupted {
                what: format!("step {step} of {}", cfg.iterations),
                resume,
            });
        }
    }
    bar.finish_and_clear();
    let seconds = t0.elapsed().as_secs_f64();
    save_model::<B>(
        &last,
        model.as_ref(),
        cfg,
        train,
        dev,
        cfg.iterations,
        image_hw,
    )?;
    if best_miou.is_none() {
        // Without validation the last weights are the best ones (copied
        // atomically: a kill leaves no torn best.safetensors).
        for (from, to) in [
            (last.clone(), best.clone()),
            (
                checkpoint::sidecar_path(&last),
                checkpoint::sidecar_path(&best),
            ),
        ] {
            let bytes = std::fs::read(&from).map_err(|e| Error::io(&from, e))?;
            crate::atomic::write_atomic(&to, &bytes)?;
        }
    }
    Ok(TrainSourceSummary {
        best,
        last,
        best_miou,
        seconds,
        iterations: cfg.iterations,
        unmapped_train_labels: train.dataset().unmapped_labels(),
        init,
    })
}

fn save_model<B: Backend>(
    path: &Path,
    model: &dyn crate::model::SegModel<B>,
    cfg: &TrainSourceConfig,
    train: &DataLoader,
    dev: &B::Device,
    step: usize,
    (h, w): (usize, usize),
) -> Result<()> {
    let mut meta = CheckpointMeta::for_model(model).with_class_set(cfg.class_set.name());
    meta.image_size = ImageSize {
        height: h,
        width: w,
    };
    meta.provenance = Provenance {
        backend: B::NAME.into(),
        device: B::device_spec(dev).to_string(),
        command: "train-source".into(),
        data: train.dataset().describe(),
        seed: Some(cfg.seed),
        iterations: Some(step as u64),
        ..Provenance::default()
    };
    if let Some(p) = &cfg.init {
        meta.provenance
            .notes
            .insert("init".into(), p.display().to_string());
    }
    checkpoint::save(path, model, &meta)
}

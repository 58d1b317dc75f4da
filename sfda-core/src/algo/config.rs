//! The adaptation config (TOML): every weight, switch, optimizer and
//! schedule of the SFDA loop, with the paper's values as defaults. Unknown
//! keys are rejected with their name (serde `deny_unknown_fields`).
//!
//! Where the paper is silent, the defaults are our choices (see README,
//! "Choices where the paper is silent"): the step ratio, how the student's
//! BatchNorm treats fake batches, the attention feature scaling and the
//! learning rates of the generator and discriminator.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::algo::method_config::MethodConfig;
use crate::loss::MaxSquareOptions;
use crate::optim::{AdamConfig, SgdConfig};
use crate::{Error, Result};

/// The loss weights of eq. 11 and 16.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LossWeights {
    /// α: weight of `L_MAE` (paper: 1.0).
    pub alpha: f64,
    /// β: weight of `L_DAD^ss` (paper: 0.5).
    pub beta: f64,
    /// τ: weight of `L_DAD^st` in the generator objective (paper: τ = β = 0.5).
    pub tau: f64,
    /// γ: weight of the adversarial IPSM term (paper: 0.01).
    pub gamma: f64,
    /// Weight of `L_BNS` in the generator objective (paper: 1).
    pub bns: f64,
    /// Weight of `L_TAR` (MaxSquare) in the student objective (paper: 1).
    pub target: f64,
}

impl Default for LossWeights {
    fn default() -> Self {
        LossWeights {
            alpha: 1.0,
            beta: 0.5,
            tau: 0.5,
            gamma: 0.01,
            bns: 1.0,
            target: 1.0,
        }
    }
}

/// Ablation switches (the paper's Tables 1, 3 and 4).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ablation {
    /// Use `L_BNS` in the generator step.
    pub bns: bool,
    /// Use the dual attention distillation losses (`L_DAD^ss`, `L_DAD^st`).
    pub dad: bool,
    /// Use IPSM (discriminator + adversarial term); off = "SFDA w/o IPSM".
    pub ipsm: bool,
    /// Transfer only: no target losses and no target data; the source model
    /// is distilled into the student through the generator alone.
    pub transfer_only: bool,
    /// In transfer-only mode, start the student from random weights (`true`,
    /// the paper's "new model") or from a copy of the source model.
    pub fresh_student: bool,
}

impl Default for Ablation {
    fn default() -> Self {
        Ablation {
            bns: true,
            dad: true,
            ipsm: true,
            transfer_only: false,
            fresh_student: true,
        }
    }
}

/// How the student's BatchNorm layers treat fake batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FakeBn {
    /// Normalise fakes with their own batch statistics and leave the running
    /// statistics alone (default: the running statistics track the target
    /// domain only, and are not polluted by fakes).
    Batch,
    /// Normalise fakes with the running statistics (as the teacher does).
    Running,
}

/// Sizes of the generator and discriminator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetSize {
    /// The paper's DCGAN widths.
    Paper,
    /// Narrow widths for CPU work.
    Mini,
}

/// The whole adaptation config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdaptConfig {
    /// The method by registered name, with its own options (`method =
    /// "minent"` or a `[method]` table with `name`; see
    /// [`crate::algo::methods`]). Default `sfda`, whose options are the
    /// other tables of this config.
    pub method: MethodConfig,
    /// Student steps.
    pub iterations: usize,
    /// Target images per student step (paper: 8; IPSM needs ≥ 2).
    pub batch_size: usize,
    /// Fake images per generator/student step.
    pub fake_batch_size: usize,
    /// Fake image size `[height, width]` (paper: 128×256, half the targets).
    pub fake_size: [usize; 2],
    /// Resize target images to `[width, height]` (the paper presets: 512×256);
    /// none (the default) keeps them at the size the data comes in.
    pub target_size: Option<[u32; 2]>,
    /// Seed of every random choice (latents, data order, init).
    pub seed: u64,
    /// Latent dimension of the generator (paper: 256).
    pub latent_dim: usize,
    /// Generator/discriminator widths.
    pub net_size: NetSize,
    /// A generator step every this many student steps (1 = alternate).
    pub generator_every: usize,
    /// Generator steps each time it steps.
    pub generator_steps: usize,
    /// Generator-only steps (BNS and the teacher–student discrepancy) before
    /// the student starts moving.
    pub generator_warmup: usize,
    /// Discriminator steps per student step (IPSM).
    pub discriminator_steps: usize,
    /// Patches per side, K (paper: 3, 4 or 5).
    pub k: usize,
    /// Loss weights.
    pub weights: LossWeights,
    /// Ablation switches.
    pub ablation: Ablation,
    /// Student BatchNorm on fake batches.
    pub student_bn_on_fake: FakeBn,
    /// MaxSquare (`L_TAR`, eq. 2) options.
    pub maxsquare: MaxSquareOptions,
    /// Options of the built-in distillation losses, by name
    /// (`[losses.dad_ss] scale = ...`); see `sfda_core::loss`.
    pub losses: toml::Table,
    /// Student optimizer (paper: SGD Nesterov, lr 2.5e-4, momentum 0.9, wd 1e-4).
    pub student_optim: SgdConfig,
    /// Power of the student's polynomial LR decay (paper: 0.9).
    pub poly_power: f64,
    /// Generator optimizer (paper says Adam lr 0.1; we default to 1e-3).
    pub generator_optim: AdamConfig,
    /// Discriminator optimizer (paper says Adam lr 0.1; we default to 1e-4).
    pub discriminator_optim: AdamConfig,
    /// Write resumable state every this many steps (0: never).
    pub checkpoint_every: usize,
    /// Evaluate on the target validation set every this many steps (0: only at the end).
    pub eval_every: usize,
    /// Record diagnostics every this many steps, warm-up included (0:
    /// never): the gradient norm each weighted term sends to the network
    /// that moves (`g_gn_*`, `s_gn_*`), `L_BNS` per BN layer (mean and
    /// variance parts, into `bns_layers.json` and `bns_layers.png`), the
    /// teacher's mean max-probability on the fakes and the fakes' pixel
    /// moments. Costs one extra backward pass per term on those steps.
    pub diagnostics_every: usize,
    /// A source estimate written by `sfda estimate-source` (its folder;
    /// relative paths are relative to the config file): the generator starts
    /// from it and the warm-up is skipped. It must have been made from the
    /// same source checkpoint (checked by hash) with the same generator shape.
    pub source_estimate: Option<String>,
    /// Plugin libraries to load (paths; relative ones are relative to the
    /// config file), in addition to `--plugin`.
    pub plugins: Vec<String>,
    /// Extra distillation losses selected by registered name (plugins,
    /// statically registered losses, or a built-in used twice), each with its
    /// own weights and options: `[[extra_losses]] name = "attention_transfer"`.
    pub extra_losses: Vec<ExtraLoss>,
    /// The IPSM patch ranker, by registered name (default `entropy`).
    #[serde(skip_serializing_if = "is_default_ranker")]
    pub ranker: String,
    /// Options of the patch ranker.
    #[serde(skip_serializing_if = "toml::Table::is_empty")]
    pub ranker_options: toml::Table,
}

fn is_default_ranker(name: &str) -> bool {
    name == DEFAULT_RANKER
}

/// Largest image side a config may ask for (fakes, resized targets).
pub const MAX_IMAGE_SIDE: usize = 4096;
/// Largest batch a config may ask for.
pub const MAX_BATCH: usize = 1024;

/// The patch ranker used when the config names none.
pub const DEFAULT_RANKER: &str = "entropy";

/// A distillation loss added by name (a plugin or a built-in used twice),
/// with its weights in the generator and student objectives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraLoss {
    /// Registered loss name.
    pub name: String,
    /// Weight in the generator objective (negative: the generator maximises it).
    #[serde(default)]
    pub generator_weight: f64,
    /// Weight in the student objective.
    #[serde(default)]
    pub student_weight: f64,
    /// The loss's own options.
    #[serde(default = "empty_table")]
    pub options: toml::Value,
}

fn empty_table() -> toml::Value {
    toml::Value::Table(toml::Table::new())
}

impl Default for AdaptConfig {
    fn default() -> Self {
        AdaptConfig {
            method: MethodConfig::default(),
            iterations: 2000,
            batch_size: 8,
            fake_batch_size: 8,
            fake_size: [128, 256],
            target_size: None,
            seed: 0,
            latent_dim: 256,
            net_size: NetSize::Paper,
            generator_every: 1,
            generator_steps: 1,
            generator_warmup: 0,
            discriminator_steps: 1,
            k: 4,
            weights: LossWeights::default(),
            ablation: Ablation::default(),
            student_bn_on_fake: FakeBn::Batch,
            maxsquare: MaxSquareOptions::default(),
            losses: toml::Table::new(),
            student_optim: SgdConfig::default(),
            poly_power: 0.9,
            generator_optim: AdamConfig {
                lr: 1e-3,
                beta1: 0.5,
                ..AdamConfig::default()
            },
            discriminator_optim: AdamConfig {
                lr: 1e-4,
                beta1: 0.5,
                ..AdamConfig::default()
            },
            checkpoint_every: 100,
            eval_every: 0,
            diagnostics_every: 10,
            source_estimate: None,
            plugins: Vec::new(),
            extra_losses: Vec::new(),
            ranker: DEFAULT_RANKER.to_string(),
            ranker_options: toml::Table::new(),
        }
    }
}

impl AdaptConfig {
    /// Parses a TOML config; unknown keys and bad values are errors naming
    /// the key.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self> {
        let cfg: AdaptConfig = crate::toml_file::parse(text, origin).map_err(|e| match e {
            Error::Config { key, msg } if msg.contains("unknown field `baseline`") => {
                Error::Config {
                    key,
                    msg: format!(
                        "{msg}; the baselines' options moved into their methods' [method] table \
                     (e.g. [method] name = \"cbst\", portion = 0.2; see sfda_core::algo::methods)"
                    ),
                }
            }
            e => e,
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Reads and parses a TOML config file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// Checks values a type cannot express.
    pub fn validate(&self) -> Result<()> {
        let bad = |key: &str, msg: String| {
            Err(Error::Config {
                key: key.to_string(),
                msg,
            })
        };
        if self.iterations == 0 {
            return bad("iterations", "must be at least 1".into());
        }
        if self.batch_size == 0 {
            return bad("batch_size", "must be at least 1".into());
        }
        if self.fake_batch_size == 0 {
            return bad("fake_batch_size", "must be at least 1".into());
        }
        if !self.method.is_sfda() && self.ablation.transfer_only {
            return bad(
                "method",
                format!(
                    "'{}' adapts on target data; transfer-only mode belongs to method 'sfda'",
                    self.method.name
                ),
            );
        }
        if self.method.is_sfda()
            && self.ablation.ipsm
            && !self.ablation.transfer_only
            && self.batch_size < 2
        {
            return bad(
                "batch_size",
                "IPSM ranks patches across the batch: it needs at least 2 target images".into(),
            );
        }
        if self.k == 0 {
            return bad("k", "must be at least 1 (paper: 3, 4 or 5)".into());
        }
        if self.generator_every == 0 {
            return bad("generator_every", "must be at least 1".into());
        }
        if self.fake_size.contains(&0) {
            return bad("fake_size", "both sides must be positive".into());
        }
        // Bounds on what a config can make the run allocate.
        if self.fake_size.iter().any(|&s| s > MAX_IMAGE_SIDE) {
            return bad(
                "fake_size",
                format!(
                    "{:?} is larger than {MAX_IMAGE_SIDE} pixels a side (the paper: [128, 256])",
                    self.fake_size
                ),
            );
        }
        if let Some(t) = self.target_size {
            if t.contains(&0) || t.iter().any(|&s| s as usize > MAX_IMAGE_SIDE) {
                return bad(
                    "target_size",
                    format!(
                        "{t:?}: both sides must lie in 1..={MAX_IMAGE_SIDE} (the paper: [512, 256])"
                    ),
                );
            }
        }
        for (k, n) in [
            ("batch_size", self.batch_size),
            ("fake_batch_size", self.fake_batch_size),
        ] {
            if n > MAX_BATCH {
                return bad(k, format!("{n} is more than {MAX_BATCH} images a batch"));
            }
        }
        if self.latent_dim == 0 || self.latent_dim > 1 << 16 {
            return bad(
                "latent_dim",
                format!(
                    "must lie in 1..=65536 (the paper: 256), got {}",
                    self.latent_dim
                ),
            );
        }
        let sgd = &self.student_optim;
        if !(sgd.momentum.is_finite() && (0.0..1.0).contains(&sgd.momentum)) {
            return bad(
                "student_optim.momentum",
                format!("must lie in [0, 1) (the paper: 0.9), got {}", sgd.momentum),
            );
        }
        if !(sgd.weight_decay.is_finite() && sgd.weight_decay >= 0.0) {
            return bad(
                "student_optim.weight_decay",
                format!("must be finite and non-negative, got {}", sgd.weight_decay),
            );
        }
        for (k, o) in [
            ("generator_optim", &self.generator_optim),
            ("discriminator_optim", &self.discriminator_optim),
        ] {
            for (name, v) in [("beta1", o.beta1), ("beta2", o.beta2)] {
                if !(v.is_finite() && (0.0..1.0).contains(&v)) {
                    return bad(
                        &format!("{k}.{name}"),
                        format!("must lie in [0, 1), got {v}"),
                    );
                }
            }
            if !(o.eps.is_finite() && o.eps > 0.0) {
                return bad(
                    &format!("{k}.eps"),
                    format!("must be positive, got {}", o.eps),
                );
            }
        }
        if !(self.poly_power.is_finite() && self.poly_power >= 0.0) {
            return bad(
                "poly_power",
                format!(
                    "must be finite and non-negative (the paper: 0.9), got {}",
                    self.poly_power
                ),
            );
        }
        for (k, v) in [
            ("weights.alpha", self.weights.alpha),
            ("weights.beta", self.weights.beta),
            ("weights.tau", self.weights.tau),
            ("weights.gamma", self.weights.gamma),
            ("weights.bns", self.weights.bns),
            ("weights.target", self.weights.target),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(k, format!("must be a finite, non-negative number, got {v}"));
            }
        }
        for (k, lr) in [
            ("student_optim.lr", self.student_optim.lr),
            ("generator_optim.lr", self.generator_optim.lr),
            ("discriminator_optim.lr", self.discriminator_optim.lr),
        ] {
            if !(lr.is_finite() && lr > 0.0) {
                return bad(k, format!("must be positive, got {lr}"));
            }
        }
        for name in self.losses.keys() {
            if !crate::loss::BUILTIN_DISTILL_LOSSES.contains(&name.as_str()) {
                return bad(
                    &format!("losses.{name}"),
                    format!(
                        "no built-in loss called '{name}'; options can be given for: {}",
                        crate::loss::BUILTIN_DISTILL_LOSSES.join(", ")
                    ),
                );
            }
        }
        Ok(())
    }

    /// The plugin paths of [`AdaptConfig::plugins`], relative ones resolved
    /// against `config_dir` (the folder of the config file).
    pub fn plugin_paths(&self, config_dir: Option<&Path>) -> Vec<std::path::PathBuf> {
        self.plugins
            .iter()
            .map(|p| {
                let p = Path::new(p);
                match config_dir {
                    Some(d) if p.is_relative() => d.join(p),
                    _ => p.to_path_buf(),
                }
            })
            .collect()
    }

    /// Whether `L_BNS` is part of the generator objective.
    pub fn bns_on(&self) -> bool {
        self.ablation.bns && self.weights.bns != 0.0
    }

    /// The options table of built-in loss `name` (empty when not given).
    pub fn loss_options(&self, name: &str) -> toml::Value {
        self.losses.get(name).cloned().unwrap_or_else(empty_table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_papers() {
        let c = AdaptConfig::default();
        assert_eq!(
            (
                c.weights.alpha,
                c.weights.beta,
                c.weights.tau,
                c.weights.gamma
            ),
            (1.0, 0.5, 0.5, 0.01)
        );
        assert_eq!(c.student_optim.lr, 2.5e-4);
        assert!(c.student_optim.nesterov);
        assert_eq!(c.batch_size, 8);
        assert_eq!(c.latent_dim, 256);
    }

    #[test]
    fn unknown_key_is_named() {
        let e = AdaptConfig::from_toml(
            "iterations = 3\n[weights]\nalpha = 1.0\nbetta = 2.0\n",
            "x.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("betta"), "{e}");
    }

    #[test]
    fn impossible_values_are_rejected() {
        assert!(AdaptConfig::from_toml("k = 0", "x").is_err());
        assert!(AdaptConfig::from_toml("batch_size = 1", "x").is_err());
        let e = AdaptConfig::from_toml("[losses.maee]\n", "x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("losses.maee"), "{e}");
        let e = AdaptConfig::from_toml("[baseline]\ncbst_portion = 0.3\n", "x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("baseline") && e.contains("[method]"), "{e}");
    }

    #[test]
    fn values_that_would_abort_or_mislead_are_named_by_key() {
        for (toml, key) in [
            ("fake_size = [100000, 100000]", "fake_size"),
            ("target_size = [0, 0]", "target_size"),
            ("target_size = [100000, 256]", "target_size"),
            ("fake_batch_size = 0", "fake_batch_size"),
            ("batch_size = 100000", "batch_size"),
            ("latent_dim = 0", "latent_dim"),
            ("[student_optim]\nmomentum = 5.0", "student_optim.momentum"),
            ("[generator_optim]\nbeta1 = 1.0", "generator_optim.beta1"),
            (
                "[discriminator_optim]\nbeta2 = -0.1",
                "discriminator_optim.beta2",
            ),
            ("poly_power = nan", "poly_power"),
        ] {
            let e = AdaptConfig::from_toml(toml, "x").unwrap_err().to_string();
            assert!(e.contains(key), "{toml}: {e}");
        }
        // The shipped values stay valid.
        assert!(AdaptConfig::from_toml("[generator_optim]\nbeta1 = 0.5", "x").is_ok());
    }
}

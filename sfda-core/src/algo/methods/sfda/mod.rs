//! SFDA (Liu, Zhang & Wang, "Source-Free Domain Adaptation for Semantic
//! Segmentation", CVPR 2021), the paper this framework implements: a
//! generator estimates the source domain from the teacher's BN statistics
//! (`L_BNS`, eq. 4), the student learns from the fakes by MAE and dual
//! attention distillation (eq. 5–7) and from the target by MaxSquare
//! (eq. 2), and IPSM's patch discriminator pulls hard patches towards easy
//! ones (eq. 13–16). With `ablation.ipsm = false` it is "SFDA w/o IPSM";
//! with `ablation.transfer_only` the knowledge-transfer half alone.
//!
//! The method owns `G`, `D`, their optimizers, the target caches, its
//! distillation terms and its ranker ([`SfdaMethod`]); its options are the
//! config's top-level tables (`weights`, `ablation`, `k`, `generator_*`...),
//! so its `[method]` table takes none.

pub mod estimate;
mod fakes;
mod steps;

use std::collections::BTreeMap;
use std::path::Path;

pub use fakes::{fake_grid, fake_to_input};
pub use steps::SfdaMethod;

use crate::algo::config::{AdaptConfig, NetSize};
use crate::algo::losses::{distill_terms, LossResolver};
use crate::algo::methods::method::NoOptions;
use crate::algo::methods::method::{
    load_prefixed, optimizer_state, prefixed_state, state_tensor, AdaptMethod, MethodBuild,
    MethodInfo, StudentInit, TargetBatch, TargetViews,
};
use crate::algo::methods::BuiltinMethod;
use crate::algo::run_core::{RunCore, StepLosses};
use crate::model::Discriminator;
use crate::net::{DcganGenerator, DiscriminatorConfig, PatchDiscriminator};
use crate::nn::VarStore;
use crate::optim::Optimizer;
use crate::rng::SeedRng;
use crate::tensor::{Backend, Tensor};
use crate::{Error, Result};

/// The built-in entry of SFDA.
pub struct Sfda;

impl BuiltinMethod for Sfda {
    const NAME: &'static str = crate::algo::method_config::SFDA_METHOD;
    const SUMMARY: &'static str =
        "SFDA (CVPR 2021): generator + BNS/MAE/DAD knowledge transfer, MaxSquare, IPSM";

    fn describe(cfg: &AdaptConfig) -> Result<MethodInfo> {
        cfg.method.parse_options::<NoOptions>()?;
        Ok(MethodInfo {
            label: label(cfg),
            source_free: true,
            warmup_steps: if cfg.bns_on() {
                cfg.generator_warmup
            } else {
                0
            },
            student_steps: cfg.iterations,
        })
    }

    fn build<B: Backend>(
        b: &MethodBuild<B>,
        resolve: LossResolver<'_, B>,
    ) -> Result<Box<dyn AdaptMethod<B>>> {
        Ok(Box::new(build_sfda(b, resolve)?))
    }
}

/// The table label: `SFDA`, `SFDA (w/o IPSM)` or `transfer only (BNS+DAD)`.
fn label(cfg: &AdaptConfig) -> String {
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

/// Builds SFDA's own networks and terms: a new generator, a new
/// discriminator (with IPSM on target data), the distillation terms of the
/// config and its patch ranker.
pub fn build_sfda<B: Backend>(
    b: &MethodBuild<B>,
    resolve: LossResolver<'_, B>,
) -> Result<SfdaMethod<B>> {
    let cfg = &b.cfg;
    let dev = &b.device;
    let seed = |label: &str| SeedRng::derive(cfg.seed, label).next_u64();
    let gcfg = estimate::generator_config(cfg);
    let gvs = VarStore::<B>::new(dev.clone(), seed("generator"));
    let generator = Box::new(DcganGenerator::new(&gvs.root(), &gcfg)?);
    let n_classes = b.source_meta.num_classes;
    let discriminator: Option<Box<dyn Discriminator<B>>> =
        if cfg.ablation.ipsm && !cfg.ablation.transfer_only {
            let dcfg = match cfg.net_size {
                NetSize::Paper => DiscriminatorConfig::paper(n_classes, cfg.k),
                NetSize::Mini => DiscriminatorConfig::mini(n_classes, cfg.k),
            };
            let dvs = VarStore::<B>::new(dev.clone(), seed("discriminator"));
            Some(Box::new(PatchDiscriminator::new(&dvs.root(), &dcfg)?))
        } else {
            None
        };
    let terms = distill_terms::<B>(cfg, resolve)?;
    let ranker = crate::registry::make_ranker::<B>(
        &cfg.ranker,
        &toml::Value::Table(cfg.ranker_options.clone()),
    )?;
    Ok(SfdaMethod::new(
        cfg.clone(),
        generator,
        discriminator,
        terms,
        ranker,
    ))
}

/// A run of SFDA with the method's type known (for the source estimation
/// and for tests that step the generator, student and discriminator one at
/// a time): [`crate::algo::build_run`] with SFDA whatever `cfg.method` says.
pub fn build_sfda_run<B: Backend>(
    cfg: &AdaptConfig,
    source: &Path,
    dev: &B::Device,
    resolve: LossResolver<'_, B>,
) -> Result<(RunCore<B>, SfdaMethod<B>)> {
    let mut cfg = cfg.clone();
    cfg.method = crate::algo::MethodConfig::default();
    crate::algo::build_run_with::<B, _>(&cfg, source, dev, |b| build_sfda(b, resolve))
}

impl<B: Backend> AdaptMethod<B> for SfdaMethod<B> {
    fn name(&self) -> &str {
        Sfda::NAME
    }

    fn student_init(&self) -> StudentInit {
        if self.cfg.ablation.transfer_only && self.cfg.ablation.fresh_student {
            StudentInit::Fresh
        } else {
            StudentInit::Source
        }
    }

    fn target_views(&self) -> TargetViews {
        if self.uses_target() {
            TargetViews::One
        } else {
            TargetViews::None
        }
    }

    fn start(&mut self, run: &mut RunCore<B>) -> Result<()> {
        if let Some(p) = self.cfg.source_estimate.clone() {
            let source = run.source.clone();
            estimate::apply_estimate(self, run, Path::new(&p), &source)?;
        }
        Ok(())
    }

    fn warmup_step(&mut self, run: &mut RunCore<B>) -> Result<StepLosses> {
        SfdaMethod::warmup_step(self, run)
    }

    fn step(
        &mut self,
        run: &mut RunCore<B>,
        target: Option<&TargetBatch<'_, B>>,
    ) -> Result<StepLosses> {
        if self.uses_target() && target.is_none() {
            return Err(Error::msg("SFDA adapts on target images and got none"));
        }
        self.iterate(run, target.map(|t| &t.images))
    }

    fn state(&self) -> Result<Vec<(String, Tensor<B>)>> {
        let mut out = prefixed_state("generator", self.generator.named_vars());
        if let Some(d) = &self.discriminator {
            out.extend(prefixed_state("discriminator", d.named_vars()));
        }
        if let Some((features, logits)) = self.target_cache() {
            out.push(("cache.target_features".into(), features));
            out.push(("cache.target_logits".into(), logits));
        }
        if let Some((features, logits)) = self.teacher_target_cache() {
            out.push(("cache.teacher_target_features".into(), features));
            out.push(("cache.teacher_target_logits".into(), logits));
        }
        for (n, t) in self.generator_opt.state()? {
            out.push((format!("opt_generator.{n}"), t));
        }
        if let Some(o) = &self.discriminator_opt {
            for (n, t) in o.state()? {
                out.push((format!("opt_discriminator.{n}"), t));
            }
        }
        Ok(out)
    }

    fn load_state(&mut self, tensors: &BTreeMap<String, Tensor<B>>, file: &Path) -> Result<()> {
        load_prefixed("generator", self.generator.named_vars(), tensors, file)?;
        if let Some(d) = &self.discriminator {
            load_prefixed("discriminator", d.named_vars(), tensors, file)?;
        }
        self.generator_opt
            .load_state(&optimizer_state("opt_generator", tensors))?;
        if let Some(o) = self.discriminator_opt.as_mut() {
            o.load_state(&optimizer_state("opt_discriminator", tensors))?;
        }
        if tensors.contains_key("cache.target_features") {
            let f = state_tensor(tensors, "cache.target_features", file)?.clone();
            let l = state_tensor(tensors, "cache.target_logits", file)?.clone();
            self.set_target_cache(f, l);
        }
        if tensors.contains_key("cache.teacher_target_features") {
            let f = state_tensor(tensors, "cache.teacher_target_features", file)?.clone();
            let l = state_tensor(tensors, "cache.teacher_target_logits", file)?.clone();
            self.set_teacher_target_cache(f, l);
        }
        Ok(())
    }

    fn scalars(&self) -> serde_json::Value {
        let (seed, word_pos) = self.rng.state();
        // The word position as a string: JSON numbers stop at 64 bits.
        serde_json::json!({ "rng_seed": seed, "rng_word_pos": word_pos.to_string() })
    }

    fn load_scalars(&mut self, scalars: &serde_json::Value) -> Result<()> {
        let bad = || Error::msg(format!("SFDA's state scalars are unreadable: {scalars}"));
        let seed: [u8; 32] =
            serde_json::from_value(scalars["rng_seed"].clone()).map_err(|_| bad())?;
        let pos: u128 = scalars["rng_word_pos"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad)?;
        self.rng = SeedRng::from_state(seed, pos);
        Ok(())
    }

    fn notes(&self) -> Vec<String> {
        if self.cfg.generator_warmup > 0 && !self.cfg.bns_on() {
            vec![
                "generator warm-up skipped: it estimates the source by L_BNS alone, which is off"
                    .into(),
            ]
        } else {
            Vec::new()
        }
    }

    fn write_pictures(&self, run: &RunCore<B>, out: &Path) -> Result<()> {
        fake_grid(run, self.generator.as_ref(), &out.join("fakes.png"), 6)
    }
}

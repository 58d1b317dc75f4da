//! One SFDA iteration (paper §3.2–3.3), written once against [`Backend`]:
//!
//! 1. **Generator step** (only `G` moves; eq. 11):
//!    `min_G  L_BNS − α·L_MAE − β·L_DAD^ss + τ·L_DAD^st`.
//! 2. **Student step** (only `S` moves; eq. 16 without `D`'s part):
//!    `min_S  L_TAR + α·L_MAE + β·L_DAD^ss + γ·L_ADV` with the fakes detached.
//! 3. **Discriminator step** (only `D` moves; eq. 15): IPSM labels the
//!    `K×K` patches of the student's target predictions easy/hard by entropy
//!    ranking (eq. 13–14) and `D` learns to tell them apart.
//!
//! Which network moves is decided by the variables each step differentiates
//! with respect to; nothing on the path from `G` through the frozen teacher
//! (including its BN statistics, for `L_BNS`) is detached.

use std::time::Instant;

use crate::algo::config::{AdaptConfig, FakeBn};
use crate::algo::diagnostics::{
    bns_layers, bns_total, grad_norm, image_moments, mean_max_probability,
};
use crate::algo::losses::{sum_terms, weighted_terms, WeightedLoss};
use crate::algo::methods::sfda::fakes::fake_to_input;
use crate::algo::run_core::{RunCore, StepLosses};
use crate::diverged::check_step;
use crate::ipsm::{split_patches, PatchBatch, PatchLabels, PatchRanker};
use crate::loss::{
    discriminator_loss, fool_loss, maxsquare_loss_with_probs, AdvReduction, DistillInputs,
};
use crate::model::{BnMode, Discriminator, ForwardOpts, Generator, SegOutput};
use crate::optim::{Adam, Optimizer};
use crate::rng::SeedRng;
use crate::tensor::{grad, no_grad, Backend, Tensor, Var};
use crate::{Error, Result};

/// The SFDA method's own state: generator `G`, discriminator `D` (absent
/// without IPSM), their optimizers, the distillation terms, the IPSM
/// ranker, the latent RNG and the caches of the last target batch. The
/// teacher and the student are the driver's ([`RunCore`]).
pub struct SfdaMethod<B: Backend> {
    /// The configuration (SFDA's options are the config's top-level tables).
    pub cfg: AdaptConfig,
    /// The fake-image generator.
    pub generator: Box<dyn Generator<B>>,
    /// The IPSM patch discriminator.
    pub discriminator: Option<Box<dyn Discriminator<B>>>,
    /// Distillation terms with their generator/student weights.
    pub terms: Vec<WeightedLoss<B>>,
    /// The IPSM patch ranker.
    pub ranker: Box<dyn PatchRanker<B>>,
    /// Generator optimizer.
    pub generator_opt: Adam<B>,
    /// Discriminator optimizer (when IPSM is on).
    pub discriminator_opt: Option<Adam<B>>,
    /// Source of latent codes.
    pub rng: SeedRng,
    /// Student features on the last target batch (detached), for `L_DAD^st`
    /// in the next generator step.
    target_features: Option<SegOutput<B>>,
    /// Student logits on the last target batch (detached), for the
    /// discriminator step.
    target_logits: Option<Tensor<B>>,
    /// The teacher on the last target batch (detached), for generator-side
    /// losses that [read it](crate::loss::DistillLoss::needs_teacher_target).
    teacher_target: Option<SegOutput<B>>,
    /// The IPSM ranking of [`Self::target_logits`] and their patches of
    /// class probabilities (detached), made by the student step's fool term
    /// and read by the discriminator step(s), which rank the same logits.
    /// Absent when the student step did not rank (then the discriminator
    /// step ranks itself); never part of the saved state.
    target_ranking: Option<TargetRanking<B>>,
}

/// Eq. 13–14 on one batch of target logits: the easy/hard labels and the
/// `K × K` patches of the class probabilities (detached).
#[derive(Clone)]
struct TargetRanking<B: Backend> {
    labels: PatchLabels,
    patches: PatchBatch<B>,
}

impl<B: Backend> SfdaMethod<B> {
    /// Assembles the method from its parts (see [`super::build_sfda`] for the
    /// usual way).
    pub fn new(
        cfg: AdaptConfig,
        generator: Box<dyn Generator<B>>,
        discriminator: Option<Box<dyn Discriminator<B>>>,
        terms: Vec<WeightedLoss<B>>,
        ranker: Box<dyn PatchRanker<B>>,
    ) -> Self {
        let generator_opt = Adam::new(trainable(generator.named_vars()), cfg.generator_optim);
        let discriminator_opt = discriminator
            .as_ref()
            .map(|d| Adam::new(trainable(d.named_vars()), cfg.discriminator_optim));
        let rng = SeedRng::derive(cfg.seed, "latents");
        SfdaMethod {
            cfg,
            generator,
            discriminator,
            terms,
            ranker,
            generator_opt,
            discriminator_opt,
            rng,
            target_features: None,
            target_logits: None,
            teacher_target: None,
            target_ranking: None,
        }
    }

    /// The cached student outputs on the last target batch (features and
    /// logits, detached), part of the resumable state.
    pub fn target_cache(&self) -> Option<(Tensor<B>, Tensor<B>)> {
        self.target_features
            .as_ref()
            .map(|o| (o.features.clone(), o.logits.clone()))
    }

    /// Restores the cache written by [`Self::target_cache`].
    pub fn set_target_cache(&mut self, features: Tensor<B>, logits: Tensor<B>) {
        self.target_ranking = None;
        self.target_logits = Some(logits.clone());
        self.target_features = Some(SegOutput {
            logits,
            features,
            bn_stats: Vec::new(),
        });
    }

    /// The cached teacher outputs on the last target batch (features and
    /// logits), present when a loss reads them; part of the resumable state.
    pub fn teacher_target_cache(&self) -> Option<(Tensor<B>, Tensor<B>)> {
        self.teacher_target
            .as_ref()
            .map(|o| (o.features.clone(), o.logits.clone()))
    }

    /// Restores the cache written by [`Self::teacher_target_cache`].
    pub fn set_teacher_target_cache(&mut self, features: Tensor<B>, logits: Tensor<B>) {
        self.teacher_target = Some(SegOutput {
            logits,
            features,
            bn_stats: Vec::new(),
        });
    }

    /// Whether a term weighted in the student step reads the student's
    /// output on the target batch (it is then computed before the terms).
    fn student_terms_read_student_target(&self) -> bool {
        self.terms
            .iter()
            .any(|t| t.student_weight != 0.0 && t.loss.needs_student_target())
    }

    /// Whether a weighted term reads the teacher's output on a target batch.
    fn terms_read_teacher_target(&self) -> bool {
        self.terms.iter().any(|t| {
            (t.student_weight != 0.0 || t.generator_weight != 0.0) && t.loss.needs_teacher_target()
        })
    }

    /// The frozen teacher on target images, detached (BN eval mode).
    fn teacher_on_target(run: &RunCore<B>, xt: &Tensor<B>) -> Result<SegOutput<B>> {
        let t = no_grad::<B, _>(|| run.teacher.forward(xt, ForwardOpts::EVAL))?;
        Ok(SegOutput {
            logits: t.logits.detach()?,
            features: t.features.detach()?,
            bn_stats: Vec::new(),
        })
    }

    /// Whether the run adapts on target data (not transfer-only).
    pub fn uses_target(&self) -> bool {
        !self.cfg.ablation.transfer_only
    }
    fn uses_ipsm(&self) -> bool {
        self.uses_target() && self.cfg.ablation.ipsm && self.discriminator.is_some()
    }

    /// A batch of fakes: the generator's output in `[-1, 1]` and the same
    /// images in the segmentation input space; `G` in train mode.
    fn fakes(&mut self, run: &RunCore<B>) -> Result<(Tensor<B>, Tensor<B>)> {
        let n = self.cfg.fake_batch_size;
        let z = Tensor::<B>::randn(
            &[n, self.cfg.latent_dim],
            0.0,
            1.0,
            &mut self.rng,
            &run.device,
        )?;
        let img = self.generator.forward(&z, true)?;
        let x = fake_to_input(&img, &run.source_meta.normalization)?;
        Ok((img, x))
    }

    fn teacher_opts(&self) -> ForwardOpts {
        ForwardOpts {
            bn: BnMode::Eval,
            collect_bn_stats: self.terms.iter().any(|t| t.loss.needs_bn_stats()),
        }
    }
    /// The student's BatchNorm mode on a fake batch. `update` is set in the
    /// student step: in transfer-only mode the fakes are the only images the
    /// student ever sees, so with [`FakeBn::Batch`] its running statistics
    /// follow them (otherwise a fresh student would be evaluated with its
    /// initial statistics, mean 0 and variance 1); with target data they
    /// track the target batches only.
    fn student_fake_opts(&self, update: bool) -> ForwardOpts {
        ForwardOpts {
            bn: match self.cfg.student_bn_on_fake {
                FakeBn::Batch => BnMode::Train {
                    update_running: update && self.cfg.ablation.transfer_only,
                },
                FakeBn::Running => BnMode::Eval,
            },
            collect_bn_stats: false,
        }
    }

    /// Generator step (eq. 11). Returns the loss terms.
    pub fn generator_step(&mut self, run: &RunCore<B>) -> Result<StepLosses> {
        let (img, x) = self.fakes(run)?;
        let t = run.teacher.forward(&x, self.teacher_opts())?;
        let s = run.student.forward(&x, self.student_fake_opts(false))?;
        let mut inputs = DistillInputs::new(&t, &s);
        if let Some(st) = &self.target_features {
            inputs = inputs.with_student_target(st);
        }
        if let Some(tt) = &self.teacher_target {
            inputs = inputs.with_teacher_target(tt);
        }
        let mut values = Vec::new();
        let parts = weighted_terms(&self.terms, &inputs, |w| w.generator_weight, &mut values)?;
        let total = sum_terms(&parts)?.ok_or_else(|| {
            Error::msg("the generator objective is empty: enable BNS, MAE or DAD")
        })?;
        run.check("generator", "generator_optim.lr", &parts, &total)?;
        self.step_generator(run, &img, &t, &parts, &total, &mut values)?;
        Ok(values)
    }

    /// The end of both generator steps: on diagnostic steps the gradient
    /// norm of each weighted part and the fake diagnostics, then one Adam
    /// step of `G` on `total`.
    fn step_generator(
        &mut self,
        run: &RunCore<B>,
        img: &Tensor<B>,
        teacher: &SegOutput<B>,
        parts: &[(String, Tensor<B>)],
        total: &Tensor<B>,
        values: &mut StepLosses,
    ) -> Result<()> {
        let vars: Vec<Var<B>> = self.generator_opt.vars().to_vec();
        if run.diagnose_now() {
            for (name, part) in parts {
                values.push((format!("gn_{name}"), grad_norm(part, &vars)?));
            }
            push_fake_diagnostics(img, teacher, values)?;
        }
        let refs: Vec<&Var<B>> = vars.iter().collect();
        let grads = grad(total, &refs)?;
        self.generator_opt.step(&grads)?;
        values.push(("total".into(), total.to_scalar()?));
        Ok(())
    }

    /// Student step (eq. 16 without `D`'s part). `target` is a batch of
    /// target images (absent in transfer-only mode).
    pub fn student_step(
        &mut self,
        run: &mut RunCore<B>,
        target: Option<&Tensor<B>>,
    ) -> Result<StepLosses> {
        // G does not move in this step and the frozen teacher is only a
        // target: neither forward records autodiff history, and their
        // outputs are cut so no backend walks back through them.
        let x = no_grad::<B, _>(|| self.fakes(run))?.1.detach()?;
        let t = no_grad::<B, _>(|| run.teacher.forward(&x, ForwardOpts::EVAL))?;
        let t = SegOutput {
            logits: t.logits.detach()?,
            features: t.features.detach()?,
            bn_stats: t.bn_stats,
        };
        let s = run.student.forward(&x, self.student_fake_opts(true))?;
        let mut values = Vec::new();
        let xt = target.filter(|_| self.uses_target());
        // Terms that read the target outputs get this step's: the student's
        // live output (computed first, only then) and the teacher's.
        let st_first = match xt {
            Some(xt) if self.student_terms_read_student_target() => {
                Some(run.student.forward(xt, ForwardOpts::TRAIN)?)
            }
            _ => None,
        };
        let tt = match xt {
            Some(xt) if self.terms_read_teacher_target() => Some(Self::teacher_on_target(run, xt)?),
            _ => None,
        };
        let mut inputs = DistillInputs::new(&t, &s);
        if let Some(st) = &st_first {
            inputs = inputs.with_student_target(st);
        }
        if let Some(tt) = &tt {
            inputs = inputs.with_teacher_target(tt);
        }
        let mut parts = weighted_terms(&self.terms, &inputs, |w| w.student_weight, &mut values)?;
        if let Some(xt) = xt {
            let st = match st_first {
                Some(st) => st,
                None => run.student.forward(xt, ForwardOpts::TRAIN)?,
            };
            if tt.is_some() {
                self.teacher_target = tt;
            }
            let w = self.cfg.weights;
            let fool = self.uses_ipsm() && w.gamma != 0.0;
            // One softmax of the live logits serves eq. 2 and the patches of
            // eq. 15/16 (and, detached, the discriminator step).
            let probs = if w.target != 0.0 || fool {
                Some(st.logits.softmax(1)?)
            } else {
                None
            };
            if let Some(probs) = probs.as_ref().filter(|_| w.target != 0.0) {
                let tar = maxsquare_loss_with_probs(&st.logits, probs, &self.cfg.maxsquare)?; // eq. 2
                values.push(("tar".into(), tar.to_scalar()?));
                parts.push(("tar".into(), tar.scale(w.target)?));
            }
            // One detached copy of the target logits serves the ranker and
            // both caches.
            let logits = st.logits.detach()?;
            self.target_ranking = None;
            if let Some(probs) = probs.as_ref().filter(|_| fool) {
                let (adv, ranking) = self.fool_term(probs, &logits)?; // eq. 15/16, T's side
                values.push(("adv".into(), adv.to_scalar()?));
                parts.push(("adv".into(), adv.scale(w.gamma)?));
                self.target_ranking = Some(ranking);
            }
            self.target_logits = Some(logits.clone());
            self.target_features = Some(SegOutput {
                logits,
                features: st.features.detach()?,
                bn_stats: Vec::new(),
            });
        }
        let total =
            sum_terms(&parts)?.ok_or_else(|| Error::msg("the student objective is empty"))?;
        let v = run.step_student(&parts, &total, &mut values)?;
        values.push(("total".into(), v));
        Ok(values)
    }

    /// `L_ADV` from the student's side: `D`'s logits on the hard patches
    /// pushed towards "easy". `probs` are the live class probabilities of
    /// the target logits, `detached` the logits cut from the graph, for the
    /// ranking. Also returns the ranking with the patches detached, which
    /// the discriminator step reuses instead of ranking the same logits
    /// again.
    fn fool_term(
        &self,
        probs: &Tensor<B>,
        detached: &Tensor<B>,
    ) -> Result<(Tensor<B>, TargetRanking<B>)> {
        let d = self
            .discriminator
            .as_ref()
            .ok_or_else(|| Error::msg("no discriminator"))?;
        let labels = self.ranker.rank(detached, self.cfg.k)?;
        let hard = labels.hard_indices();
        let patches = split_patches(probs, self.cfg.k)?;
        let hard_patches = patches.patches.index_select(0, &hard)?;
        let positions: Vec<usize> = hard.iter().map(|&i| labels.position_of(i)).collect();
        let out = d.forward(&hard_patches, &positions)?;
        let loss = fool_loss(&out, AdvReduction::Mean)?;
        let patches = PatchBatch {
            patches: patches.patches.detach()?,
            ..patches
        };
        Ok((loss, TargetRanking { labels, patches }))
    }

    /// Discriminator step (eq. 15) on the last target predictions.
    pub fn discriminator_step(&mut self, run: &RunCore<B>) -> Result<StepLosses> {
        let label = run.step_label();
        let at = run.step_at(&label, "discriminator_optim.lr");
        let (Some(d), Some(opt), Some(logits)) = (
            self.discriminator.as_ref(),
            self.discriminator_opt.as_mut(),
            self.target_logits.as_ref(),
        ) else {
            return Ok(Vec::new());
        };
        // The student step ranked these logits already (same values, same
        // ranker): reuse its labels and patches; rank only without them.
        let TargetRanking { labels, patches } = match &self.target_ranking {
            Some(r) => r.clone(),
            None => TargetRanking {
                labels: self.ranker.rank(logits, self.cfg.k)?, // eq. 13–14
                patches: split_patches(&logits.softmax(1)?, self.cfg.k)?,
            },
        };
        let out = d.forward(&patches.patches, &patches.positions)?;
        let loss = discriminator_loss(&out, &labels.targets(), AdvReduction::Mean)?;
        let parts = [("d".to_string(), loss.clone())];
        check_step("discriminator", at, &parts, &loss)?;
        let vars: Vec<Var<B>> = opt.vars().to_vec();
        let refs: Vec<&Var<B>> = vars.iter().collect();
        let grads = grad(&loss, &refs)?;
        opt.step(&grads)?;
        Ok(vec![("d".into(), loss.to_scalar()?)])
    }

    /// One generator warm-up step: **source estimation**, `min_G L_BNS`
    /// (eq. 4) alone, with only the frozen teacher involved. The adversarial
    /// terms of eq. 11 (`−α·L_MAE − β·L_DAD^ss + τ·L_DAD^st`) need a student
    /// worth attacking and a target batch; they start with the student
    /// steps. (Our rule: the paper has no warm-up. A warm-up without `L_BNS`
    /// has no objective, so SFDA has no warm-up then.) The caller counts the
    /// step (`run.warmup_done`).
    pub fn warmup_step(&mut self, run: &RunCore<B>) -> Result<StepLosses> {
        let (img, x) = self.fakes(run)?;
        let t = run.teacher.forward(
            &x,
            ForwardOpts {
                bn: BnMode::Eval,
                collect_bn_stats: true,
            },
        )?;
        let bns = self
            .terms
            .iter()
            .find(|t| t.loss.name() == "bns")
            .ok_or_else(|| {
                Error::msg("the generator warm-up estimates the source with L_BNS, which is off")
            })?;
        // The student is not read; its output is only there to fill the inputs.
        let inputs = DistillInputs::new(&t, &t);
        let total = bns.loss.compute(&inputs)?.scale(bns.generator_weight)?;
        let parts = [("bns".to_string(), total.clone())];
        let v = run.check("generator", "generator_optim.lr", &parts, &total)?;
        let mut values = vec![("bns".to_string(), v)];
        self.step_generator(run, &img, &t, &parts, &total, &mut values)?;
        // eq. 4 as the paper writes it on every warm-up step (the configured
        // `[losses.bns]` norm may differ), so estimates with different
        // options compare against the same real-image reference.
        if !values.iter().any(|(k, _)| k == "bns_eq4") {
            values.push(("bns_eq4".into(), bns_total(&bns_layers(&t.bn_stats)?)));
        }
        Ok(values)
    }

    /// One full iteration: generator step(s) when due, the student step on
    /// the target batch `xt`, then the discriminator step(s). Returns the
    /// loss terms prefixed `g_`, `s_`, `d_`, and the wall time of each part
    /// as `time_g`, `time_s`, `time_d` (seconds).
    pub fn iterate(&mut self, run: &mut RunCore<B>, xt: Option<&Tensor<B>>) -> Result<StepLosses> {
        let mut out = Vec::new();
        let mut clock = Instant::now();
        let device = run.device.clone();
        let mut lap = |name: &str, out: &mut StepLosses| -> Result<()> {
            B::synchronize(&device)?;
            out.push((format!("time_{name}"), clock.elapsed().as_secs_f32()));
            clock = Instant::now();
            Ok(())
        };
        let xt = xt.filter(|_| self.uses_target());
        if self.target_features.is_none() {
            if let Some(xt) = xt {
                // The first generator step needs student features on a target batch.
                let st = no_grad::<B, _>(|| {
                    run.student.forward(
                        xt,
                        ForwardOpts {
                            bn: BnMode::Train {
                                update_running: false,
                            },
                            collect_bn_stats: false,
                        },
                    )
                })?;
                self.target_features = Some(SegOutput {
                    logits: st.logits.detach()?,
                    features: st.features.detach()?,
                    bn_stats: Vec::new(),
                });
                if self.terms_read_teacher_target() {
                    self.teacher_target = Some(Self::teacher_on_target(run, xt)?);
                }
            }
        }
        if run.iteration % self.cfg.generator_every == 0 {
            for _ in 0..self.cfg.generator_steps {
                for (k, v) in self.generator_step(run)? {
                    out.push((format!("g_{k}"), v));
                }
            }
        }
        lap("g", &mut out)?;
        for (k, v) in self.student_step(run, xt)? {
            out.push((format!("s_{k}"), v));
        }
        lap("s", &mut out)?;
        if self.uses_ipsm() {
            for _ in 0..self.cfg.discriminator_steps {
                for (k, v) in self.discriminator_step(run)? {
                    out.push((format!("d_{k}"), v));
                }
            }
        }
        lap("d", &mut out)?;
        Ok(out)
    }
}

/// Teacher confidence, fake-image moments and per-layer `L_BNS` of one fake
/// batch (`bns/<layer>/mean|var`; see `algo::diagnostics`).
fn push_fake_diagnostics<B: Backend>(
    img: &Tensor<B>,
    teacher: &SegOutput<B>,
    values: &mut StepLosses,
) -> Result<()> {
    values.push((
        "teacher_conf".into(),
        mean_max_probability(&teacher.logits)?,
    ));
    let (m, s) = image_moments(img)?;
    values.push(("fake_mean".into(), m));
    values.push(("fake_std".into(), s));
    if !teacher.bn_stats.is_empty() {
        let layers = bns_layers(&teacher.bn_stats)?;
        values.push(("bns_eq4".into(), bns_total(&layers)));
        for l in layers {
            values.push((format!("bns/{}/mean", l.name), l.mean));
            values.push((format!("bns/{}/var", l.name), l.var));
        }
    }
    Ok(())
}

fn trainable<B: Backend>(vars: Vec<crate::model::NamedVar<B>>) -> Vec<Var<B>> {
    vars.into_iter()
        .filter(|v| v.trainable)
        .map(|v| v.var)
        .collect()
}

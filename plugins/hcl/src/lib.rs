//! # sfda-plugin-hcl
//!
//! An adaptation **method** as a plugin: HCL, historical contrastive
//! learning (Huang, Guan, Xiao & Lu, "Model Adaptation: Historical
//! Contrastive Learning for Unsupervised Domain Adaptation without Source
//! Data", NeurIPS 2021), for segmentation. A *historical* model, a snapshot
//! of the student taken every `history_every` steps (the source model at
//! first), guides the current one with two terms:
//!
//! - **HCCD**, historical contrastive category discrimination: the
//!   student's arg-max pseudo-labels, each pixel weighted by how much the
//!   historical and the current predictions agree,
//!   `w = 1 − ½·‖p_now − p_hist‖₁ ∈ [0, 1]`, in a weighted cross-entropy;
//! - **HCID**, historical contrastive instance discrimination: InfoNCE
//!   between each image's pooled, L2-normalised student features (queries)
//!   and the historical model's (keys), the same image being the positive
//!   and the other images of the batch the negatives, temperature
//!   `temperature`, weight `instance_weight`.
//!
//! The method is generic over the backend, registered for tch and candle
//! with one `register_method!`, and built as a cdylib (`sfda adapt --plugin
//! target/release/libsfda_plugin_hcl.so` with `method = "hcl"`).
//!
//! ```toml
//! [method]
//! name = "hcl"
//! history_every = 20
//! temperature = 0.07
//! instance_weight = 1.0
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use sfda_plugin::sfda_core::algo::methods::{
    load_prefixed, prefixed_state, student_objective, AdaptMethod, MethodBuild, MethodInfo,
    TargetBatch,
};
use sfda_plugin::sfda_core::algo::{AdaptConfig, RunCore, StepLosses};
use sfda_plugin::sfda_core::checkpoint::load_seg_model;
use sfda_plugin::sfda_core::nn::VarStore;
use sfda_plugin::sfda_core::{Backend, Error, ForwardOpts, Result, SeedRng, SegModel, Tensor};

/// HCL's options (`[method]` table).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HclOptions {
    /// The historical model becomes a copy of the student every this many
    /// steps (HCL keeps the model of the previous epoch).
    pub history_every: usize,
    /// InfoNCE temperature of HCID (HCL: 0.07, MoCo's).
    pub temperature: f64,
    /// Weight of HCID next to HCCD (1: the paper's sum).
    pub instance_weight: f64,
}

impl Default for HclOptions {
    fn default() -> Self {
        HclOptions {
            history_every: 20,
            temperature: 0.07,
            instance_weight: 1.0,
        }
    }
}

/// The registered name.
pub const NAME: &str = "hcl";

/// Parses and checks the options of `cfg.method`.
pub fn options(cfg: &AdaptConfig) -> Result<HclOptions> {
    let o: HclOptions = cfg.method.parse_options()?;
    if o.history_every == 0 {
        return Err(cfg.method.bad_option("history_every", "must be at least 1"));
    }
    if !(o.temperature.is_finite() && o.temperature > 0.0) {
        return Err(cfg.method.bad_option(
            "temperature",
            format!("must be positive, got {}", o.temperature),
        ));
    }
    if !(o.instance_weight.is_finite() && o.instance_weight >= 0.0) {
        return Err(cfg.method.bad_option(
            "instance_weight",
            format!("must be finite and non-negative, got {}", o.instance_weight),
        ));
    }
    Ok(o)
}

/// What HCL does with a config: every iteration, no warm-up.
pub fn describe(cfg: &AdaptConfig) -> Result<MethodInfo> {
    options(cfg)?;
    Ok(MethodInfo::adapting("HCL (plugin)", cfg))
}

/// The HCL method: its options and the historical model.
pub struct Hcl<B: Backend> {
    opts: HclOptions,
    historical: Box<dyn SegModel<B>>,
}

/// Builds HCL: the historical model starts as a copy of the source model.
pub fn build<B: Backend>(b: &MethodBuild<B>) -> Result<Box<dyn AdaptMethod<B>>> {
    let opts = options(&b.cfg)?;
    let seed = SeedRng::derive(b.cfg.seed, "hcl-historical").next_u64();
    let vs = VarStore::<B>::new(b.device.clone(), seed);
    let (historical, _) = load_seg_model::<B>(&b.source, &vs.root())?;
    Ok(Box::new(Hcl { opts, historical }))
}

sfda_plugin::register_method! {
    name: NAME,
    summary: "HCL (NeurIPS 2021): historical contrastive learning (HCCD + HCID)",
    describe: describe,
    make: build,
}
sfda_plugin::declare_plugin!();

/// HCCD's per-pixel targets of `[n, c, h, w]` probabilities: a tensor that
/// holds, at each pixel's arg-max class of `now`, the pixel's weight
/// `w = 1 − ½‖now − hist‖₁` divided by the sum of the weights (0 elsewhere),
/// and the mean weight.
pub fn hccd_targets(now: &[f32], hist: &[f32], shape: &[usize]) -> (Vec<f32>, f32) {
    let (n, c, hw) = (shape[0], shape[1], shape[2] * shape[3]);
    let mut out = vec![0f32; n * c * hw];
    let mut weights = Vec::with_capacity(n * hw);
    for i in 0..n {
        for p in 0..hw {
            let at = |k: usize| (i * c + k) * hw + p;
            let (mut arg, mut best, mut l1) = (0usize, f32::MIN, 0f32);
            for k in 0..c {
                let v = now[at(k)];
                l1 += (v - hist[at(k)]).abs();
                if v > best {
                    best = v;
                    arg = k;
                }
            }
            let w = (1.0 - 0.5 * l1).clamp(0.0, 1.0);
            out[at(arg)] = w;
            weights.push(w);
        }
    }
    let sum: f32 = weights.iter().sum();
    if sum > 0.0 {
        out.iter_mut().for_each(|v| *v /= sum);
    }
    (out, sum / weights.len().max(1) as f32)
}

/// Pooled, L2-normalised features `[n, d]` of `[n, d, h, w]` maps.
fn embed<B: Backend>(features: &Tensor<B>) -> Result<Tensor<B>> {
    let q = features.mean_dims(&[2, 3], false)?;
    let norm = q.sqr()?.sum_dims(&[1], true)?.add_scalar(1e-12)?.sqrt()?;
    q.div(&norm)
}

impl<B: Backend> Hcl<B> {
    /// HCID: InfoNCE of student queries against historical keys (eq. 1 of
    /// HCL), the diagonal being the positives.
    fn hcid(&self, student: &Tensor<B>, historical: &Tensor<B>) -> Result<Tensor<B>> {
        let q = embed(student)?;
        let k = embed(&historical.detach()?)?;
        let n = q.shape()[0];
        let logits = q
            .matmul(&k.transpose(0, 1)?)?
            .scale(1.0 / self.opts.temperature)?;
        let mut eye = vec![0f32; n * n];
        for i in 0..n {
            eye[i * n + i] = 1.0 / n as f32;
        }
        let eye = Tensor::<B>::from_f32(&eye, &[n, n], &q.device())?;
        logits.log_softmax(1)?.mul(&eye)?.sum_all()?.neg()
    }

    /// The historical model becomes a copy of the student.
    fn snapshot(&self, student: &dyn SegModel<B>) -> Result<()> {
        let now = student.named_vars();
        for h in self.historical.named_vars() {
            let s = now
                .iter()
                .find(|s| s.name == h.name)
                .ok_or_else(|| Error::msg(format!("HCL: the student has no '{}'", h.name)))?;
            h.var.set(&s.var.tensor().detach()?)?;
        }
        Ok(())
    }
}

impl<B: Backend> AdaptMethod<B> for Hcl<B> {
    fn name(&self) -> &str {
        NAME
    }

    fn step(
        &mut self,
        run: &mut RunCore<B>,
        target: Option<&TargetBatch<'_, B>>,
    ) -> Result<StepLosses> {
        let t = target.ok_or_else(|| Error::msg("HCL needs target images"))?;
        let hist = self.historical.forward(&t.images, ForwardOpts::EVAL)?;
        let st = run.student.forward(&t.images, ForwardOpts::TRAIN)?;
        let now = st.logits.detach()?.softmax(1)?;
        let shape = now.shape();
        let (targets, mean_w) = hccd_targets(
            &now.to_vec()?,
            &hist.logits.detach()?.softmax(1)?.to_vec()?,
            &shape,
        );
        let targets = Tensor::<B>::from_f32(&targets, &shape, &run.device)?;
        let hccd = st.logits.log_softmax(1)?.mul(&targets)?.sum_all()?.neg()?;
        let mut values = vec![
            ("hccd".to_string(), hccd.to_scalar()?),
            ("weight".to_string(), mean_w),
        ];
        let mut parts = vec![("hccd".to_string(), hccd)];
        if self.opts.instance_weight > 0.0 && shape[0] > 1 {
            let hcid = self.hcid(&st.features, &hist.features)?;
            values.push(("hcid".into(), hcid.to_scalar()?));
            parts.push(("hcid".into(), hcid.scale(self.opts.instance_weight)?));
        }
        let out = student_objective(run, parts, values)?;
        if (run.iteration + 1) % self.opts.history_every == 0 {
            self.snapshot(run.student.as_ref())?;
        }
        Ok(out)
    }

    fn state(&self) -> Result<Vec<(String, Tensor<B>)>> {
        Ok(prefixed_state(
            "hcl.historical",
            self.historical.named_vars(),
        ))
    }

    fn load_state(&mut self, tensors: &BTreeMap<String, Tensor<B>>, file: &Path) -> Result<()> {
        load_prefixed(
            "hcl.historical",
            self.historical.named_vars(),
            tensors,
            file,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hccd_weights_agreement_and_targets_the_current_argmax() {
        // One image, two classes, two pixels: the models agree on pixel 0
        // (class 0) and disagree on pixel 1.
        let now = [0.9f32, 0.2, 0.1, 0.8];
        let hist = [0.9f32, 0.8, 0.1, 0.2];
        let (t, mean_w) = hccd_targets(&now, &hist, &[1, 2, 1, 2]);
        // w0 = 1, w1 = 1 - 0.5 * 1.2 = 0.4; normalised by 1.4.
        let w = [1.0 / 1.4, 0.4 / 1.4];
        assert!((t[0] - w[0]).abs() < 1e-6 && t[1] == 0.0);
        assert!(t[2] == 0.0 && (t[3] - w[1]).abs() < 1e-6);
        assert!((mean_w - 0.7).abs() < 1e-6);
    }

    #[test]
    fn bad_options_are_named() {
        let mut cfg = AdaptConfig {
            method: sfda_plugin::sfda_core::algo::MethodConfig::named(NAME),
            ..AdaptConfig::default()
        };
        assert_eq!(describe(&cfg).unwrap().label, "HCL (plugin)");
        cfg.method
            .options
            .insert("history_evry".into(), 3i64.into());
        let e = describe(&cfg).unwrap_err().to_string();
        assert!(e.contains("history_evry"), "{e}");
        cfg.method.options.clear();
        cfg.method.options.insert("temperature".into(), 0.0.into());
        let e = describe(&cfg).unwrap_err().to_string();
        assert!(e.contains("method.temperature"), "{e}");
    }
}

//! The device-comparison job: the same network, weights and input on the CPU
//! and on another device of the same backend (e.g. `cuda:0`), forward and
//! backward, and how far apart the results are. Answers "does my GPU compute
//! what the CPU computes?" before a long run.
//!
//! Weights come from the seeded host initialisers and inputs from the seeded
//! host generator, so both copies start bit-identical without a transfer.

use std::time::Instant;

use crate::model::{ForwardOpts, SegModel};
use crate::net::build_seg_model;
use crate::nn::VarStore;
use crate::rng::SeedRng;
use crate::tensor::{grad, Backend, Tensor, Var};
use crate::Result;

/// Which networks to compare, at what input size.
#[derive(Debug, Clone)]
pub struct CompareJob {
    /// Architectures (names accepted by [`build_seg_model`]).
    pub archs: Vec<String>,
    /// Input `(height, width)`.
    pub size: (usize, usize),
    /// Batch size (≥ 2: training-mode BatchNorm needs a batch).
    pub batch: usize,
    /// Number of classes.
    pub num_classes: usize,
    /// Seed of weights and inputs.
    pub seed: u64,
}

/// Differences for one network, each the largest absolute difference
/// divided by the largest absolute CPU value of the same tensor.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CompareRow {
    /// Architecture.
    pub arch: String,
    /// Number of trainable parameters.
    pub params: usize,
    /// Logits (training-mode forward).
    pub logits_rel: f32,
    /// Backbone features.
    pub features_rel: f32,
    /// Gradient w.r.t. the input image (what BNS trains the generator by).
    pub input_grad_rel: f32,
    /// Worst gradient over the trainable parameters.
    pub param_grad_rel: f32,
    /// Forward + backward wall time on the CPU, milliseconds.
    pub cpu_ms: f64,
    /// Forward + backward wall time on the device (synchronised), milliseconds.
    pub device_ms: f64,
}

/// Forward + backward results that are compared.
struct Pass<B: Backend> {
    logits: Tensor<B>,
    features: Tensor<B>,
    grads: Vec<Option<Tensor<B>>>,
    params: usize,
    millis: f64,
}

impl CompareJob {
    /// Compares every architecture between the CPU and `dev`.
    pub fn run<B: Backend>(&self, dev: &B::Device) -> Result<Vec<CompareRow>> {
        if self.batch < 2 {
            crate::bail!("compare: batch must be at least 2 (training-mode BatchNorm)");
        }
        let cpu = B::device(crate::device::DeviceSpec::Cpu)?;
        self.archs
            .iter()
            .map(|arch| {
                let a = self.pass::<B>(arch, &cpu)?;
                let b = self.pass::<B>(arch, dev)?;
                let mut param_rel = 0f32;
                for (ga, gb) in a.grads[1..].iter().zip(&b.grads[1..]) {
                    if let (Some(ga), Some(gb)) = (ga, gb) {
                        param_rel = param_rel.max(rel_diff(ga, gb)?);
                    }
                }
                let input_rel = match (&a.grads[0], &b.grads[0]) {
                    (Some(ga), Some(gb)) => rel_diff(ga, gb)?,
                    _ => crate::bail!("compare: {arch} returned no input gradient"),
                };
                Ok(CompareRow {
                    arch: arch.clone(),
                    params: a.params,
                    logits_rel: rel_diff(&a.logits, &b.logits)?,
                    features_rel: rel_diff(&a.features, &b.features)?,
                    input_grad_rel: input_rel,
                    param_grad_rel: param_rel,
                    cpu_ms: a.millis,
                    device_ms: b.millis,
                })
            })
            .collect()
    }

    fn pass<B: Backend>(&self, arch: &str, dev: &B::Device) -> Result<Pass<B>> {
        let vs = VarStore::<B>::new(dev.clone(), self.seed);
        let model: Box<dyn SegModel<B>> = build_seg_model(arch, self.num_classes, &vs.root())?;
        let (h, w) = self.size;
        let mut rng = SeedRng::derive(self.seed, "compare-input");
        let x = Var::new(&Tensor::<B>::randn(
            &[self.batch, 3, h, w],
            0.0,
            1.0,
            &mut rng,
            dev,
        )?)?;
        let vars = model.trainable_vars();
        let t0 = Instant::now();
        let out = model.forward(&x.tensor(), ForwardOpts::TRAIN)?;
        // A loss touching every logit and feature with distinct weights.
        let lw = Tensor::<B>::randn(&out.logits.shape(), 0.0, 1.0, &mut rng, dev)?;
        let fw = Tensor::<B>::randn(&out.features.shape(), 0.0, 1.0, &mut rng, dev)?;
        let loss = out
            .logits
            .mul(&lw)?
            .sum_all()?
            .add(&out.features.mul(&fw)?.sum_all()?)?;
        let mut all: Vec<&Var<B>> = vec![&x];
        all.extend(vars.iter());
        let grads = grad(&loss, &all)?;
        B::synchronize(dev)?;
        let millis = t0.elapsed().as_secs_f64() * 1e3;
        Ok(Pass {
            logits: out.logits,
            features: out.features,
            grads,
            params: vars
                .iter()
                .map(|v| v.shape().iter().product::<usize>())
                .sum(),
            millis,
        })
    }
}

/// `max|a − b| / max|a|` (0 when both are all zeros), computed on the host.
fn rel_diff<B: Backend>(a: &Tensor<B>, b: &Tensor<B>) -> Result<f32> {
    let (a, b) = (a.to_vec()?, b.to_vec()?);
    if a.len() != b.len() {
        crate::bail!("compare: tensors of {} and {} values", a.len(), b.len());
    }
    let scale = a.iter().fold(0f32, |m, v| m.max(v.abs()));
    let diff = a
        .iter()
        .zip(&b)
        .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    Ok(if scale == 0.0 { diff } else { diff / scale })
}

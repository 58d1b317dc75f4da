//! The static plugin path: a custom distillation loss defined in this
//! program, registered with `inventory` (through `sfda_plugin::register_loss!`)
//! and then selected by name in the adaptation config like any built-in —
//! no cdylib, no `--plugin`.
//!
//! The loss is Hinton et al.'s knowledge distillation ("Distilling the
//! Knowledge in a Neural Network", 2015): `T² · KL(softmax(t/T) ‖
//! softmax(s/T))` per pixel, averaged, between the teacher's and the
//! student's logits on the fake batch. The program builds a random
//! `deeplabv3-mini` source model, then runs a tiny adaptation (3 iterations
//! on embedded synthetic target images) on the backend named on the command
//! line, with the new loss next to the paper's.
//!
//! ```sh
//! cargo run --release --example static_loss -- candle
//! ```

use serde::Deserialize;
use sfda_core::algo::AdaptConfig;
use sfda_core::checkpoint::{self, CheckpointMeta};
use sfda_core::dispatch;
use sfda_core::dispatch::{Job, JobOutput};
use sfda_core::job::{AdaptJob, DataSpec};
use sfda_core::loss::{toml, DistillInputs, DistillLoss};
use sfda_core::net::build_seg_model;
use sfda_core::nn::VarStore;
use sfda_core::registry::ComponentKind;
use sfda_core::{Backend, DeviceSpec, Error, Result, Tensor};
use sfda_plugin::TchBackend;

/// Options of [`SoftTargets`] (the `options` table of its config entry).
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct SoftTargetsOptions {
    /// Softmax temperature `T` (> 0).
    temperature: f64,
}

impl Default for SoftTargetsOptions {
    fn default() -> Self {
        SoftTargetsOptions { temperature: 2.0 }
    }
}

/// Knowledge distillation with soft targets.
struct SoftTargets {
    temperature: f64,
}

impl SoftTargets {
    /// The registered constructor: one generic function, instantiated for
    /// every backend by `register_loss!`.
    fn build<B: Backend>(options: &toml::Value) -> Result<Box<dyn DistillLoss<B>>> {
        let o: SoftTargetsOptions =
            options
                .clone()
                .try_into()
                .map_err(|e: toml::de::Error| Error::Config {
                    key: "soft_targets".into(),
                    msg: e.message().to_string(),
                })?;
        if !(o.temperature.is_finite() && o.temperature > 0.0) {
            return Err(Error::Config {
                key: "soft_targets.temperature".into(),
                msg: format!("must be positive, got {}", o.temperature),
            });
        }
        Ok(Box::new(SoftTargets {
            temperature: o.temperature,
        }))
    }
}

impl<B: Backend> DistillLoss<B> for SoftTargets {
    fn name(&self) -> &str {
        "soft_targets"
    }
    fn compute(&self, inputs: &DistillInputs<'_, B>) -> Result<Tensor<B>> {
        let t = 1.0 / self.temperature;
        let teacher = inputs.teacher_fake.logits.scale(t)?;
        let student = inputs.student_fake.logits.scale(t)?;
        let (p_log, q_log) = (teacher.log_softmax(1)?, student.log_softmax(1)?);
        // KL(p ‖ q) = Σ_c p (log p − log q), summed over classes, mean over pixels.
        let kl = p_log
            .exp()?
            .mul(&p_log.sub(&q_log)?)?
            .sum_dims(&[1], false)?;
        kl.mean_all()?.scale(self.temperature * self.temperature)
    }
}

sfda_plugin::register_loss! {
    name: "soft_targets",
    summary: "Hinton's soft-target distillation, T²·KL(teacher ‖ student) at temperature T",
    make: SoftTargets::build,
}

const CONFIG: &str = r#"
iterations = 3
batch_size = 2
fake_batch_size = 2
fake_size = [32, 64]
target_size = [64, 32]
net_size = "mini"
k = 2
checkpoint_every = 0

# The custom loss, by its registered name, with its own weights and options.
[[extra_losses]]
name = "soft_targets"
generator_weight = -0.5
student_weight = 0.5
options = { temperature = 2.0 }
"#;

fn main() -> Result<()> {
    let backend = std::env::args().nth(1).unwrap_or_else(|| "tch".to_string());
    for c in dispatch::components() {
        if c.kind == ComponentKind::Loss {
            println!(
                "registered loss {:<14} {} ({})",
                c.name, c.version, c.origin
            );
        }
    }

    let dir = std::env::temp_dir().join(format!("sfda-static-loss-{}", std::process::id()));
    let source = dir.join("source.safetensors");
    let dev = TchBackend::device(DeviceSpec::Cpu)?;
    let vs = VarStore::<TchBackend>::new(dev, 0);
    let model = build_seg_model::<TchBackend>("deeplabv3-mini", 19, &vs.root())?;
    let meta = CheckpointMeta::for_model(model.as_ref()).with_class_set("cityscapes19");
    checkpoint::save(&source, model.as_ref(), &meta)?;

    let job = Job::Adapt(AdaptJob {
        cfg: AdaptConfig::from_toml(CONFIG, "static_loss example")?,
        source,
        target: Some(DataSpec::parse(
            "synth:target:train:4",
            None,
            Some("train"),
        )?),
        val: Some(DataSpec::parse("synth:target:val:2", None, Some("val"))?),
        out: dir.join("out"),
        mode: sfda_core::run_dir::WriteMode::New,
        stop_after: None,
        progress: false,
        evaluate_source: true,
    });
    // The backend is picked by name at run time, as the CLI does.
    let entry = dispatch::backend_by_name(&backend)?;
    if let JobOutput::Adapt(report) = (entry.run)(DeviceSpec::Cpu, &job)? {
        let log = std::fs::read_to_string(dir.join("out").join("train_log.json"))
            .map_err(|e| Error::io(dir.join("out"), e))?;
        let v: serde_json::Value =
            serde_json::from_str(&log).map_err(|e| Error::msg(e.to_string()))?;
        let last = v
            .as_array()
            .and_then(|a| a.last())
            .cloned()
            .unwrap_or_default();
        println!(
            "{backend}: {} iterations; last student soft_targets term {:.5}, generator {:.5}",
            report.iterations,
            last["s_soft_targets"].as_f64().unwrap_or(f64::NAN),
            last["g_soft_targets"].as_f64().unwrap_or(f64::NAN)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

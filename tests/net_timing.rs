//! Wall time of one training step (forward in train mode, cross-entropy-like
//! loss, backward, SGD update) of the CPU presets at the demo size, 256×128
//! batch 8, on each backend. Ignored by default (timings, not checks); run
//! with `cargo test --release --test net_timing -- --ignored --nocapture`.

mod net_common;

use std::time::Instant;

use net_common::{candle_cpu, normal, tch_cpu};
use sfda_backend_candle::CandleBackend;
use sfda_backend_tch::TchBackend;
use sfda_core::net::build_seg_model;
use sfda_core::nn::VarStore;
use sfda_core::optim::{minimize, Sgd, SgdConfig};
use sfda_core::{Backend, ForwardOpts, Tensor};

fn train_steps<B: Backend>(dev: &B::Device, arch: &str, steps: usize) -> Vec<f64> {
    let vs = VarStore::<B>::new(dev.clone(), 0);
    let model = build_seg_model::<B>(arch, 19, &vs.root()).unwrap();
    let mut opt = Sgd::new(model.trainable_vars(), SgdConfig::default());
    let shape = [8, 3, 128, 256];
    let x = Tensor::<B>::from_f32(&normal(1, shape.iter().product()), &shape, dev).unwrap();
    let mut times = Vec::new();
    for _ in 0..steps {
        let t = Instant::now();
        let out = model.forward(&x, ForwardOpts::TRAIN).unwrap();
        let loss = out
            .logits
            .log_softmax(1)
            .unwrap()
            .mean_all()
            .unwrap()
            .neg()
            .unwrap();
        minimize(&mut opt, &loss).unwrap();
        B::synchronize(dev).unwrap();
        times.push(t.elapsed().as_secs_f64());
    }
    times
}

fn report<B: Backend>(dev: &B::Device, arch: &str, steps: usize) {
    let t = train_steps::<B>(dev, arch, steps);
    let rest = &t[1..];
    let mean = rest.iter().sum::<f64>() / rest.len() as f64;
    let min = rest.iter().cloned().fold(f64::INFINITY, f64::min);
    eprintln!(
        "{arch} on {}: one train step at 8×3×128×256: mean {:.3} s, min {:.3} s (first {:.3} s)",
        B::NAME,
        mean,
        min,
        t[0]
    );
}

#[test]
#[ignore]
fn train_step_timing_tch() {
    report::<TchBackend>(&tch_cpu(), "deeplabv3-mini", 6);
    report::<TchBackend>(&tch_cpu(), "segnet-mini", 6);
}

#[test]
#[ignore]
fn train_step_timing_candle() {
    report::<CandleBackend>(&candle_cpu(), "deeplabv3-mini", 3);
    report::<CandleBackend>(&candle_cpu(), "segnet-mini", 3);
}

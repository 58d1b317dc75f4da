//! One SFDA iteration through the library API, on either backend: build a
//! (randomly initialised) source model, save it as a checkpoint, assemble the
//! adaptation run from the demo preset and run one generator, student and
//! discriminator step on embedded target images, printing every loss term.
//!
//! ```sh
//! cargo run --release --example one_iteration -- candle
//! ```

use std::sync::Arc;

use sfda_backend_candle::CandleBackend;
use sfda_backend_tch::TchBackend;
use sfda_core::algo::{build_run, AdaptConfig};
use sfda_core::checkpoint::{self, CheckpointMeta};
use sfda_core::data::{DataLoader, Domain, LoaderConfig, Split, SynthDataset, SynthSpec};
use sfda_core::job::DEMO_PRESET;
use sfda_core::net::build_seg_model;
use sfda_core::nn::VarStore;
use sfda_core::{Backend, DeviceSpec, Result};

fn one_iteration<B: Backend>() -> Result<()> {
    let dev = B::device(DeviceSpec::Cpu)?;
    let dir = std::env::temp_dir().join(format!("sfda-example-{}", std::process::id()));
    let source = dir.join("source.safetensors");
    let vs = VarStore::<B>::new(dev.clone(), 0);
    let model = build_seg_model::<B>("deeplabv3-mini", 19, &vs.root())?;
    let meta = CheckpointMeta::for_model(model.as_ref()).with_class_set("cityscapes19");
    checkpoint::save(&source, model.as_ref(), &meta)?;

    let mut cfg = AdaptConfig::from_toml(DEMO_PRESET, "demo preset")?;
    cfg.batch_size = 4;
    cfg.fake_batch_size = 4;
    let mut run = build_run::<B>(&cfg, &source, &dev, None)?;

    let spec = SynthSpec::new(Domain::Target, Split::Train, 8).with_size(128, 64);
    let mut lc = LoaderConfig::train(cfg.batch_size, 0, None);
    lc.labels = false; // source-free: target labels are never read
    let target = DataLoader::new(Arc::new(SynthDataset::checked(spec)?), lc)?;

    for (name, value) in run.iterate(Some(&target))? {
        println!("{:<12} {value:.4}", name);
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn main() -> Result<()> {
    match std::env::args().nth(1).as_deref() {
        Some("candle") => one_iteration::<CandleBackend>(),
        _ => one_iteration::<TchBackend>(),
    }
}

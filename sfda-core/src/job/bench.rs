//! The `bench` job: whole SFDA iterations timed after warm-up, with the
//! per-step breakdown the loop records (`time_data`, `time_g`, `time_s`,
//! `time_d`), images per second and the process's peak resident memory.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::algo::{build_run, AdaptConfig};
use crate::checkpoint::{self, CheckpointMeta};
use crate::data::{DataLoader, Domain, LoaderConfig, Split, SynthDataset, SynthSpec};
use crate::net::build_seg_model;
use crate::nn::VarStore;
use crate::tensor::Backend;
use crate::{Error, Result};

/// Time whole SFDA iterations.
#[derive(Debug, Clone)]
pub struct BenchJob {
    /// The adaptation config (batch sizes, fake size, networks).
    pub cfg: AdaptConfig,
    /// Segmentation architecture (random weights: timing does not depend on them).
    pub arch: String,
    /// Target image size `(width, height)`.
    pub size: (u32, u32),
    /// Untimed iterations first.
    pub warmup: usize,
    /// Timed iterations.
    pub iters: usize,
}

/// Mean wall time per iteration and its parts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchResult {
    /// Backend name.
    pub backend: String,
    /// Device.
    pub device: String,
    /// Mean seconds of each part (`data`, `g`, `s`, `d`) per iteration.
    pub parts: Vec<(String, f64)>,
    /// Mean seconds per whole iteration.
    pub iteration: f64,
    /// Target images per second.
    pub images_per_sec: f64,
    /// Peak resident memory of the process so far (MiB; cumulative over the
    /// backends benchmarked in one process), from `/proc/self/status`.
    pub peak_rss_mib: Option<f64>,
    /// The backend's CPU thread count during the run, where it tells
    /// ([`crate::cpu_threads`]).
    #[serde(default)]
    pub cpu_threads: Option<usize>,
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

impl BenchJob {
    /// Runs it with backend `B`.
    pub fn run<B: Backend>(&self, dev: &B::Device) -> Result<BenchResult> {
        if self.iters == 0 {
            return Err(Error::Config {
                key: "iters".into(),
                msg: "must be at least 1".into(),
            });
        }
        let dir =
            std::env::temp_dir().join(format!("sfda-bench-{}-{}", B::NAME, std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let src = dir.join("source.safetensors");
        {
            let vs = VarStore::<B>::new(dev.clone(), 0);
            let model = build_seg_model::<B>(&self.arch, 19, &vs.root())?;
            let meta = CheckpointMeta::for_model(model.as_ref()).with_class_set("cityscapes19");
            checkpoint::save(&src, model.as_ref(), &meta)?;
        }
        let mut cfg = self.cfg.clone();
        cfg.iterations = self.warmup + self.iters;
        cfg.generator_warmup = 0;
        let mut run = build_run::<B>(&cfg, &src, dev, None);
        let _ = std::fs::remove_dir_all(&dir);
        let run = run
            .as_mut()
            .map_err(|e| Error::msg(format!("bench setup: {e}")))?;
        let spec = SynthSpec::new(
            Domain::Target,
            Split::Train,
            cfg.batch_size * cfg.iterations.max(1),
        )
        .with_size(self.size.0, self.size.1);
        let mut lc = LoaderConfig::train(cfg.batch_size, 0, None);
        lc.labels = false;
        lc.prefetch = 0;
        let loader = DataLoader::new(Arc::new(SynthDataset::checked(spec)?), lc)?;
        for _ in 0..self.warmup {
            run.iterate(Some(&loader))?;
        }
        let names = ["data", "g", "s", "d"];
        let mut sums = [0f64; 4];
        for _ in 0..self.iters {
            crate::cpu_threads::tick::<B>();
            for (k, v) in run.iterate(Some(&loader))? {
                if let Some(i) = names.iter().position(|n| k == format!("time_{n}")) {
                    sums[i] += v as f64;
                }
            }
        }
        let n = self.iters as f64;
        let parts: Vec<(String, f64)> = names
            .iter()
            .zip(sums)
            .map(|(k, s)| (k.to_string(), s / n))
            .collect();
        let iteration: f64 = parts.iter().map(|(_, v)| v).sum();
        Ok(BenchResult {
            backend: B::NAME.into(),
            device: B::device_spec(dev).to_string(),
            parts,
            iteration,
            images_per_sec: cfg.batch_size as f64 / iteration.max(1e-12),
            peak_rss_mib: peak_rss_mib(),
            cpu_threads: B::cpu_threads(),
        })
    }
}

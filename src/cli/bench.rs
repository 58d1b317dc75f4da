//! `sfda bench`: whole SFDA iterations timed on one or all backends, side by
//! side in one run, with the ratio between them.

use std::path::PathBuf;

use clap::Args;
use sfda_core::algo::AdaptConfig;
use sfda_core::dispatch::{Job, JobOutput};
use sfda_core::job::{BenchJob, BenchResult, DEMO_PRESET};
use sfda_core::{dispatch, DeviceSpec};

/// Arguments of `sfda bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Adaptation config to time (default: the demo preset).
    #[arg(long)]
    preset: Option<PathBuf>,
    /// Segmentation architecture (a built-in or a plugin's; see `sfda plugins`).
    #[arg(long, default_value = "deeplabv3-mini")]
    arch: String,
    /// Target image size WIDTHxHEIGHT.
    #[arg(long, default_value = "256x128", value_parser = super::common::parse_wh)]
    size: [u32; 2],
    /// Backend: tch, candle or all.
    #[arg(long, default_value = "all")]
    backend: String,
    /// Device: cpu or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Timed iterations.
    #[arg(long, default_value_t = 5)]
    iters: usize,
    /// Untimed warm-up iterations.
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Measure beside busy processes: for each count N in the list (e.g.
    /// `0,1,3`), start N processes that spin on the CPU, then time the
    /// iteration in a fresh `sfda bench` process (which sizes its thread
    /// pools at start-up, as any run does), and report each time against
    /// the one with no competitor, measured in the same run.
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    compete: Vec<usize>,
    #[command(flatten)]
    plugins: super::common::PluginArgs,
}

/// Runs `sfda bench`.
pub fn run(a: BenchArgs) -> anyhow::Result<()> {
    if !a.compete.is_empty() {
        return super::bench_compete::run(&a.compete, a.json);
    }
    let cfg = match &a.preset {
        Some(p) => AdaptConfig::from_file(p)?,
        None => AdaptConfig::from_toml(DEMO_PRESET, "presets/demo.toml")?,
    };
    let config_dir = a.preset.as_deref().and_then(|p| p.parent());
    a.plugins.load(&cfg.plugin_paths(config_dir))?;
    let device: DeviceSpec = a.device.parse()?;
    let entries = if a.backend == "all" {
        dispatch::backends()
    } else {
        vec![dispatch::backend_by_name(&a.backend)?]
    };
    let job = Job::Bench(BenchJob {
        cfg: cfg.clone(),
        arch: a.arch.clone(),
        size: (a.size[0], a.size[1]),
        warmup: a.warmup,
        iters: a.iters,
    });
    let mut results: Vec<BenchResult> = Vec::new();
    for e in entries {
        eprintln!(
            "timing {} on {device} ({} warm-up + {} timed iterations)...",
            e.name, a.warmup, a.iters
        );
        match (e.run)(device, &job)? {
            JobOutput::Bench(mut r) => {
                // candle sizes its pools from RAYON_NUM_THREADS (set at
                // start-up by `cpu_threads::prepare_process` unless given).
                if r.cpu_threads.is_none() && r.device == "cpu" {
                    r.cpu_threads = std::env::var("RAYON_NUM_THREADS")
                        .ok()
                        .and_then(|v| v.parse().ok());
                }
                results.push(r)
            }
            _ => anyhow::bail!("backend {} returned no bench result", e.name),
        }
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
        return Ok(());
    }
    println!(
        "SFDA iteration, {} at {}x{}, batch {} target + {} fakes at {}x{} ({} timed iterations after {} warm-up)",
        a.arch, a.size[0], a.size[1], cfg.batch_size, cfg.fake_batch_size, cfg.fake_size[1], cfg.fake_size[0], a.iters, a.warmup
    );
    println!(
        "{:<8} {:<7} {:>9} {:>9} {:>9} {:>9} {:>10} {:>9} {:>12} {:>9}",
        "backend",
        "device",
        "data s",
        "gen s",
        "student s",
        "disc s",
        "iter s",
        "img/s",
        "peak RSS MiB",
        "ratio"
    );
    let best = results
        .iter()
        .map(|r| r.iteration)
        .fold(f64::INFINITY, f64::min);
    for r in &results {
        let p = |k: &str| {
            r.parts
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| *v)
                .unwrap_or(0.0)
        };
        println!(
            "{:<8} {:<7} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>10.3} {:>9.2} {:>12} {:>8.2}x",
            r.backend,
            r.device,
            p("data"),
            p("g"),
            p("s"),
            p("d"),
            r.iteration,
            r.images_per_sec,
            r.peak_rss_mib
                .map(|m| format!("{m:.0}"))
                .unwrap_or_else(|| "n/a".into()),
            r.iteration / best
        );
    }
    println!("ratio = iteration time / fastest backend's, measured in this run");
    Ok(())
}

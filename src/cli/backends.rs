//! `sfda backends`: what is compiled in and where it can run.

use clap::Args;
use sfda_core::dispatch;
use sfda_core::dispatch::{Job, JobOutput};
use sfda_core::job::{CompareJob, CompareRow};
use sfda_core::DeviceSpec;

/// Arguments of `sfda backends`.
#[derive(Debug, Args)]
pub struct BackendsArgs {
    /// Also run a small forward/backward on every usable device to prove it works.
    #[arg(long)]
    pub probe: bool,
    /// Compare networks' forward and backward between the CPU and this
    /// device (e.g. `cuda:0`), same weights and input, per backend.
    #[arg(long, value_name = "DEVICE")]
    pub compare: Option<String>,
    /// With --compare: the backend (tch, candle or all).
    #[arg(long, default_value = "all")]
    pub backend: String,
    /// With --compare: architectures, comma-separated.
    #[arg(
        long,
        default_value = "deeplabv3-mini,segnet-mini",
        value_delimiter = ','
    )]
    pub archs: Vec<String>,
    /// With --compare: input size WIDTHxHEIGHT.
    #[arg(long, default_value = "256x128", value_parser = super::common::parse_wh)]
    pub size: [u32; 2],
    /// With --compare: batch size (at least 2).
    #[arg(long, default_value_t = 2)]
    pub batch: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `sfda backends --compare DEVICE`: one row per backend and architecture.
fn compare(args: &BackendsArgs, device: &str) -> anyhow::Result<()> {
    let device: DeviceSpec = device.parse()?;
    let entries = if args.backend == "all" {
        dispatch::backends()
    } else {
        vec![dispatch::backend_by_name(&args.backend)?]
    };
    let job = Job::Compare(CompareJob {
        archs: args.archs.clone(),
        size: (args.size[1] as usize, args.size[0] as usize),
        batch: args.batch,
        num_classes: 19,
        seed: 0,
    });
    let mut rows: Vec<(&str, CompareRow)> = Vec::new();
    for e in entries {
        match (e.run)(device, &job)? {
            JobOutput::Compare(r) => rows.extend(r.into_iter().map(|r| (e.name, r))),
            _ => anyhow::bail!("{}: unexpected job output", e.name),
        }
    }
    if args.json {
        let v: Vec<_> = rows
            .iter()
            .map(|(b, r)| serde_json::json!({"backend": b, "device": device.to_string(), "row": r}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!(
        "cpu vs {device}: max |difference| / max |cpu value|, batch {} at {}x{}, training-mode forward + backward",
        args.batch, args.size[0], args.size[1]
    );
    println!(
        "{:<8} {:<20} {:>11} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "backend",
        "arch",
        "params",
        "logits",
        "features",
        "d input",
        "d params",
        "cpu ms",
        "dev ms"
    );
    for (b, r) in &rows {
        println!(
            "{:<8} {:<20} {:>11} {:>10.2e} {:>10.2e} {:>10.2e} {:>10.2e} {:>10.1} {:>10.1}",
            b,
            r.arch,
            r.params,
            r.logits_rel,
            r.features_rel,
            r.input_grad_rel,
            r.param_grad_rel,
            r.cpu_ms,
            r.device_ms
        );
    }
    Ok(())
}

/// Lists the registered backends.
pub fn run(args: BackendsArgs) -> anyhow::Result<()> {
    if let Some(d) = &args.compare {
        return compare(&args, d);
    }
    let mut rows = Vec::new();
    for entry in dispatch::backends() {
        let devices = (entry.devices)();
        let mut probes = Vec::new();
        if args.probe {
            for d in &devices {
                let r = match (entry.run)(*d, &Job::Probe) {
                    Ok(JobOutput::Probe { millis, value, .. }) => {
                        format!("{d}: ok ({millis:.1} ms, value {value:.4})")
                    }
                    Ok(_) => format!("{d}: unexpected job output"),
                    Err(e) => format!("{d}: FAILED: {e}"),
                };
                probes.push(r);
            }
        }
        rows.push((entry.name, (entry.version)(), devices, probes));
    }
    if args.json {
        let v: Vec<_> = rows
            .iter()
            .map(|(n, ver, devs, probes)| {
                serde_json::json!({
                    "name": n,
                    "version": ver,
                    "devices": devs.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
                    "probe": probes,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!("{:<8} {:<32} devices", "backend", "version");
    for (n, ver, devs, probes) in &rows {
        let d: Vec<String> = devs.iter().map(|d| d.to_string()).collect();
        println!("{:<8} {:<32} {}", n, ver, d.join(", "));
        for p in probes {
            println!("         probe {p}");
        }
    }
    Ok(())
}

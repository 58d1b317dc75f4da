//! `sfda backends`: what is compiled in and where it can run.

use clap::Args;
use sfda_core::job::{Job, JobOutput};
use sfda_core::registry;

/// Arguments of `sfda backends`.
#[derive(Debug, Args)]
pub struct BackendsArgs {
    /// Also run a small forward/backward on every usable device to prove it works.
    #[arg(long)]
    pub probe: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Lists the registered backends.
pub fn run(args: BackendsArgs) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for entry in registry::backends() {
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

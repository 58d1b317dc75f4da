//! `sfda bench --compete N,…`: the SFDA iteration timed beside N processes
//! that keep a core busy each, against the same iteration with none, in one
//! run, so the contention figure of `docs/performance.md` is reproducible.
//!
//! Each measurement runs in a fresh `sfda bench --json` process started
//! after the busy processes, so it sizes its thread pools at start-up as a
//! user's run on a busy machine would (`sfda_core::cpu_threads`). The
//! environment passes through: `SFDA_THREADS=2 sfda bench --compete 0,1`
//! measures a fixed pool of two threads instead.

use std::ffi::OsString;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context;
use sfda_core::job::BenchResult;

/// Most busy processes one measurement may start.
const MAX_COMPETITORS: usize = 64;

/// How long the busy processes run before the measurement starts.
const SETTLE: Duration = Duration::from_millis(500);

/// Busy processes (`sh` spinning in a loop), killed when dropped and, on
/// Linux, when this process dies.
struct Competitors(Vec<Child>);

impl Competitors {
    fn start(n: usize) -> anyhow::Result<Self> {
        let mut started = Competitors(Vec::with_capacity(n));
        for _ in 0..n {
            let mut c = Command::new("sh");
            c.args(["-c", "while :; do :; done"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            #[cfg(target_os = "linux")]
            {
                use std::os::unix::process::CommandExt;
                // SAFETY: prctl is async-signal-safe; it only asks the
                // kernel to kill the child when its parent exits.
                unsafe {
                    c.pre_exec(|| {
                        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                        Ok(())
                    });
                }
            }
            started
                .0
                .push(c.spawn().context("starting a busy process (sh)")?);
        }
        Ok(started)
    }
}

impl Drop for Competitors {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One measurement of the run.
#[derive(Debug)]
struct Measured {
    /// Busy processes beside it.
    competitors: usize,
    /// What `sfda bench --json` reported.
    result: BenchResult,
    /// Iteration time over the same backend's with no competitor.
    ratio_to_idle: f64,
}

/// This invocation's arguments without `--compete` and its values, plus
/// `--json`: the command each measurement runs.
fn child_args() -> Vec<OsString> {
    let mut out = Vec::new();
    let mut skipping = false;
    for a in std::env::args_os().skip(1) {
        let s = a.to_string_lossy();
        if s == "--compete" {
            skipping = true;
            continue;
        }
        if s.starts_with("--compete=") {
            continue;
        }
        if skipping && !s.starts_with('-') {
            continue;
        }
        skipping = false;
        if s != "--json" {
            out.push(a);
        }
    }
    out.push("--json".into());
    out
}

fn measure(competitors: usize) -> anyhow::Result<Vec<BenchResult>> {
    let _busy = Competitors::start(competitors)?;
    std::thread::sleep(SETTLE);
    eprintln!("with {competitors} busy process(es):");
    let exe = std::env::current_exe().context("locating the sfda binary")?;
    let mut child = Command::new(exe);
    child.args(child_args()).stderr(Stdio::inherit());
    if sfda_core::cpu_threads::rayon_threads_set_here() {
        // Each measurement sizes its own pools beside its competitors.
        child.env_remove("RAYON_NUM_THREADS");
    }
    let o = child.output().context("running the measurement")?;
    anyhow::ensure!(
        o.status.success(),
        "the measurement beside {competitors} busy process(es) failed ({})",
        o.status
    );
    serde_json::from_slice(&o.stdout).context("reading the measurement's JSON")
}

/// Runs the measurements for `counts` (no competitor first, added if
/// missing) and prints a table, or JSON.
pub fn run(counts: &[usize], json: bool) -> anyhow::Result<()> {
    if let Some(n) = counts.iter().find(|&&n| n > MAX_COMPETITORS) {
        anyhow::bail!("--compete {n}: at most {MAX_COMPETITORS} busy processes");
    }
    let mut order = vec![0];
    order.extend(counts.iter().copied().filter(|&n| n != 0));
    let mut rows: Vec<Measured> = Vec::new();
    let mut idle: Vec<(String, f64)> = Vec::new();
    for &n in &order {
        for r in measure(n)? {
            let key = format!("{}/{}", r.backend, r.device);
            if n == 0 {
                idle.push((key.clone(), r.iteration));
            }
            let base = idle
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, t)| *t)
                .unwrap_or(f64::NAN);
            rows.push(Measured {
                competitors: n,
                ratio_to_idle: r.iteration / base,
                result: r,
            });
        }
    }
    if json {
        let out: Vec<serde_json::Value> = rows
            .iter()
            .map(|m| {
                serde_json::json!({
                    "competitors": m.competitors,
                    "result": m.result,
                    "ratio_to_idle": m.ratio_to_idle,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "SFDA iteration beside busy processes on {} cores (each row: a fresh sfda process)",
        sfda_core::cpu_threads::cores()
    );
    println!(
        "{:>5} {:<8} {:<7} {:>7} {:>9} {:>9} {:>9} {:>10} {:>8}",
        "busy", "backend", "device", "threads", "gen s", "student s", "disc s", "iter s", "× idle"
    );
    for m in &rows {
        let r = &m.result;
        let p = |k: &str| {
            r.parts
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| *v)
                .unwrap_or(0.0)
        };
        println!(
            "{:>5} {:<8} {:<7} {:>7} {:>9.3} {:>9.3} {:>9.3} {:>10.3} {:>7.2}x",
            m.competitors,
            r.backend,
            r.device,
            r.cpu_threads
                .map(|t| t.to_string())
                .unwrap_or_else(|| "n/a".into()),
            p("g"),
            p("s"),
            p("d"),
            r.iteration,
            m.ratio_to_idle
        );
    }
    println!("× idle = iteration time / the same backend's with no busy process, in this run");
    Ok(())
}

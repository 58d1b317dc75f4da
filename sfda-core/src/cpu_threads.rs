//! How many CPU threads a backend's intra-op pool should use, decided from
//! the cores other processes leave free.
//!
//! On a small machine shared with other work, a pool sized to every core
//! loses more than the busy cores: at every small op its workers wait on a
//! thread the kernel has descheduled (measured on the 2-core reference
//! machine beside one busy process: about 3× the idle iteration time, where
//! losing a core should cost about 1.7×; `docs/performance.md`). Sizing
//! the pool to the cores actually free avoids that wait.
//!
//! The policies ([`policy`], from the environment):
//! - **At start-up** (the default): the first device opened measures, over
//!   [`STARTUP_WINDOW`], the CPU time other processes take (`/proc/stat`
//!   minus `/proc/self/stat`) and sizes the pool to the free cores, once.
//!   The count stays fixed for the run and is recorded in its state and
//!   report, and `--resume` goes on with the recorded count: libtorch's
//!   reductions are split by thread, so its results are bit-identical only
//!   at one thread count (candle's are at any).
//! - **Follow** (`SFDA_THREADS=auto`): as above, and [`tick`], called once
//!   per training step by the long loops, re-measures every
//!   [`TICK_INTERVAL`] and the pool follows the free cores in both
//!   directions. Fastest when the load changes during a run; the run is
//!   then reproducible only to rounding.
//! - **Fixed** (`SFDA_THREADS=N`): N threads, nothing measured.
//! - **External** (`OMP_NUM_THREADS` set): libtorch reads it itself and
//!   sfda changes nothing (candle reads `RAYON_NUM_THREADS`).
//!
//! Off Linux nothing is measured and every core is used.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::tensor::Backend;

/// Minimum time between two measurements in [`tick`].
pub const TICK_INTERVAL: Duration = Duration::from_secs(3);

/// How long the start-up measurement watches the other processes.
pub const STARTUP_WINDOW: Duration = Duration::from_millis(200);

/// The environment variable that fixes the thread count (a positive
/// integer) or asks for the follow policy (`auto`).
pub const THREADS_VAR: &str = "SFDA_THREADS";

/// Threads to use on `cores` cores when other processes keep `others_busy`
/// cores busy (a real number: 0.5 is half a core on average).
///
/// The free share is rounded with a margin in favour of fewer threads: a
/// worker that gets 60 % of a core stalls the others at every op, so a
/// thread is only added when at least 0.75 of a core is free for it.
///
/// ```
/// use sfda_core::cpu_threads::threads_for;
/// assert_eq!(threads_for(2, 0.0), 2);
/// assert_eq!(threads_for(2, 0.7), 1);
/// assert_eq!(threads_for(2, 3.0), 1);
/// assert_eq!(threads_for(16, 4.0), 12);
/// ```
pub fn threads_for(cores: usize, others_busy: f64) -> usize {
    let cores = cores.max(1);
    let free = cores as f64 - others_busy.max(0.0);
    ((free + 0.25).floor() as usize).clamp(1, cores)
}

/// Who decides the CPU thread count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadPolicy {
    /// Sized once, at start-up, to the free cores (the default).
    AtStartup,
    /// Sized at start-up, then following the free cores ([`tick`];
    /// `SFDA_THREADS=auto`).
    Follow,
    /// `SFDA_THREADS` fixes the count.
    Fixed(usize),
    /// `OMP_NUM_THREADS` is set: the backend's library reads it; sfda
    /// changes nothing.
    External,
}

/// The policy the environment asks for. A `SFDA_THREADS` that is neither a
/// positive integer nor `auto` is ignored with the default policy (it is
/// reported by [`policy_warning`]).
pub fn policy() -> ThreadPolicy {
    if std::env::var_os("OMP_NUM_THREADS").is_some() {
        return ThreadPolicy::External;
    }
    parse_policy(std::env::var(THREADS_VAR).ok().as_deref())
}

fn parse_policy(value: Option<&str>) -> ThreadPolicy {
    let Some(v) = value.map(str::trim) else {
        return ThreadPolicy::AtStartup;
    };
    if v.eq_ignore_ascii_case("auto") {
        return ThreadPolicy::Follow;
    }
    match v.parse::<usize>() {
        Ok(n) if n >= 1 => ThreadPolicy::Fixed(n),
        _ => ThreadPolicy::AtStartup,
    }
}

/// A line to print when `SFDA_THREADS` is set to something unusable.
pub fn policy_warning() -> Option<String> {
    let v = std::env::var(THREADS_VAR).ok()?;
    match parse_policy(Some(&v)) {
        ThreadPolicy::AtStartup => Some(format!(
            "{THREADS_VAR}={v:?} is neither a positive integer nor 'auto'; \
             the thread count is set at start-up from the free cores"
        )),
        _ => None,
    }
}

/// Cores this process may run on.
pub fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// The thread count to start with, decided on the first call and the same
/// afterwards: `SFDA_THREADS` where it fixes one; every core where
/// `OMP_NUM_THREADS` is set or nothing can be measured; otherwise every
/// core minus what other processes kept busy over [`STARTUP_WINDOW`]
/// (the first call blocks that long).
pub fn startup_threads() -> usize {
    static CHOICE: OnceLock<usize> = OnceLock::new();
    *CHOICE.get_or_init(|| {
        let n = cores();
        match policy() {
            ThreadPolicy::Fixed(k) => k,
            ThreadPolicy::External => n,
            ThreadPolicy::AtStartup | ThreadPolicy::Follow => {
                threads_for(n, measure_others(STARTUP_WINDOW).unwrap_or(0.0))
            }
        }
    })
}

/// Prepares the process's thread pools before any is created: decides
/// [`startup_threads`] and, where `RAYON_NUM_THREADS` is unset, sets it to
/// that count, which candle and rayon read when they build their pools.
///
/// Call it first thing in `main`, before any thread is spawned (changing
/// the environment while other threads read it is a data race); libraries
/// and tests that do not call it keep rayon's default of every core.
pub fn prepare_process() -> usize {
    let n = startup_threads();
    if policy() != ThreadPolicy::External && std::env::var_os("RAYON_NUM_THREADS").is_none() {
        std::env::set_var("RAYON_NUM_THREADS", n.to_string());
        RAYON_SET_HERE.store(true, Ordering::Relaxed);
    }
    n
}

static RAYON_SET_HERE: AtomicBool = AtomicBool::new(false);

/// Whether [`prepare_process`] set `RAYON_NUM_THREADS` itself (the user
/// did not). A child `sfda` process must then be started without it, or it
/// would inherit this process's start-up count instead of measuring its own.
pub fn rayon_threads_set_here() -> bool {
    RAYON_SET_HERE.load(Ordering::Relaxed)
}

/// Goes on with the `recorded` thread count of a run being resumed, under
/// the default policy (under the others the environment decides, as for a
/// new run), so the resumed run is bit-identical to one never interrupted.
pub fn resume_with<B: Backend>(recorded: usize) {
    if policy() == ThreadPolicy::AtStartup && recorded >= 1 && B::cpu_threads() != Some(recorded) {
        B::set_cpu_threads(recorded);
    }
}

/// Cores other processes kept busy during `window` (sleeping through it).
fn measure_others(window: Duration) -> Option<f64> {
    let before = sample()?;
    std::thread::sleep(window);
    others_busy(cores(), before, sample()?)
}

/// Busy and total jiffies of all CPUs (`/proc/stat`'s first line).
fn read_cpu_jiffies() -> Option<(u64, u64)> {
    let s = std::fs::read_to_string("/proc/stat").ok()?;
    parse_cpu_line(s.lines().next()?)
}

/// `(busy, total)` from a `/proc/stat` `cpu` line: idle and iowait are idle,
/// everything else up to steal is busy (guest time is already in user).
fn parse_cpu_line(line: &str) -> Option<(u64, u64)> {
    let mut it = line.split_whitespace();
    if it.next()? != "cpu" {
        return None;
    }
    let v: Vec<u64> = it.take(8).map(|x| x.parse().ok()).collect::<Option<_>>()?;
    if v.len() < 5 {
        return None;
    }
    let idle = v[3] + v[4];
    let total: u64 = v.iter().sum();
    Some((total - idle, total))
}

/// This process's user + system jiffies (`/proc/self/stat`, fields 14–15).
fn read_self_jiffies() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    parse_self_stat(&s)
}

fn parse_self_stat(s: &str) -> Option<u64> {
    // The command name (field 2) may hold spaces; fields restart after ')'.
    let rest = &s[s.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state): utime is field 14, stime field 15.
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Cores the other processes kept busy between two samples.
fn others_busy(cores: usize, before: Sample, after: Sample) -> Option<f64> {
    let total = after.total.checked_sub(before.total)?;
    if total == 0 {
        return None;
    }
    let busy = after.busy.saturating_sub(before.busy);
    let mine = after.own.saturating_sub(before.own);
    Some(busy.saturating_sub(mine) as f64 / total as f64 * cores as f64)
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    busy: u64,
    total: u64,
    own: u64,
}

fn sample() -> Option<Sample> {
    let (busy, total) = read_cpu_jiffies()?;
    Some(Sample {
        busy,
        total,
        own: read_self_jiffies()?,
    })
}

struct Governor {
    at: Instant,
    last: Sample,
    threads: usize,
}

static GOVERNOR: Mutex<Option<Governor>> = Mutex::new(None);

/// Re-measures the free cores when [`TICK_INTERVAL`] has passed since the
/// last measurement and sets `B`'s CPU thread count to match. Cheap to call
/// every step (two small `/proc` reads every few seconds); does nothing
/// under a fixed policy or where `/proc` cannot be read. Returns the count
/// it set, if it changed it.
pub fn tick<B: Backend>() -> Option<usize> {
    if policy() != ThreadPolicy::Follow {
        return None;
    }
    let mut guard = GOVERNOR.lock().ok()?;
    let now = Instant::now();
    let Some(g) = guard.as_mut() else {
        *guard = Some(Governor {
            at: now,
            last: sample()?,
            threads: B::cpu_threads()?,
        });
        return None;
    };
    if now.duration_since(g.at) < TICK_INTERVAL {
        return None;
    }
    let s = sample()?;
    let others = others_busy(cores(), g.last, s);
    g.at = now;
    g.last = s;
    let want = threads_for(cores(), others?);
    if want == g.threads {
        return None;
    }
    B::set_cpu_threads(want);
    g.threads = want;
    Some(want)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_cores_round_towards_fewer_threads() {
        assert_eq!(threads_for(2, 0.0), 2);
        assert_eq!(threads_for(2, 0.2), 2);
        assert_eq!(threads_for(2, 0.3), 1);
        assert_eq!(threads_for(2, 1.0), 1);
        assert_eq!(threads_for(2, 5.0), 1);
        assert_eq!(threads_for(1, 0.0), 1);
        assert_eq!(threads_for(0, 0.0), 1);
        assert_eq!(threads_for(8, -1.0), 8);
    }

    #[test]
    fn proc_stat_lines_parse() {
        let (busy, total) = parse_cpu_line("cpu  100 5 50 1000 20 3 2 7 0 0").expect("cpu line");
        assert_eq!(total, 100 + 5 + 50 + 1000 + 20 + 3 + 2 + 7);
        assert_eq!(busy, total - 1020);
        assert_eq!(parse_cpu_line("cpu0 1 2 3 4 5"), None);
        assert_eq!(parse_cpu_line("cpu 1 2"), None);
        let stat = "4242 (sfda (a) b) R 1 2 3 4 5 6 7 8 9 10 300 40 0 0 20 0 3";
        assert_eq!(parse_self_stat(stat), Some(340));
    }

    #[test]
    fn others_are_all_busy_time_minus_our_own() {
        let a = Sample {
            busy: 1000,
            total: 4000,
            own: 300,
        };
        // 200 jiffies on 2 cores: 150 busy, 50 of them ours.
        let b = Sample {
            busy: 1150,
            total: 4200,
            own: 350,
        };
        let o = others_busy(2, a, b).expect("delta");
        assert!((o - 1.0).abs() < 1e-9, "{o}");
        assert_eq!(others_busy(2, b, b), None);
    }

    #[test]
    fn sfda_threads_values_map_to_policies() {
        assert_eq!(parse_policy(None), ThreadPolicy::AtStartup);
        assert_eq!(parse_policy(Some("3")), ThreadPolicy::Fixed(3));
        assert_eq!(parse_policy(Some(" AUTO ")), ThreadPolicy::Follow);
        assert_eq!(parse_policy(Some("0")), ThreadPolicy::AtStartup);
        assert_eq!(parse_policy(Some("two")), ThreadPolicy::AtStartup);
    }

    #[test]
    fn this_machine_reports_its_load() {
        if cfg!(target_os = "linux") {
            assert!(sample().is_some(), "/proc/stat and /proc/self/stat parse");
            let others = measure_others(Duration::from_millis(20)).expect("two samples");
            assert!(others >= 0.0, "{others}");
        }
    }
}

//! Atomic file replacement: write a temporary file next to the target, flush
//! it to disk, then rename it over the target, so a reader never sees a
//! half-written file (checkpoints, pictures, logs, reports, run state) and a
//! crash never destroys what was already written.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Error, Result};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Replaces `path` with `bytes` atomically (creating parent folders).
///
/// Its write boundaries (before the temporary file exists, after half of
/// the bytes, before the rename, after it) are [`fault`] points: a test can
/// make any one of them fail as a kill there would, leaving the files as
/// they are at that point.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::msg(format!("{}: not a file path", path.display())))?
        .to_string_lossy();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{file_name}.tmp-{}-{n}", std::process::id()));
    let injected = |e| Error::io(path, e);
    fault::point("before the temporary file", path).map_err(injected)?;
    let (head, tail) = bytes.split_at(bytes.len() / 2);
    let res = (|| -> std::io::Result<Option<std::io::Error>> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(head)?;
        if let Err(e) = fault::point("after a partial write", path) {
            return Ok(Some(e));
        }
        f.write_all(tail)?;
        f.sync_all()?;
        drop(f);
        if let Err(e) = fault::point("before the rename", path) {
            return Ok(Some(e));
        }
        fs::rename(&tmp, path)?;
        Ok(None)
    })();
    match res {
        // A simulated kill leaves what a kill would (the temporary file).
        Ok(Some(e)) => return Err(injected(e)),
        Ok(None) => {}
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(Error::io(path, e));
        }
    }
    fault::point("after the rename", path).map_err(injected)
}

/// Fault injection for crash-consistency tests: every write boundary of
/// [`write_atomic`] is a numbered point on the calling thread; an armed
/// point fails with an error (`injected fault ...`) and leaves the files as
/// a kill at that moment would. Disarmed (the default) a point only counts.
///
/// ```
/// use sfda_core::atomic::{fault, write_atomic};
/// let dir = tempfile::tempdir().unwrap();
/// let file = dir.path().join("a.json");
/// fault::arm(3); // the fourth boundary: after the rename
/// let e = write_atomic(&file, b"{}").unwrap_err();
/// assert!(e.to_string().contains("injected fault"));
/// assert!(file.exists());
/// fault::arm(2); // before the rename: the old file (none) stays
/// assert!(write_atomic(&dir.path().join("b.json"), b"{}").is_err());
/// assert!(!dir.path().join("b.json").exists());
/// assert_eq!(fault::disarm(), 3);
/// ```
pub mod fault {
    use std::cell::Cell;
    use std::path::Path;

    thread_local! {
        static ARMED: Cell<Option<u64>> = const { Cell::new(None) };
        static CROSSED: Cell<u64> = const { Cell::new(0) };
    }

    /// Restarts the count; the `n`-th boundary (0-based) crossed from now
    /// on by this thread fails.
    pub fn arm(n: u64) {
        ARMED.with(|a| a.set(Some(n)));
        CROSSED.with(|c| c.set(0));
    }

    /// Restarts the count with no fault armed (to count a run's boundaries).
    pub fn count() {
        ARMED.with(|a| a.set(None));
        CROSSED.with(|c| c.set(0));
    }

    /// Disarms; returns the boundaries crossed since [`arm`] or [`count`].
    pub fn disarm() -> u64 {
        ARMED.with(|a| a.set(None));
        CROSSED.with(|c| c.get())
    }

    /// One boundary: `Err` if it is the armed one.
    pub(crate) fn point(what: &str, path: &Path) -> std::io::Result<()> {
        let k = CROSSED.with(|c| {
            let k = c.get();
            c.set(k + 1);
            k
        });
        if ARMED.with(|a| a.get()) == Some(k) {
            ARMED.with(|a| a.set(None));
            return Err(std::io::Error::other(format!(
                "injected fault {k} ({what} of {})",
                path.display()
            )));
        }
        Ok(())
    }
}

/// The process id in a temporary name `.<file>.tmp-<pid>-<n>` that
/// [`write_atomic`] makes, if `name` is one.
fn temp_owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?;
    let (_, tail) = rest.rsplit_once(".tmp-")?;
    let (pid, n) = tail.split_once('-')?;
    n.parse::<u64>().ok()?;
    pid.parse().ok()
}

/// Removes the temporary files of [`write_atomic`] in `dir` (not below it)
/// whose writer process is gone: what a killed write leaves behind (a
/// checkpoint's temporary can be tens of MB). Only where `/proc` tells which
/// processes live (Linux); elsewhere nothing is removed. Returns how many
/// files were removed.
pub fn remove_stale_temps(dir: &Path) -> Result<usize> {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return Ok(0);
    }
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::io(dir, e)),
    };
    let me = std::process::id();
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(temp_owner) else {
            continue;
        };
        if pid != me && !proc.join(pid.to_string()).exists() {
            let p = entry.path();
            fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_recognised() {
        assert_eq!(temp_owner(".state.safetensors.tmp-123-4"), Some(123));
        assert_eq!(temp_owner(".a.tmp-b.json.tmp-7-0"), Some(7));
        assert_eq!(temp_owner("state.safetensors"), None);
        assert_eq!(temp_owner(".x.tmp-12"), None);
        assert_eq!(temp_owner(".x.tmp-a-1"), None);
    }

    #[test]
    fn stale_temps_go_and_everything_else_stays() {
        let dir = tempfile::tempdir().unwrap();
        write_atomic(&dir.path().join("kept.json"), b"{}").unwrap();
        // A pid above the kernel's maximum (2^22) cannot be alive.
        let dead = dir.path().join(".state.safetensors.tmp-4194305-0");
        let mine = dir
            .path()
            .join(format!(".live.json.tmp-{}-9", std::process::id()));
        let other = dir.path().join(".notes.txt");
        for p in [&dead, &mine, &other] {
            fs::write(p, b"x").unwrap();
        }
        let removed = remove_stale_temps(dir.path()).unwrap();
        if Path::new("/proc/self").exists() {
            assert_eq!(removed, 1);
            assert!(!dead.exists());
        }
        assert!(mine.exists() && other.exists());
        assert!(dir.path().join("kept.json").exists());
        assert_eq!(remove_stale_temps(&dir.path().join("absent")).unwrap(), 0);
    }
}

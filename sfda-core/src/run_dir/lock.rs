//! The advisory lock of a run folder: a file `.sfda-lock` holding the
//! writer's pid, command and start time, created exclusively, removed when
//! the [`RunLock`] is dropped. A lock whose process is gone (killed runs
//! leave theirs behind) is stale and taken over, with a note.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// File name of the lock inside a run folder.
pub const LOCK_FILE: &str = ".sfda-lock";

/// What a lock file says about its holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    /// Process id.
    pub pid: u32,
    /// The process's start time in clock ticks since boot (Linux
    /// `/proc/<pid>/stat`), so a reused pid is not taken for the holder.
    pub start_ticks: Option<u64>,
    /// The command holding it (`adapt`, `experiment`...).
    pub command: String,
    /// When it was taken, seconds since the Unix epoch.
    pub since: u64,
}

/// Whether the holder is still running: `Some(true|false)` where `/proc`
/// tells (Linux), `None` elsewhere.
fn holder_alive(h: &LockHolder) -> Option<bool> {
    if !Path::new("/proc/self").exists() {
        return None;
    }
    if !Path::new("/proc").join(h.pid.to_string()).exists() {
        return Some(false);
    }
    match (h.start_ticks, start_ticks(h.pid)) {
        (Some(a), Some(b)) => Some(a == b),
        _ => Some(true),
    }
}

/// Field 22 of `/proc/<pid>/stat` (after the parenthesised command name).
fn start_ticks(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// An exclusive claim on a run folder by this process, released on drop.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
    /// False for a re-entrant claim of a folder this process already holds:
    /// dropping it leaves the outer claim in place.
    owner: bool,
    /// A stale lock of a dead process that this claim replaced.
    pub replaced_stale: Option<LockHolder>,
}

impl RunLock {
    /// Claims `dir` (created if missing) for `command`. Fails, naming the
    /// holder, while another live process holds it.
    pub fn acquire(dir: &Path, command: &str) -> Result<RunLock> {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let path = dir.join(LOCK_FILE);
        let me = LockHolder {
            pid: std::process::id(),
            start_ticks: start_ticks(std::process::id()),
            command: command.to_string(),
            since: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        };
        let text = serde_json::to_string(&me).map_err(|e| Error::msg(e.to_string()))?;
        let mut replaced_stale = None;
        // Bounded: each round either creates the file, or removes one stale
        // lock, or fails.
        for _ in 0..4 {
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    f.write_all(text.as_bytes())
                        .and_then(|_| f.sync_all())
                        .map_err(|e| Error::io(&path, e))?;
                    return Ok(RunLock {
                        path,
                        owner: true,
                        replaced_stale,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::io(&path, e)),
            }
            let held = fs::read_to_string(&path)
                .ok()
                .and_then(|t| serde_json::from_str::<LockHolder>(&t).ok());
            match held {
                Some(h) if h.pid == me.pid && h.start_ticks == me.start_ticks => {
                    return Ok(RunLock {
                        path,
                        owner: false,
                        replaced_stale: None,
                    });
                }
                Some(h) => match holder_alive(&h) {
                    Some(false) => {
                        remove_if_exists(&path)?;
                        replaced_stale = Some(h);
                    }
                    alive => {
                        let how = if alive.is_none() {
                            format!(" (if no such process runs, delete {})", path.display())
                        } else {
                            String::new()
                        };
                        return Err(Error::RunFolder {
                            path: dir.to_path_buf(),
                            msg: format!(
                                "in use by `sfda {}` (pid {}); wait for it to end or stop it, \
                                 or write to another folder{how}",
                                h.command, h.pid
                            ),
                        });
                    }
                },
                // Empty or unreadable: a writer died between creating and
                // filling it (or it was just removed); take it over.
                None => {
                    remove_if_exists(&path)?;
                }
            }
        }
        Err(Error::RunFolder {
            path: dir.to_path_buf(),
            msg: format!("could not take the lock {}", path.display()),
        })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn remove_if_exists(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path, e)),
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        if !self.owner {
            return;
        }
        // Only our own lock: never a lock another process took over.
        let ours = fs::read_to_string(&self.path)
            .ok()
            .and_then(|t| serde_json::from_str::<LockHolder>(&t).ok())
            .is_some_and(|h| h.pid == std::process::id());
        if ours {
            let _ = fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_holder_blocks_and_a_dead_one_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let lock = RunLock::acquire(dir.path(), "adapt").unwrap();
        assert!(lock.path().exists());
        // Re-entrant in one process: no error, and the outer claim stays.
        drop(RunLock::acquire(dir.path(), "adapt").unwrap());
        assert!(lock.path().exists());
        drop(lock);
        assert!(!dir.path().join(LOCK_FILE).exists());

        if !Path::new("/proc/self").exists() {
            return;
        }
        // pid 1 is alive on every Linux system.
        let live = LockHolder {
            pid: 1,
            start_ticks: start_ticks(1),
            command: "experiment".into(),
            since: 0,
        };
        fs::write(
            dir.path().join(LOCK_FILE),
            serde_json::to_string(&live).unwrap(),
        )
        .unwrap();
        let e = RunLock::acquire(dir.path(), "adapt")
            .unwrap_err()
            .to_string();
        assert!(e.contains("in use by `sfda experiment` (pid 1)"), "{e}");
        // A pid above the kernel's maximum (2^22) cannot be alive.
        let dead = LockHolder {
            pid: 4_194_305,
            ..live
        };
        fs::write(
            dir.path().join(LOCK_FILE),
            serde_json::to_string(&dead).unwrap(),
        )
        .unwrap();
        let lock = RunLock::acquire(dir.path(), "adapt").unwrap();
        assert_eq!(lock.replaced_stale.as_ref().map(|h| h.pid), Some(4_194_305));
        // An empty lock file (a writer died before filling it) is taken over.
        drop(lock);
        fs::write(dir.path().join(LOCK_FILE), "").unwrap();
        assert!(RunLock::acquire(dir.path(), "adapt").is_ok());
    }
}

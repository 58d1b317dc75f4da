//! Run folders: one writer at a time, and no run replaces another run's
//! results unless told.
//!
//! Every command that writes a run claims its folder with [`claim`]: an
//! advisory [`RunLock`] (pid, command, start time; a dead holder's lock is
//! stale and taken over), then a look at what the folder already holds.
//! A folder with a finished run of the same kind is refused unless the
//! caller resumes it or forces a new run; a folder with an unfinished run is
//! refused unless resumed or forced; `--force` removes the old run's own
//! files (never anything else) before the new run starts, so no report, log
//! or state of the old run is left beside the new one.

mod lock;

use std::path::{Path, PathBuf};

pub use lock::{LockHolder, RunLock, LOCK_FILE};

use crate::{Error, Result};

/// How a command treats what its folder already holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriteMode {
    /// A new run: the folder must not hold a run of this kind.
    #[default]
    New,
    /// Continue the run the folder holds (or start one where there is none).
    Resume,
    /// Replace the run the folder holds (its files are removed first).
    Force,
}

impl WriteMode {
    /// From the `--resume` and `--force` flags (`--force` wins).
    pub fn from_flags(resume: bool, force: bool) -> Self {
        match (resume, force) {
            (_, true) => WriteMode::Force,
            (true, false) => WriteMode::Resume,
            (false, false) => WriteMode::New,
        }
    }
}

/// The files by which a kind of run is recognised in its folder.
#[derive(Debug, Clone, Copy)]
pub struct RunKind {
    /// The command (`adapt`, `train-source`), for messages and the lock.
    pub command: &'static str,
    /// Files whose presence marks a finished run (the last ones it writes).
    pub finished: &'static [&'static str],
    /// Files whose presence marks a run that can be continued.
    pub unfinished: &'static [&'static str],
    /// Every file or folder the run writes: what `--force` removes.
    pub outputs: &'static [&'static str],
    /// Whether the command can continue an unfinished run (`--resume`).
    pub resumable: bool,
}

/// `sfda adapt` (and every adaptation an experiment or the demo runs).
pub const ADAPT: RunKind = RunKind {
    command: "adapt",
    finished: &["report.json", "adapted.safetensors"],
    unfinished: &["state/state.safetensors", "state/state.json"],
    outputs: &[
        "adapted.safetensors",
        "adapted.json",
        "report.md",
        "report.json",
        "train_log.json",
        "bns_layers.json",
        "fakes.png",
        "loss_curves.png",
        "bns_layers.png",
        "state",
    ],
    resumable: true,
};

/// `sfda train-source`.
pub const TRAIN_SOURCE: RunKind = RunKind {
    command: "train-source",
    finished: &["best.safetensors", "last.safetensors"],
    unfinished: &[],
    outputs: &[
        "best.safetensors",
        "best.json",
        "last.safetensors",
        "last.json",
        "train_log.json",
        "loss_curves.png",
    ],
    resumable: false,
};

/// What [`claim`] found and did.
#[derive(Debug)]
pub struct Claim {
    /// The lock, held until dropped.
    pub lock: RunLock,
    /// Files or folders `--force` removed.
    pub removed: Vec<PathBuf>,
}

/// Locks `dir` for a run of `kind` and applies `mode` to what it holds
/// (see the module docs). Errors name the folder, the file found and the
/// option that allows the write.
pub fn claim(dir: &Path, kind: &RunKind, mode: WriteMode) -> Result<Claim> {
    let lock = RunLock::acquire(dir, kind.command)?;
    let first = |names: &[&str]| names.iter().map(|n| dir.join(n)).find(|p| p.exists());
    let finished = first(kind.finished);
    let unfinished = first(kind.unfinished);
    let refuse = |msg: String| Error::RunFolder {
        path: dir.to_path_buf(),
        msg,
    };
    let mut removed = Vec::new();
    match mode {
        WriteMode::New => {
            if let Some(f) = finished {
                return Err(refuse(format!(
                    "holds the results of another `sfda {}` run ({}); write to another folder, \
                     or pass --force to replace them",
                    kind.command,
                    f.display()
                )));
            }
            if let Some(f) = unfinished {
                return Err(refuse(format!(
                    "holds an unfinished `sfda {}` run ({}); continue it with --resume, or \
                     pass --force to start over",
                    kind.command,
                    f.display()
                )));
            }
        }
        WriteMode::Resume if !kind.resumable => {
            return Err(refuse(format!(
                "`sfda {}` cannot resume a run",
                kind.command
            )));
        }
        WriteMode::Resume => {}
        WriteMode::Force => {
            for name in kind.outputs {
                let p = dir.join(name);
                let res = if p.is_dir() {
                    std::fs::remove_dir_all(&p)
                } else if p.exists() {
                    std::fs::remove_file(&p)
                } else {
                    continue;
                };
                res.map_err(|e| Error::io(&p, e))?;
                removed.push(p);
            }
        }
    }
    Ok(Claim { lock, removed })
}

/// `base`, or the first of `base-2`, `base-3`... that holds no run of
/// `kind`, finished or not (a command that keeps earlier results instead of
/// refusing, like the demo's adaptation). Bounded: gives up after 1000 names.
pub fn next_free(base: &Path, kind: &RunKind) -> Result<PathBuf> {
    let taken = |p: &Path| {
        kind.finished
            .iter()
            .chain(kind.unfinished)
            .any(|f| p.join(f).exists())
    };
    if !taken(base) {
        return Ok(base.to_path_buf());
    }
    let name = base
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    for i in 2..1000 {
        let p = base.with_file_name(format!("{name}-{i}"));
        if !taken(&p) {
            return Ok(p);
        }
    }
    Err(Error::RunFolder {
        path: base.to_path_buf(),
        msg: "999 earlier runs beside it; remove some".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_and_unfinished_runs_are_refused_unless_told() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        drop(claim(d, &ADAPT, WriteMode::New).unwrap());
        std::fs::create_dir_all(d.join("state")).unwrap();
        std::fs::write(d.join("state/state.safetensors"), b"x").unwrap();
        let e = claim(d, &ADAPT, WriteMode::New).unwrap_err().to_string();
        assert!(e.contains("unfinished") && e.contains("--resume"), "{e}");
        drop(claim(d, &ADAPT, WriteMode::Resume).unwrap());
        std::fs::write(d.join("report.json"), b"{}").unwrap();
        std::fs::write(d.join("notes.txt"), b"mine").unwrap();
        let e = claim(d, &ADAPT, WriteMode::New).unwrap_err().to_string();
        assert!(e.contains("report.json") && e.contains("--force"), "{e}");
        let c = claim(d, &ADAPT, WriteMode::Force).unwrap();
        assert_eq!(c.removed.len(), 2);
        assert!(!d.join("state").exists() && !d.join("report.json").exists());
        assert!(
            d.join("notes.txt").exists(),
            "--force removes only run files"
        );
        drop(c);
        let e = claim(d, &TRAIN_SOURCE, WriteMode::Resume).unwrap_err();
        assert!(e.to_string().contains("cannot resume"));
    }

    #[test]
    fn next_free_skips_finished_runs() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("adapt");
        assert_eq!(next_free(&base, &ADAPT).unwrap(), base);
        std::fs::create_dir_all(&base).unwrap();
        std::fs::write(base.join("report.json"), b"{}").unwrap();
        assert_eq!(
            next_free(&base, &ADAPT).unwrap(),
            dir.path().join("adapt-2")
        );
    }
}

//! Running a grid: the source model (given, or trained once and cached),
//! then every cell not finished yet, each in its own resumable run folder,
//! its result stored as one JSON file written atomically; finally the tables.
//!
//! ```text
//! <out>/source/              the cached source model (when the grid names none)
//! <out>/cells/<id>.json      one finished cell (skipped on the next run;
//!                            cells with the same run, e.g. the default
//!                            point of several sweeps, share its result)
//! <out>/runs/<id>-<hash>/    the cell's adaptation run (state/ for resuming)
//! <out>/estimates/<key>/     a source estimate shared by the cells whose
//!                            warm-up it replaces (resumable; its report.md
//!                            gives L_BNS against real source val images)
//! <out>/tables/              results.md, *.csv, results.json, *.png
//! ```

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::algo::estimate::{estimate_key, file_hash, read_estimate_meta, ESTIMATE_FILE};
use crate::checkpoint::read_meta;
use crate::data::{write_atomic, Domain, Split, SynthSpec};
use crate::experiment::cell::{CellResult, SourceInfo};
use crate::experiment::grid::{Cell, EstimatePlan, Experiment, StudyKind};
use crate::experiment::tables::{render, RenderContext};
use crate::job::{cached_source_model, AdaptJob, DataSpec, EstimateJob, EvalJob, SourceModelSpec};
use crate::metrics::SegMetrics;
use crate::tensor::Backend;
use crate::train::progress_bar;
use crate::{Error, Result};

/// Runs a grid.
#[derive(Debug, Clone)]
pub struct ExperimentJob {
    /// The parsed grid.
    pub experiment: Experiment,
    /// Output folder.
    pub out: PathBuf,
    /// Also write the markdown report here (assets in `<stem>/` beside it).
    pub report: Option<PathBuf>,
    /// The command line, printed at the top of the report.
    pub command: String,
    /// Draw the overall progress bar.
    pub progress: bool,
    /// Stop after running this many cells (to test resuming).
    pub max_cells: Option<usize>,
    /// Run only the cells of these studies (by name; empty: all). The
    /// report still covers every finished cell.
    pub only: Vec<String>,
}

/// What [`ExperimentJob::run`] did.
#[derive(Debug, Clone)]
pub struct ExperimentSummary {
    /// Cells in the grid.
    pub cells: usize,
    /// Cells run by this invocation.
    pub ran: usize,
    /// Cells reused from earlier invocations.
    pub reused: usize,
    /// Whether every cell is finished (the tables are complete).
    pub complete: bool,
    /// The markdown tables.
    pub markdown: String,
    /// Wall time of this invocation, seconds.
    pub seconds: f64,
}

impl ExperimentJob {
    fn synth(&self, domain: Domain, split: Split, count: usize, sev: Option<f32>) -> DataSpec {
        let b = &self.experiment.grid.benchmark;
        let mut s = SynthSpec::new(domain, split, count)
            .with_size(b.size[0], b.size[1])
            .with_seed(b.data_seed);
        if let Some(v) = sev {
            s = s.with_severity(v);
        }
        DataSpec::Synth(s)
    }

    /// Runs every unfinished cell with backend `B`, then writes the tables.
    pub fn run<B: Backend>(&self, dev: &B::Device) -> Result<ExperimentSummary> {
        let t0 = Instant::now();
        let exp = &self.experiment;
        if let Some(unknown) = self
            .only
            .iter()
            .find(|n| !exp.cells.iter().any(|c| &c.study == *n))
        {
            let mut studies: Vec<&str> = exp.cells.iter().map(|c| c.study.as_str()).collect();
            studies.dedup();
            return Err(Error::Config {
                key: "only".into(),
                msg: format!(
                    "the grid has no study '{unknown}'; its studies: {}",
                    studies.join(", ")
                ),
            });
        }
        let b = &exp.grid.benchmark;
        // One grid runner per folder; each cell's run folder has its own lock.
        let _lock = crate::run_dir::RunLock::acquire(&self.out, "experiment")?;
        let (ckpt, iterations, train_seconds) = match exp.source_checkpoint() {
            Some(c) => {
                read_meta(&c)?;
                (c, None, None)
            }
            None => {
                let spec = SourceModelSpec {
                    seed: b.data_seed,
                    size: (b.size[0], b.size[1]),
                    train_images: b.train_images,
                    iterations: exp.grid.source.iterations,
                    severity: None,
                };
                let (c, cached, secs) = cached_source_model::<B>(
                    &self.out.join("source"),
                    &spec,
                    false,
                    self.progress,
                    dev,
                )?;
                let secs = if cached {
                    logged_training_seconds(&self.out.join("source"))
                } else {
                    Some(secs)
                };
                (c, Some(spec.iterations), secs)
            }
        };
        let eval = |data: DataSpec| -> Result<SegMetrics> {
            EvalJob {
                checkpoint: ckpt.clone(),
                data,
                class_set: None,
                batch_size: 8,
                progress: false,
            }
            .run::<B>(dev)
        };
        let source = SourceInfo {
            checkpoint: ckpt.display().to_string(),
            arch: read_meta(&ckpt)?.arch,
            iterations,
            train_seconds,
            source_val: eval(self.synth(Domain::Source, Split::Val, b.val_images, None))?,
            target_val: eval(self.synth(Domain::Target, Split::Val, b.val_images, b.severity))?,
        };
        let cells_dir = self.out.join("cells");
        let mut results = Vec::new();
        let mut todo = Vec::new();
        for cell in &exp.cells {
            match load_result(&cells_dir, cell) {
                Some(r) => results.push(r),
                None if self.only.is_empty() || self.only.contains(&cell.study) => todo.push(cell),
                None => {}
            }
        }
        // Seed-major order: an interrupted grid has every entry with the
        // first seeds rather than some entries with all of them.
        let seed_rank = |s: u64| exp.grid.seeds.iter().position(|&x| x == s);
        todo.sort_by_key(|c| seed_rank(c.seed));
        let reused = results.len();
        let bar = progress_bar(exp.cells.len() as u64, "grid", self.progress);
        bar.set_position(reused as u64);
        let mut ran = 0usize;
        let mut interrupted = false;
        for cell in todo {
            if self.max_cells.is_some_and(|m| ran >= m) {
                break;
            }
            if crate::interrupt::requested() {
                interrupted = true;
                break;
            }
            bar.set_message(cell.id.clone());
            let shared = results
                .iter()
                .find(|r: &&CellResult| r.cell.run_hash() == cell.run_hash())
                .map(|r| CellResult {
                    cell: cell.clone(),
                    hash: cell.hash(),
                    ..r.clone()
                });
            let shared_run = shared.is_some();
            let r = match shared {
                Some(r) => r,
                None => {
                    let estimate = match &cell.estimate {
                        Some(plan) => {
                            let (dir, made) = self
                                .shared_estimate::<B>(cell, plan, &ckpt, dev)
                                .map_err(|e| in_cell(e, &cell.id))?;
                            if let Some(line) = made {
                                bar.println(line);
                            }
                            Some(dir)
                        }
                        None => None,
                    };
                    self.run_cell::<B>(cell, &ckpt, estimate, dev)
                        .map_err(|e| in_cell(e, &cell.id))?
                }
            };
            write_atomic(
                &cells_dir.join(format!("{}.json", cell.id)),
                serde_json::to_string_pretty(&r)
                    .map_err(|e| Error::msg(e.to_string()))?
                    .as_bytes(),
            )?;
            bar.println(format!(
                "{}: mIoU {:.2} ({:.0} s{})",
                cell.id,
                r.metrics.miou * 100.0,
                r.seconds,
                if shared_run {
                    ", same run as another cell"
                } else {
                    ""
                }
            ));
            results.push(r);
            ran += usize::from(!shared_run);
            bar.inc(1);
        }
        bar.finish_and_clear();
        let complete = results.len() == exp.cells.len();
        let ctx = RenderContext {
            command: self.command.clone(),
            backend: format!("{} on {}", B::NAME, B::device_spec(dev)),
            source: source.clone(),
            complete,
        };
        let markdown = render(exp, &results, &ctx, &self.out.join("tables"), "")?;
        if let Some(report) = &self.report {
            let stem = report
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_else(|| "results".into());
            let dir = report.parent().unwrap_or(Path::new("."));
            let md = render(exp, &results, &ctx, &dir.join(&stem), &format!("{stem}/"))?;
            write_atomic(report, md.as_bytes())?;
        }
        if interrupted {
            return Err(Error::Interrupted {
                what: format!("{} of {} cells", results.len(), exp.cells.len()),
                resume: "the tables cover the finished cells; rerun the same command to resume \
                         the grid"
                    .into(),
            });
        }
        Ok(ExperimentSummary {
            cells: exp.cells.len(),
            ran,
            reused,
            complete,
            markdown,
            seconds: t0.elapsed().as_secs_f64(),
        })
    }

    /// The folder of the source estimate `cell` starts from, made (or
    /// finished) first when needed; the second value is a line saying so.
    fn shared_estimate<B: Backend>(
        &self,
        cell: &Cell,
        plan: &EstimatePlan,
        ckpt: &Path,
        dev: &B::Device,
    ) -> Result<(PathBuf, Option<String>)> {
        let cfg = crate::algo::AdaptConfig {
            seed: plan.seed,
            ..cell.cfg.clone()
        };
        let key = estimate_key(&cfg, plan.steps, &file_hash(ckpt)?);
        let dir = self.out.join("estimates").join(&key);
        let file = dir.join(ESTIMATE_FILE);
        if file.exists() && read_estimate_meta(&file)?.finished {
            return Ok((dir, None));
        }
        let b = &self.experiment.grid.benchmark;
        let s = EstimateJob {
            cfg,
            source: ckpt.to_path_buf(),
            out: dir.clone(),
            steps: plan.steps,
            resume: true,
            overwrite: false,
            reference: Some(self.synth(Domain::Source, Split::Val, b.val_images, None)),
            progress: false,
        }
        .run::<B>(dev)?;
        let m = &s.meta;
        let reference = m
            .reference_bns
            .map(|r| format!(" (real source val: {r:.2})"))
            .unwrap_or_default();
        Ok((
            dir,
            Some(format!(
                "source estimate {key}: {} steps, L_BNS {:.2}{reference} ({:.0} s)",
                m.steps, m.final_bns, m.seconds
            )),
        ))
    }

    fn run_cell<B: Backend>(
        &self,
        cell: &Cell,
        ckpt: &Path,
        estimate: Option<PathBuf>,
        dev: &B::Device,
    ) -> Result<CellResult> {
        let b = &self.experiment.grid.benchmark;
        let hash = cell.hash();
        let transfer = cell.kind == StudyKind::Transfer;
        let val = if transfer {
            self.synth(Domain::Source, Split::Val, b.val_images, None)
        } else {
            self.synth(Domain::Target, Split::Val, b.val_images, cell.severity)
        };
        let target = (!transfer)
            .then(|| self.synth(Domain::Target, Split::Train, b.train_images, cell.severity));
        let mut cfg = cell.cfg.clone();
        if let Some(dir) = estimate {
            cfg.source_estimate = Some(dir.display().to_string());
        }
        let job = AdaptJob {
            cfg,
            source: ckpt.to_path_buf(),
            target,
            val: Some(val),
            out: self
                .out
                .join("runs")
                .join(format!("{}-{}", cell.id, &hash[..8])),
            mode: crate::run_dir::WriteMode::Resume,
            stop_after: None,
            progress: false,
            evaluate_source: false,
        };
        let report = job.run::<B>(dev)?;
        let metrics = report
            .after
            .map(|a| a.metrics)
            .ok_or_else(|| Error::msg(format!("cell {}: no evaluation", cell.id)))?;
        Ok(CellResult {
            cell: cell.clone(),
            hash,
            method: report.method.clone(),
            metrics,
            seconds: report.seconds,
            iterations: report.iterations,
            backend: format!("{} on {}", report.backend, report.device),
        })
    }
}

/// The training time of a cached source model, from the last record of its
/// `train_log.json`.
/// A stop request inside a cell (its adaptation or its source estimate
/// saved its state): say which cell, and that the grid resumes.
fn in_cell(e: Error, cell: &str) -> Error {
    match e {
        Error::Interrupted { what, .. } => Error::Interrupted {
            what: format!("{what} of cell {cell}"),
            resume: "its state is saved; rerun the same command to resume the grid".into(),
        },
        e => e,
    }
}

fn logged_training_seconds(dir: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(dir.join("train_log.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.as_array()?.last()?.get("seconds")?.as_f64()
}

/// The stored result of `cell`, when it exists and was made with the same
/// settings.
fn load_result(dir: &Path, cell: &Cell) -> Option<CellResult> {
    let text = std::fs::read_to_string(dir.join(format!("{}.json", cell.id))).ok()?;
    let r: CellResult = serde_json::from_str(&text).ok()?;
    (r.hash == cell.hash()).then_some(r)
}

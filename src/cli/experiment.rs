//! `sfda experiment`: run a grid of methods × seeds × settings and write the
//! paper's tables.

use std::path::PathBuf;

use clap::Args;
use sfda_core::dispatch::{Job, JobOutput};
use sfda_core::experiment::{Experiment, ExperimentJob};

use super::common::BackendArgs;

/// Arguments of `sfda experiment`.
#[derive(Debug, Args)]
pub struct ExperimentArgs {
    /// The grid (TOML): seeds, benchmark, source model, studies.
    #[arg(long)]
    grid: PathBuf,
    /// Output folder: cached source model, per-cell results and runs, tables.
    #[arg(long)]
    out: PathBuf,
    /// Also write the markdown report to this file (tables, CSV, JSON and
    /// PNGs in a folder named after it, beside it).
    #[arg(long)]
    report: Option<PathBuf>,
    /// Check the grid and list its cells without training anything.
    #[arg(long)]
    dry_run: bool,
    /// Stop after running this many cells (the next invocation resumes).
    #[arg(long)]
    max_cells: Option<usize>,
    /// Run only these studies of the grid (comma-separated names, e.g.
    /// `main,k`); the report covers every finished cell.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    #[command(flatten)]
    backend: BackendArgs,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

impl ExperimentArgs {
    /// The command line as a user would retype it.
    fn command(&self) -> String {
        let mut c = format!(
            "sfda experiment --grid {} --out {}",
            self.grid.display(),
            self.out.display()
        );
        if let Some(r) = &self.report {
            c.push_str(&format!(" --report {}", r.display()));
        }
        if !self.only.is_empty() {
            c.push_str(&format!(" --only {}", self.only.join(",")));
        }
        if self.backend.backend != "tch" {
            c.push_str(&format!(" --backend {}", self.backend.backend));
        }
        if self.backend.device != "cpu" {
            c.push_str(&format!(" --device {}", self.backend.device));
        }
        // A grid may name methods only a plugin registers.
        for p in &self.backend.plugins.plugins {
            c.push_str(&format!(" --plugin {}", p.display()));
        }
        c
    }
}

/// Runs `sfda experiment`.
pub fn run(a: ExperimentArgs) -> anyhow::Result<()> {
    // Plugins first: a grid may name the methods they register.
    a.backend.plugins.load(&[])?;
    let experiment = Experiment::from_file(&a.grid)?;
    if a.dry_run {
        for c in experiment
            .cells
            .iter()
            .filter(|c| a.only.is_empty() || a.only.contains(&c.study))
        {
            println!(
                "{}  ({} steps{}{})",
                c.id,
                sfda_core::algo::describe_method(&c.cfg)?.student_steps,
                c.severity
                    .map(|s| format!(", severity {s}"))
                    .unwrap_or_default(),
                c.estimate
                    .as_ref()
                    .map(|e| format!(
                        ", from the shared {}-step source estimate of seed {}",
                        e.steps, e.seed
                    ))
                    .unwrap_or_default()
            );
        }
        println!("{} cells; grid is valid", experiment.cells.len());
        return Ok(());
    }
    let job = ExperimentJob {
        experiment,
        out: a.out.clone(),
        report: a.report.clone(),
        command: a.command(),
        progress: !a.quiet,
        max_cells: a.max_cells,
        only: a.only.clone(),
    };
    if let JobOutput::Experiment(s) = a.backend.run(&Job::Experiment(Box::new(job)))? {
        println!("{}", s.markdown);
        println!(
            "{} cells: {} run now, {} reused{}; {:.0} s",
            s.cells,
            s.ran,
            s.reused,
            if s.complete {
                ""
            } else {
                " (incomplete: rerun to resume)"
            },
            s.seconds
        );
        println!("tables in {}", a.out.join("tables").display());
    }
    Ok(())
}

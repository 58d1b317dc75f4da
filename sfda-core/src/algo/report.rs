//! The adaptation report: per-class IoU of the source model and of the
//! adapted model on the same evaluation set, as markdown (for people) and
//! JSON (for machines). Every table names its class set.

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::algo::config::AdaptConfig;
use crate::data::{write_atomic, ClassSet};
use crate::metrics::SegMetrics;
use crate::{Error, Result};

/// Scores of one method.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MethodScores {
    /// Method name (`source only`, `SFDA`...).
    pub name: String,
    /// Its metrics.
    pub metrics: SegMetrics,
}

/// What an adaptation run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdaptReport {
    /// Method name.
    pub method: String,
    /// Backend used.
    pub backend: String,
    /// Device used.
    pub device: String,
    /// Source checkpoint.
    pub source: String,
    /// Student steps done.
    pub iterations: usize,
    /// Wall time of the adaptation loop in seconds.
    pub seconds: f64,
    /// Class set of every number.
    pub class_set: ClassSet,
    /// The source model on the evaluation set.
    pub before: Option<MethodScores>,
    /// The adapted model on the evaluation set.
    pub after: Option<MethodScores>,
    /// Loss terms of the last step.
    pub final_losses: Vec<(String, f32)>,
    /// The configuration of the run.
    pub config: AdaptConfig,
    /// The backend's CPU thread count at the end of the run (`None` where
    /// it cannot tell; see [`crate::cpu_threads`]).
    #[serde(default)]
    pub cpu_threads: Option<usize>,
}

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.2}", x * 100.0))
        .unwrap_or_else(|| "–".into())
}

impl AdaptReport {
    /// mIoU gain of the adapted model over the source model, in points.
    pub fn gain(&self) -> Option<f64> {
        match (&self.before, &self.after) {
            (Some(b), Some(a)) => Some((a.metrics.miou - b.metrics.miou) * 100.0),
            _ => None,
        }
    }

    /// The before/after table (markdown).
    pub fn table(&self) -> String {
        let rows: Vec<&MethodScores> = self.before.iter().chain(self.after.iter()).collect();
        let mut s = String::new();
        let Some(first) = rows.first() else {
            return "(no labelled evaluation set: no scores)\n".into();
        };
        let _ = writeln!(
            s,
            "Class set: {} ({})",
            self.class_set.name(),
            self.class_set.describe()
        );
        let _ = writeln!(s);
        let _ = write!(s, "| class |");
        for r in &rows {
            let _ = write!(s, " {} |", r.name);
        }
        if rows.len() == 2 {
            let _ = write!(s, " Δ |");
        }
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "|---|{}",
            "---:|".repeat(rows.len() + usize::from(rows.len() == 2))
        );
        for (i, c) in first.metrics.classes.iter().enumerate() {
            let _ = write!(s, "| {} |", c.name);
            let vals: Vec<Option<f64>> = rows.iter().map(|r| r.metrics.classes[i].iou).collect();
            for v in &vals {
                let _ = write!(s, " {} |", pct(*v));
            }
            if let [Some(a), Some(b)] = vals.as_slice() {
                let _ = write!(s, " {:+.2} |", (b - a) * 100.0);
            } else if rows.len() == 2 {
                let _ = write!(s, " – |");
            }
            let _ = writeln!(s);
        }
        for (label, f) in [
            (
                "**mIoU**",
                (|m: &SegMetrics| m.miou) as fn(&SegMetrics) -> f64,
            ),
            ("pixel acc.", |m: &SegMetrics| m.pixel_accuracy),
            ("mean acc.", |m: &SegMetrics| m.mean_accuracy),
        ] {
            let _ = write!(s, "| {label} |");
            let vals: Vec<f64> = rows.iter().map(|r| f(&r.metrics)).collect();
            for v in &vals {
                let _ = write!(s, " {:.2} |", v * 100.0);
            }
            if vals.len() == 2 {
                let _ = write!(s, " {:+.2} |", (vals[1] - vals[0]) * 100.0);
            }
            let _ = writeln!(s);
        }
        let absent: Vec<&str> = first.metrics.absent.iter().map(|s| s.as_str()).collect();
        if !absent.is_empty() {
            let _ = writeln!(
                s,
                "\nExcluded (absent from prediction and ground truth): {}",
                absent.join(", ")
            );
        }
        if !first.metrics.unmapped_labels.is_empty() {
            let _ = writeln!(
                s,
                "\nLabel ids outside the dataset's id table, read as ignore (per evaluation): {} (`--strict-labels` makes them an error)",
                crate::data::ids::describe_unmapped(&first.metrics.unmapped_labels)
            );
        }
        s
    }

    /// The whole report as markdown.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# Adaptation report: {}\n", self.method);
        let _ = writeln!(
            s,
            "- source model: `{}`\n- backend: {} on {}\n- iterations: {} in {:.1} s\n",
            self.source, self.backend, self.device, self.iterations, self.seconds
        );
        if let Some(g) = self.gain() {
            let _ = writeln!(s, "mIoU gain: **{g:+.2}** points\n");
        }
        s.push_str(&self.table());
        if !self.final_losses.is_empty() {
            let _ = writeln!(
                s,
                "\nLoss terms at the last step: {}",
                crate::algo::run_loss_line(&self.final_losses)
            );
        }
        let _ = writeln!(s, "\nPictures: `fakes.png` (generated samples | teacher prediction), `loss_curves.png` (one panel per loss term, see `train_log.json`).");
        s
    }

    /// Writes `report.md` and `report.json` into `dir`, atomically.
    pub fn write(&self, dir: &Path) -> Result<()> {
        write_atomic(&dir.join("report.md"), self.markdown().as_bytes())?;
        let json = serde_json::to_string_pretty(self)
            .map_err(|e| Error::msg(format!("report JSON: {e}")))?;
        write_atomic(&dir.join("report.json"), json.as_bytes())
    }
}

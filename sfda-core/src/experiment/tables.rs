//! The tables of a grid, from its cell results: paper-style comparison
//! tables (per-class IoU, mIoU mean ± std over seeds, a source-free column;
//! the paper's Table 1), sensitivity tables with PNG plots (Tables 5–6,
//! Fig. 8) and the transfer-only table as a share of the source model's
//! mIoU on its own domain (Table 4). Written as markdown, CSV and JSON.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::data::viz::plot::{Figure, Panel, Series};
use crate::data::write_atomic;
use crate::experiment::cell::{CellResult, SourceInfo};
use crate::experiment::grid::{fmt_value, Experiment, StudyKind};
use crate::{Error, Result};

/// What the report says about how it was made.
#[derive(Debug, Clone)]
pub struct RenderContext {
    /// The command line that produced it.
    pub command: String,
    /// Backend and device.
    pub backend: String,
    /// The source model.
    pub source: SourceInfo,
    /// Whether every cell is finished.
    pub complete: bool,
}

/// Mean and sample standard deviation (0 for one value).
pub fn mean_std(v: &[f64]) -> (f64, f64) {
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    if v.len() < 2 {
        return (m, 0.0);
    }
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, var.sqrt())
}

fn pm(v: &[f64]) -> String {
    let (m, s) = mean_std(v);
    if m.is_nan() {
        "–".into()
    } else {
        format!("{m:.2} ± {s:.2}")
    }
}

/// One row of a study: an entry aggregated over seeds.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Entry (method key, `param=value`, variant).
    pub entry: String,
    /// Name in the table.
    pub label: String,
    /// Swept value.
    pub value: Option<f64>,
    /// Source-free method.
    pub source_free: bool,
    /// Seeds present.
    pub seeds: Vec<u64>,
    /// mIoU per seed, percent.
    pub miou: Vec<f64>,
    /// Mean mIoU, percent.
    pub miou_mean: f64,
    /// Sample standard deviation over seeds.
    pub miou_std: f64,
    /// Per-class IoU, mean over seeds (percent; `None` when absent everywhere).
    pub class_iou: Vec<(String, Option<f64>)>,
    /// Mean adaptation seconds per run.
    pub seconds_mean: f64,
}

/// A study with its rows.
#[derive(Debug, Clone, Serialize)]
pub struct StudyTable {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: StudyKind,
    /// The grid's note.
    pub note: String,
    /// Student steps per run (of the first cell).
    pub iterations: usize,
    /// The swept key (sweeps).
    pub param: Option<String>,
    /// Rows in grid order.
    pub rows: Vec<Row>,
    /// Cells planned / finished.
    pub planned: usize,
    /// Cells finished.
    pub finished: usize,
    /// The paper's mIoU (%) per swept value, `(value, mIoU)` (sweeps whose
    /// grid entry gives `paper`; GTA5 → Cityscapes).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub paper: Vec<(f64, f64)>,
}

/// What the paper's values of a sweep are labelled (its Tables 5–6 are
/// DeepLabV3 on GTA5 → Cityscapes, another benchmark than the grid's).
pub const PAPER_LABEL: &str = "paper (GTA5→Cityscapes)";

/// The paper's table or figure a swept key corresponds to.
pub fn paper_reference(param: Option<&str>) -> &'static str {
    match param {
        Some("weights.alpha") => "Table 5",
        Some("weights.beta") => "Table 6",
        Some("k") => "Fig. 8",
        _ => "Sec. 4.4",
    }
}

fn rows_of(exp: &Experiment, results: &[CellResult], study: &str) -> (Vec<Row>, usize, usize) {
    let mut entries: Vec<&str> = Vec::new();
    let planned = exp.cells.iter().filter(|c| c.study == study).count();
    for c in exp.cells.iter().filter(|c| c.study == study) {
        if !entries.contains(&c.entry.as_str()) {
            entries.push(&c.entry);
        }
    }
    let mut finished = 0;
    let rows = entries
        .into_iter()
        .filter_map(|e| {
            let rs: Vec<&CellResult> = results
                .iter()
                .filter(|r| r.cell.study == study && r.cell.entry == e)
                .collect();
            finished += rs.len();
            let first = rs.first()?;
            let miou: Vec<f64> = rs.iter().map(|r| r.metrics.miou * 100.0).collect();
            let (m, s) = mean_std(&miou);
            let class_iou = first
                .metrics
                .classes
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let v: Vec<f64> = rs
                        .iter()
                        .filter_map(|r| r.metrics.classes.get(i)?.iou)
                        .map(|x| x * 100.0)
                        .collect();
                    (c.name.clone(), (!v.is_empty()).then(|| mean_std(&v).0))
                })
                .collect();
            let secs: Vec<f64> = rs.iter().map(|r| r.seconds).collect();
            Some(Row {
                entry: e.to_string(),
                label: first.cell.label.clone(),
                value: first.cell.value,
                source_free: first.cell.source_free,
                seeds: rs.iter().map(|r| r.cell.seed).collect(),
                miou,
                miou_mean: m,
                miou_std: s,
                class_iou,
                seconds_mean: mean_std(&secs).0,
            })
        })
        .collect();
    (rows, planned, finished)
}

fn study_tables(exp: &Experiment, results: &[CellResult]) -> Vec<StudyTable> {
    let mut out = Vec::new();
    let iters = |study: &str| {
        exp.cells
            .iter()
            .find(|c| c.study == study)
            .map(|c| c.cfg.iterations)
            .unwrap_or(0)
    };
    let mut add = |name: &str, kind, note: &str, param: Option<String>, paper: Vec<(f64, f64)>| {
        let (rows, planned, finished) = rows_of(exp, results, name);
        out.push(StudyTable {
            name: name.into(),
            kind,
            note: note.into(),
            iterations: iters(name),
            param,
            rows,
            planned,
            finished,
            paper,
        });
    };
    for c in &exp.grid.comparison {
        add(&c.name, StudyKind::Comparison, &c.note, None, Vec::new());
    }
    for s in &exp.grid.sweep {
        let paper = s
            .paper
            .iter()
            .flat_map(|p| s.values.iter().copied().zip(p.iter().copied()))
            .collect();
        add(
            &s.name,
            StudyKind::Sweep,
            &s.note,
            Some(s.param.clone()),
            paper,
        );
    }
    for t in &exp.grid.transfer {
        add(&t.name, StudyKind::Transfer, &t.note, None, Vec::new());
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains(',') || s.contains('"') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.2}")).unwrap_or_else(|| "–".into())
}

fn comparison_md(s: &mut String, t: &StudyTable) {
    let Some(first) = t.rows.first() else {
        let _ = writeln!(s, "(no finished cell yet)\n");
        return;
    };
    // Classes scored by at least one row.
    let cols: Vec<usize> = (0..first.class_iou.len())
        .filter(|&i| t.rows.iter().any(|r| r.class_iou[i].1.is_some()))
        .collect();
    let _ = write!(s, "| Method | SF |");
    for &i in &cols {
        let _ = write!(s, " {} |", first.class_iou[i].0);
    }
    let _ = writeln!(s, " mIoU | s/run |");
    let _ = writeln!(s, "|---|:-:|{}---:|---:|", "---:|".repeat(cols.len()));
    for r in &t.rows {
        let _ = write!(
            s,
            "| {} | {} |",
            r.label,
            if r.source_free { "✓" } else { "✗" }
        );
        for &i in &cols {
            let _ = write!(s, " {} |", opt(r.class_iou[i].1));
        }
        let _ = writeln!(s, " **{}** | {:.0} |", pm(&r.miou), r.seconds_mean);
    }
    let _ = writeln!(s);
}

/// The paper's value at swept value `v`.
fn paper_at(t: &StudyTable, v: Option<f64>) -> Option<f64> {
    let v = v?;
    t.paper.iter().find(|p| p.0 == v).map(|p| p.1)
}

fn sweep_md(s: &mut String, t: &StudyTable) {
    let p = t.param.as_deref().unwrap_or("value");
    let paper = !t.paper.is_empty();
    if paper {
        let _ = writeln!(s, "| {p} | mIoU (mean ± std) | per seed | {PAPER_LABEL} |");
        let _ = writeln!(s, "|---:|---:|---|---:|");
    } else {
        let _ = writeln!(s, "| {p} | mIoU (mean ± std) | per seed |");
        let _ = writeln!(s, "|---:|---:|---|");
    }
    for r in &t.rows {
        let per: Vec<String> = r
            .seeds
            .iter()
            .zip(&r.miou)
            .map(|(sd, m)| format!("{m:.2} (seed {sd})"))
            .collect();
        let _ = write!(
            s,
            "| {} | **{}** | {} |",
            r.value.map(fmt_value).unwrap_or_default(),
            pm(&r.miou),
            per.join(", ")
        );
        if paper {
            let _ = write!(s, " {} |", opt(paper_at(t, r.value)));
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s);
}

fn transfer_md(s: &mut String, t: &StudyTable, src: f64) {
    let _ = write!(s, "| | source model |");
    for r in &t.rows {
        let _ = write!(s, " {} |", r.label);
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "|---|---:|{}", "---:|".repeat(t.rows.len()));
    let _ = write!(s, "| mIoU on source val | {src:.2} |");
    for r in &t.rows {
        let _ = write!(s, " {} |", pm(&r.miou));
    }
    let _ = writeln!(s);
    let _ = write!(s, "| % of the source model | 100 |");
    for r in &t.rows {
        let pct: Vec<f64> = r.miou.iter().map(|m| 100.0 * m / src.max(1e-9)).collect();
        let _ = write!(s, " {} |", pm(&pct));
    }
    let _ = writeln!(s, "\n");
}

fn study_csv(t: &StudyTable) -> String {
    let mut s = String::new();
    let classes: Vec<String> = t
        .rows
        .first()
        .map(|r| r.class_iou.iter().map(|c| c.0.clone()).collect())
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "study,entry,label,value,source_free,seeds,{},miou_mean,miou_std,seconds_mean",
        classes
            .iter()
            .map(|c| csv_field(c))
            .collect::<Vec<_>>()
            .join(",")
    );
    for r in &t.rows {
        let ious: Vec<String> = r
            .class_iou
            .iter()
            .map(|c| c.1.map(|x| format!("{x:.4}")).unwrap_or_default())
            .collect();
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{:.4},{:.4},{:.1}",
            csv_field(&t.name),
            csv_field(&r.entry),
            csv_field(&r.label),
            r.value.map(fmt_value).unwrap_or_default(),
            r.source_free,
            r.seeds.len(),
            ious.join(","),
            r.miou_mean,
            r.miou_std,
            r.seconds_mean
        );
    }
    s
}

/// Whether swept values are shown on a log axis: all positive, spanning a
/// factor of 10 or more, and some two closer than 12 % of the span on a
/// linear one (their tick values would overlap; e.g. β = 0.01, 0.1, 0.5, 1).
fn log_axis(sorted: &[f64]) -> bool {
    let (Some(&lo), Some(&hi)) = (sorted.first(), sorted.last()) else {
        return false;
    };
    let crowded = sorted.windows(2).any(|w| w[1] - w[0] < 0.12 * (hi - lo));
    lo > 0.0 && hi >= 10.0 * lo && crowded
}

/// The plot of a sweep: mean mIoU over seeds against the swept value, with
/// ± std error bars, and the paper's values on the right axis when the
/// grid gives them.
pub fn sweep_figure(t: &StudyTable) -> Figure {
    let p = t.param.as_deref().unwrap_or("value");
    let rows: Vec<&Row> = t.rows.iter().filter(|r| r.value.is_some()).collect();
    let mean: Vec<(f64, f64)> = rows
        .iter()
        .filter_map(|r| Some((r.value?, r.miou_mean)))
        .collect();
    // One seed has no spread to show: no bar rather than a zero-length one.
    let std: Vec<f64> = rows
        .iter()
        .map(|r| {
            if r.miou.len() > 1 {
                r.miou_std
            } else {
                f64::NAN
            }
        })
        .collect();
    let mut seeds: Vec<usize> = rows.iter().map(|r| r.seeds.len()).collect();
    seeds.dedup();
    let seeds = match seeds.as_slice() {
        [n] => format!("{n} seed{}", if *n == 1 { "" } else { "s" }),
        _ => {
            "seeds per point: ".to_string()
                + &rows
                    .iter()
                    .map(|r| r.seeds.len().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
        }
    };
    let mut ticks: Vec<f64> = mean.iter().map(|m| m.0).collect();
    ticks.extend(t.paper.iter().map(|p| p.0));
    ticks.sort_by(f64::total_cmp);
    ticks.dedup();
    let log = log_axis(&ticks);
    let at = |v: f64| if log { v.log10() } else { v };
    let on_axis =
        |pts: &[(f64, f64)]| -> Vec<(f64, f64)> { pts.iter().map(|&(x, y)| (at(x), y)).collect() };
    let mut panel = Panel::new(
        format!(
            "mIoU against {p} (cf. the paper's {})",
            paper_reference(t.param.as_deref())
        ),
        if log {
            format!("{p} (log scale)")
        } else {
            p.to_string()
        },
        "mIoU % (this grid)",
    )
    .series(
        Series::new(format!("this grid: mean ± std, {seeds}"), on_axis(&mean))
            .color([31, 119, 180])
            .markers()
            .error_bars(std),
    );
    panel.x_ticks = ticks.into_iter().map(|v| (at(v), fmt_value(v))).collect();
    if !t.paper.is_empty() {
        panel = panel
            .series(
                Series::new(format!("{PAPER_LABEL}, right axis"), on_axis(&t.paper))
                    .color([255, 127, 14])
                    .markers()
                    .on_secondary_axis(),
            )
            .note("The paper's values are DeepLabV3 on GTA5 → Cityscapes, another benchmark: compare the trends, not the levels.");
        panel.y2_label = "paper mIoU %".into();
    }
    panel = panel.note(format!(
        "{} student steps per run; error bars: ± sample std over seeds; numbers in the table.",
        t.iterations
    ));
    Figure::new(
        format!("Sweep '{}' ({} of {} cells)", t.name, t.finished, t.planned),
        vec![panel],
    )
}

/// Writes the tables into `dir` (`results.md`, `<study>.csv`,
/// `results.json`, `<sweep>.png`) and returns the markdown, whose picture
/// links are prefixed with `link_prefix`.
pub fn render(
    exp: &Experiment,
    results: &[CellResult],
    ctx: &RenderContext,
    dir: &Path,
    link_prefix: &str,
) -> Result<String> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let tables = study_tables(exp, results);
    let src = &ctx.source;
    let src_miou = src.source_val.miou * 100.0;
    let mut s = String::new();
    let _ = writeln!(s, "# Results on the embedded benchmark\n");
    let _ = writeln!(
        s,
        "Generated by the experiment runner — do not edit by hand; rerun:\n\n```sh\n{}\n```\n",
        ctx.command
    );
    if !ctx.complete {
        let _ = writeln!(
            s,
            "**Partial:** {} of {} cells are finished; rerunning the command resumes the grid.\n",
            results.len(),
            exp.cells.len()
        );
    }
    let b = &exp.grid.benchmark;
    let total_secs: f64 = results.iter().map(|r| r.seconds).sum();
    let _ = writeln!(
        s,
        "- grid: `{}`, {} cells, seeds {:?} (adaptation seeds: initialisation, latents, data order; data and source model fixed)",
        exp.path.display(),
        exp.cells.len(),
        exp.grid.seeds
    );
    let _ = writeln!(
        s,
        "- benchmark: embedded synthetic street scenes, {}×{}, {} unlabelled target training images, {} validation images per domain, target severity {}",
        b.size[0],
        b.size[1],
        b.train_images,
        b.val_images,
        b.severity.map(|v| v.to_string()).unwrap_or_else(|| "default".into())
    );
    let _ = writeln!(
        s,
        "- source model: {}{}; mIoU {:.2} on source val, {:.2} on target val",
        src.arch,
        src.iterations
            .map(|i| format!(", {i} training steps"))
            .unwrap_or_default(),
        src_miou,
        src.target_val.miou * 100.0
    );
    let mut plans: Vec<(usize, u64)> = exp
        .cells
        .iter()
        .filter_map(|c| c.estimate.as_ref().map(|e| (e.steps, e.seed)))
        .collect();
    plans.sort_unstable();
    plans.dedup();
    if !plans.is_empty() {
        let list: Vec<String> = plans
            .iter()
            .map(|(n, seed)| format!("{n} steps, seed {seed}"))
            .collect();
        let _ = writeln!(
            s,
            "- source estimate: the cells that use L_BNS start from one shared estimate per estimation setting ({}; L_BNS against real source images in `<out>/estimates/*/report.md`), not from a warm-up of their own; its time is not in the cells' times",
            list.join("; ")
        );
    }
    let _ = writeln!(
        s,
        "- backend: {}; adaptation time summed over the finished cells: {:.0} s ({:.1} min){}",
        ctx.backend,
        total_secs,
        total_secs / 60.0,
        src.train_seconds
            .map(|t| format!("; source training {t:.0} s"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        s,
        "- class set: {} (IoU in %, mean over seeds; mIoU as mean ± sample std over seeds; SF = source-free)\n",
        src.source_val.class_set.name()
    );
    let mut json_studies = Vec::new();
    for t in &tables {
        let title = match t.kind {
            StudyKind::Comparison => format!("Comparison `{}` (cf. the paper's Table 1)", t.name),
            StudyKind::Sweep => format!(
                "Sensitivity `{}`: {} (cf. the paper's {})",
                t.name,
                t.param.as_deref().unwrap_or(""),
                paper_reference(t.param.as_deref())
            ),
            StudyKind::Transfer => format!(
                "Transfer only `{}` (cf. the paper's Table 4: the source model distilled into a new model through the generator alone, no target data; scored on source val)",
                t.name
            ),
        };
        let _ = writeln!(s, "## {title}\n");
        if !t.note.is_empty() {
            let _ = writeln!(s, "{}\n", t.note.trim());
        }
        let _ = writeln!(
            s,
            "{} student steps per run; {} of {} cells finished.\n",
            t.iterations, t.finished, t.planned
        );
        match t.kind {
            StudyKind::Comparison => comparison_md(&mut s, t),
            StudyKind::Sweep => {
                sweep_md(&mut s, t);
                if !t.rows.is_empty() {
                    let png = format!("{}.png", t.name);
                    sweep_figure(t).save(&dir.join(&png))?;
                    let _ = writeln!(
                        s,
                        "![{}: mIoU against {}]({link_prefix}{png})\n",
                        t.name,
                        t.param.as_deref().unwrap_or("")
                    );
                }
            }
            StudyKind::Transfer => transfer_md(&mut s, t, src_miou),
        }
        let csv = format!("{}.csv", t.name);
        write_atomic(&dir.join(&csv), study_csv(t).as_bytes())?;
        let _ = writeln!(s, "CSV: [`{csv}`]({link_prefix}{csv})\n");
        json_studies.push(t);
    }
    let _ = writeln!(
        s,
        "All numbers with their per-seed values and configs: [`results.json`]({link_prefix}results.json)."
    );
    let json = serde_json::json!({
        "command": ctx.command,
        "backend": ctx.backend,
        "complete": ctx.complete,
        "grid": exp.grid,
        "source": ctx.source,
        "studies": json_studies,
    });
    write_atomic(
        &dir.join("results.json"),
        serde_json::to_string_pretty(&json)
            .map_err(|e| Error::msg(e.to_string()))?
            .as_bytes(),
    )?;
    write_atomic(&dir.join("results.md"), s.as_bytes())?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::viz::font::TextMode;
    use crate::data::viz::plot::differing;

    fn row(value: f64, miou: &[f64]) -> Row {
        let (m, s) = mean_std(miou);
        Row {
            entry: format!("weights.alpha={}", fmt_value(value)),
            label: format!("weights.alpha = {}", fmt_value(value)),
            value: Some(value),
            source_free: true,
            seeds: (0..miou.len() as u64).collect(),
            miou: miou.to_vec(),
            miou_mean: m,
            miou_std: s,
            class_iou: Vec::new(),
            seconds_mean: 1.0,
        }
    }

    fn alpha_table() -> StudyTable {
        StudyTable {
            name: "alpha".into(),
            kind: StudyKind::Sweep,
            note: String::new(),
            iterations: 200,
            param: Some("weights.alpha".into()),
            rows: vec![
                row(0.1, &[44.0, 44.5, 43.8]),
                row(0.5, &[47.0, 47.6, 47.3]),
                row(1.0, &[48.0, 48.4, 48.1]),
                row(2.0, &[48.3, 48.9, 48.2]),
            ],
            planned: 12,
            finished: 12,
            paper: vec![(0.1, 41.33), (0.5, 42.70), (1.0, 43.16), (2.0, 42.47)],
        }
    }

    #[test]
    fn sweep_plots_carry_titles_ticks_error_bars_and_the_papers_values() {
        let t = alpha_table();
        let f = sweep_figure(&t);
        let p = &f.panels[0];
        assert_eq!(p.x_label, "weights.alpha");
        let ticks: Vec<&str> = p.x_ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(ticks, ["0.1", "0.5", "1", "2"]);
        assert_eq!(p.series[0].error.len(), 4);
        assert!(p.series[1].secondary && p.series[1].name.contains(PAPER_LABEL));
        assert_eq!(p.y2_label, "paper mIoU %");
        assert!(p.series[1].name.contains("GTA5→Cityscapes"));

        let with = f.render(TextMode::Drawn).unwrap();
        let without = f.render(TextMode::Hidden).unwrap();
        assert!(differing(&with, &without, 0..34) > 100, "no figure title");
        assert!(differing(&with, &without, 34..62) > 50, "no panel title");
        assert!(
            differing(&with, &without, 62..312) > 300,
            "no tick values or axis labels"
        );
        // The error bars are drawn: without them the chart differs.
        let mut bare = f.clone();
        bare.panels[0].series[0].error.clear();
        let bare = bare.render(TextMode::Drawn).unwrap();
        assert!(differing(&with, &bare, 62..312) > 20, "no error bars");
    }

    #[test]
    fn crowded_positive_sweeps_get_a_log_axis() {
        assert!(log_axis(&[0.01, 0.1, 0.5, 1.0]));
        assert!(!log_axis(&[0.1, 0.5, 1.0, 2.0]));
        assert!(!log_axis(&[1.0, 2.0, 3.0, 4.0, 5.0]));
        assert!(!log_axis(&[0.0, 0.01, 1.0]));
        let mut t = alpha_table();
        t.param = Some("weights.beta".into());
        for (r, v) in t.rows.iter_mut().zip([0.01, 0.1, 0.5, 1.0]) {
            r.value = Some(v);
        }
        t.paper.clear();
        let f = sweep_figure(&t);
        let p = &f.panels[0];
        assert_eq!(p.x_label, "weights.beta (log scale)");
        assert_eq!(p.x_ticks[0], (-2.0, "0.01".to_string()));
        assert_eq!(p.series[0].points[1].0, -1.0);
    }

    #[test]
    fn sweep_tables_list_the_papers_values_and_one_seed_has_no_error_bar() {
        let t = alpha_table();
        let mut md = String::new();
        sweep_md(&mut md, &t);
        assert!(md.contains(PAPER_LABEL) && md.contains("| 43.16 |"), "{md}");
        let mut one = alpha_table();
        one.paper.clear();
        one.rows = vec![row(0.1, &[44.0]), row(1.0, &[48.0])];
        let f = sweep_figure(&one);
        assert!(f.panels[0].series[0].error.iter().all(|e| e.is_nan()));
        assert_eq!(f.panels[0].series.len(), 1);
        f.render(TextMode::Drawn).unwrap();
        let mut md = String::new();
        sweep_md(&mut md, &one);
        assert!(!md.contains("paper"), "{md}");
    }
}

//! Pictures of a run: loss curves and per-layer `L_BNS` curves (SFDA's
//! fakes are drawn by `methods/sfda/fakes.rs`).

use std::path::Path;

use crate::data::viz::plot::{Figure, Panel, Series, SPARSE_POINTS};
use crate::Result;

/// The steps of `records` (their `step` values), lowest and highest.
fn step_range(records: &[serde_json::Value]) -> Option<(f64, f64)> {
    let steps: Vec<f64> = records
        .iter()
        .filter_map(|r| r.get("step")?.as_f64())
        .collect();
    let lo = steps.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = steps.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (lo.is_finite() && hi > lo).then_some((lo, hi))
}

/// The figure of [`loss_curves`].
pub fn loss_figure(records: &[serde_json::Value]) -> Figure {
    let mut names: Vec<String> = Vec::new();
    for r in records {
        if let Some(o) = r.as_object() {
            for k in o.keys() {
                let numeric = r.get(k).is_some_and(|v| v.is_number());
                if numeric && k != "step" && !k.starts_with("time_") && !names.contains(k) {
                    names.push(k.clone());
                }
            }
        }
    }
    let steps = records
        .iter()
        .filter(|r| r.get("step").is_some_and(|s| s.is_number()))
        .count();
    let x_range = step_range(records);
    let panels = names
        .iter()
        .map(|name| {
            let points: Vec<(f64, f64)> = records
                .iter()
                .filter_map(|r| Some((r.get("step")?.as_f64()?, r.get(name)?.as_f64()?)))
                .collect();
            let n = points.len();
            let mut panel =
                Panel::new(name.clone(), "step", name.clone()).series(Series::new("", points));
            panel.x_range = x_range;
            if n < steps && n <= SPARSE_POINTS {
                panel = panel.note(format!("logged at {n} of {steps} steps (a dot each)"));
            }
            panel
        })
        .collect();
    Figure::new("train_log.json: every logged series against step", panels)
}

/// Plots every numeric series of `records` (except `step` and the
/// `time_*` timings) against step, one titled panel per series (each on its
/// own scale, over the run's whole step range, a grey zero line when zero
/// is in range; a series logged at few steps, such as `val_miou`, gets a
/// dot per point), in the order of first appearance.
pub fn loss_curves(records: &[serde_json::Value], path: &Path) -> Result<()> {
    loss_figure(records).save(path)
}

/// The figure of [`bns_layer_curves`].
pub fn bns_layer_figure(records: &[serde_json::Value]) -> Figure {
    let mut names: Vec<String> = Vec::new();
    for r in records {
        if let Some(o) = r.get("layers").and_then(|l| l.as_object()) {
            for k in o.keys() {
                if !names.contains(k) {
                    names.push(k.clone());
                }
            }
        }
    }
    let part = |r: &serde_json::Value, name: &str, p: &str| -> Option<(f64, f64)> {
        Some((
            r.get("step")?.as_f64()?,
            r.get("layers")?.get(name)?.get(p)?.as_f64()?,
        ))
    };
    let x_range = step_range(records);
    let parts = [
        ("mean", "mean part ‖μ(fakes) − μ_BN‖²"),
        ("var", "variance part ‖σ²(fakes) − σ²_BN‖²"),
    ];
    let mut panels: Vec<Panel> = names
        .iter()
        .map(|name| {
            let mut panel = Panel::new(name.clone(), "step", "share of L_BNS");
            for (key, label) in parts {
                panel = panel.series(Series::new(
                    label,
                    records.iter().filter_map(|r| part(r, name, key)).collect(),
                ));
            }
            panel.x_range = x_range;
            panel
        })
        .collect();
    let sum: Vec<(f64, f64)> = records
        .iter()
        .filter_map(|r| {
            let step = r.get("step")?.as_f64()?;
            let sum: f64 = r
                .get("layers")?
                .as_object()?
                .values()
                .filter_map(|l| Some(l.get("mean")?.as_f64()? + l.get("var")?.as_f64()?))
                .sum();
            Some((step, sum))
        })
        .collect();
    let mut total = Panel::new("L_BNS (eq. 4), sum of all layers", "step", "L_BNS")
        .series(Series::new("mean + variance parts", sum).color([0, 0, 0]));
    total.x_range = x_range;
    panels.push(total);
    Figure::new(
        "bns_layers.json: L_BNS per BN layer (network order), mean and variance parts against step",
        panels,
    )
}

/// Plots `bns_layers.json` records: one titled panel per BN layer (in
/// network order) with the mean part and the variance part of its `L_BNS`
/// share against step (named in each panel's legend), then a panel with
/// their sum over layers.
pub fn bns_layer_curves(records: &[serde_json::Value], path: &Path) -> Result<()> {
    bns_layer_figure(records).save(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::viz::font::TextMode;
    use crate::data::viz::plot::differing;
    use serde_json::json;

    /// Renders with and without text: the figure title (top 34 rows) and the
    /// first panel's title (the 28 rows under it) must carry text, and the
    /// chart under them tick values.
    fn assert_text_drawn(f: &Figure) {
        let with = f.render(TextMode::Drawn).unwrap();
        let without = f.render(TextMode::Hidden).unwrap();
        assert!(differing(&with, &without, 0..34) > 100, "no figure title");
        assert!(differing(&with, &without, 34..62) > 50, "no panel title");
        assert!(
            differing(&with, &without, 62..62 + 250) > 300,
            "no tick values or axis labels"
        );
    }

    fn train_log() -> Vec<serde_json::Value> {
        (0..=100)
            .map(|s| {
                let mut r =
                    json!({ "step": s, "L_total": 3.0 / (1.0 + s as f64), "time_step": 0.1 });
                if s % 50 == 0 {
                    r["val_miou"] = json!(20.0 + s as f64 / 10.0);
                }
                r
            })
            .collect()
    }

    #[test]
    fn loss_curves_carry_titles_ticks_and_the_sparse_series_as_dots_over_all_steps() {
        let f = loss_figure(&train_log());
        let titles: Vec<&str> = f.panels.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(titles, ["L_total", "val_miou"]);
        let val = &f.panels[1];
        assert_eq!(val.x_range, Some((0.0, 100.0)));
        assert_eq!(val.series[0].points.len(), 3);
        assert!(val.notes[0].contains("3 of 101"), "{:?}", val.notes);
        assert_text_drawn(&f);
        // Written atomically as a PNG, no side legend.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loss_curves.png");
        loss_curves(&train_log(), &path).unwrap();
        assert!(crate::data::read_image(&path).unwrap().width > 0);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn bns_layer_curves_name_each_layer_and_both_parts() {
        let records: Vec<serde_json::Value> = (0..20)
            .map(|s| {
                json!({ "step": s, "layers": {
                    "bn1": { "mean": 1.0 / (1.0 + s as f64), "var": 0.5 },
                    "layer1.0.bn2": { "mean": 0.2, "var": 0.1 * s as f64 },
                }})
            })
            .collect();
        let f = bns_layer_figure(&records);
        let titles: Vec<&str> = f.panels.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(titles[..2], ["bn1", "layer1.0.bn2"]);
        assert!(titles[2].contains("sum of all layers"));
        assert!(f.panels[0].series[0].name.starts_with("mean part"));
        assert!(f.panels[0].series[1].name.starts_with("variance part"));
        assert_text_drawn(&f);
    }
}

//! Pictures of a run: loss curves and per-layer `L_BNS` curves (SFDA's
//! fakes are drawn by `methods/sfda/fakes.rs`).

use std::path::Path;

use crate::data::viz::plot::{line_panels, write_legend, Panel, Series};
use crate::Result;

/// Plots every numeric series of `records` (except `step` and the
/// `time_*` timings) against step,
/// one stacked panel per series (each scaled to its own min–max, zero line
/// in grey when in range), in the order of first appearance.
pub fn loss_curves(records: &[serde_json::Value], path: &Path) -> Result<()> {
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
    let panels: Vec<Panel> = names
        .iter()
        .map(|name| Panel {
            name: name.clone(),
            series: vec![Series {
                points: records
                    .iter()
                    .filter_map(|r| Some((r.get("step")?.as_f64()?, r.get(name)?.as_f64()?)))
                    .collect(),
                ..Series::default()
            }],
        })
        .collect();
    line_panels(&panels, path)?;
    let legend: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{}: {n}", i + 1))
        .collect();
    write_legend(path, "panels, top to bottom:", &legend)
}

/// Plots `bns_layers.json` records: one panel per BN layer (in network
/// order) with the mean part (first colour) and the variance part (second
/// colour) of its `L_BNS` share against step, then a panel with their sum.
pub fn bns_layer_curves(records: &[serde_json::Value], path: &Path) -> Result<()> {
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
    let mut panels: Vec<Panel> = names
        .iter()
        .map(|name| Panel {
            name: name.clone(),
            series: ["mean", "var"]
                .iter()
                .map(|p| Series {
                    points: records.iter().filter_map(|r| part(r, name, p)).collect(),
                    ..Series::default()
                })
                .collect(),
        })
        .collect();
    panels.push(Panel {
        name: "L_BNS (eq. 4, sum of all layers)".into(),
        series: vec![Series {
            points: records
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
                .collect(),
            ..Series::default()
        }],
    });
    line_panels(&panels, path)?;
    let mut legend: Vec<String> = panels
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{}: {}", i + 1, p.name))
        .collect();
    legend.push("blue: mean part ‖μ(x̃) − μ̄‖², red: variance part ‖σ²(x̃) − σ̄²‖²".into());
    write_legend(path, "L_BNS per BN layer, panels top to bottom:", &legend)
}

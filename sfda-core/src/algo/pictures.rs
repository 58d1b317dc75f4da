//! Pictures of a run: generated fakes beside the teacher's predictions on
//! them (the paper's Fig. 7), and loss curves.

use std::path::Path;

use crate::algo::models::fake_to_input;
use crate::algo::sfda::Sfda;
use crate::data::viz::plot::{line_panels, write_legend, Panel, Series};
use crate::data::{Grid, LabelMap, RgbImage};
use crate::model::ForwardOpts;
use crate::rng::SeedRng;
use crate::tensor::{Backend, Tensor};
use crate::train::labels_to_u8;
use crate::Result;

/// Writes a grid of `n` fakes (fixed latents) | the teacher's prediction.
pub fn fake_grid<B: Backend>(run: &Sfda<B>, path: &Path, n: usize) -> Result<()> {
    let mut rng = SeedRng::derive(run.cfg.seed, "fake-grid");
    let z = Tensor::<B>::randn(&[n, run.cfg.latent_dim], 0.0, 1.0, &mut rng, &run.device)?;
    let img = run.models.generator.forward(&z, true)?.detach()?;
    let x = fake_to_input(&img, &run.models.source_meta.normalization)?;
    let pred = run.models.teacher.forward(&x, ForwardOpts::EVAL)?;
    let labels = labels_to_u8(&pred.logits.argmax_dim(1, false)?)?;
    let s = img.shape();
    let (h, w) = (s[2], s[3]);
    let pixels = img.to_vec()?;
    let mut grid = Grid::new(w as u32, h as u32);
    for i in 0..n {
        let chw = &pixels[i * 3 * h * w..(i + 1) * 3 * h * w];
        let mut data = Vec::with_capacity(h * w * 3);
        for p in 0..h * w {
            for c in 0..3 {
                data.push(
                    (((chw[c * h * w + p] + 1.0) * 0.5).clamp(0.0, 1.0) * 255.0).round() as u8,
                );
            }
        }
        let rgb = RgbImage {
            width: w as u32,
            height: h as u32,
            data,
        };
        let map = LabelMap::new(
            w as u32,
            h as u32,
            labels[i * h * w..(i + 1) * h * w].to_vec(),
        )?;
        let panel = grid.label_panel(&map);
        grid.push_row(vec![rgb, panel]);
    }
    grid.save(path)
}

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

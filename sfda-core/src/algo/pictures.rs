//! Pictures of a run: generated fakes beside the teacher's predictions on
//! them (the paper's Fig. 7), and loss curves.

use std::path::Path;

use crate::algo::models::fake_to_input;
use crate::algo::sfda::Sfda;
use crate::data::{save_rgb_png, Grid, LabelMap, RgbImage};
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

const PANEL_W: usize = 320;
const PANEL_H: usize = 90;
const MARGIN: usize = 6;
const COLORS: [[u8; 3]; 6] = [
    [31, 119, 180],
    [214, 39, 40],
    [44, 160, 44],
    [148, 103, 189],
    [255, 127, 14],
    [23, 190, 207],
];

/// Plots every numeric series of `records` (except `step` and the
/// `time_*` timings) against step,
/// one stacked panel per series (each scaled to its own min–max, zero line
/// in grey when in range), in the order of first appearance.
pub fn loss_curves(records: &[serde_json::Value], path: &Path) -> Result<()> {
    let mut names: Vec<String> = Vec::new();
    for r in records {
        if let Some(o) = r.as_object() {
            for k in o.keys() {
                if k != "step" && !k.starts_with("time_") && !names.contains(k) {
                    names.push(k.clone());
                }
            }
        }
    }
    let panels = names.len().max(1);
    let (w, h) = (PANEL_W + 2 * MARGIN, panels * (PANEL_H + MARGIN) + MARGIN);
    let mut data = vec![255u8; w * h * 3];
    let put = |x: usize, y: usize, c: [u8; 3], data: &mut Vec<u8>| {
        if x < w && y < h {
            data[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&c);
        }
    };
    for (pi, name) in names.iter().enumerate() {
        let pts: Vec<(f64, f64)> = records
            .iter()
            .filter_map(|r| Some((r.get("step")?.as_f64()?, r.get(name)?.as_f64()?)))
            .filter(|(_, v)| v.is_finite())
            .collect();
        let top = MARGIN + pi * (PANEL_H + MARGIN);
        for x in 0..PANEL_W {
            put(MARGIN + x, top, [200, 200, 200], &mut data);
            put(MARGIN + x, top + PANEL_H - 1, [200, 200, 200], &mut data);
        }
        if pts.is_empty() {
            continue;
        }
        let (x0, x1) = pts
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
        let (y0, y1) = pts
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
        let sx =
            |x: f64| MARGIN + (((x - x0) / (x1 - x0).max(1e-12)) * (PANEL_W - 1) as f64) as usize;
        let sy = |y: f64| {
            top + PANEL_H - 2 - (((y - y0) / (y1 - y0).max(1e-12)) * (PANEL_H - 3) as f64) as usize
        };
        if y0 < 0.0 && y1 > 0.0 {
            for x in 0..PANEL_W {
                put(MARGIN + x, sy(0.0), [150, 150, 150], &mut data);
            }
        }
        let c = COLORS[pi % COLORS.len()];
        for win in pts.windows(2) {
            let (a, b) = ((sx(win[0].0), sy(win[0].1)), (sx(win[1].0), sy(win[1].1)));
            let n = a.0.abs_diff(b.0).max(a.1.abs_diff(b.1)).max(1);
            for t in 0..=n {
                let f = t as f64 / n as f64;
                let x = a.0 as f64 + (b.0 as f64 - a.0 as f64) * f;
                let y = a.1 as f64 + (b.1 as f64 - a.1 as f64) * f;
                put(x.round() as usize, y.round() as usize, c, &mut data);
            }
        }
        if pts.len() == 1 {
            put(sx(pts[0].0), sy(pts[0].1), c, &mut data);
        }
    }
    save_rgb_png(
        path,
        &RgbImage {
            width: w as u32,
            height: h as u32,
            data,
        },
    )?;
    let legend: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{}: {n}", i + 1))
        .collect();
    crate::data::write_atomic(
        &path.with_extension("txt"),
        format!("panels, top to bottom:\n{}\n", legend.join("\n")).as_bytes(),
    )
}

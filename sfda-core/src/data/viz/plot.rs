//! Line plots as PNG without a plotting dependency: stacked panels, each
//! holding one or more series on a shared min–max scale (a grey zero line
//! when zero is in range), optional point markers. Text is not drawn: the
//! caller writes a `.txt` legend next to the picture (see [`write_legend`]).
//! Used for the loss curves of a run and the sensitivity plots of an
//! experiment grid.

use std::path::Path;

use crate::data::{save_rgb_png, write_atomic, RgbImage};
use crate::Result;

const PANEL_W: usize = 320;
const PANEL_H: usize = 90;
const MARGIN: usize = 6;
/// Series colours, in order.
pub const COLORS: [[u8; 3]; 6] = [
    [31, 119, 180],
    [214, 39, 40],
    [44, 160, 44],
    [148, 103, 189],
    [255, 127, 14],
    [23, 190, 207],
];

/// One line of a panel.
#[derive(Debug, Clone, Default)]
pub struct Series {
    /// `(x, y)` points, drawn in order (non-finite ones skipped).
    pub points: Vec<(f64, f64)>,
    /// Colour (`None`: by series index in [`COLORS`]).
    pub color: Option<[u8; 3]>,
    /// Draw a small square at each point.
    pub markers: bool,
}

/// A panel: series sharing one scale.
#[derive(Debug, Clone, Default)]
pub struct Panel {
    /// Name (for the legend).
    pub name: String,
    /// Its lines.
    pub series: Vec<Series>,
}

/// Draws `panels` stacked top to bottom into a PNG at `path`.
pub fn line_panels(panels: &[Panel], path: &Path) -> Result<()> {
    let n = panels.len().max(1);
    let (w, h) = (PANEL_W + 2 * MARGIN, n * (PANEL_H + MARGIN) + MARGIN);
    let mut data = vec![255u8; w * h * 3];
    let put = |x: usize, y: usize, c: [u8; 3], data: &mut Vec<u8>| {
        if x < w && y < h {
            data[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&c);
        }
    };
    for (pi, panel) in panels.iter().enumerate() {
        let top = MARGIN + pi * (PANEL_H + MARGIN);
        for x in 0..PANEL_W {
            put(MARGIN + x, top, [200, 200, 200], &mut data);
            put(MARGIN + x, top + PANEL_H - 1, [200, 200, 200], &mut data);
        }
        let all: Vec<(f64, f64)> = panel
            .series
            .iter()
            .flat_map(|s| s.points.iter().copied())
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        if all.is_empty() {
            continue;
        }
        let (x0, x1) = all
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
        let (y0, y1) = all
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
        for (si, s) in panel.series.iter().enumerate() {
            let c = s.color.unwrap_or(COLORS[(pi + si) % COLORS.len()]);
            let pts: Vec<(usize, usize)> = s
                .points
                .iter()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .map(|&(x, y)| (sx(x), sy(y)))
                .collect();
            for win in pts.windows(2) {
                let (a, b) = (win[0], win[1]);
                let n = a.0.abs_diff(b.0).max(a.1.abs_diff(b.1)).max(1);
                for t in 0..=n {
                    let f = t as f64 / n as f64;
                    let x = a.0 as f64 + (b.0 as f64 - a.0 as f64) * f;
                    let y = a.1 as f64 + (b.1 as f64 - a.1 as f64) * f;
                    put(x.round() as usize, y.round() as usize, c, &mut data);
                }
            }
            for &(x, y) in &pts {
                if s.markers || pts.len() == 1 {
                    for dx in 0..5 {
                        for dy in 0..5 {
                            put(
                                (x + dx).saturating_sub(2),
                                (y + dy).saturating_sub(2),
                                c,
                                &mut data,
                            );
                        }
                    }
                }
            }
        }
    }
    save_rgb_png(
        path,
        &RgbImage {
            width: w as u32,
            height: h as u32,
            data,
        },
    )
}

/// Writes `path` with extension `.txt`: `lines` under a title.
pub fn write_legend(path: &Path, title: &str, lines: &[String]) -> Result<()> {
    write_atomic(
        &path.with_extension("txt"),
        format!("{title}\n{}\n", lines.join("\n")).as_bytes(),
    )
}

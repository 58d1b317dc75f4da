//! Side-by-side picture grids: rows of panels of one cell size, separated by
//! a thin gap, written as one PNG (atomically).

use std::path::Path;

use crate::data::png_out::save_rgb_png;
use crate::data::raster::{LabelMap, RgbImage};
use crate::data::resize::{resize_bilinear, resize_nearest};
use crate::data::viz::palette::colorize;
use crate::error::Result;

/// Gap between panels, in pixels.
const GAP: u32 = 2;
/// Colour of the gaps and of missing panels.
const BACKGROUND: [u8; 3] = [255, 255, 255];
const MISSING: [u8; 3] = [128, 128, 128];

/// A grid of picture panels; every panel is resized to the cell size.
#[derive(Debug, Clone)]
pub struct Grid {
    cell: (u32, u32),
    rows: Vec<Vec<RgbImage>>,
}

impl Grid {
    /// An empty grid whose panels are `width × height`.
    pub fn new(width: u32, height: u32) -> Self {
        Grid {
            cell: (width.max(1), height.max(1)),
            rows: Vec::new(),
        }
    }

    /// Appends a row of image panels (resized bilinearly to the cell).
    pub fn push_row(&mut self, panels: Vec<RgbImage>) {
        let (w, h) = self.cell;
        self.rows
            .push(panels.iter().map(|p| resize_bilinear(p, w, h)).collect());
    }

    /// A panel showing a label map in Cityscapes colours (resized nearest).
    pub fn label_panel(&self, map: &LabelMap) -> RgbImage {
        colorize(&resize_nearest(map, self.cell.0, self.cell.1))
    }

    /// A grey placeholder panel (e.g. no ground truth).
    pub fn missing_panel(&self) -> RgbImage {
        let (w, h) = self.cell;
        RgbImage {
            width: w,
            height: h,
            data: MISSING.repeat(w as usize * h as usize),
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows.len()
    }

    /// Lays the panels out into one image.
    pub fn render(&self) -> RgbImage {
        let (cw, ch) = self.cell;
        let cols = self.rows.iter().map(Vec::len).max().unwrap_or(0) as u32;
        let nrows = self.rows.len() as u32;
        let width = cols * cw + (cols + 1) * GAP;
        let height = nrows * ch + (nrows + 1) * GAP;
        let mut out = RgbImage {
            width,
            height,
            data: BACKGROUND.repeat(width as usize * height as usize),
        };
        for (r, row) in self.rows.iter().enumerate() {
            for (c, panel) in row.iter().enumerate() {
                let x0 = GAP + c as u32 * (cw + GAP);
                let y0 = GAP + r as u32 * (ch + GAP);
                for y in 0..ch {
                    let src = (y * cw) as usize * 3;
                    let dst = (((y0 + y) * width + x0) * 3) as usize;
                    out.data[dst..dst + cw as usize * 3]
                        .copy_from_slice(&panel.data[src..src + cw as usize * 3]);
                }
            }
        }
        out
    }

    /// Renders and writes the grid as a PNG (temp file + rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        save_rgb_png(path, &self.render())
    }
}

/// A grid with one row per example: image | ground truth | prediction (the
/// ground-truth panel is grey when absent). Cells take the first image's size.
pub fn prediction_grid(rows: &[(&RgbImage, Option<&LabelMap>, &LabelMap)]) -> Grid {
    let (w, h) = rows
        .first()
        .map(|r| (r.0.width, r.0.height))
        .unwrap_or((1, 1));
    let mut grid = Grid::new(w, h);
    for (img, gt, pred) in rows {
        let gt_panel = match gt {
            Some(g) => grid.label_panel(g),
            None => grid.missing_panel(),
        };
        let pred_panel = grid.label_panel(pred);
        grid.push_row(vec![(*img).clone(), gt_panel, pred_panel]);
    }
    grid
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_size_and_panel_placement() {
        let img = RgbImage::new(4, 2, [9u8, 9, 9].repeat(8)).unwrap();
        let lab = LabelMap::filled(4, 2, 0);
        let g = prediction_grid(&[(&img, None, &lab), (&img, Some(&lab), &lab)]);
        let out = g.render();
        assert_eq!((out.width, out.height), (3 * 4 + 4 * GAP, 2 * 2 + 3 * GAP));
        assert_eq!(out.pixel(GAP, GAP), [9, 9, 9]);
        assert_eq!(out.pixel(GAP + 4 + GAP, GAP), MISSING);
        assert_eq!(out.pixel(GAP + 2 * (4 + GAP), GAP), [128, 64, 128]);
    }
}

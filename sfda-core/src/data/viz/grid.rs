//! Side-by-side picture grids: rows of panels of one cell size, separated by
//! a thin gap, written as one PNG (atomically). Optionally a header over
//! each column and, under the rows, a legend of the classes the label
//! panels show (Cityscapes colours and names), in the embedded font.

use std::collections::BTreeSet;
use std::path::Path;

use crate::data::classes::TRAIN_ID_NAMES;
use crate::data::png_out::save_rgb_png;
use crate::data::raster::{LabelMap, RgbImage};
use crate::data::resize::{resize_bilinear, resize_nearest};
use crate::data::viz::font::{
    draw_labels, fit_text, text_width, wrap_entries, HAlign, Label, TextMode, VAlign,
};
use crate::data::viz::palette::{color_of, colorize};
use crate::error::Result;

/// Gap between panels, in pixels.
const GAP: u32 = 2;
/// Colour of the gaps and of missing panels.
const BACKGROUND: [u8; 3] = [255, 255, 255];
const MISSING: [u8; 3] = [128, 128, 128];
/// Height of the column headers' band.
const HEADER_H: u32 = 24;
/// Height of one line of the class legend.
const LEGEND_LINE_H: u32 = 20;
/// Line heights of the headers' and the legend's text.
const HEADER_SIZE: f32 = 16.0;
const LEGEND_SIZE: f32 = 15.0;
/// The narrowest picture that carries a legend (a grid of small cells is
/// widened with white space so the class names fit).
const LEGEND_MIN_W: u32 = 420;

/// A grid of picture panels; every panel is resized to the cell size.
#[derive(Debug, Clone)]
pub struct Grid {
    cell: (u32, u32),
    rows: Vec<Vec<RgbImage>>,
    headers: Vec<String>,
    class_legend: bool,
    /// Train ids seen by [`Grid::label_panel`].
    classes: BTreeSet<u8>,
}

impl Grid {
    /// An empty grid whose panels are `width × height`, without headers
    /// or legend.
    pub fn new(width: u32, height: u32) -> Self {
        Grid {
            cell: (width.max(1), height.max(1)),
            rows: Vec::new(),
            headers: Vec::new(),
            class_legend: false,
            classes: BTreeSet::new(),
        }
    }

    /// Names the columns: one header per column, drawn above the first row
    /// (cut with "…" to the cell width).
    pub fn with_headers(mut self, headers: &[&str]) -> Self {
        self.headers = headers.iter().map(|h| h.to_string()).collect();
        self
    }

    /// Ends the picture with a legend of the classes the label panels show
    /// (colour swatch and Cityscapes name; ignore and unknown ids black).
    pub fn with_class_legend(mut self) -> Self {
        self.class_legend = true;
        self
    }

    /// Appends a row of image panels (resized bilinearly to the cell).
    pub fn push_row(&mut self, panels: Vec<RgbImage>) {
        let (w, h) = self.cell;
        self.rows
            .push(panels.iter().map(|p| resize_bilinear(p, w, h)).collect());
    }

    /// A panel showing a label map in Cityscapes colours (resized nearest);
    /// its classes join the legend.
    pub fn label_panel(&mut self, map: &LabelMap) -> RgbImage {
        self.classes.extend(map.data.iter().copied());
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

    /// The legend's entries: colour and name of every class seen, in
    /// train-id order, then one black entry for ignore / unknown ids.
    fn legend_entries(&self) -> Vec<([u8; 3], String)> {
        if !self.class_legend {
            return Vec::new();
        }
        let mut out: Vec<([u8; 3], String)> = self
            .classes
            .iter()
            .filter_map(|&id| Some((color_of(id), TRAIN_ID_NAMES.get(id as usize)?.to_string())))
            .collect();
        if self
            .classes
            .iter()
            .any(|&id| id as usize >= TRAIN_ID_NAMES.len())
        {
            out.push(([0, 0, 0], "ignore / unknown".into()));
        }
        out
    }

    /// Legend entries laid out in lines of at most `width` pixels.
    fn legend_lines(&self, width: u32) -> Vec<Vec<([u8; 3], String)>> {
        wrap_entries(self.legend_entries(), LEGEND_SIZE, width, 6, 20, 14)
    }

    /// Lays the panels out into one image, with headers and legend.
    pub fn render(&self) -> Result<RgbImage> {
        self.render_with(TextMode::Drawn)
    }

    /// [`Grid::render`]; [`TextMode::Hidden`] keeps the layout without text.
    pub fn render_with(&self, mode: TextMode) -> Result<RgbImage> {
        let (cw, ch) = self.cell;
        let cols = self.rows.iter().map(Vec::len).max().unwrap_or(0) as u32;
        let nrows = self.rows.len() as u32;
        let grid_w = cols * cw + (cols + 1) * GAP;
        let header_h = if self.headers.is_empty() { 0 } else { HEADER_H };
        let width = if self.class_legend {
            grid_w.max(LEGEND_MIN_W)
        } else {
            grid_w
        };
        let legend = self.legend_lines(width);
        let legend_h = if legend.is_empty() {
            0
        } else {
            legend.len() as u32 * LEGEND_LINE_H + 6
        };
        let height = header_h + nrows * ch + (nrows + 1) * GAP + legend_h;
        let mut out = RgbImage {
            width,
            height,
            data: BACKGROUND.repeat(width as usize * height as usize),
        };
        for (r, row) in self.rows.iter().enumerate() {
            for (c, panel) in row.iter().enumerate() {
                let x0 = GAP + c as u32 * (cw + GAP);
                let y0 = header_h + GAP + r as u32 * (ch + GAP);
                for y in 0..ch {
                    let src = (y * cw) as usize * 3;
                    let dst = (((y0 + y) * width + x0) * 3) as usize;
                    out.data[dst..dst + cw as usize * 3]
                        .copy_from_slice(&panel.data[src..src + cw as usize * 3]);
                }
            }
        }
        let legend_top = height - legend_h;
        let labels = self.draw_legend_and_headers(&mut out, &legend, legend_top);
        draw_labels(&mut out, &labels, mode)?;
        Ok(out)
    }

    /// Paints the legend's swatches and returns the headers' and the
    /// legend's text.
    fn draw_legend_and_headers(
        &self,
        img: &mut RgbImage,
        legend: &[Vec<([u8; 3], String)>],
        legend_top: u32,
    ) -> Vec<Label> {
        let (cw, _) = self.cell;
        let mut labels = Vec::new();
        for (c, header) in self.headers.iter().enumerate() {
            let x = GAP + c as u32 * (cw + GAP) + cw / 2;
            labels.push(
                Label::new(
                    fit_text(header, HEADER_SIZE, cw.saturating_sub(4)),
                    x as i32,
                    (HEADER_H / 2 + 1) as i32,
                    HEADER_SIZE,
                )
                .align(HAlign::Center, VAlign::Middle),
            );
        }
        for (li, line) in legend.iter().enumerate() {
            let y = legend_top + 4 + li as u32 * LEGEND_LINE_H + LEGEND_LINE_H / 2;
            let mut x = 6u32;
            for (c, name) in line {
                swatch(img, x, y - 7, 14, *c);
                labels.push(
                    Label::new(name.clone(), (x + 20) as i32, y as i32, LEGEND_SIZE)
                        .align(HAlign::Left, VAlign::Middle),
                );
                x += 20 + text_width(name, LEGEND_SIZE) + 14;
            }
        }
        labels
    }

    /// Renders and writes the grid as a PNG (temp file + rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        save_rgb_png(path, &self.render()?)
    }
}

/// A `size × size` square of colour `c` with a grey border, top left at
/// `(x, y)` (clipped to the image).
fn swatch(img: &mut RgbImage, x: u32, y: u32, size: u32, c: [u8; 3]) {
    for yy in y..(y + size).min(img.height) {
        for xx in x..(x + size).min(img.width) {
            let edge = yy == y || xx == x || yy == y + size - 1 || xx == x + size - 1;
            let i = (yy as usize * img.width as usize + xx as usize) * 3;
            img.data[i..i + 3].copy_from_slice(if edge { &[90, 90, 90] } else { &c });
        }
    }
}

/// A grid with one row per example: image | ground truth | prediction (the
/// ground-truth panel is grey when absent), under column headers and over a
/// legend of the classes shown. Cells take the first image's size.
pub fn prediction_grid(rows: &[(&RgbImage, Option<&LabelMap>, &LabelMap)]) -> Grid {
    let (w, h) = rows
        .first()
        .map(|r| (r.0.width, r.0.height))
        .unwrap_or((1, 1));
    let gt_header = if rows.iter().any(|r| r.1.is_none()) {
        "ground truth (grey: none)"
    } else {
        "ground truth"
    };
    let mut grid = Grid::new(w, h)
        .with_headers(&["image", gt_header, "prediction"])
        .with_class_legend();
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
        let mut g = Grid::new(4, 2);
        let missing = g.missing_panel();
        let road = g.label_panel(&lab);
        g.push_row(vec![img.clone(), missing, road.clone()]);
        g.push_row(vec![img, road.clone(), road]);
        let out = g.render().unwrap();
        assert_eq!((out.width, out.height), (3 * 4 + 4 * GAP, 2 * 2 + 3 * GAP));
        assert_eq!(out.pixel(GAP, GAP), [9, 9, 9]);
        assert_eq!(out.pixel(GAP + 4 + GAP, GAP), MISSING);
        assert_eq!(out.pixel(GAP + 2 * (4 + GAP), GAP), [128, 64, 128]);
    }

    #[test]
    fn prediction_grids_carry_column_headers_and_a_class_legend() {
        let img = RgbImage::new(96, 48, [9u8, 9, 9].repeat(96 * 48)).unwrap();
        let mut ids = vec![0u8; 96 * 48];
        ids[..96 * 24].fill(13); // car
        ids[0] = 255;
        let pred = LabelMap::new(96, 48, ids).unwrap();
        let g = prediction_grid(&[(&img, None, &pred), (&img, Some(&pred), &pred)]);
        let names: Vec<String> = g.legend_entries().into_iter().map(|e| e.1).collect();
        assert_eq!(names, ["road", "car", "ignore / unknown"]);
        let with = g.render().unwrap();
        let without = g.render_with(TextMode::Hidden).unwrap();
        assert_eq!(with.width, LEGEND_MIN_W.max(3 * 96 + 4 * GAP));
        // Panels sit under the header band.
        assert_eq!(with.pixel(GAP, HEADER_H + GAP), [9, 9, 9]);
        assert_eq!(with.pixel(GAP + 2 * (96 + GAP), HEADER_H + GAP), [0, 0, 0]);
        let differ = |rows: std::ops::Range<u32>| {
            rows.flat_map(|y| (0..with.width).map(move |x| (x, y)))
                .filter(|&(x, y)| with.pixel(x, y) != without.pixel(x, y))
                .count()
        };
        assert!(differ(0..HEADER_H) > 50, "no column headers");
        let legend_top = HEADER_H + 2 * 48 + 3 * GAP;
        assert!(differ(legend_top..with.height) > 50, "no legend names");
        // The swatches are there with or without text.
        let car = color_of(13);
        assert!(
            (legend_top..with.height).any(|y| (0..with.width).any(|x| without.pixel(x, y) == car))
        );
    }
}

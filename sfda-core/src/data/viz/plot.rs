//! Line plots as PNG: plotters draws the axes, grid lines and series into
//! an RGB buffer, then every text is drawn in the embedded font
//! ([`super::font`]). A [`Figure`] is a titled grid of [`Panel`]s, each with
//! its own title, axis labels with tick values, and a legend under it
//! naming its [`Series`] (lines, optional markers, optional ± error bars,
//! optionally on a secondary right axis) and its horizontal [`RefLine`]s.
//! Used for the loss curves of a run and the sensitivity plots of an
//! experiment grid.
//!
//! ```
//! use sfda_core::data::viz::plot::{Figure, Panel, Series};
//! let panel = Panel::new("loss", "step", "value")
//!     .series(Series::new("L_total", vec![(0.0, 2.0), (1.0, 1.5), (2.0, 1.2)]));
//! let img = Figure::new("losses", vec![panel]).render(Default::default()).unwrap();
//! assert!(img.width > 0 && img.height > 0);
//! ```

use std::path::Path;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::data::viz::font::{
    draw_labels, fit_text, text_width, wrap_entries, wrap_text, HAlign, Label, TextMode, VAlign,
};
use crate::data::{save_rgb_png, RgbImage};
use crate::{Error, Result};

/// Width of one panel, in pixels.
pub const PANEL_W: u32 = 440;
/// Height of a panel's chart (axes, ticks and plotting area).
const CHART_H: u32 = 250;
/// Height of a panel's title band.
const TITLE_H: u32 = 28;
/// Height of the figure's title band.
const FIG_TITLE_H: u32 = 34;
/// Height of one legend line.
const LEGEND_LINE_H: u32 = 20;
/// Height of one note line.
const NOTE_LINE_H: u32 = 17;
/// Line heights of the texts (see [`Label::size`]).
const FIG_TITLE_SIZE: f32 = 21.0;
const TITLE_SIZE: f32 = 18.0;
const DESC_SIZE: f32 = 16.0;
const TICK_SIZE: f32 = 14.0;
const LEGEND_SIZE: f32 = 15.0;
const NOTE_SIZE: f32 = 14.0;
/// At most this many tick values per axis.
const N_TICKS: usize = 7;
/// Colour of reference lines without one of their own.
const REF_COLOR: [u8; 3] = [110, 110, 110];
/// Horizontal padding of the legend and notes.
const PAD: u32 = 10;
/// Series with at most this many finite points get markers (a sparse
/// series such as a metric logged only at evaluation steps stays visible).
pub const SPARSE_POINTS: usize = 40;

/// Series colours, in order (matplotlib's tab10).
pub const COLORS: [[u8; 3]; 6] = [
    [31, 119, 180],
    [214, 39, 40],
    [44, 160, 44],
    [148, 103, 189],
    [255, 127, 14],
    [23, 190, 207],
];

type DrawResult<T> = std::result::Result<T, Box<dyn std::error::Error>>;
type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// One line of a panel.
#[derive(Debug, Clone, Default)]
pub struct Series {
    /// Name in the legend (empty: not listed).
    pub name: String,
    /// `(x, y)` points, drawn in order (non-finite ones skipped).
    pub points: Vec<(f64, f64)>,
    /// Colour (`None`: by series index in [`COLORS`]).
    pub color: Option<[u8; 3]>,
    /// Draw a dot at each point (always on for at most [`SPARSE_POINTS`]
    /// points).
    pub markers: bool,
    /// Half-widths of vertical error bars, one per point (empty: none).
    pub error: Vec<f64>,
    /// Plot against the panel's secondary (right) axis.
    pub secondary: bool,
}

impl Series {
    /// A series named `name` (its legend entry) through `points`.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            name: name.into(),
            points,
            ..Series::default()
        }
    }

    /// Sets its colour.
    pub fn color(mut self, rgb: [u8; 3]) -> Self {
        self.color = Some(rgb);
        self
    }

    /// Draws a dot at every point.
    pub fn markers(mut self) -> Self {
        self.markers = true;
        self
    }

    /// Adds vertical error bars `y ± error[i]` (one half-width per point).
    pub fn error_bars(mut self, error: Vec<f64>) -> Self {
        self.error = error;
        self
    }

    /// Plots it against the secondary (right) axis.
    pub fn on_secondary_axis(mut self) -> Self {
        self.secondary = true;
        self
    }

    fn finite(&self) -> Vec<(usize, (f64, f64))> {
        self.points
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, (x, y))| x.is_finite() && y.is_finite())
            .collect()
    }

    fn with_markers(&self) -> bool {
        self.markers || self.finite().len() <= SPARSE_POINTS
    }
}

/// A horizontal reference line across a panel (dashed, in the legend).
#[derive(Debug, Clone, Default)]
pub struct RefLine {
    /// Name in the legend (e.g. "2 × reference").
    pub name: String,
    /// Its height on the primary axis.
    pub y: f64,
    /// Colour (`None`: grey).
    pub color: Option<[u8; 3]>,
}

/// A panel: a titled chart whose series share its axes.
#[derive(Debug, Clone, Default)]
pub struct Panel {
    /// Title above the chart.
    pub title: String,
    /// Label of the x axis.
    pub x_label: String,
    /// Label of the (left) y axis.
    pub y_label: String,
    /// Label of the secondary (right) y axis, shown when a series is on it.
    pub y2_label: String,
    /// Its lines.
    pub series: Vec<Series>,
    /// Horizontal reference lines (primary axis).
    pub refs: Vec<RefLine>,
    /// The x range shown (`None`: that of the points).
    pub x_range: Option<(f64, f64)>,
    /// Tick marks `(x, label)` on the x axis (empty: automatic ticks).
    pub x_ticks: Vec<(f64, String)>,
    /// Lines of small print under the legend (wrapped to the panel).
    pub notes: Vec<String>,
}

impl Panel {
    /// An empty panel with a title and axis labels.
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Self {
        Panel {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            ..Panel::default()
        }
    }

    /// Adds a series.
    pub fn series(mut self, s: Series) -> Self {
        self.series.push(s);
        self
    }

    /// Adds a horizontal reference line.
    pub fn reference(mut self, name: impl Into<String>, y: f64) -> Self {
        self.refs.push(RefLine {
            name: name.into(),
            y,
            color: None,
        });
        self
    }

    /// Adds a line of small print under the legend.
    pub fn note(mut self, text: impl Into<String>) -> Self {
        self.notes.push(text.into());
        self
    }

    fn has_secondary(&self) -> bool {
        self.series
            .iter()
            .any(|s| s.secondary && !s.finite().is_empty())
    }

    fn color_of(&self, i: usize) -> RGBColor {
        let c = self.series[i].color.unwrap_or(COLORS[i % COLORS.len()]);
        RGBColor(c[0], c[1], c[2])
    }
}

/// A figure: a title over panels laid out in a grid.
#[derive(Debug, Clone, Default)]
pub struct Figure {
    /// Title above all panels (empty: none).
    pub title: String,
    /// Panels per row (0: 1 for one panel, 2 up to 4, 3 up to 9, else 4).
    pub columns: usize,
    /// The panels, row by row.
    pub panels: Vec<Panel>,
}

impl Figure {
    /// A figure of `panels` under `title`, columns chosen by their number.
    pub fn new(title: impl Into<String>, panels: Vec<Panel>) -> Self {
        Figure {
            title: title.into(),
            columns: 0,
            panels,
        }
    }

    fn columns(&self) -> usize {
        if self.columns > 0 {
            return self.columns;
        }
        match self.panels.len() {
            0..=1 => 1,
            2..=4 => 2,
            5..=9 => 3,
            _ => 4,
        }
    }

    /// Renders the figure; [`TextMode::Hidden`] gives the same picture
    /// without its text.
    pub fn render(&self, mode: TextMode) -> Result<RgbImage> {
        let (mut img, labels) = self
            .draw()
            .map_err(|e| Error::msg(format!("drawing the plot '{}': {e}", self.title)))?;
        draw_labels(&mut img, &labels, mode)?;
        Ok(img)
    }

    /// Renders the figure and writes it as a PNG (temp file + rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        save_rgb_png(path, &self.render(TextMode::Drawn)?)
    }

    /// The picture without text, and the text to draw on it.
    fn draw(&self) -> DrawResult<(RgbImage, Vec<Label>)> {
        let cols = self.columns().min(self.panels.len().max(1));
        let rows = self.panels.len().div_ceil(cols).max(1);
        let inner = PANEL_W - 2 * PAD;
        let legend_lines = self
            .panels
            .iter()
            .map(|p| legend_layout(p, inner).len())
            .max()
            .unwrap_or(0);
        let note_lines = self
            .panels
            .iter()
            .map(|p| note_lines(p, inner).len())
            .max()
            .unwrap_or(0);
        let panel_h = TITLE_H
            + CHART_H
            + legend_lines as u32 * LEGEND_LINE_H
            + note_lines as u32 * NOTE_LINE_H
            + 8;
        let title_h = if self.title.is_empty() {
            0
        } else {
            FIG_TITLE_H
        };
        let (w, h) = (cols as u32 * PANEL_W, title_h + rows as u32 * panel_h);
        let mut buf = vec![255u8; w as usize * h as usize * 3];
        let mut labels = Vec::new();
        if !self.title.is_empty() {
            labels.push(
                Label::new(
                    fit_text(&self.title, FIG_TITLE_SIZE, w - 2 * PAD),
                    (w / 2) as i32,
                    8,
                    FIG_TITLE_SIZE,
                )
                .align(HAlign::Center, VAlign::Top),
            );
        }
        {
            let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
            root.fill(&WHITE)?;
            let (_, body) = root.split_vertically(title_h);
            let cells = body.split_evenly((rows, cols));
            for (panel, cell) in self.panels.iter().zip(&cells) {
                draw_panel(panel, cell, &mut labels)?;
            }
            root.present()?;
        }
        let img = RgbImage {
            width: w,
            height: h,
            data: buf,
        };
        Ok((img, labels))
    }
}

/// A tick value with the fewest decimals (at most 6) that show it exactly
/// at the axis span's precision (`0.25`, `150`, `0.3` for
/// `0.30000000000000004`); scientific beyond that.
pub fn tick_label(v: f64, span: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    if v.abs() <= span.abs() * 1e-9 {
        return "0".into();
    }
    if v.abs() >= 1e5 {
        return format!("{v:.1e}");
    }
    let tol = span.abs().max(f64::MIN_POSITIVE) * 1e-6;
    for d in 0..=6 {
        let s = format!("{v:.d$}");
        if s.parse::<f64>().is_ok_and(|r| (r - v).abs() <= tol) {
            return s;
        }
    }
    format!("{v:.2e}")
}

/// `(lo, hi)` of `values` widened by `frac` of their span on each side (a
/// flat or empty set gets a range around its value).
fn padded(values: impl Iterator<Item = f64>, frac: f64) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    if span <= hi.abs().max(lo.abs()) * 1e-12 {
        let pad = (lo.abs() * 0.1).max(0.5);
        return (lo - pad, hi + pad);
    }
    (lo - span * frac, hi + span * frac)
}

/// Every y a series on axis `secondary` reaches (error bars included).
fn y_values(panel: &Panel, secondary: bool) -> Vec<f64> {
    let mut v = Vec::new();
    for s in panel.series.iter().filter(|s| s.secondary == secondary) {
        for (i, (_, y)) in s.finite() {
            let e = s
                .error
                .get(i)
                .copied()
                .filter(|e| e.is_finite())
                .unwrap_or(0.0);
            v.extend([y - e, y + e]);
        }
    }
    if !secondary {
        v.extend(panel.refs.iter().map(|r| r.y));
    }
    v
}

/// One legend entry: which series or reference line, and its text.
enum Entry {
    Series(usize),
    Ref(usize),
}

/// Width of a legend entry's swatch and the gap after it.
const SWATCH_W: u32 = 28;
/// Gap between legend entries.
const ENTRY_GAP: u32 = 16;

/// Legend entries laid out in lines of at most `width` pixels.
fn legend_layout(panel: &Panel, width: u32) -> Vec<Vec<(Entry, String)>> {
    let mut entries: Vec<(Entry, String)> = Vec::new();
    for (i, s) in panel.series.iter().enumerate() {
        if !s.name.is_empty() {
            entries.push((Entry::Series(i), s.name.clone()));
        }
    }
    for (i, r) in panel.refs.iter().enumerate() {
        if !r.name.is_empty() {
            entries.push((Entry::Ref(i), r.name.clone()));
        }
    }
    let entries = entries
        .into_iter()
        .map(|(e, text)| (e, fit_text(&text, LEGEND_SIZE, width - SWATCH_W)))
        .collect();
    wrap_entries(entries, LEGEND_SIZE, width, 0, SWATCH_W, ENTRY_GAP)
}

/// The notes, wrapped at word boundaries to `width` pixels.
fn note_lines(panel: &Panel, width: u32) -> Vec<String> {
    panel
        .notes
        .iter()
        .flat_map(|n| wrap_text(n, NOTE_SIZE, width))
        .collect()
}

fn draw_panel(panel: &Panel, area: &Area<'_>, labels: &mut Vec<Label>) -> DrawResult<()> {
    let (w, _) = area.dim_in_pixel();
    let base = area.get_base_pixel();
    let (_, rest) = area.split_vertically(TITLE_H);
    let (chart_area, bottom) = rest.split_vertically(CHART_H);
    labels.push(
        Label::new(
            fit_text(&panel.title, TITLE_SIZE, w - 2 * PAD),
            base.0 + (w / 2) as i32,
            base.1 + 6,
            TITLE_SIZE,
        )
        .align(HAlign::Center, VAlign::Top),
    );

    let secondary = panel.has_secondary();
    let all_x = panel
        .series
        .iter()
        .flat_map(|s| s.finite().into_iter().map(|(_, (x, _))| x));
    let (x0, x1) = match panel.x_range {
        Some((a, b)) if a.is_finite() && b.is_finite() && b > a => padded([a, b].into_iter(), 0.03),
        _ => padded(all_x.chain(panel.x_ticks.iter().map(|t| t.0)), 0.05),
    };
    let (y0, y1) = padded(y_values(panel, false).into_iter(), 0.06);
    let (s0, s1) = if secondary {
        padded(y_values(panel, true).into_iter(), 0.06)
    } else {
        (y0, y1)
    };
    let mut builder = ChartBuilder::on(&chart_area);
    builder
        .margin_left(6)
        .margin_top(6)
        .margin_bottom(4)
        .margin_right(if secondary { 6 } else { 20 })
        .x_label_area_size(44)
        .y_label_area_size(80);
    if secondary {
        builder.right_y_label_area_size(80);
    }
    let mut chart = builder
        .build_cartesian_2d(x0..x1, y0..y1)?
        .set_secondary_coord(x0..x1, s0..s1);
    // Plotters draws the grid and tick marks; the tick values and axis
    // names are drawn in the embedded font afterwards (plotters' own text is
    // transparent, so it never reaches the picture).
    let none = |_: &f64| String::new();
    let invisible = TextStyle::from(("sans-serif", 12).into_font()).color(&TRANSPARENT);
    let x_keys = if panel.x_ticks.is_empty() { N_TICKS } else { 0 };
    chart
        .configure_mesh()
        .label_style(invisible.clone())
        .x_label_formatter(&none)
        .y_label_formatter(&none)
        .x_labels(x_keys)
        .y_labels(N_TICKS)
        .light_line_style(RGBColor(240, 240, 240))
        .bold_line_style(RGBColor(218, 218, 218))
        .draw()?;
    if secondary {
        chart
            .configure_secondary_axes()
            .label_style(invisible)
            .y_label_formatter(&none)
            .y_labels(N_TICKS)
            .draw()?;
    }
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    // Tick values: at plotters' key points (where its grid lines are), or
    // at the panel's own ticks (with tick marks, skipping overlaps).
    let x_ticks: Vec<(f64, String)> = if panel.x_ticks.is_empty() {
        RangedCoordf64::from(x0..x1)
            .key_points(N_TICKS)
            .into_iter()
            .map(|v| (v, tick_label(v, x1 - x0)))
            .collect()
    } else {
        panel.x_ticks.clone()
    };
    let mut right_edge = i32::MIN;
    for (x, text) in &x_ticks {
        if !(x0..=x1).contains(x) {
            continue;
        }
        let (px, py) = chart.backend_coord(&(*x, y0));
        if !panel.x_ticks.is_empty() {
            root_line(&chart_area, (px, py), (px, py + 5))?;
        }
        let half = text_width(text, TICK_SIZE) as i32 / 2;
        if px - half > right_edge + 4 {
            labels.push(
                Label::new(text.clone(), px, py + 7, TICK_SIZE).align(HAlign::Center, VAlign::Top),
            );
            right_edge = px + half;
        }
    }
    for v in RangedCoordf64::from(y0..y1).key_points(N_TICKS) {
        let (px, py) = chart.backend_coord(&(x0, v));
        labels.push(
            Label::new(tick_label(v, y1 - y0), px - 7, py, TICK_SIZE)
                .align(HAlign::Right, VAlign::Middle),
        );
    }
    let mid_y = (yr.start + yr.end) / 2;
    labels.push(
        Label::new(
            fit_text(
                &panel.x_label,
                DESC_SIZE,
                xr.end.saturating_sub(xr.start) as u32,
            ),
            (xr.start + xr.end) / 2,
            yr.end + 24,
            DESC_SIZE,
        )
        .align(HAlign::Center, VAlign::Top),
    );
    let fit_v = |t: &str| fit_text(t, DESC_SIZE, yr.end.saturating_sub(yr.start) as u32);
    labels.push(
        Label::new(fit_v(&panel.y_label), base.0 + 6, mid_y, DESC_SIZE)
            .align(HAlign::Left, VAlign::Middle)
            .vertical(),
    );
    if secondary {
        for v in RangedCoordf64::from(s0..s1).key_points(N_TICKS) {
            let (px, py) = chart.borrow_secondary().backend_coord(&(x1, v));
            labels.push(
                Label::new(tick_label(v, s1 - s0), px + 7, py, TICK_SIZE)
                    .align(HAlign::Left, VAlign::Middle),
            );
        }
        labels.push(
            Label::new(
                fit_v(&panel.y2_label),
                base.0 + w as i32 - 6,
                mid_y,
                DESC_SIZE,
            )
            .align(HAlign::Right, VAlign::Middle)
            .vertical(),
        );
    }
    if y0 < 0.0 && y1 > 0.0 {
        chart.draw_series(LineSeries::new(
            [(x0, 0.0), (x1, 0.0)],
            RGBColor(150, 150, 150).stroke_width(1),
        ))?;
    }
    for r in &panel.refs {
        let c = r.color.unwrap_or(REF_COLOR);
        chart.draw_series(DashedLineSeries::new(
            [(x0, r.y), (x1, r.y)],
            8,
            5,
            RGBColor(c[0], c[1], c[2]).stroke_width(2),
        ))?;
    }
    let finite_points = panel.series.iter().map(|s| s.finite().len()).sum::<usize>();
    for (i, s) in panel.series.iter().enumerate() {
        let color = panel.color_of(i);
        let pts = s.finite();
        let xy: Vec<(f64, f64)> = pts.iter().map(|p| p.1).collect();
        let bars: Vec<_> = pts
            .iter()
            .filter_map(|&(j, (x, y))| {
                let e = *s.error.get(j)?;
                e.is_finite()
                    .then(|| ErrorBar::new_vertical(x, y - e, y, y + e, color.stroke_width(2), 10))
            })
            .collect();
        // One element per segment: a thick polyline gets miter joins, which
        // spike far out of the chart at the sharp turns of a noisy curve.
        let width = if xy.len() > SPARSE_POINTS { 1 } else { 2 };
        let line = xy
            .windows(2)
            .map(|w| PathElement::new(vec![w[0], w[1]], color.stroke_width(width)));
        let radius = if xy.len() > 12 { 3 } else { 4 };
        let dots = xy.iter().map(|&p| Circle::new(p, radius, color.filled()));
        if s.secondary {
            chart.draw_secondary_series(bars)?;
            chart.draw_secondary_series(line)?;
            if s.with_markers() {
                chart.draw_secondary_series(dots)?;
            }
        } else {
            chart.draw_series(bars)?;
            chart.draw_series(line)?;
            if s.with_markers() {
                chart.draw_series(dots)?;
            }
        }
    }
    if finite_points == 0 {
        labels.push(
            Label::new(
                "no finite values",
                (xr.start + xr.end) / 2,
                mid_y,
                DESC_SIZE,
            )
            .align(HAlign::Center, VAlign::Middle)
            .color([120, 120, 120]),
        );
    }
    draw_legend(panel, &bottom, labels)
}

/// A one-pixel black line on `area` between two absolute pixels.
fn root_line(area: &Area<'_>, a: (i32, i32), b: (i32, i32)) -> DrawResult<()> {
    let base = area.get_base_pixel();
    area.draw(&PathElement::new(
        vec![(a.0 - base.0, a.1 - base.1), (b.0 - base.0, b.1 - base.1)],
        BLACK.stroke_width(1),
    ))?;
    Ok(())
}

fn draw_legend(panel: &Panel, area: &Area<'_>, labels: &mut Vec<Label>) -> DrawResult<()> {
    let inner = PANEL_W - 2 * PAD;
    let base = area.get_base_pixel();
    let lines = legend_layout(panel, inner);
    for (li, line) in lines.iter().enumerate() {
        let y = (li as u32 * LEGEND_LINE_H + LEGEND_LINE_H / 2) as i32;
        let mut x = PAD as i32;
        for (entry, text) in line {
            match *entry {
                Entry::Series(i) => {
                    let c = panel.color_of(i);
                    let s = &panel.series[i];
                    area.draw(&PathElement::new(
                        vec![(x, y), (x + 22, y)],
                        c.stroke_width(2),
                    ))?;
                    if s.with_markers() {
                        area.draw(&Circle::new((x + 11, y), 4, c.filled()))?;
                    }
                    if !s.error.is_empty() {
                        area.draw(&PathElement::new(
                            vec![(x + 11, y - 7), (x + 11, y + 7)],
                            c.stroke_width(2),
                        ))?;
                    }
                }
                Entry::Ref(i) => {
                    let c = panel.refs[i].color.unwrap_or(REF_COLOR);
                    let c = RGBColor(c[0], c[1], c[2]).stroke_width(2);
                    area.draw(&PathElement::new(vec![(x, y), (x + 8, y)], c))?;
                    area.draw(&PathElement::new(vec![(x + 13, y), (x + 22, y)], c))?;
                }
            }
            labels.push(
                Label::new(
                    text.clone(),
                    base.0 + x + SWATCH_W as i32,
                    base.1 + y,
                    LEGEND_SIZE,
                )
                .align(HAlign::Left, VAlign::Middle),
            );
            x += (SWATCH_W + text_width(text, LEGEND_SIZE) + ENTRY_GAP) as i32;
        }
    }
    let top = base.1 + (lines.len() as u32 * LEGEND_LINE_H + 3) as i32;
    for (i, n) in note_lines(panel, inner).into_iter().enumerate() {
        labels.push(
            Label::new(
                n,
                base.0 + PAD as i32,
                top + (i as u32 * NOTE_LINE_H) as i32,
                NOTE_SIZE,
            )
            .color([80, 80, 80]),
        );
    }
    Ok(())
}

/// Pixels that differ between two renders of the same size in rows `rows`
/// (the plot tests compare a render with text against one without).
#[cfg(test)]
pub(crate) fn differing(a: &RgbImage, b: &RgbImage, rows: std::ops::Range<u32>) -> usize {
    assert_eq!((a.width, a.height), (b.width, b.height));
    rows.flat_map(|y| (0..a.width).map(move |x| (x, y)))
        .filter(|&(x, y)| a.pixel(x, y) != b.pixel(x, y))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Figure {
        let pts: Vec<(f64, f64)> = (0..50)
            .map(|i| (i as f64, (i as f64 * 0.2).sin()))
            .collect();
        let panel = Panel::new("a sine", "step", "value")
            .series(Series::new("sin", pts))
            .series(Series::new("two dots", vec![(10.0, 0.5), (40.0, -0.5)]))
            .reference("half", 0.5)
            .note("a note long enough to be wrapped over more than one line of the panel's width, surely");
        Figure::new("figure title", vec![panel.clone(), panel])
    }

    #[test]
    fn text_is_drawn_and_hidden_text_keeps_the_layout() {
        let f = sample();
        let with = f.render(TextMode::Drawn).unwrap();
        let without = f.render(TextMode::Hidden).unwrap();
        // The figure title's band, then the first panel's title band.
        assert!(differing(&with, &without, 0..FIG_TITLE_H) > 50);
        assert!(differing(&with, &without, FIG_TITLE_H..FIG_TITLE_H + TITLE_H) > 50);
        // Everything else (lines, markers, axes) is identical: only text differs.
        let dark = |img: &RgbImage| img.data.chunks(3).filter(|p| p[0] < 100).count();
        assert!(dark(&with) > dark(&without));
        // Two panels side by side.
        assert_eq!(with.width, 2 * PANEL_W);
    }

    #[test]
    fn sparse_series_get_markers_and_flat_or_empty_panels_render() {
        let s = Series::new("val", vec![(200.0, 0.3)]);
        assert!(s.with_markers());
        let dense = Series::new("loss", (0..100).map(|i| (i as f64, 1.0)).collect());
        assert!(!dense.with_markers() && dense.clone().markers().with_markers());
        let panels = vec![
            Panel::new("flat", "step", "v").series(dense),
            Panel::new("empty", "step", "v").series(Series::new("nan", vec![(0.0, f64::NAN)])),
            Panel::new("one point", "step", "v").series(s),
        ];
        let img = Figure::new("", panels).render(TextMode::Drawn).unwrap();
        assert_eq!(img.width, 2 * PANEL_W);
    }

    #[test]
    fn tick_labels_have_the_decimals_of_their_span() {
        assert_eq!(tick_label(150.0, 200.0), "150");
        assert_eq!(tick_label(0.25, 1.0), "0.25");
        assert_eq!(tick_label(0.30000000000000004, 1.0), "0.3");
        assert_eq!(tick_label(2.5e-7, 1e-6), "2.50e-7");
        assert_eq!(tick_label(0.015, 0.05), "0.015");
        assert_eq!(tick_label(1e-17, 1.0), "0");
        assert_eq!(tick_label(2e6, 1e6), "2.0e6");
        assert_eq!(tick_label(42.5, 3.0), "42.5");
    }
}

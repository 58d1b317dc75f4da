//! The text of every picture: DejaVu Sans, embedded in the binary
//! (`sfda-core/assets/DejaVuSans.ttf`, licence beside it), laid out and
//! rasterised with `ab_glyph` (baseline, side bearings and kerning as the
//! font gives them) and blended into an RGB image. No system font or font
//! library is needed at run time.
//!
//! ```
//! use sfda_core::data::viz::font::{draw_labels, Label, TextMode};
//! use sfda_core::data::RgbImage;
//! let mut img = RgbImage { width: 80, height: 20, data: vec![255; 80 * 20 * 3] };
//! draw_labels(&mut img, &[Label::new("mIoU", 2, 2, 14.0)], TextMode::Drawn).unwrap();
//! assert!(img.data.iter().any(|&v| v < 128));
//! ```

use std::sync::OnceLock;

use ab_glyph::{point, Font, FontRef, GlyphId, PxScale, ScaleFont};

use crate::data::RgbImage;
use crate::{Error, Result};

/// DejaVu Sans 2.37, unmodified.
static TTF: &[u8] = include_bytes!("../../../assets/DejaVuSans.ttf");

/// The embedded font, parsed once.
fn font() -> Result<&'static FontRef<'static>> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(TTF).ok())
        .as_ref()
        .ok_or_else(|| {
            Error::msg(
                "the embedded font (assets/DejaVuSans.ttf) could not be parsed; the build is broken",
            )
        })
}

/// Whether text is drawn. [`TextMode::Hidden`] lays everything out the same
/// way but leaves the text out, so a render with text and one without
/// differ exactly in the text's pixels (what the tests check).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextMode {
    /// Text in its colour.
    #[default]
    Drawn,
    /// Same layout, no text.
    Hidden,
}

/// Horizontal placement of a label's box on its anchor point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HAlign {
    /// The box starts at the anchor.
    #[default]
    Left,
    /// The box is centred on the anchor.
    Center,
    /// The box ends at the anchor.
    Right,
}

/// Vertical placement of a label's box on its anchor point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VAlign {
    /// The box's top is at the anchor.
    #[default]
    Top,
    /// The box is centred on the anchor.
    Middle,
}

/// One line of text to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    /// The text.
    pub text: String,
    /// Anchor point, pixels.
    pub x: i32,
    /// Anchor point, pixels.
    pub y: i32,
    /// Line height in pixels (ascent + descent; the em is about 0.86 of it).
    pub size: f32,
    /// Colour.
    pub color: [u8; 3],
    /// Horizontal placement on the anchor.
    pub h: HAlign,
    /// Vertical placement on the anchor.
    pub v: VAlign,
    /// Rotated a quarter turn counter-clockwise (reads bottom to top, as a
    /// y-axis label); the alignments apply to the rotated box.
    pub vertical: bool,
}

impl Label {
    /// Black text at `(x, y)` (its box's top left) of line height `size`.
    pub fn new(text: impl Into<String>, x: i32, y: i32, size: f32) -> Self {
        Label {
            text: text.into(),
            x,
            y,
            size,
            color: [0, 0, 0],
            h: HAlign::Left,
            v: VAlign::Top,
            vertical: false,
        }
    }

    /// Sets its placement on the anchor.
    pub fn align(mut self, h: HAlign, v: VAlign) -> Self {
        self.h = h;
        self.v = v;
        self
    }

    /// Sets its colour.
    pub fn color(mut self, rgb: [u8; 3]) -> Self {
        self.color = rgb;
        self
    }

    /// Turns it a quarter turn counter-clockwise.
    pub fn vertical(mut self) -> Self {
        self.vertical = true;
        self
    }
}

/// Lays out legend `entries` (a swatch, then its text at line height
/// `size`) in lines of at most `width` pixels: each entry takes `swatch`
/// plus its text's width plus `gap` (the gap after a line's last entry may
/// overhang), and a line's first entry starts `indent` pixels in.
pub fn wrap_entries<T>(
    entries: Vec<(T, String)>,
    size: f32,
    width: u32,
    indent: u32,
    swatch: u32,
    gap: u32,
) -> Vec<Vec<(T, String)>> {
    let mut lines: Vec<Vec<(T, String)>> = Vec::new();
    let mut used = width;
    for (e, text) in entries {
        let need = swatch + text_width(&text, size) + gap;
        if used + need > width + gap {
            lines.push(Vec::new());
            used = indent;
        }
        used += need;
        if let Some(l) = lines.last_mut() {
            l.push((e, text));
        }
    }
    lines
}

/// Width in pixels of `text` at line height `size` (advances and kerning).
pub fn text_width(text: &str, size: f32) -> u32 {
    let Ok(font) = font() else { return 0 };
    let sf = font.as_scaled(PxScale::from(size));
    let mut pen = 0.0f32;
    let mut prev: Option<GlyphId> = None;
    for c in text.chars() {
        let id = sf.glyph_id(c);
        if let Some(p) = prev {
            pen += sf.kern(p, id);
        }
        pen += sf.h_advance(id);
        prev = Some(id);
    }
    pen.ceil().max(0.0) as u32
}

/// Height in pixels of a line at `size`.
pub fn line_height(size: f32) -> u32 {
    let Ok(font) = font() else {
        return size.ceil() as u32;
    };
    let sf = font.as_scaled(PxScale::from(size));
    (sf.ascent() - sf.descent()).ceil() as u32
}

/// `text` cut (with "…") to fit in `width` pixels at `size`.
pub fn fit_text(text: &str, size: f32, width: u32) -> String {
    if text_width(text, size) <= width {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    for keep in (0..chars.len()).rev() {
        let cut: String = chars[..keep].iter().collect::<String>() + "…";
        if text_width(&cut, size) <= width {
            return cut;
        }
    }
    String::new()
}

/// `text` broken at spaces into lines of at most `width` pixels at `size`
/// (a word longer than a line is cut with "…").
pub fn wrap_text(text: &str, size: f32, width: u32) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let longer = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if text_width(&longer, size) > width && !line.is_empty() {
            out.push(std::mem::take(&mut line));
            line = word.to_string();
        } else {
            line = longer;
        }
    }
    if !line.is_empty() {
        out.push(line);
    }
    out.into_iter().map(|l| fit_text(&l, size, width)).collect()
}

/// Draws `labels` onto `img` (nothing under [`TextMode::Hidden`]); pixels
/// outside the image are dropped.
pub fn draw_labels(img: &mut RgbImage, labels: &[Label], mode: TextMode) -> Result<()> {
    let font = font()?;
    if mode == TextMode::Hidden {
        return Ok(());
    }
    for l in labels {
        draw_label(img, font, l);
    }
    Ok(())
}

fn draw_label(img: &mut RgbImage, font: &FontRef<'static>, l: &Label) {
    let scale = PxScale::from(l.size);
    let sf = font.as_scaled(scale);
    let (w, h) = (
        text_width(&l.text, l.size) as i32,
        line_height(l.size) as i32,
    );
    // The box as drawn: w × h, or h × w when turned.
    let (bw, bh) = if l.vertical { (h, w) } else { (w, h) };
    let x0 = l.x
        - match l.h {
            HAlign::Left => 0,
            HAlign::Center => bw / 2,
            HAlign::Right => bw,
        };
    let y0 = l.y
        - match l.v {
            VAlign::Top => 0,
            VAlign::Middle => bh / 2,
        };
    let (iw, ih) = (img.width as i32, img.height as i32);
    let mut plot = |gx: i32, gy: i32, cov: f32| {
        let (px, py) = if l.vertical {
            (x0 + gy, y0 + (w - 1 - gx))
        } else {
            (x0 + gx, y0 + gy)
        };
        if px < 0 || py < 0 || px >= iw || py >= ih {
            return;
        }
        let a = cov.clamp(0.0, 1.0);
        let i = (py as usize * iw as usize + px as usize) * 3;
        for c in 0..3 {
            let bg = img.data[i + c] as f32;
            img.data[i + c] = (bg + (l.color[c] as f32 - bg) * a).round() as u8;
        }
    };
    let mut pen = 0.0f32;
    let mut prev: Option<GlyphId> = None;
    for c in l.text.chars() {
        let id = sf.glyph_id(c);
        if let Some(p) = prev {
            pen += sf.kern(p, id);
        }
        let glyph = id.with_scale_and_position(scale, point(pen, sf.ascent()));
        if let Some(outline) = font.outline_glyph(glyph) {
            let b = outline.px_bounds();
            outline.draw(|gx, gy, cov| {
                plot(b.min.x as i32 + gx as i32, b.min.y as i32 + gy as i32, cov)
            });
        }
        pen += sf.h_advance(id);
        prev = Some(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ink(img: &RgbImage) -> Vec<(u32, u32)> {
        (0..img.height)
            .flat_map(|y| (0..img.width).map(move |x| (x, y)))
            .filter(|&(x, y)| img.pixel(x, y)[0] < 128)
            .collect()
    }

    #[test]
    fn text_sits_on_one_baseline_in_its_box_and_turns() {
        let white = |w, h| RgbImage {
            width: w,
            height: h,
            data: vec![255; (w * h * 3) as usize],
        };
        let size = 20.0;
        let (w, h) = (text_width("a.b", size), line_height(size));
        let mut img = white(60, 30);
        draw_labels(&mut img, &[Label::new("a.b", 0, 0, size)], TextMode::Drawn).unwrap();
        let px = ink(&img);
        assert!(!px.is_empty());
        assert!(
            px.iter().all(|&(x, y)| x < w && y < h),
            "ink outside the box"
        );
        // The period's ink (between the letters) reaches the letters' bottom.
        let bottom = px.iter().map(|p| p.1).max().unwrap();
        let dot_w = text_width("a", size)..text_width("a.", size);
        let dot_bottom = px
            .iter()
            .filter(|p| dot_w.contains(&p.0))
            .map(|p| p.1)
            .max();
        assert!(
            dot_bottom.is_some_and(|b| b + 1 >= bottom),
            "{dot_bottom:?} vs {bottom}"
        );
        // Turned: the box is h wide and w tall.
        let mut img = white(30, 60);
        draw_labels(
            &mut img,
            &[Label::new("a.b", 0, 0, size).vertical()],
            TextMode::Drawn,
        )
        .unwrap();
        assert!(ink(&img).iter().all(|&(x, y)| x < h && y < w));
        // Hidden: nothing.
        let mut img = white(60, 30);
        draw_labels(&mut img, &[Label::new("a.b", 0, 0, size)], TextMode::Hidden).unwrap();
        assert!(ink(&img).is_empty());
        assert_eq!(
            fit_text("a long title", size, text_width("a lo…", size)),
            "a lo…"
        );
        assert_eq!(
            wrap_text("one two three", size, text_width("one two", size)).len(),
            2
        );
    }
}

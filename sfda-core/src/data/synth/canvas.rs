//! The label canvas: a label map plus, per pixel, the index of the material
//! that painted it. Shapes are painted back to front (painter's algorithm);
//! a pixel is covered when its centre lies inside the shape, so edges are
//! clean and labels exact.

use crate::data::classes::IGNORE;
use crate::data::synth::params::Rgb;

/// Surface patterns a material can carry (evaluated by the shader).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pattern {
    /// Plain colour.
    Flat,
    /// Vertical gradient from `top` (image top) to the material colour at the horizon.
    Sky {
        /// Colour at the top of the image.
        top: Rgb,
    },
    /// A facade parallel to the road at lateral `x`: perspective-correct
    /// windows on a floor grid.
    Facade {
        /// Lateral position of the facade plane (m).
        x: f32,
        /// Floor height (m).
        floor: f32,
        /// Horizontal window pitch (m).
        pitch: f32,
        /// Phase of the window grid along the street (m).
        phase: f32,
        /// Window colour.
        window: Rgb,
    },
    /// The road surface with lane and edge markings.
    Road {
        /// Lateral position of the road centre (m).
        center: f32,
        /// Half width of the road (m).
        half_width: f32,
        /// Marking colour.
        marking: Rgb,
    },
    /// A fence at lateral `x`: posts and rails in front of a darker background.
    Fence {
        /// Lateral position of the fence plane (m).
        x: f32,
        /// Colour seen between posts and rails.
        back: Rgb,
    },
}

/// How a painted surface looks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Material {
    /// The train id it is labelled with (or 255).
    pub class: u8,
    /// Base colour, `[0, 255]`.
    pub color: Rgb,
    /// Surface pattern.
    pub pattern: Pattern,
    /// Brightness factor from simple face shading.
    pub shade: f32,
    /// Ground point `(x, z)` for shadow tests of standing objects; `None`
    /// for the ground itself (tested per pixel) and for things never shadowed.
    pub anchor: Option<(f32, f32)>,
    /// Whether this is a ground surface (shadow tested per pixel).
    pub ground: bool,
    /// Distance (m) for haze, when known.
    pub depth: Option<f32>,
}

impl Material {
    /// A flat material of `class` and `color`.
    pub fn flat(class: u8, color: Rgb) -> Self {
        Material {
            class,
            color,
            pattern: Pattern::Flat,
            shade: 1.0,
            anchor: None,
            ground: false,
            depth: None,
        }
    }
}

/// Label and material buffers being painted.
#[derive(Debug, Clone)]
pub struct Canvas {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Train id per pixel.
    pub label: Vec<u8>,
    /// Material index per pixel.
    pub material: Vec<u16>,
    /// Materials used so far.
    pub materials: Vec<Material>,
}

impl Canvas {
    /// A canvas of `width × height` filled with `background`.
    pub fn new(width: u32, height: u32, background: Material) -> Self {
        let n = width as usize * height as usize;
        Canvas {
            width,
            height,
            label: vec![background.class; n],
            material: vec![0; n],
            materials: vec![background],
        }
    }

    /// Registers a material, returning its index (reusing the last one when
    /// the table is full).
    pub fn add(&mut self, m: Material) -> u16 {
        if self.materials.len() >= u16::MAX as usize {
            return (self.materials.len() - 1) as u16;
        }
        self.materials.push(m);
        (self.materials.len() - 1) as u16
    }

    #[inline]
    fn put(&mut self, x: usize, y: usize, m: u16) {
        let i = y * self.width as usize + x;
        self.label[i] = self.materials[m as usize].class;
        self.material[i] = m;
    }

    /// Pixel rows whose centres lie in `[y0, y1)`, clamped to the canvas.
    fn rows(&self, y0: f32, y1: f32) -> std::ops::Range<usize> {
        let a = (y0 - 0.5).ceil().max(0.0) as usize;
        let b = ((y1 - 0.5).ceil().max(0.0) as usize).min(self.height as usize);
        a..b.max(a)
    }

    fn cols(&self, x0: f32, x1: f32) -> std::ops::Range<usize> {
        let a = (x0 - 0.5).ceil().max(0.0) as usize;
        let b = ((x1 - 0.5).ceil().max(0.0) as usize).min(self.width as usize);
        a..b.max(a)
    }

    /// Fills the pixels of row `y` with centres in `[x0, x1)`.
    pub fn span(&mut self, y: usize, x0: f32, x1: f32, m: u16) {
        if y >= self.height as usize {
            return;
        }
        for x in self.cols(x0, x1) {
            self.put(x, y, m);
        }
    }

    /// Fills the axis-aligned rectangle `[x0, x1) × [y0, y1)`.
    pub fn rect(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, m: u16) {
        for y in self.rows(y0, y1) {
            self.span(y, x0, x1, m);
        }
    }

    /// Fills a rectangle at least one pixel wide, centred on `cx`.
    pub fn thin_rect(&mut self, cx: f32, half_w: f32, y0: f32, y1: f32, m: u16) {
        let hw = half_w.max(0.5);
        self.rect(cx - hw, y0, cx + hw, y1, m);
    }

    /// Fills a quad with vertical sides at `xa` and `xb` whose top and bottom
    /// edges run linearly from `(top_a, bot_a)` at `xa` to `(top_b, bot_b)` at `xb`.
    #[allow(clippy::too_many_arguments)]
    pub fn vquad(
        &mut self,
        xa: f32,
        xb: f32,
        top_a: f32,
        top_b: f32,
        bot_a: f32,
        bot_b: f32,
        m: u16,
    ) {
        let (lo, hi) = if xa <= xb { (xa, xb) } else { (xb, xa) };
        let dx = xb - xa;
        for x in self.cols(lo, hi) {
            let t = if dx.abs() < 1e-6 {
                0.0
            } else {
                (x as f32 + 0.5 - xa) / dx
            };
            let top = top_a + (top_b - top_a) * t;
            let bot = bot_a + (bot_b - bot_a) * t;
            for y in self.rows(top, bot) {
                self.put(x, y, m);
            }
        }
    }

    /// Fills the ellipse centred at `(cx, cy)` with radii `rx`, `ry`.
    pub fn ellipse(&mut self, cx: f32, cy: f32, rx: f32, ry: f32, m: u16) {
        let (rx, ry) = (rx.max(0.5), ry.max(0.5));
        for y in self.rows(cy - ry, cy + ry) {
            let dy = (y as f32 + 0.5 - cy) / ry;
            let half = rx * (1.0 - dy * dy).max(0.0).sqrt();
            self.span(y, cx - half, cx + half, m);
        }
    }

    /// Fills the ring between two concentric ellipses (radius ratio `inner`).
    pub fn ring(&mut self, cx: f32, cy: f32, rx: f32, ry: f32, inner: f32, m: u16) {
        let (rx, ry) = (rx.max(0.5), ry.max(0.5));
        for y in self.rows(cy - ry, cy + ry) {
            let dy = (y as f32 + 0.5 - cy) / ry;
            let half = rx * (1.0 - dy * dy).max(0.0).sqrt();
            let ir = inner * rx;
            let idy = (y as f32 + 0.5 - cy) / (inner * ry).max(0.5);
            let ihalf = if idy.abs() < 1.0 {
                ir * (1.0 - idy * idy).sqrt()
            } else {
                0.0
            };
            if ihalf <= 0.5 {
                self.span(y, cx - half, cx + half, m);
            } else {
                self.span(y, cx - half, cx - ihalf, m);
                self.span(y, cx + ihalf, cx + half, m);
            }
        }
    }

    /// Fills the triangle `a, b, c`.
    pub fn triangle(&mut self, a: (f32, f32), b: (f32, f32), c: (f32, f32), m: u16) {
        let y0 = a.1.min(b.1).min(c.1);
        let y1 = a.1.max(b.1).max(c.1);
        let edges = [(a, b), (b, c), (c, a)];
        for y in self.rows(y0, y1) {
            let yc = y as f32 + 0.5;
            let mut xs = [f32::MAX, f32::MIN];
            for &((x0, ya), (x1, yb)) in &edges {
                if (ya <= yc && yc < yb) || (yb <= yc && yc < ya) {
                    let x = x0 + (yc - ya) / (yb - ya) * (x1 - x0);
                    xs[0] = xs[0].min(x);
                    xs[1] = xs[1].max(x);
                }
            }
            if xs[0] <= xs[1] {
                self.span(y, xs[0], xs[1], m);
            }
        }
    }

    /// Draws a segment of width `thick` (at least one pixel).
    pub fn line(&mut self, a: (f32, f32), b: (f32, f32), thick: f32, m: u16) {
        let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
        let steps = (len * 2.0).ceil().max(1.0) as usize;
        let r = (thick * 0.5).max(0.5);
        for s in 0..=steps {
            let t = s as f32 / steps as f32;
            let (x, y) = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
            self.rect(x - r, y - r, x + r, y + r, m);
        }
    }

    /// Marks the region below the curve `y(x) = top + bulge * (2x/w - 1)²`
    /// as [`IGNORE`] with material `m` (the ego car's hood).
    pub fn hood(&mut self, top: f32, bulge: f32, m: u16) {
        debug_assert_eq!(self.materials[m as usize].class, IGNORE);
        let w = self.width as f32;
        for x in 0..self.width as usize {
            let u = 2.0 * (x as f32 + 0.5) / w - 1.0;
            let y0 = top + bulge * u * u;
            for y in self.rows(y0, self.height as f32) {
                self.put(x, y, m);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_cover_pixel_centres() {
        let mut c = Canvas::new(8, 8, Material::flat(10, [0.0; 3]));
        let m = c.add(Material::flat(13, [1.0; 3]));
        c.rect(1.0, 1.0, 3.0, 2.0, m);
        assert_eq!(c.label[8 + 1], 13);
        assert_eq!(c.label[8 + 2], 13);
        assert_eq!(c.label[8 + 3], 10);
        assert_eq!(c.label[2 * 8 + 1], 10);
        let p = c.add(Material::flat(5, [1.0; 3]));
        c.thin_rect(6.2, 0.1, 0.0, 8.0, p);
        assert_eq!((0..8).filter(|&x| c.label[4 * 8 + x] == 5).count(), 1);
    }
}

//! The colour pass: turns a painted [`Canvas`] into linear RGB by evaluating
//! each material's pattern (sky gradient, perspective windows, lane
//! markings, fence posts), class textures, face shading, cast shadows and
//! distance haze.

use crate::data::classes::NUM_TRAIN_IDS;
use crate::data::synth::canvas::{Canvas, Material, Pattern};
use crate::data::synth::noise::NoiseField;
use crate::data::synth::params::{LookParams, Rgb, TEXTURE};
use crate::data::synth::scene::{Camera, Scene};
use crate::rng::SeedRng;

/// Shadows cast across the street by the buildings of one side.
#[derive(Debug, Clone)]
pub struct Shadows {
    sign: f32,
    center: f32,
    facade: f32,
    length: f32,
    freq: f32,
    phase: f32,
    blocks: Vec<(f32, f32)>,
    strength: f32,
}

impl Shadows {
    /// Shadows of the side opposite `lit_side`, `None` when the look has none.
    pub fn sample(
        scene: &Scene,
        look: &LookParams,
        lit_side: f32,
        rng: &mut SeedRng,
    ) -> Option<Self> {
        let strength = look.shadow;
        let length = rng.uniform(1.5, 1.0 + scene.road_half_width * 2.0);
        let freq = rng.uniform(0.1, 0.4);
        let phase = rng.uniform(0.0, 6.3);
        if strength <= 0.0 {
            return None;
        }
        let side = scene.sides.iter().find(|s| s.sign != lit_side)?;
        Some(Shadows {
            sign: side.sign,
            center: scene.road_center,
            facade: side.facade,
            length,
            freq,
            phase,
            blocks: side.blocks.iter().map(|b| (b.z0, b.z1)).collect(),
            strength,
        })
    }

    /// Whether ground point `(x, z)` lies in shadow.
    pub fn covers(&self, x: f32, z: f32) -> bool {
        let d = self.sign * (x - self.center);
        let len = self.length * (1.0 + 0.3 * (self.freq * z + self.phase).sin());
        d > self.facade - len && self.blocks.iter().any(|&(a, b)| z >= a && z <= b)
    }
}

/// Everything the colour pass reads.
pub struct ShadeInput<'a> {
    /// The painted canvas.
    pub canvas: &'a Canvas,
    /// The scene (for the camera).
    pub scene: &'a Scene,
    /// The look.
    pub look: &'a LookParams,
    /// Fine grain noise.
    pub fine: &'a NoiseField,
    /// Coarse blotch noise.
    pub coarse: &'a NoiseField,
    /// Cast shadows, if any.
    pub shadows: Option<&'a Shadows>,
}

fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

fn pattern_color(m: &Material, cam: &Camera, xc: f32, yc: f32) -> Rgb {
    match m.pattern {
        Pattern::Flat => m.color,
        Pattern::Sky { top } => {
            let t = (yc / cam.horizon.max(1.0)).clamp(0.0, 1.0);
            mix(top, m.color, t)
        }
        Pattern::Facade {
            x,
            floor,
            pitch,
            phase,
            window,
        } => {
            let Some(z) = cam.plane_z(x, xc) else {
                return m.color;
            };
            let e = cam.elevation - (yc - cam.horizon) * z / cam.focal;
            let fe = (e / floor).fract();
            let along = ((z + phase) / pitch).fract();
            let ground_floor = e < floor;
            let in_win = if ground_floor {
                (0.15..0.8).contains(&fe) && (0.1..0.85).contains(&along)
            } else {
                (0.3..0.75).contains(&fe) && (0.25..0.75).contains(&along)
            };
            if in_win && e > 0.3 {
                window
            } else {
                m.color
            }
        }
        Pattern::Road {
            center,
            half_width,
            marking,
        } => {
            let Some(z) = cam.ground_z(yc) else {
                return m.color;
            };
            let x = (xc - cam.cx) * z / cam.focal;
            let d = (x - center).abs();
            let dashed = d < 0.07 && (z % 9.0) < 4.5;
            let edge = (d - (half_width - 0.25)).abs() < 0.07;
            if dashed || edge {
                marking
            } else {
                m.color
            }
        }
        Pattern::Fence { x, back } => {
            let Some(z) = cam.plane_z(x, xc) else {
                return m.color;
            };
            let e = cam.elevation - (yc - cam.horizon) * z / cam.focal;
            let post = (z % 2.2) < 0.12;
            let rail = (e % 0.5) < 0.07;
            if post || rail {
                m.color
            } else {
                back
            }
        }
    }
}

/// Colours every pixel; returns interleaved RGB in `[0, 255]` (unclamped).
pub fn shade(inp: &ShadeInput<'_>) -> Vec<f32> {
    let c = inp.canvas;
    let cam = inp.scene.camera;
    let (w, h) = (c.width as usize, c.height as usize);
    let haze_color = c.materials[0].color;
    let tex_scale = inp.look.texture;
    let mut out = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        let yc = y as f32 + 0.5;
        let ground_z = cam.ground_z(yc);
        for x in 0..w {
            let i = y * w + x;
            let xc = x as f32 + 0.5;
            let m = &c.materials[c.material[i] as usize];
            let mut col = pattern_color(m, &cam, xc, yc);
            let mut k = m.shade;
            if (m.class as usize) < NUM_TRAIN_IDS && tex_scale > 0.0 {
                let (a, b) = TEXTURE[m.class as usize];
                k *= 1.0 + tex_scale * (a * inp.fine.at(i) + b * inp.coarse.at(i));
            }
            let ground_xz = if m.ground {
                ground_z.map(|z| ((xc - cam.cx) * z / cam.focal, z))
            } else {
                None
            };
            if let Some(sh) = inp.shadows {
                if let Some((gx, gz)) = ground_xz.or(m.anchor) {
                    if sh.covers(gx, gz) {
                        k *= 1.0 - sh.strength * if m.ground { 1.0 } else { 0.7 };
                    }
                }
            }
            col = [col[0] * k, col[1] * k, col[2] * k];
            if inp.look.haze > 0.0 {
                let depth = ground_xz
                    .map(|p| p.1)
                    .or(m.depth)
                    .or(m.anchor.map(|a| a.1))
                    .or_else(|| match m.pattern {
                        Pattern::Facade { x, .. } => cam.plane_z(x, xc),
                        _ => None,
                    });
                if let Some(d) = depth {
                    let t = inp.look.haze * (1.0 - (-d / 80.0).exp());
                    col = mix(col, haze_color, t);
                }
            }
            out.extend_from_slice(&col);
        }
    }
    out
}

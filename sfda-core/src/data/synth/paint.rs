//! Painting a [`Scene`] into a [`Canvas`]: projects every surface through the
//! camera, back to front, and gives each a [`Material`] whose colour mixes a
//! game-palette pick and a real-palette pick by the look's `palette_mix`.

use crate::data::classes::IGNORE;
use crate::data::synth::canvas::{Canvas, Material, Pattern};
use crate::data::synth::params::{palette, LookParams, Rgb, Swatch};
use crate::data::synth::scene::{Placed, Scene, Side, SignShape, Thing, VehicleKind, FAR_Z};
use crate::rng::SeedRng;

/// Train ids used by the painter.
mod id {
    pub const ROAD: u8 = 0;
    pub const SIDEWALK: u8 = 1;
    pub const BUILDING: u8 = 2;
    pub const WALL: u8 = 3;
    pub const FENCE: u8 = 4;
    pub const POLE: u8 = 5;
    pub const LIGHT: u8 = 6;
    pub const SIGN: u8 = 7;
    pub const VEGETATION: u8 = 8;
    pub const TERRAIN: u8 = 9;
    pub const SKY: u8 = 10;
    pub const PERSON: u8 = 11;
    pub const RIDER: u8 = 12;
    pub const CAR: u8 = 13;
    pub const TRUCK: u8 = 14;
    pub const BUS: u8 = 15;
    pub const MOTORCYCLE: u8 = 17;
    pub const BICYCLE: u8 = 18;
}

/// Paints scenes with a look's colours.
pub struct Painter<'a> {
    look: &'a LookParams,
    rng: &'a mut SeedRng,
    scene: &'a Scene,
    canvas: Canvas,
    /// Which side's facades face the light (−1 left, +1 right).
    lit_side: f32,
}

fn scale_rgb(c: Rgb, k: f32) -> Rgb {
    [c[0] * k, c[1] * k, c[2] * k]
}

impl<'a> Painter<'a> {
    /// Paints `scene` and returns the canvas; facades on side `lit_side`
    /// (−1 left, +1 right) face the light.
    pub fn paint(
        scene: &'a Scene,
        look: &'a LookParams,
        rng: &'a mut SeedRng,
        lit_side: f32,
    ) -> Canvas {
        let horizon_color = Self::pick_with(look, rng, palette::SKY_HORIZON);
        let top = Self::pick_with(look, rng, palette::SKY_TOP);
        let sky = Material {
            pattern: Pattern::Sky { top },
            ..Material::flat(id::SKY, horizon_color)
        };
        let canvas = Canvas::new(scene.camera.width as u32, scene.camera.height as u32, sky);
        let mut p = Painter {
            look,
            rng,
            scene,
            canvas,
            lit_side,
        };
        p.skyline();
        p.ground();
        for side in &scene.sides {
            p.side(side);
        }
        for t in &scene.things {
            p.thing(t);
        }
        if let Some(top) = scene.hood {
            let m = p.mat(IGNORE, palette::HOOD, None);
            let h = scene.camera.height;
            p.canvas.hood(top * h, 0.03 * h, m);
        }
        p.canvas
    }

    fn pick_with(look: &LookParams, rng: &mut SeedRng, s: Swatch) -> Rgb {
        let g = s.game[rng.below(s.game.len())];
        let r = s.real[rng.below(s.real.len())];
        let t = look.palette_mix;
        let j = look.color_jitter;
        let k = 1.0 + rng.uniform(-j, j);
        let mut c = [0.0; 3];
        for i in 0..3 {
            let chroma = 1.0 + rng.uniform(-j, j) * 0.3;
            c[i] = ((g[i] + (r[i] - g[i]) * t) * k * chroma).clamp(0.0, 255.0);
        }
        c
    }

    fn pick(&mut self, s: Swatch) -> Rgb {
        Self::pick_with(self.look, self.rng, s)
    }

    fn mat(&mut self, class: u8, s: Swatch, anchor: Option<(f32, f32)>) -> u16 {
        let color = self.pick(s);
        self.canvas.add(Material {
            anchor,
            ..Material::flat(class, color)
        })
    }

    fn shaded(&mut self, class: u8, s: Swatch, shade: f32, anchor: Option<(f32, f32)>) -> u16 {
        let color = self.pick(s);
        self.canvas.add(Material {
            shade,
            anchor,
            ..Material::flat(class, color)
        })
    }

    fn side_shade(&self, sign: f32) -> f32 {
        if sign == self.lit_side {
            1.0
        } else {
            1.0 - self.look.face_shade
        }
    }

    fn skyline(&mut self) {
        let cam = self.scene.camera;
        let [l, r] = &self.scene.sides;
        let x0 = cam.col(self.scene.lateral(l, l.facade + 30.0), FAR_Z);
        let x1 = cam.col(self.scene.lateral(r, r.facade + 30.0), FAR_Z);
        let n = self.scene.skyline.len().max(1);
        let bottom = cam.row(0.0, FAR_Z) + 0.5;
        for (i, &height) in self.scene.skyline.iter().enumerate() {
            let (class, sw) = if self.scene.skyline_green {
                (id::VEGETATION, palette::VEGETATION)
            } else {
                (id::BUILDING, palette::BUILDING)
            };
            let color = self.pick(sw);
            let m = self.canvas.add(Material {
                depth: Some(FAR_Z),
                ..Material::flat(class, color)
            });
            let a = x0 + (x1 - x0) * i as f32 / n as f32;
            let b = x0 + (x1 - x0) * (i + 1) as f32 / n as f32;
            self.canvas.rect(a, cam.row(height, FAR_Z), b, bottom, m);
        }
    }

    fn ground(&mut self) {
        let s = self.scene;
        let cam = s.camera;
        let marking = self.pick(palette::MARKING);
        let road_color = self.pick(palette::ROAD);
        let road = self.canvas.add(Material {
            pattern: Pattern::Road {
                center: s.road_center,
                half_width: s.road_half_width,
                marking,
            },
            ground: true,
            ..Material::flat(id::ROAD, road_color)
        });
        let mut side_mats = Vec::new();
        for side in &s.sides {
            let walk_color = self.pick(palette::SIDEWALK);
            let walk = self.canvas.add(Material {
                ground: true,
                ..Material::flat(id::SIDEWALK, walk_color)
            });
            let curb = self.canvas.add(Material {
                ground: true,
                shade: 0.8,
                ..Material::flat(id::SIDEWALK, walk_color)
            });
            let grass_color = self.pick(palette::TERRAIN);
            let grass = self.canvas.add(Material {
                ground: true,
                ..Material::flat(id::TERRAIN, grass_color)
            });
            let verge = if side.park { grass } else { walk };
            side_mats.push((walk, curb, grass, verge));
        }
        let y0 = (cam.horizon - 0.5).ceil().max(0.0) as usize;
        for y in y0..cam.height as usize {
            let yc = y as f32 + 0.5;
            let Some(z) = cam.ground_z(yc) else { continue };
            let col = |lat: f32| cam.col(lat, z);
            for (side, &(walk, curb, grass, verge)) in s.sides.iter().zip(&side_mats) {
                let edge = |d: f32| col(s.lateral(side, d));
                let far = if side.sign < 0.0 {
                    -1.0
                } else {
                    cam.width + 1.0
                };
                let segs = [
                    (far, edge(side.facade), verge),
                    (edge(side.facade), edge(side.sidewalk), grass),
                    (edge(side.sidewalk), edge(side.curb + 0.15), walk),
                    (edge(side.curb + 0.15), edge(side.curb), curb),
                ];
                for (a, b, m) in segs {
                    self.canvas.span(y, a.min(b), a.max(b), m);
                }
            }
            let (l, r) = (&s.sides[0], &s.sides[1]);
            self.canvas.span(
                y,
                col(s.lateral(l, l.curb)),
                col(s.lateral(r, r.curb)),
                road,
            );
        }
    }

    fn side(&mut self, side: &Side) {
        let cam = self.scene.camera;
        let x = self.scene.lateral(side, side.facade);
        let shade = self.side_shade(side.sign);
        for b in &side.blocks {
            let z0 = b.z0.max(0.3);
            let (xa, xb) = (cam.col(x, z0), cam.col(x, b.z1));
            if xa.max(xb) < 0.0 || xa.min(xb) > cam.width {
                continue;
            }
            let m = if side.park {
                self.shaded(id::VEGETATION, palette::VEGETATION, shade, None)
            } else {
                let color = self.pick(palette::BUILDING);
                let window = self.pick(palette::WINDOW);
                let pattern = Pattern::Facade {
                    x,
                    floor: self.rng.uniform(2.8, 3.6),
                    pitch: self.rng.uniform(2.2, 3.6),
                    phase: self.rng.uniform(0.0, 3.0),
                    window,
                };
                self.canvas.add(Material {
                    pattern,
                    shade,
                    ..Material::flat(id::BUILDING, color)
                })
            };
            let (ta, tb) = (cam.row(b.height, z0), cam.row(b.height, b.z1));
            let (ba, bb) = (cam.row(0.0, z0), cam.row(0.0, b.z1));
            self.canvas.vquad(xa, xb, ta, tb, ba, bb, m);
            if side.park {
                let mut z = z0 + 1.5;
                while z < b.z1 {
                    let s = cam.scale(z);
                    let r = self.rng.uniform(1.2, 2.5);
                    self.canvas.ellipse(
                        cam.col(x, z),
                        cam.row(b.height, z),
                        r * s * 0.6,
                        r * s * 0.5,
                        m,
                    );
                    z += r * 1.5;
                }
            }
        }
        if let Some(w) = side.wall {
            let m = self.shaded(id::WALL, palette::WALL, shade, None);
            self.barrier(side, w, m);
        }
        if let Some(f) = side.fence {
            let color = self.pick(palette::FENCE);
            let m = self.canvas.add(Material {
                pattern: Pattern::Fence {
                    x: self.scene.lateral(side, f.dist),
                    back: scale_rgb(color, 0.45),
                },
                shade,
                ..Material::flat(id::FENCE, color)
            });
            self.barrier(side, f, m);
        }
    }

    fn barrier(&mut self, side: &Side, b: crate::data::synth::scene::Barrier, m: u16) {
        let cam = self.scene.camera;
        let x = self.scene.lateral(side, b.dist);
        let z0 = b.z0.max(0.3);
        self.canvas.vquad(
            cam.col(x, z0),
            cam.col(x, b.z1),
            cam.row(b.height, z0),
            cam.row(b.height, b.z1),
            cam.row(0.0, z0),
            cam.row(0.0, b.z1),
            m,
        );
    }

    fn thing(&mut self, t: &Placed) {
        if t.z < 0.5 {
            return;
        }
        let cam = self.scene.camera;
        let xc = cam.col(t.x, t.z);
        let s = cam.scale(t.z);
        // Skip things entirely outside the image (with a generous margin).
        if xc < -8.0 * s || xc > cam.width + 8.0 * s {
            return;
        }
        match t.thing {
            Thing::Tree { trunk, crown } => self.tree(t, trunk, crown),
            Thing::Pole {
                height,
                sign,
                light,
                arm,
            } => self.pole(t, height, sign, light, arm),
            Thing::Vehicle { kind, rear } => self.vehicle(t, kind, rear),
            Thing::Person { height } => self.person(t, height),
            Thing::Rider { motor } => self.rider(t, motor),
            Thing::ParkedBike { motor } => self.parked_bike(t, motor),
        }
    }

    /// Fills the box `[x + l0, x + l1] × [e0, e1]` facing the camera at `t.z`.
    fn front_rect(&mut self, t: &Placed, l0: f32, l1: f32, e0: f32, e1: f32, m: u16) {
        let cam = self.scene.camera;
        let (a, b) = (cam.col(t.x + l0, t.z), cam.col(t.x + l1, t.z));
        let (top, bot) = (cam.row(e1, t.z), cam.row(e0, t.z));
        if b - a < 1.0 {
            let c = (a + b) / 2.0;
            self.canvas.thin_rect(c, (b - a) / 2.0, top, bot, m);
        } else {
            self.canvas.rect(a, top, b, bot, m);
        }
    }

    fn tree(&mut self, t: &Placed, trunk: f32, crown: f32) {
        let cam = self.scene.camera;
        let anchor = Some((t.x, t.z));
        let wood = self.mat(id::VEGETATION, palette::TRUNK, anchor);
        self.front_rect(t, -0.15, 0.15, 0.0, trunk + crown * 0.3, wood);
        let leaves = self.mat(id::VEGETATION, palette::VEGETATION, anchor);
        let s = cam.scale(t.z);
        let centre = trunk + crown * 0.7;
        for _ in 0..3 + self.rng.below(3) {
            let dx = self.rng.uniform(-0.6, 0.6) * crown;
            let de = self.rng.uniform(-0.4, 0.4) * crown;
            let r = crown * self.rng.uniform(0.55, 0.9);
            let sq = self.rng.uniform(0.8, 1.1);
            self.canvas.ellipse(
                cam.col(t.x + dx, t.z),
                cam.row(centre + de, t.z),
                r * s,
                r * s * sq,
                leaves,
            );
        }
    }

    fn pole(&mut self, t: &Placed, height: f32, sign: Option<SignShape>, light: bool, arm: f32) {
        let cam = self.scene.camera;
        let anchor = Some((t.x, t.z));
        let s = cam.scale(t.z);
        let metal = self.mat(id::POLE, palette::POLE, anchor);
        self.front_rect(t, -0.09, 0.09, 0.0, height, metal);
        let y_top = cam.row(height - 0.15, t.z);
        if arm != 0.0 {
            let a = (cam.col(t.x, t.z), y_top);
            let b = (cam.col(t.x + arm, t.z), y_top);
            self.canvas.line(a, b, 0.12 * s, metal);
        }
        if light {
            let box_m = self.mat(id::LIGHT, palette::LIGHT_BOX, anchor);
            let lamp = self.mat(id::LIGHT, palette::LAMP, anchor);
            let (lx, e1) = if arm != 0.0 {
                (arm, height - 0.2)
            } else {
                (0.0, height + 0.6)
            };
            let e0 = e1 - 0.9;
            self.front_rect(t, lx - 0.17, lx + 0.17, e0, e1, box_m);
            let slot = self.rng.below(3) as f32;
            let ec = e1 - 0.17 - slot * 0.28;
            self.canvas.ellipse(
                cam.col(t.x + lx, t.z),
                cam.row(ec, t.z),
                0.1 * s,
                0.1 * s,
                lamp,
            );
        }
        if let Some(shape) = sign {
            let m = self.mat(id::SIGN, palette::SIGN, anchor);
            let ec = if height < 3.5 {
                height - 0.3
            } else {
                self.rng.uniform(2.3, 2.9)
            };
            let (cx, cy, r) = (cam.col(t.x, t.z), cam.row(ec, t.z), 0.33 * s);
            match shape {
                SignShape::Square => self.canvas.rect(cx - r, cy - r, cx + r, cy + r, m),
                SignShape::Round => self.canvas.ellipse(cx, cy, r, r, m),
                SignShape::Triangle => self.canvas.triangle(
                    (cx, cy - r * 1.1),
                    (cx - r * 1.1, cy + r * 0.8),
                    (cx + r * 1.1, cy + r * 0.8),
                    m,
                ),
            }
        }
    }

    fn vehicle(&mut self, t: &Placed, kind: VehicleKind, rear: bool) {
        let cam = self.scene.camera;
        let (vw, vh, vl) = kind.dims();
        let (class, swatch) = match kind {
            VehicleKind::Car => (id::CAR, palette::CAR),
            VehicleKind::Truck => (id::TRUCK, palette::TRUCK),
            VehicleKind::Bus => (id::BUS, palette::BUS),
        };
        let anchor = Some((t.x, t.z));
        let paint = self.pick(swatch);
        let side_shade = 1.0 - self.look.face_shade.max(0.08);
        let body = self.canvas.add(Material {
            anchor,
            ..Material::flat(class, paint)
        });
        let body_side = self.canvas.add(Material {
            anchor,
            shade: side_shade,
            ..Material::flat(class, paint)
        });
        let glass = self.mat(class, palette::GLASS, anchor);
        let tyre = self.mat(class, palette::TYRE, anchor);
        let (wheel_r, body_e0) = match kind {
            VehicleKind::Car => (0.32, 0.25),
            _ => (0.5, 0.4),
        };
        let belt = match kind {
            VehicleKind::Car => 0.95,
            VehicleKind::Truck => 1.8,
            VehicleKind::Bus => 1.2,
        };
        // Side face, when the vehicle is off the camera axis.
        let side_x = if t.x - vw / 2.0 > 0.0 {
            Some(t.x - vw / 2.0)
        } else if t.x + vw / 2.0 < 0.0 {
            Some(t.x + vw / 2.0)
        } else {
            None
        };
        if let Some(sx) = side_x {
            let (z0, z1) = (t.z, t.z + vl);
            let quad = |c: &mut Canvas, za: f32, zb: f32, e0: f32, e1: f32, m: u16| {
                c.vquad(
                    cam.col(sx, za),
                    cam.col(sx, zb),
                    cam.row(e1, za),
                    cam.row(e1, zb),
                    cam.row(e0, za),
                    cam.row(e0, zb),
                    m,
                );
            };
            match kind {
                VehicleKind::Car => {
                    quad(&mut self.canvas, z0, z1, body_e0, belt, body_side);
                    quad(&mut self.canvas, z0 + 1.0, z1 - 1.2, belt, vh, glass);
                }
                VehicleKind::Truck => {
                    quad(&mut self.canvas, z0, z1, body_e0, vh, body_side);
                }
                VehicleKind::Bus => {
                    quad(&mut self.canvas, z0, z1, body_e0, vh, body_side);
                    quad(&mut self.canvas, z0 + 0.6, z1 - 0.6, belt, vh - 0.5, glass);
                }
            }
            for zw in [z0 + 0.9, z1 - 1.0] {
                let rx = (cam.col(sx, zw - wheel_r) - cam.col(sx, zw + wheel_r)).abs() / 2.0;
                let ry = wheel_r * cam.scale(zw);
                self.canvas
                    .ellipse(cam.col(sx, zw), cam.row(wheel_r, zw), rx, ry, tyre);
            }
        }
        // Near face (rear or front).
        let hw = vw / 2.0;
        for l in [-hw + 0.05, hw - 0.4] {
            self.front_rect(t, l, l + 0.35, 0.0, body_e0 + 0.05, tyre);
        }
        match kind {
            VehicleKind::Car => {
                self.front_rect(t, -hw, hw, body_e0, belt, body);
                self.front_rect(t, -hw + 0.15, hw - 0.15, belt, vh, body);
                self.front_rect(t, -hw + 0.25, hw - 0.25, belt + 0.05, vh - 0.08, glass);
            }
            VehicleKind::Truck | VehicleKind::Bus => {
                self.front_rect(t, -hw, hw, body_e0, vh, body);
                if !rear || kind == VehicleKind::Bus {
                    self.front_rect(t, -hw + 0.15, hw - 0.15, belt, vh - 0.35, glass);
                }
            }
        }
        let lamp_color = if rear {
            [200.0, 20.0, 20.0]
        } else {
            [240.0, 235.0, 200.0]
        };
        let lamp = self.canvas.add(Material {
            anchor,
            ..Material::flat(class, lamp_color)
        });
        for l in [-hw + 0.05, hw - 0.35] {
            self.front_rect(t, l, l + 0.3, belt - 0.3, belt - 0.12, lamp);
        }
    }

    fn person(&mut self, t: &Placed, h: f32) {
        let anchor = Some((t.x, t.z));
        let pants = self.mat(id::PERSON, palette::CLOTHES, anchor);
        let shirt = self.mat(id::PERSON, palette::CLOTHES, anchor);
        let skin = self.mat(id::PERSON, palette::SKIN, anchor);
        self.front_rect(t, -0.17, -0.03, 0.0, 0.48 * h, pants);
        self.front_rect(t, 0.03, 0.17, 0.0, 0.48 * h, pants);
        self.front_rect(t, -0.2, 0.2, 0.45 * h, 0.82 * h, shirt);
        self.front_rect(t, -0.27, -0.2, 0.5 * h, 0.8 * h, shirt);
        self.front_rect(t, 0.2, 0.27, 0.5 * h, 0.8 * h, shirt);
        self.head(t, 0.9 * h, skin);
    }

    fn head(&mut self, t: &Placed, e: f32, m: u16) {
        let cam = self.scene.camera;
        let s = cam.scale(t.z);
        self.canvas
            .ellipse(cam.col(t.x, t.z), cam.row(e, t.z), 0.11 * s, 0.125 * s, m);
    }

    fn rider(&mut self, t: &Placed, motor: bool) {
        let anchor = Some((t.x, t.z));
        let (class, sw) = if motor {
            (id::MOTORCYCLE, palette::MOTO)
        } else {
            (id::BICYCLE, palette::BICYCLE)
        };
        let frame = self.mat(class, sw, anchor);
        let tyre = self.mat(class, palette::TYRE, anchor);
        if motor {
            self.front_rect(t, -0.07, 0.07, 0.0, 0.6, tyre);
            self.front_rect(t, -0.25, 0.25, 0.35, 0.95, frame);
            self.front_rect(t, -0.4, 0.4, 1.05, 1.1, frame);
        } else {
            self.front_rect(t, -0.03, 0.03, 0.0, 0.68, tyre);
            self.front_rect(t, -0.04, 0.04, 0.3, 0.95, frame);
            self.front_rect(t, -0.28, 0.28, 0.98, 1.03, frame);
        }
        let pants = self.mat(id::RIDER, palette::CLOTHES, anchor);
        let jacket = self.mat(id::RIDER, palette::CLOTHES, anchor);
        let head = if motor {
            self.mat(id::RIDER, palette::CLOTHES, anchor)
        } else {
            self.mat(id::RIDER, palette::SKIN, anchor)
        };
        self.front_rect(t, -0.2, -0.09, 0.3, 0.9, pants);
        self.front_rect(t, 0.09, 0.2, 0.3, 0.9, pants);
        self.front_rect(t, -0.21, 0.21, 0.85, 1.5, jacket);
        self.head(t, 1.62, head);
    }

    fn parked_bike(&mut self, t: &Placed, motor: bool) {
        let cam = self.scene.camera;
        let anchor = Some((t.x, t.z));
        let (class, sw, len) = if motor {
            (id::MOTORCYCLE, palette::MOTO, 1.5)
        } else {
            (id::BICYCLE, palette::BICYCLE, 1.7)
        };
        let frame = self.mat(class, sw, anchor);
        let tyre = self.mat(class, palette::TYRE, anchor);
        let r = 0.33;
        let hub = |z: f32| (cam.col(t.x, z), cam.row(r, z));
        let (a, b) = (hub(t.z + len), hub(t.z));
        let seat = (cam.col(t.x, t.z + len * 0.6), cam.row(0.9, t.z + len * 0.6));
        let bar = (cam.col(t.x, t.z + 0.15), cam.row(1.0, t.z + 0.15));
        let s = cam.scale(t.z);
        let thick = 0.05 * s;
        if motor {
            let mid = ((a.0 + b.0) / 2.0, cam.row(0.6, t.z + len / 2.0));
            let rx = ((a.0 - b.0).abs() / 2.0).max(0.3 * s);
            self.canvas.ellipse(mid.0, mid.1, rx, 0.3 * s, frame);
        }
        for (z, c) in [(t.z + len, a), (t.z, b)] {
            let rx = ((cam.col(t.x, z - r) - cam.col(t.x, z + r)).abs() / 2.0).max(0.5);
            let ry = r * cam.scale(z);
            if motor {
                self.canvas.ellipse(c.0, c.1, rx, ry, tyre);
            } else {
                self.canvas.ring(c.0, c.1, rx, ry, 0.75, tyre);
            }
        }
        self.canvas.line(a, seat, thick, frame);
        self.canvas.line(seat, b, thick, frame);
        self.canvas.line(b, bar, thick, frame);
    }
}

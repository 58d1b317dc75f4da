//! Scene layout: a pinhole camera over a flat street, and the things on it
//! (buildings or park on each side, walls, fences, trees, poles with signs
//! and lights, vehicles, pedestrians, riders, parked bikes), sampled from a
//! domain's [`SceneParams`]. Only geometry and classes live here; colours
//! are chosen when painting.

use crate::data::synth::params::{Range, SceneParams};
use crate::rng::SeedRng;

/// Distance (m) of the far end of the street (the skyline band).
pub const FAR_Z: f32 = 140.0;
/// Farthest distance (m) at which objects are placed.
const OBJECT_FAR_Z: f32 = 70.0;

/// A pinhole camera looking down a flat street: lateral `x` (m, right
/// positive), elevation `e` (m above ground), depth `z` (m).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Camera {
    /// Image width (px).
    pub width: f32,
    /// Image height (px).
    pub height: f32,
    /// Focal length (px).
    pub focal: f32,
    /// Image row of the horizon (px).
    pub horizon: f32,
    /// Image column of the vanishing point (px).
    pub cx: f32,
    /// Camera height above the road (m).
    pub elevation: f32,
}

impl Camera {
    /// Image column of lateral position `x` at depth `z`.
    #[inline]
    pub fn col(&self, x: f32, z: f32) -> f32 {
        self.cx + self.focal * x / z
    }

    /// Image row of elevation `e` at depth `z`.
    #[inline]
    pub fn row(&self, e: f32, z: f32) -> f32 {
        self.horizon + self.focal * (self.elevation - e) / z
    }

    /// Pixels per metre at depth `z`.
    #[inline]
    pub fn scale(&self, z: f32) -> f32 {
        self.focal / z
    }

    /// Depth of the ground seen at image row centre `yc` (below the horizon).
    #[inline]
    pub fn ground_z(&self, yc: f32) -> Option<f32> {
        (yc > self.horizon + 1e-3).then(|| self.focal * self.elevation / (yc - self.horizon))
    }

    /// Depth of the ground at the bottom edge of the image.
    pub fn near_z(&self) -> f32 {
        self.focal * self.elevation / (self.height - self.horizon).max(1.0)
    }

    /// Depth at which the vertical plane at lateral `x` is seen at column
    /// centre `xc` (`None` when that column does not see the plane).
    #[inline]
    pub fn plane_z(&self, x: f32, xc: f32) -> Option<f32> {
        let d = xc - self.cx;
        let z = self.focal * x / d;
        (d.abs() > 1e-3 && z > 0.0).then_some(z)
    }
}

/// A building (or park hedge) block along one side of the street.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Block {
    /// Near end (m).
    pub z0: f32,
    /// Far end (m).
    pub z1: f32,
    /// Height (m).
    pub height: f32,
}

/// A low structure along a side: wall or fence, `(z0, z1, height)` at `dist`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Barrier {
    /// Distance from the road centre (m).
    pub dist: f32,
    /// Near end (m).
    pub z0: f32,
    /// Far end (m).
    pub z1: f32,
    /// Height (m).
    pub height: f32,
}

/// One side of the street, distances measured from the road centre.
#[derive(Debug, Clone, PartialEq)]
pub struct Side {
    /// −1 for the left side, +1 for the right.
    pub sign: f32,
    /// Distance of the curb (road edge).
    pub curb: f32,
    /// Distance of the sidewalk's outer edge.
    pub sidewalk: f32,
    /// Distance of the facade line (outer edge of the terrain strip, if any).
    pub facade: f32,
    /// Whether there is a terrain strip between sidewalk and facade.
    pub terrain: bool,
    /// Vegetation instead of buildings.
    pub park: bool,
    /// Buildings (or hedges when `park`), near to far.
    pub blocks: Vec<Block>,
    /// A wall in front of the facade.
    pub wall: Option<Barrier>,
    /// A fence along the sidewalk's outer edge or the facade.
    pub fence: Option<Barrier>,
}

/// What a traffic sign looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignShape {
    /// Square plate.
    Square,
    /// Round plate.
    Round,
    /// Warning triangle.
    Triangle,
}

/// Vehicle kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VehicleKind {
    /// Passenger car.
    Car,
    /// Truck.
    Truck,
    /// Bus.
    Bus,
}

impl VehicleKind {
    /// `(width, height, length)` in metres.
    pub fn dims(self) -> (f32, f32, f32) {
        match self {
            VehicleKind::Car => (1.8, 1.5, 4.4),
            VehicleKind::Truck => (2.4, 3.2, 7.5),
            VehicleKind::Bus => (2.5, 3.1, 11.0),
        }
    }
}

/// A free-standing thing, at lateral `x` and depth `z` of its base.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Thing {
    /// A tree: trunk height and crown radius (m).
    Tree {
        /// Trunk height.
        trunk: f32,
        /// Crown radius.
        crown: f32,
    },
    /// A pole with optional sign, traffic light and arm over the road.
    Pole {
        /// Pole height.
        height: f32,
        /// Sign plate, if any.
        sign: Option<SignShape>,
        /// Traffic light at the top (or at the arm's end).
        light: bool,
        /// Signed arm length towards the road (0 = no arm).
        arm: f32,
    },
    /// A vehicle on the road; `rear`: seen from behind.
    Vehicle {
        /// Kind.
        kind: VehicleKind,
        /// Seen from behind (same direction) or from the front.
        rear: bool,
    },
    /// A pedestrian of the given height.
    Person {
        /// Height (m).
        height: f32,
    },
    /// A rider seen from behind on a bicycle or motorcycle.
    Rider {
        /// Motorcycle instead of bicycle.
        motor: bool,
    },
    /// A parked bicycle or motorcycle seen from the side.
    ParkedBike {
        /// Motorcycle instead of bicycle.
        motor: bool,
    },
}

/// A thing at a place.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placed {
    /// Lateral position (m).
    pub x: f32,
    /// Depth (m).
    pub z: f32,
    /// What stands there.
    pub thing: Thing,
}

/// A sampled scene.
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    /// The camera.
    pub camera: Camera,
    /// Lateral position of the road centre (m).
    pub road_center: f32,
    /// Half width of the road (m).
    pub road_half_width: f32,
    /// Left and right sides.
    pub sides: [Side; 2],
    /// Skyline block heights (m) across the far end, left to right.
    pub skyline: Vec<f32>,
    /// Whether the far end is vegetation rather than buildings.
    pub skyline_green: bool,
    /// Free-standing things, far to near (paint order).
    pub things: Vec<Placed>,
    /// Hood top as a fraction of the image height, when visible.
    pub hood: Option<f32>,
}

fn pick(rng: &mut SeedRng, r: Range) -> f32 {
    rng.uniform(r.0, r.1)
}

/// A count whose expected value is uniform in `r` (fractional part as a coin).
fn count(rng: &mut SeedRng, r: Range) -> usize {
    let v = pick(rng, r).max(0.0);
    v.floor() as usize + usize::from(rng.chance(v.fract()))
}

impl Scene {
    /// Samples a scene of `width × height` pixels.
    pub fn sample(p: &SceneParams, rng: &mut SeedRng, width: u32, height: u32) -> Scene {
        let (w, h) = (width as f32, height as f32);
        let camera = Camera {
            width: w,
            height: h,
            focal: pick(rng, p.focal) * w,
            horizon: pick(rng, p.horizon) * h,
            cx: w * (0.5 + rng.uniform(-0.06, 0.06)),
            elevation: pick(rng, p.camera_height),
        };
        let road_half_width = pick(rng, p.road_half_width);
        let road_center =
            -pick(rng, p.road_offset).clamp(-road_half_width + 1.0, road_half_width - 1.0);
        let near = camera.near_z();
        let sides = [-1.0f32, 1.0].map(|sign| sample_side(p, rng, sign, road_half_width, near));
        let skyline = (0..rng.below(5) + 3)
            .map(|_| rng.uniform(6.0, p.building_height.1 * 1.3))
            .collect();
        let skyline_green = sides.iter().all(|s| s.park) || rng.chance(p.park_prob * 0.5);
        let mut scene = Scene {
            camera,
            road_center,
            road_half_width,
            sides,
            skyline,
            skyline_green,
            things: Vec::new(),
            hood: None,
        };
        scene.things = sample_things(p, rng, &scene);
        if rng.chance(p.hood_prob) {
            scene.hood = Some(1.0 - pick(rng, p.hood_height));
        }
        scene
    }

    /// Signed lateral position of distance `dist` on side `s`.
    pub fn lateral(&self, side: &Side, dist: f32) -> f32 {
        self.road_center + side.sign * dist
    }
}

fn sample_side(p: &SceneParams, rng: &mut SeedRng, sign: f32, half: f32, near: f32) -> Side {
    let sidewalk = half + pick(rng, p.sidewalk_width);
    let terrain = rng.chance(p.terrain_prob);
    let facade = if terrain {
        sidewalk + pick(rng, p.terrain_width)
    } else {
        sidewalk
    };
    let park = rng.chance(p.park_prob);
    let mut blocks = Vec::new();
    let mut z = near * 0.5;
    while z < FAR_Z {
        let len = pick(rng, p.building_length);
        let height = if park {
            rng.uniform(3.0, 9.0)
        } else {
            pick(rng, p.building_height)
        };
        blocks.push(Block {
            z0: z,
            z1: z + len,
            height,
        });
        z += len;
        if rng.chance(p.building_gap_prob) {
            z += rng.uniform(3.0, 9.0);
        }
    }
    let barrier = |rng: &mut SeedRng, dist: f32, hmin: f32, hmax: f32| {
        let z0 = near * rng.uniform(0.6, 3.0);
        Barrier {
            dist,
            z0,
            z1: z0 + rng.uniform(10.0, 50.0),
            height: rng.uniform(hmin, hmax),
        }
    };
    let wall = (!park && rng.chance(p.wall_prob)).then(|| barrier(rng, facade - 0.05, 0.9, 2.2));
    let fence = rng.chance(p.fence_prob).then(|| {
        barrier(
            rng,
            if terrain {
                sidewalk + 0.1
            } else {
                facade - 0.15
            },
            0.9,
            1.6,
        )
    });
    Side {
        sign,
        curb: half,
        sidewalk,
        facade,
        terrain,
        park,
        blocks,
        wall,
        fence,
    }
}

/// Whether `[z, z + len]` overlaps any occupied interval (with a margin).
fn free(occupied: &[(f32, f32)], z: f32, len: f32) -> bool {
    occupied
        .iter()
        .all(|&(a, b)| z + len + 1.5 < a || z > b + 1.5)
}

fn sample_things(p: &SceneParams, rng: &mut SeedRng, scene: &Scene) -> Vec<Placed> {
    let near = scene.camera.near_z();
    let (c, hw) = (scene.road_center, scene.road_half_width);
    let mut out = Vec::new();
    let mut lanes: [Vec<(f32, f32)>; 2] = [Vec::new(), Vec::new()];
    // Moving vehicles: the right lane drives away (seen from behind), the
    // left lane comes towards the camera.
    for _ in 0..count(rng, p.cars) {
        let kind = if rng.chance(p.bus_prob) {
            VehicleKind::Bus
        } else if rng.chance(p.truck_prob) {
            VehicleKind::Truck
        } else {
            VehicleKind::Car
        };
        let lane = rng.below(2);
        let (_, _, len) = kind.dims();
        for _ in 0..6 {
            let z = rng.uniform(near + 2.0, 55.0);
            if free(&lanes[lane], z, len) {
                lanes[lane].push((z, z + len));
                let x = c + if lane == 0 { -hw / 2.0 } else { hw / 2.0 } + rng.uniform(-0.3, 0.3);
                out.push(Placed {
                    x,
                    z,
                    thing: Thing::Vehicle {
                        kind,
                        rear: lane == 1,
                    },
                });
                break;
            }
        }
    }
    for side in &scene.sides {
        let lane = usize::from(side.sign > 0.0);
        for _ in 0..count(rng, p.parked_cars) {
            let z = rng.uniform(near + 1.0, 50.0);
            if free(&lanes[lane], z, 4.4) {
                lanes[lane].push((z, z + 4.4));
                out.push(Placed {
                    x: scene.lateral(side, hw - 1.1),
                    z,
                    thing: Thing::Vehicle {
                        kind: VehicleKind::Car,
                        rear: side.sign > 0.0,
                    },
                });
            }
        }
        for _ in 0..count(rng, p.poles) {
            let height = rng.uniform(3.0, 8.0);
            let light = rng.chance(p.light_prob);
            let sign = rng
                .chance(p.sign_prob)
                .then(|| [SignShape::Square, SignShape::Round, SignShape::Triangle][rng.below(3)]);
            let arm = if light && rng.chance(0.5) {
                -side.sign * rng.uniform(1.5, 3.5)
            } else {
                0.0
            };
            out.push(Placed {
                x: scene.lateral(side, side.curb + 0.4),
                z: rng.uniform(near, 75.0),
                thing: Thing::Pole {
                    height,
                    sign,
                    light,
                    arm,
                },
            });
        }
        for _ in 0..count(rng, p.trees) {
            let dist = if side.terrain {
                (side.sidewalk + side.facade) / 2.0
            } else {
                side.curb + rng.uniform(0.6, 1.2)
            };
            out.push(Placed {
                x: scene.lateral(side, dist),
                z: rng.uniform(near + 1.0, OBJECT_FAR_Z),
                thing: Thing::Tree {
                    trunk: rng.uniform(1.8, 3.5),
                    crown: rng.uniform(1.5, 3.2),
                },
            });
        }
        for _ in 0..count(rng, p.parked_bikes) {
            out.push(Placed {
                x: scene.lateral(side, side.curb + rng.uniform(0.5, 1.2)),
                z: rng.uniform(near + 0.5, 35.0),
                thing: Thing::ParkedBike {
                    motor: rng.chance(0.4),
                },
            });
        }
    }
    for _ in 0..count(rng, p.persons) {
        let side = &scene.sides[rng.below(2)];
        let crossing = rng.chance(0.12);
        let x = if crossing {
            c + rng.uniform(-hw, hw)
        } else {
            scene.lateral(side, rng.uniform(side.curb + 0.3, side.sidewalk - 0.2))
        };
        out.push(Placed {
            x,
            z: rng.uniform(near, 45.0),
            thing: Thing::Person {
                height: rng.uniform(1.55, 1.95),
            },
        });
    }
    for _ in 0..count(rng, p.riders) {
        let sign = if rng.chance(0.5) { -1.0 } else { 1.0 };
        out.push(Placed {
            x: c + sign * (hw - 0.8),
            z: rng.uniform(near + 1.0, 40.0),
            thing: Thing::Rider {
                motor: rng.chance(0.4),
            },
        });
    }
    out.sort_by(|a, b| b.z.total_cmp(&a.z));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synth::params::SOURCE_SCENE;

    #[test]
    fn camera_projects_consistently() {
        let cam = Camera {
            width: 256.0,
            height: 128.0,
            focal: 200.0,
            horizon: 55.0,
            cx: 128.0,
            elevation: 1.5,
        };
        let z = 12.0;
        let y = cam.row(0.0, z);
        assert!((cam.ground_z(y).unwrap() - z).abs() < 1e-3);
        let x = cam.col(-4.0, z);
        assert!((cam.plane_z(-4.0, x).unwrap() - z).abs() < 1e-3);
        assert!(cam.plane_z(4.0, x).is_none());
    }

    #[test]
    fn scenes_are_deterministic_and_sorted() {
        let a = Scene::sample(&SOURCE_SCENE, &mut SeedRng::new(5), 256, 128);
        let b = Scene::sample(&SOURCE_SCENE, &mut SeedRng::new(5), 256, 128);
        assert_eq!(a, b);
        assert!(a.things.windows(2).all(|w| w[0].z >= w[1].z));
    }
}

//! Every tunable number of the procedural benchmark, in one place.
//!
//! A domain is a pair ([`SceneParams`], [`LookParams`]): what the scenes
//! contain (layout statistics, the *label* side of the domain gap) and how
//! they are rendered (palette, texture, light, optics, the *style* side).
//! The source domain uses [`SOURCE_SCENE`]/[`SOURCE_LOOK`]; the target
//! domain interpolates from those towards [`TARGET_SCENE`]/[`TARGET_LOOK`] by
//! its severity (0 = the source domain exactly, 1 = the full shift).
//!
//! To make the gap harder or easier, change [`DEFAULT_SEVERITY`] first, then
//! the `TARGET_*` tables. The networks issue tunes these so that a small
//! source-trained DeepLabV3 loses ≥ 30 % of its mIoU on the target while
//! keeping ≥ 15 mIoU.

/// Default image width of the embedded benchmark (the demo size).
pub const DEFAULT_WIDTH: u32 = 256;
/// Default image height of the embedded benchmark.
pub const DEFAULT_HEIGHT: u32 = 128;
/// Default severity of the target domain. Measured with a deeplabv3-mini
/// source model (49.0 mIoU on source val, tch, 1500 steps): severity 0.3 keeps
/// 35.6 mIoU on target val, 0.5 keeps 15.5, 0.8 keeps 4.7. 0.4 sits between:
/// a large gap that is still adaptable.
pub const DEFAULT_SEVERITY: f32 = 0.4;
/// Smallest accepted image side.
pub const MIN_SIDE: u32 = 16;
/// Largest accepted image side.
pub const MAX_SIDE: u32 = 8192;

/// A `(low, high)` range sampled uniformly.
pub type Range = (f32, f32);

/// Values that interpolate between the source and the target tables.
pub trait Lerp: Copy {
    /// `a + (b - a) * t`, component-wise.
    fn lerp(a: Self, b: Self, t: f32) -> Self;
}

impl Lerp for f32 {
    fn lerp(a: f32, b: f32, t: f32) -> f32 {
        a + (b - a) * t
    }
}

impl Lerp for (f32, f32) {
    fn lerp(a: Self, b: Self, t: f32) -> Self {
        (f32::lerp(a.0, b.0, t), f32::lerp(a.1, b.1, t))
    }
}

impl Lerp for [f32; 3] {
    fn lerp(a: Self, b: Self, t: f32) -> Self {
        [
            f32::lerp(a[0], b[0], t),
            f32::lerp(a[1], b[1], t),
            f32::lerp(a[2], b[2], t),
        ]
    }
}

macro_rules! lerp_struct {
    ($ty:ident { $($f:ident),* $(,)? }) => {
        impl $ty {
            /// Field-wise interpolation from `a` (t = 0) to `b` (t = 1).
            pub fn lerp(a: &Self, b: &Self, t: f32) -> Self {
                $ty { $($f: Lerp::lerp(a.$f, b.$f, t)),* }
            }
        }
    };
}

/// Layout statistics of a domain (lengths in metres, counts as ranges of
/// expected values, probabilities in `[0, 1]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SceneParams {
    /// Horizon height as a fraction of the image height.
    pub horizon: Range,
    /// Focal length as a fraction of the image width (larger: bigger objects).
    pub focal: Range,
    /// Camera height above the road.
    pub camera_height: Range,
    /// Half width of the road.
    pub road_half_width: Range,
    /// Lateral offset of the camera from the road centre.
    pub road_offset: Range,
    /// Sidewalk width.
    pub sidewalk_width: Range,
    /// Probability of a terrain strip between sidewalk and buildings.
    pub terrain_prob: f32,
    /// Width of that strip.
    pub terrain_width: Range,
    /// Probability that a side of the street is a park (vegetation) instead
    /// of buildings.
    pub park_prob: f32,
    /// Building height.
    pub building_height: Range,
    /// Building length along the street.
    pub building_length: Range,
    /// Probability of a gap after a building.
    pub building_gap_prob: f32,
    /// Probability of a low wall in front of the buildings of a side.
    pub wall_prob: f32,
    /// Probability of a fence along a side.
    pub fence_prob: f32,
    /// Trees per side.
    pub trees: Range,
    /// Poles per side.
    pub poles: Range,
    /// Probability that a pole carries a traffic sign.
    pub sign_prob: f32,
    /// Probability that a pole carries a traffic light.
    pub light_prob: f32,
    /// Moving cars on the road.
    pub cars: Range,
    /// Parked cars per side.
    pub parked_cars: Range,
    /// Probability that a moving vehicle is a truck.
    pub truck_prob: f32,
    /// Probability that a moving vehicle is a bus.
    pub bus_prob: f32,
    /// Pedestrians.
    pub persons: Range,
    /// Riders on bicycles or motorcycles.
    pub riders: Range,
    /// Parked bicycles/motorcycles.
    pub parked_bikes: Range,
    /// Probability that the ego car's hood is visible (ignore label).
    pub hood_prob: f32,
    /// Hood height as a fraction of the image height.
    pub hood_height: Range,
}

lerp_struct!(SceneParams {
    horizon,
    focal,
    camera_height,
    road_half_width,
    road_offset,
    sidewalk_width,
    terrain_prob,
    terrain_width,
    park_prob,
    building_height,
    building_length,
    building_gap_prob,
    wall_prob,
    fence_prob,
    trees,
    poles,
    sign_prob,
    light_prob,
    cars,
    parked_cars,
    truck_prob,
    bus_prob,
    persons,
    riders,
    parked_bikes,
    hood_prob,
    hood_height,
});

/// Rendering style of a domain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LookParams {
    /// 0: the game palette, 1: the real palette (per-object colours are
    /// interpolated between a pick from each).
    pub palette_mix: f32,
    /// Relative per-object colour jitter.
    pub color_jitter: f32,
    /// Scale of the per-class texture amplitudes of [`TEXTURE`].
    pub texture: f32,
    /// Darkening of side faces (simple game shading).
    pub face_shade: f32,
    /// Saturation factor (1 = unchanged).
    pub saturation: f32,
    /// Systematic white-balance cast, per-channel gain offsets.
    pub wb_bias: [f32; 3],
    /// Random white-balance jitter per image.
    pub wb_jitter: f32,
    /// Global exposure gain range.
    pub gain: Range,
    /// Contrast around mid grey (1 = unchanged).
    pub contrast: f32,
    /// Gamma applied to `[0, 1]` values (1 = unchanged, > 1 darker mid-tones).
    pub gamma: f32,
    /// Strength of cast shadows (0 = none).
    pub shadow: f32,
    /// Strength of the illumination gradient across the image.
    pub light_gradient: f32,
    /// Corner darkening.
    pub vignette: f32,
    /// Distance haze towards the sky colour.
    pub haze: f32,
    /// Blur amount (passes of a 3×3 binomial filter, fractional = partial).
    pub blur: f32,
    /// Sensor noise standard deviation, in 8-bit units.
    pub noise: f32,
}

lerp_struct!(LookParams {
    palette_mix,
    color_jitter,
    texture,
    face_shade,
    saturation,
    wb_bias,
    wb_jitter,
    gain,
    contrast,
    gamma,
    shadow,
    light_gradient,
    vignette,
    haze,
    blur,
    noise,
});

/// Layout of the source ("game") domain.
pub const SOURCE_SCENE: SceneParams = SceneParams {
    horizon: (0.38, 0.46),
    focal: (0.75, 0.85),
    camera_height: (1.5, 1.7),
    road_half_width: (4.0, 6.0),
    road_offset: (-1.5, 1.5),
    sidewalk_width: (2.0, 3.5),
    terrain_prob: 0.25,
    terrain_width: (1.0, 3.0),
    park_prob: 0.15,
    building_height: (8.0, 22.0),
    building_length: (8.0, 22.0),
    building_gap_prob: 0.12,
    wall_prob: 0.3,
    fence_prob: 0.3,
    trees: (0.0, 3.0),
    poles: (1.5, 4.0),
    sign_prob: 0.5,
    light_prob: 0.35,
    cars: (1.0, 5.0),
    parked_cars: (0.0, 2.5),
    truck_prob: 0.18,
    bus_prob: 0.12,
    persons: (0.5, 4.0),
    riders: (0.0, 1.5),
    parked_bikes: (0.0, 1.5),
    hood_prob: 0.0,
    hood_height: (0.06, 0.1),
};

/// Layout of the target ("real") domain at severity 1: lower horizon,
/// longer focal (bigger objects), narrower roads, more vegetation and
/// pedestrians, fewer cars, a visible hood.
pub const TARGET_SCENE: SceneParams = SceneParams {
    horizon: (0.44, 0.54),
    focal: (0.95, 1.1),
    camera_height: (1.25, 1.45),
    road_half_width: (3.0, 4.5),
    road_offset: (-1.0, 1.0),
    sidewalk_width: (2.5, 4.5),
    terrain_prob: 0.45,
    terrain_width: (1.0, 3.5),
    park_prob: 0.35,
    building_height: (10.0, 28.0),
    building_length: (6.0, 18.0),
    building_gap_prob: 0.2,
    wall_prob: 0.2,
    fence_prob: 0.4,
    trees: (1.0, 5.0),
    poles: (2.0, 5.0),
    sign_prob: 0.45,
    light_prob: 0.3,
    cars: (0.5, 3.5),
    parked_cars: (0.0, 3.0),
    truck_prob: 0.12,
    bus_prob: 0.1,
    persons: (1.5, 7.0),
    riders: (0.0, 2.5),
    parked_bikes: (0.0, 2.0),
    hood_prob: 0.6,
    hood_height: (0.06, 0.1),
};

/// Style of the source domain: flat, saturated, clean.
pub const SOURCE_LOOK: LookParams = LookParams {
    palette_mix: 0.0,
    color_jitter: 0.06,
    texture: 0.0,
    face_shade: 0.22,
    saturation: 1.0,
    wb_bias: [0.0, 0.0, 0.0],
    wb_jitter: 0.0,
    gain: (1.0, 1.0),
    contrast: 1.0,
    gamma: 1.0,
    shadow: 0.0,
    light_gradient: 0.0,
    vignette: 0.0,
    haze: 0.0,
    blur: 0.0,
    noise: 0.0,
};

/// Style of the target domain at severity 1: real palette, texture, warm
/// cast, darker and flatter exposure, shadows, haze, blur and noise.
pub const TARGET_LOOK: LookParams = LookParams {
    palette_mix: 1.0,
    color_jitter: 0.12,
    texture: 1.0,
    face_shade: 0.1,
    saturation: 0.75,
    wb_bias: [0.08, 0.02, -0.1],
    wb_jitter: 0.06,
    gain: (0.7, 1.05),
    contrast: 0.85,
    gamma: 1.15,
    shadow: 0.45,
    light_gradient: 0.25,
    vignette: 0.3,
    haze: 0.25,
    blur: 0.9,
    noise: 5.0,
};

/// Per-class texture amplitudes `(fine grain, coarse blotches)` at
/// `texture = 1`, indexed by train id.
pub const TEXTURE: [(f32, f32); 19] = [
    (0.10, 0.08), // road
    (0.08, 0.10), // sidewalk
    (0.06, 0.12), // building
    (0.08, 0.10), // wall
    (0.05, 0.05), // fence
    (0.05, 0.05), // pole
    (0.03, 0.03), // traffic light
    (0.04, 0.04), // traffic sign
    (0.30, 0.20), // vegetation
    (0.25, 0.15), // terrain
    (0.00, 0.10), // sky
    (0.06, 0.05), // person
    (0.06, 0.05), // rider
    (0.05, 0.08), // car
    (0.05, 0.08), // truck
    (0.05, 0.08), // bus
    (0.05, 0.08), // train
    (0.05, 0.05), // motorcycle
    (0.05, 0.05), // bicycle
];

/// An RGB colour in `[0, 255]` floats.
pub type Rgb = [f32; 3];

/// Colours of one kind of surface in the two domains; an object picks one
/// colour from each list and mixes them by `palette_mix`.
#[derive(Debug, Clone, Copy)]
pub struct Swatch {
    /// Game-look choices.
    pub game: &'static [Rgb],
    /// Real-look choices.
    pub real: &'static [Rgb],
}

/// The palettes of every kind of surface.
pub mod palette {
    use super::Swatch;

    macro_rules! swatch {
        ($name:ident, $doc:literal, [$($g:expr),* $(,)?], [$($r:expr),* $(,)?]) => {
            #[doc = $doc]
            pub const $name: Swatch = Swatch {
                game: &[$($g),*],
                real: &[$($r),*],
            };
        };
    }

    swatch!(
        ROAD,
        "Asphalt.",
        [[96.0, 96.0, 106.0]],
        [[78.0, 74.0, 70.0], [90.0, 88.0, 84.0]]
    );
    swatch!(
        MARKING,
        "Lane markings.",
        [[250.0, 250.0, 250.0]],
        [[175.0, 172.0, 160.0]]
    );
    swatch!(
        SIDEWALK,
        "Sidewalk paving.",
        [[190.0, 176.0, 160.0], [175.0, 175.0, 185.0]],
        [[138.0, 130.0, 124.0], [120.0, 118.0, 116.0]]
    );
    swatch!(
        TERRAIN,
        "Grass and soil.",
        [[150.0, 195.0, 90.0]],
        [[120.0, 118.0, 78.0], [105.0, 110.0, 70.0]]
    );
    swatch!(
        BUILDING,
        "Facades.",
        [
            [215.0, 175.0, 140.0],
            [170.0, 185.0, 210.0],
            [220.0, 210.0, 170.0],
            [185.0, 160.0, 190.0]
        ],
        [
            [122.0, 104.0, 92.0],
            [138.0, 128.0, 116.0],
            [102.0, 98.0, 98.0],
            [150.0, 138.0, 118.0]
        ]
    );
    swatch!(
        WINDOW,
        "Windows.",
        [[60.0, 95.0, 150.0]],
        [[42.0, 46.0, 52.0], [70.0, 78.0, 86.0]]
    );
    swatch!(
        WALL,
        "Walls.",
        [[205.0, 195.0, 160.0]],
        [[132.0, 122.0, 106.0]]
    );
    swatch!(
        FENCE,
        "Fences.",
        [[160.0, 110.0, 60.0]],
        [[104.0, 104.0, 100.0]]
    );
    swatch!(
        POLE,
        "Poles.",
        [[140.0, 140.0, 155.0]],
        [[82.0, 82.0, 78.0]]
    );
    swatch!(
        LIGHT_BOX,
        "Traffic-light housings.",
        [[40.0, 40.0, 45.0]],
        [[28.0, 28.0, 24.0]]
    );
    swatch!(
        LAMP,
        "Lit traffic lights.",
        [
            [255.0, 40.0, 30.0],
            [40.0, 230.0, 80.0],
            [255.0, 200.0, 0.0]
        ],
        [
            [200.0, 90.0, 70.0],
            [110.0, 190.0, 130.0],
            [210.0, 170.0, 80.0]
        ]
    );
    swatch!(
        SIGN,
        "Sign faces.",
        [
            [230.0, 40.0, 40.0],
            [40.0, 90.0, 220.0],
            [240.0, 210.0, 40.0],
            [245.0, 245.0, 245.0]
        ],
        [
            [170.0, 70.0, 60.0],
            [70.0, 90.0, 140.0],
            [190.0, 170.0, 90.0],
            [190.0, 188.0, 180.0]
        ]
    );
    swatch!(
        VEGETATION,
        "Foliage.",
        [[70.0, 165.0, 60.0], [50.0, 140.0, 70.0]],
        [[66.0, 92.0, 44.0], [84.0, 100.0, 52.0]]
    );
    swatch!(
        TRUNK,
        "Tree trunks (labelled vegetation).",
        [[120.0, 80.0, 50.0]],
        [[70.0, 62.0, 52.0]]
    );
    swatch!(
        SKY_TOP,
        "Sky at the top.",
        [[80.0, 150.0, 240.0]],
        [[170.0, 182.0, 196.0]]
    );
    swatch!(
        SKY_HORIZON,
        "Sky at the horizon.",
        [[175.0, 215.0, 250.0]],
        [[205.0, 208.0, 210.0]]
    );
    swatch!(
        SKIN,
        "Skin.",
        [[240.0, 200.0, 160.0], [200.0, 150.0, 110.0]],
        [[185.0, 150.0, 125.0], [130.0, 100.0, 80.0]]
    );
    swatch!(
        CLOTHES,
        "Clothes.",
        [
            [230.0, 40.0, 60.0],
            [40.0, 120.0, 230.0],
            [250.0, 200.0, 40.0],
            [60.0, 200.0, 90.0],
            [150.0, 60.0, 200.0]
        ],
        [
            [50.0, 50.0, 55.0],
            [70.0, 72.0, 90.0],
            [110.0, 96.0, 84.0],
            [140.0, 140.0, 140.0],
            [90.0, 40.0, 40.0]
        ]
    );
    swatch!(
        CAR,
        "Car paint.",
        [
            [220.0, 30.0, 30.0],
            [30.0, 90.0, 220.0],
            [240.0, 200.0, 40.0],
            [40.0, 170.0, 70.0],
            [240.0, 240.0, 240.0]
        ],
        [
            [200.0, 200.0, 198.0],
            [38.0, 38.0, 42.0],
            [120.0, 124.0, 130.0],
            [92.0, 32.0, 32.0],
            [34.0, 42.0, 70.0]
        ]
    );
    swatch!(
        TRUCK,
        "Truck bodies.",
        [[235.0, 125.0, 30.0], [200.0, 200.0, 210.0]],
        [[168.0, 160.0, 150.0], [110.0, 110.0, 104.0]]
    );
    swatch!(
        BUS,
        "Bus bodies.",
        [[250.0, 205.0, 0.0], [230.0, 60.0, 40.0]],
        [[150.0, 44.0, 40.0], [190.0, 186.0, 176.0]]
    );
    swatch!(
        GLASS,
        "Vehicle glass.",
        [[40.0, 60.0, 90.0]],
        [[30.0, 32.0, 36.0]]
    );
    swatch!(TYRE, "Tyres.", [[25.0, 25.0, 25.0]], [[22.0, 22.0, 22.0]]);
    swatch!(
        MOTO,
        "Motorcycles.",
        [[210.0, 30.0, 30.0], [30.0, 30.0, 210.0]],
        [[52.0, 52.0, 56.0], [90.0, 30.0, 30.0]]
    );
    swatch!(
        BICYCLE,
        "Bicycle frames.",
        [[30.0, 170.0, 210.0], [230.0, 100.0, 20.0]],
        [[44.0, 44.0, 44.0], [80.0, 80.0, 84.0]]
    );
    swatch!(
        HOOD,
        "The ego car's hood.",
        [[20.0, 20.0, 24.0]],
        [[34.0, 36.0, 40.0]]
    );

    #[cfg(test)]
    #[test]
    fn every_swatch_has_colours() {
        for s in [ROAD, SIDEWALK, BUILDING, CAR, CLOTHES, SIGN] {
            assert!(!s.game.is_empty() && !s.real.is_empty());
        }
        assert_eq!(ROAD.game[0].len(), 3);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_zero_is_the_source_domain() {
        assert_eq!(
            SceneParams::lerp(&SOURCE_SCENE, &TARGET_SCENE, 0.0),
            SOURCE_SCENE
        );
        assert_eq!(
            LookParams::lerp(&SOURCE_LOOK, &TARGET_LOOK, 0.0),
            SOURCE_LOOK
        );
        assert_eq!(
            SceneParams::lerp(&SOURCE_SCENE, &TARGET_SCENE, 1.0),
            TARGET_SCENE
        );
    }
}

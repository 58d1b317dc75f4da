//! What to generate ([`SynthSpec`]: domain, split, count, seed, severity,
//! size) and the generator itself ([`generate`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::data::raster::{LabelMap, RgbImage};
use crate::data::sample::Sample;
use crate::data::synth::noise::NoiseField;
use crate::data::synth::paint::Painter;
use crate::data::synth::params::{
    LookParams, SceneParams, DEFAULT_HEIGHT, DEFAULT_SEVERITY, DEFAULT_WIDTH, MAX_SIDE, MIN_SIDE,
    SOURCE_LOOK, SOURCE_SCENE, TARGET_LOOK, TARGET_SCENE,
};
use crate::data::synth::post::develop;
use crate::data::synth::scene::Scene;
use crate::data::synth::shade::{shade, ShadeInput, Shadows};
use crate::error::{Error, Result};
use crate::rng::SeedRng;

/// The two domains of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Domain {
    /// The labelled "game" domain the source model is trained on.
    Source,
    /// The "real" domain to adapt to.
    Target,
}

/// Splits of the benchmark (independent random streams).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Training images.
    Train,
    /// Validation images.
    Val,
}

impl Domain {
    /// `source` or `target`.
    pub fn name(self) -> &'static str {
        match self {
            Domain::Source => "source",
            Domain::Target => "target",
        }
    }
}

impl Split {
    /// `train` or `val`.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
        }
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Domain {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "source" => Ok(Domain::Source),
            "target" => Ok(Domain::Target),
            _ => Err(Error::Config {
                key: "domain".into(),
                msg: format!("unknown domain '{s}'; valid: source, target"),
            }),
        }
    }
}

impl FromStr for Split {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "train" => Ok(Split::Train),
            "val" => Ok(Split::Val),
            _ => Err(Error::Config {
                key: "split".into(),
                msg: format!("unknown split '{s}'; valid: train, val"),
            }),
        }
    }
}

/// A set of generated examples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SynthSpec {
    /// Domain.
    pub domain: Domain,
    /// Split.
    pub split: Split,
    /// Number of examples.
    pub count: usize,
    /// Seed (the same seed gives the same images).
    pub seed: u64,
    /// Target severity in `[0, 1]` (ignored for the source domain).
    pub severity: f32,
    /// Image width.
    pub width: u32,
    /// Image height.
    pub height: u32,
}

fn mix(seed: u64, index: u64) -> u64 {
    let mut z = seed ^ index.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl SynthSpec {
    /// `count` examples at the default size, seed 0 and default severity.
    pub fn new(domain: Domain, split: Split, count: usize) -> Self {
        SynthSpec {
            domain,
            split,
            count,
            seed: 0,
            severity: DEFAULT_SEVERITY,
            width: DEFAULT_WIDTH,
            height: DEFAULT_HEIGHT,
        }
    }

    /// With another image size.
    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.width = width;
        self.height = height;
        self
    }

    /// With another seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// With another severity.
    pub fn with_severity(mut self, severity: f32) -> Self {
        self.severity = severity;
        self
    }

    /// Checks the size and severity.
    pub fn validate(&self) -> Result<()> {
        for (key, v) in [("width", self.width), ("height", self.height)] {
            if !(MIN_SIDE..=MAX_SIDE).contains(&v) {
                return Err(Error::Config {
                    key: format!("synth.{key}"),
                    msg: format!("{v} is out of range; use {MIN_SIDE}..={MAX_SIDE} pixels"),
                });
            }
        }
        if !(0.0..=1.0).contains(&self.severity) {
            return Err(Error::Config {
                key: "synth.severity".into(),
                msg: format!(
                    "{} is out of range; use 0 (no shift) ..= 1 (hard shift)",
                    self.severity
                ),
            });
        }
        Ok(())
    }

    /// The effective severity (0 for the source domain).
    pub fn effective_severity(&self) -> f32 {
        match self.domain {
            Domain::Source => 0.0,
            Domain::Target => self.severity,
        }
    }

    /// Layout statistics of this spec's domain.
    pub fn scene_params(&self) -> SceneParams {
        SceneParams::lerp(&SOURCE_SCENE, &TARGET_SCENE, self.effective_severity())
    }

    /// Rendering style of this spec's domain.
    pub fn look_params(&self) -> LookParams {
        LookParams::lerp(&SOURCE_LOOK, &TARGET_LOOK, self.effective_severity())
    }

    /// The Cityscapes "city" the examples are written under.
    pub fn city(&self) -> &'static str {
        self.domain.name()
    }

    /// Name of example `index`, Cityscapes style (`source_000000_000042`).
    pub fn name(&self, index: usize) -> String {
        let code = match self.split {
            Split::Train => 0,
            Split::Val => 1,
        };
        format!("{}_{code:06}_{index:06}", self.city())
    }

    /// Generates example `index` (any index; `count` only sizes datasets).
    pub fn sample(&self, index: usize) -> Result<Sample> {
        self.validate()?;
        Ok(generate(self, index))
    }
}

/// Generates example `index` of `spec` (which must be valid, see
/// [`SynthSpec::validate`]). A pure function of the spec and the index.
pub fn generate(spec: &SynthSpec, index: usize) -> Sample {
    let (w, h) = (spec.width, spec.height);
    let key = mix(spec.seed, index as u64);
    let stream =
        |what: &str| SeedRng::derive(key, &format!("synth/{}/{}/{what}", spec.domain, spec.split));
    let (mut layout_rng, mut style_rng) = (stream("layout"), stream("style"));
    let (scene_p, look) = (spec.scene_params(), spec.look_params());
    let scene = Scene::sample(&scene_p, &mut layout_rng, w, h);
    let lit_side = if style_rng.chance(0.5) { -1.0 } else { 1.0 };
    let canvas = Painter::paint(&scene, &look, &mut style_rng, lit_side);
    let shadows = Shadows::sample(&scene, &look, lit_side, &mut style_rng);
    let fine = NoiseField::new(&mut style_rng, w, h, w as f32 / 170.0);
    let coarse = NoiseField::new(&mut style_rng, w, h, w as f32 / 10.0);
    let linear = shade(&ShadeInput {
        canvas: &canvas,
        scene: &scene,
        look: &look,
        fine: &fine,
        coarse: &coarse,
        shadows: shadows.as_ref(),
    });
    let data = develop(linear, w as usize, h as usize, &look, &mut style_rng);
    Sample {
        name: spec.name(index),
        image: RgbImage {
            width: w,
            height: h,
            data,
        },
        label: Some(LabelMap {
            width: w,
            height: h,
            data: canvas.label,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_specs_are_refused() {
        let s = SynthSpec::new(Domain::Source, Split::Train, 1);
        assert!(s.with_size(8, 128).validate().is_err());
        assert!(s.with_severity(1.5).validate().is_err());
        assert!(s.with_severity(f32::NAN).validate().is_err());
        assert!("tgt".parse::<Domain>().is_err());
    }

    #[test]
    fn splits_and_domains_differ_and_any_size_works() {
        let s = SynthSpec::new(Domain::Source, Split::Train, 1);
        let a = generate(&s, 0);
        let b = generate(
            &SynthSpec {
                split: Split::Val,
                ..s
            },
            0,
        );
        let c = generate(
            &SynthSpec {
                domain: Domain::Target,
                ..s
            },
            0,
        );
        assert_ne!(a.image, b.image);
        assert_ne!(a.image, c.image);
        for (w, h) in [(16, 16), (97, 33), (512, 256)] {
            let x = generate(&s.with_size(w, h), 3);
            assert_eq!(x.image.data.len(), (w * h * 3) as usize);
            assert_eq!(x.label.unwrap().data.len(), (w * h) as usize);
        }
    }
}

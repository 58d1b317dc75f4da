//! The embedded benchmark: a deterministic, seedable procedural generator of
//! street scenes labelled with Cityscapes' 19 train ids, in two domains.
//!
//! - `source`: a "game" look — flat, saturated colours, simple face shading,
//!   clean edges.
//! - `target`: a "real" look — another palette and white balance, texture,
//!   cast shadows, an illumination gradient, vignetting, haze, blur and
//!   sensor noise — and other layout statistics (lower horizon, longer focal,
//!   narrower roads, more vegetation and pedestrians, fewer cars, a visible
//!   hood labelled ignore): a label shift, not only a style shift.
//!
//! `severity` in `[0, 1]` moves the target from the source domain (0) to the
//! full shift (1). Every tunable number is in [`params`]. An example is a
//! pure function of `(domain, split, index, seed, severity, size)`, so a
//! [`SynthDataset`] needs no disk and any example can be regenerated alone.
//!
//! ```
//! use sfda_core::data::{Domain, Split, SynthSpec};
//! let spec = SynthSpec::new(Domain::Target, Split::Val, 10).with_seed(3);
//! let a = spec.sample(7).unwrap();
//! assert_eq!((a.image.width, a.image.height), (256, 128));
//! assert_eq!(a, spec.sample(7).unwrap()); // deterministic
//! ```

pub mod canvas;
pub mod dataset;
pub mod export;
pub mod noise;
pub mod paint;
pub mod params;
pub mod post;
pub mod scene;
pub mod shade;
pub mod spec;

pub use dataset::SynthDataset;
pub use export::{write_cityscapes, SynthExport};
pub use spec::{generate, Domain, Split, SynthSpec};

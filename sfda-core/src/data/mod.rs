//! Data: everything between files (or the procedural generator) and the
//! host batches the training loops upload to a backend. Backend-neutral:
//! images are `Vec<f32>` CHW, labels `Vec<u8>` of Cityscapes train ids
//! (255 = ignore).
//!
//! - [`classes`] and [`ids`]: class sets (19/16/13) and raw-id tables.
//! - [`Dataset`] and [`Layout`]: one reader per layout ([`layouts`]:
//!   cityscapes, gta5, synthia, nthu, folder) plus the embedded
//!   [`synth`] benchmark; [`open_dataset`] picks one by name.
//! - [`Transform`] and [`DataLoader`]: resize, crop, flip, normalise;
//!   shuffled, parallel, streamed [`Batch`]es.
//! - [`DatasetStats`]: per-class pixel frequencies and image counts.
//! - [`viz`]: the Cityscapes palette and picture grids; [`png_out`]:
//!   atomic PNG writing.

pub mod classes;
pub mod dataset;
pub mod decode;
pub mod fs;
pub mod ids;
pub mod layouts;
pub mod loader;
pub mod png_out;
pub mod raster;
pub mod resize;
pub mod sample;
pub mod stats;
pub mod strong_view;
pub mod synth;
pub mod transform;
pub mod viz;

pub use classes::{ClassSet, IGNORE, NUM_TRAIN_IDS, TRAIN_ID_NAMES};
pub use dataset::{Dataset, Layout};
pub use decode::{read_image, read_label_png, LabelEncoding};
pub use layouts::{open_dataset, open_dataset_with, FileDataset, FileItem, LabelSpec};
pub use loader::{Batches, DataLoader, LoaderConfig, Stream};
pub use png_out::{save_gray_png, save_rgb_png, write_atomic, write_png_raw, PngPixels};
pub use raster::{LabelMap, RgbImage};
pub use resize::{resize_bilinear, resize_nearest};
pub use sample::{Batch, Sample};
pub use stats::DatasetStats;
pub use strong_view::strong_view;
pub use synth::{write_cityscapes, Domain, Split, SynthDataset, SynthExport, SynthSpec};
pub use transform::{Normalize, Transform};
pub use viz::{colorize, prediction_grid, Grid, CITYSCAPES_PALETTE};

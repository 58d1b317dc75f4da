//! Readers of the on-disk dataset layouts. Each layout only lists its files
//! into [`FileDataset`] items (image path, optional label path); decoding,
//! id mapping and size checks are shared.

pub mod cityscapes;
pub mod file_dataset;
pub mod flat;
pub mod folder;
pub mod gta5;
pub mod nthu;
pub mod synthia;

pub use file_dataset::{FileDataset, FileItem, LabelSpec};

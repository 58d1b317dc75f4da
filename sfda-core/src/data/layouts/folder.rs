//! A plain folder: images in `images/` (or in the root itself) and optional
//! label PNGs of train ids in `labels/<stem>.png`.

use std::path::Path;

use crate::data::classes::ClassSet;
use crate::data::dataset::Layout;
use crate::data::decode::LabelEncoding;
use crate::data::ids::train_id_table;
use crate::data::layouts::file_dataset::{FileDataset, LabelSpec};
use crate::data::layouts::flat::flat_items;
use crate::error::Result;

/// Reads a folder of images (+ `labels/` of train ids when present).
pub fn open(root: &Path, split: Option<&str>) -> Result<FileDataset> {
    let sub = root.join("images");
    let images = if sub.is_dir() {
        sub
    } else {
        root.to_path_buf()
    };
    let labels = root.join("labels");
    let items = flat_items(root, Layout::Folder, &images, Some(&labels), ".png", split)?;
    Ok(FileDataset::new(
        Layout::Folder,
        format!("folder {}", root.display()),
        items,
        LabelSpec {
            encoding: LabelEncoding::Single,
            table: train_id_table(),
        },
        ClassSet::Cityscapes19,
    ))
}

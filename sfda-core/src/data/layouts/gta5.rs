//! GTA5 (Richter et al. 2016): `images/*.png` and `labels/*.png` (same file
//! names; palette PNGs whose indices are Cityscapes label ids).

use std::path::Path;

use crate::data::classes::ClassSet;
use crate::data::dataset::Layout;
use crate::data::decode::LabelEncoding;
use crate::data::fs::require_dir;
use crate::data::ids::cityscapes_table;
use crate::data::layouts::file_dataset::{FileDataset, LabelSpec};
use crate::data::layouts::flat::flat_items;
use crate::error::Result;

/// Reads a GTA5 tree; labels are optional (no `labels/` = unlabelled).
pub fn open(root: &Path, split: Option<&str>) -> Result<FileDataset> {
    let images = root.join("images");
    require_dir(
        &images,
        root,
        Layout::Gta5,
        "images/ and labels/ under the root",
    )?;
    let labels = root.join("labels");
    let items = flat_items(root, Layout::Gta5, &images, Some(&labels), ".png", split)?;
    Ok(FileDataset::new(
        Layout::Gta5,
        format!("gta5 at {}", root.display()),
        items,
        LabelSpec {
            encoding: LabelEncoding::Single,
            table: cityscapes_table(),
        },
        ClassSet::Cityscapes19,
    ))
}

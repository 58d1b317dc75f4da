//! SYNTHIA-RAND-CITYSCAPES (Ros et al. 2016): `RGB/*.png` and
//! `GT/LABELS/*.png`, 16-bit PNGs whose first channel holds SYNTHIA's own
//! class ids. Evaluated on 16 (or 13) classes.

use std::path::Path;

use crate::data::classes::ClassSet;
use crate::data::dataset::Layout;
use crate::data::decode::LabelEncoding;
use crate::data::fs::require_dir;
use crate::data::ids::synthia_table;
use crate::data::layouts::file_dataset::{FileDataset, LabelSpec};
use crate::data::layouts::flat::flat_items;
use crate::error::Result;

/// Reads a SYNTHIA-RAND-CITYSCAPES tree; labels optional (no `GT/LABELS/`).
pub fn open(root: &Path, split: Option<&str>) -> Result<FileDataset> {
    let images = root.join("RGB");
    require_dir(
        &images,
        root,
        Layout::Synthia,
        "RGB/ and GT/LABELS/ under the root",
    )?;
    let labels = root.join("GT").join("LABELS");
    let items = flat_items(root, Layout::Synthia, &images, Some(&labels), ".png", split)?;
    Ok(FileDataset::new(
        Layout::Synthia,
        format!("synthia at {}", root.display()),
        items,
        LabelSpec {
            encoding: LabelEncoding::FirstChannel,
            table: synthia_table(),
        },
        ClassSet::Synthia16,
    ))
}

//! Cityscapes (Cordts et al. 2016):
//! `leftImg8bit/<split>/<city>/<stem>_leftImg8bit.png` with labels in
//! `gtFine/<split>/<city>/<stem>_gtFine_labelIds.png` (label ids → train ids).
//! A split without a `gtFine/<split>` folder is read unlabelled.

use std::path::Path;

use crate::data::classes::ClassSet;
use crate::data::dataset::Layout;
use crate::data::decode::LabelEncoding;
use crate::data::fs::{list_images, list_subdirs, no_images, replace_suffix, require_dir};
use crate::data::ids::cityscapes_table;
use crate::data::layouts::file_dataset::{FileDataset, FileItem, LabelSpec};
use crate::error::{Error, Result};

/// Suffix of Cityscapes image files.
pub const IMAGE_SUFFIX: &str = "_leftImg8bit.png";
/// Suffix of Cityscapes label-id files.
pub const LABEL_SUFFIX: &str = "_gtFine_labelIds.png";

/// Reads a Cityscapes tree; `split: None` reads every split present.
pub fn open(root: &Path, split: Option<&str>) -> Result<FileDataset> {
    let img_root = root.join("leftImg8bit");
    require_dir(
        &img_root,
        root,
        Layout::Cityscapes,
        "leftImg8bit/<split>/<city>/*_leftImg8bit.png under the root",
    )?;
    let splits: Vec<String> = match split {
        Some(s) => vec![s.to_string()],
        None => list_subdirs(&img_root)?
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect(),
    };
    if splits.is_empty() {
        return Err(no_images(&img_root, root, Layout::Cityscapes));
    }
    let mut items = Vec::new();
    for s in &splits {
        let dir = img_root.join(s);
        if !dir.is_dir() {
            let have: Vec<String> = list_subdirs(&img_root)?
                .iter()
                .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .collect();
            return Err(Error::Data {
                path: dir,
                msg: format!(
                    "split '{s}' not found; splits present: {}",
                    if have.is_empty() {
                        "none".to_string()
                    } else {
                        have.join(", ")
                    }
                ),
            });
        }
        let gt_dir = root.join("gtFine").join(s);
        let labelled = gt_dir.is_dir();
        for city in list_subdirs(&dir)? {
            let city_name = city.file_name().unwrap_or_default().to_owned();
            for image in list_images(&city)? {
                let raw = image.file_name().unwrap_or_default();
                let Some(label_file) = replace_suffix(raw, IMAGE_SUFFIX, LABEL_SUFFIX) else {
                    continue;
                };
                let file = raw.to_string_lossy();
                let stem = file.strip_suffix(IMAGE_SUFFIX).unwrap_or(&file);
                let label = labelled.then(|| gt_dir.join(&city_name).join(&label_file));
                if let Some(l) = &label {
                    if !l.is_file() {
                        return Err(Error::Data {
                            path: l.clone(),
                            msg: format!(
                                "label file missing for image {}; gtFine/{s} exists, so every \
                                 image of the split needs its *_gtFine_labelIds.png",
                                image.display()
                            ),
                        });
                    }
                }
                items.push(FileItem {
                    name: stem.to_string(),
                    image,
                    label,
                });
            }
        }
    }
    if items.is_empty() {
        return Err(no_images(&img_root, root, Layout::Cityscapes));
    }
    Ok(FileDataset::new(
        Layout::Cityscapes,
        format!(
            "cityscapes at {} (split {})",
            root.display(),
            splits.join("+")
        ),
        items,
        LabelSpec {
            encoding: LabelEncoding::Single,
            table: cityscapes_table(),
        },
        ClassSet::Cityscapes19,
    ))
}

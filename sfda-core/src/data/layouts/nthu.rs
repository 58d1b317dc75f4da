//! NTHU cross-city (Chen et al. 2017), one city folder (Rome, Rio, Tokyo,
//! Taipei): `Images/Train/*` (unlabelled), `Images/Test/*` with labels
//! `Labels/Test/<stem>_eval.png` in Cityscapes label ids of its 13 classes.

use std::path::Path;

use crate::data::classes::ClassSet;
use crate::data::dataset::Layout;
use crate::data::decode::LabelEncoding;
use crate::data::fs::{list_images, list_subdirs, no_images, require_dir, stem};
use crate::data::ids::nthu_table;
use crate::data::layouts::file_dataset::{FileDataset, FileItem, LabelSpec};
use crate::error::{Error, Result};

/// Suffix of NTHU label files.
pub const LABEL_SUFFIX: &str = "_eval.png";

fn split_folder(split: &str) -> Result<&'static str> {
    match split.to_ascii_lowercase().as_str() {
        "train" => Ok("Train"),
        "test" | "val" => Ok("Test"),
        _ => Err(Error::Config {
            key: "split".into(),
            msg: format!("NTHU has splits 'train' and 'test' (alias 'val'), not '{split}'"),
        }),
    }
}

/// Reads one NTHU city; `split: None` reads Train and Test.
pub fn open(root: &Path, split: Option<&str>) -> Result<FileDataset> {
    let images_root = root.join("Images");
    if !images_root.is_dir() {
        let cities: Vec<String> = list_subdirs(root)?
            .iter()
            .filter(|p| p.join("Images").is_dir())
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        if !cities.is_empty() {
            return Err(Error::Data {
                path: root.to_path_buf(),
                msg: format!(
                    "this is the NTHU root; point at one city folder, e.g. {}",
                    root.join(&cities[0]).display()
                ),
            });
        }
    }
    require_dir(
        &images_root,
        root,
        Layout::Nthu,
        "Images/{Train,Test}/ (and Labels/Test/) in a city folder",
    )?;
    let folders: Vec<&str> = match split {
        Some(s) => vec![split_folder(s)?],
        None => ["Train", "Test"]
            .into_iter()
            .filter(|f| images_root.join(f).is_dir())
            .collect(),
    };
    let mut items = Vec::new();
    for f in &folders {
        let dir = images_root.join(f);
        require_dir(&dir, root, Layout::Nthu, "Images/Train and Images/Test")?;
        let label_dir = root.join("Labels").join(f);
        let labelled = label_dir.is_dir();
        for image in list_images(&dir)? {
            let name = stem(&image);
            let label = labelled.then(|| {
                let mut file = image.file_stem().unwrap_or_default().to_os_string();
                file.push(LABEL_SUFFIX);
                label_dir.join(file)
            });
            if let Some(l) = &label {
                if !l.is_file() {
                    return Err(Error::Data {
                        path: l.clone(),
                        msg: format!("label file missing for image {}", image.display()),
                    });
                }
            }
            items.push(FileItem { name, image, label });
        }
    }
    if items.is_empty() {
        return Err(no_images(&images_root, root, Layout::Nthu));
    }
    Ok(FileDataset::new(
        Layout::Nthu,
        format!("nthu at {} (split {})", root.display(), folders.join("+")),
        items,
        LabelSpec {
            encoding: LabelEncoding::Single,
            table: nthu_table(),
        },
        ClassSet::Nthu13,
    ))
}

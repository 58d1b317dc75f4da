//! Shared listing for "flat" layouts (GTA5, SYNTHIA, folder): one folder of
//! images, labels in another folder under the same stem, and optional split
//! lists `<root>/<split>.txt`.

use std::path::Path;

use crate::data::dataset::Layout;
use crate::data::fs::{list_images, no_images, read_split_list, stem};
use crate::data::layouts::file_dataset::FileItem;
use crate::error::{Error, Result};

/// Lists `image_dir`'s images, pairs each with `label_dir/<stem><label_suffix>`
/// when `label_dir` exists (a missing label file is then an error), and
/// filters by the split list when one applies.
pub fn flat_items(
    root: &Path,
    layout: Layout,
    image_dir: &Path,
    label_dir: Option<&Path>,
    label_suffix: &str,
    split: Option<&str>,
) -> Result<Vec<FileItem>> {
    let images = list_images(image_dir)?;
    if images.is_empty() {
        return Err(no_images(image_dir, root, layout));
    }
    let label_dir = label_dir.filter(|d| d.is_dir());
    let mut items: Vec<FileItem> = images
        .into_iter()
        .map(|image| {
            let name = stem(&image);
            // Built from the raw file stem, so a non-UTF-8 name finds its label.
            let label = label_dir.map(|d| {
                let mut file = image.file_stem().unwrap_or_default().to_os_string();
                file.push(label_suffix);
                d.join(file)
            });
            FileItem { name, image, label }
        })
        .collect();
    if let Some(split) = split {
        let list = root.join(format!("{split}.txt"));
        if list.is_file() {
            let wanted = read_split_list(&list)?;
            let by_name: std::collections::HashMap<&str, usize> = items
                .iter()
                .enumerate()
                .map(|(i, it)| (it.name.as_str(), i))
                .collect();
            let mut picked = Vec::with_capacity(wanted.len());
            for w in &wanted {
                let i = by_name.get(w.as_str()).ok_or_else(|| Error::Data {
                    path: list.clone(),
                    msg: format!(
                        "split list names '{w}' but {} has no such image",
                        image_dir.display()
                    ),
                })?;
                picked.push(items[*i].clone());
            }
            items = picked;
        } else if !matches!(split, "train" | "all") {
            return Err(Error::Data {
                path: list,
                msg: format!(
                    "split list not found; the {} layout has no built-in '{split}' split: \
                     write one image name per line there, or pass --split all",
                    layout.name()
                ),
            });
        }
    }
    if items.is_empty() {
        return Err(no_images(image_dir, root, layout));
    }
    for it in &items {
        if let Some(l) = &it.label {
            if !l.is_file() {
                return Err(Error::Data {
                    path: l.clone(),
                    msg: format!(
                        "label file missing for image {}; every image needs its label \
                         once the labels folder exists",
                        it.image.display()
                    ),
                });
            }
        }
    }
    Ok(items)
}

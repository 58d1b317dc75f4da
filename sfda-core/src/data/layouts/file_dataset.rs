//! [`FileDataset`]: a list of image files with optional label files, decoded
//! on demand, labels mapped through an id table and checked against their
//! image's size.

use std::path::PathBuf;
use std::sync::Arc;

use crate::data::classes::ClassSet;
use crate::data::dataset::{Dataset, Layout};
use crate::data::decode::{read_image, read_label_png, LabelEncoding};
use crate::data::ids::{IdTable, UnmappedIds};
use crate::data::sample::Sample;
use crate::error::{Error, Result};

/// One example on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileItem {
    /// Unique name (file stem).
    pub name: String,
    /// The image file.
    pub image: PathBuf,
    /// The label file, when the example is labelled.
    pub label: Option<PathBuf>,
}

/// Makes every item's name unique, as outputs named after it (`predict`'s
/// `<name>_pred.png`) need: names shared by several files (`a.png` and
/// `a.jpg`; non-UTF-8 names that read the same once made printable) become
/// the file name with its extension, then get `~2`, `~3`... if still shared.
pub fn make_names_unique(items: &mut [FileItem]) {
    use std::collections::{HashMap, HashSet};
    let mut count: HashMap<String, usize> = HashMap::new();
    for it in items.iter() {
        *count.entry(it.name.clone()).or_default() += 1;
    }
    if count.values().all(|&n| n == 1) {
        return;
    }
    for it in items.iter_mut() {
        if count[&it.name] > 1 {
            if let Some(f) = it.image.file_name() {
                it.name = f.to_string_lossy().into_owned();
            }
        }
    }
    let mut used = HashSet::new();
    for it in items.iter_mut() {
        if !used.insert(it.name.clone()) {
            let base = it.name.clone();
            // Bounded by the number of items: each try takes a new suffix.
            let mut k = 2usize;
            while !used.insert(format!("{base}~{k}")) {
                k += 1;
            }
            it.name = format!("{base}~{k}");
        }
    }
}

/// How label files are stored and mapped to train ids.
#[derive(Debug, Clone)]
pub struct LabelSpec {
    /// How the PNG holds the ids.
    pub encoding: LabelEncoding,
    /// Raw id → train id.
    pub table: IdTable,
}

/// A dataset of files on disk (every real layout).
#[derive(Debug, Clone)]
pub struct FileDataset {
    layout: Layout,
    description: String,
    items: Vec<FileItem>,
    labels: LabelSpec,
    class_set: ClassSet,
    unmapped: Arc<UnmappedIds>,
}

impl FileDataset {
    /// A dataset over `items`. `description` is shown by `describe`.
    pub fn new(
        layout: Layout,
        description: String,
        items: Vec<FileItem>,
        labels: LabelSpec,
        class_set: ClassSet,
    ) -> Self {
        let mut items = items;
        make_names_unique(&mut items);
        FileDataset {
            layout,
            description,
            items,
            labels,
            class_set,
            unmapped: Arc::default(),
        }
    }

    /// The same dataset with unknown raw label ids refused (`true`) or
    /// mapped to ignore and counted (`false`, the layouts' default); PNGs of
    /// train ids are always strict.
    pub fn with_strict_labels(mut self, strict: bool) -> Self {
        if strict {
            self.labels.table = self.labels.table.strict(true);
        }
        self
    }

    /// The listed files.
    pub fn items(&self) -> &[FileItem] {
        &self.items
    }
}

impl Dataset for FileDataset {
    fn layout(&self) -> Layout {
        self.layout
    }

    fn len(&self) -> usize {
        self.items.len()
    }

    fn name(&self, index: usize) -> String {
        self.items[index].name.clone()
    }

    fn load(&self, index: usize) -> Result<Sample> {
        let mut sample = self.load_image(index)?;
        let item = &self.items[index]; // in range: load_image checked it
        if let Some(path) = &item.label {
            let mut map = read_label_png(path, self.labels.encoding)?;
            if (map.width, map.height) != (sample.image.width, sample.image.height) {
                return Err(Error::Data {
                    path: path.clone(),
                    msg: format!(
                        "label is {}x{} but its image {} is {}x{}; labels must match \
                         their image pixel for pixel (re-export the label or drop the pair)",
                        map.width,
                        map.height,
                        item.image.display(),
                        sample.image.width,
                        sample.image.height
                    ),
                });
            }
            self.labels
                .table
                .apply(&mut map.data, map.width as usize, path, &self.unmapped)?;
            sample.label = Some(map);
        }
        Ok(sample)
    }

    fn load_image(&self, index: usize) -> Result<Sample> {
        let item = self.items.get(index).ok_or_else(|| {
            Error::msg(format!(
                "index {index} out of range for {} ({} images)",
                self.description,
                self.items.len()
            ))
        })?;
        Ok(Sample {
            name: item.name.clone(),
            image: read_image(&item.image)?,
            label: None,
        })
    }

    fn has_labels(&self) -> bool {
        !self.items.is_empty() && self.items.iter().all(|i| i.label.is_some())
    }

    fn class_set(&self) -> ClassSet {
        self.class_set
    }

    fn unmapped_labels(&self) -> Vec<(u8, u64)> {
        self.unmapped.snapshot()
    }

    fn describe(&self) -> String {
        format!(
            "{} ({} images{})",
            self.description,
            self.items.len(),
            if self.has_labels() {
                ", labelled"
            } else {
                ", unlabelled"
            }
        )
    }
}

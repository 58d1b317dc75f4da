//! Readers of the on-disk dataset layouts. Each layout only lists its files
//! into [`FileDataset`] items (image path, optional label path); decoding,
//! id mapping and size checks are shared. [`open_dataset`] picks the reader
//! of a [`Layout`] (the layouts depend on `data/dataset.rs`, never the other
//! way round).

use std::path::Path;
use std::sync::Arc;

use crate::data::dataset::{Dataset, Layout};
use crate::{Error, Result};

pub mod cityscapes;
pub mod file_dataset;
pub mod flat;
pub mod folder;
pub mod gta5;
pub mod nthu;
pub mod synthia;

pub use file_dataset::{FileDataset, FileItem, LabelSpec};

/// Opens the dataset of `layout` under `root`. `split` picks a split
/// (`train`, `val`, ...); `None` takes every split present. For layouts
/// without official splits (GTA5, SYNTHIA, folder) a split is read from
/// `<root>/<split>.txt` when that file exists, else every image is used.
///
/// The `synth` layout lives in memory: build a
/// [`SynthDataset`](crate::data::SynthDataset) instead.
pub fn open_dataset(layout: Layout, root: &Path, split: Option<&str>) -> Result<Arc<dyn Dataset>> {
    open_dataset_with(layout, root, split, false)
}

/// [`open_dataset`] with `strict_labels`: a raw label id outside the
/// layout's table is an error naming the file and pixel instead of ignore.
pub fn open_dataset_with(
    layout: Layout,
    root: &Path,
    split: Option<&str>,
    strict_labels: bool,
) -> Result<Arc<dyn Dataset>> {
    if !root.is_dir() {
        return Err(Error::Data {
            path: root.to_path_buf(),
            msg: if root.exists() {
                "dataset root is not a folder".into()
            } else {
                "dataset root not found; check the path".into()
            },
        });
    }
    let ds = match layout {
        Layout::Cityscapes => cityscapes::open(root, split)?,
        Layout::Gta5 => gta5::open(root, split)?,
        Layout::Synthia => synthia::open(root, split)?,
        Layout::Nthu => nthu::open(root, split)?,
        Layout::Folder => folder::open(root, split)?,
        Layout::Synth => {
            return Err(Error::Config {
                key: "layout".into(),
                msg: "the synth layout is generated in memory and has no folder: build a \
                      SynthDataset, or write it with `sfda data synth --out DIR` and read DIR \
                      with --layout cityscapes"
                    .into(),
            })
        }
    };
    Ok(Arc::new(ds.with_strict_labels(strict_labels)))
}

//! The [`Dataset`] trait every layout implements, the [`Layout`] names the
//! command line accepts, and [`open_dataset`](crate::data::open_dataset), which builds the reader of a
//! layout over a folder.

use std::fmt;
use std::str::FromStr;

use crate::data::classes::ClassSet;
use crate::data::sample::Sample;
use crate::error::{Error, Result};

/// An indexable set of examples, decoded on demand (never all in memory).
pub trait Dataset: Send + Sync {
    /// The layout this dataset was read with.
    fn layout(&self) -> Layout;
    /// Number of examples.
    fn len(&self) -> usize;
    /// Whether there is no example.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The unique name of example `index` (a file stem).
    fn name(&self, index: usize) -> String;
    /// Decodes example `index` with its labels, when the dataset has them.
    fn load(&self, index: usize) -> Result<Sample>;
    /// Decodes example `index` without touching its labels (for
    /// unlabelled use, e.g. adaptation on target images).
    fn load_image(&self, index: usize) -> Result<Sample> {
        let mut s = self.load(index)?;
        s.label = None;
        Ok(s)
    }
    /// Whether examples come with labels.
    fn has_labels(&self) -> bool;
    /// The class set results on this dataset are reported on.
    fn class_set(&self) -> ClassSet;
    /// A one-line description (layout, root, split, size).
    fn describe(&self) -> String;
    /// Pixels of raw label ids outside the layout's id table that were
    /// mapped to ignore by the loads so far, per raw id (see
    /// [`crate::data::ids`]); empty for datasets that cannot have any.
    fn unmapped_labels(&self) -> Vec<(u8, u64)> {
        Vec::new()
    }
}

/// Names of the dataset layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// `leftImg8bit/<split>/<city>/*_leftImg8bit.png` + `gtFine/<split>/<city>/*_gtFine_labelIds.png`.
    Cityscapes,
    /// `images/*.png` + `labels/*.png` (palette PNGs of Cityscapes label ids).
    Gta5,
    /// SYNTHIA-RAND-CITYSCAPES: `RGB/*.png` + `GT/LABELS/*.png` (16-bit, own ids).
    Synthia,
    /// NTHU cross-city, one city: `Images/{Train,Test}/*` + `Labels/Test/*_eval.png`.
    Nthu,
    /// A plain folder: `images/*` (or the root itself) + optional `labels/<stem>.png` of train ids.
    Folder,
    /// The embedded procedural benchmark, generated in memory.
    Synth,
}

impl Layout {
    /// Every layout.
    pub const ALL: [Layout; 6] = [
        Layout::Cityscapes,
        Layout::Gta5,
        Layout::Synthia,
        Layout::Nthu,
        Layout::Folder,
        Layout::Synth,
    ];

    /// The layout's command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Cityscapes => "cityscapes",
            Layout::Gta5 => "gta5",
            Layout::Synthia => "synthia",
            Layout::Nthu => "nthu",
            Layout::Folder => "folder",
            Layout::Synth => "synth",
        }
    }

    /// The class set results on this layout are reported on by default.
    pub fn default_class_set(self) -> ClassSet {
        match self {
            Layout::Synthia => ClassSet::Synthia16,
            Layout::Nthu => ClassSet::Nthu13,
            _ => ClassSet::Cityscapes19,
        }
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Layout {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let norm = s.trim().to_ascii_lowercase();
        Layout::ALL
            .into_iter()
            .find(|l| l.name() == norm)
            .ok_or_else(|| Error::Config {
                key: "layout".into(),
                msg: format!(
                    "unknown layout '{s}'; valid layouts: {}",
                    Layout::ALL.map(Layout::name).join(", ")
                ),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_names_roundtrip_and_errors_list_valid_names() {
        for l in Layout::ALL {
            assert_eq!(l.name().parse::<Layout>().unwrap(), l);
        }
        let e = "kitti".parse::<Layout>().unwrap_err().to_string();
        assert!(
            e.contains("kitti") && e.contains("cityscapes, gta5, synthia, nthu, folder, synth")
        );
    }
}

//! Class sets: Cityscapes' 19 train ids and the 16- and 13-class subsets used
//! to evaluate SYNTHIA→Cityscapes and Cityscapes→NTHU adaptation.
//!
//! Every label map in sfda holds the 19 Cityscapes train ids (`0..19`) or
//! [`IGNORE`]. A [`ClassSet`] names which of those ids a table reports; the
//! 13/16-class confusion in published SYNTHIA results is a known source of
//! wrong numbers, so every metrics table names its set.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The label value of pixels that are not evaluated (void, unlabelled, ego car).
pub const IGNORE: u8 = 255;

/// Number of Cityscapes train ids.
pub const NUM_TRAIN_IDS: usize = 19;

/// Names of the 19 Cityscapes train ids, in id order.
pub const TRAIN_ID_NAMES: [&str; NUM_TRAIN_IDS] = [
    "road",
    "sidewalk",
    "building",
    "wall",
    "fence",
    "pole",
    "traffic light",
    "traffic sign",
    "vegetation",
    "terrain",
    "sky",
    "person",
    "rider",
    "car",
    "truck",
    "bus",
    "train",
    "motorcycle",
    "bicycle",
];

const ALL_19: [u8; 19] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
];
/// SYNTHIA's 16 classes: the 19 without terrain, truck and train.
const SYNTHIA_16: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 15, 17, 18];
/// The 13-class set: the 16 without wall, fence and pole (SYNTHIA-13, NTHU).
const SET_13: [u8; 13] = [0, 1, 2, 6, 7, 8, 10, 11, 12, 13, 15, 17, 18];

/// A set of evaluated classes, each a subset of the 19 Cityscapes train ids.
///
/// ```
/// use sfda_core::data::ClassSet;
/// let set: ClassSet = "synthia13".parse().unwrap();
/// assert_eq!(set.len(), 13);
/// assert_eq!(set.index_of(13), Some(9)); // car is the 10th of the 13
/// assert_eq!(set.index_of(5), None); // pole is not evaluated
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClassSet {
    /// All 19 Cityscapes train ids (GTA5→Cityscapes).
    Cityscapes19,
    /// SYNTHIA→Cityscapes, 16 classes (no terrain, truck, train).
    Synthia16,
    /// SYNTHIA→Cityscapes, 13 classes (also no wall, fence, pole).
    Synthia13,
    /// Cityscapes→NTHU cross-city, the 13 annotated classes (same ids as `Synthia13`).
    Nthu13,
}

impl ClassSet {
    /// Every class set, in a stable order.
    pub const ALL: [ClassSet; 4] = [
        ClassSet::Cityscapes19,
        ClassSet::Synthia16,
        ClassSet::Synthia13,
        ClassSet::Nthu13,
    ];

    /// The set's short name (`cityscapes19`, `synthia16`, `synthia13`, `nthu13`).
    pub fn name(self) -> &'static str {
        match self {
            ClassSet::Cityscapes19 => "cityscapes19",
            ClassSet::Synthia16 => "synthia16",
            ClassSet::Synthia13 => "synthia13",
            ClassSet::Nthu13 => "nthu13",
        }
    }

    /// A one-line description for table headers.
    pub fn describe(self) -> &'static str {
        match self {
            ClassSet::Cityscapes19 => "Cityscapes 19 classes",
            ClassSet::Synthia16 => "SYNTHIA 16 classes (no terrain, truck, train)",
            ClassSet::Synthia13 => {
                "SYNTHIA 13 classes (no terrain, truck, train, wall, fence, pole)"
            }
            ClassSet::Nthu13 => "NTHU cross-city 13 classes",
        }
    }

    /// The train ids (of the 19) in this set, in reporting order.
    pub fn train_ids(self) -> &'static [u8] {
        match self {
            ClassSet::Cityscapes19 => &ALL_19,
            ClassSet::Synthia16 => &SYNTHIA_16,
            ClassSet::Synthia13 | ClassSet::Nthu13 => &SET_13,
        }
    }

    /// Number of classes in the set.
    pub fn len(self) -> usize {
        self.train_ids().len()
    }

    /// Always `false`: no class set is empty (here for clippy's `len` rule).
    pub fn is_empty(self) -> bool {
        false
    }

    /// Class names in reporting order.
    pub fn class_names(self) -> Vec<&'static str> {
        self.train_ids()
            .iter()
            .map(|&t| TRAIN_ID_NAMES[t as usize])
            .collect()
    }

    /// Position of a 19-class train id in this set (`None` when not evaluated).
    pub fn index_of(self, train_id: u8) -> Option<usize> {
        self.train_ids().iter().position(|&t| t == train_id)
    }

    /// Whether the set evaluates `train_id`.
    pub fn contains(self, train_id: u8) -> bool {
        self.index_of(train_id).is_some()
    }

    /// A 256-entry table from 19-class train ids to this set's indices
    /// (ids outside the set and [`IGNORE`] map to [`IGNORE`]).
    pub fn remap_table(self) -> [u8; 256] {
        let mut t = [IGNORE; 256];
        for (i, &id) in self.train_ids().iter().enumerate() {
            t[id as usize] = i as u8;
        }
        t
    }

    /// Rewrites a 19-class label map into this set's indices in place, for
    /// models trained with only this set's outputs.
    pub fn remap_labels(self, labels: &mut [u8]) {
        let t = self.remap_table();
        for v in labels {
            *v = t[*v as usize];
        }
    }
}

impl fmt::Display for ClassSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ClassSet {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let norm = s.trim().to_ascii_lowercase().replace(['-', '_'], "");
        let found = match norm.as_str() {
            "cityscapes19" | "cityscapes" | "19" => Some(ClassSet::Cityscapes19),
            "synthia16" | "16" => Some(ClassSet::Synthia16),
            "synthia13" | "13" => Some(ClassSet::Synthia13),
            "nthu13" | "nthu" => Some(ClassSet::Nthu13),
            _ => None,
        };
        found.ok_or_else(|| Error::Config {
            key: "class_set".into(),
            msg: format!(
                "unknown class set '{s}'; valid: cityscapes19, synthia16, synthia13, nthu13"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsets_are_sorted_subsets_of_19() {
        for set in ClassSet::ALL {
            let ids = set.train_ids();
            assert!(ids.windows(2).all(|w| w[0] < w[1]));
            assert!(ids.iter().all(|&i| (i as usize) < NUM_TRAIN_IDS));
            assert_eq!(set.name().parse::<ClassSet>().unwrap(), set);
        }
        assert_eq!(ClassSet::Synthia16.len(), 16);
        assert!(!ClassSet::Synthia16.contains(9));
        assert!(!ClassSet::Synthia13.contains(5));
        assert!("synthia12".parse::<ClassSet>().is_err());
    }

    #[test]
    fn remap_maps_outside_ids_to_ignore() {
        let mut l = vec![0, 3, 9, 13, 255, 18];
        ClassSet::Synthia13.remap_labels(&mut l);
        assert_eq!(l, vec![0, 255, 255, 9, 255, 12]);
    }
}

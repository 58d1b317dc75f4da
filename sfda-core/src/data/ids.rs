//! Label id tables: how each dataset's raw label ids map to the 19 Cityscapes
//! train ids. The tables are the standard ones (cityscapesScripts'
//! `labels.py`; the SYNTHIA table of AdaptSegNet/MaxSquare; the NTHU table of
//! the cross-city code). A raw id outside a table's known range is an error,
//! not a silent ignore: it usually means the wrong `--layout`.

use std::path::Path;

use crate::data::classes::{IGNORE, NUM_TRAIN_IDS};
use crate::error::{Error, Result};

/// A raw-id → train-id table.
#[derive(Debug, Clone)]
pub struct IdTable {
    /// Name used in error messages (`cityscapes labelIds`, `synthia`...).
    pub name: &'static str,
    /// Human-readable range of valid raw ids, for error messages.
    pub valid_desc: &'static str,
    map: [u8; 256],
    known: [bool; 256],
}

impl IdTable {
    /// Builds a table from `(raw, train)` pairs; raw ids in `0..=max_known`
    /// not listed map to [`IGNORE`], `255` is always ignore, all others unknown.
    pub fn new(
        name: &'static str,
        valid_desc: &'static str,
        pairs: &[(u8, u8)],
        max_known: u8,
    ) -> Self {
        let mut map = [IGNORE; 256];
        let mut known = [false; 256];
        for k in known.iter_mut().take(max_known as usize + 1) {
            *k = true;
        }
        known[IGNORE as usize] = true;
        for &(raw, train) in pairs {
            map[raw as usize] = train;
            known[raw as usize] = true;
        }
        IdTable {
            name,
            valid_desc,
            map,
            known,
        }
    }

    /// The train id of `raw`, `None` when `raw` is not a known id.
    pub fn get(&self, raw: u8) -> Option<u8> {
        self.known[raw as usize].then_some(self.map[raw as usize])
    }

    /// Maps a raw label map of width `width` in place; an unknown id is an
    /// error naming `path`, the pixel and the valid range.
    pub fn apply(&self, raw: &mut [u8], width: usize, path: &Path) -> Result<()> {
        for (i, v) in raw.iter_mut().enumerate() {
            match self.get(*v) {
                Some(t) => *v = t,
                None => {
                    return Err(Error::Data {
                        path: path.to_path_buf(),
                        msg: format!(
                            "unknown label id {} at pixel (x={}, y={}); {} ids are {} \
                             (255 = ignore). Is this the right --layout?",
                            v,
                            i % width.max(1),
                            i / width.max(1),
                            self.name,
                            self.valid_desc
                        ),
                    })
                }
            }
        }
        Ok(())
    }
}

/// Cityscapes `labelId → trainId` pairs of cityscapesScripts' `labels.py`
/// (ids 0–33; unlisted ones such as parking, rail track, guard rail, caravan
/// and trailer are ignored).
pub const CITYSCAPES_LABEL_TO_TRAIN: [(u8, u8); 19] = [
    (7, 0),
    (8, 1),
    (11, 2),
    (12, 3),
    (13, 4),
    (17, 5),
    (19, 6),
    (20, 7),
    (21, 8),
    (22, 9),
    (23, 10),
    (24, 11),
    (25, 12),
    (26, 13),
    (27, 14),
    (28, 15),
    (31, 16),
    (32, 17),
    (33, 18),
];

/// SYNTHIA-RAND-CITYSCAPES own id → train id (AdaptSegNet/MaxSquare table).
/// SYNTHIA ids: 0 void, 1 sky, 2 building, 3 road, 4 sidewalk, 5 fence,
/// 6 vegetation, 7 pole, 8 car, 9 traffic sign, 10 pedestrian, 11 bicycle,
/// 12 motorcycle, 13 parking slot, 14 road work, 15 traffic light,
/// 16 terrain, 17 rider, 18 truck, 19 bus, 20 train, 21 wall, 22 lane marking.
pub const SYNTHIA_TO_TRAIN: [(u8, u8); 19] = [
    (3, 0),
    (4, 1),
    (2, 2),
    (21, 3),
    (5, 4),
    (7, 5),
    (15, 6),
    (9, 7),
    (6, 8),
    (16, 9),
    (1, 10),
    (10, 11),
    (17, 12),
    (8, 13),
    (18, 14),
    (19, 15),
    (20, 16),
    (12, 17),
    (11, 18),
];

/// NTHU cross-city labels are Cityscapes label ids of its 13 classes; other
/// Cityscapes ids are ignored.
pub const NTHU_LABEL_TO_TRAIN: [(u8, u8); 13] = [
    (7, 0),
    (8, 1),
    (11, 2),
    (19, 6),
    (20, 7),
    (21, 8),
    (23, 10),
    (24, 11),
    (25, 12),
    (26, 13),
    (28, 15),
    (32, 17),
    (33, 18),
];

/// Cityscapes `*_labelIds.png` (also GTA5 labels, which use the same ids).
pub fn cityscapes_table() -> IdTable {
    IdTable::new(
        "Cityscapes labelIds",
        "0–33",
        &CITYSCAPES_LABEL_TO_TRAIN,
        33,
    )
}

/// SYNTHIA-RAND-CITYSCAPES `GT/LABELS` (channel 0 of the 16-bit PNG).
pub fn synthia_table() -> IdTable {
    IdTable::new("SYNTHIA", "0–22", &SYNTHIA_TO_TRAIN, 22)
}

/// NTHU cross-city `Labels/*_eval.png`.
pub fn nthu_table() -> IdTable {
    IdTable::new(
        "NTHU (Cityscapes labelIds)",
        "0–33",
        &NTHU_LABEL_TO_TRAIN,
        33,
    )
}

/// Label PNGs that already hold train ids (the `folder` layout).
pub fn train_id_table() -> IdTable {
    let pairs: Vec<(u8, u8)> = (0..NUM_TRAIN_IDS as u8).map(|i| (i, i)).collect();
    IdTable::new("train-id", "0–18", &pairs, 18)
}

/// The Cityscapes label id of a train id (the inverse used to write
/// `*_labelIds.png`); [`IGNORE`] and unknown ids give 0 (`unlabeled`).
pub fn train_to_cityscapes_label(train_id: u8) -> u8 {
    CITYSCAPES_LABEL_TO_TRAIN
        .iter()
        .find(|&&(_, t)| t == train_id)
        .map(|&(l, _)| l)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cityscapes_roundtrip_and_ignore() {
        let t = cityscapes_table();
        for id in 0..19u8 {
            assert_eq!(t.get(train_to_cityscapes_label(id)), Some(id));
        }
        assert_eq!(t.get(0), Some(IGNORE));
        assert_eq!(t.get(9), Some(IGNORE)); // parking
        assert_eq!(t.get(255), Some(IGNORE));
        assert_eq!(t.get(34), None);
    }

    #[test]
    fn synthia_table_is_a_bijection_onto_19() {
        let mut seen = [false; 19];
        for &(_, t) in &SYNTHIA_TO_TRAIN {
            assert!(!seen[t as usize]);
            seen[t as usize] = true;
        }
        assert!(seen.iter().all(|&s| s));
        let t = synthia_table();
        assert_eq!(t.get(22), Some(IGNORE)); // lane marking
        assert_eq!(t.get(23), None);
    }
}

//! Label id tables: how each dataset's raw label ids map to the 19 Cityscapes
//! train ids. The tables are the standard ones (cityscapesScripts'
//! `labels.py`; the SYNTHIA table of AdaptSegNet/MaxSquare; the NTHU table of
//! the cross-city code).
//!
//! A raw id outside a table's known range (GTA5 labels hold ids such as 34)
//! becomes ignore, as in every loader of the field (AdaptSegNet, ADVENT,
//! CBST, MaxSquare, MMSegmentation), and is counted per raw id in an
//! [`UnmappedIds`] so a job can report it; a strict table (`--strict-labels`,
//! and always for PNGs of train ids, where such a value cannot occur) makes
//! it an error naming the file and the pixel instead.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

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
    strict: bool,
}

/// Pixels whose raw label id was outside an [`IdTable`] and became ignore,
/// per raw id; shared by the threads that decode a dataset's labels.
#[derive(Debug)]
pub struct UnmappedIds {
    counts: [AtomicU64; 256],
}

impl Default for UnmappedIds {
    fn default() -> Self {
        UnmappedIds {
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl UnmappedIds {
    /// `(raw id, pixels)` of every id seen so far, by id.
    pub fn snapshot(&self) -> Vec<(u8, u64)> {
        (0..=255u8)
            .filter_map(|id| {
                let n = self.counts[id as usize].load(Ordering::Relaxed);
                (n > 0).then_some((id, n))
            })
            .collect()
    }

    fn add(&self, id: u8, n: u64) {
        self.counts[id as usize].fetch_add(n, Ordering::Relaxed);
    }
}

/// `a − b` per id (what was counted between two [`UnmappedIds::snapshot`]s).
pub fn unmapped_since(after: &[(u8, u64)], before: &[(u8, u64)]) -> Vec<(u8, u64)> {
    after
        .iter()
        .filter_map(|&(id, n)| {
            let b = before.iter().find(|e| e.0 == id).map_or(0, |e| e.1);
            (n > b).then_some((id, n - b))
        })
        .collect()
}

/// `id 34: 1234 px, id 40: 7 px`.
pub fn describe_unmapped(ids: &[(u8, u64)]) -> String {
    ids.iter()
        .map(|(id, n)| format!("id {id}: {n} px"))
        .collect::<Vec<_>>()
        .join(", ")
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
            strict: false,
        }
    }

    /// The same table, refusing unknown ids (`true`) or mapping them to
    /// ignore and counting them (`false`, the default).
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Whether an unknown id is an error.
    pub fn is_strict(&self) -> bool {
        self.strict
    }

    /// The train id of `raw`, `None` when `raw` is not a known id.
    pub fn get(&self, raw: u8) -> Option<u8> {
        self.known[raw as usize].then_some(self.map[raw as usize])
    }

    /// Maps a raw label map of width `width` in place. An unknown id becomes
    /// [`IGNORE`] and is counted in `unmapped`; in a strict table it is an
    /// error naming `path`, the pixel and the valid range, and nothing is
    /// counted.
    pub fn apply(
        &self,
        raw: &mut [u8],
        width: usize,
        path: &Path,
        unmapped: &UnmappedIds,
    ) -> Result<()> {
        let mut local = [0u64; 256];
        for (i, v) in raw.iter_mut().enumerate() {
            match self.get(*v) {
                Some(t) => *v = t,
                None if !self.strict => {
                    local[*v as usize] += 1;
                    *v = IGNORE;
                }
                None => {
                    return Err(Error::Data {
                        path: path.to_path_buf(),
                        msg: format!(
                            "unknown label id {} at pixel (x={}, y={}); {} ids are {} \
                             (255 = ignore). Is this the right --layout? (Without \
                             --strict-labels such ids become ignore and are counted.)",
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
        for (id, &n) in local.iter().enumerate() {
            if n > 0 {
                unmapped.add(id as u8, n);
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

/// Label PNGs that already hold train ids (the `folder` layout): always
/// strict, a value 19–254 is not a train id.
pub fn train_id_table() -> IdTable {
    let pairs: Vec<(u8, u8)> = (0..NUM_TRAIN_IDS as u8).map(|i| (i, i)).collect();
    IdTable::new("train-id", "0–18", &pairs, 18).strict(true)
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

    #[test]
    fn unknown_ids_become_ignore_and_are_counted_unless_strict() {
        let t = cityscapes_table();
        let seen = UnmappedIds::default();
        let mut raw = vec![7, 34, 34, 40, 255];
        t.apply(&mut raw, 5, Path::new("l.png"), &seen).unwrap();
        assert_eq!(raw, vec![0, IGNORE, IGNORE, IGNORE, IGNORE]);
        assert_eq!(seen.snapshot(), vec![(34, 2), (40, 1)]);
        let before = seen.snapshot();
        let mut again = vec![34];
        t.apply(&mut again, 1, Path::new("l.png"), &seen).unwrap();
        assert_eq!(unmapped_since(&seen.snapshot(), &before), vec![(34, 1)]);
        assert_eq!(describe_unmapped(&before), "id 34: 2 px, id 40: 1 px");

        let strict = cityscapes_table().strict(true);
        let mut raw = vec![7, 34];
        let e = strict
            .apply(&mut raw, 2, Path::new("l.png"), &UnmappedIds::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("l.png") && e.contains("34") && e.contains("x=1"),
            "{e}"
        );
        assert!(train_id_table().is_strict());
    }
}

//! The Cityscapes colour palette of the 19 train ids and label colourising.

use crate::data::raster::{LabelMap, RgbImage};

/// Colours of train ids 0–18 (cityscapesScripts' `labels.py`).
pub const CITYSCAPES_PALETTE: [[u8; 3]; 19] = [
    [128, 64, 128],
    [244, 35, 232],
    [70, 70, 70],
    [102, 102, 156],
    [190, 153, 153],
    [153, 153, 153],
    [250, 170, 30],
    [220, 220, 0],
    [107, 142, 35],
    [152, 251, 152],
    [70, 130, 180],
    [220, 20, 60],
    [255, 0, 0],
    [0, 0, 142],
    [0, 0, 70],
    [0, 60, 100],
    [0, 80, 100],
    [0, 0, 230],
    [119, 11, 32],
];

/// The colour of a train id; ignore (255) and unknown ids are black.
pub fn color_of(train_id: u8) -> [u8; 3] {
    CITYSCAPES_PALETTE
        .get(train_id as usize)
        .copied()
        .unwrap_or([0, 0, 0])
}

/// Paints a label map of train ids in Cityscapes colours.
///
/// ```
/// use sfda_core::data::{colorize, LabelMap};
/// let img = colorize(&LabelMap::new(2, 1, vec![0, 255]).unwrap());
/// assert_eq!(img.data, vec![128, 64, 128, 0, 0, 0]);
/// ```
pub fn colorize(map: &LabelMap) -> RgbImage {
    let data = map.data.iter().flat_map(|&id| color_of(id)).collect();
    RgbImage {
        width: map.width,
        height: map.height,
        data,
    }
}

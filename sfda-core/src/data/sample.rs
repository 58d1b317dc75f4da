//! What datasets yield ([`Sample`]: one decoded image with its optional
//! labels) and what loaders yield ([`Batch`]: normalised CHW floats ready to
//! upload to any backend).

use crate::data::raster::{LabelMap, RgbImage};

/// One decoded example. Labels are Cityscapes train ids (255 = ignore);
/// unlabelled target sets give `label: None`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// A name unique within its dataset (file stem, e.g. `aachen_000000_000019`).
    pub name: String,
    /// The RGB image.
    pub image: RgbImage,
    /// Its labels, same size as the image, if the dataset has them.
    pub label: Option<LabelMap>,
}

/// A batch of examples in backend-neutral host memory.
///
/// `images` is `[b, 3, h, w]` row-major, normalised (see
/// [`Normalize`](crate::data::Normalize)); `labels` is `[b, h, w]` train ids
/// (255 = ignore) when every example has labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Normalised pixels, `b * c * h * w` values in NCHW order.
    pub images: Vec<f32>,
    /// Train ids, `b * h * w` values, when the examples are labelled.
    pub labels: Option<Vec<u8>>,
    /// `[b, c, h, w]`.
    pub shape: [usize; 4],
    /// The name of each example, in batch order.
    pub names: Vec<String>,
}

impl Batch {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.shape[0]
    }

    /// Whether the batch holds no example.
    pub fn is_empty(&self) -> bool {
        self.shape[0] == 0
    }

    /// Height and width of every example.
    pub fn hw(&self) -> (usize, usize) {
        (self.shape[2], self.shape[3])
    }

    /// The `[c, h, w]` pixels of example `i`.
    pub fn image(&self, i: usize) -> &[f32] {
        let n = self.shape[1] * self.shape[2] * self.shape[3];
        &self.images[i * n..(i + 1) * n]
    }

    /// The `[h, w]` labels of example `i`, if labelled.
    pub fn label(&self, i: usize) -> Option<&[u8]> {
        let n = self.shape[2] * self.shape[3];
        self.labels.as_ref().map(|l| &l[i * n..(i + 1) * n])
    }
}

//! Per-example preprocessing: resize (bilinear image, nearest labels),
//! random rescale, random or centre crop, horizontal flip, and normalisation
//! to CHW floats. Randomness comes from the [`SeedRng`] the caller passes, so
//! a loader can make every example's augmentation depend only on
//! `(seed, epoch, index)`.

use serde::{Deserialize, Serialize};

use crate::data::raster::RgbImage;
use crate::data::resize::{resize_bilinear, resize_nearest};
use crate::data::sample::Sample;
use crate::rng::SeedRng;

/// Per-channel normalisation of `[0, 1]` pixel values: `(x - mean) / std`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Normalize {
    /// Channel means (RGB).
    pub mean: [f32; 3],
    /// Channel standard deviations (RGB).
    pub std: [f32; 3],
}

impl Normalize {
    /// ImageNet statistics (torchvision's pretrained models).
    pub const IMAGENET: Normalize = Normalize {
        mean: [0.485, 0.456, 0.406],
        std: [0.229, 0.224, 0.225],
    };

    /// Identity on `[0, 1]` values (mean 0, std 1).
    pub const UNIT: Normalize = Normalize {
        mean: [0.0; 3],
        std: [1.0; 3],
    };

    /// Appends `img` as normalised CHW floats to `out`.
    pub fn extend_chw(&self, img: &RgbImage, out: &mut Vec<f32>) {
        let n = img.width as usize * img.height as usize;
        out.reserve(n * 3);
        for c in 0..3 {
            let scale = 1.0 / (255.0 * self.std[c]);
            let shift = self.mean[c] / self.std[c];
            out.extend(
                img.data
                    .iter()
                    .skip(c)
                    .step_by(3)
                    .map(|&v| v as f32 * scale - shift),
            );
        }
    }

    /// Normalised CHW floats of `img`.
    pub fn to_chw(&self, img: &RgbImage) -> Vec<f32> {
        let mut out = Vec::new();
        self.extend_chw(img, &mut out);
        out
    }

    /// Back from normalised CHW floats (`height × width`) to 8-bit RGB, for
    /// pictures of generated or batched images.
    pub fn to_rgb(&self, chw: &[f32], height: usize, width: usize) -> RgbImage {
        let n = height * width;
        let mut data = vec![0u8; n * 3];
        for c in 0..3 {
            for (i, &v) in chw[c * n..(c + 1) * n].iter().enumerate() {
                let x = (v * self.std[c] + self.mean[c]) * 255.0;
                data[i * 3 + c] = x.round().clamp(0.0, 255.0) as u8;
            }
        }
        RgbImage {
            width: width as u32,
            height: height as u32,
            data,
        }
    }
}

impl Default for Normalize {
    fn default() -> Self {
        Normalize::IMAGENET
    }
}

/// Preprocessing of one example, applied in the order of the fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transform {
    /// Resize every example to `[width, height]` first.
    pub resize: Option<[u32; 2]>,
    /// Random rescale factor range `[lo, hi]` (only when `random`).
    pub scale: Option<[f32; 2]>,
    /// Crop to `[width, height]` (random position when `random`, else
    /// centred; padded with black / ignore when the image is smaller).
    pub crop: Option<[u32; 2]>,
    /// Random crops, rescale and flips (training); `false` is deterministic.
    pub random: bool,
    /// Flip left–right with probability ½ (only when `random`).
    pub hflip: bool,
    /// Normalisation of the output floats.
    pub normalize: Normalize,
}

impl Default for Transform {
    fn default() -> Self {
        Transform::eval(None)
    }
}

impl Transform {
    /// Deterministic preprocessing: optional resize, ImageNet normalisation.
    pub fn eval(resize: Option<[u32; 2]>) -> Self {
        Transform {
            resize,
            scale: None,
            crop: None,
            random: false,
            hflip: false,
            normalize: Normalize::IMAGENET,
        }
    }

    /// Training preprocessing: optional resize, random crop, random flip.
    pub fn train(resize: Option<[u32; 2]>, crop: Option<[u32; 2]>) -> Self {
        Transform {
            resize,
            scale: None,
            crop,
            random: true,
            hflip: true,
            normalize: Normalize::IMAGENET,
        }
    }

    /// Applies resize, rescale, crop and flip to a sample (labels follow the
    /// image exactly).
    pub fn apply(&self, mut s: Sample, rng: &mut SeedRng) -> Sample {
        if let Some([w, h]) = self.resize {
            self.resize_to(&mut s, w, h);
        }
        if let (true, Some([lo, hi])) = (self.random, self.scale) {
            let f = rng.uniform(lo, hi.max(lo));
            let w = ((s.image.width as f32 * f).round() as u32).max(1);
            let h = ((s.image.height as f32 * f).round() as u32).max(1);
            self.resize_to(&mut s, w, h);
        }
        if let Some([cw, ch]) = self.crop {
            let (w, h) = (s.image.width as i64, s.image.height as i64);
            let (mx, my) = ((w - cw as i64).max(0), (h - ch as i64).max(0));
            let (x, y) = if self.random {
                (
                    rng.below(mx as usize + 1) as i64,
                    rng.below(my as usize + 1) as i64,
                )
            } else {
                (mx / 2, my / 2)
            };
            s.image = s.image.crop(x, y, cw, ch);
            s.label = s.label.map(|l| l.crop(x, y, cw, ch));
        }
        if self.random && self.hflip && rng.chance(0.5) {
            s.image.flip_horizontal();
            if let Some(l) = s.label.as_mut() {
                l.flip_horizontal();
            }
        }
        s
    }

    fn resize_to(&self, s: &mut Sample, w: u32, h: u32) {
        s.image = resize_bilinear(&s.image, w, h);
        s.label = s.label.as_ref().map(|l| resize_nearest(l, w, h));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::raster::LabelMap;

    #[test]
    fn normalise_roundtrips() {
        let img = RgbImage::new(2, 1, vec![0, 128, 255, 10, 20, 30]).unwrap();
        let n = Normalize::IMAGENET;
        let chw = n.to_chw(&img);
        assert_eq!(chw.len(), 6);
        assert_eq!(n.to_rgb(&chw, 1, 2), img);
    }

    #[test]
    fn crop_and_flip_keep_labels_aligned() {
        // Label = x coordinate, image red = x coordinate.
        let (w, h) = (8u32, 4u32);
        let labels: Vec<u8> = (0..w * h).map(|i| (i % w) as u8).collect();
        let img: Vec<u8> = labels.iter().flat_map(|&x| [x, 0, 0]).collect();
        let s = Sample {
            name: "a".into(),
            image: RgbImage::new(w, h, img).unwrap(),
            label: Some(LabelMap::new(w, h, labels).unwrap()),
        };
        let t = Transform::train(None, Some([5, 3]));
        for seed in 0..20 {
            let out = t.apply(s.clone(), &mut SeedRng::new(seed));
            let l = out.label.unwrap();
            assert_eq!((l.width, l.height), (5, 3));
            for (i, &id) in l.data.iter().enumerate() {
                assert_eq!(out.image.data[i * 3], id);
            }
        }
    }
}

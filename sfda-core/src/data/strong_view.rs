//! The strong view of a batch for mean-teacher self-training (the
//! "strong augmentation" of FixMatch, DACS and DT-ST): per image, colour
//! jitter (brightness, contrast, saturation, each by a factor in
//! `[0.6, 1.4]`, together with probability 0.8), grayscale with probability
//! 0.2 and a Gaussian blur with probability 0.5 (σ in `[0.1, 2]` pixels).
//! Photometric only, so the weak view's pixel-wise pseudo-labels stay
//! aligned with the strong view. Works on the normalised pixels of a
//! [`Batch`]: back to `[0, 1]` RGB, augment, clamp, normalise again.

use crate::data::sample::Batch;
use crate::data::transform::Normalize;
use crate::rng::SeedRng;
use crate::{Error, Result};

/// Jitter factors lie in `[1 − JITTER, 1 + JITTER]`.
const JITTER: f32 = 0.4;
/// Probability of the colour jitter.
const P_JITTER: f32 = 0.8;
/// Probability of grayscale.
const P_GRAY: f32 = 0.2;
/// Probability of the blur.
const P_BLUR: f32 = 0.5;
/// Range of the blur's σ (pixels).
const SIGMA: (f32, f32) = (0.1, 2.0);

/// The strong view of `batch` (same shape, labels and names), drawn from
/// `rng`; `norm` is the normalisation the batch's pixels carry.
pub fn strong_view(batch: &Batch, norm: &Normalize, rng: &mut SeedRng) -> Result<Batch> {
    let [b, c, h, w] = batch.shape;
    if c != 3 || batch.images.len() != b * c * h * w {
        return Err(Error::msg(format!(
            "strong view: expected RGB images of shape {:?} ({} values), got {} values",
            batch.shape,
            b * c * h * w,
            batch.images.len()
        )));
    }
    let plane = h * w;
    let mut images = batch.images.clone();
    for img in images.chunks_exact_mut(3 * plane) {
        for ch in 0..3 {
            for v in &mut img[ch * plane..(ch + 1) * plane] {
                *v = *v * norm.std[ch] + norm.mean[ch];
            }
        }
        if rng.chance(P_JITTER) {
            let brightness = rng.uniform(1.0 - JITTER, 1.0 + JITTER);
            let contrast = rng.uniform(1.0 - JITTER, 1.0 + JITTER);
            let saturation = rng.uniform(1.0 - JITTER, 1.0 + JITTER);
            for v in img.iter_mut() {
                *v = (*v * brightness).clamp(0.0, 1.0);
            }
            let mean_gray = (0..plane).map(|p| gray(img, plane, p)).sum::<f32>() / plane as f32;
            for v in img.iter_mut() {
                *v = (mean_gray + (*v - mean_gray) * contrast).clamp(0.0, 1.0);
            }
            for p in 0..plane {
                let g = gray(img, plane, p);
                for ch in 0..3 {
                    let v = &mut img[ch * plane + p];
                    *v = (g + (*v - g) * saturation).clamp(0.0, 1.0);
                }
            }
        }
        if rng.chance(P_GRAY) {
            for p in 0..plane {
                let g = gray(img, plane, p);
                for ch in 0..3 {
                    img[ch * plane + p] = g;
                }
            }
        }
        if rng.chance(P_BLUR) {
            let sigma = rng.uniform(SIGMA.0, SIGMA.1);
            let kernel = gaussian_kernel(sigma);
            for ch in 0..3 {
                blur_plane(&mut img[ch * plane..(ch + 1) * plane], h, w, &kernel);
            }
        }
        for ch in 0..3 {
            for v in &mut img[ch * plane..(ch + 1) * plane] {
                *v = (v.clamp(0.0, 1.0) - norm.mean[ch]) / norm.std[ch];
            }
        }
    }
    Ok(Batch {
        images,
        labels: batch.labels.clone(),
        shape: batch.shape,
        names: batch.names.clone(),
    })
}

/// ITU-R 601 luma of pixel `p` of a CHW image in `[0, 1]`.
fn gray(img: &[f32], plane: usize, p: usize) -> f32 {
    0.299 * img[p] + 0.587 * img[plane + p] + 0.114 * img[2 * plane + p]
}

/// A normalised 1-D Gaussian of radius `ceil(2σ)` (at most 4).
fn gaussian_kernel(sigma: f32) -> Vec<f32> {
    let r = ((2.0 * sigma).ceil() as i32).clamp(1, 4);
    let k: Vec<f32> = (-r..=r)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let s: f32 = k.iter().sum();
    k.into_iter().map(|v| v / s).collect()
}

/// Separable blur of one `h × w` plane, edges clamped.
fn blur_plane(plane: &mut [f32], h: usize, w: usize, k: &[f32]) {
    let r = (k.len() / 2) as isize;
    let mut tmp = vec![0f32; plane.len()];
    for y in 0..h {
        for x in 0..w {
            let mut acc = 0.0;
            for (i, kv) in k.iter().enumerate() {
                let xx = (x as isize + i as isize - r).clamp(0, w as isize - 1) as usize;
                acc += kv * plane[y * w + xx];
            }
            tmp[y * w + x] = acc;
        }
    }
    for y in 0..h {
        for x in 0..w {
            let mut acc = 0.0;
            for (i, kv) in k.iter().enumerate() {
                let yy = (y as isize + i as isize - r).clamp(0, h as isize - 1) as usize;
                acc += kv * tmp[yy * w + x];
            }
            plane[y * w + x] = acc;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch() -> Batch {
        let (b, h, w) = (2, 8, 12);
        let mut rng = SeedRng::new(3);
        let norm = Normalize::IMAGENET;
        let raw = rng.uniform_vec(b * 3 * h * w, 0.0, 1.0);
        let images = raw
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let ch = (i / (h * w)) % 3;
                (v - norm.mean[ch]) / norm.std[ch]
            })
            .collect();
        Batch {
            images,
            labels: None,
            shape: [b, 3, h, w],
            names: vec!["a".into(), "b".into()],
        }
    }

    #[test]
    fn the_strong_view_is_seeded_in_range_and_differs_from_the_weak_one() {
        let b = batch();
        let norm = Normalize::IMAGENET;
        let s1 = strong_view(&b, &norm, &mut SeedRng::new(9)).unwrap();
        let s2 = strong_view(&b, &norm, &mut SeedRng::new(9)).unwrap();
        assert_eq!(s1.images, s2.images, "same seed, same view");
        assert_eq!((s1.shape, &s1.names), (b.shape, &b.names));
        let plane = 8 * 12;
        for (i, v) in s1.images.iter().enumerate() {
            let ch = (i / plane) % 3;
            let x = v * norm.std[ch] + norm.mean[ch];
            assert!((-1e-5..=1.0 + 1e-5).contains(&x), "pixel {i}: {x}");
        }
        let changed = (0..10)
            .filter(|&seed| {
                strong_view(&b, &norm, &mut SeedRng::new(seed))
                    .unwrap()
                    .images
                    != b.images
            })
            .count();
        assert!(changed >= 8, "only {changed} of 10 views differ");
        let mut bad = b.clone();
        bad.images.pop();
        assert!(strong_view(&bad, &norm, &mut SeedRng::new(0)).is_err());
    }

    #[test]
    fn the_blur_keeps_a_constant_plane_and_its_mean() {
        let mut p = vec![0.5f32; 6 * 5];
        blur_plane(&mut p, 6, 5, &gaussian_kernel(1.3));
        assert!(p.iter().all(|v| (v - 0.5).abs() < 1e-6));
        let k = gaussian_kernel(0.1);
        assert!((k.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }
}

//! Resampling: bilinear for images, nearest for label maps. Both use pixel
//! centres (`align_corners = false` in PyTorch terms), so an image and its
//! labels stay aligned after any resize.

use crate::data::raster::{LabelMap, RgbImage};

/// Source coordinate and weight table for one axis of a bilinear resize.
fn bilinear_taps(src: u32, dst: u32) -> Vec<(usize, usize, f32)> {
    let scale = src as f32 / dst as f32;
    (0..dst)
        .map(|d| {
            let s = ((d as f32 + 0.5) * scale - 0.5).max(0.0);
            let i0 = (s.floor() as usize).min(src as usize - 1);
            let i1 = (i0 + 1).min(src as usize - 1);
            (i0, i1, s - i0 as f32)
        })
        .collect()
}

/// Bilinear resize of an RGB image to `width × height`. When shrinking by
/// more than 2× the source is first box-averaged so fine detail does not alias.
pub fn resize_bilinear(img: &RgbImage, width: u32, height: u32) -> RgbImage {
    if img.width == width && img.height == height {
        return img.clone();
    }
    if width == 0 || height == 0 || img.width == 0 || img.height == 0 {
        return RgbImage::black(width, height);
    }
    let fx = img.width / width.max(1);
    let fy = img.height / height.max(1);
    if fx >= 2 || fy >= 2 {
        let pre = box_shrink(img, fx.max(1), fy.max(1));
        return resize_bilinear(&pre, width, height);
    }
    let xs = bilinear_taps(img.width, width);
    let ys = bilinear_taps(img.height, height);
    let sw = img.width as usize;
    let mut out = Vec::with_capacity(width as usize * height as usize * 3);
    for &(y0, y1, wy) in &ys {
        for &(x0, x1, wx) in &xs {
            for c in 0..3 {
                let p = |x: usize, y: usize| img.data[(y * sw + x) * 3 + c] as f32;
                let top = p(x0, y0) * (1.0 - wx) + p(x1, y0) * wx;
                let bot = p(x0, y1) * (1.0 - wx) + p(x1, y1) * wx;
                out.push((top * (1.0 - wy) + bot * wy).round().clamp(0.0, 255.0) as u8);
            }
        }
    }
    RgbImage {
        width,
        height,
        data: out,
    }
}

/// Averages `fx × fy` blocks (integer shrink).
fn box_shrink(img: &RgbImage, fx: u32, fy: u32) -> RgbImage {
    let w = (img.width / fx).max(1);
    let h = (img.height / fy).max(1);
    let sw = img.width as usize;
    let mut out = Vec::with_capacity(w as usize * h as usize * 3);
    let n = fx * fy;
    for y in 0..h as usize {
        for x in 0..w as usize {
            let mut acc = [0u32; 3];
            for dy in 0..fy as usize {
                let row = (y * fy as usize + dy) * sw;
                for dx in 0..fx as usize {
                    let i = (row + x * fx as usize + dx) * 3;
                    for (c, a) in acc.iter_mut().enumerate() {
                        *a += img.data[i + c] as u32;
                    }
                }
            }
            for a in acc {
                out.push(((a + n / 2) / n) as u8);
            }
        }
    }
    RgbImage {
        width: w,
        height: h,
        data: out,
    }
}

/// Nearest-neighbour resize of a label map (ids are never blended).
pub fn resize_nearest(map: &LabelMap, width: u32, height: u32) -> LabelMap {
    if map.width == width && map.height == height {
        return map.clone();
    }
    let idx = |src: u32, dst: u32| -> Vec<usize> {
        let scale = src as f64 / dst as f64;
        (0..dst)
            .map(|d| (((d as f64 + 0.5) * scale).floor() as usize).min(src as usize - 1))
            .collect()
    };
    if map.width == 0 || map.height == 0 {
        return LabelMap::filled(width, height, crate::data::classes::IGNORE);
    }
    let xs = idx(map.width, width);
    let ys = idx(map.height, height);
    let mut out = Vec::with_capacity(width as usize * height as usize);
    for &y in &ys {
        let row = y * map.width as usize;
        out.extend(xs.iter().map(|&x| map.data[row + x]));
    }
    LabelMap {
        width,
        height,
        data: out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_doubles_and_halves_exactly() {
        let l = LabelMap::new(2, 2, vec![1, 2, 3, 4]).unwrap();
        let up = resize_nearest(&l, 4, 4);
        assert_eq!(up.data[..4], [1, 1, 2, 2]);
        assert_eq!(resize_nearest(&up, 2, 2), l);
    }

    #[test]
    fn bilinear_keeps_constant_images_constant() {
        let im = RgbImage::new(5, 3, [10u8, 20, 30].repeat(15)).unwrap();
        for (w, h) in [(7, 4), (2, 1), (12, 9)] {
            let r = resize_bilinear(&im, w, h);
            assert_eq!((r.width, r.height), (w, h));
            assert!(r.data.chunks(3).all(|p| p == [10, 20, 30]));
        }
    }
}

//! Fixture builders shared by the data tests: tiny dataset trees written
//! with sfda-core's own PNG writer (grey, palette and 16-bit RGB labels).

#![allow(dead_code)]

use std::path::Path;

use sfda_core::data::{save_rgb_png, write_png_raw, PngPixels, RgbImage};

/// An RGB image whose red channel is the pixel index (mod 256).
pub fn ramp_image(w: u32, h: u32) -> RgbImage {
    let data = (0..w * h)
        .flat_map(|i| [(i % 256) as u8, 100, 200])
        .collect();
    RgbImage::new(w, h, data).unwrap()
}

/// Writes an image of `w × h`.
pub fn write_image(path: &Path, w: u32, h: u32) {
    save_rgb_png(path, &ramp_image(w, h)).unwrap();
}

/// Writes an 8-bit grey label PNG.
pub fn write_gray(path: &Path, w: u32, h: u32, ids: &[u8]) {
    write_png_raw(path, w, h, PngPixels::Gray8(ids)).unwrap();
}

/// Writes an 8-bit palette label PNG (GTA5 style).
pub fn write_palette(path: &Path, w: u32, h: u32, ids: &[u8]) {
    write_png_raw(path, w, h, PngPixels::Palette8(ids)).unwrap();
}

/// Writes a 16-bit RGB label PNG with the id in channel 0 and noise in the
/// other channels (SYNTHIA style).
pub fn write_rgb16(path: &Path, w: u32, h: u32, ids: &[u8]) {
    let px: Vec<u16> = ids
        .iter()
        .enumerate()
        .flat_map(|(i, &id)| [id as u16, (i * 37 % 1000) as u16, 7])
        .collect();
    write_png_raw(path, w, h, PngPixels::Rgb16(&px)).unwrap();
}

/// Every raw id `0..=max` followed by 255, as one row.
pub fn all_ids(max: u8) -> Vec<u8> {
    (0..=max).chain([255]).collect()
}

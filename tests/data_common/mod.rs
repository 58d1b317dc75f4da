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

/// CRC-32 (PNG's polynomial) of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xffff_ffffu32;
    for &b in bytes {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// One PNG chunk (length, type, data, CRC).
pub fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
    out
}

/// 69 bytes: a valid PNG header for 100000 × 100000 RGBA16 (80 GB decoded)
/// and no data — what a decoder must refuse before allocating.
pub fn huge_label_png() -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[16, 6, 0, 0, 0]);
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(b"IDAT", &[]));
    png.extend(chunk(b"IEND", &[]));
    png
}

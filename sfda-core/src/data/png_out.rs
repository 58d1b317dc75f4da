//! Writing PNGs atomically: bytes are encoded in memory, written to a
//! temporary file next to the target and renamed over it, so a crash never
//! leaves a half-written image that a later run would fail to decode.

use std::path::Path;

use crate::data::raster::{LabelMap, RgbImage};
use crate::data::viz::palette::CITYSCAPES_PALETTE;
use crate::error::{Error, Result};

/// Pixels to encode, row-major.
#[derive(Debug, Clone, Copy)]
pub enum PngPixels<'a> {
    /// Interleaved 8-bit RGB.
    Rgb8(&'a [u8]),
    /// 8-bit grey (e.g. Cityscapes `*_labelIds.png`).
    Gray8(&'a [u8]),
    /// 8-bit palette indices (as GTA5 labels); the palette shows train ids in
    /// Cityscapes colours, other indices black.
    Palette8(&'a [u8]),
    /// Interleaved 16-bit RGB (as SYNTHIA `GT/LABELS`).
    Rgb16(&'a [u16]),
}

pub use crate::atomic::write_atomic;

/// Encodes pixels as a PNG in memory.
pub fn encode_png(width: u32, height: u32, pixels: PngPixels<'_>) -> Result<Vec<u8>> {
    let n = width as usize * height as usize;
    let (color, depth, bytes, want): (_, _, Vec<u8>, usize) = match pixels {
        PngPixels::Rgb8(d) => (png::ColorType::Rgb, png::BitDepth::Eight, d.to_vec(), n * 3),
        PngPixels::Gray8(d) => (
            png::ColorType::Grayscale,
            png::BitDepth::Eight,
            d.to_vec(),
            n,
        ),
        PngPixels::Palette8(d) => (png::ColorType::Indexed, png::BitDepth::Eight, d.to_vec(), n),
        PngPixels::Rgb16(d) => (
            png::ColorType::Rgb,
            png::BitDepth::Sixteen,
            d.iter().flat_map(|v| v.to_be_bytes()).collect(),
            n * 6,
        ),
    };
    if bytes.len() != want {
        return Err(Error::shape(
            "encode_png",
            format!("{width}x{height} needs {want} bytes, got {}", bytes.len()),
        ));
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(color);
        enc.set_depth(depth);
        if matches!(pixels, PngPixels::Palette8(_)) {
            let mut pal = vec![0u8; 256 * 3];
            for (i, c) in CITYSCAPES_PALETTE.iter().enumerate() {
                pal[i * 3..i * 3 + 3].copy_from_slice(c);
            }
            enc.set_palette(pal);
        }
        let err = |e: png::EncodingError| Error::msg(format!("PNG encoding failed: {e}"));
        let mut w = enc.write_header().map_err(err)?;
        w.write_image_data(&bytes).map_err(err)?;
        w.finish().map_err(err)?;
    }
    Ok(out)
}

/// Encodes and writes a PNG atomically.
pub fn write_png_raw(path: &Path, width: u32, height: u32, pixels: PngPixels<'_>) -> Result<()> {
    let bytes = encode_png(width, height, pixels)?;
    write_atomic(path, &bytes)
}

/// Writes an RGB image as PNG atomically.
pub fn save_rgb_png(path: &Path, img: &RgbImage) -> Result<()> {
    write_png_raw(path, img.width, img.height, PngPixels::Rgb8(&img.data))
}

/// Writes a label map as an 8-bit grey PNG atomically (values as stored).
pub fn save_gray_png(path: &Path, map: &LabelMap) -> Result<()> {
    write_png_raw(path, map.width, map.height, PngPixels::Gray8(&map.data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/img.png");
        save_rgb_png(&p, &RgbImage::black(4, 2)).unwrap();
        save_rgb_png(&p, &RgbImage::black(4, 2)).unwrap();
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("img.png")]);
        assert!(encode_png(2, 2, PngPixels::Gray8(&[0; 3])).is_err());
    }
}

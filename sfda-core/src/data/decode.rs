//! Decoding images and label PNGs from disk. Every failure is an
//! [`Error::Data`] naming the file and saying what to do; nothing panics on a
//! corrupt, truncated or mis-typed file.
//!
//! Label PNGs are read with the `png` crate *without* palette expansion, so
//! the palette PNGs of GTA5 give their indices (the label ids), not colours.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use crate::data::raster::{LabelMap, RgbImage};
use crate::error::{Error, Result};

/// How a label PNG stores its ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelEncoding {
    /// One channel: 8/16-bit grey or a palette (ids are indices). An RGB
    /// file is accepted only when its three channels are equal.
    Single,
    /// The id is channel 0 of a (usually 16-bit) RGB(A) PNG, as in
    /// SYNTHIA-RAND-CITYSCAPES `GT/LABELS`; single-channel files also work.
    FirstChannel,
}

fn data_err(path: &Path, msg: impl Into<String>) -> Error {
    Error::Data {
        path: path.to_path_buf(),
        msg: msg.into(),
    }
}

fn open_file(path: &Path, what: &str) -> Result<File> {
    File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => data_err(
            path,
            format!("{what} not found; check the dataset root and --layout"),
        ),
        _ => Error::io(path, e),
    })
}

/// Most bytes a label PNG may need decoded (512 MiB, the `image` crate's
/// default allocation limit that bounds image decoding): a header claiming
/// more is refused before anything is allocated.
pub const LABEL_DECODE_LIMIT: usize = 512 << 20;

/// Reads an image file (PNG or JPEG) as 8-bit RGB.
pub fn read_image(path: &Path) -> Result<RgbImage> {
    let file = open_file(path, "image file")?;
    let reader = image::ImageReader::new(BufReader::new(file))
        .with_guessed_format()
        .map_err(|e| Error::io(path, e))?;
    if reader.format().is_none() {
        return Err(data_err(
            path,
            "not a PNG or JPEG image (unrecognised header); remove it or re-extract the dataset",
        ));
    }
    let img = reader.decode().map_err(|e| {
        data_err(
            path,
            format!("cannot decode image ({e}); the file is corrupt or truncated, re-extract it"),
        )
    })?;
    let rgb = img.to_rgb8();
    let (width, height) = rgb.dimensions();
    if width == 0 || height == 0 {
        return Err(data_err(path, "image has zero size"));
    }
    Ok(RgbImage {
        width,
        height,
        data: rgb.into_raw(),
    })
}

/// Reads a label PNG and returns its raw ids (before any id table).
pub fn read_label_png(path: &Path, encoding: LabelEncoding) -> Result<LabelMap> {
    let file = open_file(path, "label file")?;
    let corrupt = |e: png::DecodingError| {
        data_err(
            path,
            format!(
                "cannot decode label PNG ({e}); the file is corrupt or truncated, re-extract it"
            ),
        )
    };
    let mut dec = png::Decoder::new(BufReader::new(file));
    dec.set_transformations(png::Transformations::IDENTITY);
    let mut reader = dec.read_info().map_err(corrupt)?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| data_err(path, "label PNG is too large to decode"))?;
    if size > LABEL_DECODE_LIMIT {
        let info = reader.info();
        return Err(data_err(
            path,
            format!(
                "label PNG header claims {}x{} pixels ({} MiB to decode), above the {} MiB \
                 decode limit (the same as for images); the file is corrupt or not a label map",
                info.width,
                info.height,
                size >> 20,
                LABEL_DECODE_LIMIT >> 20
            ),
        ));
    }
    let mut buf = vec![0u8; size];
    let info = reader.next_frame(&mut buf).map_err(corrupt)?;
    let (w, h) = (info.width as usize, info.height as usize);
    if w == 0 || h == 0 {
        return Err(data_err(path, "label PNG has zero size"));
    }
    let channels = info.color_type.samples();
    let bits = info.bit_depth as usize;
    let mut out = Vec::with_capacity(w * h);
    let mut mixed_rgb = false;
    for y in 0..h {
        let line = &buf[y * info.line_size..(y + 1) * info.line_size];
        for x in 0..w {
            let sample = |c: usize| -> u16 {
                let i = x * channels + c;
                match bits {
                    16 => u16::from_be_bytes([line[2 * i], line[2 * i + 1]]),
                    8 => line[i] as u16,
                    b => {
                        let bit = i * b;
                        let byte = line[bit / 8];
                        let shift = 8 - b - bit % 8;
                        ((byte >> shift) & ((1u8 << b) - 1)) as u16
                    }
                }
            };
            let v = sample(0);
            if channels >= 3 && (sample(1) != v || sample(2) != v) {
                mixed_rgb = true;
            }
            if v > 255 {
                return Err(data_err(
                    path,
                    format!("label id {v} at pixel (x={x}, y={y}) does not fit 8 bits; is this a label file?"),
                ));
            }
            out.push(v as u8);
        }
    }
    if mixed_rgb && encoding == LabelEncoding::Single {
        return Err(data_err(
            path,
            "label PNG is a colour image; expected single-channel label ids \
             (did you point at *_color.png instead of *_labelIds.png?)",
        ));
    }
    Ok(LabelMap {
        width: w as u32,
        height: h as u32,
        data: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::png_out::{write_png_raw, PngPixels};

    #[test]
    fn palette_and_16bit_labels_keep_their_ids() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pal.png");
        let ids = vec![7u8, 26, 0, 33];
        write_png_raw(&p, 2, 2, PngPixels::Palette8(&ids)).unwrap();
        assert_eq!(read_label_png(&p, LabelEncoding::Single).unwrap().data, ids);

        let q = dir.path().join("rgb16.png");
        let rgb16: Vec<u16> = ids.iter().flat_map(|&i| [i as u16, 0, 7]).collect();
        write_png_raw(&q, 2, 2, PngPixels::Rgb16(&rgb16)).unwrap();
        assert_eq!(
            read_label_png(&q, LabelEncoding::FirstChannel)
                .unwrap()
                .data,
            ids
        );
        assert!(read_label_png(&q, LabelEncoding::Single).is_err());
    }
}

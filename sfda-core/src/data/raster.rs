//! Host pixel containers: an 8-bit RGB image (row-major, interleaved) and a
//! label map of train ids, with the geometric ops augmentation needs (crop,
//! pad, horizontal flip). Resampling lives in [`crate::data::resize`].

use crate::data::classes::IGNORE;
use crate::error::{Error, Result};

/// An 8-bit RGB image, `data.len() == width * height * 3`, row-major HWC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Interleaved RGB bytes.
    pub data: Vec<u8>,
}

/// A label map of Cityscapes train ids (or [`IGNORE`]), row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelMap {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// One train id per pixel.
    pub data: Vec<u8>,
}

fn check_len(what: &'static str, got: usize, w: u32, h: u32, ch: usize) -> Result<()> {
    let want = w as usize * h as usize * ch;
    if got != want {
        return Err(Error::shape(
            what,
            format!("{w}x{h}x{ch} needs {want} values, got {got}"),
        ));
    }
    Ok(())
}

/// Crops `ch`-channel row-major pixels to `(x, y, w, h)`, padding with `fill`
/// where the window leaves the source.
#[allow(clippy::too_many_arguments)]
fn crop_pad(
    src: &[u8],
    sw: u32,
    sh: u32,
    ch: usize,
    x: i64,
    y: i64,
    w: u32,
    h: u32,
    fill: u8,
) -> Vec<u8> {
    let mut out = vec![fill; w as usize * h as usize * ch];
    for oy in 0..h as i64 {
        let sy = y + oy;
        if sy < 0 || sy >= sh as i64 {
            continue;
        }
        let x0 = x.max(0);
        let x1 = (x + w as i64).min(sw as i64);
        if x1 <= x0 {
            continue;
        }
        let src_row = (sy as usize * sw as usize + x0 as usize) * ch;
        let dst_row = (oy as usize * w as usize + (x0 - x) as usize) * ch;
        let n = (x1 - x0) as usize * ch;
        out[dst_row..dst_row + n].copy_from_slice(&src[src_row..src_row + n]);
    }
    out
}

fn flip_rows(data: &mut [u8], w: u32, ch: usize) {
    let row = w as usize * ch;
    if row == 0 {
        return;
    }
    for r in data.chunks_mut(row) {
        for x in 0..w as usize / 2 {
            let xr = w as usize - 1 - x;
            for c in 0..ch {
                r.swap(x * ch + c, xr * ch + c);
            }
        }
    }
}

impl RgbImage {
    /// Wraps interleaved RGB bytes, checking their length.
    pub fn new(width: u32, height: u32, data: Vec<u8>) -> Result<Self> {
        check_len("RgbImage::new", data.len(), width, height, 3)?;
        Ok(RgbImage {
            width,
            height,
            data,
        })
    }

    /// A black image.
    pub fn black(width: u32, height: u32) -> Self {
        RgbImage {
            width,
            height,
            data: vec![0; width as usize * height as usize * 3],
        }
    }

    /// The pixel at `(x, y)`.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }

    /// The window `(x, y, w, h)`; parts outside the image are black.
    pub fn crop(&self, x: i64, y: i64, w: u32, h: u32) -> Self {
        RgbImage {
            width: w,
            height: h,
            data: crop_pad(&self.data, self.width, self.height, 3, x, y, w, h, 0),
        }
    }

    /// Mirrors the image left–right in place.
    pub fn flip_horizontal(&mut self) {
        flip_rows(&mut self.data, self.width, 3);
    }
}

impl LabelMap {
    /// Wraps train ids, checking their length.
    pub fn new(width: u32, height: u32, data: Vec<u8>) -> Result<Self> {
        check_len("LabelMap::new", data.len(), width, height, 1)?;
        Ok(LabelMap {
            width,
            height,
            data,
        })
    }

    /// A label map filled with `id`.
    pub fn filled(width: u32, height: u32, id: u8) -> Self {
        LabelMap {
            width,
            height,
            data: vec![id; width as usize * height as usize],
        }
    }

    /// The id at `(x, y)`.
    pub fn get(&self, x: u32, y: u32) -> u8 {
        self.data[y as usize * self.width as usize + x as usize]
    }

    /// The window `(x, y, w, h)`; parts outside the map are [`IGNORE`].
    pub fn crop(&self, x: i64, y: i64, w: u32, h: u32) -> Self {
        LabelMap {
            width: w,
            height: h,
            data: crop_pad(&self.data, self.width, self.height, 1, x, y, w, h, IGNORE),
        }
    }

    /// Mirrors the map left–right in place.
    pub fn flip_horizontal(&mut self) {
        flip_rows(&mut self.data, self.width, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_pads_and_flip_mirrors() {
        let l = LabelMap::new(3, 2, vec![0, 1, 2, 3, 4, 5]).unwrap();
        let c = l.crop(1, -1, 3, 2);
        assert_eq!(c.data, vec![255, 255, 255, 1, 2, 255]);
        let mut f = l.clone();
        f.flip_horizontal();
        assert_eq!(f.data, vec![2, 1, 0, 5, 4, 3]);
        let mut im = RgbImage::new(2, 1, vec![1, 2, 3, 4, 5, 6]).unwrap();
        im.flip_horizontal();
        assert_eq!(im.data, vec![4, 5, 6, 1, 2, 3]);
        assert!(RgbImage::new(2, 2, vec![0; 3]).is_err());
    }
}

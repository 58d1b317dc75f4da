//! Camera effects applied after shading: white balance, exposure, an
//! illumination gradient, vignetting, saturation, contrast, gamma, optical
//! blur and sensor noise; then quantisation to 8 bits.

use crate::data::synth::params::LookParams;
use crate::rng::SeedRng;

/// One pass of the separable 3×3 binomial filter `[1 2 1] / 4`, mixed with
/// the input by `amount` in `[0, 1]`.
fn blur_pass(img: &mut [f32], w: usize, h: usize, amount: f32) {
    if amount <= 0.0 || w < 2 || h < 2 {
        return;
    }
    let mut tmp = vec![0.0f32; img.len()];
    for y in 0..h {
        for x in 0..w {
            let (l, r) = (x.saturating_sub(1), (x + 1).min(w - 1));
            for c in 0..3 {
                let p = |xx: usize| img[(y * w + xx) * 3 + c];
                tmp[(y * w + x) * 3 + c] = 0.25 * p(l) + 0.5 * p(x) + 0.25 * p(r);
            }
        }
    }
    for y in 0..h {
        let (u, d) = (y.saturating_sub(1), (y + 1).min(h - 1));
        for x in 0..w {
            for c in 0..3 {
                let q = |yy: usize| tmp[(yy * w + x) * 3 + c];
                let b = 0.25 * q(u) + 0.5 * q(y) + 0.25 * q(d);
                let i = (y * w + x) * 3 + c;
                img[i] += (b - img[i]) * amount;
            }
        }
    }
}

/// Develops linear RGB (`[0, 255]`, interleaved) into 8-bit pixels.
pub fn develop(
    mut img: Vec<f32>,
    w: usize,
    h: usize,
    look: &LookParams,
    rng: &mut SeedRng,
) -> Vec<u8> {
    let wb: Vec<f32> = (0..3)
        .map(|c| 1.0 + look.wb_bias[c] + rng.uniform(-look.wb_jitter, look.wb_jitter))
        .collect();
    let gain = rng.uniform(look.gain.0, look.gain.1.max(look.gain.0));
    let angle = rng.uniform(0.0, std::f32::consts::TAU);
    let (gx, gy) = (
        angle.cos() * look.light_gradient,
        angle.sin() * look.light_gradient,
    );
    let noise = if look.noise > 0.0 {
        rng.normal_vec(w * h * 3, 0.0, look.noise)
    } else {
        Vec::new()
    };
    let passes = look.blur.max(0.0);
    let mut left = passes;
    while left > 0.0 {
        blur_pass(&mut img, w, h, left.min(1.0));
        left -= 1.0;
    }
    let luma_w = [0.299f32, 0.587, 0.114];
    let mut out = Vec::with_capacity(img.len());
    for y in 0..h {
        let v = y as f32 / h as f32 - 0.5;
        for x in 0..w {
            let u = x as f32 / w as f32 - 0.5;
            let light =
                gain * (1.0 + gx * u + gy * v) * (1.0 - look.vignette * (u * u + v * v) * 2.0);
            let i = (y * w + x) * 3;
            let mut px = [0.0f32; 3];
            for c in 0..3 {
                px[c] = img[i + c] / 255.0 * wb[c] * light;
            }
            let luma = px[0] * luma_w[0] + px[1] * luma_w[1] + px[2] * luma_w[2];
            for (c, p) in px.iter_mut().enumerate() {
                let mut q = luma + (*p - luma) * look.saturation;
                q = (q - 0.5) * look.contrast + 0.5;
                if look.gamma != 1.0 {
                    q = q.max(0.0).powf(look.gamma);
                }
                q = q * 255.0 + noise.get(i + c).copied().unwrap_or(0.0);
                out.push(q.round().clamp(0.0, 255.0) as u8);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synth::params::SOURCE_LOOK;

    #[test]
    fn source_look_is_the_identity() {
        let img: Vec<f32> = (0..4 * 3 * 3).map(|i| (i * 7 % 256) as f32).collect();
        let out = develop(img.clone(), 4, 3, &SOURCE_LOOK, &mut SeedRng::new(0));
        let back: Vec<f32> = out.iter().map(|&v| v as f32).collect();
        assert_eq!(back, img);
    }
}

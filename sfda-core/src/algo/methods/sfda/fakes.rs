//! How fakes enter the segmentation networks, and the picture of them (the
//! paper's Fig. 7: fakes beside the teacher's predictions).

use std::path::Path;

use crate::algo::run_core::RunCore;
use crate::checkpoint::Normalization;
use crate::data::{Grid, LabelMap, RgbImage};
use crate::model::{ForwardOpts, Generator};
use crate::rng::SeedRng;
use crate::tensor::{Backend, Tensor};
use crate::train::labels_to_u8;
use crate::Result;

/// Maps generator outputs in `[-1, 1]` (tanh) to the segmentation networks'
/// input space: RGB in `[0, 1]`, then `(x − mean) / std` per channel.
pub fn fake_to_input<B: Backend>(fake: &Tensor<B>, norm: &Normalization) -> Result<Tensor<B>> {
    let dev = fake.device();
    let scale: Vec<f32> = norm.std.iter().map(|s| 0.5 / s).collect();
    let shift: Vec<f32> = norm
        .mean
        .iter()
        .zip(norm.std)
        .map(|(m, s)| (0.5 - m) / s)
        .collect();
    let scale = Tensor::<B>::from_f32(&scale, &[1, 3, 1, 1], &dev)?;
    let shift = Tensor::<B>::from_f32(&shift, &[1, 3, 1, 1], &dev)?;
    fake.mul(&scale)?.add(&shift)
}

/// Writes a grid of `n` fakes (fixed latents) | the teacher's prediction.
pub fn fake_grid<B: Backend>(
    run: &RunCore<B>,
    generator: &dyn Generator<B>,
    path: &Path,
    n: usize,
) -> Result<()> {
    let mut rng = SeedRng::derive(run.cfg.seed, "fake-grid");
    let z = Tensor::<B>::randn(&[n, run.cfg.latent_dim], 0.0, 1.0, &mut rng, &run.device)?;
    let img = generator.forward(&z, true)?.detach()?;
    let x = fake_to_input(&img, &run.source_meta.normalization)?;
    let pred = run.teacher.forward(&x, ForwardOpts::EVAL)?;
    let labels = labels_to_u8(&pred.logits.argmax_dim(1, false)?)?;
    let s = img.shape();
    let (h, w) = (s[2], s[3]);
    let pixels = img.to_vec()?;
    let mut grid = Grid::new(w as u32, h as u32)
        .with_headers(&["fake (generator)", "teacher prediction"])
        .with_class_legend();
    for i in 0..n {
        let chw = &pixels[i * 3 * h * w..(i + 1) * 3 * h * w];
        let mut data = Vec::with_capacity(h * w * 3);
        for p in 0..h * w {
            for c in 0..3 {
                data.push(
                    (((chw[c * h * w + p] + 1.0) * 0.5).clamp(0.0, 1.0) * 255.0).round() as u8,
                );
            }
        }
        let rgb = RgbImage {
            width: w as u32,
            height: h as u32,
            data,
        };
        let map = LabelMap::new(
            w as u32,
            h as u32,
            labels[i * h * w..(i + 1) * h * w].to_vec(),
        )?;
        let panel = grid.label_panel(&map);
        grid.push_row(vec![rgb, panel]);
    }
    grid.save(path)
}

//! The `predict` job: colourised predictions and side-by-side grids.

use std::path::PathBuf;

use crate::checkpoint::load_seg_model;
use crate::data::{
    colorize, prediction_grid, save_rgb_png, DataLoader, LabelMap, LoaderConfig, Normalize,
};
use crate::job::DataSpec;
use crate::nn::VarStore;
use crate::tensor::Backend;
use crate::train::{batch_images, predict_labels, progress_bar};
use crate::{Error, Result};

/// Predict on images and write pictures.
#[derive(Debug, Clone)]
pub struct PredictJob {
    /// The checkpoint.
    pub checkpoint: PathBuf,
    /// Images (labels used for the grid when present).
    pub images: DataSpec,
    /// Output folder: `<name>_pred.png` per image and `grid.png`.
    pub out: PathBuf,
    /// At most this many images (`None`: all).
    pub limit: Option<usize>,
    /// Rows in `grid.png`.
    pub grid_rows: usize,
    /// Draw a progress bar.
    pub progress: bool,
}

impl PredictJob {
    /// Runs it with backend `B`; returns the number of images predicted.
    pub fn run<B: Backend>(&self, dev: &B::Device) -> Result<usize> {
        let vs = VarStore::<B>::new(dev.clone(), 0);
        let (model, _) = load_seg_model::<B>(&self.checkpoint, &vs.root())?;
        std::fs::create_dir_all(&self.out).map_err(|e| Error::io(&self.out, e))?;
        let loader = DataLoader::new(self.images.open()?, LoaderConfig::eval(4))?;
        let total = loader.dataset().len().min(self.limit.unwrap_or(usize::MAX));
        let bar = progress_bar(total as u64, "predict", self.progress);
        let norm = Normalize::default();
        let mut rows = Vec::new();
        let mut done = 0;
        for batch in loader.epoch(0) {
            if done >= total {
                break;
            }
            let batch = batch?;
            let pred = predict_labels(model.as_ref(), &batch_images::<B>(&batch, dev)?)?;
            let (h, w) = batch.hw();
            for i in 0..batch.len().min(total - done) {
                let map = LabelMap::new(
                    w as u32,
                    h as u32,
                    pred[i * h * w..(i + 1) * h * w].to_vec(),
                )?;
                save_rgb_png(
                    &self.out.join(format!("{}_pred.png", batch.names[i])),
                    &colorize(&map),
                )?;
                if rows.len() < self.grid_rows {
                    let img = norm.to_rgb(batch.image(i), h, w);
                    let gt = batch
                        .label(i)
                        .map(|l| LabelMap::new(w as u32, h as u32, l.to_vec()))
                        .transpose()?;
                    rows.push((img, gt, map));
                }
                done += 1;
                bar.inc(1);
            }
        }
        bar.finish_and_clear();
        let refs: Vec<_> = rows.iter().map(|(i, g, p)| (i, g.as_ref(), p)).collect();
        prediction_grid(&refs).save(&self.out.join("grid.png"))?;
        Ok(done)
    }
}

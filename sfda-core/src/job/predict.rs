//! The `predict` job: colourised predictions and side-by-side grids.

use std::path::PathBuf;

use crate::checkpoint::load_seg_model_reporting;
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

/// What [`PredictJob`] wrote.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PredictSummary {
    /// Images predicted.
    pub images: usize,
    /// Classes of the model.
    pub model_classes: usize,
    /// Classes of the data's class set (the palette's colours).
    pub data_classes: usize,
    /// Predicted pixels of a class the data's class set does not have (a
    /// 21-class model on 19-class data); painted black.
    pub pixels_outside_class_set: u64,
}

impl PredictSummary {
    /// A line for the user when the model has classes the data lacks.
    pub fn class_warning(&self) -> Option<String> {
        (self.model_classes > self.data_classes).then(|| {
            format!(
                "warning: the model has {} classes but the data's class set has {}: predictions \
                 of classes {}..{} ({} pixels) have no colour and are painted black",
                self.model_classes,
                self.data_classes,
                self.data_classes,
                self.model_classes - 1,
                self.pixels_outside_class_set
            )
        })
    }
}

impl PredictJob {
    /// Runs it with backend `B`.
    pub fn run<B: Backend>(&self, dev: &B::Device) -> Result<PredictSummary> {
        let vs = VarStore::<B>::new(dev.clone(), 0);
        let (model, meta, report) = load_seg_model_reporting::<B>(&self.checkpoint, &vs.root())?;
        if self.progress {
            for note in report.notes() {
                eprintln!("{}: {note}", self.checkpoint.display());
            }
        }
        std::fs::create_dir_all(&self.out).map_err(|e| Error::io(&self.out, e))?;
        // The model sees what its sidecar says it was trained on.
        let norm = Normalize::from(meta.normalization);
        let mut lc = LoaderConfig::eval(4);
        lc.transform.normalize = norm;
        let dataset = self.images.open()?;
        let data_classes = dataset.class_set().len();
        let loader = DataLoader::new(dataset, lc)?;
        let mut outside = 0u64;
        let total = loader.dataset().len().min(self.limit.unwrap_or(usize::MAX));
        let bar = progress_bar(total as u64, "predict", self.progress);
        let mut rows = Vec::new();
        let mut done = 0;
        for batch in loader.epoch(0) {
            if done >= total {
                break;
            }
            let batch = batch?;
            let pred = predict_labels(model.as_ref(), &batch_images::<B>(&batch, dev)?)?;
            let (h, w) = batch.hw();
            let shown = batch.len().min(total - done);
            outside += pred[..shown * h * w]
                .iter()
                .filter(|&&c| usize::from(c) >= data_classes)
                .count() as u64;
            for i in 0..shown {
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
        Ok(PredictSummary {
            images: done,
            model_classes: model.num_classes(),
            data_classes,
            pixels_outside_class_set: outside,
        })
    }
}

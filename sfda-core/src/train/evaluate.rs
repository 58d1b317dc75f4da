//! Evaluation of a segmentation model on a labelled split.

use crate::data::{ClassSet, DataLoader};
use crate::metrics::{ConfusionMatrix, SegMetrics};
use crate::model::SegModel;
use crate::tensor::Backend;
use crate::train::batch::{batch_images, predict_labels};
use crate::train::progress::progress_bar;
use crate::{Error, Result};

/// Metrics of one evaluation, with the confusion matrix they come from.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// Scores on the requested class set.
    pub metrics: SegMetrics,
    /// The 19-class confusion matrix (views on other sets derive from it).
    pub confusion: ConfusionMatrix,
    /// Images evaluated.
    pub images: usize,
}

/// Runs `model` (inference mode) over every batch of `loader` and scores the
/// arg-max predictions on `class_set`. `show_progress` draws a bar.
pub fn evaluate<B: Backend>(
    model: &dyn SegModel<B>,
    loader: &DataLoader,
    class_set: ClassSet,
    dev: &B::Device,
    show_progress: bool,
) -> Result<Evaluation> {
    let mut cm = ConfusionMatrix::new(crate::data::NUM_TRAIN_IDS);
    let total = loader.dataset().len();
    let bar = progress_bar(total as u64, "eval", show_progress);
    let mut images = 0;
    let unmapped_before = loader.dataset().unmapped_labels();
    for batch in loader.epoch(0) {
        let batch = batch?;
        let labels = batch.labels.as_ref().ok_or_else(|| Error::Data {
            path: loader.dataset().describe().into(),
            msg: "evaluation needs labels, but this dataset has none".into(),
        })?;
        let x = batch_images::<B>(&batch, dev)?;
        let pred = predict_labels(model, &x)?;
        cm.accumulate(&pred, labels)?;
        images += batch.len();
        bar.inc(batch.len() as u64);
    }
    bar.finish_and_clear();
    let mut metrics = SegMetrics::compute(&cm, class_set)?;
    metrics.unmapped_labels =
        crate::data::ids::unmapped_since(&loader.dataset().unmapped_labels(), &unmapped_before);
    Ok(Evaluation {
        metrics,
        confusion: cm,
        images,
    })
}

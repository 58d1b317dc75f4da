//! [`SegMetrics`]: per-class IoU and accuracy, mIoU, pixel accuracy and mean
//! pixel accuracy of a confusion matrix, on an explicit class set.
//!
//! A 19-class matrix can be viewed on the 16- or 13-class sets: the IoU of
//! each kept class is computed from the full matrix (so a road pixel
//! predicted as terrain still counts against road), and the means run over
//! the kept classes only — the protocol of the SYNTHIA→Cityscapes papers.
//! Pixel accuracy in a view counts the pixels whose ground truth is a kept
//! class.

use serde::{Deserialize, Serialize};

use crate::data::classes::{ClassSet, NUM_TRAIN_IDS, TRAIN_ID_NAMES};
use crate::error::{Error, Result};
use crate::metrics::confusion::ConfusionMatrix;

/// Scores of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassScore {
    /// Class name.
    pub name: String,
    /// Its Cityscapes train id.
    pub train_id: u8,
    /// Intersection over union; `None` when absent from both prediction and
    /// ground truth (excluded from mIoU).
    pub iou: Option<f64>,
    /// Accuracy (recall) `TP / GT`; `None` without ground-truth pixels.
    pub accuracy: Option<f64>,
    /// Ground-truth pixels.
    pub gt_pixels: u64,
    /// Predicted pixels.
    pub pred_pixels: u64,
}

/// Metrics of a confusion matrix on a class set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegMetrics {
    /// The class set of every number here.
    pub class_set: ClassSet,
    /// Per-class scores, in the set's order.
    pub classes: Vec<ClassScore>,
    /// Mean IoU over classes with an IoU (`0` when none has one).
    pub miou: f64,
    /// Pixel accuracy over ground-truth pixels of the set's classes.
    pub pixel_accuracy: f64,
    /// Mean of the per-class accuracies that exist.
    pub mean_accuracy: f64,
    /// Names of classes absent from both prediction and ground truth.
    pub absent: Vec<String>,
    /// Ground-truth pixels evaluated.
    pub pixels: u64,
    /// Pixels whose raw label id was outside the dataset's id table and
    /// became ignore (not evaluated), per raw id (see [`crate::data::ids`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmapped_labels: Vec<(u8, u64)>,
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 {
        0.0
    } else {
        s / n as f64
    }
}

impl SegMetrics {
    /// Computes the metrics. `cm` has either as many classes as `set`
    /// (indices are the set's positions) or 19 (train ids; `set` is then a
    /// view).
    pub fn compute(cm: &ConfusionMatrix, set: ClassSet) -> Result<Self> {
        let ids: Vec<usize> = if cm.n() == set.len() {
            (0..set.len()).collect()
        } else if cm.n() == NUM_TRAIN_IDS {
            set.train_ids().iter().map(|&t| t as usize).collect()
        } else {
            return Err(Error::Config {
                key: "class_set".into(),
                msg: format!(
                    "a {}-class confusion matrix cannot be read on {} ({} classes); \
                     use a 19-class matrix or one of the set's size",
                    cm.n(),
                    set,
                    set.len()
                ),
            });
        };
        let mut classes = Vec::with_capacity(ids.len());
        let (mut tp_sum, mut gt_sum) = (0u64, 0u64);
        for (k, &c) in ids.iter().enumerate() {
            let tp = cm.get(c, c);
            let gt = cm.gt_count(c);
            let pred = cm.pred_count(c);
            let union = gt + pred - tp;
            tp_sum += tp;
            gt_sum += gt;
            let train_id = set.train_ids()[k];
            classes.push(ClassScore {
                name: TRAIN_ID_NAMES[train_id as usize].to_string(),
                train_id,
                iou: (union > 0).then(|| tp as f64 / union as f64),
                accuracy: (gt > 0).then(|| tp as f64 / gt as f64),
                gt_pixels: gt,
                pred_pixels: pred,
            });
        }
        Ok(SegMetrics {
            class_set: set,
            miou: mean(classes.iter().filter_map(|c| c.iou)),
            pixel_accuracy: if gt_sum == 0 {
                0.0
            } else {
                tp_sum as f64 / gt_sum as f64
            },
            mean_accuracy: mean(classes.iter().filter_map(|c| c.accuracy)),
            absent: classes
                .iter()
                .filter(|c| c.iou.is_none())
                .map(|c| c.name.clone())
                .collect(),
            pixels: gt_sum,
            classes,
            unmapped_labels: Vec::new(),
        })
    }

    /// The IoU of a class by name.
    pub fn iou_of(&self, name: &str) -> Option<f64> {
        self.classes
            .iter()
            .find(|c| c.name == name)
            .and_then(|c| c.iou)
    }

    /// Number of classes with an IoU (the mIoU's denominator).
    pub fn scored_classes(&self) -> usize {
        self.classes.iter().filter(|c| c.iou.is_some()).count()
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_uses_full_matrix_and_excludes_absent() {
        let mut cm = ConfusionMatrix::new(19);
        // road: 3 right, 1 predicted as terrain (9, not in the 16-set).
        cm.accumulate(&[0, 0, 0, 9], &[0, 0, 0, 0]).unwrap();
        let m16 = SegMetrics::compute(&cm, ClassSet::Synthia16).unwrap();
        assert_eq!(m16.iou_of("road"), Some(0.75));
        assert_eq!(m16.miou, 0.75);
        assert_eq!(m16.scored_classes(), 1);
        assert_eq!(m16.absent.len(), 15);
        let m19 = SegMetrics::compute(&cm, ClassSet::Cityscapes19).unwrap();
        assert_eq!(m19.iou_of("terrain"), Some(0.0));
        assert_eq!(m19.miou, 0.375);
        assert!(SegMetrics::compute(&ConfusionMatrix::new(7), ClassSet::Synthia13).is_err());
    }
}

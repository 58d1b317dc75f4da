//! Segmentation metrics: a [`ConfusionMatrix`] accumulated over a whole
//! split, and [`SegMetrics`] computed from it on an explicit
//! [`ClassSet`](crate::data::ClassSet)
//! (per-class IoU and accuracy, mIoU, pixel accuracy, mean pixel accuracy),
//! printable as a table whose header names the class set, and serialisable
//! to JSON.
//!
//! A class absent from both prediction and ground truth has no IoU: it is
//! excluded from the means and listed in [`SegMetrics::absent`], never
//! counted as 0 or 1.
//!
//! ```
//! use sfda_core::data::ClassSet;
//! use sfda_core::metrics::{ConfusionMatrix, SegMetrics};
//! let mut cm = ConfusionMatrix::new(19);
//! // predictions, then labels (255 = ignore: the last pixel is not counted)
//! cm.accumulate(&[0, 13, 13, 7], &[0, 0, 13, 255]).unwrap();
//! let m = SegMetrics::compute(&cm, ClassSet::Cityscapes19).unwrap();
//! assert_eq!(m.iou_of("road"), Some(0.5));
//! assert_eq!(m.iou_of("car"), Some(0.5));
//! assert_eq!(m.iou_of("traffic sign"), None); // absent: excluded from mIoU
//! assert_eq!(m.miou, 0.5);
//! assert_eq!(m.absent.len(), 17);
//! ```

pub mod confusion;
pub mod scores;
pub mod table;

pub use confusion::ConfusionMatrix;
pub use scores::{ClassScore, SegMetrics};

//! Supervised training and evaluation of segmentation networks: the source
//! model the method starts from ([`train_source`]), evaluation on a labelled
//! split ([`evaluate`]) and the glue between host [`Batch`]es and backend
//! tensors.
//!
//! [`Batch`]: crate::data::Batch

mod batch;
mod cross_entropy;
mod evaluate;
mod log;
mod progress;
mod source;

pub use batch::{batch_images, labels_to_u8, predict_labels};
pub use cross_entropy::cross_entropy_ignore;
pub use evaluate::{evaluate, Evaluation};
pub use log::JsonLog;
pub use progress::{progress_bar, spinner};
pub use source::{train_source, TrainSourceConfig, TrainSourceSummary};

//! Host batches to backend tensors and predictions back to host labels.

use crate::data::Batch;
use crate::model::{ForwardOpts, SegModel};
use crate::tensor::{no_grad, Backend, Tensor};
use crate::Result;

/// The images of `batch` as a `[B, 3, H, W]` tensor on `dev`.
pub fn batch_images<B: Backend>(batch: &Batch, dev: &B::Device) -> Result<Tensor<B>> {
    Tensor::from_f32(&batch.images, &batch.shape, dev)
}

/// Converts a tensor of class indices (as `f32`) to `u8` train ids.
pub fn labels_to_u8<B: Backend>(indices: &Tensor<B>) -> Result<Vec<u8>> {
    Ok(indices
        .to_vec()?
        .into_iter()
        .map(|v| v.clamp(0.0, 254.0) as u8)
        .collect())
}

/// Arg-max predictions `[B·H·W]` of `model` on `images`, inference mode
/// (no autodiff history recorded).
pub fn predict_labels<B: Backend>(model: &dyn SegModel<B>, images: &Tensor<B>) -> Result<Vec<u8>> {
    let out = no_grad::<B, _>(|| model.forward(&images.detach()?, ForwardOpts::EVAL))?;
    labels_to_u8(&out.logits.argmax_dim(1, false)?)
}

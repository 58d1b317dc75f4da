//! The four networks of an adaptation run and how fakes enter the
//! segmentation networks.

use crate::checkpoint::{CheckpointMeta, Normalization};
use crate::model::{Discriminator, Generator, SegModel};
use crate::tensor::{Backend, Tensor};
use crate::Result;

/// Teacher `S̃` (frozen source model), student `S`/`T`, generator `G`,
/// discriminator `D` (absent without IPSM).
pub struct SfdaModels<B: Backend> {
    /// The frozen source model (always BN eval mode, never updated).
    pub teacher: Box<dyn SegModel<B>>,
    /// The adapted model.
    pub student: Box<dyn SegModel<B>>,
    /// The fake-image generator.
    pub generator: Box<dyn Generator<B>>,
    /// The IPSM patch discriminator.
    pub discriminator: Option<Box<dyn Discriminator<B>>>,
    /// The source checkpoint's metadata (normalisation, class set...).
    pub source_meta: CheckpointMeta,
}

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

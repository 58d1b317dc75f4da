//! Class-balanced pseudo-labels for self-training (CBST, Zou, Yu, Kumar &
//! Wang, ECCV 2018, §3.2–3.3), computed on the host from softmax
//! probabilities, without source data:
//!
//! ```text
//! k_c = the confidence of the ⌈portion·N_c⌉-th most confident of the
//!       N_c pixels predicted as c                       (class-wise threshold)
//! ŷ   = argmax_c p_c / k_c,  kept iff p_ŷ ≥ k_ŷ, else ignored (255)
//! ```
//!
//! Each class thus contributes (about) its `portion` most confident pixels,
//! whatever its frequency, instead of a single global threshold that rare
//! classes never reach. The self-training loss is the cross-entropy of the
//! model's prediction against `ŷ` on the kept pixels
//! ([`crate::train::cross_entropy_ignore`]).

use crate::data::IGNORE;
use crate::{Error, Result};

/// Per-class confidences of predicted pixels, accumulated over batches, to
/// estimate CBST's class-wise thresholds from more than one batch.
#[derive(Debug, Clone)]
pub struct ClassConfidences {
    per_class: Vec<Vec<f32>>,
}

impl ClassConfidences {
    /// An empty accumulator for `classes` classes.
    pub fn new(classes: usize) -> Self {
        ClassConfidences {
            per_class: vec![Vec::new(); classes],
        }
    }

    /// Adds the pixels of `probs [batch, classes, H·W]`: each pixel's maximum
    /// probability goes to the list of its argmax class.
    pub fn add(&mut self, probs: &[f32], batch: usize) -> Result<()> {
        let classes = self.per_class.len();
        let per_class = &mut self.per_class;
        for_each_pixel(probs, batch, classes, |px| {
            let (c, p) = argmax(px);
            per_class[c].push(p);
        })
    }

    /// Pixels predicted as each class so far.
    pub fn counts(&self) -> Vec<usize> {
        self.per_class.iter().map(Vec::len).collect()
    }

    /// The thresholds `k_c`: the confidence of the `⌈portion·N_c⌉`-th most
    /// confident of class `c`'s pixels (so that share of them is kept); 1 for
    /// a class no pixel predicts (nothing is labelled with it).
    pub fn thresholds(&self, portion: f64) -> Result<Vec<f32>> {
        if !(portion > 0.0 && portion <= 1.0) {
            return Err(Error::Config {
                key: "method.portion".into(),
                msg: format!("must lie in (0, 1], got {portion}"),
            });
        }
        Ok(self
            .per_class
            .iter()
            .map(|v| {
                if v.is_empty() {
                    return 1.0;
                }
                let mut v = v.clone();
                v.sort_by(|a, b| b.total_cmp(a));
                let i = ((portion * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
                v[i]
            })
            .collect())
    }
}

/// Class-wise confidence thresholds `k_c` of probabilities `probs` laid out
/// `[batch, classes, H·W]` (row-major); see [`ClassConfidences::thresholds`].
pub fn class_balanced_thresholds(
    probs: &[f32],
    batch: usize,
    classes: usize,
    portion: f64,
) -> Result<Vec<f32>> {
    let mut acc = ClassConfidences::new(classes);
    acc.add(probs, batch)?;
    acc.thresholds(portion)
}

/// Pseudo-labels of `probs [batch, C, H·W]` under `thresholds` (one per class):
/// `argmax_c p_c / k_c` where `p_ŷ ≥ k_ŷ`, [`IGNORE`] elsewhere; `B·H·W`
/// labels in image-major, row-major order (the order
/// [`crate::train::cross_entropy_ignore`] expects).
pub fn class_balanced_pseudo_labels(
    probs: &[f32],
    batch: usize,
    thresholds: &[f32],
) -> Result<Vec<u8>> {
    let classes = thresholds.len();
    if classes == 0 || classes > IGNORE as usize {
        return Err(Error::msg(format!(
            "pseudo-labels need 1..{} class thresholds, got {classes}",
            IGNORE
        )));
    }
    let mut out = Vec::with_capacity(probs.len() / classes);
    for_each_pixel(probs, batch, classes, |px| {
        let mut best = (0usize, f32::MIN);
        for (c, (&p, &k)) in px.iter().zip(thresholds).enumerate() {
            let r = p / k.max(1e-12);
            if r > best.1 {
                best = (c, r);
            }
        }
        out.push(if best.1 >= 1.0 { best.0 as u8 } else { IGNORE });
    })?;
    Ok(out)
}

fn argmax(px: &[f32]) -> (usize, f32) {
    px.iter()
        .enumerate()
        .fold((0, f32::MIN), |b, (c, &p)| if p > b.1 { (c, p) } else { b })
}

/// Calls `f` with the `classes` probabilities of every pixel of
/// `[batch, classes, N]` data, image by image, pixel by pixel.
fn for_each_pixel(
    probs: &[f32],
    batch: usize,
    classes: usize,
    mut f: impl FnMut(&[f32]),
) -> Result<()> {
    if batch == 0 || classes == 0 || probs.len() % (batch * classes) != 0 {
        return Err(Error::shape(
            "pseudo_label",
            format!(
                "{} probabilities do not split into {batch} images of {classes} classes",
                probs.len()
            ),
        ));
    }
    let n = probs.len() / (batch * classes);
    let mut px = vec![0f32; classes];
    for img in probs.chunks_exact(classes * n) {
        for i in 0..n {
            for (c, v) in px.iter_mut().enumerate() {
                *v = img[c * n + i];
            }
            f(&px);
        }
    }
    Ok(())
}

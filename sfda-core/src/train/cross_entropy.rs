//! Pixel-wise cross-entropy with an ignore label, the supervised loss of the
//! source model.

use crate::data::IGNORE;
use crate::tensor::{Backend, Tensor};
use crate::{Error, Result};

/// Mean cross-entropy of `logits [B, C, H, W]` against `labels` (`B·H·W`
/// train ids; [`IGNORE`] pixels excluded). Returns 0 when every pixel is
/// ignored. A label `>= C` other than [`IGNORE`] is an error naming it.
///
/// `L = −(1/|valid|) Σ_valid log softmax(logits)[label]`, computed as a
/// masked sum against a one-hot map built on the host.
pub fn cross_entropy_ignore<B: Backend>(logits: &Tensor<B>, labels: &[u8]) -> Result<Tensor<B>> {
    let s = logits.shape();
    if s.len() != 4 {
        return Err(Error::shape(
            "cross_entropy",
            format!("logits must be [B,C,H,W], got {s:?}"),
        ));
    }
    let (b, c, h, w) = (s[0], s[1], s[2], s[3]);
    let hw = h * w;
    if labels.len() != b * hw {
        return Err(Error::shape(
            "cross_entropy",
            format!(
                "{} labels for logits {s:?} ({} pixels)",
                labels.len(),
                b * hw
            ),
        ));
    }
    let mut onehot = vec![0f32; b * c * hw];
    let mut valid = 0usize;
    for (i, &l) in labels.iter().enumerate() {
        if l == IGNORE {
            continue;
        }
        let l = l as usize;
        if l >= c {
            return Err(Error::msg(format!(
                "label id {l} at pixel {i} is not a class of a {c}-class model (use 255 to ignore)"
            )));
        }
        let (bi, p) = (i / hw, i % hw);
        onehot[(bi * c + l) * hw + p] = 1.0;
        valid += 1;
    }
    let dev = logits.device();
    if valid == 0 {
        return logits.sum_all()?.scale(0.0);
    }
    let mask = Tensor::from_f32(&onehot, &s, &dev)?;
    logits
        .log_softmax(1)?
        .mul(&mask)?
        .sum_all()?
        .scale(-1.0 / valid as f64)
}

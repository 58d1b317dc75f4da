//! The parameter-free dual attention module (DAM) of the paper (sec. 3.2.2,
//! eq. 8–10), which dual attention distillation (eq. 6, 7) compares between
//! networks.
//!
//! A feature map `F [B, C, H, W]` is read per image as an `N × C` matrix
//! (`N = H·W`, row `n` = the feature vector at position `n`, row-major over
//! `(h, w)`). Then
//!
//! ```text
//! s_ji = exp(F_i · F_j) / Σ_i exp(F_i · F_j)        S = softmax_rows(F·Fᵀ)  N×N   (eq. 8)
//! r_ji = exp(F_:i · F_:j) / Σ_i exp(F_:i · F_:j)    R = softmax_rows(Fᵀ·F)  C×C   (eq. 9)
//! A    = concat(S·F, F·Rᵀ)                                             N×2C  (eq. 10)
//! ```
//!
//! `s_ji` is the impact of position `i` on position `j`, so row `j` of `S·F`
//! is the attention-weighted mix of feature vectors seen from `j`; `r_ji` is
//! the impact of channel `i` on channel `j`, so column `j` of `F·Rᵀ` mixes the
//! channels seen from `j`. (The paper writes `concat(F·S | R·F)` with `F` read
//! as `C × N`. Its channel term `R·F` is our `F·Rᵀ` transposed. Its
//! position term is not: `F·S` transposed is `Sᵀ·F`, which would mix with
//! the columns of `S` (impact *from* `j`), against eq. 8's normalisation over
//! `i`. We compute `S·F`, i.e. `F·Sᵀ` in the paper's orientation, the
//! position attention of DANet that the DAM follows.)
//!
//! **Feature scaling** (the paper is silent): on raw backbone features
//! (thousands of channels, post-ReLU) the dot products are in the hundreds and
//! both softmaxes saturate to one-hot rows, whose gradient vanishes. The
//! affinities are therefore computed from scaled features, chosen by
//! [`FeatureScale`]; the default, [`FeatureScale::CosineTemperature`] with
//! `t = 0.1`, uses cosine similarities (in `[-1, 1]`) divided by `0.1`, so
//! logits lie in `[-10, 10]`: peaked but not saturated. Scaling only affects
//! the affinities `S` and `R`; the values multiplied by them in eq. 10 are
//! the raw features, so `A` keeps the feature scale.

use serde::{Deserialize, Serialize};

use crate::tensor::{Backend, Tensor};
use crate::{Error, Result};

/// How features are scaled before the products `F·Fᵀ` and `Fᵀ·F`.
///
/// In TOML: `scale = "none"`, `scale = "l2_normalize"`,
/// `scale = { temperature = 16.0 }` or `scale = { cosine_temperature = 0.1 }`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureScale {
    /// Raw dot products, literally eq. 8–9 (saturates on real features).
    None,
    /// Cosine similarity: each position's feature vector (for `S`) and each
    /// channel's spatial map (for `R`) is divided by its L2 norm, so every
    /// logit lies in `[-1, 1]` (close to uniform attention for large `N`).
    L2Normalize,
    /// Raw dot products divided by a temperature `t > 0` (e.g. `√C`, as in
    /// scaled dot-product attention).
    Temperature(f32),
    /// Cosine similarity (as [`FeatureScale::L2Normalize`]) divided by a
    /// temperature `t > 0`. Default: `t = 0.1`.
    CosineTemperature(f32),
}

impl Default for FeatureScale {
    fn default() -> Self {
        FeatureScale::CosineTemperature(0.1)
    }
}

impl FeatureScale {
    /// Checks that a temperature is finite and positive.
    pub fn validate(&self) -> Result<()> {
        match *self {
            FeatureScale::Temperature(t) | FeatureScale::CosineTemperature(t)
                if !(t.is_finite() && t > 0.0) =>
            {
                Err(Error::Config {
                    key: "scale".into(),
                    msg: format!("attention temperature must be finite and > 0, got {t}"),
                })
            }
            _ => Ok(()),
        }
    }

    fn normalizes(&self) -> bool {
        matches!(
            self,
            FeatureScale::L2Normalize | FeatureScale::CosineTemperature(_)
        )
    }

    fn temperature(&self) -> Option<f32> {
        match *self {
            FeatureScale::Temperature(t) | FeatureScale::CosineTemperature(t) => Some(t),
            _ => None,
        }
    }
}

/// Squared-norm epsilon of the L2 normalisation (keeps all-zero vectors,
/// common after ReLU, finite: they map to zero).
const NORM_EPS: f64 = 1e-12;

/// The dual attention of a batch of feature maps (eq. 8–10), kept as
/// pre-softmax affinities so that both the attention maps and their
/// log-probabilities (for the KL of eq. 7) are available without `log(0)`.
#[derive(Debug, Clone)]
pub struct DualAttention<B: Backend> {
    features: Tensor<B>,
    spatial_logits: Tensor<B>,
    channel_logits: Tensor<B>,
}

impl<B: Backend> DualAttention<B> {
    /// Computes the affinities of `features [B, C, H, W]`.
    pub fn new(features: &Tensor<B>, scale: FeatureScale) -> Result<Self> {
        scale.validate()?;
        let s = features.shape();
        if s.len() != 4 {
            return Err(Error::shape(
                "dual_attention",
                format!("expected a feature map [B, C, H, W], got {s:?}"),
            ));
        }
        let (b, c, h, w) = (s[0], s[1], s[2], s[3]);
        // [B, C, H, W] -> [B, N, C]
        let f = features.permute(&[0, 2, 3, 1])?.reshape(&[b, h * w, c])?;

        // eq. 8: affinities between positions (rows of F).
        let fq = if scale.normalizes() {
            l2_normalize(&f, 2)?
        } else {
            f.clone()
        };
        let mut spatial_logits = fq.matmul(&fq.transpose(1, 2)?)?; // [B, N, N]

        // eq. 9: affinities between channels (columns of F).
        let fc = if scale.normalizes() {
            l2_normalize(&f, 1)?
        } else {
            f.clone()
        };
        let mut channel_logits = fc.transpose(1, 2)?.matmul(&fc)?; // [B, C, C]

        if let Some(t) = scale.temperature() {
            spatial_logits = spatial_logits.scale(1.0 / t as f64)?;
            channel_logits = channel_logits.scale(1.0 / t as f64)?;
        }
        Ok(DualAttention {
            features: f,
            spatial_logits,
            channel_logits,
        })
    }

    /// The features as `[B, N, C]` (position-major, as the paper's `F`).
    pub fn features(&self) -> &Tensor<B> {
        &self.features
    }
    /// Pre-softmax spatial affinities `[B, N, N]` (scaled `F·Fᵀ`).
    pub fn spatial_logits(&self) -> &Tensor<B> {
        &self.spatial_logits
    }
    /// Pre-softmax channel affinities `[B, C, C]` (scaled `Fᵀ·F`).
    pub fn channel_logits(&self) -> &Tensor<B> {
        &self.channel_logits
    }
    /// The spatial attention map `S [B, N, N]`, rows summing to 1 (eq. 8).
    pub fn spatial(&self) -> Result<Tensor<B>> {
        self.spatial_logits.softmax(2)
    }
    /// The channel attention map `R [B, C, C]`, rows summing to 1 (eq. 9).
    pub fn channel(&self) -> Result<Tensor<B>> {
        self.channel_logits.softmax(2)
    }
    /// `log S`, computed stably from the affinities.
    pub fn log_spatial(&self) -> Result<Tensor<B>> {
        self.spatial_logits.log_softmax(2)
    }
    /// `log R`, computed stably from the affinities.
    pub fn log_channel(&self) -> Result<Tensor<B>> {
        self.channel_logits.log_softmax(2)
    }
    /// The dual attention map `A = concat(S·F, F·Rᵀ)`, `[B, N, 2C]` (eq. 10).
    pub fn map(&self) -> Result<Tensor<B>> {
        let spatial = self.spatial()?.matmul(&self.features)?; // [B, N, C]
        let channel = self.features.matmul(&self.channel()?.transpose(1, 2)?)?; // [B, N, C]
        Tensor::cat(&[spatial, channel], 2)
    }
}

/// The dual attention map `A [B, N, 2C]` of `features [B, C, H, W]`
/// (eq. 8–10); shorthand for [`DualAttention::new`] + [`DualAttention::map`].
pub fn dual_attention<B: Backend>(features: &Tensor<B>, scale: FeatureScale) -> Result<Tensor<B>> {
    DualAttention::new(features, scale)?.map()
}

/// `x / sqrt(Σ_dim x² + ε)` along `dim`.
fn l2_normalize<B: Backend>(x: &Tensor<B>, dim: usize) -> Result<Tensor<B>> {
    let norm = x
        .sqr()?
        .sum_dims(&[dim], true)?
        .add_scalar(NORM_EPS)?
        .sqrt()?;
    x.div(&norm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Wrap {
        scale: FeatureScale,
    }

    #[test]
    fn feature_scale_reads_from_toml() {
        let parse = |s: &str| toml::from_str::<Wrap>(s).map(|w| w.scale);
        assert_eq!(parse("scale = \"none\"").unwrap(), FeatureScale::None);
        assert_eq!(
            parse("scale = \"l2_normalize\"").unwrap(),
            FeatureScale::L2Normalize
        );
        assert_eq!(
            parse("scale = { temperature = 16.0 }").unwrap(),
            FeatureScale::Temperature(16.0)
        );
        assert_eq!(
            parse("scale = { cosine_temperature = 0.5 }").unwrap(),
            FeatureScale::CosineTemperature(0.5)
        );
        assert!(parse("scale = \"softmax\"").is_err());
    }

    #[test]
    fn temperatures_must_be_positive() {
        assert!(FeatureScale::Temperature(0.0).validate().is_err());
        assert!(FeatureScale::CosineTemperature(-1.0).validate().is_err());
        assert!(FeatureScale::CosineTemperature(f32::NAN)
            .validate()
            .is_err());
        assert!(FeatureScale::default().validate().is_ok());
    }
}

//! # sfda-plugin-attention-transfer
//!
//! A cdylib plugin adding the distillation loss `attention_transfer`:
//! activation-based attention transfer (Zagoruyko & Komodakis, "Paying More
//! Attention to Attention", ICLR 2017, eq. 2) between the frozen teacher's
//! and the student's backbone features on the same fake batch.
//!
//! For a feature map `F [B, C, H, W]` the spatial attention map is
//! `Q(F) = mean_c |F_c|^p` flattened to `[B, H·W]`, normalised per image to
//! unit L2 norm. The loss is `mean_{b,i} (Q̂(F_s) − Q̂(F_t))²` (the reference
//! implementation's `(at(x) − at(y)).pow(2).mean()`), where both maps are
//! first adaptive-average pooled to a common size when they differ (or to
//! `pool` when it is set).
//!
//! Options (TOML table of the `[[extra_losses]]` entry, unknown keys are
//! errors):
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `p` | `2.0` | exponent of `|F|` before the channel mean (> 0) |
//! | `pool` | none | pool both attention inputs to `[h, w]` first |
//! | `eps` | `1e-6` | added to the norm before dividing |
//!
//! Build it together with the binary, `cargo build --release -p sfda -p
//! sfda-plugin-attention-transfer`, and load it with `--plugin
//! target/release/libsfda_plugin_attention_transfer.so` (see README.md).

#![warn(missing_docs)]

use serde::Deserialize;
use sfda_plugin::sfda_core::loss::{toml, DistillInputs, DistillLoss};
use sfda_plugin::sfda_core::{Backend, Error, Result, Tensor};

/// Options of [`AttentionTransfer`].
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttentionTransferOptions {
    /// Exponent of `|F|` before the channel mean.
    pub p: f64,
    /// Pool both feature maps to `[h, w]` before computing the maps.
    pub pool: Option<[usize; 2]>,
    /// Added to the L2 norm before normalising.
    pub eps: f64,
}

impl Default for AttentionTransferOptions {
    fn default() -> Self {
        AttentionTransferOptions {
            p: 2.0,
            pool: None,
            eps: 1e-6,
        }
    }
}

/// The attention transfer loss.
#[derive(Debug, Clone)]
pub struct AttentionTransfer {
    options: AttentionTransferOptions,
}

impl AttentionTransfer {
    /// A loss with checked options.
    pub fn new(options: AttentionTransferOptions) -> Result<Self> {
        let bad = |msg: String| Error::Config {
            key: "attention_transfer".into(),
            msg,
        };
        if !(options.p.is_finite() && options.p > 0.0) {
            return Err(bad(format!(
                "p must be a positive number, got {}",
                options.p
            )));
        }
        if !(options.eps.is_finite() && options.eps >= 0.0) {
            return Err(bad(format!("eps must be ≥ 0, got {}", options.eps)));
        }
        if let Some([h, w]) = options.pool {
            if h == 0 || w == 0 {
                return Err(bad(format!("pool must be positive, got [{h}, {w}]")));
            }
        }
        Ok(AttentionTransfer { options })
    }

    /// Builds the loss from its TOML options (the registered constructor).
    pub fn build<B: Backend>(options: &toml::Value) -> Result<Box<dyn DistillLoss<B>>> {
        let o: AttentionTransferOptions =
            options
                .clone()
                .try_into()
                .map_err(|e: toml::de::Error| Error::Config {
                    key: "attention_transfer".into(),
                    msg: format!("invalid options: {}", e.message()),
                })?;
        Ok(Box::new(AttentionTransfer::new(o)?))
    }

    /// The normalised attention map `Q̂(F)` of `f [B, C, H, W]` as `[B, h·w]`,
    /// after pooling to `size`.
    pub fn attention_map<B: Backend>(
        &self,
        f: &Tensor<B>,
        size: (usize, usize),
    ) -> Result<Tensor<B>> {
        let s = f.shape();
        if s.len() != 4 {
            return Err(Error::shape(
                "attention_transfer",
                format!("expected features [B, C, H, W], got {s:?}"),
            ));
        }
        let f = if (s[2], s[3]) != size {
            f.adaptive_avg_pool2d(size)?
        } else {
            f.clone()
        };
        let a = if self.options.p == 2.0 {
            f.sqr()?
        } else {
            f.abs()?.powf(self.options.p)?
        };
        let q = a
            .mean_dims(&[1], false)?
            .reshape(&[s[0], size.0 * size.1])?;
        let norm = q
            .sqr()?
            .sum_dims(&[1], true)?
            .sqrt()?
            .add_scalar(self.options.eps)?;
        q.div(&norm)
    }
}

impl<B: Backend> DistillLoss<B> for AttentionTransfer {
    fn name(&self) -> &str {
        "attention_transfer"
    }
    fn compute(&self, inputs: &DistillInputs<'_, B>) -> Result<Tensor<B>> {
        let t = &inputs.teacher_fake.features;
        let s = &inputs.student_fake.features;
        let (ts, ss) = (t.shape(), s.shape());
        if ts.len() != 4 || ss.len() != 4 || ts[0] != ss[0] {
            return Err(Error::shape(
                "attention_transfer",
                format!("teacher features {ts:?} and student features {ss:?} must be [B, C, H, W] with the same B"),
            ));
        }
        let size = match self.options.pool {
            Some([h, w]) => (h, w),
            None => (ts[2].min(ss[2]), ts[3].min(ss[3])),
        };
        let qs = self.attention_map(s, size)?;
        let qt = self.attention_map(t, size)?;
        qs.sub(&qt)?.sqr()?.mean_all()
    }
}

sfda_plugin::register_loss! {
    name: "attention_transfer",
    summary: "attention transfer (Zagoruyko & Komodakis, ICLR 2017) between teacher and student features",
    make: AttentionTransfer::build,
}

sfda_plugin::declare_plugin!();

#[cfg(test)]
mod tests {
    use super::*;
    use sfda_plugin::sfda_core::{grad, DeviceSpec, SegOutput, Var};
    use sfda_plugin::{CandleBackend, TchBackend};

    fn output<B: Backend>(features: Tensor<B>) -> SegOutput<B> {
        let dev = features.device();
        SegOutput {
            logits: Tensor::zeros(&[1, 1, 1, 1], &dev).unwrap(),
            features,
            bn_stats: Vec::new(),
        }
    }

    /// Value against a hand computation, zero for equal maps, and a gradient
    /// that reaches the student's features.
    fn value_and_gradient<B: Backend>() -> Result<()> {
        let dev = B::device(DeviceSpec::Cpu)?;
        let loss = AttentionTransfer::build::<B>(&toml::Value::Table(Default::default()))?;
        // One image, one channel, 1×2: Q = [1, 4] → [1, 4]/√17; teacher [1, 1]/√2.
        let s = Var::<B>::new(&Tensor::from_f32(&[1.0, 2.0], &[1, 1, 1, 2], &dev)?)?;
        let t = Tensor::<B>::from_f32(&[1.0, -1.0], &[1, 1, 1, 2], &dev)?;
        let (so, to) = (output(s.tensor()), output(t.clone()));
        let v = loss.compute(&DistillInputs::new(&to, &so))?;
        let r17 = 17f64.sqrt();
        let r2 = 2f64.sqrt();
        let expect = ((1.0 / r17 - 1.0 / r2).powi(2) + (4.0 / r17 - 1.0 / r2).powi(2)) / 2.0;
        assert!(
            (v.to_scalar()? as f64 - expect).abs() < 1e-5,
            "{} vs {expect}",
            v.to_scalar()?
        );
        let g = grad(&v, &[&s])?;
        assert!(g[0]
            .as_ref()
            .unwrap()
            .to_vec()?
            .iter()
            .any(|x| x.abs() > 1e-4));
        let same = loss.compute(&DistillInputs::new(&to, &output(t)))?;
        assert!(same.to_scalar()?.abs() < 1e-7);
        Ok(())
    }

    /// Different feature sizes are pooled to the smaller one.
    fn pools_to_a_common_size<B: Backend>() -> Result<()> {
        let dev = B::device(DeviceSpec::Cpu)?;
        let loss = AttentionTransfer::build::<B>(&toml::Value::Table(Default::default()))?;
        let t = Tensor::<B>::ones(&[2, 3, 4, 8], &dev)?;
        let s = Tensor::<B>::ones(&[2, 5, 2, 4], &dev)?;
        let v = loss.compute(&DistillInputs::new(&output(t), &output(s)))?;
        assert!(v.to_scalar()?.abs() < 1e-7);
        Ok(())
    }

    #[test]
    fn tch_value_and_gradient() -> Result<()> {
        value_and_gradient::<TchBackend>()
    }
    #[test]
    fn candle_value_and_gradient() -> Result<()> {
        value_and_gradient::<CandleBackend>()
    }
    #[test]
    fn tch_pools_to_a_common_size() -> Result<()> {
        pools_to_a_common_size::<TchBackend>()
    }
    #[test]
    fn candle_pools_to_a_common_size() -> Result<()> {
        pools_to_a_common_size::<CandleBackend>()
    }

    #[test]
    fn bad_options_are_named() {
        let o: toml::Value = toml::from_str("q = 3").unwrap();
        let e = AttentionTransfer::build::<TchBackend>(&o)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("q"), "{e}");
        let o: toml::Value = toml::from_str("p = -1.0").unwrap();
        assert!(AttentionTransfer::build::<TchBackend>(&o).is_err());
    }
}

//! Weight initialisers. Values are sampled on the host from a [`SeedRng`],
//! so every backend starts from identical weights for the same seed.
//!
//! Kaiming (He) initialisation: He, Zhang, Ren & Sun, "Delving Deep into
//! Rectifiers", ICCV 2015. [`Init::TorchDefault`] reproduces PyTorch's default
//! for `Conv2d`/`Linear` weights (`kaiming_uniform_(a = √5)`).

use crate::rng::SeedRng;

/// How a new variable is filled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// Every entry equal to the value.
    Const(f32),
    /// `N(mean, std²)`.
    Normal {
        /// Mean.
        mean: f32,
        /// Standard deviation.
        std: f32,
    },
    /// Uniform in `[lo, hi)`.
    Uniform {
        /// Lower bound.
        lo: f32,
        /// Upper bound.
        hi: f32,
    },
    /// He normal for ReLU, `fan_out` mode: `N(0, 2 / fan_out)` (torchvision's
    /// ResNet and VGG convolutions).
    KaimingNormalFanOut,
    /// PyTorch's default weight init: `U(-1/√fan_in, 1/√fan_in)`.
    TorchDefault,
    /// PyTorch's default bias init for a layer of the given `fan_in`:
    /// `U(-1/√fan_in, 1/√fan_in)`.
    TorchDefaultBias {
        /// Fan-in of the layer the bias belongs to.
        fan_in: usize,
    },
}

impl Init {
    /// Samples `shape.iter().product()` values.
    pub fn sample(&self, shape: &[usize], rng: &mut SeedRng) -> Vec<f32> {
        let n: usize = shape.iter().product();
        match *self {
            Init::Const(v) => vec![v; n],
            Init::Normal { mean, std } => rng.normal_vec(n, mean, std),
            Init::Uniform { lo, hi } => rng.uniform_vec(n, lo, hi),
            Init::KaimingNormalFanOut => {
                let (_, fan_out) = fans(shape);
                rng.normal_vec(n, 0.0, (2.0 / fan_out.max(1) as f32).sqrt())
            }
            Init::TorchDefault => {
                let (fan_in, _) = fans(shape);
                let b = 1.0 / (fan_in.max(1) as f32).sqrt();
                rng.uniform_vec(n, -b, b)
            }
            Init::TorchDefaultBias { fan_in } => {
                let b = 1.0 / (fan_in.max(1) as f32).sqrt();
                rng.uniform_vec(n, -b, b)
            }
        }
    }
}

/// `(fan_in, fan_out)` of a weight `[out, in, k...]` as PyTorch computes them.
pub(crate) fn fans(shape: &[usize]) -> (usize, usize) {
    match shape.len() {
        0 => (1, 1),
        1 => (shape[0], shape[0]),
        _ => {
            let rf: usize = shape[2..].iter().product();
            (shape[1] * rf, shape[0] * rf)
        }
    }
}

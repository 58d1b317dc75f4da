//! The JSON sidecar of a checkpoint: what network the weights belong to, how
//! its inputs are normalised, and where the weights came from.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::data::Normalize;
use crate::model::SegModel;
use crate::tensor::Backend;

/// Format tag written into every sidecar.
pub const FORMAT: &str = "sfda-checkpoint";
/// Current sidecar version.
pub const VERSION: u32 = 1;

/// Per-channel input normalisation `x' = (x − mean) / std` of RGB in `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Normalization {
    /// Channel means (R, G, B).
    pub mean: [f32; 3],
    /// Channel standard deviations (R, G, B).
    pub std: [f32; 3],
}

impl Default for Normalization {
    /// ImageNet statistics, as torchvision's pretrained backbones expect.
    fn default() -> Self {
        Normalization {
            mean: [0.485, 0.456, 0.406],
            std: [0.229, 0.224, 0.225],
        }
    }
}

impl Normalization {
    /// Checks every mean is finite and every standard deviation finite and
    /// positive; the error names the offending key.
    pub fn check(&self) -> std::result::Result<(), String> {
        for (c, (&m, &sd)) in self.mean.iter().zip(&self.std).enumerate() {
            if !m.is_finite() {
                return Err(format!("normalization.mean[{c}] is {m}; it must be finite"));
            }
            if !(sd.is_finite() && sd > 0.0) {
                return Err(format!(
                    "normalization.std[{c}] is {sd}; it must be finite and positive"
                ));
            }
        }
        Ok(())
    }
}

impl From<Normalization> for Normalize {
    /// The data pipeline's normalisation that feeds a model what its sidecar
    /// says it was trained on.
    fn from(n: Normalization) -> Self {
        Normalize {
            mean: n.mean,
            std: n.std,
        }
    }
}

/// Image size the model was trained at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSize {
    /// Height in pixels.
    pub height: usize,
    /// Width in pixels.
    pub width: usize,
}

impl Default for ImageSize {
    /// The paper's target size, 512×256 (width × height).
    fn default() -> Self {
        ImageSize {
            height: 256,
            width: 512,
        }
    }
}

/// Where a checkpoint came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Provenance {
    /// Version of sfda that wrote it.
    pub sfda_version: String,
    /// Backend that wrote it (`tch`, `candle`, or `pytorch` for imports).
    pub backend: String,
    /// Device it was trained on, e.g. `cpu` or `cuda:0`.
    pub device: String,
    /// Seconds since the Unix epoch when it was written.
    pub created_unix: u64,
    /// What produced it, e.g. `train-source` or `adapt`.
    pub command: String,
    /// Training data (folder or `synthetic:...`).
    pub data: String,
    /// Seed of the run.
    pub seed: Option<u64>,
    /// Training iterations done.
    pub iterations: Option<u64>,
    /// Checkpoint it was initialised from (the source model, for adaptation).
    pub parent: Option<String>,
    /// Free-form extra facts (metrics, git commit, ...).
    pub notes: BTreeMap<String, String>,
}

impl Default for Provenance {
    fn default() -> Self {
        Provenance {
            sfda_version: env!("CARGO_PKG_VERSION").to_string(),
            backend: String::new(),
            device: String::new(),
            created_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            command: String::new(),
            data: String::new(),
            seed: None,
            iterations: None,
            parent: None,
            notes: BTreeMap::new(),
        }
    }
}

/// The sidecar of a segmentation checkpoint.
///
/// ```
/// use sfda_core::checkpoint::CheckpointMeta;
/// let meta = CheckpointMeta::new("deeplabv3-mini", 19).with_class_set("cityscapes19");
/// let json = serde_json::to_string(&meta).unwrap();
/// assert!(json.contains("\"arch\":\"deeplabv3-mini\""));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// Always [`FORMAT`].
    pub format: String,
    /// Sidecar version ([`VERSION`]).
    pub version: u32,
    /// Architecture name (see [`crate::net::KNOWN_ARCHS`]).
    pub arch: String,
    /// Number of output classes.
    pub num_classes: usize,
    /// Name of the class set, e.g. `cityscapes19`, `synthia16`.
    #[serde(default)]
    pub class_set: String,
    /// Output stride of the network the weights were trained as (DeepLabV3:
    /// 8 or 16). Weights of one stride fit the other's tensor shapes, so a
    /// sidecar that records it is checked against `arch` on load; absent
    /// (hand-written sidecars, SegNet, plugins): not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_stride: Option<usize>,
    /// A prefix every name in the weights file carries and the network's
    /// names lack, stripped on load: `module.` for a `DataParallel` export.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key_prefix: String,
    /// Input normalisation.
    #[serde(default)]
    pub normalization: Normalization,
    /// Training image size.
    #[serde(default)]
    pub image_size: ImageSize,
    /// Where the weights came from.
    #[serde(default)]
    pub provenance: Provenance,
}

impl CheckpointMeta {
    /// A sidecar for `arch` with `num_classes`, defaults elsewhere.
    pub fn new(arch: &str, num_classes: usize) -> Self {
        CheckpointMeta {
            format: FORMAT.to_string(),
            version: VERSION,
            arch: arch.to_string(),
            num_classes,
            output_stride: crate::net::output_stride(arch),
            key_prefix: String::new(),
            class_set: String::new(),
            normalization: Normalization::default(),
            image_size: ImageSize::default(),
            provenance: Provenance::default(),
        }
    }
    /// A sidecar for `model`, recording backend `B` as the writer.
    pub fn for_model<B: Backend>(model: &dyn SegModel<B>) -> Self {
        let mut m = Self::new(model.arch(), model.num_classes());
        m.provenance.backend = B::NAME.to_string();
        m
    }
    /// Sets the class-set name.
    pub fn with_class_set(mut self, name: &str) -> Self {
        self.class_set = name.to_string();
        self
    }
    /// Sets the input normalisation.
    pub fn with_normalization(mut self, n: Normalization) -> Self {
        self.normalization = n;
        self
    }
    /// Sets the training image size.
    pub fn with_image_size(mut self, height: usize, width: usize) -> Self {
        self.image_size = ImageSize { height, width };
        self
    }
    /// Sets the provenance.
    pub fn with_provenance(mut self, p: Provenance) -> Self {
        self.provenance = p;
        self
    }
}

//! Portable checkpoints: safetensors weights plus a JSON sidecar.
//!
//! A checkpoint `best.safetensors` holds every parameter and buffer of a
//! network as `f32` under its dotted name (torchvision's names for
//! DeepLabV3-ResNet, see [`crate::net`]); `best.json` next to it holds the
//! [`CheckpointMeta`] (architecture, number of classes, class set, input
//! normalisation, image size, provenance). The metadata is also embedded in
//! the safetensors header (`sfda.checkpoint`), so the weights file alone is
//! self-describing. Values go through host memory, so a checkpoint written
//! with one backend loads into the other. Files are replaced atomically
//! (temporary file + rename).
//!
//! Loading refuses a checkpoint of another architecture or class count, a
//! missing tensor and a shape mismatch with an [`Error::Checkpoint`] naming
//! the file and the key.
//!
//! ```no_run
//! # fn demo<B: sfda_core::Backend>(dev: &B::Device) -> sfda_core::Result<()> {
//! use std::path::Path;
//! use sfda_core::{checkpoint, net::build_seg_model, nn::VarStore};
//! let vs = VarStore::<B>::new(dev.clone(), 0);
//! let model = build_seg_model::<B>("deeplabv3-mini", 19, &vs.root())?;
//! let meta = checkpoint::CheckpointMeta::for_model(model.as_ref()).with_class_set("cityscapes19");
//! checkpoint::save(Path::new("runs/source/best.safetensors"), model.as_ref(), &meta)?;
//!
//! let vs2 = VarStore::<B>::new(dev.clone(), 1);
//! let (restored, meta) = checkpoint::load_seg_model::<B>(Path::new("runs/source/best.safetensors"), &vs2.root())?;
//! assert_eq!(restored.arch(), meta.arch);
//! # Ok(()) }
//! ```
//!
//! A PyTorch model exports to a file [`load_weights`] reads with:
//!
//! ```python
//! from safetensors.torch import save_file
//! save_file(model.state_dict(), "deeplabv3_resnet50.safetensors")
//! ```

mod init;
mod meta;
mod tensors;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use crate::atomic::write_atomic;
pub use init::{init_from_pretrained, InitReport, INIT_PREFIXES};
pub use meta::{CheckpointMeta, ImageSize, Normalization, Provenance, FORMAT, VERSION};
pub use tensors::{load_weights, read_metadata, save_vars, LoadOpts, LoadReport};

use crate::model::SegModel;
use crate::net::build_seg_model;
use crate::nn::VarPath;
use crate::tensor::Backend;
use crate::{Error, Result};

/// Key of the embedded metadata in the safetensors header.
pub const META_KEY: &str = "sfda.checkpoint";

/// The sidecar path of a checkpoint: the same path with extension `.json`.
pub fn sidecar_path(path: &Path) -> PathBuf {
    path.with_extension("json")
}

fn ckpt_err(path: &Path, msg: impl Into<String>) -> Error {
    Error::Checkpoint {
        path: path.to_path_buf(),
        msg: msg.into(),
    }
}

/// Saves `model`'s parameters and buffers to `path` (safetensors) and `meta`
/// to its sidecar, both atomically. `meta` must describe `model`.
pub fn save<B: Backend>(path: &Path, model: &dyn SegModel<B>, meta: &CheckpointMeta) -> Result<()> {
    if path.extension().is_some_and(|e| e == "json") {
        return Err(ckpt_err(
            path,
            "the weights path must not end in .json (that is the sidecar)",
        ));
    }
    if meta.arch != model.arch() || meta.num_classes != model.num_classes() {
        return Err(ckpt_err(
            path,
            format!(
                "metadata says {} with {} classes but the model is {} with {} classes",
                meta.arch,
                meta.num_classes,
                model.arch(),
                model.num_classes()
            ),
        ));
    }
    let json =
        serde_json::to_string_pretty(meta).map_err(|e| ckpt_err(path, format!("metadata: {e}")))?;
    let mut info = BTreeMap::new();
    info.insert(META_KEY.to_string(), json.clone());
    save_vars(path, &model.named_vars(), &info)?;
    write_atomic(&sidecar_path(path), format!("{json}\n").as_bytes())
}

/// Reads the metadata of the checkpoint at `path`: the sidecar if present
/// (checked against the embedded copy), else the embedded copy.
pub fn read_meta(path: &Path) -> Result<CheckpointMeta> {
    let embedded = match read_metadata(path)?.get(META_KEY) {
        Some(s) => Some(parse_meta(path, s)?),
        None => None,
    };
    let side = sidecar_path(path);
    let meta = if side.exists() {
        let text = std::fs::read_to_string(&side).map_err(|e| Error::io(&side, e))?;
        let m = parse_meta(&side, &text)?;
        if let Some(e) = &embedded {
            if e.arch != m.arch || e.num_classes != m.num_classes {
                return Err(ckpt_err(
                    path,
                    format!(
                        "the sidecar {} says {} with {} classes but the weights were saved as {} with {} classes",
                        side.display(),
                        m.arch,
                        m.num_classes,
                        e.arch,
                        e.num_classes
                    ),
                ));
            }
        }
        m
    } else {
        embedded.ok_or_else(|| {
            ckpt_err(
                path,
                format!(
                    "no sidecar {} and no embedded sfda metadata; write a sidecar (see \
                     checkpoint::CheckpointMeta) or load the raw weights with checkpoint::load_weights",
                    side.display()
                ),
            )
        })?
    };
    Ok(meta)
}

/// Parses and checks sidecar JSON `text` read from `path` (named in errors):
/// the format tag and version, the normalisation, torchvision arch aliases
/// (resolved to the built-in name) and a recorded output stride.
pub fn parse_meta(path: &Path, text: &str) -> Result<CheckpointMeta> {
    let mut m: CheckpointMeta = serde_json::from_str(text)
        .map_err(|e| ckpt_err(path, format!("invalid checkpoint metadata: {e}")))?;
    if m.format != FORMAT {
        return Err(ckpt_err(
            path,
            format!("format is '{}', expected '{FORMAT}'", m.format),
        ));
    }
    if m.version > VERSION {
        return Err(ckpt_err(
            path,
            format!(
                "metadata version {} is newer than this sfda understands ({VERSION}); upgrade sfda",
                m.version
            ),
        ));
    }
    m.normalization.check().map_err(|msg| ckpt_err(path, msg))?;
    m.arch = crate::net::canonical_arch(&m.arch).to_string();
    check_output_stride(path, &m)?;
    Ok(m)
}

/// Refuses a sidecar whose recorded output stride is not its architecture's
/// (an `-os16` name on stride-8 weights loads with the same shapes and
/// predicts garbage).
fn check_output_stride(path: &Path, m: &CheckpointMeta) -> Result<()> {
    let (Some(recorded), Some(of_arch)) = (m.output_stride, crate::net::output_stride(&m.arch))
    else {
        return Ok(());
    };
    if recorded == of_arch {
        return Ok(());
    }
    let fitting = crate::net::KNOWN_ARCHS
        .iter()
        .find(|a| {
            crate::net::output_stride(a) == Some(recorded)
                && a.trim_end_matches("-os16") == m.arch.trim_end_matches("-os16")
        })
        .map(|a| format!("; name the arch '{a}'"))
        .unwrap_or_default();
    Err(ckpt_err(
        path,
        format!(
            "output_stride is {recorded} but arch '{}' has output stride {of_arch}: the weights \
             would load (same shapes) and predict at the wrong dilation{fitting}",
            m.arch
        ),
    ))
}

/// Loads the checkpoint at `path` into `model`, refusing one saved for
/// another architecture or class count; returns its metadata.
pub fn load<B: Backend>(path: &Path, model: &dyn SegModel<B>) -> Result<CheckpointMeta> {
    let meta = read_meta(path)?;
    if meta.arch != model.arch() || meta.num_classes != model.num_classes() {
        return Err(ckpt_err(
            path,
            format!(
                "is a checkpoint of {} with {} classes, but the model is {} with {} classes",
                meta.arch,
                meta.num_classes,
                model.arch(),
                model.num_classes()
            ),
        ));
    }
    load_weights(path, &model.named_vars(), load_opts(&meta))?;
    Ok(meta)
}

fn load_opts(meta: &CheckpointMeta) -> LoadOpts {
    LoadOpts {
        key_prefix: meta.key_prefix.clone(),
        ..LoadOpts::default()
    }
}

/// Builds the network a checkpoint describes under `vs` and loads its weights.
pub fn load_seg_model<B: Backend>(
    path: &Path,
    vs: &VarPath<B>,
) -> Result<(Box<dyn SegModel<B>>, CheckpointMeta)> {
    load_seg_model_reporting(path, vs).map(|(model, meta, _)| (model, meta))
}

/// [`load_seg_model`], also returning what loading skipped, converted or
/// stripped ([`LoadReport::notes`] has lines for the user).
pub fn load_seg_model_reporting<B: Backend>(
    path: &Path,
    vs: &VarPath<B>,
) -> Result<(Box<dyn SegModel<B>>, CheckpointMeta, LoadReport)> {
    let meta = read_meta(path)?;
    let model = build_seg_model::<B>(&meta.arch, meta.num_classes, vs)
        .map_err(|e| ckpt_err(path, format!("cannot build its network: {e}")))?;
    let report = load_weights(path, &model.named_vars(), load_opts(&meta))?;
    Ok((model, meta, report))
}

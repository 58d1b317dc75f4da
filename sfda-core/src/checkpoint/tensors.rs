//! Reading and writing named `f32` tensors as safetensors through host
//! memory, so a file written from one backend loads into the other.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::atomic::write_atomic;
use crate::model::NamedVar;
use crate::tensor::{Backend, Tensor};
use crate::{Error, Result};

/// Entries of PyTorch `state_dict`s that have no counterpart in sfda models
/// and are skipped on load: BN step counters and torchvision's auxiliary head.
fn ignorable(name: &str) -> bool {
    name.ends_with("num_batches_tracked") || name.starts_with("aux_classifier.")
}

fn ckpt_err(path: &Path, msg: impl Into<String>) -> Error {
    Error::Checkpoint {
        path: path.to_path_buf(),
        msg: msg.into(),
    }
}

/// How strictly [`load_weights`] matches file entries to variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOpts {
    /// Refuse file entries that match no variable (other than the
    /// [ignorable](LoadReport::skipped) PyTorch extras).
    pub deny_unexpected: bool,
    /// A prefix the file's names carry and the model's lack, such as the
    /// `module.` of a `DataParallel` export (the sidecar's `key_prefix`);
    /// empty: names match as they are.
    pub key_prefix: String,
}

impl Default for LoadOpts {
    fn default() -> Self {
        LoadOpts {
            deny_unexpected: true,
            key_prefix: String::new(),
        }
    }
}

/// What [`load_weights`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Number of variables set.
    pub loaded: usize,
    /// File entries that were not used (`num_batches_tracked`,
    /// `aux_classifier.*`, and any others when unexpected entries are allowed).
    pub skipped: Vec<String>,
    /// Entries converted to f32 from `F16`, `BF16` or `F64`.
    pub converted: usize,
    /// The prefix stripped from the file's names ([`LoadOpts::key_prefix`]).
    pub key_prefix: String,
}

impl LoadReport {
    /// Lines for the user about what loading did beyond setting variables:
    /// skipped entries (grouped), precision conversion, a stripped prefix.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let aux = self
            .skipped
            .iter()
            .filter(|n| n.starts_with("aux_classifier."))
            .count();
        let counters = self
            .skipped
            .iter()
            .filter(|n| n.ends_with("num_batches_tracked"))
            .count();
        let other = self.skipped.len() - aux - counters;
        if aux > 0 {
            notes.push(format!(
                "skipped {aux} aux_classifier.* entries (torchvision's auxiliary head; sfda \
                 trains without it)"
            ));
        }
        if counters > 0 {
            notes.push(format!(
                "skipped {counters} num_batches_tracked entries (BN step counters)"
            ));
        }
        if other > 0 {
            notes.push(format!(
                "skipped {other} entries that match no variable (e.g. '{}')",
                self.skipped
                    .iter()
                    .find(|n| !n.starts_with("aux_classifier.")
                        && !n.ends_with("num_batches_tracked"))
                    .map_or("", String::as_str)
            ));
        }
        if self.converted > 0 {
            notes.push(format!(
                "converted {} entries to f32 from half or double precision",
                self.converted
            ));
        }
        if !self.key_prefix.is_empty() {
            notes.push(format!(
                "stripped the prefix '{}' from the file's names (the sidecar's key_prefix)",
                self.key_prefix
            ));
        }
        notes
    }
}

/// Serialises `vars` (as `f32`) with string `metadata` and writes the file
/// atomically.
pub fn save_vars<B: Backend>(
    path: &Path,
    vars: &[NamedVar<B>],
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    let mut host: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::with_capacity(vars.len());
    for v in vars {
        let t = v.var.tensor().detach()?;
        let shape = t.shape();
        let data = t.to_vec()?;
        let mut bytes = Vec::with_capacity(data.len() * 4);
        for x in data {
            bytes.extend_from_slice(&x.to_le_bytes());
        }
        host.push((v.name.clone(), shape, bytes));
    }
    let mut views = Vec::with_capacity(host.len());
    for (name, shape, bytes) in &host {
        let view = TensorView::new(Dtype::F32, shape.clone(), bytes)
            .map_err(|e| ckpt_err(path, format!("tensor '{name}': {e}")))?;
        views.push((name.as_str(), view));
    }
    let info: HashMap<String, String> = metadata
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let info = if info.is_empty() { None } else { Some(info) };
    let bytes = safetensors::serialize(views, info)
        .map_err(|e| ckpt_err(path, format!("serialising: {e}")))?;
    write_atomic(path, &bytes)
}

/// The string metadata (`__metadata__`) of a safetensors file.
pub fn read_metadata(path: &Path) -> Result<BTreeMap<String, String>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let (_, meta) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| ckpt_err(path, format!("not a safetensors file: {e}")))?;
    Ok(meta
        .metadata()
        .as_ref()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default())
}

/// Loads the entries of a safetensors file into `vars` by name.
///
/// All-or-nothing: every variable must be present with its exact shape
/// (`F32`, `F64`, `F16` or `BF16` entries are converted to `f32`), otherwise
/// nothing is written and the [`Error::Checkpoint`] names the offending key.
/// Works for any safetensors file whose names match, such as a PyTorch
/// `state_dict` saved with `safetensors.torch.save_file`.
pub fn load_weights<B: Backend>(
    path: &Path,
    vars: &[NamedVar<B>],
    opts: LoadOpts,
) -> Result<LoadReport> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| ckpt_err(path, format!("not a safetensors file: {e}")))?;
    let names: Vec<&str> = st.names();
    let prefix = opts.key_prefix.as_str();
    let mut staged = Vec::with_capacity(vars.len());
    let mut converted = 0;
    for v in vars {
        let want = v.var.shape();
        let file_name = format!("{prefix}{}", v.name);
        let view = match st.tensor(&file_name) {
            Ok(view) => view,
            Err(_) => {
                let hint = names
                    .iter()
                    .find(|n| n.ends_with(&format!(".{}", v.name)))
                    .map(|n| {
                        let p = &n[..n.len() - v.name.len()];
                        format!(
                            "; the file has '{n}': set \"key_prefix\": \"{p}\" in the sidecar \
                             to strip '{p}' (a DataParallel export), or export the bare \
                             model's state_dict"
                        )
                    })
                    .unwrap_or_default();
                return Err(ckpt_err(
                    path,
                    format!(
                        "missing tensor '{}' (shape {want:?}); the file holds {} tensors{hint}",
                        v.name,
                        names.len()
                    ),
                ));
            }
        };
        if view.dtype() != Dtype::F32 {
            converted += 1;
        }
        let data = checked_f32(path, &view, &file_name, &v.name, &want, "")?;
        staged.push((v, data));
    }
    let known: HashSet<String> = vars.iter().map(|v| format!("{prefix}{}", v.name)).collect();
    let mut skipped: Vec<String> = names
        .iter()
        .filter(|n| !known.contains(**n))
        .map(|n| n.strip_prefix(prefix).unwrap_or(n))
        .map(|n| n.to_string())
        .collect();
    skipped.sort();
    if opts.deny_unexpected {
        let unexpected: Vec<&String> = skipped.iter().filter(|n| !ignorable(n)).collect();
        if let Some(first) = unexpected.first() {
            return Err(ckpt_err(
                path,
                format!(
                    "unexpected tensor '{first}' ({} entries of the file match no variable of the model)",
                    unexpected.len()
                ),
            ));
        }
    }
    for (v, data) in &staged {
        let dev = v.var.tensor().device();
        let t = Tensor::<B>::from_f32(data, &v.var.shape(), &dev)?;
        v.var.set(&t)?;
    }
    Ok(LoadReport {
        loaded: staged.len(),
        skipped,
        converted,
        key_prefix: opts.key_prefix,
    })
}

/// The f32 values of file entry `file_name` for variable `var` of shape
/// `want`: refused when the shape differs (`shape_hint` ends that message),
/// the dtype is not a float, or a value is not finite.
pub(super) fn checked_f32(
    path: &Path,
    view: &TensorView<'_>,
    file_name: &str,
    var: &str,
    want: &[usize],
    shape_hint: &str,
) -> Result<Vec<f32>> {
    if view.shape() != want {
        let what = if file_name == var {
            format!("tensor '{var}'")
        } else {
            format!("tensor '{file_name}' (for '{var}')")
        };
        return Err(ckpt_err(
            path,
            format!(
                "{what} has shape {:?} in the file but {want:?} in the model{shape_hint}",
                view.shape()
            ),
        ));
    }
    let data = to_f32(view).map_err(|m| ckpt_err(path, format!("tensor '{file_name}': {m}")))?;
    if let Some(bad) = data.iter().find(|x| !x.is_finite()) {
        return Err(ckpt_err(
            path,
            format!(
                "tensor '{file_name}' holds {bad} values: the weights are corrupt or come from \
                 a run that diverged"
            ),
        ));
    }
    Ok(data)
}

fn to_f32(view: &TensorView<'_>) -> std::result::Result<Vec<f32>, String> {
    let d = view.data();
    let v = match view.dtype() {
        Dtype::F32 => d
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        Dtype::F64 => d
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32)
            .collect(),
        Dtype::BF16 => d
            .chunks_exact(2)
            .map(|c| f32::from_bits((u16::from_le_bytes([c[0], c[1]]) as u32) << 16))
            .collect(),
        Dtype::F16 => d
            .chunks_exact(2)
            .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
            .collect(),
        other => {
            return Err(format!(
                "dtype {other} is not a float type (expected F32, F64, F16 or BF16)"
            ))
        }
    };
    Ok(v)
}

/// IEEE 754 half to single precision.
fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let mant = (h & 0x3ff) as u32;
    let bits = match (exp, mant) {
        (0, 0) => sign,
        (0, m) => {
            // Subnormal: normalise the mantissa.
            let mut e: i32 = 0;
            let mut m = m;
            while m & 0x400 == 0 {
                m <<= 1;
                e -= 1;
            }
            sign | (((127 - 15 + 1 + e) as u32) << 23) | ((m & 0x3ff) << 13)
        }
        (0x1f, m) => sign | 0x7f80_0000 | (m << 13),
        (e, m) => sign | ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::f16_to_f32;

    #[test]
    fn half_conversion() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x0200), 2f32.powi(-15));
        assert!(f16_to_f32(0x7c00).is_infinite());
        assert!(f16_to_f32(0x7e00).is_nan());
    }
}

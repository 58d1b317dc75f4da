//! Initialising a network from pretrained weights of another layout: an
//! ImageNet backbone saved from torchvision (`resnet50().state_dict()`,
//! `vgg16_bn().state_dict()`) starts the source model, as every UDA code base
//! does (the paper's source models start from ImageNet ResNet-50 / VGG-16).
//!
//! The file's names are matched to the model's under a prefix: none (a file
//! of the same network), `backbone.` (a torchvision ResNet into DeepLabV3,
//! whose backbone keeps torchvision's names) or `encoder.` (a torchvision
//! VGG `features.*` into SegNet's encoder), each after an optional
//! `module.` (DataParallel) prefix is stripped. The prefix that matches the
//! most variables wins. Entries with no counterpart (`fc.*`, `classifier.*`
//! of the ImageNet head, `num_batches_tracked`) are skipped and counted;
//! variables the file lacks keep their initialisation and are counted. A
//! file that matches no variable, or a matched name whose shape differs, is
//! an error naming the file and the key; nothing is written then.

use std::collections::HashSet;
use std::path::Path;

use safetensors::SafeTensors;

use crate::checkpoint::tensors::checked_f32;
use crate::model::NamedVar;
use crate::tensor::{Backend, Tensor};
use crate::{Error, Result};

/// Prefixes tried in front of the file's names, in order of preference.
pub const INIT_PREFIXES: &[&str] = &["", "backbone.", "encoder."];

/// What [`init_from_pretrained`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InitReport {
    /// The prefix put in front of the file's names.
    pub prefix: String,
    /// Whether a `module.` prefix was stripped from the file's names.
    pub stripped_module: bool,
    /// Variables set from the file.
    pub loaded: usize,
    /// File entries that matched no variable (sorted).
    pub skipped: Vec<String>,
    /// Variables the file does not hold (they keep their initialisation).
    pub missing: Vec<String>,
    /// Entries converted from another float type (`F16`, `BF16`, `F64`) to f32.
    pub converted: usize,
}

impl InitReport {
    /// One line for the user: counts, the mapping, and what was not used.
    pub fn summary(&self, path: &Path) -> String {
        let mut s = format!(
            "initialised from {}: {} variables loaded (file names{} under '{}'), {} file \
             entries skipped, {} variables not in the file kept their initialisation",
            path.display(),
            self.loaded,
            if self.stripped_module {
                " without 'module.'"
            } else {
                ""
            },
            self.prefix,
            self.skipped.len(),
            self.missing.len()
        );
        if self.converted > 0 {
            s.push_str(&format!(
                "; {} entries converted to f32 from half or double precision",
                self.converted
            ));
        }
        s
    }
}

fn init_err(path: &Path, msg: impl Into<String>) -> Error {
    Error::Checkpoint {
        path: path.to_path_buf(),
        msg: msg.into(),
    }
}

/// Sets the variables of `vars` that the safetensors file at `path` holds
/// under one of [`INIT_PREFIXES`] (see the module docs); all-or-nothing.
pub fn init_from_pretrained<B: Backend>(path: &Path, vars: &[NamedVar<B>]) -> Result<InitReport> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| init_err(path, format!("not a safetensors file: {e}")))?;
    let file_names: Vec<&str> = st.names();
    let stripped_module = file_names.iter().all(|n| n.starts_with("module."));
    let bare = |n: &str| -> String {
        if stripped_module {
            n["module.".len()..].to_string()
        } else {
            n.to_string()
        }
    };
    let wanted: HashSet<&str> = vars.iter().map(|v| v.name.as_str()).collect();
    let matches = |prefix: &str| {
        file_names
            .iter()
            .filter(|n| wanted.contains(format!("{prefix}{}", bare(n)).as_str()))
            .count()
    };
    let (prefix, count) = INIT_PREFIXES
        .iter()
        .map(|p| (*p, matches(p)))
        .fold(("", 0), |best, cur| if cur.1 > best.1 { cur } else { best });
    if count == 0 {
        let sample: Vec<&str> = file_names.iter().take(3).copied().collect();
        return Err(init_err(
            path,
            format!(
                "no entry of the file matches a variable of the model under any of the \
                 prefixes {INIT_PREFIXES:?} (the file holds {} entries, e.g. {sample:?}; the \
                 model's first variable is '{}')",
                file_names.len(),
                vars.first().map_or("", |v| v.name.as_str())
            ),
        ));
    }
    let by_model_name: std::collections::HashMap<String, &str> = file_names
        .iter()
        .map(|n| (format!("{prefix}{}", bare(n)), *n))
        .collect();
    let mut staged = Vec::new();
    let mut missing = Vec::new();
    let mut converted = 0;
    for v in vars {
        let Some(file_name) = by_model_name.get(&v.name) else {
            missing.push(v.name.clone());
            continue;
        };
        let view = st
            .tensor(file_name)
            .map_err(|e| init_err(path, format!("tensor '{file_name}': {e}")))?;
        if view.dtype() != safetensors::Dtype::F32 {
            converted += 1;
        }
        let data = checked_f32(
            path,
            &view,
            file_name,
            &v.name,
            &v.var.shape(),
            ": the file is another network or width",
        )?;
        staged.push((v, data));
    }
    let used: HashSet<&str> = vars
        .iter()
        .filter_map(|v| by_model_name.get(&v.name).copied())
        .collect();
    let mut skipped: Vec<String> = file_names
        .iter()
        .filter(|n| !used.contains(**n))
        .map(|n| n.to_string())
        .collect();
    skipped.sort();
    for (v, data) in &staged {
        let t = Tensor::<B>::from_f32(data, &v.var.shape(), &v.var.tensor().device())?;
        v.var.set(&t)?;
    }
    Ok(InitReport {
        prefix: prefix.to_string(),
        stripped_module,
        loaded: staged.len(),
        skipped,
        missing,
        converted,
    })
}

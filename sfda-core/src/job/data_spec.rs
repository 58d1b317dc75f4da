//! Where a job's data comes from: a folder in one of the dataset layouts, or
//! the embedded procedural benchmark (`synth:DOMAIN:SPLIT[:COUNT]`).

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use crate::data::{open_dataset_with, Dataset, Domain, Layout, Split, SynthDataset, SynthSpec};
use crate::{Error, Result};

/// A data set named on the command line.
#[derive(Debug, Clone, PartialEq)]
pub enum DataSpec {
    /// A folder in a dataset layout.
    Folder {
        /// Root folder.
        root: PathBuf,
        /// Its layout.
        layout: Layout,
        /// Split to read (`None`: all).
        split: Option<String>,
        /// Refuse raw label ids outside the layout's table instead of
        /// mapping them to ignore (`--strict-labels`).
        strict_labels: bool,
    },
    /// The embedded benchmark, generated in memory.
    Synth(SynthSpec),
}

impl DataSpec {
    /// Parses `--data` with `--layout` and `--split`: `synth:target:val:200`
    /// (domain, split, count; size/seed/severity set with the `with_*`
    /// builders) or a folder path with a layout (default `cityscapes`).
    pub fn parse(data: &str, layout: Option<&str>, split: Option<&str>) -> Result<Self> {
        if let Some(rest) = data.strip_prefix("synth:") {
            let parts: Vec<&str> = rest.split(':').collect();
            let bad = || Error::Config {
                key: "data".into(),
                msg: format!("'{data}': expected synth:source|target:train|val[:COUNT]"),
            };
            let domain = match parts.first() {
                Some(&"source") => Domain::Source,
                Some(&"target") => Domain::Target,
                _ => return Err(bad()),
            };
            let split = match parts.get(1) {
                Some(&"train") | None => Split::Train,
                Some(&"val") => Split::Val,
                _ => return Err(bad()),
            };
            let count = match parts.get(2) {
                Some(c) => c.parse::<usize>().map_err(|_| bad())?,
                None => match split {
                    Split::Train => 2000,
                    Split::Val => 200,
                },
            };
            return Ok(DataSpec::Synth(SynthSpec::new(domain, split, count)));
        }
        let layout = Layout::from_str(layout.unwrap_or("cityscapes"))?;
        Ok(DataSpec::Folder {
            root: PathBuf::from(data),
            layout,
            split: split.map(str::to_string),
            strict_labels: false,
        })
    }

    /// Sets `strict_labels` (no effect on the embedded benchmark, whose
    /// labels are train ids by construction).
    pub fn with_strict_labels(mut self, strict: bool) -> Self {
        if let DataSpec::Folder { strict_labels, .. } = &mut self {
            *strict_labels = strict;
        }
        self
    }

    /// Sets the synthetic size, seed and severity (no effect on folders).
    pub fn with_synth(
        mut self,
        size: Option<(u32, u32)>,
        seed: Option<u64>,
        severity: Option<f32>,
    ) -> Self {
        if let DataSpec::Synth(s) = &mut self {
            if let Some((w, h)) = size {
                *s = s.with_size(w, h);
            }
            if let Some(seed) = seed {
                *s = s.with_seed(seed);
            }
            if let Some(sev) = severity {
                *s = s.with_severity(sev);
            }
        }
        self
    }

    /// Opens the data set.
    pub fn open(&self) -> Result<Arc<dyn Dataset>> {
        match self {
            DataSpec::Folder {
                root,
                layout,
                split,
                strict_labels,
            } => open_dataset_with(*layout, root, split.as_deref(), *strict_labels),
            DataSpec::Synth(spec) => Ok(Arc::new(SynthDataset::checked(*spec)?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_synth_and_folders() {
        let d = DataSpec::parse("synth:target:val:50", None, None).unwrap();
        match d {
            DataSpec::Synth(s) => {
                assert_eq!(
                    (s.domain, s.split, s.count),
                    (Domain::Target, Split::Val, 50)
                );
            }
            _ => panic!("expected synth"),
        }
        assert!(DataSpec::parse("synth:moon", None, None).is_err());
        assert!(DataSpec::parse("x", Some("kitti"), None).is_err());
        assert!(matches!(
            DataSpec::parse("some/dir", Some("gta5"), Some("train")).unwrap(),
            DataSpec::Folder {
                layout: Layout::Gta5,
                ..
            }
        ));
    }
}

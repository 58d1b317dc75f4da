//! Arguments shared by the computing commands: backend, device, plugins, data.

use std::path::{Path, PathBuf};

use clap::Args;
use sfda_core::dispatch::{Job, JobOutput};
use sfda_core::job::DataSpec;
use sfda_core::{dispatch, plugin, DeviceSpec};

/// `--plugin` (repeatable).
#[derive(Debug, Clone, Default, Args)]
pub struct PluginArgs {
    /// Load a plugin library (a cdylib built with sfda-plugin) before
    /// running; repeatable. Its networks, losses, rankers and methods are
    /// then selectable by name.
    #[arg(long = "plugin", value_name = "PATH")]
    pub plugins: Vec<PathBuf>,
}

impl PluginArgs {
    /// Loads the `--plugin` libraries, then `extra` ones (e.g. from a config).
    pub fn load(&self, extra: &[PathBuf]) -> anyhow::Result<()> {
        load_plugins(self.plugins.iter().chain(extra))
    }
}

/// Loads plugin libraries in order; the first failure is the error.
pub fn load_plugins<'a>(paths: impl IntoIterator<Item = &'a PathBuf>) -> anyhow::Result<()> {
    for p in paths {
        plugin::load_plugin(Path::new(p))?;
    }
    Ok(())
}

/// `--backend`, `--device` and `--plugin`.
#[derive(Debug, Clone, Args)]
pub struct BackendArgs {
    /// Backend: tch (libtorch) or candle.
    #[arg(long, default_value = "tch")]
    pub backend: String,
    /// Device: cpu or cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    #[command(flatten)]
    pub plugins: PluginArgs,
}

impl BackendArgs {
    /// Loads the `--plugin` libraries, then runs `job` on the chosen backend
    /// and device.
    pub fn run(&self, job: &Job) -> anyhow::Result<JobOutput> {
        self.plugins.load(&[])?;
        let entry = dispatch::backend_by_name(&self.backend)?;
        let device: DeviceSpec = self.device.parse()?;
        Ok((entry.run)(device, job)?)
    }
}

/// `--data` with `--layout`, `--split` and the synthetic-data knobs.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Data: a folder (read with --layout) or `synth:source|target:train|val[:COUNT]`
    /// for the embedded benchmark.
    #[arg(long)]
    pub data: String,
    /// Layout of the folder: cityscapes, gta5, synthia, nthu, folder.
    #[arg(long)]
    pub layout: Option<String>,
    /// Split to read (default: all).
    #[arg(long)]
    pub split: Option<String>,
    /// Refuse label ids outside the layout's id table (default: read them
    /// as ignore, count them and report the count, as the field's loaders do).
    #[arg(long)]
    pub strict_labels: bool,
}

impl DataArgs {
    /// The data spec.
    pub fn spec(&self) -> anyhow::Result<DataSpec> {
        Ok(
            DataSpec::parse(&self.data, self.layout.as_deref(), self.split.as_deref())?
                .with_strict_labels(self.strict_labels),
        )
    }
}

/// Parses `WIDTHxHEIGHT`.
pub fn parse_wh(s: &str) -> Result<[u32; 2], String> {
    let err = || format!("invalid size '{s}': expected WIDTHxHEIGHT, e.g. 256x128");
    let (w, h) = s
        .to_ascii_lowercase()
        .split_once('x')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .ok_or_else(err)?;
    let w: u32 = w.trim().parse().map_err(|_| err())?;
    let h: u32 = h.trim().parse().map_err(|_| err())?;
    if w == 0 || h == 0 {
        return Err(err());
    }
    Ok([w, h])
}

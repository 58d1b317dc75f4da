//! The experiment grid (TOML): studies of methods × seeds × settings on the
//! embedded benchmark, expanded into [`Cell`]s and validated entirely before
//! anything trains. Every error names the study and the entry at fault.
//!
//! ```toml
//! seeds = [0, 1, 2]
//! base = "demo"                 # the shipped demo preset, or a config file
//!                               # path relative to the grid file
//! [benchmark]                   # the embedded two-domain benchmark
//! size = [256, 128]
//! train_images = 2000
//! val_images = 200
//! [source]                      # checkpoint = "path", or trained once:
//! iterations = 3000
//!
//! [[comparison]]                # a paper-style table (Table 1)
//! name = "main"
//! methods = ["source_only", "minent", "tent", "sfda_wo_ipsm", "sfda"]
//! set = { iterations = 200 }    # config overrides for every cell
//!
//! [[sweep]]                     # a sensitivity table + plot (Tables 5–6, Fig. 8)
//! name = "alpha"
//! method = "sfda"
//! param = "weights.alpha"       # any config key, or "severity"
//! values = [0.1, 0.5, 1.0, 2.0]
//! paper = [41.33, 42.70, 43.16, 42.47]  # optional: the paper's mIoU per
//!                               # value (GTA5 → Cityscapes), for the plot
//!
//! [[transfer]]                  # Table 4: transfer only, % of the source model
//! name = "transfer"
//! variants = ["bns", "dad", "bns+dad"]
//! ```
//!
//! `share_source_estimate = true` (the default) makes every cell that would
//! warm its generator up start instead from one source estimate per distinct
//! estimation setting, made once with the first seed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::algo::{describe_method, AdaptConfig};
use crate::job::DEMO_PRESET;
use crate::{Error, Result};

/// Grid names that are not registered methods: `sfda_wo_ipsm` is method
/// `sfda` with `ablation.ipsm = false`.
pub const GRID_ALIASES: &[&str] = &["sfda_wo_ipsm"];

/// Method names a grid accepts: every registered method (built-ins and
/// those of loaded plugins) and the [`GRID_ALIASES`].
pub fn grid_methods() -> Vec<String> {
    let mut v: Vec<String> = crate::registry::method_names()
        .into_iter()
        .map(String::from)
        .collect();
    v.extend(GRID_ALIASES.iter().map(|s| s.to_string()));
    v
}

/// Transfer-only variants (Table 4).
pub const TRANSFER_VARIANTS: &[&str] = &["bns", "dad", "bns+dad"];

/// The embedded benchmark's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BenchmarkSpec {
    /// Image size `[width, height]`.
    pub size: [u32; 2],
    /// Training images per domain (source training, unlabelled target).
    pub train_images: usize,
    /// Validation images per domain.
    pub val_images: usize,
    /// Target severity in `[0, 1]` (none: the benchmark's default).
    pub severity: Option<f32>,
    /// Seed of the data and of the source model (the grid's `seeds` vary the
    /// adaptation: init, latents, data order).
    pub data_seed: u64,
}

impl Default for BenchmarkSpec {
    fn default() -> Self {
        BenchmarkSpec {
            size: [256, 128],
            train_images: 2000,
            val_images: 200,
            severity: None,
            data_seed: 0,
        }
    }
}

/// Where the source model comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SourceSpec {
    /// A checkpoint (relative to the grid file); none: train one (cached in
    /// `<out>/source`).
    pub checkpoint: Option<String>,
    /// Training steps when training.
    pub iterations: usize,
}

impl Default for SourceSpec {
    fn default() -> Self {
        SourceSpec {
            checkpoint: None,
            iterations: 3000,
        }
    }
}

/// A paper-style comparison table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComparisonSpec {
    /// Study name (file names, headings).
    pub name: String,
    /// A sentence for the report.
    #[serde(default)]
    pub note: String,
    /// Methods, in table order (see [`grid_methods`]).
    pub methods: Vec<String>,
    /// Target severity for this study (overrides the benchmark's).
    #[serde(default)]
    pub severity: Option<f32>,
    /// Config overrides for every cell.
    #[serde(default)]
    pub set: toml::Table,
    /// Config overrides per method (`[comparison.method_set.minent]`).
    #[serde(default)]
    pub method_set: toml::Table,
}

/// A one-parameter sensitivity study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// Study name.
    pub name: String,
    /// A sentence for the report.
    #[serde(default)]
    pub note: String,
    /// The method (see [`grid_methods`]).
    pub method: String,
    /// The swept config key (dotted, e.g. `weights.alpha`, `k`) or `severity`.
    pub param: String,
    /// Its values.
    pub values: Vec<f64>,
    /// Other keys set to the same value (e.g. `["weights.tau"]` for the
    /// paper's τ = β).
    #[serde(default)]
    pub tied: Vec<String>,
    /// The paper's mIoU (%) at each of `values` (same length and order),
    /// from its GTA5 → Cityscapes tables (DeepLabV3: Table 5 for α, Table 6
    /// for β): listed beside the grid's results in the sweep's table and
    /// drawn on the plot's right axis, labelled as the paper's benchmark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paper: Option<Vec<f64>>,
    /// Config overrides for every cell.
    #[serde(default)]
    pub set: toml::Table,
}

/// The transfer-only ablation (Table 4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferSpec {
    /// Study name.
    pub name: String,
    /// A sentence for the report.
    #[serde(default)]
    pub note: String,
    /// Variants among [`TRANSFER_VARIANTS`].
    pub variants: Vec<String>,
    /// Config overrides for every cell.
    #[serde(default)]
    pub set: toml::Table,
}

/// A whole grid file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grid {
    /// Adaptation seeds; every cell runs once per seed.
    pub seeds: Vec<u64>,
    /// Base adaptation config: `demo` or a path relative to the grid file.
    #[serde(default = "default_base")]
    pub base: String,
    /// The benchmark.
    #[serde(default)]
    pub benchmark: BenchmarkSpec,
    /// The source model.
    #[serde(default)]
    pub source: SourceSpec,
    /// Comparison tables.
    #[serde(default)]
    pub comparison: Vec<ComparisonSpec>,
    /// Sensitivity sweeps.
    #[serde(default)]
    pub sweep: Vec<SweepSpec>,
    /// Transfer-only ablations.
    #[serde(default)]
    pub transfer: Vec<TransferSpec>,
    /// Whether cells whose method warms the generator up share one source
    /// estimate per distinct estimation setting (made once, with the first
    /// of `seeds`, in `<out>/estimates/`) instead of each running its own
    /// warm-up; the seeds then vary the adaptation only. Default: true.
    #[serde(default = "default_share")]
    pub share_source_estimate: bool,
}

fn default_base() -> String {
    "demo".into()
}

fn default_share() -> bool {
    true
}

/// The shared source estimate a cell starts from (see
/// [`Grid::share_source_estimate`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EstimatePlan {
    /// Seed of the estimate's latents (the grid's first seed).
    pub seed: u64,
    /// Generator steps of `L_BNS` alone (the cell's warm-up).
    pub steps: usize,
}

/// What kind of study a cell belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StudyKind {
    /// A comparison table.
    Comparison,
    /// A sensitivity sweep.
    Sweep,
    /// Transfer only (evaluated on source val).
    Transfer,
}

/// One run of the grid: a study entry at one seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// Unique, file-name-safe id (`main--minent--s0`).
    pub id: String,
    /// Study name.
    pub study: String,
    /// Study kind.
    pub kind: StudyKind,
    /// Row label: method key, `param=value` or transfer variant.
    pub entry: String,
    /// Name in tables.
    pub label: String,
    /// The swept value (sweeps).
    pub value: Option<f64>,
    /// Seed.
    pub seed: u64,
    /// Target severity of its data.
    pub severity: Option<f32>,
    /// The full adaptation config.
    pub cfg: AdaptConfig,
    /// Whether the method is source-free.
    pub source_free: bool,
    /// The shared source estimate it starts from instead of its own warm-up.
    #[serde(default)]
    pub estimate: Option<EstimatePlan>,
}

fn fnv(text: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in text.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

impl Cell {
    /// Hash of everything that determines the cell's result and its place.
    pub fn hash(&self) -> String {
        let key = (&self.cfg, self.severity, &self.entry, self.value);
        fnv(&match &self.estimate {
            None => serde_json::to_string(&key),
            Some(e) => serde_json::to_string(&(key, e)),
        }
        .unwrap_or_default())
    }

    /// Hash of the run alone (config, data, evaluation set): cells of
    /// different studies with equal run hashes (e.g. the default point of
    /// every sweep) share one run.
    pub fn run_hash(&self) -> String {
        let key = (&self.cfg, self.severity, self.kind == StudyKind::Transfer);
        fnv(&match &self.estimate {
            None => serde_json::to_string(&key),
            Some(e) => serde_json::to_string(&(key, e)),
        }
        .unwrap_or_default())
    }
}

fn err(origin: &str, what: &str, msg: impl std::fmt::Display) -> Error {
    Error::Config {
        key: format!("{origin}: {what}"),
        msg: msg.to_string(),
    }
}

/// Deep-merges `over` into `base` (tables merge, other values replace).
fn merge(base: &mut toml::Table, over: &toml::Table) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

/// `a.b.c = v` as a nested table.
fn dotted(key: &str, v: toml::Value) -> toml::Table {
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().unwrap_or(key);
    let mut t = toml::Table::new();
    t.insert(last.to_string(), v);
    for p in parts.into_iter().rev() {
        let mut outer = toml::Table::new();
        outer.insert(p.to_string(), toml::Value::Table(t));
        t = outer;
    }
    t
}

/// `base` with every table of `overrides` merged in, re-read and validated
/// (unknown keys and impossible values are errors).
fn apply(base: &AdaptConfig, overrides: &[toml::Table]) -> Result<AdaptConfig> {
    let mut t =
        toml::Table::try_from(base).map_err(|e| Error::msg(format!("config to TOML: {e}")))?;
    for o in overrides {
        merge(&mut t, o);
    }
    let text = toml::to_string(&t).map_err(|e| Error::msg(format!("config to TOML: {e}")))?;
    AdaptConfig::from_toml(&text, "config")
}

/// Overrides that select grid method `name`.
fn method_overrides(name: &str) -> Option<toml::Table> {
    let (key, ipsm) = match name {
        "sfda_wo_ipsm" => ("sfda", Some(false)),
        "sfda" => ("sfda", Some(true)),
        other if crate::registry::method_names().contains(&other) => (other, None),
        _ => return None,
    };
    let mut t = toml::Table::new();
    t.insert("method".into(), toml::Value::String(key.into()));
    if let Some(ipsm) = ipsm {
        let mut a = toml::Table::new();
        a.insert("ipsm".into(), toml::Value::Boolean(ipsm));
        a.insert("transfer_only".into(), toml::Value::Boolean(false));
        t.insert("ablation".into(), toml::Value::Table(a));
    }
    Some(t)
}

/// The table label of the method of `cfg` (its description's).
fn method_label(cfg: &AdaptConfig) -> Result<String> {
    Ok(describe_method(cfg)?.label)
}

fn unknown_method(origin: &str, study: &str, name: &str) -> Error {
    err(
        origin,
        &format!("study '{study}', method '{name}'"),
        format!(
            "unknown method; known: {} (a plugin adds more: --plugin PATH)",
            grid_methods().join(", ")
        ),
    )
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '=' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Formats a swept value compactly (`0.1`, `2`, `0.01`).
pub fn fmt_value(v: f64) -> String {
    let s = format!("{v}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// A parsed and fully expanded grid.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// The grid as written.
    pub grid: Grid,
    /// The grid file.
    pub path: PathBuf,
    /// The base config every cell starts from.
    pub base: AdaptConfig,
    /// Every cell, in study order, then entry, then seed.
    pub cells: Vec<Cell>,
}

impl Experiment {
    /// Reads, expands and validates a grid file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_toml(&text, path)
    }

    /// Parses, expands and validates grid `text` (`path` names it in errors
    /// and anchors relative paths).
    pub fn from_toml(text: &str, path: &Path) -> Result<Self> {
        let origin = path.display().to_string();
        let grid: Grid = crate::toml_file::parse(text, &origin)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let base = if grid.base == "demo" {
            AdaptConfig::from_toml(DEMO_PRESET, "presets/demo.toml")?
        } else {
            AdaptConfig::from_file(&dir.join(&grid.base)).map_err(|e| err(&origin, "base", e))?
        };
        if grid.seeds.is_empty() {
            return Err(err(&origin, "seeds", "give at least one seed"));
        }
        let uniq: BTreeSet<u64> = grid.seeds.iter().copied().collect();
        if uniq.len() != grid.seeds.len() {
            return Err(err(&origin, "seeds", "a seed is repeated"));
        }
        let b = &grid.benchmark;
        if b.size.contains(&0) || b.train_images == 0 || b.val_images == 0 {
            return Err(err(
                &origin,
                "benchmark",
                "size, train_images and val_images must be positive",
            ));
        }
        check_severity(&origin, "benchmark.severity", b.severity)?;
        if grid.source.checkpoint.is_none() && grid.source.iterations == 0 {
            return Err(err(&origin, "source.iterations", "must be at least 1"));
        }
        let mut names = BTreeSet::new();
        let studies = grid
            .comparison
            .iter()
            .map(|c| &c.name)
            .chain(grid.sweep.iter().map(|s| &s.name))
            .chain(grid.transfer.iter().map(|t| &t.name));
        for n in studies {
            if n.is_empty() || slug(n) != *n {
                return Err(err(
                    &origin,
                    &format!("study '{n}'"),
                    "names must be non-empty and use only letters, digits, '.', '-', '_'",
                ));
            }
            if !names.insert(n.clone()) {
                return Err(err(&origin, &format!("study '{n}'"), "name used twice"));
            }
        }
        if names.is_empty() {
            return Err(err(
                &origin,
                "studies",
                "no [[comparison]], [[sweep]] or [[transfer]] entry",
            ));
        }
        let mut cells = Vec::new();
        let mut push = |c: Cell| cells.push(c);
        for c in &grid.comparison {
            let sev = c.severity.or(b.severity);
            check_severity(
                &origin,
                &format!("study '{}', severity", c.name),
                c.severity,
            )?;
            if c.methods.is_empty() {
                return Err(err(&origin, &format!("study '{}'", c.name), "no methods"));
            }
            for key in c.method_set.keys() {
                if !c.methods.contains(key) {
                    return Err(err(
                        &origin,
                        &format!("study '{}', method_set.{key}", c.name),
                        "not one of the study's methods",
                    ));
                }
            }
            for m in &c.methods {
                let mo = method_overrides(m).ok_or_else(|| unknown_method(&origin, &c.name, m))?;
                let per = match c.method_set.get(m) {
                    Some(toml::Value::Table(t)) => t.clone(),
                    Some(_) => {
                        return Err(err(
                            &origin,
                            &format!("study '{}', method_set.{m}", c.name),
                            "must be a table",
                        ))
                    }
                    None => toml::Table::new(),
                };
                let cfg = apply(&base, &[mo, c.set.clone(), per])
                    .map_err(|e| err(&origin, &format!("study '{}', method '{m}'", c.name), e))?;
                for &seed in &grid.seeds {
                    push(Cell {
                        id: format!("{}--{}--s{seed}", c.name, slug(m)),
                        study: c.name.clone(),
                        kind: StudyKind::Comparison,
                        entry: m.clone(),
                        label: method_label(&cfg).map_err(|e| {
                            err(&origin, &format!("study '{}', method '{m}'", c.name), e)
                        })?,
                        value: None,
                        seed,
                        severity: sev,
                        cfg: AdaptConfig {
                            seed,
                            ..cfg.clone()
                        },
                        source_free: true,
                        estimate: None,
                    });
                }
            }
        }
        for s in &grid.sweep {
            let at = |what: &str| format!("study '{}', {what}", s.name);
            let mo = method_overrides(&s.method)
                .ok_or_else(|| unknown_method(&origin, &s.name, &s.method))?;
            if s.values.is_empty() {
                return Err(err(&origin, &at("values"), "no values"));
            }
            if let Some(paper) = &s.paper {
                if paper.len() != s.values.len() {
                    return Err(err(
                        &origin,
                        &at("paper"),
                        format!(
                            "{} paper values for {} swept values; give one per value, in the order of `values`",
                            paper.len(),
                            s.values.len()
                        ),
                    ));
                }
                if let Some(bad) = paper.iter().find(|v| !v.is_finite()) {
                    return Err(err(
                        &origin,
                        &at("paper"),
                        format!("{bad} is not a number (mIoU in %)"),
                    ));
                }
            }
            if s.method == "source_only" {
                return Err(err(
                    &origin,
                    &at("method"),
                    "source_only has nothing to sweep",
                ));
            }
            for &v in &s.values {
                let entry = format!("{}={}", s.param, fmt_value(v));
                let (cfg, sev) = if s.param == "severity" {
                    check_severity(&origin, &at(&entry), Some(v as f32))?;
                    let cfg = apply(&base, &[mo.clone(), s.set.clone()])
                        .map_err(|e| err(&origin, &at(&entry), e))?;
                    (cfg, Some(v as f32))
                } else {
                    let mut over = vec![mo.clone(), s.set.clone()];
                    for key in std::iter::once(&s.param).chain(&s.tied) {
                        let value = param_value(&base, key, v).map_err(|e| {
                            err(&origin, &at(&format!("{key}={}", fmt_value(v))), e)
                        })?;
                        over.push(dotted(key, value));
                    }
                    let cfg = apply(&base, &over).map_err(|e| err(&origin, &at(&entry), e))?;
                    (cfg, b.severity)
                };
                for &seed in &grid.seeds {
                    push(Cell {
                        id: format!("{}--{}--s{seed}", s.name, slug(&entry)),
                        study: s.name.clone(),
                        kind: StudyKind::Sweep,
                        entry: entry.clone(),
                        label: format!("{} = {}", s.param, fmt_value(v)),
                        value: Some(v),
                        seed,
                        severity: sev,
                        cfg: AdaptConfig {
                            seed,
                            ..cfg.clone()
                        },
                        source_free: true,
                        estimate: None,
                    });
                }
            }
        }
        for t in &grid.transfer {
            if t.variants.is_empty() {
                return Err(err(&origin, &format!("study '{}'", t.name), "no variants"));
            }
            for v in &t.variants {
                let (bns, dad) = match v.as_str() {
                    "bns" => (true, false),
                    "dad" => (false, true),
                    "bns+dad" => (true, true),
                    _ => {
                        return Err(err(
                            &origin,
                            &format!("study '{}', variant '{v}'", t.name),
                            format!("unknown variant; known: {}", TRANSFER_VARIANTS.join(", ")),
                        ))
                    }
                };
                let mut a = toml::Table::new();
                a.insert("transfer_only".into(), toml::Value::Boolean(true));
                a.insert("ipsm".into(), toml::Value::Boolean(false));
                a.insert("bns".into(), toml::Value::Boolean(bns));
                a.insert("dad".into(), toml::Value::Boolean(dad));
                let mut over = toml::Table::new();
                over.insert("method".into(), toml::Value::String("sfda".into()));
                over.insert("ablation".into(), toml::Value::Table(a));
                let cfg = apply(&base, &[over, t.set.clone()])
                    .map_err(|e| err(&origin, &format!("study '{}', variant '{v}'", t.name), e))?;
                if !cfg.ablation.transfer_only {
                    return Err(err(
                        &origin,
                        &format!("study '{}', set.ablation.transfer_only", t.name),
                        "a transfer study runs in transfer-only mode",
                    ));
                }
                for &seed in &grid.seeds {
                    push(Cell {
                        id: format!("{}--{}--s{seed}", t.name, slug(v)),
                        study: t.name.clone(),
                        kind: StudyKind::Transfer,
                        entry: v.clone(),
                        label: v.to_uppercase(),
                        value: None,
                        seed,
                        severity: b.severity,
                        cfg: AdaptConfig {
                            seed,
                            ..cfg.clone()
                        },
                        source_free: true,
                        estimate: None,
                    });
                }
            }
        }
        if grid.share_source_estimate {
            let seed = grid.seeds[0];
            for c in &mut cells {
                let steps = describe_method(&c.cfg)?.warmup_steps;
                if steps > 0 && c.cfg.source_estimate.is_none() {
                    c.estimate = Some(EstimatePlan { seed, steps });
                }
            }
        }
        Ok(Experiment {
            grid,
            path: path.to_path_buf(),
            base,
            cells,
        })
    }

    /// The source checkpoint named by the grid (resolved against its folder).
    pub fn source_checkpoint(&self) -> Option<PathBuf> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        self.grid.source.checkpoint.as_ref().map(|c| dir.join(c))
    }
}

fn check_severity(origin: &str, what: &str, s: Option<f32>) -> Result<()> {
    match s {
        Some(v) if !(v.is_finite() && (0.0..=1.0).contains(&v)) => Err(err(
            origin,
            what,
            format!("severity must lie in [0, 1], got {v}"),
        )),
        _ => Ok(()),
    }
}

/// `v` typed like the config's current value at `key` (integers stay
/// integers: `k = 3`, not `3.0`); an unknown key is an error naming it.
fn param_value(base: &AdaptConfig, key: &str, v: f64) -> Result<toml::Value> {
    let t = toml::Table::try_from(base).map_err(|e| Error::msg(e.to_string()))?;
    let mut cur: Option<&toml::Value> = None;
    let mut table = &t;
    for (i, part) in key.split('.').enumerate() {
        let found = table.get(part);
        match found {
            Some(toml::Value::Table(inner)) if i + 1 < key.split('.').count() => table = inner,
            Some(v) => cur = Some(v),
            None => {
                return Err(Error::msg(format!(
                    "'{key}' is not a key of the adaptation config"
                )))
            }
        }
    }
    match cur {
        Some(toml::Value::Integer(_)) => {
            if v.fract() != 0.0 || v < 0.0 {
                Err(Error::msg(format!("'{key}' takes whole numbers, got {v}")))
            } else {
                Ok(toml::Value::Integer(v as i64))
            }
        }
        Some(toml::Value::Float(_)) => Ok(toml::Value::Float(v)),
        _ => Err(Error::msg(format!("'{key}' is not a numeric config key"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SWEEP: &str = r#"
seeds = [0]
[[sweep]]
name = "alpha"
method = "sfda"
param = "weights.alpha"
values = [0.5, 1.0]
"#;

    fn parse(text: &str) -> std::result::Result<Experiment, String> {
        Experiment::from_toml(text, Path::new("grids/g.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn paper_values_are_optional_one_per_swept_value_and_numbers() {
        let exp = parse(&format!("{SWEEP}paper = [42.70, 43.16]\n")).unwrap();
        assert_eq!(exp.grid.sweep[0].paper, Some(vec![42.70, 43.16]));
        let e = parse(&format!("{SWEEP}paper = [42.70]\n")).unwrap_err();
        assert!(
            e.contains("study 'alpha', paper") && e.contains("1 paper values for 2 swept values"),
            "{e}"
        );
        let e = parse(&format!("{SWEEP}paper = [nan, 43.16]\n")).unwrap_err();
        assert!(
            e.contains("study 'alpha', paper") && e.contains("NaN"),
            "{e}"
        );
        let exp = parse(SWEEP).unwrap();
        assert!(exp.grid.sweep[0].paper.is_none());
        // Grids without it serialise as before (results.json).
        assert!(!serde_json::to_string(&exp.grid).unwrap().contains("paper"));
    }
}

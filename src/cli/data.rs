//! `sfda data ...`: generate the embedded benchmark to disk, print dataset
//! statistics, and write preview grids of the two synthetic domains.

use std::path::PathBuf;

use anyhow::Context as _;
use sfda_core::data::synth::params::{DEFAULT_HEIGHT, DEFAULT_SEVERITY, DEFAULT_WIDTH};
use sfda_core::data::{
    open_dataset_with, write_cityscapes, DatasetStats, Domain, Grid, Layout, Split, SynthSpec,
};

/// Subcommands of `sfda data`.
#[derive(Debug, clap::Subcommand)]
pub enum DataCommand {
    /// Generate the embedded two-domain street-scene benchmark into DIR in
    /// the Cityscapes layout (leftImg8bit/ + gtFine/*_labelIds.png).
    Synth(SynthArgs),
    /// Print image counts and per-class pixel frequencies of a dataset.
    Stats(StatsArgs),
    /// Write a PNG grid of source and target examples with their labels
    /// (source image | source labels | target image | target labels).
    Preview(PreviewArgs),
}

/// Arguments of `sfda data synth`.
#[derive(Debug, clap::Args)]
pub struct SynthArgs {
    /// Domain to generate: source ("game" look) or target ("real" look).
    #[arg(long, default_value = "source", value_parser = parse_domain)]
    pub domain: Domain,
    /// Split: train or val (independent random streams).
    #[arg(long, default_value = "train", value_parser = parse_split)]
    pub split: Split,
    /// Number of images.
    #[arg(long, default_value_t = 200)]
    pub count: usize,
    /// Image size as WIDTHxHEIGHT.
    #[arg(long, default_value_t = default_size(), value_parser = parse_size)]
    pub size: Size,
    /// Random seed (same seed, same images).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Target-domain shift in [0, 1] (0 = same as source; ignored for source).
    #[arg(long, default_value_t = DEFAULT_SEVERITY)]
    pub severity: f32,
    /// Output folder (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace this domain and split if the folder already holds them.
    #[arg(long)]
    pub force: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Arguments of `sfda data stats`.
#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// Dataset root folder.
    pub dir: PathBuf,
    /// Layout: cityscapes, gta5, synthia, nthu or folder.
    #[arg(long, value_parser = parse_layout)]
    pub layout: Layout,
    /// Split to read (default: every split present).
    #[arg(long)]
    pub split: Option<String>,
    /// Refuse label ids outside the layout's id table (default: count them
    /// as ignore and report them).
    #[arg(long)]
    pub strict_labels: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Arguments of `sfda data preview`.
#[derive(Debug, clap::Args)]
pub struct PreviewArgs {
    /// Number of rows (example pairs).
    #[arg(long, default_value_t = 4)]
    pub count: usize,
    /// Image size as WIDTHxHEIGHT.
    #[arg(long, default_value_t = default_size(), value_parser = parse_size)]
    pub size: Size,
    /// Random seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Target-domain shift in [0, 1].
    #[arg(long, default_value_t = DEFAULT_SEVERITY)]
    pub severity: f32,
    /// Split to draw from.
    #[arg(long, default_value = "val", value_parser = parse_split)]
    pub split: Split,
    /// Output PNG file.
    #[arg(long)]
    pub out: PathBuf,
}

/// An image size, printed and parsed as `WIDTHxHEIGHT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl std::fmt::Display for Size {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

fn default_size() -> Size {
    Size {
        width: DEFAULT_WIDTH,
        height: DEFAULT_HEIGHT,
    }
}

fn parse_size(s: &str) -> Result<Size, String> {
    let err = || format!("invalid size '{s}': expected WIDTHxHEIGHT, e.g. 256x128");
    let lower = s.to_ascii_lowercase();
    let (w, h) = lower.split_once('x').ok_or_else(err)?;
    Ok(Size {
        width: w.trim().parse().map_err(|_| err())?,
        height: h.trim().parse().map_err(|_| err())?,
    })
}

fn parse_domain(s: &str) -> Result<Domain, String> {
    s.parse().map_err(|e: sfda_core::Error| e.to_string())
}

fn parse_split(s: &str) -> Result<Split, String> {
    s.parse().map_err(|e: sfda_core::Error| e.to_string())
}

fn parse_layout(s: &str) -> Result<Layout, String> {
    s.parse().map_err(|e: sfda_core::Error| e.to_string())
}

/// Runs a `sfda data` subcommand.
pub fn run(cmd: DataCommand) -> anyhow::Result<()> {
    match cmd {
        DataCommand::Synth(a) => synth(a),
        DataCommand::Stats(a) => stats(a),
        DataCommand::Preview(a) => preview(a),
    }
}

fn synth(a: SynthArgs) -> anyhow::Result<()> {
    let spec = SynthSpec::new(a.domain, a.split, a.count)
        .with_size(a.size.width, a.size.height)
        .with_seed(a.seed)
        .with_severity(a.severity);
    let done = write_cityscapes(&spec, &a.out, !a.quiet, a.force)
        .with_context(|| format!("generating the synth benchmark into {}", a.out.display()))?;
    println!(
        "wrote {} {} {} images ({}, seed {}, severity {}) to {} and {}",
        done.images,
        spec.domain,
        spec.split,
        a.size,
        spec.seed,
        spec.effective_severity(),
        done.image_dir.display(),
        done.label_dir.display()
    );
    println!(
        "read it with: --data {} --layout cityscapes",
        a.out.display()
    );
    Ok(())
}

fn stats(a: StatsArgs) -> anyhow::Result<()> {
    let ds = open_dataset_with(a.layout, &a.dir, a.split.as_deref(), a.strict_labels)?;
    let st = DatasetStats::compute(ds.as_ref(), !a.quiet && !a.json)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&st)?);
    } else {
        print!("{st}");
    }
    Ok(())
}

fn preview(a: PreviewArgs) -> anyhow::Result<()> {
    let (w, h) = (a.size.width, a.size.height);
    let mut grid = Grid::new(w, h);
    for i in 0..a.count {
        let mut row = Vec::new();
        for domain in [Domain::Source, Domain::Target] {
            let s = SynthSpec::new(domain, a.split, a.count)
                .with_size(w, h)
                .with_seed(a.seed)
                .with_severity(a.severity)
                .sample(i)?;
            let labels = s.label.as_ref().map(|l| grid.label_panel(l));
            row.push(s.image);
            row.extend(labels);
        }
        grid.push_row(row);
    }
    grid.save(&a.out)?;
    println!(
        "wrote {} ({} rows: source image | labels | target image | labels, severity {})",
        a.out.display(),
        a.count,
        a.severity
    );
    Ok(())
}

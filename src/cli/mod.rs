//! Command-line interface: one file per command group.

mod backends;

use clap::{Parser, Subcommand};

/// Source-free domain adaptation for semantic segmentation.
#[derive(Debug, Parser)]
#[command(name = "sfda", version, about, long_about = None)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List compiled backends, their versions and usable devices.
    Backends(backends::BackendsArgs),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Backends(a) => backends::run(a),
    }
}

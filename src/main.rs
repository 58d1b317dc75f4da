//! `sfda`: source-free domain adaptation for semantic segmentation.
//!
//! Run `sfda --help` for the commands. Backends are picked at run time with
//! `--backend tch|candle` and `--device cpu|cuda:N`.

// Link the backend crates so their registry entries are kept.
use sfda_backend_candle as _;
use sfda_backend_tch as _;

mod cli;
mod malloc_tuning;

use clap::Parser;

fn main() {
    malloc_tuning::keep_freed_memory();
    let args = cli::Cli::parse();
    if let Err(e) = cli::run(args) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

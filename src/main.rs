//! `sfda`: source-free domain adaptation for semantic segmentation.
//!
//! Run `sfda --help` for the commands. Backends are picked at run time with
//! `--backend tch|candle` and `--device cpu|cuda:N`.

// Link the backend crates so their registry entries are kept.
use sfda_backend_candle as _;
use sfda_backend_tch as _;

mod cli;
mod malloc_tuning;
mod stop_signals;

use clap::Parser;

fn main() {
    malloc_tuning::keep_freed_memory();
    // Before any thread exists: the thread count for both backends' pools
    // (the free cores, or SFDA_THREADS), exported to rayon and candle.
    if let Some(w) = sfda_core::cpu_threads::policy_warning() {
        eprintln!("warning: {w}");
    }
    sfda_core::cpu_threads::prepare_process();
    let args = cli::Cli::parse();
    if args.command.saves_on_interrupt() {
        stop_signals::install();
    }
    if let Err(e) = cli::run(args) {
        let interrupted = matches!(
            e.downcast_ref::<sfda_core::Error>(),
            Some(sfda_core::Error::Interrupted { .. })
        );
        if interrupted {
            eprintln!("{e:#}");
            std::process::exit(stop_signals::INTERRUPTED_EXIT);
        }
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

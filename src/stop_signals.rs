//! Ctrl-C and SIGTERM for the commands that run long loops: the first signal
//! asks the loop to stop after its current step (it writes its state and
//! says how to resume, see `sfda_core::interrupt`), a second one exits at
//! once. Other commands keep the default behaviour (the signal ends them).

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// Exit status after a stop request (128 + SIGINT, as shells report it).
pub const INTERRUPTED_EXIT: i32 = 130;

/// Routes SIGINT and SIGTERM to `sfda_core::interrupt` from a watcher
/// thread. An error (no signal support) leaves the default behaviour.
pub fn install() {
    let Ok(mut signals) = Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    std::thread::spawn(move || {
        for sig in signals.forever() {
            if sfda_core::interrupt::requested() {
                eprintln!("\nsecond stop signal: exiting now (the last checkpoint stays)");
                std::process::exit(INTERRUPTED_EXIT);
            }
            let name = if sig == SIGINT { "Ctrl-C" } else { "SIGTERM" };
            eprintln!(
                "\n{name}: stopping after the current step and saving the state \
                 (press Ctrl-C again to quit at once)"
            );
            sfda_core::interrupt::request();
        }
    });
}

//! Progress bars with rate and ETA (indicatif), hidden when not wanted
//! (tests, `--quiet`) or when stderr is not a terminal.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `len` steps with position, rate, ETA and a message slot.
pub fn progress_bar(len: u64, prefix: &str, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template(
        "{prefix:>8} [{bar:30}] {pos}/{len} {per_sec} ETA {eta} {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(prefix.to_string());
    bar
}

/// A spinner for work of unknown length.
pub fn spinner(prefix: &str, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_prefix(prefix.to_string());
    bar
}

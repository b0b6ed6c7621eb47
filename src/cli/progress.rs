//! The progress bar of long commands (scoring, exporting): one style for all.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar over `len` frames, labelled `what`.
pub fn frames(len: usize, what: &str) -> ProgressBar {
    counted(len, "frames", what)
}

/// A bar over `len` items called `unit` (e.g. "videos"), labelled `what`.
pub fn counted(len: usize, unit: &str, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{msg:>10}} [{{bar:30}}] {{pos}}/{{len}} {unit}, {{per_sec}}, eta {{eta}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

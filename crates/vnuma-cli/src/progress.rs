//! A progress bar on standard error for runs that take longer than a second, drawn only when
//! standard error is a terminal (never into pipes or files), and cleared when done.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// The bar.
pub(crate) struct Bar {
    label: &'static str,
    start: Instant,
    terminal: bool,
    drawn: bool,
    last: Option<Instant>,
}

impl Bar {
    /// A bar for `label`; nothing shows during the first second.
    pub(crate) fn new(label: &'static str) -> Self {
        Bar {
            label,
            start: Instant::now(),
            terminal: std::io::stderr().is_terminal(),
            drawn: false,
            last: None,
        }
    }

    /// `done` of `total` finished.
    pub(crate) fn update(&mut self, done: usize, total: usize) {
        if !self.terminal || self.start.elapsed() < Duration::from_secs(1) || total == 0 {
            return;
        }
        if self
            .last
            .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(Instant::now());
        let width = 30;
        let filled = done.saturating_mul(width) / total;
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r{} [{}{}] {done}/{total}",
            self.label,
            "#".repeat(filled),
            " ".repeat(width - filled.min(width))
        );
        let _ = err.flush();
        self.drawn = true;
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        if self.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}

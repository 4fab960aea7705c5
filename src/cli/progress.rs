//! Progress of long commands on stderr: a bar (indicatif) when stderr is a terminal, a plain line at
//! most every [`PLAIN_EVERY`] otherwise (no `\r` in log files), nothing with `-q`.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// How often a plain progress line is written when stderr is not a terminal.
pub const PLAIN_EVERY: Duration = Duration::from_secs(10);

/// Where progress goes.
pub struct Progress {
    bar: Option<ProgressBar>,
    quiet: bool,
    last_plain: Option<Instant>,
}

impl Progress {
    /// A bar on a terminal, plain lines elsewhere, silence when `quiet`.
    pub fn new(quiet: bool) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template("{bar:30.cyan/blue} {pos}/{len} {msg}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            b
        });
        Progress { bar, quiet, last_plain: None }
    }

    /// Reports `done` of `total` with a message (rates, loss, ETA).
    pub fn update(&mut self, done: u64, total: u64, msg: &str) {
        if let Some(b) = &self.bar {
            b.set_length(total);
            b.set_position(done);
            b.set_message(msg.to_string());
        } else if !self.quiet && (done >= total || self.last_plain.is_none_or(|t| t.elapsed() >= PLAIN_EVERY)) {
            self.last_plain = Some(Instant::now());
            eprintln!("{done}/{total} {msg}");
        }
    }

    /// A line that stays (above the bar on a terminal); shown even without a bar unless quiet.
    pub fn line(&self, text: &str) {
        match &self.bar {
            Some(b) => b.println(text),
            None if !self.quiet => eprintln!("{text}"),
            None => {}
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

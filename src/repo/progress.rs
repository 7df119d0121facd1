//! rustic_core's progress hooks drawn with indicatif on a terminal, hidden otherwise.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rustic_core::{Progress, ProgressBars, ProgressType, RusticProgress};

/// Bars on stderr when `.0` (a terminal, not `--quiet`/`--json`), hidden otherwise.
#[derive(Debug, Clone, Copy)]
pub struct Bars(pub bool);

impl ProgressBars for Bars {
    fn progress(&self, tpe: ProgressType, prefix: &str) -> Progress {
        if !self.0 {
            return Progress::hidden();
        }
        let template = match tpe {
            ProgressType::Spinner => "{spinner} {prefix:30} {elapsed}",
            ProgressType::Counter => "{spinner} {prefix:30} {bar:30} {pos}/{len} {elapsed}",
            ProgressType::Bytes => {
                "{spinner} {prefix:30} {bar:30} {bytes}/{total_bytes} {decimal_bytes_per_sec} eta {eta}"
            }
        };
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
            .with_style(ProgressStyle::with_template(template).expect("static template"))
            .with_prefix(prefix.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress::new(Bar(bar))
    }
}

#[derive(Debug)]
struct Bar(ProgressBar);

impl RusticProgress for Bar {
    fn is_hidden(&self) -> bool {
        false
    }
    fn set_length(&self, len: u64) {
        self.0.set_length(len);
    }
    fn set_title(&self, title: &str) {
        self.0.set_prefix(title.to_string());
    }
    fn inc(&self, inc: u64) {
        self.0.inc(inc);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

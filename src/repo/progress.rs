//! rustic_core's progress hooks drawn with indicatif on a terminal, hidden otherwise.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rustic_core::{Progress, ProgressBars, ProgressType, RusticProgress};

static VISIBLE: AtomicBool = AtomicBool::new(false);

/// Show bars (stderr is a terminal and not `--quiet`/`--json`).
pub fn set_progress_visible(v: bool) {
    VISIBLE.store(v, Ordering::Relaxed);
}

#[derive(Debug, Clone, Copy)]
pub struct Bars;

impl ProgressBars for Bars {
    fn progress(&self, tpe: ProgressType, prefix: &str) -> Progress {
        if !VISIBLE.load(Ordering::Relaxed) {
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

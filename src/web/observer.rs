//! Keeps the last observation of the repositories fresh, in the background, so that pages
//! read it from the catalog: after a run, drill or verification is recorded (10 s later, so
//! a burst of runs costs one look), every minute while binlog parts arrive, every 5 minutes
//! regardless (free space), and at once when an action asks.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::AppState;
use crate::report::observe;

const AFTER_CHANGE: Duration = Duration::from_secs(10);
const AFTER_BINLOG: Duration = Duration::from_secs(60);
const AT_LEAST: Duration = Duration::from_secs(300);
const POLL: Duration = Duration::from_secs(2);

/// Wakes the observer early.
#[derive(Default)]
pub struct Wakeup(Mutex<bool>, Condvar);

impl Wakeup {
    pub fn wake(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.1.notify_all();
    }

    /// Waits up to `d`; whether it was woken.
    fn wait(&self, d: Duration) -> bool {
        let g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let (mut g, _) = self
            .1
            .wait_timeout_while(g, d, |woken| !*woken)
            .unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut *g)
    }
}

pub struct Handle {
    stop: Arc<AtomicBool>,
    state: AppState,
    thread: JoinHandle<()>,
}

impl Handle {
    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        self.state.0.observer.wake();
        let _ = self.thread.join();
    }
}

pub fn start(state: AppState) -> Handle {
    let stop = Arc::new(AtomicBool::new(false));
    let (flag, st) = (stop.clone(), state.clone());
    let thread = std::thread::Builder::new()
        .name("dxbackup-observer".into())
        .spawn(move || run(&st, &flag))
        .expect("spawn the observer thread");
    Handle {
        stop,
        state,
        thread,
    }
}

fn run(state: &AppState, stop: &AtomicBool) {
    let mut last: Option<Instant> = None;
    let mut seen: Option<(String, i64)> = None;
    let mut woken = false;
    while !stop.load(Ordering::SeqCst) {
        let site = state.site();
        let marker = site
            .catalog()
            .and_then(|c| Ok((c.change_marker()?, c.binlog_marker()?)))
            .ok();
        let since = last.map_or(Duration::MAX, |t| t.elapsed());
        let changed = |f: fn(&(String, i64), &(String, i64)) -> bool| match (&seen, &marker) {
            (Some(a), Some(b)) => f(a, b),
            _ => false,
        };
        let due = woken
            || since >= AT_LEAST
            || (since >= AFTER_CHANGE && changed(|a, b| a.0 != b.0))
            || (since >= AFTER_BINLOG && changed(|a, b| a.1 != b.1));
        if due {
            let started = Instant::now();
            match observe::refresh(&site) {
                Ok(_) => tracing::debug!(
                    ms = started.elapsed().as_millis() as u64,
                    "repositories observed"
                ),
                Err(e) => tracing::warn!("cannot observe the repositories: {e:#}"),
            }
            last = Some(Instant::now());
            seen = marker;
        }
        woken = state.0.observer.wait(POLL);
    }
}

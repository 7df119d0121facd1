//! Sending with retries and backoff inside each channel's `timeout`, every channel on its own
//! thread: the whole takes no longer than the slowest channel's timeout, whatever fails.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::{AlertError, Configured, Message};

/// How sending to one channel went.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub channel: String,
    pub kind: String,
    pub ok: bool,
    pub attempts: u32,
    pub error: Option<String>,
    pub duration_secs: f64,
}

/// The first retry waits this long, each next one twice as long.
const BACKOFF_FIRST: Duration = Duration::from_millis(500);

/// Tries `attempt` up to 1 + `retries` times, backing off between tries, never past `budget`.
fn with_retries(
    budget: Duration,
    retries: u32,
    attempt: impl Fn(Duration) -> Result<(), AlertError>,
) -> (u32, Result<(), AlertError>) {
    let start = Instant::now();
    let mut tries = 0;
    let mut backoff = BACKOFF_FIRST;
    loop {
        let left = budget.saturating_sub(start.elapsed());
        tries += 1;
        let result = attempt(left.max(Duration::from_millis(100)));
        let out_of_time = start.elapsed() + backoff >= budget;
        match result {
            Ok(()) => return (tries, Ok(())),
            Err(e) if tries > retries || out_of_time => return (tries, Err(e)),
            Err(e) => {
                tracing::debug!("{e}; retrying in {backoff:?}");
                std::thread::sleep(backoff);
                backoff *= 2;
            }
        }
    }
}

/// Sends each channel its message, all at once; returns how each went.
pub fn deliver(batches: Vec<(&Configured, Message)>) -> Vec<Delivery> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = batches
            .into_iter()
            .map(|(c, m)| {
                scope.spawn(move || {
                    let start = Instant::now();
                    let (attempts, result) =
                        with_retries(c.config.timeout(), c.config.retries(), |t| {
                            c.channel.send(&m, t)
                        });
                    finish(c, attempts, result, start)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a sender thread panicked"))
            .collect()
    })
}

fn finish(
    c: &Configured,
    attempts: u32,
    result: Result<(), AlertError>,
    start: Instant,
) -> Delivery {
    let error = result.err().map(|e| e.to_string());
    match &error {
        Some(e) => tracing::warn!(channel = c.channel.name(), attempts, "alert not sent: {e}"),
        None => tracing::info!(channel = c.channel.name(), attempts, "alert sent"),
    }
    Delivery {
        channel: c.channel.name().to_string(),
        kind: c.channel.kind().to_string(),
        ok: error.is_none(),
        attempts,
        error,
        duration_secs: start.elapsed().as_secs_f64(),
    }
}

/// Where a job is, for a dead man's switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PingPhase {
    Start,
    Success,
    Fail,
}

impl PingPhase {
    fn suffix(self) -> &'static str {
        match self {
            Self::Start => "/start",
            Self::Success => "",
            Self::Fail => "/fail",
        }
    }
}

/// Pings every `kind = "ping"` channel, all at once, each within its timeout.
pub fn ping(channels: &[Configured], phase: PingPhase) -> Vec<Delivery> {
    let pings: Vec<&Configured> = channels
        .iter()
        .filter(|c| c.channel.kind() == crate::config::AlertKind::Ping)
        .collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = pings
            .into_iter()
            .map(|c| {
                scope.spawn(move || {
                    let start = Instant::now();
                    let (attempts, result) =
                        with_retries(c.config.timeout(), c.config.retries(), |t| {
                            c.channel.ping(phase.suffix(), t)
                        });
                    finish(c, attempts, result, start)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a ping thread panicked"))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn failing(n: &Cell<u32>) -> Result<(), AlertError> {
        n.set(n.get() + 1);
        Err(AlertError::Send {
            channel: "c".into(),
            message: "500".into(),
        })
    }

    #[test]
    fn retries_back_off_and_stop_within_the_budget() {
        let n = Cell::new(0);
        let start = Instant::now();
        let (tries, r) = with_retries(Duration::from_secs(10), 2, |_| failing(&n));
        assert!(r.is_err());
        assert_eq!((tries, n.get()), (3, 3));
        // 0.5 s + 1 s of backoff.
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(1500) && took < Duration::from_secs(3),
            "{took:?}"
        );
        // A budget shorter than the backoff: one try only.
        let (tries, _) = with_retries(Duration::from_millis(300), 5, |_| failing(&n));
        assert_eq!(tries, 1);
        let (tries, r) = with_retries(Duration::from_secs(1), 5, |_| Ok(()));
        assert_eq!((tries, r.is_ok()), (1, true));
    }
}

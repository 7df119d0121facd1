//! When the daemon runs what, as pure functions of the config and a `now` passed in: the
//! effective schedules (`[schedule.*]` or the seed's plan), their slots on the local clock,
//! whether a slot is due (catching up a missed one once), the retry plan of a failed run, the
//! load-aware mode and the deferral of database fulls, and per source when a backup is
//! expected (for freshness checks).
//!
//! Nothing here reads a clock, a file or the catalog except `load`, which reads the load
//! average: the loop around these functions owns time, state and side effects.

mod cron;
mod due;
mod fresh;
pub mod load;
mod mode;
mod plan;
#[cfg(test)]
mod proptests;

use std::time::Duration;

use jiff::Zoned;

pub use crate::config::{JobKind, ModeSetting, Percent};
pub use cron::CronExpr;
pub use due::{due, retry_delay, Decision, SkipReason, LATE_AFTER, MAX_RETRIES, RETRY_FIRST};
pub use fresh::{expectations, Expectation};
pub use mode::{choose_mode, defer_full, include_for, Deferral, Mode, ModeChoice, MINIMAL_INCLUDE};
pub use plan::{default_plan, effective};

/// One schedule as the daemon runs it: configured, or from the seed's plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// `NAME` of `[schedule.NAME]`, or the plan's name (`nightly`, `files`, ...): what runs,
    /// skips and catch-ups are recorded under.
    pub name: String,
    pub cron: CronExpr,
    pub job: JobKind,
    /// The sources it covers, resolved: the configured list, else every source. Empty for
    /// jobs that take no sources.
    pub sources: Vec<String>,
    /// `run` and `backup` only; the others always run as configured.
    pub mode: ModeSetting,
    /// `verify`: the share of packs read; `None` checks the structure only.
    pub read_data: Option<Percent>,
    /// Cancel (safely) and report a run lasting longer; `None`: no limit.
    pub timeout: Option<Duration>,
    /// From the seed's plan, not from the config.
    pub default: bool,
}

/// What can go wrong evaluating schedules. A config that `config check` accepts never
/// produces the first two.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("`{expr}` is not a cron expression: {reason}")]
    BadCron { expr: String, reason: String },
    #[error("`{expr}` matches no date (such as February 30), so it would never run")]
    NeverMatches { expr: String },
    #[error("[schedule.{name}]: {reason}; run 'dxbackup config check'")]
    Invalid { name: String, reason: String },
    #[error("cannot tell when `{expr}` runs around {at}: {reason}")]
    Evaluate {
        expr: String,
        at: String,
        reason: String,
    },
}

/// The first slot of `schedule` strictly after `now`, in `now`'s time zone: what the loop
/// sleeps until.
pub fn next_after(schedule: &Schedule, now: &Zoned) -> Result<Zoned, ScheduleError> {
    schedule.cron.next_after(now)
}

/// The last slot of `schedule` at or before `now`: the one that is due, if not yet handled.
/// `None` only for a `now` before any slot could be (year 1).
pub fn latest_slot_at_or_before(
    schedule: &Schedule,
    now: &Zoned,
) -> Result<Option<Zoned>, ScheduleError> {
    schedule.cron.latest_at_or_before(now)
}

/// The time from `from` to `to`; zero when `to` is earlier (a clock set back).
fn elapsed(from: jiff::Timestamp, to: jiff::Timestamp) -> Duration {
    Duration::try_from(to.duration_since(from)).unwrap_or_default()
}

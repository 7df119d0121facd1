//! Whether a schedule's slot is due now, and when a failed run is tried again.
//!
//! A slot is identified by its instant. The loop records each slot it ran or skipped as
//! handled; whatever slots passed while nobody looked (the daemon down, the machine asleep)
//! fold into the latest one, which runs once: a daily job after a 3-day outage runs one
//! catch-up, not three.

use std::time::Duration;

use jiff::{Timestamp, Zoned};

use super::{elapsed, Schedule, ScheduleError};

/// A slot run later than this after its time is a catch-up (the loop wakes at a slot within
/// milliseconds; minutes late means it was not there to).
pub const LATE_AFTER: Duration = Duration::from_secs(60);

/// The wait before the first retry of a failed run; it doubles for each further one.
pub const RETRY_FIRST: Duration = Duration::from_secs(60);

/// Retries of one slot after its first try failed: 1 min, 2 min, 4 min, then it has failed.
pub const MAX_RETRIES: u32 = 3;

/// What to do about one schedule now.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Start the job for `slot`, then record the slot as handled (an attempt: a success only
    /// once the job succeeded). `catch_up`: the slot is late (missed while the daemon was
    /// down or the machine asleep, or run more than `LATE_AFTER` after its time).
    Run { slot: Zoned, catch_up: bool },
    /// Record `slot` as handled and skipped, with `reason`; do not run it.
    Skip { slot: Zoned, reason: SkipReason },
    /// Nothing is due; ask again at `next`.
    Wait { next: Zoned },
}

/// Why a due slot is not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// The schedule's previous run is still running: runs of one schedule never overlap.
    StillRunning,
}

impl SkipReason {
    /// A stable word for the catalog.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StillRunning => "still-running",
        }
    }
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::StillRunning => "its previous run is still running",
        })
    }
}

/// Whether `schedule` has a slot to run at `now`.
///
/// `last_slot_handled`: the latest slot the loop recorded as run or skipped. `None` (a new
/// schedule, or a new catalog) has missed nothing: its latest slot runs only when on time
/// (within `LATE_AFTER`), so starting the daemon at 15:00 does not fire the 02:00 backup, the
/// Sunday drill and the weekly prune at once; the first run is the next slot. `running`: the
/// schedule's previous run has not ended.
///
/// A slot at or before `last_slot_handled` is never due again, so a clock set back does not
/// repeat runs.
pub fn due(
    schedule: &Schedule,
    last_slot_handled: Option<Timestamp>,
    running: bool,
    now: &Zoned,
) -> Result<Decision, ScheduleError> {
    let wait = || {
        Ok(Decision::Wait {
            next: schedule.cron.next_after(now)?,
        })
    };
    let Some(slot) = schedule.cron.latest_at_or_before(now)? else {
        return wait();
    };
    let late = elapsed(slot.timestamp(), now.timestamp()) > LATE_AFTER;
    let fresh = match last_slot_handled {
        Some(handled) => slot.timestamp() > handled,
        None => !late,
    };
    if !fresh {
        return wait();
    }
    if running {
        return Ok(Decision::Skip {
            slot,
            reason: SkipReason::StillRunning,
        });
    }
    Ok(Decision::Run {
        slot,
        catch_up: late,
    })
}

/// How long to wait before trying a failed slot again. `failed`: the tries of this slot that
/// have failed so far; 0 gives zero (the first try runs at once). `None`: give up, the slot
/// has failed (it never counts as a success, and the next slot comes as usual).
pub fn retry_delay(failed: u32) -> Option<Duration> {
    match failed {
        0 => Some(Duration::ZERO),
        n if n <= MAX_RETRIES => Some(RETRY_FIRST * 2u32.pow(n - 1)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{CronExpr, JobKind, ModeSetting};
    use super::*;
    use jiff::civil::date;
    use jiff::tz::TimeZone;
    use rstest::rstest;

    fn daily_0200() -> Schedule {
        Schedule {
            name: "nightly".into(),
            cron: CronExpr::parse("0 2 * * *").unwrap(),
            job: JobKind::Run,
            sources: vec!["datax".into()],
            mode: ModeSetting::Auto,
            read_data: None,
            timeout: None,
            default: false,
        }
    }

    fn utc(d: i8, h: i8, m: i8, s: i8) -> Zoned {
        date(2026, 6, d)
            .at(h, m, s, 0)
            .to_zoned(TimeZone::UTC)
            .unwrap()
    }

    fn ts(d: i8, h: i8) -> Timestamp {
        utc(d, h, 0, 0).timestamp()
    }

    #[rstest]
    // On time: the loop wakes at the slot.
    #[case::on_time(Some(ts(9, 2)), false, utc(10, 2, 0, 0), Decision::Run { slot: utc(10, 2, 0, 0), catch_up: false })]
    #[case::slightly_late(Some(ts(9, 2)), false, utc(10, 2, 0, 59), Decision::Run { slot: utc(10, 2, 0, 0), catch_up: false })]
    // Down from the 9th 03:00 to the 12th 10:00: one run, of the latest slot, a catch-up.
    #[case::three_day_outage(Some(ts(9, 2)), false, utc(12, 10, 0, 0), Decision::Run { slot: utc(12, 2, 0, 0), catch_up: true })]
    #[case::handled(Some(ts(12, 2)), false, utc(12, 10, 0, 0), Decision::Wait { next: utc(13, 2, 0, 0) })]
    #[case::still_running(Some(ts(11, 2)), true, utc(12, 2, 0, 0), Decision::Skip { slot: utc(12, 2, 0, 0), reason: SkipReason::StillRunning })]
    #[case::running_but_handled(Some(ts(12, 2)), true, utc(12, 3, 0, 0), Decision::Wait { next: utc(13, 2, 0, 0) })]
    // A new schedule waits for its next slot rather than firing a past one...
    #[case::new_late(None, false, utc(12, 15, 0, 0), Decision::Wait { next: utc(13, 2, 0, 0) })]
    // ...and runs that one when it comes.
    #[case::new_on_time(None, false, utc(13, 2, 0, 1), Decision::Run { slot: utc(13, 2, 0, 0), catch_up: false })]
    // The clock set back behind a handled slot repeats nothing.
    #[case::clock_set_back(Some(ts(12, 2)), false, utc(11, 9, 0, 0), Decision::Wait { next: utc(12, 2, 0, 0) })]
    fn due_decisions(
        #[case] handled: Option<Timestamp>,
        #[case] running: bool,
        #[case] now: Zoned,
        #[case] want: Decision,
    ) {
        assert_eq!(due(&daily_0200(), handled, running, &now).unwrap(), want);
    }

    /// The loop as the daemon runs it, started after a 3-day outage: one catch-up run, then
    /// the regular slot.
    #[test]
    fn an_outage_is_caught_up_once() {
        let s = daily_0200();
        let mut handled = Some(ts(9, 2));
        let mut now = utc(12, 10, 0, 0);
        let mut runs = Vec::new();
        for _ in 0..4 {
            match due(&s, handled, false, &now).unwrap() {
                Decision::Run { slot, catch_up } => {
                    runs.push((slot.timestamp(), catch_up));
                    handled = Some(slot.timestamp());
                }
                Decision::Wait { next } => now = next,
                Decision::Skip { .. } => unreachable!(),
            }
        }
        assert_eq!(runs, [(ts(12, 2), true), (ts(13, 2), false)]);
    }

    #[rstest]
    #[case(0, Some(0))]
    #[case(1, Some(60))]
    #[case(2, Some(120))]
    #[case(3, Some(240))]
    #[case(4, None)]
    #[case(100, None)]
    fn retries_back_off_then_give_up(#[case] failed: u32, #[case] secs: Option<u64>) {
        assert_eq!(retry_delay(failed), secs.map(Duration::from_secs));
    }
}

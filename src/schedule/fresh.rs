//! When each source's backup is expected, from the schedules: what freshness is judged
//! against ("scheduled every 4 h and no success for 4 h + grace: late").
//!
//! A source covered by several schedules (the nightly `run` and the 4-hourly `files` backup)
//! is expected at every slot of any of them, so its interval is the gap between the two
//! latest slots of all of them together.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::{Timestamp, Zoned};

use super::{elapsed, Schedule, ScheduleError};

/// When a backup of one source is expected.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    /// The latest slot at or before now of the schedules that back it up.
    pub latest: Zoned,
    /// The slot before `latest`.
    pub previous: Option<Zoned>,
    /// The next slot after now.
    pub next: Zoned,
    /// `latest - previous` (`next - latest` without a previous slot): how often a backup
    /// should succeed around now.
    pub interval: Duration,
    /// The schedules that back it up, by name.
    pub schedules: Vec<String>,
}

impl Expectation {
    /// The rule: late when the last success is older than `interval + grace` (or
    /// there is none and the latest slot is more than `grace` ago).
    pub fn is_late(
        &self,
        last_success: Option<Timestamp>,
        now: Timestamp,
        grace: Duration,
    ) -> bool {
        match last_success {
            Some(t) => elapsed(t, now) > self.interval + grace,
            None => elapsed(self.latest.timestamp(), now) > grace,
        }
    }
}

/// Per source named by a backing-up schedule (`run`, `backup`), when its backups are
/// expected at `now`. A source that no schedule backs up is absent: the caller, who knows
/// every source, can call that unscheduled. A schedule counts whatever its mode: a source
/// its mode leaves out (a database in `minimal`) becomes late, which is what should be said.
pub fn expectations(
    schedules: &[Schedule],
    now: &Zoned,
) -> Result<BTreeMap<String, Expectation>, ScheduleError> {
    let mut out: BTreeMap<String, Expectation> = BTreeMap::new();
    let backing_up: Vec<&Schedule> = schedules.iter().filter(|s| s.job.backs_up()).collect();
    let mut slots = Vec::with_capacity(backing_up.len());
    for s in &backing_up {
        let Some(latest) = s.cron.latest_at_or_before(now)? else {
            continue;
        };
        slots.push((*s, latest, s.cron.next_after(now)?));
    }
    for (s, latest, next) in &slots {
        for source in &s.sources {
            let e = out.entry(source.clone()).or_insert_with(|| Expectation {
                latest: latest.clone(),
                previous: None,
                next: next.clone(),
                interval: Duration::ZERO,
                schedules: Vec::new(),
            });
            if *latest > e.latest {
                e.latest = latest.clone();
            }
            if *next < e.next {
                e.next = next.clone();
            }
            e.schedules.push(s.name.clone());
        }
    }
    for e in out.values_mut() {
        // The slot before the latest, of any of its schedules.
        for (s, _, _) in slots
            .iter()
            .filter(|(s, _, _)| e.schedules.contains(&s.name))
        {
            if let Some(p) = s.cron.before(&e.latest, false)? {
                if e.previous.as_ref().is_none_or(|q| &p > q) {
                    e.previous = Some(p);
                }
            }
        }
        e.interval = match &e.previous {
            Some(p) => elapsed(p.timestamp(), e.latest.timestamp()),
            None => elapsed(e.latest.timestamp(), e.next.timestamp()),
        };
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::{CronExpr, JobKind, ModeSetting};
    use super::*;
    use jiff::civil::date;
    use jiff::tz::TimeZone;
    use rstest::rstest;

    fn schedule(name: &str, cron: &str, job: JobKind, sources: &[&str]) -> Schedule {
        Schedule {
            name: name.into(),
            cron: CronExpr::parse(cron).unwrap(),
            job,
            sources: sources.iter().map(|s| s.to_string()).collect(),
            mode: ModeSetting::Auto,
            read_data: None,
            timeout: None,
            default: true,
        }
    }

    /// The seed's plan for a files source `datax` and a database `shop`.
    fn seed() -> Vec<Schedule> {
        vec![
            schedule("nightly", "0 2 * * *", JobKind::Run, &["datax", "shop"]),
            schedule("files", "0 */4 * * *", JobKind::Backup, &["datax"]),
            schedule("drill", "0 4 * * 0", JobKind::Drill, &["datax", "shop"]),
        ]
    }

    fn utc(h: i8, m: i8) -> Zoned {
        date(2026, 6, 10)
            .at(h, m, 0, 0)
            .to_zoned(TimeZone::UTC)
            .unwrap()
    }

    #[rstest]
    // Slots of datax: 00 02 04 08 12 16 20 (02 from the nightly run).
    #[case::files_after_nightly("datax", utc(3, 0), utc(2, 0), 2, &["nightly", "files"])]
    #[case::files_midday("datax", utc(13, 0), utc(12, 0), 4, &["nightly", "files"])]
    #[case::files_at_04("datax", utc(5, 0), utc(4, 0), 2, &["nightly", "files"])]
    #[case::database_daily("shop", utc(13, 0), utc(2, 0), 24, &["nightly"])]
    fn expected_slots_per_source(
        #[case] source: &str,
        #[case] now: Zoned,
        #[case] latest: Zoned,
        #[case] hours: u64,
        #[case] names: &[&str],
    ) {
        let all = expectations(&seed(), &now).unwrap();
        let e = &all[source];
        assert_eq!(e.latest, latest);
        assert_eq!(e.interval, Duration::from_secs(hours * 3600));
        assert_eq!(e.schedules, names);
        assert!(e.next > now);
    }

    #[test]
    fn drills_and_unscheduled_sources_expect_no_backup() {
        let only_drill = vec![schedule("drill", "0 4 * * 0", JobKind::Drill, &["shop"])];
        assert!(expectations(&only_drill, &utc(13, 0)).unwrap().is_empty());
    }

    #[rstest]
    // Every 4 h, grace 15 min: the 12:00 run succeeded at 12:20...
    #[case::fresh(Some(utc(12, 20)), utc(16, 30), false)]
    // ...the 16:00 one did not: late once 4 h 15 min have passed since 12:20.
    #[case::late(Some(utc(12, 20)), utc(16, 36), true)]
    #[case::never_within_grace(None, utc(16, 10), false)]
    #[case::never_past_grace(None, utc(16, 16), true)]
    fn lateness(#[case] success: Option<Zoned>, #[case] now: Zoned, #[case] late: bool) {
        let every_4h = vec![schedule(
            "files",
            "0 */4 * * *",
            JobKind::Backup,
            &["datax"],
        )];
        let e = &expectations(&every_4h, &now).unwrap()["datax"];
        let success = success.map(|z| z.timestamp());
        let grace = Duration::from_secs(15 * 60);
        assert_eq!(e.is_late(success, now.timestamp(), grace), late);
    }
}

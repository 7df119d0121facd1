//! How exposed each source is right now: its last recoverable point against its tier's RPO,
//! and its last drill against the tier's RTO. Pure: facts and `now` in, verdicts out, with the
//! Nagios convention (0 ok, 1 warning, 2 critical).

use std::time::Duration;

use serde::Serialize;

use crate::config::TierConfig;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    #[default]
    Ok,
    Warning,
    Critical,
}

/// What is known about one source.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Facts {
    pub source: String,
    pub kind: String,
    pub tier: String,
    /// The newest snapshot (files) or full (mysql).
    pub last_backup: Option<jiff::Timestamp>,
    /// mysql: when the binlog archiver last reported the archive current (its heartbeat).
    pub archive_current: Option<jiff::Timestamp>,
    /// mysql: the time of the newest binlog event a restore can reach (past no hole).
    pub last_binlog_event: Option<jiff::Timestamp>,
    /// mysql: the restorable window, from the oldest full to the end of the archive.
    pub window: Option<(jiff::Timestamp, jiff::Timestamp)>,
    /// mysql: holes in the restore chains, each with the times it makes unreachable.
    pub holes: Vec<String>,
    /// mysql sources whose binlogs are archived: the archiver's flush interval. It reports
    /// every flush, so silence for more than twice this means no archiver is running.
    #[serde(skip)]
    pub binlog_flush: Option<Duration>,
    pub last_drill: Option<Drill>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Drill {
    pub at: jiff::Timestamp,
    pub ok: bool,
    #[serde(rename = "rto_secs", with = "crate::units::secs")]
    pub rto: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    #[serde(flatten)]
    pub facts: Facts,
    pub rpo: String,
    pub rto: String,
    /// Now minus the last recoverable point: what a disaster now would lose.
    pub exposure_secs: Option<u64>,
    pub level: Level,
    pub notes: Vec<String>,
    /// The notes again, each with the check that raised it (`freshness`, `binlog`, `chain`,
    /// `recovery`): what `crate::monitor` keys its findings by (`freshness:shop`).
    #[serde(skip)]
    pub checks: Vec<(&'static str, Level, String)>,
}

/// Drills older than this are stale: the environment has moved on since.
const DRILL_MAX_AGE: Duration = Duration::from_secs(30 * 86400);

pub fn evaluate(facts: Facts, tier: &TierConfig, now: jiff::Timestamp) -> Verdict {
    let mut checks: Vec<(&'static str, Level, String)> = Vec::new();
    let mut raise = |check: &'static str, l: Level, note: String| checks.push((check, l, note));
    let age = |t: jiff::Timestamp| {
        Duration::from_secs(now.as_second().saturating_sub(t.as_second()).max(0) as u64)
    };
    // A heartbeat vouches for the archive only while the archiver keeps reporting; without
    // it the archive holds what it stored, up to its newest event.
    let heartbeat = match facts.binlog_flush {
        Some(flush) => {
            let alive = facts.archive_current.filter(|t| age(*t) <= flush * 2);
            if alive.is_none() {
                let last = facts.archive_current.map_or("never reported".into(), |t| {
                    format!("last report {} ago", human(age(t)))
                });
                raise(
                    "binlog",
                    Level::Warning,
                    format!(
                        "binlog archiver not running ({last}): start 'dxbackup binlog {}'",
                        facts.source
                    ),
                );
            }
            alive
        }
        None => None,
    };
    let point = facts
        .last_backup
        .max(facts.last_binlog_event)
        .max(heartbeat);
    let exposure = point.map(age);
    match exposure {
        None => raise(
            "freshness",
            Level::Critical,
            format!("no backup yet: run 'dxbackup backup {}'", facts.source),
        ),
        Some(e) if e > tier.rpo.0 => raise(
            "freshness",
            Level::Critical,
            format!(
                "RPO exceeded: the last recoverable point is {} old (RPO {}); run 'dxbackup backup {}' and find out why the scheduled ones stopped ('dxbackup stats', the daemon's log)",
                human(e),
                tier.rpo,
                facts.source
            ),
        ),
        Some(e) if e.as_secs_f64() > tier.rpo.0.as_secs_f64() * 0.8 => raise(
            "freshness",
            Level::Warning,
            format!(
                "close to the RPO: last recoverable point {} old (RPO {})",
                human(e),
                tier.rpo
            ),
        ),
        Some(_) => {}
    }
    for h in &facts.holes {
        raise(
            "chain",
            Level::Critical,
            format!("restore chain broken: {h}; take a full backup to start a new chain"),
        );
    }
    match &facts.last_drill {
        None => raise(
            "recovery",
            Level::Warning,
            "never drilled: run 'dxbackup drill'".into(),
        ),
        Some(d) if !d.ok => raise(
            "recovery",
            Level::Critical,
            format!(
                "the last drill FAILED: see 'dxbackup drill {}' and fix the backup before it is needed",
                facts.source
            ),
        ),
        Some(d) => {
            if d.rto > tier.rto.0 {
                raise(
                    "recovery",
                    Level::Warning,
                    format!(
                        "last drill took {} (RTO {}): restore faster (driver = \"mydumper\") or agree a longer RTO",
                        human(d.rto),
                        tier.rto
                    ),
                );
            }
            if age(d.at) > DRILL_MAX_AGE {
                raise(
                    "recovery",
                    Level::Warning,
                    format!(
                        "last drill is {} old: run 'dxbackup drill {}'",
                        human(age(d.at)),
                        facts.source
                    ),
                );
            }
        }
    }
    Verdict {
        rpo: tier.rpo.to_string(),
        rto: tier.rto.to_string(),
        exposure_secs: exposure.map(|e| e.as_secs()),
        level: checks.iter().map(|c| c.1).max().unwrap_or(Level::Ok),
        notes: checks.iter().map(|c| c.2.clone()).collect(),
        checks,
        facts,
    }
}

/// `3h 12m`-style durations, at most two units.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        3600..86400 => format!("{}h {}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {}h", s / 86400, (s % 86400) / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HumanDuration;
    use rstest::rstest;

    fn tier() -> TierConfig {
        TierConfig {
            rto: HumanDuration(Duration::from_secs(3600)),
            rpo: HumanDuration(Duration::from_secs(900)),
        }
    }

    fn at(secs_ago: i64) -> Option<jiff::Timestamp> {
        Some(jiff::Timestamp::from_second(1_000_000 - secs_ago).unwrap())
    }

    fn drill(secs_ago: i64, ok: bool, rto: u64) -> Option<Drill> {
        Some(Drill {
            at: at(secs_ago).unwrap(),
            ok,
            rto: Duration::from_secs(rto),
        })
    }

    #[rstest]
    #[case::reporting(100, at(3), at(20), Level::Ok, Some(3), None)]
    #[case::binlogs_keep_it_fresh(86400, at(5), at(5), Level::Ok, Some(5), None)]
    #[case::just_within_two_flushes(100, at(10), at(20), Level::Ok, Some(10), None)]
    #[case::silent(
        100,
        at(11),
        at(20),
        Level::Warning,
        Some(20),
        Some("binlog archiver not running (last report 11s ago): start 'dxbackup binlog shop'")
    )]
    #[case::never_ran(
        100,
        None,
        None,
        Level::Warning,
        Some(100),
        Some("binlog archiver not running (never reported): start 'dxbackup binlog shop'")
    )]
    #[case::stale_heartbeat_does_not_vouch(
        86400,
        at(300),
        at(2000),
        Level::Critical,
        Some(2000),
        Some("binlog archiver not running (last report 5m 0s ago)")
    )]
    fn archiver_heartbeat(
        #[case] full_ago: i64,
        #[case] heartbeat: Option<jiff::Timestamp>,
        #[case] event: Option<jiff::Timestamp>,
        #[case] level: Level,
        #[case] exposure: Option<u64>,
        #[case] note: Option<&str>,
    ) {
        // A source archiving binlogs every 5 s.
        let facts = Facts {
            source: "shop".into(),
            last_backup: at(full_ago),
            archive_current: heartbeat,
            last_binlog_event: event,
            binlog_flush: Some(Duration::from_secs(5)),
            last_drill: drill(3600, true, 60),
            ..Facts::default()
        };
        let v = evaluate(
            facts,
            &tier(),
            jiff::Timestamp::from_second(1_000_000).unwrap(),
        );
        assert_eq!(v.level, level, "{:?}", v.notes);
        assert_eq!(v.exposure_secs, exposure, "{:?}", v.notes);
        match note {
            Some(n) => assert!(v.notes.iter().any(|x| x.contains(n)), "{:?}", v.notes),
            None => assert!(v.notes.is_empty(), "{:?}", v.notes),
        }
    }

    #[test]
    fn without_an_archiver_only_stored_events_count() {
        // No archiver expected (binlog = false): a heartbeat says nothing, stored events do.
        let facts = Facts {
            last_backup: at(2000),
            archive_current: at(5),
            last_binlog_event: at(60),
            last_drill: drill(3600, true, 60),
            ..Facts::default()
        };
        let v = evaluate(
            facts,
            &tier(),
            jiff::Timestamp::from_second(1_000_000).unwrap(),
        );
        assert_eq!(
            (v.level, v.exposure_secs),
            (Level::Ok, Some(60)),
            "{:?}",
            v.notes
        );
    }

    #[rstest]
    #[case::fresh_and_drilled(at(60), drill(3600, true, 60), Level::Ok)]
    #[case::nothing(None, None, Level::Critical)]
    #[case::rpo_exceeded(at(2000), drill(3600, true, 60), Level::Critical)]
    #[case::close_to_rpo(at(800), drill(3600, true, 60), Level::Warning)]
    #[case::never_drilled(at(60), None, Level::Warning)]
    #[case::drill_failed(at(60), drill(3600, false, 60), Level::Critical)]
    #[case::drill_too_slow(at(60), drill(3600, true, 7200), Level::Warning)]
    #[case::drill_stale(at(60), drill(40 * 86400, true, 60), Level::Warning)]
    fn verdicts(
        #[case] last_backup: Option<jiff::Timestamp>,
        #[case] drill: Option<Drill>,
        #[case] level: Level,
    ) {
        let facts = Facts {
            last_backup,
            last_drill: drill,
            ..Facts::default()
        };
        let v = evaluate(
            facts,
            &tier(),
            jiff::Timestamp::from_second(1_000_000).unwrap(),
        );
        assert_eq!(v.level, level, "{:?}", v.notes);
    }
}

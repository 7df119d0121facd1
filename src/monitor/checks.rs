//! The checks of the seed's monitor script (section 8.2) that `status` did not make: a backup
//! on schedule, the newest verify intact and recent, the disk not filling up, the performance
//! rules, and the daemon's own runs.

use std::time::Duration;

use jiff::Timestamp;

use super::{Finding, RepoFacts, SourceFacts};
use crate::catalog::{RunStatus, ScheduleRun};
use crate::config::{MonitorConfig, StatsConfig};
use crate::schedule::MAX_RETRIES;
use crate::status::{human, Level};
use crate::units::bytes;

fn age(t: Timestamp, now: Timestamp) -> Duration {
    Duration::from_secs((now.as_second() - t.as_second()).max(0) as u64)
}

/// A source scheduled every 4 h whose last success is older than 4 h + grace is late, even
/// when its RPO is a day: the schedule says what should have happened.
pub fn schedule_lateness(s: &SourceFacts, m: &MonitorConfig, now: Timestamp) -> Option<Finding> {
    let e = s.expected.as_ref()?;
    let last = s.verdict.facts.last_backup;
    if !e.is_late(last, now, m.grace.0) {
        return None;
    }
    let name = &s.verdict.facts.source;
    let since = last.map_or("no backup has succeeded yet".to_string(), |t| {
        format!("the last backup succeeded {} ago", human(age(t, now)))
    });
    Some(Finding::new(
        "freshness",
        name,
        Level::Warning,
        format!(
            "late: {since}, though {} back it up every {}; check 'dxbackup schedule' and the daemon's log, or run 'dxbackup backup {name}'",
            e.schedules.join(", "),
            human(e.interval)
        ),
    ))
}

/// The newest backup attempt of a source failed or was killed: said at once, before the
/// RPO runs out (cron users learn it from the `run` that failed).
pub fn last_backup_failed(s: &SourceFacts) -> Option<Finding> {
    let last = s.runs.iter().rfind(|r| r.status != RunStatus::Running)?;
    let what = match last.status {
        RunStatus::Failed => "failed",
        RunStatus::Interrupted => "was interrupted",
        _ => return None,
    };
    let name = &s.verdict.facts.source;
    let error = last.error.as_deref().unwrap_or("no error recorded");
    Some(Finding::new(
        "backup",
        name,
        Level::Warning,
        format!("the last backup {what}: {error}; fix it and run 'dxbackup backup {name}'"),
    ))
}

/// The seed's performance rules over a source's recent runs: the average duration over
/// `warn-avg-duration`, the average speed under `warn-min-mb-per-s`.
pub fn performance(s: &SourceFacts, cfg: &StatsConfig) -> Vec<Finding> {
    let r = crate::stats::summarize(&s.runs, cfg);
    let name = &s.verdict.facts.source;
    let mut out = Vec::new();
    if let Some(avg) = r.avg_duration_secs {
        if Duration::from_secs_f64(avg) > cfg.warn_avg_duration.0 {
            out.push(Finding::new(
                "performance",
                name,
                Level::Warning,
                format!(
                    "backups take {} on average (limit {}): exclude large static files, split the source, or use driver = \"mydumper\"",
                    human(Duration::from_secs_f64(avg)),
                    cfg.warn_avg_duration
                ),
            ));
        }
    }
    if let Some(speed) = r.avg_mb_per_s.filter(|v| *v < cfg.warn_min_mb_per_s) {
        out.push(Finding::new(
            "performance",
            name,
            Level::Warning,
            format!(
                "backups run at {speed:.1} MB/s on average (limit {} MB/s): check the repository's storage and the source's disk",
                cfg.warn_min_mb_per_s
            ),
        ));
    }
    out
}

/// The newest verify of a repository: failed is critical (damaged packs named); never, or
/// older than `verify-max-age`, a warning.
pub fn integrity(r: &RepoFacts, m: &MonitorConfig, now: Timestamp) -> Option<Finding> {
    let name = &r.name;
    let (level, message) = match &r.verify {
        None => (
            Level::Warning,
            format!("never verified: run 'dxbackup verify --repo {name}' (the daemon's verify schedule does it daily)"),
        ),
        Some((at, errors, findings)) if *errors > 0 => {
            let shown: Vec<&str> = findings.iter().take(3).map(String::as_str).collect();
            let more = findings.len().saturating_sub(3);
            (
                Level::Critical,
                format!(
                    "the last verify ({} ago) found {errors} error(s): {}{}; restore what is damaged from another copy ('dxbackup copy') and run 'dxbackup verify --read-data --repo {name}'",
                    human(age(*at, now)),
                    shown.join("; "),
                    if more > 0 { format!(" (and {more} more)") } else { String::new() }
                ),
            )
        }
        Some((at, _, _)) if age(*at, now) > m.verify_max_age.0 => (
            Level::Warning,
            format!(
                "last verified {} ago (limit {}): run 'dxbackup verify --repo {name}'",
                human(age(*at, now)),
                m.verify_max_age
            ),
        ),
        Some(_) => return None,
    };
    Some(Finding::new("integrity", name, level, message))
}

/// Days until the disk is full at the growth of the samples: a least-squares line through
/// (time, used), over at least 3 samples spanning a day; `None` when it does not grow.
pub fn days_until_full(used: &[(Timestamp, u64)], space: Space) -> Option<f64> {
    if used.len() < 3 {
        return None;
    }
    let t0 = used[0].0.as_second() as f64;
    let xs: Vec<f64> = used
        .iter()
        .map(|(t, _)| (t.as_second() as f64 - t0) / 86400.0)
        .collect();
    if xs.last()? - xs[0] < 1.0 {
        return None;
    }
    let ys: Vec<f64> = used.iter().map(|(_, u)| *u as f64).collect();
    let n = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    let sxy: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let per_day = sxy / sxx;
    (per_day > 0.0).then(|| space.free as f64 / per_day)
}

use crate::targets::Space;

/// How full a repository's disk is: `space-warning` / `space-critical` percent used, and a
/// warning when, at the growth of the last 30 days, it fills up within a week.
pub fn space(r: &RepoFacts, m: &MonitorConfig) -> Option<Finding> {
    let s = r.space?;
    let pct = s.used_pct();
    let days = days_until_full(&r.used, s);
    let trend = days.map_or(String::new(), |d| {
        format!(", full in about {d:.0} days at the growth of the last 30")
    });
    let level = if pct >= m.space_critical {
        Level::Critical
    } else if pct >= m.space_warning || days.is_some_and(|d| d < 7.0) {
        Level::Warning
    } else {
        return None;
    };
    Some(Finding::new(
        "space",
        &r.name,
        level,
        format!(
            "disk {pct:.0} % full ({} free of {}{trend}): free space, lower the retention and run 'dxbackup forget --prune', or grow the disk",
            bytes(s.free),
            bytes(s.total)
        ),
    ))
}

/// The newest attempt of a schedule failed (after its retries), was skipped, or was cut off.
pub fn schedule_run(r: &ScheduleRun) -> Option<Finding> {
    let why = r.error.as_deref().unwrap_or("no reason recorded");
    let what = match r.status {
        // A failed attempt with retries left is not the end of it.
        RunStatus::Failed if r.attempt > MAX_RETRIES => {
            format!("failed after {MAX_RETRIES} retries: {why}")
        }
        RunStatus::Skipped => format!("was skipped: {why}"),
        RunStatus::Interrupted => format!("was interrupted: {why}"),
        _ => return None,
    };
    Some(Finding::new(
        "runs",
        &r.schedule,
        Level::Warning,
        format!(
            "the last {} run of schedule `{}` {what}; see its log{}",
            r.job,
            r.schedule,
            r.log
                .as_deref()
                .map_or(String::new(), |l| format!(" ({l})"))
        ),
    ))
}

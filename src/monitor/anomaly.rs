//! Trend anomalies: a run whose duration, bytes added or size lies more than
//! `anomaly-deviations` robust deviations from the median of the last `anomaly-runs` runs of
//! the same source and mode. A dump that suddenly shrinks by half (a dropped table, a backup
//! pointed at the wrong database) is flagged; ordinary jitter is not.
//!
//! The deviation is the median absolute deviation scaled by 1.4826 (equal to the standard
//! deviation for normal data, unmoved by the outliers it is meant to find), with a floor:
//! runs that are all identical would otherwise make any change of one byte an anomaly.

use super::{Finding, SourceFacts};
use crate::catalog::{RunRecord, RunStatus};
use crate::config::MonitorConfig;
use crate::status::Level;
use crate::units::bytes;

/// Fewer earlier runs than this say nothing about what is usual.
pub const MIN_HISTORY: usize = 5;
/// MAD to standard deviation for normally distributed data.
const MAD_SCALE: f64 = 1.4826;
/// A spread below 5 % of the median is no spread at all.
const RELATIVE_FLOOR: f64 = 0.05;

pub fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    Some(if s.len().is_multiple_of(2) {
        (s[m - 1] + s[m]) / 2.0
    } else {
        s[m]
    })
}

/// How many robust deviations `x` lies from `history`'s median (signed), with `floor` the
/// least spread taken in the metric's unit; `None` with too little history.
pub fn robust_deviations(history: &[f64], x: f64, floor: f64) -> Option<(f64, f64)> {
    if history.len() < MIN_HISTORY {
        return None;
    }
    let med = median(history)?;
    let abs: Vec<f64> = history.iter().map(|v| (v - med).abs()).collect();
    let mad = median(&abs)?;
    let scale = (MAD_SCALE * mad).max(RELATIVE_FLOOR * med.abs()).max(floor);
    Some(((x - med) / scale, med))
}

/// One metric of a run.
struct Metric {
    what: &'static str,
    value: fn(&RunRecord) -> Option<f64>,
    floor: f64,
    show: fn(f64) -> String,
}

const METRICS: [Metric; 3] = [
    Metric {
        what: "size (bytes read)",
        value: |r| r.metrics.as_ref().map(|m| m.bytes_read as f64),
        floor: 1048576.0,
        show: |v| bytes(v.max(0.0) as u64),
    },
    Metric {
        what: "bytes added",
        value: |r| r.metrics.as_ref().map(|m| m.bytes_added as f64),
        floor: 1048576.0,
        show: |v| bytes(v.max(0.0) as u64),
    },
    Metric {
        what: "duration",
        value: |r| r.duration().map(|d| d.as_secs_f64()),
        floor: 1.0,
        show: |v| format!("{v:.1} s"),
    },
];

/// The newest successful run of the source against the ones before it (same mode).
pub fn check(s: &SourceFacts, m: &MonitorConfig) -> Vec<Finding> {
    let done: Vec<&RunRecord> = s
        .runs
        .iter()
        .filter(|r| matches!(r.status, RunStatus::Ok | RunStatus::Warning))
        .collect();
    let Some((last, before)) = done.split_last() else {
        return Vec::new();
    };
    let mode = |r: &RunRecord| r.mode.clone().unwrap_or_else(|| "normal".into());
    let history: Vec<&RunRecord> = before
        .iter()
        .rev()
        .filter(|r| mode(r) == mode(last))
        .take(m.anomaly_runs)
        .copied()
        .collect();
    let name = &s.verdict.facts.source;
    let mut out = Vec::new();
    for metric in &METRICS {
        let Some(x) = (metric.value)(last) else {
            continue;
        };
        let past: Vec<f64> = history.iter().filter_map(|r| (metric.value)(r)).collect();
        let Some((dev, med)) = robust_deviations(&past, x, metric.floor) else {
            continue;
        };
        if dev.abs() <= m.anomaly_deviations {
            continue;
        }
        let share = if med > 0.0 {
            format!(" ({:.0} % of it)", 100.0 * x / med)
        } else {
            String::new()
        };
        let hint = if dev < 0.0 && metric.what.starts_with("size") {
            "check that no table, database or folder was dropped and that the source still points at the right data"
        } else {
            "check what changed in the source (new large files or tables) or on the repository's storage"
        };
        out.push(Finding::new(
            "anomaly",
            name,
            Level::Warning,
            format!(
                "the last backup's {} was {}, usually {}{share} (median of the last {} runs, {:.1} deviations off): {hint}",
                metric.what,
                (metric.show)(x),
                (metric.show)(med),
                past.len(),
                dev.abs()
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Metrics;
    use crate::monitor::SourceFacts;
    use crate::status::{Facts, Verdict};
    use rstest::rstest;

    const MB: u64 = 1_000_000;

    fn run(read: u64, added: u64, secs: f64) -> RunRecord {
        RunRecord {
            id: 0,
            command: "backup".into(),
            source: Some("shop".into()),
            repository: None,
            started_at: jiff::Timestamp::UNIX_EPOCH,
            finished_at: None,
            status: RunStatus::Ok,
            snapshot_id: None,
            error: None,
            duration_ms: Some((secs * 1000.0) as u64),
            metrics: Some(Metrics {
                bytes_read: read,
                bytes_added: added,
                ..Metrics::default()
            }),
            mode: None,
            mode_reason: None,
        }
    }

    /// Twenty nightly dumps of about 100 MB, 12 MB added, 60 s, with jitter, then `last`.
    fn source(last: RunRecord) -> SourceFacts {
        let jitter = [
            0, 3, -2, 1, -4, 2, 0, -1, 4, -3, 1, 2, -2, 0, 3, -1, 1, -3, 2, 0,
        ];
        let mut runs: Vec<RunRecord> = jitter
            .iter()
            .map(|j: &i64| {
                run(
                    (100 * MB as i64 + j * MB as i64 / 2) as u64,
                    (12 * MB as i64 + j * 100_000) as u64,
                    60.0 + *j as f64,
                )
            })
            .collect();
        runs.push(last);
        SourceFacts {
            verdict: Verdict {
                facts: Facts {
                    source: "shop".into(),
                    ..Facts::default()
                },
                rpo: String::new(),
                rto: String::new(),
                exposure_secs: None,
                level: Level::Ok,
                notes: Vec::new(),
                checks: Vec::new(),
            },
            expected: None,
            runs,
        }
    }

    #[rstest]
    #[case::an_ordinary_night(run(101 * MB, 12 * MB, 62.0), &[])]
    #[case::jitter_at_the_edge(run(98 * MB, 11 * MB + MB / 2, 57.0), &[])]
    #[case::dump_half_its_size(run(50 * MB, 12 * MB, 59.0), &["size (bytes read)"])]
    #[case::sudden_growth(run(180 * MB, 90 * MB, 61.0), &["size (bytes read)", "bytes added"])]
    #[case::slow_night(run(100 * MB, 12 * MB, 300.0), &["duration"])]
    fn anomalies(#[case] last: RunRecord, #[case] flagged: &[&str]) {
        let found = check(&source(last), &MonitorConfig::default());
        let whats: Vec<&str> = METRICS
            .iter()
            .map(|m| m.what)
            .filter(|w| {
                found
                    .iter()
                    .any(|f| f.message.contains(&format!("backup's {w} ")))
            })
            .collect();
        assert_eq!(whats, flagged, "{found:#?}");
        if flagged == ["size (bytes read)"] {
            let m = &found[0].message;
            assert!(m.contains("50 % of it") && m.contains("dropped"), "{m}");
            assert_eq!(found[0].key, "anomaly:shop");
        }
    }

    #[test]
    fn identical_runs_do_not_flag_a_tiny_change() {
        let history = vec![10.0 * MB as f64; 10];
        let (dev, _) = robust_deviations(&history, 10.0 * MB as f64 + 1000.0, 1048576.0).unwrap();
        assert!(dev.abs() < 0.1, "{dev}");
        assert!(robust_deviations(&history[..4], 1.0, 1.0).is_none());
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }
}

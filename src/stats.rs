//! Performance figures over past runs, with the seed's warnings (section 8.2): a slow average
//! duration or a low average speed. Pure: takes the runs, returns the report.

use std::time::Duration;

use serde::Serialize;

use crate::catalog::{RunRecord, RunStatus};
use crate::config::StatsConfig;

#[derive(Debug, Clone, Serialize)]
pub struct StatsReport {
    pub runs: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub avg_duration_secs: Option<f64>,
    /// Over runs that read at least `speed-min-bytes` (small runs say nothing about speed).
    pub avg_mb_per_s: Option<f64>,
    pub avg_bytes_added: Option<f64>,
    pub warnings: Vec<String>,
}

/// Summarizes backup runs (newest last).
pub fn summarize(runs: &[RunRecord], cfg: &StatsConfig) -> StatsReport {
    let done: Vec<_> = runs
        .iter()
        .filter(|r| matches!(r.status, RunStatus::Ok | RunStatus::Warning))
        .collect();
    let failed = runs
        .iter()
        .filter(|r| matches!(r.status, RunStatus::Failed | RunStatus::Interrupted))
        .count();
    let durations: Vec<f64> = done
        .iter()
        .filter_map(|r| r.duration())
        .map(|d| d.as_secs_f64())
        .collect();
    let speeds: Vec<f64> = done
        .iter()
        .filter_map(|r| Some((r.metrics.as_ref()?, r.duration()?)))
        .filter(|(m, _)| m.bytes_read >= cfg.speed_min_bytes)
        .map(|(m, d)| m.bytes_read as f64 / 1e6 / d.as_secs_f64().max(1e-3))
        .collect();
    let added: Vec<f64> = done
        .iter()
        .filter_map(|r| r.metrics.as_ref())
        .map(|m| m.bytes_added as f64)
        .collect();
    let mut report = StatsReport {
        runs: runs.len(),
        succeeded: done.len(),
        failed,
        avg_duration_secs: mean(&durations),
        avg_mb_per_s: mean(&speeds),
        avg_bytes_added: mean(&added),
        warnings: Vec::new(),
    };
    if let Some(avg) = report.avg_duration_secs {
        if Duration::from_secs_f64(avg) > cfg.warn_avg_duration.0 {
            report.warnings.push(format!(
                "average backup time {avg:.0} s is over {}: consider excluding large static files or splitting sources",
                cfg.warn_avg_duration
            ));
        }
    }
    if let Some(speed) = report.avg_mb_per_s {
        if speed < cfg.warn_min_mb_per_s {
            report.warnings.push(format!(
                "average speed {speed:.2} MB/s is under {} MB/s: check the repository's storage and the source disk",
                cfg.warn_min_mb_per_s
            ));
        }
    }
    if failed > 0 {
        report.warnings.push(format!(
            "{failed} of {} runs failed or were interrupted",
            runs.len()
        ));
    }
    report
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Metrics;
    use crate::config::HumanDuration;
    use rstest::rstest;

    fn run(status: RunStatus, secs: u64, read: u64) -> RunRecord {
        RunRecord {
            id: 0,
            command: "backup".into(),
            source: Some("s".into()),
            repository: None,
            started_at: jiff::Timestamp::UNIX_EPOCH,
            finished_at: None,
            status,
            snapshot_id: None,
            error: None,
            duration_ms: Some(secs * 1000),
            metrics: Some(Metrics {
                bytes_read: read,
                ..Metrics::default()
            }),
            mode: None,
            mode_reason: None,
        }
    }

    #[rstest]
    #[case::fast(vec![run(RunStatus::Ok, 10, 1_000_000_000)], 0)]
    #[case::slow_speed(vec![run(RunStatus::Ok, 200, 1_000_000_000)], 1)]
    #[case::long(vec![run(RunStatus::Ok, 7200, 100_000_000_000)], 1)]
    #[case::small_runs_say_nothing_of_speed(vec![run(RunStatus::Ok, 10, 1000)], 0)]
    #[case::failure(vec![run(RunStatus::Ok, 10, 1_000_000_000), run(RunStatus::Failed, 1, 0)], 1)]
    fn warnings(#[case] runs: Vec<RunRecord>, #[case] n: usize) {
        let cfg = StatsConfig {
            warn_avg_duration: HumanDuration(Duration::from_secs(3600)),
            ..StatsConfig::default()
        };
        let r = summarize(&runs, &cfg);
        assert_eq!(r.warnings.len(), n, "{:?}", r.warnings);
    }

    #[test]
    fn averages() {
        let runs = vec![
            run(RunStatus::Ok, 10, 1_000_000_000),
            run(RunStatus::Ok, 30, 1_000_000_000),
        ];
        let r = summarize(&runs, &StatsConfig::default());
        assert_eq!(r.avg_duration_secs, Some(20.0));
        let speed = r.avg_mb_per_s.unwrap();
        assert!(
            (speed - (100.0 + 1000.0 / 30.0) / 2.0).abs() < 1e-6,
            "{speed}"
        );
    }
}

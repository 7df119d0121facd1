use std::time::Duration;

use jiff::Timestamp;
use rstest::rstest;

use super::checks::days_until_full;
use super::*;
use crate::catalog::{Metrics, RunStatus};
use crate::config::{HumanDuration, TierConfig};
use crate::schedule::{CronExpr, JobKind, ModeSetting, Schedule};
use crate::status::{evaluate as verdict_of, Drill, Facts as SourceState};

const NOW: i64 = 1_800_000_000;

fn ago(secs: i64) -> Timestamp {
    Timestamp::from_second(NOW - secs).unwrap()
}

fn now() -> Timestamp {
    ago(0)
}

fn tier(rpo_h: u64) -> TierConfig {
    TierConfig {
        rto: HumanDuration(Duration::from_secs(3600)),
        rpo: HumanDuration(Duration::from_secs(rpo_h * 3600)),
    }
}

/// A files source whose last backup was `backup_ago` seconds ago, drilled yesterday.
fn source(backup_ago: i64, rpo_h: u64, cron: Option<&str>) -> SourceFacts {
    let state = SourceState {
        source: "datax".into(),
        kind: "files".into(),
        last_backup: Some(ago(backup_ago)),
        last_drill: Some(Drill {
            at: ago(86400),
            ok: true,
            rto: Duration::from_secs(30),
        }),
        ..SourceState::default()
    };
    let expected = cron.map(|c| {
        let s = Schedule {
            name: "files".into(),
            cron: CronExpr::parse(c).unwrap(),
            job: JobKind::Backup,
            sources: vec!["datax".into()],
            mode: ModeSetting::Auto,
            read_data: None,
            timeout: None,
            default: false,
        };
        let z = now().to_zoned(jiff::tz::TimeZone::UTC);
        crate::schedule::expectations(&[s], &z).unwrap()["datax"].clone()
    });
    SourceFacts {
        verdict: verdict_of(state, &tier(rpo_h), now()),
        expected,
        runs: Vec::new(),
    }
}

fn keys(e: &Evaluation) -> Vec<(String, Level)> {
    e.findings
        .iter()
        .map(|f| (f.key.clone(), f.severity))
        .collect()
}

fn eval(facts: Facts) -> Evaluation {
    evaluate(&facts, &Rules::default(), now())
}

#[rstest]
// Every 4 h with a 24 h RPO: 4 h + 15 min grace without success is late, though within RPO.
#[case::on_schedule(3 * 3600, Some("0 */4 * * *"), &[])]
#[case::late_by_schedule(5 * 3600, Some("0 */4 * * *"), &[("freshness:datax", Level::Warning)])]
#[case::unscheduled_within_rpo(5 * 3600, None, &[])]
#[case::past_rpo(25 * 3600, Some("0 */4 * * *"), &[("freshness:datax", Level::Critical)])]
fn freshness_against_rpo_and_schedule(
    #[case] backup_ago: i64,
    #[case] cron: Option<&str>,
    #[case] want: &[(&str, Level)],
) {
    let e = eval(Facts {
        sources: vec![source(backup_ago, 24, cron)],
        ..Facts::default()
    });
    let want: Vec<(String, Level)> = want.iter().map(|(k, l)| (k.to_string(), *l)).collect();
    assert_eq!(keys(&e), want, "{:#?}", e.findings);
}

#[test]
fn one_finding_per_key_with_every_sentence() {
    let e = eval(Facts {
        sources: vec![source(25 * 3600, 24, Some("0 */4 * * *"))],
        ..Facts::default()
    });
    let m = &e.findings[0].message;
    assert!(m.contains("RPO exceeded") && m.contains("late:"), "{m}");
    assert_eq!(e.level, Level::Critical);
}

fn repo(verify: Option<(i64, u64)>, free: u64) -> RepoFacts {
    RepoFacts {
        name: "local".into(),
        space: Some(Space { free, total: 1000 }),
        used: Vec::new(),
        verify: verify.map(|(a, e)| {
            let found = (0..e).map(|i| format!("pack {i:02x}ab damaged")).collect();
            (ago(a), e, found)
        }),
    }
}

#[rstest]
#[case::verified_and_roomy(Some((3600, 0)), 500, &[])]
#[case::never_verified(None, 500, &[("integrity:local", Level::Warning)])]
#[case::verify_failed(Some((3600, 2)), 500, &[("integrity:local", Level::Critical)])]
#[case::verify_stale(Some((8 * 86400, 0)), 500, &[("integrity:local", Level::Warning)])]
#[case::disk_80(Some((3600, 0)), 150, &[("space:local", Level::Warning)])]
#[case::disk_90(Some((3600, 0)), 50, &[("space:local", Level::Critical)])]
fn repositories(
    #[case] verify: Option<(i64, u64)>,
    #[case] free: u64,
    #[case] want: &[(&str, Level)],
) {
    let e = eval(Facts {
        repositories: vec![repo(verify, free)],
        ..Facts::default()
    });
    let want: Vec<(String, Level)> = want.iter().map(|(k, l)| (k.to_string(), *l)).collect();
    assert_eq!(keys(&e), want, "{:#?}", e.findings);
    if let Some(f) = e.findings.iter().find(|f| f.severity == Level::Critical) {
        if f.key.starts_with("integrity") {
            assert!(f.message.contains("pack 00ab damaged"), "{}", f.message);
        }
    }
}

#[test]
fn the_trend_tells_when_the_disk_fills() {
    // 10 bytes more every day for 10 days, 100 free: full in 10 days.
    let used: Vec<(Timestamp, u64)> = (0..10)
        .map(|d| (ago((9 - d) * 86400), 500 + d as u64 * 10))
        .collect();
    let space = Space {
        free: 100,
        total: 700,
    };
    let days = days_until_full(&used, space).unwrap();
    assert!((days - 10.0).abs() < 0.01, "{days}");
    // Too few points, or less than a day of them, say nothing.
    assert!(days_until_full(&used[..2], space).is_none());
    let hour: Vec<_> = (0..5).map(|i| (ago(i * 60), 500 - i as u64)).collect();
    assert!(days_until_full(&hour, space).is_none());
    // Filling within a week warns even below 80 %: 10,000 a day more, 50,000 free.
    let mut r = repo(Some((60, 0)), 0);
    r.space = Some(Space {
        free: 50_000,
        total: 100_000,
    });
    r.used = (0..10)
        .map(|d| (ago((9 - d) * 86400), 900_000 + d as u64 * 10_000))
        .collect();
    let e = eval(Facts {
        repositories: vec![r],
        ..Facts::default()
    });
    assert_eq!(keys(&e), [("space:local".to_string(), Level::Warning)]);
    assert!(
        e.findings[0].message.contains("full in about 5 days"),
        "{}",
        e.findings[0].message
    );
}

fn schedule_run(status: RunStatus, attempt: u32) -> ScheduleRun {
    ScheduleRun {
        id: 1,
        schedule: "nightly".into(),
        job: "run".into(),
        slot: ago(60),
        attempt,
        catch_up: false,
        started_at: ago(60),
        finished_at: Some(ago(30)),
        status,
        mode: None,
        mode_reason: None,
        error: Some("boom".into()),
        log: None,
    }
}

#[rstest]
#[case::ok(RunStatus::Ok, 1, false)]
#[case::failed_with_retries_left(RunStatus::Failed, 1, false)]
#[case::failed_for_good(RunStatus::Failed, 4, true)]
#[case::skipped(RunStatus::Skipped, 0, true)]
#[case::interrupted(RunStatus::Interrupted, 1, true)]
fn schedule_runs(#[case] status: RunStatus, #[case] attempt: u32, #[case] found: bool) {
    let e = eval(Facts {
        schedules: vec![schedule_run(status, attempt)],
        ..Facts::default()
    });
    assert_eq!(
        keys(&e),
        if found {
            vec![("runs:nightly".to_string(), Level::Warning)]
        } else {
            vec![]
        }
    );
}

fn backup_run(status: RunStatus, secs: u64, read: u64) -> crate::catalog::RunRecord {
    crate::catalog::RunRecord {
        id: 0,
        command: "backup".into(),
        source: Some("datax".into()),
        repository: None,
        started_at: ago(100),
        finished_at: None,
        status,
        snapshot_id: None,
        error: Some("mariadb-dump exited with 2".into()),
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
#[case::fine(vec![backup_run(RunStatus::Ok, 10, 1_000_000_000)], &[])]
#[case::slow(vec![backup_run(RunStatus::Ok, 7200, 100_000_000_000)], &["performance:datax"])]
#[case::low_speed(vec![backup_run(RunStatus::Ok, 200, 1_000_000_000)], &["performance:datax"])]
#[case::last_failed(vec![backup_run(RunStatus::Ok, 10, 1_000_000_000), backup_run(RunStatus::Failed, 1, 0)], &["backup:datax"])]
fn performance_and_failures(#[case] runs: Vec<crate::catalog::RunRecord>, #[case] want: &[&str]) {
    let mut s = source(60, 24, None);
    s.runs = runs;
    let e = eval(Facts {
        sources: vec![s],
        ..Facts::default()
    });
    let got: Vec<&str> = e.findings.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(got, want, "{:#?}", e.findings);
}

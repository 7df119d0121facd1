//! One source over 7, 30 or 365 days: its runs as a timeline, the charts' series (duration,
//! bytes added, size, MB/s, anomalies marked), the snapshots the primary holds, its drills,
//! and for mysql the restore chain on a time axis (fulls, binlog coverage, holes). From the
//! catalog and the last observation.

use serde::Serialize;

use super::observe::ObservedHole;
use super::sources::{self, SourceRow};
use super::trend::{self, Point};
use crate::catalog::{Catalog, DrillRecord, RunRecord, RunStatus};
use crate::config::SourceKind;
use crate::job::{dbarchive, Site};
use crate::repo::Snapshot;
use crate::source::mysql::chain;

/// Points per chart and bars per timeline at most: a year of hourly runs is thinned.
const MAX_POINTS: usize = 400;
const MAX_TIMELINE: usize = 600;
const MAX_SNAPSHOTS: usize = 100;

#[derive(Debug, Serialize)]
pub struct SourceDetail {
    pub row: SourceRow,
    pub days: u32,
    pub since: jiff::Timestamp,
    pub runs_in_period: usize,
    pub timeline: Vec<TimelineRun>,
    /// The newest runs, newest first.
    pub recent_runs: Vec<RunRecord>,
    pub duration: Vec<Point>,
    pub bytes_added: Vec<Point>,
    pub size: Vec<Point>,
    pub mb_per_s: Vec<Point>,
    /// The last 7 days' median against the 30 before, in percent.
    pub duration_change_pct: Option<f64>,
    pub size_change_pct: Option<f64>,
    /// Files snapshots or fulls in the primary, newest first.
    pub snapshots: Vec<Snapshot>,
    pub binlog_snapshots: usize,
    pub chain: Option<ChainView>,
    pub drills: Vec<DrillRecord>,
}

/// One run (or, thinned, the worst of a few neighbours) on the timeline.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineRun {
    pub id: i64,
    pub at: i64,
    pub status: RunStatus,
    pub mode: Option<String>,
    pub duration_secs: f64,
}

/// The restore chain on a time axis (unix seconds).
#[derive(Debug, Clone, Serialize)]
pub struct ChainView {
    pub from: i64,
    pub to: i64,
    pub fulls: Vec<FullMark>,
    /// Binlog coverage: each file's stored events, first to last.
    pub segments: Vec<Segment>,
    pub holes: Vec<ObservedHole>,
    pub window: Option<(i64, i64)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FullMark {
    pub at: i64,
    pub snapshot: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Segment {
    pub file: String,
    pub from: i64,
    pub to: i64,
    pub bytes: u64,
}

pub fn build(
    site: &Site,
    catalog: &Catalog,
    name: &str,
    days: u32,
    now: jiff::Timestamp,
) -> anyhow::Result<SourceDetail> {
    let (name, src) = site.source(name)?;
    let since = jiff::Timestamp::from_second(now.as_second() - i64::from(days) * 86400)?;
    let primary = site.primary().0;
    let snaps = catalog.observed_snapshots(primary, Some(name), &[])?;
    let observed = super::observe::source_facts(name, src.kind, &snaps, now);
    let held = catalog.observed_holdings(&["files", "mysql-full"])?;
    let row = sources::row(site, catalog, name, src, Some(&observed), &held, now)?;
    let runs = catalog.source_runs_since(name, "backup", since)?;
    let done: Vec<&RunRecord> = runs
        .iter()
        .filter(|r| matches!(r.status, RunStatus::Ok | RunStatus::Warning))
        .collect();
    let figure = |f: &dyn Fn(&RunRecord) -> Option<f64>| {
        let values: Vec<(i64, f64)> = done
            .iter()
            .filter_map(|r| Some((r.started_at.as_second(), f(r)?)))
            .collect();
        trend::thin(&trend::series(&values), MAX_POINTS)
    };
    let secs = |r: &RunRecord| r.duration().map(|d| d.as_secs_f64());
    let duration = figure(&secs);
    let bytes_added = figure(&|r| Some(r.metrics.as_ref()?.bytes_added as f64));
    let size = figure(&|r| Some(r.metrics.as_ref()?.bytes_read as f64));
    let mb_per_s = figure(&|r| {
        let d = secs(r).filter(|d| *d > 0.0)?;
        Some(r.metrics.as_ref()?.bytes_read as f64 / 1e6 / d)
    });
    let (duration_change_pct, size_change_pct) = changes(&done, now);
    let mut listed: Vec<Snapshot> = snaps
        .iter()
        .filter(|s| s.kind.as_deref() != Some("binlog"))
        .cloned()
        .collect();
    listed.reverse();
    listed.truncate(MAX_SNAPSHOTS);
    Ok(SourceDetail {
        row,
        days,
        since,
        runs_in_period: runs.len(),
        timeline: timeline(&runs),
        recent_runs: runs.iter().rev().take(30).cloned().collect(),
        duration,
        bytes_added,
        size,
        mb_per_s,
        duration_change_pct,
        size_change_pct,
        binlog_snapshots: snaps.len()
            - snaps
                .iter()
                .filter(|s| s.kind.as_deref() != Some("binlog"))
                .count(),
        snapshots: listed,
        chain: (src.kind == SourceKind::Mysql).then(|| chain_view(name, &snaps, now)),
        drills: catalog
            .drills_since(Some(name), jiff::Timestamp::UNIX_EPOCH, 20)?
            .into_iter()
            .map(|(_, d)| d)
            .collect(),
    })
}

/// The last 7 days' medians of duration and size against the 30 days before.
fn changes(done: &[&RunRecord], now: jiff::Timestamp) -> (Option<f64>, Option<f64>) {
    let week = now.as_second() - 7 * 86400;
    let month = week - 30 * 86400;
    let split = |f: &dyn Fn(&RunRecord) -> Option<f64>| {
        let (mut recent, mut before) = (Vec::new(), Vec::new());
        for r in done {
            let (t, Some(v)) = (r.started_at.as_second(), f(r)) else {
                continue;
            };
            if t >= week {
                recent.push(v);
            } else if t >= month {
                before.push(v);
            }
        }
        trend::change_pct(&recent, &before)
    };
    (
        split(&|r| r.duration().map(|d| d.as_secs_f64())),
        split(&|r| Some(r.metrics.as_ref()?.bytes_read as f64)),
    )
}

/// Every run, or when there are too many, the worst run of each stretch of time (a failure
/// is never thinned away).
fn timeline(runs: &[RunRecord]) -> Vec<TimelineRun> {
    let bar = |r: &RunRecord| TimelineRun {
        id: r.id,
        at: r.started_at.as_second(),
        status: r.status,
        mode: r.mode.clone(),
        duration_secs: r.duration().map_or(0.0, |d| d.as_secs_f64()),
    };
    if runs.len() <= MAX_TIMELINE {
        return runs.iter().map(bar).collect();
    }
    let (first, last) = (
        runs[0].started_at.as_second(),
        runs[runs.len() - 1].started_at.as_second(),
    );
    let width = ((last - first) / MAX_TIMELINE as i64).max(1);
    let badness = |s: RunStatus| match s {
        RunStatus::Ok => 0,
        RunStatus::Skipped => 1,
        RunStatus::Running => 2,
        RunStatus::Warning => 3,
        RunStatus::Interrupted => 4,
        RunStatus::Failed => 5,
    };
    let mut out: Vec<TimelineRun> = Vec::new();
    let mut bucket = i64::MIN;
    for r in runs {
        let b = (r.started_at.as_second() - first) / width;
        let t = bar(r);
        match out.last_mut() {
            Some(last) if b == bucket => {
                if badness(t.status) > badness(last.status)
                    || (t.status == last.status && t.duration_secs > last.duration_secs)
                {
                    *last = t;
                }
            }
            _ => {
                bucket = b;
                out.push(t);
            }
        }
    }
    out
}

/// Fulls and binlog coverage of a source, with the chain's holes, from its snapshots.
pub fn chain_view(name: &str, snaps: &[Snapshot], now: jiff::Timestamp) -> ChainView {
    let fulls = dbarchive::fulls(snaps, name);
    let cover = dbarchive::coverage(snaps, name);
    let health = chain::health(&fulls, &cover);
    let segments: Vec<Segment> = cover
        .files()
        .filter_map(|f| {
            Some(Segment {
                file: f.file.clone(),
                from: f.first_event?,
                to: f.last_event?,
                bytes: f.stored,
            })
        })
        .collect();
    let from = fulls
        .iter()
        .map(|f| f.at)
        .chain(segments.iter().map(|s| s.from))
        .min()
        .unwrap_or(now.as_second() - 86400);
    ChainView {
        from,
        to: now.as_second().max(from + 60),
        fulls: fulls
            .iter()
            .map(|f| FullMark {
                at: f.at,
                snapshot: f.short().to_string(),
            })
            .collect(),
        segments,
        holes: health.holes.iter().map(ObservedHole::from).collect(),
        window: health.window,
    }
}

//! The report for a period (`report --since 7d`): the seed's weekly monitor report (the
//! backups made, storage in use) and what its readers ask next: per source the backups with
//! sizes and durations and the share of the time it was inside its RPO; per repository its
//! storage and trend; verifications; drills against their tier's RTO; the 3-2-1 state now;
//! findings open and resolved.

use std::time::Duration;

use serde::Serialize;

use super::compliance::{compliance, Compliance, RecoveryPoint};
use super::overview::{self, Overview};
use super::sources::{kind_name, tier_of};
use super::trend::{self, Point};
use crate::catalog::{AlertSent, Catalog, RunRecord, RunStatus, VerificationRecord};
use crate::config::{Medium, SourceKind};
use crate::job::Site;

const MAX_POINTS: usize = 200;
const MAX_RUNS: usize = 60;

#[derive(Debug, Serialize)]
pub struct PeriodReport {
    pub host: String,
    pub generated_at: jiff::Timestamp,
    pub since: jiff::Timestamp,
    pub until: jiff::Timestamp,
    /// The state at the end of the period: sources, repositories, 3-2-1, open findings.
    pub overview: Overview,
    pub sources: Vec<SourcePeriod>,
    pub repositories: Vec<RepoPeriod>,
    pub verifications: Vec<VerificationRecord>,
    pub drills: Vec<DrillLine>,
    /// Findings that recovered in the period (as the monitor announced them).
    pub resolved: Vec<AlertSent>,
}

#[derive(Debug, Serialize)]
pub struct SourcePeriod {
    pub name: String,
    pub kind: &'static str,
    pub tier: String,
    pub rpo_secs: u64,
    pub rto_secs: u64,
    pub backups: usize,
    pub ok: usize,
    pub failed: usize,
    pub bytes_added: u64,
    pub latest_size: Option<u64>,
    pub avg_duration_secs: Option<f64>,
    pub max_duration_secs: Option<f64>,
    pub compliance: Compliance,
    /// The newest runs of the period, newest first.
    pub runs: Vec<RunRecord>,
    pub duration: Vec<Point>,
    pub size: Vec<Point>,
}

#[derive(Debug, Serialize)]
pub struct RepoPeriod {
    pub name: String,
    pub medium: Medium,
    pub offsite: bool,
    pub primary: bool,
    pub free: Option<u64>,
    pub total: Option<u64>,
    /// Bytes in use on its disk over the period.
    pub used: Vec<Point>,
    pub days_until_full: Option<f64>,
    pub snapshots: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct DrillLine {
    pub source: String,
    pub tier: String,
    pub at: jiff::Timestamp,
    pub ok: bool,
    pub rto_secs: f64,
    pub target_rto_secs: u64,
    pub within_rto: bool,
    pub detail: String,
}

pub fn build(
    site: &Site,
    catalog: &Catalog,
    since: jiff::Timestamp,
    now: jiff::Timestamp,
) -> anyhow::Result<PeriodReport> {
    let overview = overview::build(site, catalog, now)?;
    let mut sources = Vec::new();
    for (name, src) in &site.config.source {
        sources.push(source_period(site, catalog, name, src, since, now)?);
    }
    let mut repositories = Vec::new();
    for (name, cfg) in &site.config.repository {
        let samples = catalog.repo_samples(name, since)?;
        let used: Vec<(i64, u64, u64)> = samples
            .iter()
            .filter_map(|s| Some((s.at.as_second(), s.total?.saturating_sub(s.free?), s.free?)))
            .collect();
        let last = samples.last();
        repositories.push(RepoPeriod {
            name: name.clone(),
            medium: cfg.medium,
            offsite: cfg.offsite,
            primary: name == site.primary().0,
            free: last.and_then(|s| s.free),
            total: last.and_then(|s| s.total),
            used: trend::thin(
                &used
                    .iter()
                    .map(|u| Point {
                        at: u.0,
                        value: u.1 as f64,
                        anomaly: false,
                    })
                    .collect::<Vec<_>>(),
                MAX_POINTS,
            ),
            days_until_full: trend::days_until_full(&used),
            snapshots: last.and_then(|s| s.snapshots),
        });
    }
    let drills = catalog
        .drills_since(None, since, 500)?
        .into_iter()
        .map(|(_, d)| {
            let tier_name = site.config.source.get(&d.source).map(|s| s.tier.clone());
            let target = site
                .config
                .source
                .get(&d.source)
                .map(|s| tier_of(site, s).rto.0)
                .unwrap_or(Duration::MAX);
            DrillLine {
                within_rto: d.ok && Duration::from_millis(d.rto_ms) <= target,
                source: d.source,
                tier: tier_name.unwrap_or_default(),
                at: d.at,
                ok: d.ok,
                rto_secs: d.rto_ms as f64 / 1000.0,
                target_rto_secs: target.as_secs().min(u64::MAX / 2),
                detail: d.detail,
            }
        })
        .collect();
    let resolved = catalog
        .alerts_sent(10_000)?
        .into_iter()
        .filter(|a| a.kind == "recovery" && a.at >= since)
        .collect();
    Ok(PeriodReport {
        host: site.host(),
        generated_at: now,
        since,
        until: now,
        overview,
        sources,
        repositories,
        verifications: catalog.verifications_since(None, since, 500)?,
        drills,
        resolved,
    })
}

fn source_period(
    site: &Site,
    catalog: &Catalog,
    name: &str,
    src: &crate::config::SourceConfig,
    since: jiff::Timestamp,
    now: jiff::Timestamp,
) -> anyhow::Result<SourcePeriod> {
    let tier = tier_of(site, src);
    let runs = catalog.source_runs_since(name, "backup", since)?;
    let done: Vec<&RunRecord> = runs
        .iter()
        .filter(|r| matches!(r.status, RunStatus::Ok | RunStatus::Warning))
        .collect();
    let durations: Vec<f64> = done
        .iter()
        .filter_map(|r| r.duration())
        .map(|d| d.as_secs_f64())
        .collect();
    let mut points: Vec<RecoveryPoint> = catalog
        .backup_points(name, since, now)?
        .into_iter()
        .map(|(available, point)| RecoveryPoint { available, point })
        .collect();
    if src.kind == SourceKind::Mysql {
        points.extend(
            catalog
                .binlog_points(name, since, now)?
                .into_iter()
                .map(|(available, point)| RecoveryPoint { available, point }),
        );
    }
    let series = |f: &dyn Fn(&RunRecord) -> Option<f64>| {
        let v: Vec<(i64, f64)> = done
            .iter()
            .filter_map(|r| Some((r.started_at.as_second(), f(r)?)))
            .collect();
        trend::thin(&trend::series(&v), MAX_POINTS)
    };
    Ok(SourcePeriod {
        name: name.to_string(),
        kind: kind_name(src.kind),
        tier: src.tier.clone(),
        rpo_secs: tier.rpo.0.as_secs(),
        rto_secs: tier.rto.0.as_secs(),
        backups: runs.len(),
        ok: done.len(),
        failed: runs
            .iter()
            .filter(|r| matches!(r.status, RunStatus::Failed | RunStatus::Interrupted))
            .count(),
        bytes_added: done
            .iter()
            .filter_map(|r| r.metrics.as_ref())
            .map(|m| m.bytes_added)
            .sum(),
        latest_size: done
            .last()
            .and_then(|r| r.metrics.as_ref())
            .map(|m| m.bytes_read),
        avg_duration_secs: (!durations.is_empty())
            .then(|| durations.iter().sum::<f64>() / durations.len() as f64),
        max_duration_secs: durations.iter().copied().reduce(f64::max),
        compliance: compliance(
            &points,
            tier.rpo.0.as_secs() as i64,
            since.as_second(),
            now.as_second(),
        ),
        runs: runs.iter().rev().take(MAX_RUNS).cloned().collect(),
        duration: series(&|r| r.duration().map(|d| d.as_secs_f64())),
        size: series(&|r| Some(r.metrics.as_ref()?.bytes_read as f64)),
    })
}

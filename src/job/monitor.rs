//! The monitor as an operation: the status (repositories opened, an unreachable one a
//! finding), the facts the catalog holds beyond it, the pure evaluator, then the alerts due
//! (unless `no_alert`) and what was sent, all recorded. `status`, `monitor`, `run` and the
//! daemon's `monitor` job all come through here, so they see the same findings.

use std::time::Duration;

use serde::Serialize;

use super::status::StatusReport;
use super::Site;
use crate::alert::{self, Configured, Delivery, Message, PingPhase};
use crate::catalog::{AlertSent, Catalog, OpenFinding, RepoSample};
use crate::monitor::state::{self, level_name, Channel, Notice, NoticeKind};
use crate::monitor::{self, Evaluation, Facts, Finding, RepoFacts, Rules, SourceFacts};
use crate::status::Level;
use crate::targets::RepoState;

#[derive(Debug, Clone, Default)]
pub struct MonitorOptions {
    /// Evaluate and record, but send nothing.
    pub no_alert: bool,
}

/// What `monitor` found and told.
#[derive(Debug, Serialize)]
pub struct MonitorOutcome {
    pub host: String,
    pub level: Level,
    pub findings: Vec<Finding>,
    /// The messages due (sent unless `--no-alert`).
    pub notices: Vec<Notice>,
    pub deliveries: Vec<Delivery>,
    /// Channels that could not be built (a secret file missing): logged, not fatal.
    pub channel_errors: Vec<String>,
}

/// The whole monitor: status, evaluation, alerts.
pub fn monitor(site: &Site, opts: &MonitorOptions) -> anyhow::Result<MonitorOutcome> {
    let report = super::status::status(site)?;
    let catalog = site.catalog()?;
    Ok(tell(site, &catalog, &report.findings, opts.no_alert))
}

/// How many backup runs of a source the performance and anomaly checks look at.
const RUNS_LOOKED_AT: usize = 50;
/// The space trend covers this much history.
const TREND: Duration = Duration::from_secs(30 * 86400);

/// Records what the status saw of each repository (free space, snapshots, how far behind):
/// what the metrics and the space trend read later, so no scrape opens a repository.
pub fn record_samples(catalog: &Catalog, repos: &[RepoState], now: jiff::Timestamp) {
    for r in repos {
        let sample = RepoSample {
            repository: r.name.clone(),
            at: now,
            reachable: r.unreachable.is_none(),
            free: r.space.map(|s| s.free),
            total: r.space.map(|s| s.total),
            snapshots: r.snapshots.map(|n| n as u64),
            behind: r.behind.map(|n| n as u64),
        };
        if let Err(e) = catalog.record_repo_sample(&sample) {
            tracing::warn!(repository = %r.name, "cannot record the repository's state: {e}");
        }
    }
}

/// The findings of a status report, with what the catalog adds (runs, verifications, the
/// space trend, the schedules' runs) and the schedules' expectations.
pub fn evaluate_report(
    site: &Site,
    catalog: &Catalog,
    report: &StatusReport,
    now: jiff::Timestamp,
) -> anyhow::Result<Evaluation> {
    let zoned = now.to_zoned(jiff::tz::TimeZone::system());
    let schedules = crate::schedule::effective(&site.config).unwrap_or_default();
    let expected = crate::schedule::expectations(&schedules, &zoned).unwrap_or_default();
    let mut facts = Facts {
        host: site.host(),
        targets: Some(report.targets.verdict.clone()),
        daemon: report.daemon.note.clone().map(|n| (report.daemon.level, n)),
        ..Facts::default()
    };
    for v in &report.sources {
        let name = &v.facts.source;
        facts.sources.push(SourceFacts {
            verdict: v.clone(),
            expected: expected.get(name).cloned(),
            runs: catalog.runs(Some("backup"), Some(name), RUNS_LOOKED_AT)?,
        });
    }
    let since = jiff::Timestamp::from_second(now.as_second() - TREND.as_secs() as i64)?;
    for r in &report.targets.repositories {
        let used = catalog
            .repo_samples(&r.name, since)?
            .into_iter()
            .filter_map(|s| Some((s.at, s.total?.saturating_sub(s.free?))))
            .collect();
        facts.repositories.push(RepoFacts {
            name: r.name.clone(),
            space: r.space,
            used,
            verify: catalog.last_verification_detail(&r.name)?,
        });
    }
    for s in &schedules {
        facts
            .schedules
            .extend(catalog.schedule_runs(Some(&s.name), 1)?);
    }
    let rules = Rules {
        monitor: site.config.monitor.clone(),
        stats: site.config.stats.clone(),
    };
    Ok(monitor::evaluate(&facts, &rules, now))
}

/// Records the findings as open (keeping since when), and sends each channel what is due:
/// new or worse findings, repeats, recoveries. A channel that fails is recorded and tried
/// again next time; nothing here fails the caller.
pub fn tell(
    site: &Site,
    catalog: &Catalog,
    findings: &[Finding],
    no_alert: bool,
) -> MonitorOutcome {
    let now = jiff::Timestamp::now();
    let open = catalog.open_findings().unwrap_or_default();
    let findings = state::with_since(findings, &open, now);
    let (configured, errors) = alert::channels(&site.config);
    let channel_errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
    for e in &channel_errors {
        tracing::warn!("{e}");
    }
    let rules: Vec<Channel> = configured
        .iter()
        .filter(|c| c.config.kind != crate::config::AlertKind::Ping)
        .map(|c| Channel {
            name: c.channel.name().to_string(),
            min: c.config.min_severity(),
            repeat: c.config.repeat.unwrap_or(site.config.monitor.repeat).0,
        })
        .collect();
    let told = catalog.alert_states().unwrap_or_default();
    let notices = state::plan(&findings, &open, &told, &rules, now);
    let deliveries = if no_alert {
        Vec::new()
    } else {
        send(site, catalog, &configured, &notices, now)
    };
    let now_open: Vec<OpenFinding> = findings
        .iter()
        .map(|f| OpenFinding {
            key: f.key.clone(),
            severity: level_name(f.severity).into(),
            since: f.since.unwrap_or(now),
            message: f.message.clone(),
        })
        .collect();
    if let Err(e) = catalog.set_open_findings(&now_open) {
        tracing::warn!("cannot record the open findings: {e}");
    }
    MonitorOutcome {
        host: site.host(),
        level: findings
            .iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or(Level::Ok),
        findings,
        notices,
        deliveries,
        channel_errors,
    }
}

fn send(
    site: &Site,
    catalog: &Catalog,
    configured: &[Configured],
    notices: &[Notice],
    now: jiff::Timestamp,
) -> Vec<Delivery> {
    let host = site.host();
    let batches: Vec<(&Configured, Message)> = configured
        .iter()
        .filter_map(|c| {
            let mine: Vec<Notice> = notices
                .iter()
                .filter(|n| n.channel == c.channel.name())
                .cloned()
                .collect();
            (!mine.is_empty()).then(|| (c, Message::new(&host, mine, now)))
        })
        .collect();
    let deliveries = alert::deliver(batches);
    for d in &deliveries {
        for n in notices.iter().filter(|n| n.channel == d.channel) {
            record(catalog, d, n, now);
        }
    }
    deliveries
}

/// One row per finding told (or not) to a channel; on success the channel's memory of it.
fn record(catalog: &Catalog, d: &Delivery, n: &Notice, now: jiff::Timestamp) {
    let f = &n.finding;
    let sent = AlertSent {
        at: now,
        channel: d.channel.clone(),
        finding: f.key.clone(),
        kind: n.kind.as_str().into(),
        severity: level_name(f.severity).into(),
        ok: d.ok,
        attempts: d.attempts,
        error: d.error.clone(),
    };
    let state = match n.kind {
        NoticeKind::Recovery => None,
        _ => Some(level_name(f.severity)),
    };
    let result = catalog.record_alert_sent(&sent).and_then(|()| {
        if d.ok {
            catalog.set_alert_state(&d.channel, &f.key, state, now)
        } else {
            Ok(())
        }
    });
    if let Err(e) = result {
        tracing::warn!(channel = %d.channel, "cannot record the alert: {e}");
    }
}

/// Pings the dead man's switches for `job` and records each ping; never fails.
pub fn ping(site: &Site, job: &str, phase: PingPhase) -> Vec<Delivery> {
    let (configured, _) = alert::channels(&site.config);
    let deliveries = alert::ping(&configured, phase);
    if let Ok(catalog) = site.catalog() {
        let now = jiff::Timestamp::now();
        for d in &deliveries {
            let _ = catalog.record_alert_sent(&AlertSent {
                at: now,
                channel: d.channel.clone(),
                finding: job.into(),
                kind: format!("ping-{}", format!("{phase:?}").to_lowercase()),
                severity: "ok".into(),
                ok: d.ok,
                attempts: d.attempts,
                error: d.error.clone(),
            });
        }
    }
    deliveries
}

/// `dxbackup alert test [CHANNEL]`: a test message to each channel (or the one named).
pub fn test(site: &Site, only: Option<&str>) -> anyhow::Result<Vec<Delivery>> {
    if let Some(name) = only {
        anyhow::ensure!(
            site.config.alert.contains_key(name),
            "no channel `{name}` in the config; the channels are: {}",
            site.config
                .alert
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let (configured, errors) = alert::channels(&site.config);
    let mut out: Vec<Delivery> = errors
        .iter()
        .filter(|e| only.is_none_or(|n| e.to_string().contains(&format!("`{n}`"))))
        .map(|e| Delivery {
            channel: String::new(),
            kind: String::new(),
            ok: false,
            attempts: 0,
            error: Some(e.to_string()),
            duration_secs: 0.0,
        })
        .collect();
    let now = jiff::Timestamp::now();
    let host = site.host();
    let batches: Vec<(&Configured, Message)> = configured
        .iter()
        .filter(|c| only.is_none_or(|n| c.channel.name() == n))
        .map(|c| {
            let mut f = Finding::new(
                "test",
                c.channel.name(),
                Level::Warning,
                format!(
                    "a test message from dxbackup on {host}: channel `{}` works; nothing to do",
                    c.channel.name()
                ),
            );
            f.since = Some(now);
            let n = Notice {
                channel: c.channel.name().into(),
                kind: NoticeKind::Alert,
                finding: f,
            };
            (c, Message::new(&host, vec![n], now))
        })
        .collect();
    let notices: Vec<Notice> = batches
        .iter()
        .flat_map(|(_, m)| m.notices.clone())
        .collect();
    let deliveries = alert::deliver(batches);
    let catalog = site.catalog()?;
    for d in &deliveries {
        for n in notices.iter().filter(|n| n.channel == d.channel) {
            let _ = catalog.record_alert_sent(&AlertSent {
                at: now,
                channel: d.channel.clone(),
                finding: n.finding.key.clone(),
                kind: "test".into(),
                severity: "warning".into(),
                ok: d.ok,
                attempts: d.attempts,
                error: d.error.clone(),
            });
        }
    }
    out.extend(deliveries);
    Ok(out)
}

//! Status: per source its RPO exposure, restorable window and last drill against its tier;
//! per repository its state; the 3-2-1 line. Read from the repositories' snapshot lists and
//! the catalog; judged by the pure evaluators in `crate::status` and `crate::targets`.

use std::path::Path;

use serde::Serialize;

use super::{dbarchive, Site};
use crate::catalog::Catalog;
use crate::config::{SourceConfig, SourceKind};
use crate::repo::{Repo, Snapshot};
use crate::source::mysql::chain;
use crate::status::{evaluate, Drill, Facts, Level, Verdict};
use crate::targets::{self, RepoState, Severity, Space};

/// The whole of `status`.
#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub sources: Vec<Verdict>,
    pub targets: TargetsReport,
    pub daemon: DaemonState,
    /// Every finding of the monitor (`crate::monitor`), keyed, worst first: the same as
    /// `dxbackup monitor` shows and alerts on.
    pub findings: Vec<crate::monitor::Finding>,
}

impl StatusReport {
    /// The worst of the sources, the repositories and the daemon (Nagios: 0 ok, 1 warning,
    /// 2 critical).
    pub fn level(&self) -> Level {
        let sources = self
            .sources
            .iter()
            .map(|v| v.level)
            .max()
            .unwrap_or(Level::Ok);
        let findings = self.findings.iter().map(|f| f.severity).max();
        sources
            .max(level_of(self.targets.verdict.severity))
            .max(self.daemon.level)
            .max(findings.unwrap_or(Level::Ok))
    }
}

/// The daemon, as its heartbeat tells: running, stopped (a warning once it has been seen:
/// nothing runs the schedules then), or never run here (cron users: nothing to say).
#[derive(Debug, Serialize)]
pub struct DaemonState {
    pub heartbeat: Option<crate::daemon::Heartbeat>,
    pub running: bool,
    pub level: Level,
    pub note: Option<String>,
}

/// A daemon silent this long (it beats every 10 s) is down.
const DAEMON_SILENT: std::time::Duration = std::time::Duration::from_secs(60);

pub fn daemon_state(catalog: &Catalog, now: jiff::Timestamp) -> DaemonState {
    let Some(hb) = crate::daemon::last_heartbeat(catalog) else {
        return DaemonState {
            heartbeat: None,
            running: false,
            level: Level::Ok,
            note: None,
        };
    };
    let age = now.as_second() - hb.at.as_second();
    let running = age <= DAEMON_SILENT.as_secs() as i64;
    let note = (!running).then(|| {
        format!(
            "the daemon (pid {} on {}) has not reported for {}: schedules and archivers are not running; start it ('systemctl start dxbackup' or 'dxbackup daemon')",
            hb.pid,
            hb.host,
            crate::status::human(std::time::Duration::from_secs(age.max(0) as u64))
        )
    });
    DaemonState {
        heartbeat: Some(hb),
        running,
        level: if running { Level::Ok } else { Level::Warning },
        note,
    }
}

/// The repositories part of `status`.
#[derive(Debug, Serialize)]
pub struct TargetsReport {
    pub repositories: Vec<RepoState>,
    #[serde(rename = "rule_3_2_1")]
    pub verdict: targets::Verdict,
}

pub fn status(site: &Site) -> anyhow::Result<StatusReport> {
    let catalog = site.catalog()?;
    let now = jiff::Timestamp::now();
    let mut report = StatusReport {
        sources: sources(site)?,
        targets: targets_section(site)?,
        daemon: daemon_state(&catalog, now),
        findings: Vec::new(),
    };
    super::monitor::record_samples(&catalog, &report.targets.repositories, now);
    report.findings = super::monitor::evaluate_report(site, &catalog, &report, now)?.findings;
    Ok(report)
}

pub fn level_of(s: Severity) -> Level {
    match s {
        Severity::Ok => Level::Ok,
        Severity::Warning => Level::Warning,
        Severity::Critical => Level::Critical,
    }
}

/// Opens every repository (an unreachable one is a finding, not an error), counts what each
/// target lacks of the primary, and judges the lot.
pub fn targets_section(site: &Site) -> anyhow::Result<TargetsReport> {
    let catalog = site.catalog()?;
    let now = jiff::Zoned::now();
    let (primary_name, _) = site.primary();
    let primary = site.open(primary_name);
    let mut repositories = Vec::new();
    for (name, cfg) in &site.config.repository {
        let is_primary = name == primary_name;
        let mut state = RepoState {
            name: name.clone(),
            primary: is_primary,
            medium: cfg.medium,
            offsite: cfg.offsite,
            ..RepoState::default()
        };
        let opened = if is_primary {
            primary
                .as_ref()
                .map(|_| None)
                .map_err(|e| anyhow::anyhow!("{e:#}"))
        } else {
            site.open(name).map(Some)
        };
        match opened {
            Err(e) => state.unreachable = Some(format!("{e:#}")),
            Ok(target) => {
                let repo = target.as_ref().or(primary.as_ref().ok());
                if let Some(repo) = repo {
                    fill(&mut state, repo);
                }
                if let Ok(crate::config::Location::Local(p)) = cfg.location() {
                    state.space = disk_space(&site.resolve(Path::new(&p)));
                }
                if let (Some(t), Ok(p)) = (&target, &primary) {
                    let rules = site.retention_of(name);
                    match p.missing_in(t, site.policy(&rules), &now) {
                        // A drill's RTO record is no backup: the next copy takes it along,
                        // but a target without it yet holds every backup.
                        Ok(m) => {
                            let backups = m
                                .iter()
                                .filter(|s| s.kind.as_deref() != Some(super::rto::RTO_KIND));
                            state.behind = Some(backups.count());
                        }
                        Err(e) => state.unreachable = Some(e.to_string()),
                    }
                }
            }
        }
        if !is_primary {
            copy_history(&mut state, &catalog, name)?;
        }
        repositories.push(state);
    }
    let rpo = site
        .config
        .source
        .values()
        .filter_map(|s| site.config.tier.get(&s.tier))
        .map(|t| t.rpo.0)
        .min();
    let verdict = targets::evaluate(&repositories, rpo, now.timestamp());
    Ok(TargetsReport {
        repositories,
        verdict,
    })
}

fn fill(state: &mut RepoState, repo: &Repo) {
    match repo.snapshots() {
        Ok(snaps) => {
            state.snapshots = Some(snaps.len());
            // A recorded drill time is no backup: it must not make a repository look fresh.
            state.newest = snaps
                .iter()
                .filter(|s| s.kind.as_deref() != Some(super::rto::RTO_KIND))
                .map(|s| s.time)
                .max();
        }
        Err(e) => state.unreachable = Some(e.to_string()),
    }
}

fn copy_history(state: &mut RepoState, catalog: &Catalog, name: &str) -> anyhow::Result<()> {
    state.last_copy = catalog.last_copy(name, true)?.map(|c| c.finished_at);
    if catalog.copy_broken_since_success(name)? {
        state.copy_failing = Some(
            catalog
                .last_copy(name, false)?
                .and_then(|c| c.error)
                .unwrap_or_else(|| "interrupted".into()),
        );
    }
    Ok(())
}

/// Free and total bytes of the file system holding `path` (statvfs).
fn disk_space(path: &Path) -> Option<Space> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs is plain integers: all zeros is a valid value of it.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `s` a writable statvfs.
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return None;
    }
    let frsize = s.f_frsize as u64;
    // As df reckons its Use%: used plus what is available to us. Blocks reserved for root, or
    // unavailable under a quota or an overlay, are neither free nor ours, and counting them in
    // the total made a 79 %-used disk look 92 % full.
    let used = (s.f_blocks as u64).saturating_sub(s.f_bfree as u64);
    let avail = s.f_bavail as u64;
    Some(Space {
        free: avail * frsize,
        total: (used + avail) * frsize,
    })
}

/// The verdict of every configured source.
pub fn sources(site: &Site) -> anyhow::Result<Vec<Verdict>> {
    let repo = site.open_primary()?;
    let snaps = repo.snapshots()?;
    let catalog = site.catalog()?;
    let now = jiff::Timestamp::now();
    let mut out = Vec::new();
    for (name, src) in &site.config.source {
        let (kind, last_backup, archive) = match src.kind {
            SourceKind::Files => {
                let t = snaps
                    .iter()
                    .rev()
                    .find(|s| {
                        s.source.as_deref() == Some(name) && s.kind.as_deref() == Some("files")
                    })
                    .map(|s| s.time);
                ("files", t, Archive::default())
            }
            SourceKind::Mysql => {
                let full = dbarchive::fulls(&snaps, name)
                    .last()
                    .and_then(|f| jiff::Timestamp::from_second(f.at).ok());
                ("mysql", full, archive(&catalog, &snaps, name, src)?)
            }
        };
        let last_drill = catalog.last_drill(name)?.map(|d| Drill {
            at: d.at,
            ok: d.ok,
            rto: std::time::Duration::from_millis(d.rto_ms),
        });
        let facts = Facts {
            source: name.clone(),
            kind: kind.into(),
            tier: src.tier.clone(),
            last_backup,
            archive_current: archive.heartbeat,
            last_binlog_event: archive.last_event,
            window: archive.window,
            holes: archive.holes,
            binlog_flush: archive.flush,
            last_drill,
        };
        let tier = site
            .config
            .tier
            .get(&src.tier)
            .cloned()
            .unwrap_or_else(|| crate::config::default_tiers()["important"].clone());
        out.push(evaluate(facts, &tier, now));
    }
    Ok(out)
}

/// What status knows of a mysql source's binlog archive.
#[derive(Default)]
struct Archive {
    /// The archiver's last report (every flush).
    heartbeat: Option<jiff::Timestamp>,
    last_event: Option<jiff::Timestamp>,
    window: Option<(jiff::Timestamp, jiff::Timestamp)>,
    holes: Vec<String>,
    /// Set when an archiver is expected: `binlog = true`, or unset and one has reported.
    flush: Option<std::time::Duration>,
}

fn archive(
    catalog: &Catalog,
    snaps: &[Snapshot],
    name: &str,
    src: &SourceConfig,
) -> anyhow::Result<Archive> {
    let heartbeat = catalog
        .meta(&format!("binlog-current:{name}"))?
        .and_then(|t| t.parse::<jiff::Timestamp>().ok());
    // What a restore can reach, proven as the planner proves it: past no hole.
    let health = chain::health(
        &dbarchive::fulls(snaps, name),
        &dbarchive::coverage(snaps, name),
    );
    let ts = |t: i64| jiff::Timestamp::from_second(t).ok();
    let window = health.window.and_then(|(a, b)| Some((ts(a)?, ts(b)?)));
    let last_event = window.map(|w| w.1);
    let holes = health.holes.iter().map(ToString::to_string).collect();
    let expected = match src.binlog {
        Some(on) => on,
        None => heartbeat.is_some(),
    };
    Ok(Archive {
        heartbeat,
        last_event,
        window,
        holes,
        flush: expected.then(|| src.binlog_flush()),
    })
}

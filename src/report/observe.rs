//! Looking at the repositories once, for many readers: each repository's state (reachable,
//! snapshots, how far a target is behind, free space: `job::status` judges it the way
//! `status` does) and its whole snapshot list go into the catalog, with what each source's
//! snapshots say (newest backup, restorable window, chain holes). The dashboard and the report
//! then read the catalog; a page view never opens a repository.
//!
//! The daemon's dashboard observes in the background after each finished job (and every few
//! minutes for free space); `report` observes once before it writes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, RepoSample};
use crate::config::{Medium, SourceKind};
use crate::job::{dbarchive, Site};
use crate::repo::Snapshot;
use crate::source::mysql::chain;
use crate::targets::{RepoState, Space};

/// Meta keys: when the last observation ended, and per repository and source what it saw.
pub const AT_KEY: &str = "observed:at";
fn repo_key(name: &str) -> String {
    format!("observed:repo:{name}")
}
fn source_key(name: &str) -> String {
    format!("observed:source:{name}")
}

/// A repository as last observed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ObservedRepo {
    pub name: String,
    pub at: jiff::Timestamp,
    pub unreachable: Option<String>,
    pub snapshots: Option<usize>,
    pub newest: Option<jiff::Timestamp>,
    pub behind: Option<usize>,
    pub free: Option<u64>,
    pub total: Option<u64>,
}

/// What a source's snapshots in the primary said when last observed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ObservedSource {
    pub at: jiff::Timestamp,
    /// The newest files snapshot, or the newest full's consistent point.
    pub last_backup: Option<jiff::Timestamp>,
    /// mysql: oldest full to the last archived event a restore reaches (unix seconds).
    pub window: Option<(i64, i64)>,
    /// mysql: the chain's holes, each with the times it makes unreachable.
    pub holes: Vec<ObservedHole>,
}

/// A hole in a restore chain: what is missing, and the times it makes unreachable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedHole {
    /// As `status` says it.
    pub text: String,
    /// Points after this (unix seconds) ...
    pub from: i64,
    /// ... up to this one (the next full) cannot be restored; `None`: any later time.
    pub until: Option<i64>,
}

impl From<&chain::HoleReport> for ObservedHole {
    fn from(h: &chain::HoleReport) -> Self {
        Self {
            text: h.to_string(),
            from: h.from,
            until: h.until,
        }
    }
}

/// Observes every repository and records what it saw; an unreachable one is recorded as
/// such, not an error.
pub fn refresh(site: &Site) -> anyhow::Result<jiff::Timestamp> {
    let catalog = site.catalog()?;
    let now = jiff::Timestamp::now();
    let states = crate::job::status::targets_section(site)?.repositories;
    for state in &states {
        record_repo(&catalog, state, now)?;
        if state.unreachable.is_some() {
            continue;
        }
        match site
            .open_repo(Some(&state.name))
            .and_then(|r| Ok(r.snapshots()?))
        {
            Ok(snaps) => {
                catalog.replace_observed_snapshots(&state.name, &snaps)?;
                if state.name == site.primary().0 {
                    record_sources(site, &catalog, &snaps, now)?;
                }
            }
            Err(e) => tracing::warn!(repository = %state.name, "cannot list snapshots: {e:#}"),
        }
    }
    catalog.set_meta(AT_KEY, &now.to_string())?;
    Ok(now)
}

fn record_repo(catalog: &Catalog, s: &RepoState, now: jiff::Timestamp) -> anyhow::Result<()> {
    let o = ObservedRepo {
        name: s.name.clone(),
        at: now,
        unreachable: s.unreachable.clone(),
        snapshots: s.snapshots,
        newest: s.newest,
        behind: s.behind,
        free: s.space.map(|sp| sp.free),
        total: s.space.map(|sp| sp.total),
    };
    catalog.set_meta(&repo_key(&s.name), &serde_json::to_string(&o)?)?;
    catalog.record_repo_sample(&RepoSample {
        repository: s.name.clone(),
        at: now,
        reachable: s.unreachable.is_none(),
        free: o.free,
        total: o.total,
        snapshots: s.snapshots.map(|n| n as u64),
        behind: s.behind.map(|n| n as u64),
    })?;
    Ok(())
}

fn record_sources(
    site: &Site,
    catalog: &Catalog,
    snaps: &[Snapshot],
    now: jiff::Timestamp,
) -> anyhow::Result<()> {
    for (name, src) in &site.config.source {
        let o = source_facts(name, src.kind, snaps, now);
        catalog.set_meta(&source_key(name), &serde_json::to_string(&o)?)?;
    }
    Ok(())
}

/// What a source's snapshots say, as `status` reads them.
pub fn source_facts(
    name: &str,
    kind: SourceKind,
    snaps: &[Snapshot],
    now: jiff::Timestamp,
) -> ObservedSource {
    match kind {
        SourceKind::Files => ObservedSource {
            at: now,
            last_backup: snaps
                .iter()
                .filter(|s| s.source.as_deref() == Some(name) && s.kind.as_deref() == Some("files"))
                .map(|s| s.time)
                .max(),
            ..ObservedSource::default()
        },
        SourceKind::Mysql => {
            let fulls = dbarchive::fulls(snaps, name);
            let health = chain::health(&fulls, &dbarchive::coverage(snaps, name));
            ObservedSource {
                at: now,
                last_backup: fulls
                    .iter()
                    .map(|f| f.at)
                    .max()
                    .and_then(|t| jiff::Timestamp::from_second(t).ok()),
                window: health.window,
                holes: health.holes.iter().map(ObservedHole::from).collect(),
            }
        }
    }
}

/// When the repositories were last observed.
pub fn observed_at(catalog: &Catalog) -> Option<jiff::Timestamp> {
    catalog.meta(AT_KEY).ok().flatten()?.parse().ok()
}

/// Every repository of the config as last observed (`None`: not observed yet).
pub fn repositories(
    site: &Site,
    catalog: &Catalog,
) -> anyhow::Result<Vec<(String, Option<ObservedRepo>)>> {
    let mut out = Vec::new();
    for name in site.config.repository.keys() {
        let o = catalog
            .meta(&repo_key(name))?
            .and_then(|t| serde_json::from_str(&t).ok());
        out.push((name.clone(), o));
    }
    Ok(out)
}

/// Every source's observed facts, by name.
pub fn sources(site: &Site, catalog: &Catalog) -> anyhow::Result<BTreeMap<String, ObservedSource>> {
    let mut out = BTreeMap::new();
    for name in site.config.source.keys() {
        if let Some(o) = catalog
            .meta(&source_key(name))?
            .and_then(|t| serde_json::from_str(&t).ok())
        {
            out.insert(name.clone(), o);
        }
    }
    Ok(out)
}

/// A repository's state for the 3-2-1 verdict, rebuilt from its observation and the
/// catalog's copy history (which is live).
pub fn repo_state(
    site: &Site,
    catalog: &Catalog,
    name: &str,
    o: Option<&ObservedRepo>,
) -> anyhow::Result<RepoState> {
    let cfg = &site.config.repository[name];
    let is_primary = name == site.primary().0;
    let mut s = RepoState {
        name: name.to_string(),
        primary: is_primary,
        medium: cfg.medium,
        offsite: cfg.offsite,
        unreachable: match o {
            Some(o) => o.unreachable.clone(),
            None => Some("not observed yet".into()),
        },
        snapshots: o.and_then(|o| o.snapshots),
        newest: o.and_then(|o| o.newest),
        behind: o.and_then(|o| o.behind),
        space: o.and_then(|o| {
            Some(Space {
                free: o.free?,
                total: o.total?,
            })
        }),
        ..RepoState::default()
    };
    if !is_primary {
        s.last_copy = catalog.last_copy(name, true)?.map(|c| c.finished_at);
        if catalog.copy_broken_since_success(name)? {
            s.copy_failing = Some(
                catalog
                    .last_copy(name, false)?
                    .and_then(|c| c.error)
                    .unwrap_or_else(|| "interrupted".into()),
            );
        }
    }
    Ok(s)
}

/// `disk`, `nas`, `cloud`.
pub fn medium_name(m: Medium) -> &'static str {
    match m {
        Medium::Disk => "disk",
        Medium::Nas => "nas",
        Medium::Cloud => "cloud",
    }
}

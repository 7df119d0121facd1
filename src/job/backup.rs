//! Backing up sources: one snapshot per source into the primary, the attempt recorded before
//! and the outcome after, the leftovers of an interrupted run indexed first so they are reused.

use std::time::Instant;

use serde::Serialize;

use super::Site;
use crate::catalog::{Catalog, Metrics, RunEnd, RunStatus};
use crate::config::{SourceConfig, SourceKind};
use crate::manifest::{FilesManifest, Manifest, CONFIG_FILE, MANIFEST_FILE};
use crate::repo::{BackupRequest, Content, Repo};
use crate::schedule::{choose_mode, defer_full, include_for, Deferral, Mode, ModeSetting};
use crate::source::files::Filter;
use crate::status::Level;

/// The result of backing up one source, as printed and as `--json`.
#[derive(Debug, Serialize)]
pub struct SourceOutcome {
    pub source: String,
    pub status: RunStatus,
    pub snapshot: Option<String>,
    pub error: Option<String>,
    pub warnings: Vec<String>,
    pub duration_secs: f64,
    pub metrics: Option<Metrics>,
    /// The mode the backup ran in (the seed's smart scheduler).
    pub mode: Mode,
    /// Why this mode, and what it changed (a full put off by load, or run anyway).
    pub note: Option<String>,
}

/// How much a backup does: the mode and why it was chosen.
#[derive(Debug, Clone)]
pub struct BackupOptions {
    pub mode: Mode,
    pub reason: String,
}

impl Default for BackupOptions {
    fn default() -> Self {
        Self {
            mode: Mode::Normal,
            reason: "as configured".into(),
        }
    }
}

impl BackupOptions {
    /// The mode for `setting`: fixed, or chosen from the load average now (`auto`).
    pub fn for_setting(site: &Site, setting: ModeSetting) -> Self {
        let load = crate::schedule::load::load_1m()
            .map_err(|e| tracing::warn!("cannot read the load average: {e}"))
            .ok();
        let cores = crate::schedule::load::online_cores();
        let c = choose_mode(setting, load, cores, &site.config.load);
        Self {
            mode: c.mode,
            reason: c.reason,
        }
    }
}

/// Backs up each source in turn into the primary; a failing source does not stop the others.
pub fn backup(
    site: &Site,
    names: &[String],
    opts: &BackupOptions,
) -> anyhow::Result<Vec<SourceOutcome>> {
    let sources = site.sources(names)?;
    let repo = site.open_primary()?;
    let catalog = site.catalog()?;
    Ok(sources
        .into_iter()
        .map(|(name, src)| backup_one(site, &repo, &catalog, name, src, opts))
        .collect())
}

/// Every source failed: critical; some failed while others succeeded: a warning (partial);
/// else the worst of the rest.
pub fn backups_level(outcomes: &[SourceOutcome]) -> Level {
    let failed = outcomes
        .iter()
        .filter(|o| o.status == RunStatus::Failed)
        .count();
    match failed {
        0 if outcomes.iter().any(|o| o.status == RunStatus::Warning) => Level::Warning,
        0 => Level::Ok,
        n if n == outcomes.len() => Level::Critical,
        _ => Level::Warning,
    }
}

/// Backs up one source, recording the attempt before and the result after.
pub fn backup_one(
    site: &Site,
    repo: &Repo,
    catalog: &Catalog,
    name: &str,
    src: &SourceConfig,
    opts: &BackupOptions,
) -> SourceOutcome {
    let start = Instant::now();
    let now = jiff::Timestamp::now();
    let mut note = None;
    if src.kind == SourceKind::Mysql {
        match full_deferral(site, catalog, name, opts.mode, now) {
            Deferral::Run => {}
            Deferral::Defer { until } => {
                let why = format!(
                    "database full put off by load ({} mode: {}) until a normal slot, at the latest {until}",
                    opts.mode, opts.reason
                );
                return skipped(repo, catalog, name, opts, why);
            }
            Deferral::RunAnyway { reason } => note = Some(reason),
        }
    }
    if catalog
        .interrupted_since_success(&repo.name)
        .unwrap_or(false)
    {
        tracing::info!(repository = %repo.name, "indexing the leftovers of an interrupted backup");
        if let Err(e) = repo.recover_interrupted() {
            tracing::warn!("{e}");
        }
    }
    // A backup the catalog does not know of would be invisible to status, monitor and alerts:
    // better none, failed loudly, than one nobody can see.
    let id = match catalog.start_run("backup", Some(name), Some(&repo.name)) {
        Ok(id) => id,
        Err(e) => return unrecorded(name, opts, note, start, e),
    };
    let reason = note.as_deref().unwrap_or(&opts.reason);
    if let Err(e) = catalog.set_run_mode(id, opts.mode.as_str(), reason) {
        tracing::warn!("cannot record the run's mode: {e}");
    }
    let result = backup_inner(site, repo, name, src, opts.mode);
    let duration = start.elapsed();
    let outcome = match result {
        Ok(r) => {
            let s = r.snapshot.summary.as_ref();
            let metrics = Metrics {
                bytes_read: s.map_or(0, |s| s.bytes_processed),
                bytes_added: s.map_or(0, |s| s.data_added),
                bytes_added_packed: s.map_or(0, |s| s.data_added_packed),
                files_new: s.map_or(0, |s| s.files_new),
                files_changed: s.map_or(0, |s| s.files_changed),
                files_unmodified: s.map_or(0, |s| s.files_unmodified),
            };
            let status = if r.warnings.is_empty() {
                RunStatus::Ok
            } else {
                RunStatus::Warning
            };
            SourceOutcome {
                source: name.into(),
                status,
                snapshot: Some(r.snapshot.id),
                error: None,
                warnings: r.warnings,
                duration_secs: duration.as_secs_f64(),
                metrics: Some(metrics),
                mode: opts.mode,
                note: note.clone(),
            }
        }
        Err(e) => SourceOutcome {
            source: name.into(),
            status: RunStatus::Failed,
            snapshot: None,
            error: Some(format!("{e:#}")),
            warnings: vec![],
            duration_secs: duration.as_secs_f64(),
            metrics: None,
            mode: opts.mode,
            note: note.clone(),
        },
    };
    if src.kind == SourceKind::Mysql && outcome.snapshot.is_some() {
        // The full ran: nothing is put off any more.
        let _ = catalog.set_meta(&deferred_key(name), "");
    }
    let end = RunEnd {
        status: outcome.status,
        snapshot_id: outcome.snapshot.clone(),
        error: outcome.error.clone(),
        duration,
        metrics: outcome.metrics.clone(),
    };
    if let Err(e) = catalog.finish_run(id, &end) {
        tracing::warn!("cannot record run: {e}");
    }
    outcome
}

/// A source not backed up because its run could not be recorded: failed, with what to do.
fn unrecorded(
    name: &str,
    opts: &BackupOptions,
    note: Option<String>,
    start: Instant,
    e: crate::catalog::CatalogError,
) -> SourceOutcome {
    let error = format!(
        "cannot record the start of the backup in the catalog ({e}); nothing was backed up, as status and alerts would not know of it: fix the state directory (disk space, permissions), then run the backup again"
    );
    tracing::error!(source = name, "{error}");
    SourceOutcome {
        source: name.into(),
        status: RunStatus::Failed,
        snapshot: None,
        error: Some(error),
        warnings: vec![],
        duration_secs: start.elapsed().as_secs_f64(),
        metrics: None,
        mode: opts.mode,
        note,
    }
}

/// Whether a mysql full runs now in `mode`: normal mode always; light and minimal put it off
/// (remembering since when) until `max-defer`, then run it anyway.
fn full_deferral(
    site: &Site,
    catalog: &Catalog,
    name: &str,
    mode: Mode,
    now: jiff::Timestamp,
) -> Deferral {
    if mode == Mode::Normal {
        return Deferral::Run;
    }
    let last_full = catalog
        .runs(Some("backup"), Some(name), 20)
        .unwrap_or_default()
        .into_iter()
        .rev()
        .find(|r| matches!(r.status, RunStatus::Ok | RunStatus::Warning))
        .map(|r| r.started_at);
    let key = deferred_key(name);
    let since = catalog
        .meta(&key)
        .ok()
        .flatten()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok());
    let d = defer_full(mode, last_full, since, now, site.config.load.max_defer.0);
    if matches!(d, Deferral::Defer { .. }) && since.is_none() {
        let _ = catalog.set_meta(&key, &now.to_string());
    }
    d
}

fn deferred_key(source: &str) -> String {
    format!("full-deferred-since:{source}")
}

/// A source not backed up this time (a full put off by load): recorded as skipped.
fn skipped(
    repo: &Repo,
    catalog: &Catalog,
    name: &str,
    opts: &BackupOptions,
    why: String,
) -> SourceOutcome {
    tracing::info!(source = name, "{why}");
    let run = catalog.start_run("backup", Some(name), Some(&repo.name));
    if let Err(e) = &run {
        tracing::error!(
            source = name,
            "cannot record the skipped backup in the catalog: {e}"
        );
    }
    if let Ok(id) = run {
        let _ = catalog.set_run_mode(id, opts.mode.as_str(), &opts.reason);
        let _ = catalog.finish_run(
            id,
            &RunEnd {
                status: RunStatus::Skipped,
                snapshot_id: None,
                error: Some(why.clone()),
                duration: std::time::Duration::ZERO,
                metrics: None,
            },
        );
    }
    SourceOutcome {
        source: name.into(),
        status: RunStatus::Skipped,
        snapshot: None,
        error: None,
        warnings: vec![],
        duration_secs: 0.0,
        metrics: None,
        mode: opts.mode,
        note: Some(why),
    }
}

fn backup_inner(
    site: &Site,
    repo: &Repo,
    name: &str,
    src: &SourceConfig,
    mode: Mode,
) -> anyhow::Result<crate::repo::BackupResult> {
    match src.kind {
        SourceKind::Files => backup_files(site, repo, name, src, mode),
        SourceKind::Mysql => super::mysql_full::backup(site, repo, name, src),
    }
}

/// The manifest every snapshot of `name` starts from.
pub fn manifest(site: &Site, name: &str, kind: &str, src: &SourceConfig) -> Manifest {
    Manifest {
        format: 1,
        dxbackup_version: env!("CARGO_PKG_VERSION").into(),
        source: name.into(),
        kind: kind.into(),
        tier: src.tier.clone(),
        host: site.host(),
        config_digest: site.config_digest.clone(),
        files: None,
        mysql: None,
        binlog: None,
    }
}

fn backup_files(
    site: &Site,
    repo: &Repo,
    name: &str,
    src: &SourceConfig,
    mode: Mode,
) -> anyhow::Result<crate::repo::BackupResult> {
    let root = site.source_root(name, src)?;
    // Minimal mode keeps what a DataX home cannot be rebuilt without: conf/ and job/.
    let include = include_for(mode, &src.include());
    let filter = Filter::new(&include, &src.exclude())?;
    let mut manifest = manifest(site, name, "files", src);
    manifest.files = Some(FilesManifest {
        root: root.to_string_lossy().into_owned(),
        include,
        exclude: src.exclude(),
    });
    let req = BackupRequest {
        source: name.into(),
        kind: "files".into(),
        tier: src.tier.clone(),
        host: site.host(),
        content: Content::Files { root, filter },
        meta_mtime: site.config_mtime,
        description: None,
        meta_files: meta_files(site, &manifest),
    };
    tracing::info!(source = name, repository = %repo.name, "backup started");
    Ok(repo.backup(&req)?)
}

/// The files under `/.dxbackup/` of every snapshot: the manifest and the config used.
pub fn meta_files(site: &Site, manifest: &Manifest) -> Vec<(String, Vec<u8>)> {
    vec![
        (MANIFEST_FILE.into(), manifest.to_json()),
        (CONFIG_FILE.into(), site.sanitized_config().into_bytes()),
    ]
}

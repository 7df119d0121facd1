//! Backing up sources: one snapshot per source into the primary, the attempt recorded before
//! and the outcome after, the leftovers of an interrupted run indexed first so they are reused.

use std::time::Instant;

use serde::Serialize;

use super::Site;
use crate::catalog::{Catalog, Metrics, RunEnd, RunStatus};
use crate::config::{SourceConfig, SourceKind};
use crate::manifest::{FilesManifest, Manifest, CONFIG_FILE, MANIFEST_FILE};
use crate::repo::{BackupRequest, Content, Repo};
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
}

/// Backs up each source in turn into the primary; a failing source does not stop the others.
pub fn backup(site: &Site, names: &[String]) -> anyhow::Result<Vec<SourceOutcome>> {
    let sources = site.sources(names)?;
    let repo = site.open_primary()?;
    let catalog = site.catalog()?;
    Ok(sources
        .into_iter()
        .map(|(name, src)| backup_one(site, &repo, &catalog, name, src))
        .collect())
}

/// Every source failed: critical; some failed while others succeeded: a warning (partial);
/// else the worst of the rest.
pub fn backups_level(outcomes: &[SourceOutcome]) -> Level {
    let failed = outcomes.iter().filter(|o| o.snapshot.is_none()).count();
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
) -> SourceOutcome {
    let start = Instant::now();
    if catalog
        .interrupted_since_success(&repo.name)
        .unwrap_or(false)
    {
        tracing::info!(repository = %repo.name, "indexing the leftovers of an interrupted backup");
        if let Err(e) = repo.recover_interrupted() {
            tracing::warn!("{e}");
        }
    }
    let run_id = catalog.start_run("backup", Some(name), Some(&repo.name));
    let result = backup_inner(site, repo, name, src);
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
        },
    };
    if let Ok(id) = run_id {
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
    }
    outcome
}

fn backup_inner(
    site: &Site,
    repo: &Repo,
    name: &str,
    src: &SourceConfig,
) -> anyhow::Result<crate::repo::BackupResult> {
    match src.kind {
        SourceKind::Files => backup_files(site, repo, name, src),
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
) -> anyhow::Result<crate::repo::BackupResult> {
    let root = site.source_root(name, src)?;
    let filter = Filter::new(&src.include(), &src.exclude())?;
    let mut manifest = manifest(site, name, "files", src);
    manifest.files = Some(FilesManifest {
        root: root.to_string_lossy().into_owned(),
        include: src.include(),
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

//! `dxbackup backup [SOURCE...]`

use std::time::Instant;

use clap::Args;
use serde::Serialize;

use super::{bytes, mb_per_s, print_json, Ctx, Exit};
use crate::catalog::{Catalog, Metrics, RunEnd, RunStatus};
use crate::config::{SourceConfig, SourceKind};
use crate::manifest::{FilesManifest, Manifest, CONFIG_FILE, MANIFEST_FILE};
use crate::repo::{BackupRequest, Content, Repo};
use crate::source::files::Filter;

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Sources to back up [default: all]
    pub sources: Vec<String>,
}

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

impl SourceOutcome {
    pub fn exit(&self) -> Exit {
        match self.status {
            RunStatus::Ok => Exit::Ok,
            RunStatus::Warning => Exit::Warning,
            _ => Exit::Error,
        }
    }

    pub fn print(&self) {
        let Some(m) = &self.metrics else {
            println!(
                "{}: FAILED: {}",
                self.source,
                self.error.as_deref().unwrap_or("unknown error")
            );
            return;
        };
        println!(
            "{}: snapshot {}  files new {}, changed {}, unchanged {}; read {}, added {} ({} packed) in {:.1} s, {:.1} MB/s",
            self.source,
            self.snapshot.as_deref().map_or("-", |s| &s[..8.min(s.len())]),
            m.files_new,
            m.files_changed,
            m.files_unmodified,
            bytes(m.bytes_read),
            bytes(m.bytes_added),
            bytes(m.bytes_added_packed),
            self.duration_secs,
            mb_per_s(m.bytes_read, self.duration_secs),
        );
        for w in &self.warnings {
            println!("  warning: {w}");
        }
    }
}

pub fn run(ctx: &Ctx, args: &BackupArgs) -> anyhow::Result<Exit> {
    let sources = ctx.sources(&args.sources)?;
    let repo = ctx.open_primary()?;
    let catalog = ctx.catalog()?;
    let outcomes: Vec<_> = sources
        .into_iter()
        .map(|(name, src)| backup_one(ctx, &repo, &catalog, name, src))
        .collect();
    if ctx.global.json {
        print_json(&outcomes)?;
    } else {
        outcomes.iter().for_each(SourceOutcome::print);
    }
    Ok(backups_exit(&outcomes))
}

/// Every source failed: 2; some failed while others succeeded: 1 (partial); else the worst
/// of the rest (warnings give 1).
pub fn backups_exit(outcomes: &[SourceOutcome]) -> Exit {
    let failed = outcomes.iter().filter(|o| o.snapshot.is_none()).count();
    match failed {
        0 => outcomes
            .iter()
            .map(SourceOutcome::exit)
            .max()
            .unwrap_or(Exit::Ok),
        n if n == outcomes.len() => Exit::Error,
        _ => Exit::Warning,
    }
}

/// Backs up one source, recording the attempt before and the result after.
pub fn backup_one(
    ctx: &Ctx,
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
    let result = backup_inner(ctx, repo, name, src);
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
    ctx: &Ctx,
    repo: &Repo,
    name: &str,
    src: &SourceConfig,
) -> anyhow::Result<crate::repo::BackupResult> {
    match src.kind {
        SourceKind::Files => backup_files(ctx, repo, name, src),
        SourceKind::Mysql => super::mysql_full::backup(ctx, repo, name, src),
    }
}

/// The manifest every snapshot of `name` starts from.
pub fn manifest(ctx: &Ctx, name: &str, kind: &str, src: &SourceConfig) -> Manifest {
    Manifest {
        format: 1,
        dxbackup_version: env!("CARGO_PKG_VERSION").into(),
        source: name.into(),
        kind: kind.into(),
        tier: src.tier.clone(),
        host: ctx.host(),
        config_digest: ctx.config_digest.clone(),
        files: None,
        mysql: None,
        binlog: None,
    }
}

fn backup_files(
    ctx: &Ctx,
    repo: &Repo,
    name: &str,
    src: &SourceConfig,
) -> anyhow::Result<crate::repo::BackupResult> {
    let root = ctx.source_root(name, src)?;
    let filter = Filter::new(&src.include(), &src.exclude())?;
    let mut manifest = manifest(ctx, name, "files", src);
    manifest.files = Some(FilesManifest {
        root: root.to_string_lossy().into_owned(),
        include: src.include(),
        exclude: src.exclude(),
    });
    let req = BackupRequest {
        source: name.into(),
        kind: "files".into(),
        tier: src.tier.clone(),
        host: ctx.host(),
        content: Content::Files { root, filter },
        meta_mtime: ctx.config_mtime,
        description: None,
        meta_files: meta_files(ctx, &manifest),
    };
    tracing::info!(source = name, repository = %repo.name, "backup started");
    Ok(repo.backup(&req)?)
}

/// The files under `/.dxbackup/` of every snapshot: the manifest and the config used.
pub fn meta_files(ctx: &Ctx, manifest: &Manifest) -> Vec<(String, Vec<u8>)> {
    vec![
        (MANIFEST_FILE.into(), manifest.to_json()),
        (CONFIG_FILE.into(), ctx.sanitized_config().into_bytes()),
    ]
}

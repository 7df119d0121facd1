//! Full backups of mysql sources: the dump streams from the tool straight into the repository.

use super::backup::{manifest, meta_files};
use super::Ctx;
use crate::config::SourceConfig;
use crate::repo::{BackupRequest, BackupResult, Content, Repo};
use crate::source::mysql::dump;

/// Where a source's dump lives inside its snapshots.
pub fn dump_dir(source: &str) -> String {
    format!("/mysql/{source}")
}
pub const DUMP_FILE: &str = "dump.sql";

/// Dumps a mysql source into a new snapshot. A dump that fails or is cut short leaves no
/// snapshot: the one written from its stream is removed before the error is returned.
pub fn backup(
    ctx: &Ctx,
    repo: &Repo,
    name: &str,
    src: &SourceConfig,
) -> anyhow::Result<BackupResult> {
    let server = ctx.mysql_server(name, src, false)?;
    let databases = src
        .databases
        .clone()
        .unwrap_or(crate::config::Databases::All);
    let (running, streams) = dump::start(&server, &databases)?;
    let mut m = manifest(ctx, name, "mysql-full", src);
    let mut info = running.info.clone();
    info.tables_file = Some(format!("{}/{}", dump_dir(name), dump::TABLES_FILE));
    m.mysql = Some(info);
    let description = serde_json::json!({
        "at": running.info.at,
        "binlog": running.info.binlog,
        "gtid": running.info.gtid,
        "databases": running.info.databases,
    });
    let req = BackupRequest {
        source: name.into(),
        kind: "mysql-full".into(),
        tier: src.tier.clone(),
        host: ctx.host(),
        content: Content::streams(
            dump_dir(name),
            vec![
                (DUMP_FILE.into(), streams.dump),
                (dump::TABLES_FILE.into(), Box::new(streams.tables)),
            ],
        ),
        meta_files: meta_files(ctx, &m),
        meta_mtime: ctx.config_mtime,
        description: Some(description.to_string()),
    };
    let result = match repo.backup(&req) {
        Ok(r) => r,
        Err(e) => {
            running.abort();
            return Err(e.into());
        }
    };
    if let Err(e) = running.finish() {
        repo.remove_snapshot(&result.snapshot.id)?;
        return Err(anyhow::Error::new(e)
            .context(format!("dump of `{name}` failed; its snapshot was removed")));
    }
    Ok(result)
}

//! Full backups of mysql sources: the dump streams from the tool straight into the repository.

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context as _;

use super::backup::{manifest, meta_files};
use super::Site;
use crate::config::{Driver, SourceConfig};
use crate::repo::{
    BackupRequest, BackupResult, Content, Entry, EntryKind, Reader, Repo, Snapshot, Stream,
};
use crate::source::mysql::{dump, mydumper, physical, Server};

/// Where a source's dump lives inside its snapshots.
pub fn dump_dir(source: &str) -> String {
    format!("/mysql/{source}")
}
pub const DUMP_FILE: &str = "dump.sql";

/// What listing snapshots tells about a full without reading its trees.
fn description(info: &dump::DumpInfo) -> serde_json::Value {
    serde_json::json!({
        "at": info.at,
        "binlog": info.binlog,
        "gtid": info.gtid,
        "databases": info.databases,
    })
}

/// Dumps a mysql source into a new snapshot. A dump that fails or is cut short leaves no
/// snapshot: the one written from its stream is removed before the error is returned.
pub fn backup(
    site: &Site,
    repo: &Repo,
    name: &str,
    src: &SourceConfig,
) -> anyhow::Result<BackupResult> {
    let server = site.mysql_server(name, src, false)?;
    let databases = src
        .databases
        .clone()
        .unwrap_or(crate::config::Databases::All);
    if src.driver == Some(Driver::Mariabackup) {
        return backup_physical(site, repo, name, src, &server, &databases);
    }
    if src.driver == Some(Driver::Mydumper) {
        return backup_mydumper(site, repo, name, src, &server, &databases);
    }
    let (running, streams) = dump::start(&server, &databases)?;
    let mut m = manifest(site, name, "mysql-full", src);
    let mut info = running.info.clone();
    info.tables_file = Some(format!("{}/{}", dump_dir(name), dump::TABLES_FILE));
    m.mysql = Some(info);
    let description = description(&running.info);
    let req = full_request(
        site,
        name,
        src,
        &m,
        vec![
            Stream::new(DUMP_FILE, streams.dump),
            Stream::new(dump::TABLES_FILE, streams.tables),
        ],
        description.to_string(),
    );
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

/// A physical full: mariabackup's stream stored as it comes, then where its consistent point
/// and the figures' point are, then the figures. The snapshot's description (what the chain
/// planner reads) gets the coordinates once the copy has ended; a copy that failed or was cut
/// short leaves no snapshot.
fn backup_physical(
    site: &Site,
    repo: &Repo,
    name: &str,
    src: &SourceConfig,
    server: &Server,
    databases: &crate::config::Databases,
) -> anyhow::Result<BackupResult> {
    let figures = src.figures.unwrap_or_default() == crate::config::FiguresAt::Backup;
    let (running, streams) = physical::start(server, databases, figures)?;
    let mut m = manifest(site, name, "mysql-full", src);
    m.mysql = Some(dump::DumpInfo {
        at: jiff::Timestamp::now().as_second(),
        flavor: crate::source::mysql::Flavor::MariaDb,
        server_version: String::new(),
        tool: "mariabackup".into(),
        databases: vec![],
        binlog: None,
        gtid: None,
        tables: vec![],
        tables_file: Some(format!("{}/{}", dump_dir(name), dump::TABLES_FILE)),
    });
    let req = full_request(
        site,
        name,
        src,
        &m,
        vec![
            Stream::new(physical::STREAM_FILE, streams.stream),
            Stream::new(physical::POSITION_FILE, streams.position),
            Stream::new(dump::TABLES_FILE, streams.tables),
        ],
        // Not a full's description until the coordinates are in: nothing plans from it.
        r#"{"pending":"mariabackup"}"#.into(),
    );
    let result = match repo.backup(&req) {
        Ok(r) => r,
        Err(e) => {
            running.abort();
            return Err(e.into());
        }
    };
    let pos = match running.finish() {
        Ok(p) => p,
        Err(e) => {
            repo.remove_snapshot(&result.snapshot.id)?;
            return Err(anyhow::Error::new(e).context(format!(
                "mariabackup full of `{name}` failed; its snapshot was removed"
            )));
        }
    };
    let description = serde_json::json!({
        "at": pos.at,
        "binlog": pos.binlog,
        "gtid": pos.gtid,
        "databases": pos.databases,
        "driver": "mariabackup",
        "checks_at": pos.checks_at,
    });
    let snapshot = repo.set_description(&result.snapshot.id, &description.to_string())?;
    Ok(BackupResult {
        snapshot,
        warnings: result.warnings,
    })
}

/// A mydumper full: dumped into a private spool folder in the state directory (mydumper writes
/// files, not a stream), checked, then stored file by file; the spool is removed after.
fn backup_mydumper(
    site: &Site,
    repo: &Repo,
    name: &str,
    src: &SourceConfig,
    server: &Server,
    databases: &crate::config::Databases,
) -> anyhow::Result<BackupResult> {
    let parent = site.state_dir.join("spool");
    std::fs::create_dir_all(&parent)
        .with_context(|| format!("cannot create the spool folder {}", parent.display()))?;
    let prefix = format!("mydumper-{name}-");
    // Left by a run that was killed: nothing reads them any more.
    for old in std::fs::read_dir(&parent)?.flatten() {
        if old.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_dir_all(old.path());
        }
    }
    let spool = tempfile::Builder::new()
        .prefix(&prefix)
        .tempdir_in(&parent)
        .with_context(|| format!("cannot create a spool folder in {}", parent.display()))?;
    let threads = crate::source::mysql::connections(8);
    let running = mydumper::start(server, databases, spool.path(), threads)?;
    let info = running
        .finish()
        .with_context(|| format!("mydumper full of `{name}` failed; nothing was stored"))?;
    let mut m = manifest(site, name, "mysql-full", src);
    m.mysql = Some(info.clone());
    let mut files: Vec<PathBuf> = std::fs::read_dir(spool.path())?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let streams = files
        .into_iter()
        .map(|p| {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let size = std::fs::metadata(&p).map(|m| m.len()).ok();
            let file = LazyFile {
                path: p,
                file: None,
            };
            match size {
                Some(n) => Stream::sized(name, n, file),
                None => Stream::new(name, file),
            }
        })
        .collect();
    let req = full_request(site, name, src, &m, streams, description(&info).to_string());
    Ok(repo.backup(&req)?)
}

/// A full of `name`: its files under the source's dump folder, described for the planner.
fn full_request(
    site: &Site,
    name: &str,
    src: &SourceConfig,
    m: &crate::manifest::Manifest,
    streams: Vec<Stream>,
    description: String,
) -> BackupRequest {
    BackupRequest {
        source: name.into(),
        kind: "mysql-full".into(),
        tier: src.tier.clone(),
        host: site.host(),
        content: Content::streams(dump_dir(name), streams),
        meta_files: meta_files(site, m),
        meta_mtime: site.config_mtime,
        description: Some(description),
    }
}

/// A spool file, opened when the archiver gets to it (a big schema has thousands).
struct LazyFile {
    path: PathBuf,
    file: Option<std::fs::File>,
}

impl Read for LazyFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.file.is_none() {
            self.file = Some(std::fs::File::open(&self.path)?);
        }
        self.file.as_mut().expect("opened above").read(buf)
    }
}

/// Writes a mydumper full's files into a private temp folder, for myloader.
pub fn unpack_mydumper(
    reader: &Reader,
    full: &Snapshot,
    entries: &[Entry],
) -> anyhow::Result<tempfile::TempDir> {
    let tmp = tempfile::Builder::new()
        .prefix("dxbackup-mydumper-")
        .tempdir()?;
    for e in entries {
        if !matches!(e.kind, EntryKind::File { .. }) || e.path.components().count() != 1 {
            continue;
        }
        let target = tmp.path().join(&e.path);
        let mut f = std::fs::File::create(&target)
            .with_context(|| format!("cannot write {}", target.display()))?;
        reader.write_file(e, &mut f)?;
    }
    if !tmp.path().join("metadata").exists() {
        anyhow::bail!(
            "snapshot {} holds neither {DUMP_FILE} nor a mydumper folder",
            full.short_id()
        );
    }
    Ok(tmp)
}

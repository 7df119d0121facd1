//! What `recover` works from on a machine that has nothing: the off-site repository (URL,
//! password, keys from flags), the config stored in its newest snapshot (secrets removed), and
//! a working config built from both, with the targets of this machine.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::RecoverRequest;
use crate::config::{self, Config, RepositoryConfig, SourceKind};
use crate::job::Site;
use crate::manifest::CONFIG_FILE;
use crate::repo::{Reader, Repo};

/// The repository the recovery reads, as the working config names it.
pub const REPO: &str = "offsite";

/// A config naming only the repository, written into `dir` and loaded.
pub fn repository_site(req: &RecoverRequest, dir: &Path, state: &Path) -> anyhow::Result<Site> {
    let repo = repository(req)?;
    let mut c = Config::default();
    c.repository.insert(REPO.into(), repo);
    c.tier = config::default_tiers();
    load(&c, dir, state)
}

fn repository(req: &RecoverRequest) -> anyhow::Result<RepositoryConfig> {
    let abs =
        |p: &Path| std::path::absolute(p).with_context(|| format!("bad path {}", p.display()));
    Ok(RepositoryConfig {
        url: req.from.clone(),
        primary: true,
        password_file: Some(abs(&req.password_file)?),
        access_key_file: req.access_key_file.as_deref().map(abs).transpose()?,
        region: req.region.clone(),
        endpoint: req.endpoint.clone(),
        // A new machine knows no host key yet: trust on first use, refuse a changed one.
        known_hosts: if req.from.starts_with("sftp://") {
            config::KnownHosts::Add
        } else {
            config::KnownHosts::Strict
        },
        ..serde_json::from_value(serde_json::json!({ "url": req.from }))?
    })
}

/// The config stored in the newest data snapshot, with the snapshot it came from.
pub fn stored_config(repo: &Repo, reader: &Reader) -> anyhow::Result<(Config, String)> {
    let snaps = repo.snapshots()?;
    let newest = snaps
        .iter()
        .rev()
        .filter(|s| matches!(s.kind.as_deref(), Some("files" | "mysql-full")))
        .find_map(|s| Some((s, reader.meta_file(s, CONFIG_FILE).ok()??)))
        .context("the repository holds no snapshot made by dxbackup with its config: nothing to recover from")?;
    let text = String::from_utf8(newest.1).context("the stored config is not UTF-8")?;
    let config = config::parse(&text).map_err(|problems| {
        anyhow::anyhow!(
            "the config stored in snapshot {} does not parse: {}",
            newest.0.short_id(),
            problems
                .iter()
                .map(|p| format!("{}: {}", p.key, p.message))
                .collect::<Vec<_>>()
                .join("; ")
        )
    })?;
    Ok((config, newest.0.id.clone()))
}

/// The working config: the stored one's sources and tiers, this machine's targets, the
/// off-site repository as the only (primary) one, no schedules or alerts (their secrets were
/// removed and this machine does not run them yet).
pub fn working_config(
    req: &RecoverRequest,
    stored: &Config,
    roots: &[(String, PathBuf)],
) -> anyhow::Result<Config> {
    let mut c = stored.clone();
    c.repository.clear();
    c.repository.insert(REPO.into(), repository(req)?);
    c.schedule.clear();
    c.alert.clear();
    c.web = None;
    for (name, src) in c.source.iter_mut() {
        match src.kind {
            SourceKind::Files => {
                if let Some((_, dir)) = roots.iter().find(|(n, _)| n == name) {
                    src.root = Some(std::path::absolute(dir)?);
                }
            }
            SourceKind::Mysql => {
                if let Some(s) = &req.into_server {
                    if s.starts_with('/') {
                        src.socket = Some(PathBuf::from(s));
                        src.host = None;
                    } else {
                        let (h, p) = s.rsplit_once(':').unwrap_or((s, "3306"));
                        src.host = Some(h.into());
                        src.port = Some(
                            p.parse()
                                .with_context(|| format!("--into-server `{s}`: use HOST:PORT"))?,
                        );
                        src.socket = None;
                    }
                }
                src.password_file = req
                    .mysql_password_file
                    .as_deref()
                    .map(std::path::absolute)
                    .transpose()?;
                src.password_env = None;
                src.restore_server = None;
            }
        }
    }
    Ok(c)
}

/// Writes `c` into `dir` and loads it, as any config is loaded (validated, resolved on use).
pub fn load(c: &Config, dir: &Path, state: &Path) -> anyhow::Result<Site> {
    let path = dir.join("dxbackup.toml");
    crate::private::write(&path, toml::to_string(c)?.as_bytes())?;
    Site::load(&path, state.to_path_buf())
}

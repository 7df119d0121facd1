//! What every command needs: the loaded config, the state directory, and the world-touching
//! half of configuration (passwords, roots) resolved on demand.

mod remote;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context as _};
use sha2::{Digest, Sha256};

use super::GlobalArgs;
use crate::catalog::Catalog;
use crate::config::{self, Config, Location, RepositoryConfig, SourceConfig};
use crate::repo::{Password, RemoteOptions, Repo, RepoSpec};
use crate::source::mysql::{self, Server};

pub struct Ctx {
    pub global: GlobalArgs,
    pub config: Config,
    /// The config text's SHA-256: which config made a snapshot.
    pub config_digest: String,
    /// The config file's mtime: that of the copies stored in snapshots.
    pub config_mtime: jiff::Timestamp,
    pub state_dir: PathBuf,
}

impl Ctx {
    pub fn load(global: GlobalArgs) -> anyhow::Result<Self> {
        let path = config::find(global.config.as_deref())?;
        let config = config::load(&path)?;
        let text = std::fs::read(&path).unwrap_or_default();
        let config_digest = hex::encode(Sha256::digest(&text));
        let state_dir = global.state_dir.clone().unwrap_or_else(default_state_dir);
        let config_mtime = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| jiff::Timestamp::try_from(t).ok())
            .unwrap_or_else(jiff::Timestamp::now);
        Ok(Self {
            global,
            config,
            config_digest,
            config_mtime,
            state_dir,
        })
    }

    pub fn catalog(&self) -> anyhow::Result<Catalog> {
        Ok(Catalog::open(&self.state_dir)?)
    }

    pub fn host(&self) -> String {
        self.config.host.clone().unwrap_or_else(crate::host_name)
    }

    /// The repository backups go to: the one marked primary, or the only one.
    pub fn primary(&self) -> (&str, &RepositoryConfig) {
        let repos = &self.config.repository;
        repos
            .iter()
            .find(|(_, r)| r.primary)
            .or_else(|| repos.iter().next())
            .map(|(n, r)| (n.as_str(), r))
            .expect("validate() guarantees a repository")
    }

    pub fn spec(&self, name: &str) -> anyhow::Result<RepoSpec> {
        let r = self
            .config
            .repository
            .get(name)
            .with_context(|| format!("no repository `{name}` in the config"))?;
        let location = r
            .location()
            .map_err(|e| anyhow::anyhow!("repository `{name}`: {e}; {}", e.hint))?;
        let (url, location) = match location {
            Location::Local(p) => {
                let abs = self.resolve(Path::new(&p)).to_string_lossy().into_owned();
                (abs.clone(), Location::Local(abs))
            }
            remote => (r.url.clone(), remote),
        };
        let remote = if location.is_remote() {
            remote::options(self, name, r, &location)?
        } else {
            RemoteOptions::default()
        };
        Ok(RepoSpec {
            name: name.to_string(),
            url,
            password: self.password(name, r)?,
            location,
            remote,
            compression: r.compression,
            lock_wait: RepoSpec::DEFAULT_LOCK_WAIT,
        })
    }

    /// Every repository except the primary: where copies go.
    pub fn targets(&self) -> Vec<&str> {
        let (primary, _) = self.primary();
        self.config
            .repository
            .keys()
            .map(String::as_str)
            .filter(|n| *n != primary)
            .collect()
    }

    /// The retention of one repository: its own `[repository.X.retention]`, else `[retention]`.
    pub fn retention_of(&self, name: &str) -> crate::config::RetentionConfig {
        self.config
            .repository
            .get(name)
            .and_then(|r| r.retention.clone())
            .unwrap_or_else(|| self.config.retention.clone())
    }

    pub fn open_primary(&self) -> anyhow::Result<Repo> {
        let (name, _) = self.primary();
        Ok(Repo::open(&self.spec(name)?)?)
    }

    /// The repository named by a `--repo` flag, or the primary.
    pub fn open_repo(&self, name: Option<&str>) -> anyhow::Result<Repo> {
        match name {
            Some(n) => Ok(Repo::open(&self.spec(n)?)?),
            None => self.open_primary(),
        }
    }

    /// A path from the config, relative to the config file's folder.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            return p.to_path_buf();
        }
        let base = self.config.path.parent().unwrap_or(Path::new("."));
        let joined = base.join(p);
        std::path::absolute(&joined).unwrap_or(joined)
    }

    /// The canonical root of a files source.
    pub fn source_root(&self, name: &str, src: &SourceConfig) -> anyhow::Result<PathBuf> {
        let root = self.resolve(src.root.as_deref().context("files source without root")?);
        root.canonicalize().with_context(|| {
            format!(
                "source `{name}`: root {} does not exist; fix source.{name}.root",
                root.display()
            )
        })
    }

    /// How to reach a mysql source's server; `restore_server` = the drill target instead.
    pub fn mysql_server(
        &self,
        name: &str,
        src: &SourceConfig,
        restore_server: bool,
    ) -> anyhow::Result<Server> {
        let password = self.mysql_password(name, src)?;
        let mut server = Server {
            host: src.host.clone(),
            port: src.port.unwrap_or(3306),
            socket: src.socket.as_deref().map(|p| self.resolve(p)),
            user: src
                .user
                .clone()
                .with_context(|| format!("source `{name}` has no user"))?,
            password,
        };
        if let (true, Some(target)) = (restore_server, &src.restore_server) {
            if target.starts_with('/') {
                server.socket = Some(PathBuf::from(target));
            } else {
                let (h, p) = target.rsplit_once(':').unwrap_or((target, "3306"));
                server.socket = None;
                server.host = Some(h.to_string());
                server.port = p.parse().with_context(|| {
                    format!("source `{name}`: restore-server `{target}` is not HOST:PORT")
                })?;
            }
        }
        Ok(server)
    }

    /// The sources named, or all; an unknown name is an error listing the known ones.
    pub fn sources(&self, names: &[String]) -> anyhow::Result<Vec<(&str, &SourceConfig)>> {
        if names.is_empty() {
            return Ok(self
                .config
                .source
                .iter()
                .map(|(n, s)| (n.as_str(), s))
                .collect());
        }
        names
            .iter()
            .map(|n| {
                self.config
                    .source
                    .get_key_value(n)
                    .map(|(k, v)| (k.as_str(), v))
                    .with_context(|| {
                        let known: Vec<_> = self.config.source.keys().map(String::as_str).collect();
                        format!("no source `{n}`; configured: {}", known.join(", "))
                    })
            })
            .collect()
    }

    /// A mysql source's password from its password-file or password-env; `None` when it has
    /// neither (socket authentication). An empty one is an error, as for repositories: it
    /// would only surface later as "access denied".
    pub fn mysql_password(&self, name: &str, src: &SourceConfig) -> anyhow::Result<Option<String>> {
        if src.password_file.as_ref().is_some_and(config::is_removed) {
            bail!(
                "source `{name}`: password-file was removed when this config was stored in the snapshot; point source.{name}.password-file at the file holding the MySQL password"
            );
        }
        let file = src.password_file.as_deref().map(|p| self.resolve(p));
        let password = mysql::read_password(file.as_deref(), src.password_env.as_deref())
            .with_context(|| format!("source `{name}`"))?;
        if password.as_deref() != Some("") {
            return Ok(password);
        }
        match (&file, &src.password_env) {
            (Some(f), _) => bail!(
                "source `{name}`: password-file {} is empty; write the MySQL password on its first line",
                f.display()
            ),
            (None, var) => bail!(
                "source `{name}`: environment variable {} (password-env) is empty; set it to the MySQL password",
                var.as_deref().unwrap_or_default()
            ),
        }
    }

    /// A repository's password: its password-file or password-command, else
    /// DXBACKUP_PASSWORD, which also stands in for a source removed from a stored config.
    fn password(&self, name: &str, r: &RepositoryConfig) -> anyhow::Result<Password> {
        let removed = r.password_file.as_ref().is_some_and(config::is_removed)
            || r.password_command.as_ref().is_some_and(config::is_removed);
        if removed {
            return match std::env::var("DXBACKUP_PASSWORD") {
                Ok(pw) if !pw.is_empty() => Ok(Password::new(pw)),
                _ => bail!(
                    "repository `{name}`: its password source was removed when this config was stored in the snapshot; set password-file or password-command in [repository.{name}], or DXBACKUP_PASSWORD"
                ),
            };
        }
        if let Some(file) = &r.password_file {
            let file = self.resolve(file);
            let text = std::fs::read_to_string(&file).with_context(|| {
                format!(
                    "repository `{name}`: cannot read password-file {}",
                    file.display()
                )
            })?;
            let pw = text.lines().next().unwrap_or_default();
            if pw.is_empty() {
                bail!(
                    "repository `{name}`: password-file {} is empty",
                    file.display()
                );
            }
            return Ok(Password::new(pw));
        }
        if let Some(cmd) = &r.password_command {
            return run_password_command(name, cmd);
        }
        match std::env::var("DXBACKUP_PASSWORD") {
            Ok(pw) if !pw.is_empty() => Ok(Password::new(pw)),
            _ => bail!(
                "repository `{name}` has no password: set password-file or password-command in [repository.{name}], or DXBACKUP_PASSWORD"
            ),
        }
    }

    /// The config as stored in every snapshot: secrets' sources removed, so a bare-metal
    /// restore can start from the repository alone without leaking how to unlock it.
    pub fn sanitized_config(&self) -> String {
        config::stored_text(&self.config)
    }
}

fn run_password_command(name: &str, cmd: &str) -> anyhow::Result<Password> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("repository `{name}`: cannot run password-command"))?;
    if !out.status.success() {
        bail!(
            "repository `{name}`: password-command failed ({})",
            out.status
        );
    }
    let text = String::from_utf8(out.stdout).context("password-command printed non-UTF-8")?;
    let pw = text.lines().next().unwrap_or_default();
    if pw.is_empty() {
        bail!("repository `{name}`: password-command printed nothing");
    }
    Ok(Password::new(pw))
}

/// Without `--state-dir`/`$DXBACKUP_STATE_DIR` (clap reads both): `$XDG_STATE_HOME/dxbackup`
/// when set, for root too (a root service may be given its own state dir this way); then
/// `/var/lib/dxbackup` for root, `~/.local/state/dxbackup` for anyone else.
fn default_state_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_STATE_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("dxbackup");
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return PathBuf::from("/var/lib/dxbackup");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".local/state/dxbackup")
}

//! The world-touching half of configuration: paths resolved against the config file's folder,
//! repository specs with their passwords and credentials, how to reach a mysql server, the
//! sources a command names. Secrets go into `Password`s (or the private option file of the
//! client tools) and are never logged or printed.

mod remote;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context as _};

use super::{Config, Location, RepositoryConfig, SourceConfig};
use crate::repo::{KeepRules, Password, RemoteOptions, RepoSpec};
use crate::source::mysql::{self, Server};

pub use remote::credential_env;

impl Config {
    /// The repository backups go to: the one marked primary, or the only one.
    pub fn primary(&self) -> (&str, &RepositoryConfig) {
        let repos = &self.repository;
        repos
            .iter()
            .find(|(_, r)| r.primary)
            .or_else(|| repos.iter().next())
            .map(|(n, r)| (n.as_str(), r))
            .expect("validate() guarantees a repository")
    }

    /// A repository's spec, its password and credentials resolved.
    pub fn repo_spec(&self, name: &str) -> anyhow::Result<RepoSpec> {
        self.repo_spec_with(name, None)
    }

    /// The same, with a password already resolved (a `password-command` is run only once).
    pub fn repo_spec_with(
        &self,
        name: &str,
        password: Option<Password>,
    ) -> anyhow::Result<RepoSpec> {
        let r = self
            .repository
            .get(name)
            .with_context(|| format!("no repository `{name}` in the config"))?;
        let location = r
            .location()
            .map_err(|e| anyhow::anyhow!("repository `{name}`: {e}; {}", e.hint))?;
        let (url, location) = match location {
            Location::Local(p) => {
                let abs = self
                    .resolve_path(Path::new(&p))
                    .to_string_lossy()
                    .into_owned();
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
            password: match password {
                Some(p) => p,
                None => self.repo_password(name, r)?,
            },
            location,
            remote,
            compression: r.compression,
            progress: false,
            lock_wait: RepoSpec::DEFAULT_LOCK_WAIT,
        })
    }

    /// Every repository except the primary: where copies go.
    pub fn targets(&self) -> Vec<&str> {
        let (primary, _) = self.primary();
        self.repository
            .keys()
            .map(String::as_str)
            .filter(|n| *n != primary)
            .collect()
    }

    /// The retention of one repository: its own `[repository.X.retention]`, else `[retention]`.
    pub fn retention_of(&self, name: &str) -> KeepRules {
        self.repository
            .get(name)
            .and_then(|r| r.retention.as_ref())
            .unwrap_or(&self.retention)
            .keep_rules()
    }

    /// A path from the config, relative to the config file's folder.
    pub fn resolve_path(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            return p.to_path_buf();
        }
        let base = self.path.parent().unwrap_or(Path::new("."));
        let joined = base.join(p);
        std::path::absolute(&joined).unwrap_or(joined)
    }

    /// The canonical root of a files source.
    pub fn source_root(&self, name: &str, src: &SourceConfig) -> anyhow::Result<PathBuf> {
        let root = self.resolve_path(src.root.as_deref().context("files source without root")?);
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
            socket: src.socket.as_deref().map(|p| self.resolve_path(p)),
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
            return Ok(self.source.iter().map(|(n, s)| (n.as_str(), s)).collect());
        }
        names
            .iter()
            .map(|n| {
                self.source
                    .get_key_value(n)
                    .map(|(k, v)| (k.as_str(), v))
                    .with_context(|| {
                        let known: Vec<_> = self.source.keys().map(String::as_str).collect();
                        format!("no source `{n}`; configured: {}", known.join(", "))
                    })
            })
            .collect()
    }

    /// A mysql source's password from its password-file or password-env; `None` when it has
    /// neither (socket authentication). An empty one is an error, as for repositories: it
    /// would only surface later as "access denied".
    pub fn mysql_password(&self, name: &str, src: &SourceConfig) -> anyhow::Result<Option<String>> {
        if src.password_file.as_ref().is_some_and(super::is_removed) {
            bail!(
                "source `{name}`: password-file was removed when this config was stored in the snapshot; point source.{name}.password-file at the file holding the MySQL password"
            );
        }
        let file = src.password_file.as_deref().map(|p| self.resolve_path(p));
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
    pub fn repo_password(&self, name: &str, r: &RepositoryConfig) -> anyhow::Result<Password> {
        let removed = r.password_file.as_ref().is_some_and(super::is_removed)
            || r.password_command.as_ref().is_some_and(super::is_removed);
        if removed {
            return match std::env::var("DXBACKUP_PASSWORD") {
                Ok(pw) if !pw.is_empty() => Ok(Password::new(pw)),
                _ => bail!(
                    "repository `{name}`: its password source was removed when this config was stored in the snapshot; set password-file or password-command in [repository.{name}], or DXBACKUP_PASSWORD"
                ),
            };
        }
        if let Some(file) = &r.password_file {
            let file = self.resolve_path(file);
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
}

/// What each `password-command` printed, by its text: it runs once per process (a daemon
/// opens repositories again and again, in several sites), and the password stays in memory.
static COMMAND_PASSWORDS: std::sync::Mutex<BTreeMap<String, Password>> =
    std::sync::Mutex::new(BTreeMap::new());

fn run_password_command(name: &str, cmd: &str) -> anyhow::Result<Password> {
    let known = || COMMAND_PASSWORDS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(pw) = known().get(cmd) {
        return Ok(pw.clone());
    }
    let pw = run_password_command_once(name, cmd)?;
    known().insert(cmd.to_string(), pw.clone());
    Ok(pw)
}

fn run_password_command_once(name: &str, cmd: &str) -> anyhow::Result<Password> {
    let mut sh = Command::new("sh");
    crate::repo::user_state_home_for(&mut sh);
    let out = sh
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

#[cfg(test)]
mod tests {
    /// A daemon holds several sites (its own, the dashboard's, one per reload): the command
    /// still runs once in the process.
    #[test]
    fn a_password_command_runs_once_per_process() {
        let dir = tempfile::tempdir().unwrap();
        let runs = dir.path().join("runs");
        let text = format!(
            "[repository.r]\nurl = \"/r\"\npassword-command = \"echo run >> {}; echo pw-once\"\n\n\
             [source.s]\nkind = \"files\"\nroot = \"/s\"\n",
            runs.display()
        );
        for _ in 0..3 {
            let config = crate::config::parse(&text).unwrap();
            let pw = config.repo_password("r", &config.repository["r"]).unwrap();
            assert_eq!(pw.expose(), "pw-once");
        }
        let text = std::fs::read_to_string(&runs).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
    }
}

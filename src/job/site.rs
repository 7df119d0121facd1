//! The site a job runs for: the loaded config, where the catalog lives, and the repositories
//! and servers the config names, resolved on demand (`config::resolve` does the resolving;
//! this caches what is costly, so a `password-command` runs once per repository).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context as _;
use sha2::{Digest, Sha256};

use crate::catalog::Catalog;
use crate::config::{self, Config, RepositoryConfig, SourceConfig};
use crate::repo::{KeepRules, Password, Policy, Repo, RepoKey, RepoSpec};
use crate::source::mysql::chain::BinlogChains;
use crate::source::mysql::Server;

pub struct Site {
    pub config: Config,
    /// The config text's SHA-256: which config made a snapshot.
    pub config_digest: String,
    /// The config file's mtime: that of the copies stored in snapshots.
    pub config_mtime: jiff::Timestamp,
    pub state_dir: PathBuf,
    /// Draw rustic's progress bars (a terminal, not `--quiet`/`--json`, not the daemon).
    pub progress: bool,
    /// How long a job waits for a conflicting repository lock.
    pub lock_wait: Duration,
    passwords: Mutex<HashMap<String, Password>>,
    /// Each repository's key once derived: deriving it (scrypt) is what opening costs.
    keys: Mutex<HashMap<String, RepoKey>>,
}

impl Site {
    /// Loads and validates the config at `path`.
    pub fn load(path: &Path, state_dir: PathBuf) -> anyhow::Result<Self> {
        let config = config::load(path)?;
        let text = std::fs::read(path).unwrap_or_default();
        let config_mtime = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| jiff::Timestamp::try_from(t).ok())
            .unwrap_or_else(jiff::Timestamp::now);
        Ok(Self {
            config,
            config_digest: hex::encode(Sha256::digest(&text)),
            config_mtime,
            state_dir,
            progress: false,
            lock_wait: RepoSpec::DEFAULT_LOCK_WAIT,
            passwords: Mutex::default(),
            keys: Mutex::default(),
        })
    }

    pub fn catalog(&self) -> anyhow::Result<Catalog> {
        Ok(Catalog::open(&self.state_dir)?)
    }

    /// This machine's name as snapshots record it.
    pub fn host(&self) -> String {
        self.config.host.clone().unwrap_or_else(crate::host_name)
    }

    /// The repository backups go to: the one marked primary, or the only one.
    pub fn primary(&self) -> (&str, &RepositoryConfig) {
        self.config.primary()
    }

    /// Every repository except the primary: where copies go.
    pub fn targets(&self) -> Vec<&str> {
        self.config.targets()
    }

    /// A repository's spec, its password resolved once per site.
    pub fn spec(&self, name: &str) -> anyhow::Result<RepoSpec> {
        let cached = self
            .passwords
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned();
        let mut spec = self.config.repo_spec_with(name, cached)?;
        self.passwords
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), spec.password.clone());
        spec.progress = self.progress;
        spec.lock_wait = self.lock_wait;
        Ok(spec)
    }

    /// The keep rules of one repository.
    pub fn retention_of(&self, name: &str) -> KeepRules {
        self.config.retention_of(name)
    }

    /// A repository's retention: its keep rules, binlog chains following their fulls.
    pub fn policy<'a>(&self, rules: &'a KeepRules) -> Policy<'a> {
        Policy {
            rules,
            dependents: &BinlogChains,
        }
    }

    pub fn open_primary(&self) -> anyhow::Result<Repo> {
        let (name, _) = self.primary();
        self.open(name)
    }

    /// The repository named (a `--repo` flag), or the primary.
    pub fn open_repo(&self, name: Option<&str>) -> anyhow::Result<Repo> {
        match name {
            Some(n) => self.open(n),
            None => self.open_primary(),
        }
    }

    /// Opens a repository, deriving its key from the password the first time only.
    pub fn open(&self, name: &str) -> anyhow::Result<Repo> {
        let spec = self.spec(name)?;
        let keys = || self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let known = keys().get(name).cloned();
        let repo = match known {
            Some(key) => Repo::open_with_key(&spec, &key)?,
            None => Repo::open(&spec)?,
        };
        keys().insert(name.to_string(), repo.key());
        Ok(repo)
    }

    /// A path from the config, relative to the config file's folder.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        self.config.resolve_path(p)
    }

    pub fn source_root(&self, name: &str, src: &SourceConfig) -> anyhow::Result<PathBuf> {
        self.config.source_root(name, src)
    }

    pub fn mysql_server(
        &self,
        name: &str,
        src: &SourceConfig,
        restore_server: bool,
    ) -> anyhow::Result<Server> {
        self.config.mysql_server(name, src, restore_server)
    }

    pub fn mysql_password(&self, name: &str, src: &SourceConfig) -> anyhow::Result<Option<String>> {
        self.config.mysql_password(name, src)
    }

    /// The sources named, or all; an unknown name is an error listing the known ones.
    pub fn sources(&self, names: &[String]) -> anyhow::Result<Vec<(&str, &SourceConfig)>> {
        self.config.sources(names)
    }

    /// One configured source by name.
    pub fn source(&self, name: &str) -> anyhow::Result<(&str, &SourceConfig)> {
        self.sources(std::slice::from_ref(&name.to_string()))?
            .into_iter()
            .next()
            .context("no source")
    }

    /// The config as stored in every snapshot: secrets' sources removed, so a bare-metal
    /// restore can start from the repository alone without leaking how to unlock it.
    pub fn sanitized_config(&self) -> String {
        config::stored_text(&self.config)
    }
}

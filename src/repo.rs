//! The encrypted, deduplicated repository: the only module that names `rustic_core` types, so a
//! rustic_core upgrade (its API broke in every minor release from 0.8 to 0.13) touches one place.
//!
//! A dxbackup repository is a restic repository (format version 2): restic can list, check and
//! restore it. Never write an object restic cannot read.

/// `impl ReadBackend for $ty` handing every call to `self.inner`: the backends that wrap
/// another one (our local writer, the undo of a failed write, the tests' faulty backend)
/// change only how files are written.
macro_rules! forward_read_backend {
    ($ty:ty) => {
        impl rustic_core::ReadBackend for $ty {
            fn location(&self) -> String {
                self.inner.location()
            }
            fn list_with_size(
                &self,
                tpe: rustic_core::FileType,
            ) -> rustic_core::RusticResult<Vec<(rustic_core::Id, u32)>> {
                self.inner.list_with_size(tpe)
            }
            fn list(
                &self,
                tpe: rustic_core::FileType,
            ) -> rustic_core::RusticResult<Vec<rustic_core::Id>> {
                self.inner.list(tpe)
            }
            fn read_full(
                &self,
                tpe: rustic_core::FileType,
                id: &rustic_core::Id,
            ) -> rustic_core::RusticResult<bytes::Bytes> {
                self.inner.read_full(tpe, id)
            }
            fn read_partial(
                &self,
                tpe: rustic_core::FileType,
                id: &rustic_core::Id,
                cacheable: bool,
                offset: u32,
                length: u32,
            ) -> rustic_core::RusticResult<bytes::Bytes> {
                self.inner.read_partial(tpe, id, cacheable, offset, length)
            }
            fn warmup_path(&self, tpe: rustic_core::FileType, id: &rustic_core::Id) -> String {
                self.inner.warmup_path(tpe, id)
            }
            fn needs_warm_up(&self) -> bool {
                self.inner.needs_warm_up()
            }
            fn warm_up(
                &self,
                tpe: rustic_core::FileType,
                id: &rustic_core::Id,
            ) -> rustic_core::RusticResult<()> {
                self.inner.warm_up(tpe, id)
            }
        }
    };
}

mod backup;
mod copy;
mod key;
mod local;
mod location;
mod lock;
mod maintain;
mod opendal;
mod progress;
mod read;
mod relabel;
mod retention;
mod snapshot;
mod undo;

use std::path::Path;
use std::time::Duration;

use rustic_core::repofile::{MasterKey, SnapshotFile};
use rustic_core::RepositoryBackends;
use rustic_core::{
    CheckError, CheckErrorLevel, CheckOptions, ConfigOptions, Credentials, KeyOptions, OpenStatus,
    ReadSubsetOption, Repository, RepositoryOptions, RusticError,
};
use serde::Serialize;

pub use backup::{BackupRequest, BackupResult, Content, Stream};
pub use key::RepoKey;
pub use location::{BucketService, Location, LocationError};

pub use self::opendal::{
    claim_control_dir as claim_ssh_control_dir, has_connections as remote_connections_open,
    shutdown as close_remote_connections, user_state_home, user_state_home_for, HostKeys,
    RemoteOptions,
};
pub use copy::CopyResult;
use lock::LockKind;
pub use lock::{release_all as release_locks, LockError, LockInfo, Unlocked};
pub use read::{BlobRef, Entry, EntryKind, Meta, Reader};
pub use retention::{
    plan_retention, Dependents, Independent, KeepRules, Policy, RetentionDecision,
};
pub use snapshot::{Snapshot, Summary};

/// Tag every dxbackup snapshot carries, so our snapshots can be told from restic's.
pub const TAG: &str = "dxbackup";
/// Where the manifest lives inside every snapshot's tree.
pub const MANIFEST_DIR: &str = "/.dxbackup";
/// The target size of a new repository's data packs: restic's 16 MiB, not rustic's 32. rustic's
/// pack writer keeps about five packs in flight (its queue and three pipeline stages), so a copy
/// peaked at 317 MB RSS against restic copy's 243 MB on the 1 GB copy benchmark.
const DATAPACK_MIB: u64 = 16;

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("wrong password for repository `{name}` ({url}); check its password-file, password-command or DXBACKUP_PASSWORD")]
    WrongPassword { name: String, url: String },
    #[error("repository `{name}` ({url}) is not initialized; run 'dxbackup init'")]
    NotInitialized { name: String, url: String },
    #[error("no snapshot matches `{0}`; list them with 'dxbackup snapshots'")]
    NoSnapshot(String),
    #[error("`{0}` matches several snapshots; give more characters of the id")]
    AmbiguousSnapshot(String),
    /// The rustic error is shown through `display` only, not as an error source: its own
    /// Display is pages long (guidance, context, a backtrace) and `{:#}` would print it all.
    #[error("{context}: {}", display(inner))]
    Rustic {
        context: String,
        inner: Box<RusticError>,
    },
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

/// The short, user-facing text of a rustic error: its message and cause (its Display carries
/// pages of guidance around them).
fn display(e: &RusticError) -> String {
    let s = e.to_string();
    let after = |marker: &str| {
        s.split_once(marker)
            .and_then(|(_, rest)| rest.lines().find(|l| !l.trim().is_empty()))
            .map(str::trim)
    };
    let message = after("Message:").unwrap_or_else(|| s.lines().next().unwrap_or_default().trim());
    match after("Caused by:") {
        Some(cause) => format!("{message}: {cause}"),
        None => message.to_string(),
    }
}

type Result<T, E = RepoError> = std::result::Result<T, E>;

trait Context<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> Context<T> for std::result::Result<T, Box<RusticError>> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|inner| RepoError::Rustic {
            context: context(),
            inner,
        })
    }
}

/// A secret: never printed, never in argv.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself, for the one place that hands it to a library.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(******)")
    }
}

/// Where a repository is and how to unlock it.
#[derive(Debug, Clone)]
pub struct RepoSpec {
    pub name: String,
    /// For display: the resolved path of a local repository, the URL of a remote one.
    pub url: String,
    pub password: Password,
    pub location: Location,
    pub remote: RemoteOptions,
    /// zstd level for a new repository (stored in its config, used by every writer).
    pub compression: i32,
    /// Draw progress bars on stderr (a terminal, not `--quiet`/`--json`, not the daemon).
    pub progress: bool,
    /// How long an operation waits for another program's conflicting lock before it fails
    /// ([`RepoSpec::DEFAULT_LOCK_WAIT`] unless configured).
    pub lock_wait: Duration,
}

impl RepoSpec {
    /// restic refreshes a held lock every 5 minutes; waiting as long lets a lock that is not
    /// refreshed any more be seen for what it is.
    pub const DEFAULT_LOCK_WAIT: Duration = lock::DEFAULT_WAIT;
}

/// An open repository.
pub struct Repo {
    pub name: String,
    pub url: String,
    spec: RepoSpec,
    /// Kept to reopen without paying for the key derivation again: indexing consumes a
    /// rustic `Repository`, and an open one cannot be cloned.
    key: MasterKey,
    inner: Repository<OpenStatus>,
}

/// One finding of a repository check.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub level: Level,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Data is damaged or missing.
    Error,
    Warning,
    /// Normal after an interrupted backup: packs written but never indexed. The next backup
    /// indexes and reuses them; a prune removes what stays unused.
    Info,
}

/// The storage behind a repository: rustic's local backend with private writes for paths,
/// ours over OpenDAL for remote URLs.
fn raw_backends(spec: &RepoSpec) -> Result<RepositoryBackends> {
    if spec.location.is_remote() {
        opendal::backend(&spec.name, &spec.location, &spec.remote)
    } else {
        local::backend(&spec.url)
    }
    .map(|be| RepositoryBackends::new(be, None))
    .ctx(|| format!("cannot use repository `{}` at {}", spec.name, spec.url))
}

fn backends(spec: &RepoSpec) -> Result<Repository<()>> {
    over(spec, &raw_backends(spec)?)
}

/// The repository of `spec` reached through `be` (its own backends, or a wrapper of them).
fn over(spec: &RepoSpec, be: &RepositoryBackends) -> Result<Repository<()>> {
    // A cache only helps remote repositories; for local ones it would copy every tree twice.
    let opts = RepositoryOptions::default().no_cache(true);
    Repository::new_with_progress(&opts, be, progress::Bars(spec.progress))
        .ctx(|| format!("cannot use repository `{}`", spec.name))
}

impl Repo {
    /// Whether a repository already exists at the spec's location.
    pub fn exists(spec: &RepoSpec) -> Result<bool> {
        if !spec.location.is_remote() && !Path::new(&spec.url).join("config").exists() {
            return Ok(false);
        }
        Ok(backends(spec)?
            .config_id()
            .ctx(|| format!("cannot read repository `{}`", spec.name))?
            .is_some())
    }

    /// Creates a repository; an existing one is opened instead (which checks the password),
    /// never overwritten. Returns whether it was created.
    pub fn init(spec: &RepoSpec) -> Result<(Self, bool)> {
        if Self::exists(spec)? {
            return Ok((Self::open(spec)?, false));
        }
        // A local repository's folder is made by its backend's `create`, private.
        let inner = backends(spec)?
            .init(
                &Credentials::password(&spec.password.0),
                &KeyOptions::default(),
                &ConfigOptions::default()
                    .set_compression(Some(spec.compression))
                    .set_datapack_size(Some(bytesize::ByteSize::mib(DATAPACK_MIB))),
            )
            .ctx(|| {
                format!(
                    "cannot initialize repository `{}` at {}",
                    spec.name, spec.url
                )
            })?;
        Ok((Self::wrap(spec, inner), true))
    }

    pub fn open(spec: &RepoSpec) -> Result<Self> {
        let repo = backends(spec)?;
        let not_init = || RepoError::NotInitialized {
            name: spec.name.clone(),
            url: spec.url.clone(),
        };
        if !spec.location.is_remote() && !Path::new(&spec.url).join("config").exists() {
            return Err(not_init());
        }
        // Kept to ask, if opening fails, whether there is a repository at all: rustic_core's
        // error for a missing config has no code, only a message that may change.
        let probe = repo.clone();
        // The costly part (scrypt, by design): a job does it once per repository (`Site`).
        tracing::debug!(repository = %spec.name, "deriving the repository key from its password");
        match repo.open(&Credentials::password(&spec.password.0)) {
            Ok(inner) => Ok(Self::wrap(spec, inner)),
            Err(e) if e.is_incorrect_password() => Err(RepoError::WrongPassword {
                name: spec.name.clone(),
                url: spec.url.clone(),
            }),
            Err(_) if matches!(probe.config_id(), Ok(None)) => Err(not_init()),
            Err(inner) => Err(RepoError::Rustic {
                context: format!("cannot open repository `{}`", spec.name),
                inner,
            }),
        }
    }

    fn wrap(spec: &RepoSpec, inner: Repository<OpenStatus>) -> Self {
        Self {
            name: spec.name.clone(),
            url: spec.url.clone(),
            spec: spec.clone(),
            key: inner.key(),
            inner,
        }
    }

    /// A second handle on the same repository, for operations that consume one.
    fn reopen(&self) -> Result<Repository<OpenStatus>> {
        backends(&self.spec)?
            .open(&Credentials::Masterkey(self.key.clone()))
            .ctx(|| format!("cannot reopen repository `{}`", self.name))
    }

    /// Every snapshot, oldest first.
    pub fn snapshots(&self) -> Result<Vec<Snapshot>> {
        let mut snaps: Vec<Snapshot> = self.raw_snapshots()?.iter().map(Snapshot::from).collect();
        snaps.sort_by(|a, b| a.time.cmp(&b.time).then(a.id.cmp(&b.id)));
        Ok(snaps)
    }

    fn raw_snapshots(&self) -> Result<Vec<SnapshotFile>> {
        self.inner
            .get_all_snapshots()
            .ctx(|| format!("cannot list snapshots of `{}`", self.name))
    }

    /// Resolves `latest`, `latest:SOURCE` or a (prefix of a) snapshot id.
    pub fn find_snapshot(&self, spec: &str, source: Option<&str>) -> Result<Snapshot> {
        let snaps = self.snapshots()?;
        find_snapshot(&snaps, spec, source).cloned()
    }

    /// Opens the full index for reading trees and file contents.
    pub fn reader(&self) -> Result<Reader> {
        let indexed = self
            .reopen()?
            .to_indexed()
            .ctx(|| format!("cannot read the index of `{}`", self.name))?;
        Ok(Reader::new(indexed))
    }

    /// Structure check, and with `read_data` a read of all (`None`) or a percentage of packs.
    ///
    /// Under a non-exclusive lock (restic's `check` takes an exclusive one): a verify must not
    /// wait for, or fail beside, a running backup, and needs no exclusivity against one:
    /// rustic reads snapshots, then the index, then lists packs, the reverse of the order a
    /// backup writes them in, so a concurrent backup shows at most as packs not yet indexed
    /// (`Level::Info`). The lock keeps out what would make findings up: a prune or forget
    /// deleting files under the check.
    pub fn check(&self, read_data: Option<Option<f64>>) -> Result<Vec<Finding>> {
        let _lock = self.lock(LockKind::Shared)?;
        let mut opts = CheckOptions::default();
        if let Some(pct) = read_data {
            opts = opts.read_data(true);
            if let Some(p) = pct {
                opts = opts.read_data_subset(ReadSubsetOption::Percentage(p));
            }
        }
        let results = self
            .inner
            .check(opts)
            .ctx(|| format!("cannot check repository `{}`", self.name))?;
        Ok(results
            .0
            .iter()
            .map(|(level, err)| {
                let level = match (level, err) {
                    (CheckErrorLevel::Error, _) => Level::Error,
                    // What a backup running beside the check, or one killed before it wrote
                    // its index, leaves: the next backup indexes it.
                    (
                        _,
                        CheckError::PackNotReferenced { .. }
                        | CheckError::HotPackNotReferenced { .. },
                    ) => Level::Info,
                    _ => Level::Warning,
                };
                Finding {
                    level,
                    message: err.to_string(),
                }
            })
            .collect())
    }
}

/// Resolves a snapshot spec against a list (oldest first).
pub fn find_snapshot<'a>(
    snaps: &'a [Snapshot],
    spec: &str,
    source: Option<&str>,
) -> Result<&'a Snapshot> {
    let (spec, source) = match spec.split_once(':') {
        Some(("latest", s)) => ("latest", Some(s)),
        _ => (spec, source),
    };
    let in_source = |s: &&Snapshot| source.is_none_or(|src| s.source.as_deref() == Some(src));
    if spec == "latest" {
        return snaps
            .iter()
            .rev()
            .filter(in_source)
            .find(|s| s.kind.as_deref() == Some("files") || source.is_some())
            .ok_or_else(|| {
                RepoError::NoSnapshot(source.map_or("latest".into(), |s| format!("latest:{s}")))
            });
    }
    // Every id starts with "": an empty spec would pick a repository's only snapshot.
    if spec.is_empty() {
        return Err(RepoError::NoSnapshot(spec.into()));
    }
    let matches: Vec<_> = snaps.iter().filter(|s| s.id.starts_with(spec)).collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(RepoError::NoSnapshot(spec.into())),
        _ => Err(RepoError::AmbiguousSnapshot(spec.into())),
    }
}

#[cfg(test)]
mod proptests;

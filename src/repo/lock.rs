//! Repository locks in restic's format, so that restic and dxbackup never meet unknowingly on
//! one repository: every writer leaves a lock object in `locks/` that restic reads, and honours
//! restic's. The facts followed are those of restic's `internal/restic/lock.go`, checked
//! against restic 0.14 (tests/it/locks.rs): any number of non-exclusive locks or one exclusive
//! lock; a lock is stale 30 minutes after its last refresh, or at once when it was made on this
//! host by a process that is gone; holders refresh every 5 minutes.
//!
//! rustic_core 0.13 has no lock support (its `FileType` has no lock type), so this module reads
//! and writes the lock files itself: the JSON and the rules here (pure, `now` passed in), the
//! encryption and the `locks/` folder in `store`, waiting and holding in `hold`.

mod hold;
mod host;
mod store;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::{local::PrivateLocal, opendal, Repo, RepoError, Result};

pub(super) use hold::{acquire, remove_locks, Locks, Wait};
pub use hold::{release_all, LockGuard};
use host::user_name;
pub(super) use host::{os_hostname, process_alive};
pub(super) use store::{Codec, LockDir};

/// A lock not refreshed for this long is stale, wherever its holder runs (restic's
/// `staleTimeout`).
pub const STALE_AFTER: Duration = Duration::from_secs(30 * 60);
/// How often a holder rewrites its lock (restic's `refreshInterval`).
pub const REFRESH_EVERY: Duration = Duration::from_secs(5 * 60);
/// How long an operation waits for a conflicting lock by default.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(5 * 60);

/// Non-exclusive (any number at once) or exclusive (nothing else at the same time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    Shared,
    Exclusive,
}

/// One lock object as restic writes it (`restic.Lock`), plus our own mark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockFile {
    /// Written with the local offset and fractional seconds, as Go's `time.Time` is.
    #[serde(with = "local_time")]
    pub time: Timestamp,
    pub exclusive: bool,
    #[serde(default)]
    pub hostname: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub pid: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub uid: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub gid: u32,
    /// The dxbackup version that wrote the lock; restic ignores fields it does not know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dxbackup: Option<String>,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// What a lock is checked against: the clock, this host's name, and which PIDs still live.
pub struct Here<'a> {
    pub now: Timestamp,
    pub hostname: &'a str,
    pub alive: &'a dyn Fn(i64) -> bool,
}

impl LockFile {
    /// A lock of this process, made now.
    pub fn mine(kind: LockKind) -> Self {
        // SAFETY: these calls only read the process's own ids; they cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        Self {
            time: Timestamp::now(),
            exclusive: kind == LockKind::Exclusive,
            hostname: os_hostname(),
            username: user_name(uid),
            pid: i64::from(std::process::id()),
            uid,
            gid,
            dxbackup: Some(env!("CARGO_PKG_VERSION").to_string()),
        }
    }

    /// restic's `Stale`: too old, or made on this host by a process that is gone. Locks of
    /// other hosts younger than [`STALE_AFTER`] are never stale: their PIDs mean nothing here.
    pub fn is_stale(&self, here: &Here<'_>) -> bool {
        if self.age(here.now) > STALE_AFTER {
            return true;
        }
        self.hostname == here.hostname && !(here.alive)(self.pid)
    }

    /// Whether taking a lock of `want` must wait for this one.
    pub fn conflicts_with(&self, want: LockKind) -> bool {
        want == LockKind::Exclusive || self.exclusive
    }

    /// Time since the last refresh; zero for a lock from a clock ahead of ours.
    pub fn age(&self, now: Timestamp) -> Duration {
        let d: SignedDuration = now.duration_since(self.time);
        Duration::try_from(d).unwrap_or(Duration::ZERO)
    }

    /// `restic` or `dxbackup 0.1.0`: who holds it.
    pub fn program(&self) -> String {
        match &self.dxbackup {
            Some(v) => format!("dxbackup {v}"),
            None => "restic".into(),
        }
    }
}

/// A lock found in `locks/`: its id and content, or why it could not be read.
#[derive(Debug, Clone)]
pub struct Found {
    pub id: String,
    pub lock: Result<LockFile, String>,
}

impl Found {
    /// Unreadable locks count as conflicting and never as stale: it is unknown who holds them
    /// (restic fails on them too, pointing to `unlock --remove-all`).
    fn conflicts_with(&self, want: LockKind) -> bool {
        self.lock.as_ref().map_or(true, |l| l.conflicts_with(want))
    }

    fn is_stale(&self, here: &Here<'_>) -> bool {
        self.lock.as_ref().is_ok_and(|l| l.is_stale(here))
    }
}

/// The locks among `found` that a request of `want` must wait for, and those that are stale
/// (and may be removed). Stale locks never block: a live holder would have refreshed.
pub fn sort_out<'a>(
    found: &'a [Found],
    want: LockKind,
    here: &Here<'_>,
) -> (Vec<&'a Found>, Vec<&'a Found>) {
    let (stale, live): (Vec<_>, Vec<_>) = found.iter().partition(|f| f.is_stale(here));
    let blocking = live
        .into_iter()
        .filter(|f| f.conflicts_with(want))
        .collect();
    (blocking, stale)
}

/// The holder of a lock, for messages: `restic (exclusive, PID 42 on host db1, user root, 3m 2s old)`.
pub struct Holder<'a>(pub &'a Found, pub Timestamp);

impl fmt::Display for Holder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = &self.0.id[..8.min(self.0.id.len())];
        match &self.0.lock {
            Err(e) => write!(f, "an unreadable lock {short} ({e})"),
            Ok(l) => write!(
                f,
                "{} ({}, PID {} on host {}, user {}, {} old; lock {short})",
                l.program(),
                if l.exclusive {
                    "exclusive"
                } else {
                    "non-exclusive"
                },
                l.pid,
                l.hostname,
                l.username,
                age_text(l.age(self.1)),
            ),
        }
    }
}

/// `3m 2s`: whole seconds are enough for a lock's age.
pub fn age_text(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("repository `{repo}` is locked by {holder}; gave up after waiting {waited}: {hint}")]
    Locked {
        repo: String,
        holder: String,
        waited: String,
        hint: String,
    },
    #[error("cannot {what} in `locks/` of repository `{repo}`: {cause}; check that the repository is reachable and writable")]
    Storage {
        repo: String,
        what: String,
        cause: String,
    },
}

/// What to tell the user about a lock they waited for in vain.
pub fn hint(found: &Found, here: &Here<'_>) -> String {
    match &found.lock {
        Err(_) => "if no other program uses the repository, remove it with 'dxbackup unlock --remove-all'".into(),
        Ok(l) if l.hostname == here.hostname => format!(
            "wait for it to finish (PID {} is running on this host), or stop it; if that process is gone run 'dxbackup unlock'",
            l.pid
        ),
        Ok(_) => "wait for it to finish, or if that process is gone run 'dxbackup unlock' (its lock \
                  is stale 30 minutes after its last refresh; 'dxbackup unlock --remove-all' \
                  removes it at once)"
            .into(),
    }
}

impl Repo {
    /// Takes a lock of `kind`, waiting for a conflicting one up to the spec's `lock_wait`.
    /// Every method that writes takes one, so that no caller can forget to.
    pub(super) fn lock(&self, kind: LockKind) -> Result<LockGuard> {
        self.lock_waiting(kind, Wait::Up(self.spec.lock_wait))
    }

    pub(super) fn lock_waiting(&self, kind: LockKind, wait: Wait) -> Result<LockGuard> {
        Ok(acquire(self.lock_dir()?, kind, wait, REFRESH_EVERY)?)
    }

    /// The repository's `locks/`, through the same storage as the rest of it.
    fn lock_dir(&self) -> Result<Locks> {
        let spec = &self.spec;
        let dir: Arc<dyn LockDir> = if spec.location.is_remote() {
            Arc::new(
                opendal::shared_backend(&spec.name, &spec.location, &spec.remote).map_err(
                    |inner| RepoError::Rustic {
                        context: format!("cannot reach repository `{}`", spec.name),
                        inner,
                    },
                )?,
            )
        } else {
            Arc::new(
                PrivateLocal::open(&spec.url).map_err(|inner| RepoError::Rustic {
                    context: format!("cannot use repository `{}`", spec.name),
                    inner,
                })?,
            )
        };
        Ok(Locks {
            dir,
            codec: Arc::new(Codec::new(&self.key)),
            repo: spec.name.clone(),
        })
    }

    /// Removes the stale locks, or with `all` every lock (also those of running processes).
    pub fn unlock(&self, all: bool) -> Result<Unlocked> {
        let (removed, kept) = remove_locks(&self.lock_dir()?, all)?;
        let hostname = os_hostname();
        let here = Here {
            now: Timestamp::now(),
            hostname: &hostname,
            alive: &process_alive,
        };
        let info = |v: Vec<Found>| v.iter().map(|f| LockInfo::of(f, &here)).collect();
        Ok(Unlocked {
            removed: info(removed),
            kept: info(kept),
        })
    }
}

/// What `unlock` did.
#[derive(Debug, Clone, Serialize)]
pub struct Unlocked {
    pub removed: Vec<LockInfo>,
    /// Locks still held by live processes.
    pub kept: Vec<LockInfo>,
}

/// One lock as shown to users.
#[derive(Debug, Clone, Serialize)]
pub struct LockInfo {
    pub id: String,
    /// `restic` or `dxbackup 0.1.0`; none when the lock cannot be read.
    pub program: Option<String>,
    pub exclusive: Option<bool>,
    pub hostname: Option<String>,
    pub username: Option<String>,
    pub pid: Option<i64>,
    pub time: Option<Timestamp>,
    pub age_secs: Option<u64>,
    pub stale: bool,
    /// Why the lock cannot be read.
    pub unreadable: Option<String>,
    /// The whole of it in one line.
    pub holder: String,
}

impl LockInfo {
    fn of(f: &Found, here: &Here<'_>) -> Self {
        let l = f.lock.as_ref().ok();
        Self {
            id: f.id.clone(),
            program: l.map(LockFile::program),
            exclusive: l.map(|l| l.exclusive),
            hostname: l.map(|l| l.hostname.clone()),
            username: l.map(|l| l.username.clone()),
            pid: l.map(|l| l.pid),
            time: l.map(|l| l.time),
            age_secs: l.map(|l| l.age(here.now).as_secs()),
            stale: f.is_stale(here),
            unreadable: f.lock.as_ref().err().cloned(),
            holder: Holder(f, here.now).to_string(),
        }
    }
}

/// Go's `time.Time` JSON: RFC 3339 with fractional seconds and the local offset.
mod local_time {
    use jiff::{tz::TimeZone, Timestamp};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        let offset = TimeZone::system().to_offset(*t);
        s.collect_str(&t.display_with_offset(offset))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

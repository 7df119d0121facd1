//! Remote repositories (SFTP, S3, OSS, COS): our own small rustic backend over OpenDAL, with only
//! the services we ship (rustic_backend's bundled one drags ~25 services in). Adapted from
//! rustic_backend 0.7.0's `opendal.rs`, the reference for how rustic expects a backend to act.
//!
//! Two process-wide things live here, both torn down by [`shutdown`]:
//! - one tokio runtime that every blocking operator runs on;
//! - one operator per repository: OpenDAL's SFTP service starts an `ssh` ControlMaster per
//!   pooled connection, so opening a repository again must not start more of them, and every
//!   one of them must be told to exit before dxbackup does.

mod build;
mod ssh;

pub use ssh::{claim_control_dir, user_state_home, user_state_home_for};

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use opendal::blocking::Operator;
use opendal::options::{ListOptions, ReadOptions, WriteOptions};
use rustic_core::{
    BytesList, ErrorKind, FileType, Id, ReadBackend, RusticError, RusticResult, WriteBackend,
    ALL_FILE_TYPES,
};
use tokio::runtime::Runtime;

use super::Location;
use super::Password;

/// SSH host key checking, as OpenSSH's `StrictHostKeyChecking` (the strategies OpenDAL offers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HostKeys {
    /// The host key must already be in known_hosts.
    #[default]
    Strict,
    /// Trust on first use: unknown keys are added, changed keys refused.
    AddNew,
    /// No checking at all: only for throwaway test servers.
    Accept,
}

/// How to reach a remote repository, beyond its URL. Secrets stay in [`Password`]s.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub path_style: Option<bool>,
    /// Bucket credentials: key id and secret.
    pub credentials: Option<(String, Password)>,
    pub ssh_key: Option<PathBuf>,
    pub known_hosts: HostKeys,
    /// Per request; a stalled request is abandoned and retried.
    pub timeout: Duration,
    pub retries: usize,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        Self {
            endpoint: None,
            region: None,
            path_style: None,
            credentials: None,
            ssh_key: None,
            known_hosts: HostKeys::default(),
            timeout: Duration::from_secs(60),
            retries: 5,
        }
    }
}

struct Shared {
    runtime: Runtime,
    operators: HashMap<String, Operator>,
    /// This process's own folder for `ssh` control sockets (see `ssh::control_dir`).
    control_dir: Option<PathBuf>,
}

static SHARED: Mutex<Option<Shared>> = Mutex::new(None);

/// The backend of a remote repository, sharing the process's one operator for it.
pub fn backend(
    name: &str,
    location: &Location,
    opts: &RemoteOptions,
) -> RusticResult<Arc<dyn WriteBackend>> {
    Ok(Arc::new(shared_backend(name, location, opts)?))
}

/// The same, unboxed: also what `lock` reads and writes `locks/` through.
pub(super) fn shared_backend(
    name: &str,
    location: &Location,
    opts: &RemoteOptions,
) -> RusticResult<OpenDalBackend> {
    let key = format!("{name}\n{location:?}");
    let mut guard = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if guard.is_none() {
        let control_dir = ssh::control_dir();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("dxbackup-io")
            .enable_all()
            .build()
            .map_err(|e| {
                RusticError::with_source(ErrorKind::Backend, "cannot start I/O runtime", e)
            })?;
        *guard = Some(Shared {
            runtime,
            operators: HashMap::new(),
            control_dir,
        });
    }
    let shared = guard.as_mut().expect("initialized above");
    let operator = match shared.operators.get(&key) {
        Some(op) => op.clone(),
        None => {
            let _enter = shared.runtime.enter();
            let op = build::operator(location, opts).map_err(|e| {
                RusticError::with_source(ErrorKind::Backend, "cannot reach repository `{name}`", e)
                    .attach_context("name", name.to_string())
            })?;
            shared.operators.insert(key, op.clone());
            op
        }
    };
    Ok(OpenDalBackend {
        operator,
        object_store: location.bucket_service().is_some(),
        label: name.to_string(),
    })
}

/// Whether any remote repository has been opened (so there are connections to close).
pub fn has_connections() -> bool {
    SHARED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .is_some_and(|s| !s.operators.is_empty())
}

/// Closes every remote connection: drops the operators, so each pooled SFTP connection asks
/// its `ssh` master to exit; waits for that; tells any master still running to exit itself;
/// then stops the runtime. Call before the process exits; later remote access opens anew.
pub fn shutdown() {
    let shared = SHARED.lock().unwrap_or_else(|e| e.into_inner()).take();
    let Some(Shared {
        runtime,
        operators,
        control_dir,
    }) = shared
    else {
        return;
    };
    drop(operators);
    if let Some(dir) = &control_dir {
        ssh::close_masters(dir);
    }
    runtime.shutdown_timeout(Duration::from_secs(5));
    if let Some(dir) = control_dir {
        // A connection still being set up when the runtime stopped has an `ssh` without a
        // socket yet; it is ours by the folder on its command line.
        ssh::stop_strays(&dir);
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// A rustic backend over one OpenDAL operator. Clones share the operator.
#[derive(Clone, Debug)]
pub(super) struct OpenDalBackend {
    pub(super) operator: Operator,
    /// Buckets have no folders: creating `data/00/` there only adds empty marker objects.
    object_store: bool,
    label: String,
}

fn path(tpe: FileType, id: &Id) -> String {
    let hex = id.to_hex();
    match tpe {
        FileType::Config => "config".into(),
        FileType::Pack => format!("data/{}/{}", &hex[0..2], &*hex),
        _ => format!("{}/{}", tpe.dirname(), &*hex),
    }
}

/// A backend error that names the operation and the root cause (`Connection refused`, an S3
/// error code) in one line; OpenDAL's own Display is a paragraph of context.
pub(super) fn backend_error(what: &str, path: &str, err: opendal::Error) -> Box<RusticError> {
    let mut cause: &dyn std::error::Error = &err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let cause = if std::ptr::addr_eq(cause, &err) {
        err.to_string()
    } else {
        format!("{} ({})", cause, err.kind())
    };
    RusticError::new(ErrorKind::Backend, "{what} `{path}` failed: {cause}")
        .attach_context("what", what.to_string())
        .attach_context("path", path.to_string())
        .attach_context("cause", cause)
}

impl ReadBackend for OpenDalBackend {
    fn location(&self) -> String {
        let info = self.operator.info();
        format!("opendal:{}:{}{}", info.scheme(), info.name(), info.root())
    }

    fn list_with_size(&self, tpe: FileType) -> RusticResult<Vec<(Id, u32)>> {
        if tpe == FileType::Config {
            return match self.operator.stat("config") {
                Ok(meta) => Ok(vec![(
                    Id::default(),
                    u32::try_from(meta.content_length()).unwrap_or(u32::MAX),
                )]),
                Err(e) if e.kind() == opendal::ErrorKind::NotFound => Ok(Vec::new()),
                Err(e) => Err(backend_error("reading", "config", e)),
            };
        }
        let dir = format!("{}/", tpe.dirname());
        let opts = ListOptions {
            recursive: true,
            ..Default::default()
        };
        let lister = match self.operator.lister_options(&dir, opts) {
            Ok(l) => l,
            // An empty bucket prefix is not an error: nothing of that type yet.
            Err(e) if e.kind() == opendal::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(backend_error("listing", &dir, e)),
        };
        let mut out = Vec::new();
        for entry in lister {
            // A listing that breaks off must fail, never look like a shorter list: `copy`
            // would then resend data and `check` would miss packs.
            let entry = entry.map_err(|e| backend_error("listing", &dir, e))?;
            let meta = entry.metadata();
            if !meta.is_file() {
                continue;
            }
            // Leftover temporary uploads and other strangers are not repository files.
            let Some(id) = Id::parse_some(entry.name(), tpe) else {
                continue;
            };
            let size = u32::try_from(meta.content_length()).map_err(|e| {
                RusticError::with_source(ErrorKind::Backend, "file `{path}` is too big", e)
                    .attach_context("path", entry.path().to_string())
            })?;
            out.push((id, size));
        }
        Ok(out)
    }

    fn read_full(&self, tpe: FileType, id: &Id) -> RusticResult<Bytes> {
        let p = path(tpe, id);
        self.operator
            .read(&p)
            .map(|b| b.to_bytes())
            .map_err(|e| backend_error("reading", &p, e))
    }

    fn read_partial(
        &self,
        tpe: FileType,
        id: &Id,
        _cacheable: bool,
        offset: u32,
        length: u32,
    ) -> RusticResult<Bytes> {
        let p = path(tpe, id);
        let range = u64::from(offset)..u64::from(offset) + u64::from(length);
        let opts = ReadOptions {
            range: range.into(),
            ..Default::default()
        };
        self.operator
            .read_options(&p, opts)
            .map(|b| b.to_bytes())
            .map_err(|e| backend_error("reading", &p, e))
    }

    fn warmup_path(&self, tpe: FileType, id: &Id) -> String {
        let root = self.operator.info().root();
        let root = root.trim_matches('/');
        if root.is_empty() {
            path(tpe, id)
        } else {
            format!("{root}/{}", path(tpe, id))
        }
    }
}

impl WriteBackend for OpenDalBackend {
    fn create(&self) -> RusticResult<()> {
        if self.object_store {
            return Ok(());
        }
        let mut dirs: Vec<String> = ALL_FILE_TYPES
            .iter()
            .map(|t| format!("{}/", t.dirname()))
            .collect();
        dirs.extend((0u8..=255).map(|i| format!("data/{:02x}/", i)));
        for d in dirs {
            self.operator
                .create_dir(&d)
                .map_err(|e| backend_error("creating folder", &d, e))?;
        }
        Ok(())
    }

    /// Object stores replace an object atomically; on SFTP a file is written under a temporary
    /// name and renamed, so a connection that dies mid-upload never leaves a truncated index
    /// or snapshot file that restic or rustic would then choke on.
    fn write_bytes(
        &self,
        tpe: FileType,
        id: &Id,
        _cacheable: bool,
        content: BytesList,
    ) -> RusticResult<()> {
        self.put(&path(tpe, id), content.into_vec())
    }

    fn remove(&self, tpe: FileType, id: &Id, _cacheable: bool) -> RusticResult<()> {
        let p = path(tpe, id);
        tracing::debug!(repository = %self.label, path = %p, "removing");
        self.operator
            .delete(&p)
            .map_err(|e| backend_error("removing", &p, e))
    }
}

impl OpenDalBackend {
    /// Writes `p` whole: at once on object stores, which replace an object atomically; on SFTP
    /// under a temporary name, then renamed.
    pub(super) fn put(&self, p: &str, buf: Vec<Bytes>) -> RusticResult<()> {
        if self.object_store {
            self.operator
                .write_options(p, buf, WriteOptions::default())
                .map_err(|e| backend_error("writing", p, e))?;
            return Ok(());
        }
        // restic's own sftp backend uses the same `-tmp-` naming; listings skip such names.
        let tmp = format!("{p}-tmp-{}", &*Id::random().to_hex());
        let result = self
            .stream(&tmp, buf)
            .and_then(|_| self.operator.rename(&tmp, p));
        if let Err(e) = result {
            let _ = self.operator.delete(&tmp);
            return Err(backend_error("writing", p, e));
        }
        Ok(())
    }

    /// Writes `buf` to `p` in pieces of about [`PIECE`], each piece's parts dropped once
    /// copied into it. OpenDAL's SFTP writer sends one WRITE per piece it is given, and a pack
    /// arrives as thousands of parts (a blob header, a blob...): 2.7 million writes of ~255
    /// bytes for a 771 MB copy. Joining the whole pack first (as this did) held a second copy
    /// of it, tens of MB more peak memory per pack in flight.
    fn stream(&self, p: &str, buf: Vec<Bytes>) -> opendal::Result<()> {
        let mut w = self.operator.writer(p)?;
        let mut piece = bytes::BytesMut::with_capacity(PIECE);
        for part in buf {
            piece.extend_from_slice(&part);
            drop(part);
            if piece.len() >= PIECE {
                w.write(piece.split().freeze())?;
            }
        }
        if !piece.is_empty() {
            w.write(piece.freeze())?;
        }
        w.close()?;
        Ok(())
    }
}

/// How much of a file goes to the SFTP server in one write.
const PIECE: usize = 1 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_restic_layout() {
        let id: Id = "03dc1178e4e54f69beaf35dd9d4256a5a600e9fa3452b9db80bd649938923e67"
            .parse()
            .unwrap();
        assert_eq!(path(FileType::Config, &id), "config");
        assert_eq!(
            path(FileType::Pack, &id),
            "data/03/03dc1178e4e54f69beaf35dd9d4256a5a600e9fa3452b9db80bd649938923e67"
        );
        assert!(path(FileType::Snapshot, &id).starts_with("snapshots/03dc"));
        assert!(path(FileType::Index, &id).starts_with("index/"));
        assert!(path(FileType::Key, &id).starts_with("keys/"));
    }
}

//! Taking back what a failed write operation wrote (a backup, a copy, a prune), most often
//! because the repository's disk is full. Two things would stay behind otherwise:
//!
//! - Whole packs no index names: invisible to readers, but holding their space until a
//!   prune, which needs space itself; and the next backup uploads their data again, so a
//!   disk that was full stays full (a 64 MiB disk: one 33 MiB pack of a failed backup).
//! - A half-written `-tmp-` pack: rustic_core writes packs on threads of its own that outlive
//!   the failed operation, and the process exits under a write in flight.
//!
//! [`Undo`] sits between rustic and the backend: once the operation has failed, it refuses
//! further writes and waits for those in flight (each removes its own temporary file when it
//! fails). If a write failed for lack of space, it then removes the packs written since the
//! last index or snapshot file. After any other failure (a network cut, Ctrl-C) they stay: the
//! next copy indexes them and sends only the rest (`recover_interrupted`), a prune removes
//! what stays unused.
//!
//! Why removing them is safe: a pack is only ever referred to through an index file, and
//! another process can only use blobs it found in one. A pack finished before the operation
//! wrote an index file may be named in it, so every such pack is kept: when any other file
//! has been written, the packs recorded before its write started are forgotten (an index is
//! serialized before it is written, and a pack is added to the indexer only after its write
//! returned, so after it was recorded here). An index that failed to be written names nothing.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use rustic_core::{
    BytesList, Credentials, ErrorKind, FileType, Id, OpenStatus, Repository, RepositoryBackends,
    RusticError, RusticResult, WriteBackend,
};

use super::{raw_backends, Context, Repo, Result};

/// A backend that remembers the packs an operation wrote, so a failed one can remove them.
#[derive(Debug)]
pub(super) struct Undo {
    inner: Arc<dyn WriteBackend>,
    state: Mutex<State>,
    idle: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// The operation failed: nothing more is written.
    closed: bool,
    in_flight: usize,
    /// Packs written that no index file written since can name: (sequence number, id, size).
    packs: Vec<(u64, Id, u64)>,
    /// The sequence number of the next pack recorded.
    next: u64,
    /// A write failed because the disk (or the quota) is full.
    out_of_space: bool,
    /// Bytes of every file written (packs, index and snapshot files).
    written: u64,
}

impl Repo {
    /// This repository opened again through an [`Undo`], for one write operation.
    pub(super) fn reopen_undoable(&self) -> Result<(Repository<OpenStatus>, Arc<Undo>)> {
        let be = raw_backends(&self.spec)?;
        let undo = Undo::wrap(be.repository());
        let repo = super::over(
            &self.spec,
            &RepositoryBackends::new(undo.clone(), be.repo_hot()),
        )?
        .open(&Credentials::Masterkey(self.key.clone()))
        .ctx(|| format!("cannot reopen repository `{}`", self.name))?;
        Ok((repo, undo))
    }
}

impl Undo {
    pub(super) fn wrap(inner: Arc<dyn WriteBackend>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            state: Mutex::default(),
            idle: Condvar::new(),
        })
    }

    /// Bytes of the files written through this so far: a copy's throughput for the user.
    pub(super) fn written(&self) -> u64 {
        self.state().written
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The operation on `repository` failed: stops its writes, waits for those in flight and,
    /// if the disk is full, removes the packs only it knows of. Errors are logged: the
    /// operation's own error is the one to report.
    pub(super) fn abandon(&self, repository: &str) {
        let mut state = self.state();
        state.closed = true;
        while state.in_flight > 0 {
            state = self.idle.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        let packs = if state.out_of_space {
            std::mem::take(&mut state.packs)
        } else {
            Vec::new()
        };
        drop(state);
        let (mut removed, mut bytes) = (0usize, 0u64);
        for (_, id, size) in &packs {
            match self.inner.remove(FileType::Pack, id, false) {
                Ok(()) => {
                    removed += 1;
                    bytes += size;
                }
                Err(e) => tracing::warn!(
                    repository,
                    pack = %id,
                    "cannot remove a pack of the failed operation (a prune will): {}",
                    super::display(&e)
                ),
            }
        }
        if removed > 0 {
            tracing::info!(
                repository,
                packs = removed,
                bytes,
                "removed the packs the failed operation wrote"
            );
        }
    }
}

forward_read_backend!(Undo);

impl WriteBackend for Undo {
    fn create(&self) -> RusticResult<()> {
        self.inner.create()
    }

    fn write_bytes(
        &self,
        tpe: FileType,
        id: &Id,
        cacheable: bool,
        content: BytesList,
    ) -> RusticResult<()> {
        let size = content.size() as u64;
        let recorded_before = {
            let mut state = self.state();
            if state.closed {
                return Err(RusticError::new(
                    ErrorKind::Backend,
                    "not writing `{id}`: the operation failed and is being undone",
                )
                .attach_context("id", id.to_hex().to_string()));
            }
            state.in_flight += 1;
            state.next
        };
        let result = self.inner.write_bytes(tpe, id, cacheable, content);
        let mut state = self.state();
        state.in_flight -= 1;
        if result.is_ok() {
            state.written += size;
        }
        match (&result, tpe) {
            (Err(e), _) => state.out_of_space |= no_space(e),
            (Ok(()), FileType::Pack) => {
                let seq = state.next;
                state.next += 1;
                state.packs.push((seq, *id, size));
            }
            (Ok(()), _) => state.packs.retain(|p| p.0 >= recorded_before),
        }
        if state.in_flight == 0 {
            self.idle.notify_all();
        }
        result
    }

    fn remove(&self, tpe: FileType, id: &Id, cacheable: bool) -> RusticResult<()> {
        self.inner.remove(tpe, id, cacheable)
    }
}

/// Whether `e` comes down to ENOSPC or EDQUOT.
fn no_space(e: &RusticError) -> bool {
    use std::io::ErrorKind as Io;
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            if matches!(io.kind(), Io::StorageFull | Io::QuotaExceeded) {
                return true;
            }
        }
        cause = c.source();
    }
    false
}

#[cfg(test)]
mod tests;

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
//! further writes, waits for those in flight (each removes its own temporary file when it
//! fails), then removes the packs written since the last index or snapshot file.
//!
//! Why removing them is safe: a pack is only ever referred to through an index file, and
//! another process can only use blobs it found in one. A pack finished before the operation
//! wrote an index file may be named in it, so every such pack is kept: when any other file
//! has been written, the packs recorded before its write started are forgotten (an index is
//! serialized before it is written, and a pack is added to the indexer only after its write
//! returned, so after it was recorded here). An index that failed to be written names nothing.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use bytes::Bytes;
use rustic_core::{
    BytesList, Credentials, ErrorKind, FileType, Id, OpenStatus, ReadBackend, Repository,
    RepositoryBackends, RepositoryOptions, RusticError, RusticResult, WriteBackend,
};

use super::{progress, raw_backends, Context, Repo, Result};

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
}

impl Repo {
    /// This repository opened again through an [`Undo`], for one write operation.
    pub(super) fn reopen_undoable(&self) -> Result<(Repository<OpenStatus>, Arc<Undo>)> {
        let be = raw_backends(&self.spec)?;
        let (repo, undo) = self.open_through(Undo::wrap(be.repository()), be.repo_hot())?;
        Ok((repo, undo))
    }

    /// This repository opened through `undo` (which wraps its backend, or a wrapper of it).
    pub(super) fn open_through(
        &self,
        undo: Arc<Undo>,
        hot: Option<Arc<dyn WriteBackend>>,
    ) -> Result<(Repository<OpenStatus>, Arc<Undo>)> {
        let be = RepositoryBackends::new(undo.clone(), hot);
        let opts = RepositoryOptions::default().no_cache(true);
        let repo = Repository::new_with_progress(&opts, &be, progress::Bars(self.spec.progress))
            .and_then(|r| r.open(&Credentials::Masterkey(self.key.clone())))
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

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The operation on `repository` failed: stops its writes, waits for those in flight and
    /// removes the packs only it knows of. Errors are logged: the operation's own error is
    /// the one to report.
    pub(super) fn abandon(&self, repository: &str) {
        let mut state = self.state();
        state.closed = true;
        while state.in_flight > 0 {
            state = self.idle.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        let packs = std::mem::take(&mut state.packs);
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

impl ReadBackend for Undo {
    fn location(&self) -> String {
        self.inner.location()
    }
    fn list_with_size(&self, tpe: FileType) -> RusticResult<Vec<(Id, u32)>> {
        self.inner.list_with_size(tpe)
    }
    fn list(&self, tpe: FileType) -> RusticResult<Vec<Id>> {
        self.inner.list(tpe)
    }
    fn read_full(&self, tpe: FileType, id: &Id) -> RusticResult<Bytes> {
        self.inner.read_full(tpe, id)
    }
    fn read_partial(
        &self,
        tpe: FileType,
        id: &Id,
        cacheable: bool,
        offset: u32,
        length: u32,
    ) -> RusticResult<Bytes> {
        self.inner.read_partial(tpe, id, cacheable, offset, length)
    }
    fn warmup_path(&self, tpe: FileType, id: &Id) -> String {
        self.inner.warmup_path(tpe, id)
    }
    fn needs_warm_up(&self) -> bool {
        self.inner.needs_warm_up()
    }
    fn warm_up(&self, tpe: FileType, id: &Id) -> RusticResult<()> {
        self.inner.warm_up(tpe, id)
    }
}

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
        match (&result, tpe) {
            (Err(_), _) => {}
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

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> (tempfile::TempDir, Arc<dyn WriteBackend>) {
        let dir = tempfile::tempdir().unwrap();
        let be = super::super::local::backend(dir.path().join("r").to_str().unwrap()).unwrap();
        be.create().unwrap();
        (dir, be)
    }

    fn write(be: &Undo, tpe: FileType) -> RusticResult<Id> {
        let id = Id::random();
        be.write_bytes(tpe, &id, false, Bytes::from("x").into())
            .map(|()| id)
    }

    #[test]
    fn abandon_removes_the_packs_no_index_written_since_names_and_refuses_more() {
        let (_dir, be) = local();
        let undo = Undo::wrap(be.clone());
        let indexed = write(&undo, FileType::Pack).unwrap();
        write(&undo, FileType::Index).unwrap();
        let orphans = [
            write(&undo, FileType::Pack).unwrap(),
            write(&undo, FileType::Pack).unwrap(),
        ];
        undo.abandon("r");
        assert_eq!(be.list(FileType::Pack).unwrap(), [indexed]);
        assert!(orphans
            .iter()
            .all(|o| be.read_full(FileType::Pack, o).is_err()));
        assert!(write(&undo, FileType::Pack).is_err(), "closed");
        assert_eq!(be.list(FileType::Pack).unwrap(), [indexed]);
    }

    /// A backend whose index writes fail, as on a full disk.
    #[derive(Debug)]
    struct NoIndex(Arc<dyn WriteBackend>);

    impl ReadBackend for NoIndex {
        fn location(&self) -> String {
            self.0.location()
        }
        fn list_with_size(&self, tpe: FileType) -> RusticResult<Vec<(Id, u32)>> {
            self.0.list_with_size(tpe)
        }
        fn read_full(&self, tpe: FileType, id: &Id) -> RusticResult<Bytes> {
            self.0.read_full(tpe, id)
        }
        fn read_partial(
            &self,
            tpe: FileType,
            id: &Id,
            cacheable: bool,
            offset: u32,
            length: u32,
        ) -> RusticResult<Bytes> {
            self.0.read_partial(tpe, id, cacheable, offset, length)
        }
        fn warmup_path(&self, tpe: FileType, id: &Id) -> String {
            self.0.warmup_path(tpe, id)
        }
    }

    impl WriteBackend for NoIndex {
        fn create(&self) -> RusticResult<()> {
            self.0.create()
        }
        fn write_bytes(
            &self,
            tpe: FileType,
            id: &Id,
            cacheable: bool,
            content: BytesList,
        ) -> RusticResult<()> {
            if tpe == FileType::Index {
                return Err(RusticError::new(ErrorKind::InputOutput, "disk full"));
            }
            self.0.write_bytes(tpe, id, cacheable, content)
        }
        fn remove(&self, tpe: FileType, id: &Id, cacheable: bool) -> RusticResult<()> {
            self.0.remove(tpe, id, cacheable)
        }
    }

    #[test]
    fn an_index_that_failed_to_be_written_names_no_pack() {
        let (_dir, be) = local();
        let undo = Undo::wrap(Arc::new(NoIndex(be.clone())));
        write(&undo, FileType::Pack).unwrap();
        assert!(write(&undo, FileType::Index).is_err());
        undo.abandon("r");
        assert_eq!(be.list(FileType::Pack).unwrap(), []);
    }

    #[test]
    fn a_finished_operation_has_nothing_to_take_back() {
        let (_dir, be) = local();
        let undo = Undo::wrap(be.clone());
        let pack = write(&undo, FileType::Pack).unwrap();
        write(&undo, FileType::Index).unwrap();
        write(&undo, FileType::Snapshot).unwrap();
        undo.abandon("r");
        assert_eq!(be.list(FileType::Pack).unwrap(), [pack]);
    }
}

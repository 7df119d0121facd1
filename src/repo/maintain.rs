//! Writes that are not backups: forgetting and pruning, removing a bad snapshot, indexing what
//! an interrupted backup left. Each takes the lock restic would take for it (see `lock.rs`).

use std::collections::HashSet;
use std::time::Duration;

use rustic_core::repofile::SnapshotFile;
use rustic_core::{PruneOptions, RepairIndexOptions};

use super::lock::{LockKind, Wait};
use super::{Context, LockError, Repo, RepoError, Result, Snapshot};

impl Repo {
    /// Adds packs that were written but never indexed (a backup killed mid-way) to the index,
    /// so their data is reused instead of uploaded again.
    ///
    /// Exclusive, as restic's `repair index`: rustic's repair lists the packs, then rewrites
    /// and removes every index file that names a pack it did not list, so a backup writing
    /// meanwhile would lose its new packs from the index.
    pub fn recover_interrupted(&self) -> Result<()> {
        let _lock = self.lock(LockKind::Exclusive)?;
        self.inner
            .repair_index(&RepairIndexOptions::default(), false)
            .ctx(|| {
                format!(
                    "cannot index the leftovers of an interrupted backup in `{}`",
                    self.name
                )
            })
    }

    /// Removes snapshots; with `prune`, also the data only they referenced.
    ///
    /// Exclusive, as restic's `forget` and `prune`, with or without prune: a prune must see no
    /// backup in flight (its new blobs are referenced by no snapshot yet), and removing
    /// snapshots under a running `restic check` would make it report damage that is not there.
    pub fn forget(&self, ids: &[String], prune: bool) -> Result<()> {
        self.forget_with(ids, &|_| Vec::new(), prune).map(|_| ())
    }

    /// [`forget`](Self::forget) `ids` and the snapshots `more` picks from those present once
    /// the lock is held (what binlog housekeeping may forget depends on what is there then).
    /// Returns how many `more` picked.
    pub fn forget_with(
        &self,
        ids: &[String],
        more: &dyn Fn(&[Snapshot]) -> Vec<String>,
        prune: bool,
    ) -> Result<usize> {
        let _lock = self.lock(LockKind::Exclusive)?;
        let picked = self.delete_picked(ids, more)?;
        if prune {
            self.prune()?;
        }
        Ok(picked)
    }

    /// The snapshots `more` picks, forgotten if the exclusive lock is free now; `None` when
    /// another program holds a lock. For the binlog archiver, which must not stall its flushes
    /// behind a running backup: it tries again later.
    pub fn try_forget_with(
        &self,
        more: &dyn Fn(&[Snapshot]) -> Vec<String>,
    ) -> Result<Option<usize>> {
        let _lock = match self.lock_waiting(LockKind::Exclusive, Wait::Up(Duration::ZERO)) {
            Ok(l) => l,
            Err(RepoError::Lock(LockError::Locked { .. })) => return Ok(None),
            Err(e) => return Err(e),
        };
        self.delete_picked(&[], more).map(Some)
    }

    fn delete_picked(
        &self,
        ids: &[String],
        more: &dyn Fn(&[Snapshot]) -> Vec<String>,
    ) -> Result<usize> {
        let raw = self.raw_snapshots()?;
        let snaps: Vec<Snapshot> = raw.iter().map(Snapshot::from).collect();
        let picked = more(&snaps);
        let doomed: HashSet<&str> = ids.iter().chain(&picked).map(String::as_str).collect();
        self.delete_of(&raw, &doomed)?;
        Ok(picked.len())
    }

    /// Deletes the data no snapshot uses and rewrites the index: rustic's prune rebuilds every
    /// index file of fewer than 10,000 packs into files of up to 50,000 blobs, so the one index
    /// file each backup (each binlog flush) leaves is merged away here.
    ///
    /// A prune writes before it deletes (the used part of half-used packs, then the index): on
    /// a full disk it fails, and the packs it wrote are taken back (see `undo.rs`).
    fn prune(&self) -> Result<()> {
        let opts = PruneOptions::default();
        let (repo, undo) = self.reopen_undoable()?;
        let plan = repo
            .prune_plan(&opts)
            .ctx(|| format!("cannot plan the prune of `{}`", self.name))?;
        repo.prune(&opts, plan)
            .inspect_err(|_| undo.abandon(&self.name))
            .ctx(|| format!("cannot prune `{}`", self.name))
    }

    /// Deletes one snapshot: used when the data behind it turned out to be bad (a dump that
    /// failed after its snapshot was written).
    ///
    /// Non-exclusive, unlike `forget`: the snapshot is our own, seconds old, and nothing else
    /// refers to it; a backup that took it as parent keeps its data until a prune, which
    /// cannot start while that backup holds its lock. An exclusive lock would have to wait for
    /// every running backup (a binlog archiver's, say), leaving the bad snapshot visible.
    pub fn remove_snapshot(&self, id: &str) -> Result<()> {
        let _lock = self.lock(LockKind::Shared)?;
        self.delete_snapshots(&[id.to_string()])
    }

    fn delete_snapshots(&self, ids: &[String]) -> Result<()> {
        let doomed = ids.iter().map(String::as_str).collect();
        self.delete_of(&self.raw_snapshots()?, &doomed)
    }

    fn delete_of(&self, raw: &[SnapshotFile], doomed: &HashSet<&str>) -> Result<()> {
        let doomed: Vec<_> = raw
            .iter()
            .filter(|s| doomed.contains(s.id.to_hex().as_str()))
            .map(|s| s.id)
            .collect();
        if doomed.is_empty() {
            return Ok(());
        }
        self.inner
            .delete_snapshots(&doomed)
            .ctx(|| format!("cannot remove snapshots from `{}`", self.name))
    }
}

//! Writes that are not backups: forgetting and pruning, removing a bad snapshot, indexing what
//! an interrupted backup left. Each takes the lock restic would take for it (see `lock.rs`).

use rustic_core::{PruneOptions, RepairIndexOptions};

use super::lock::LockKind;
use super::{Context, Repo, Result};

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
        let _lock = self.lock(LockKind::Exclusive)?;
        self.delete_snapshots(ids)?;
        if prune {
            let opts = PruneOptions::default();
            let plan = self
                .inner
                .prune_plan(&opts)
                .ctx(|| format!("cannot plan the prune of `{}`", self.name))?;
            self.inner
                .prune(&opts, plan)
                .ctx(|| format!("cannot prune `{}`", self.name))?;
        }
        Ok(())
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
        let doomed: Vec<_> = self
            .raw_snapshots()?
            .iter()
            .filter(|s| ids.contains(&s.id.to_hex().to_string()))
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

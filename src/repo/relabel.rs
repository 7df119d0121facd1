//! Changing what a snapshot says about itself after the fact: a physical full knows its
//! consistent point only once the copy has ended, after its snapshot was written.

use super::lock::LockKind;
use super::{Context, Repo, RepoError, Result, Snapshot};

impl Repo {
    /// Replaces snapshot `id` by one with the same tree, time, tags and paths and a new
    /// `description`; returns the new snapshot (a new id, as every changed restic snapshot).
    /// Killed between the two steps, both stay: the old one's description still says what it
    /// said before, so nothing reads it as something it is not.
    ///
    /// Non-exclusive, as `remove_snapshot`: the snapshot is our own and seconds old.
    pub fn set_description(&self, id: &str, description: &str) -> Result<Snapshot> {
        let _lock = self.lock(LockKind::Shared)?;
        let old = self
            .raw_snapshots()?
            .into_iter()
            .find(|s| s.id.to_hex().as_str() == id)
            .ok_or_else(|| RepoError::NoSnapshot(id.to_string()))?;
        let mut new = old.clone();
        new.description = Some(description.to_string());
        self.inner
            .save_snapshots(vec![new])
            .ctx(|| format!("cannot save a snapshot into `{}`", self.name))?;
        self.inner
            .delete_snapshots(&[old.id])
            .ctx(|| format!("cannot remove snapshots from `{}`", self.name))?;
        self.raw_snapshots()?
            .iter()
            .find(|s| s.tree == old.tree && s.description.as_deref() == Some(description))
            .map(Snapshot::from)
            .ok_or_else(|| RepoError::NoSnapshot(format!("relabelled {id}")))
    }
}

//! Copying snapshots from one repository to another (rustic_core's copy, restic's `copy`):
//! only snapshots the target lacks, and only those the target's own retention would keep, so
//! a target that keeps less history is not sent the same old snapshots again after each prune.
//!
//! Why a snapshot is visible in the target only once all its data is there: rustic's copy
//! writes the data packs, then the tree packs, then the index, and only then the snapshot
//! files; the backends write each file atomically (see `opendal.rs`). A copy cut off midway
//! leaves packs no snapshot refers to; the next copy indexes and reuses them
//! (`recover_interrupted`) or a prune removes them.

use std::time::{Duration, Instant};

use jiff::Zoned;
use rustic_core::repofile::SnapshotFile;
use rustic_core::{Repository, RusticResult};

use super::lock::LockKind;
use super::{plan_retention, Context, Policy, Repo, Result, Snapshot};

/// What one copy did.
#[derive(Debug, Clone)]
pub struct CopyResult {
    /// Snapshots sent in this copy, oldest first.
    pub copied: Vec<Snapshot>,
    /// Snapshots of the source already in the target.
    pub present: usize,
    /// Snapshots of the source the target's retention would remove, so not sent.
    pub not_wanted: usize,
    /// Bytes written to the target (packs, index and snapshot files).
    pub bytes: u64,
    pub duration: Duration,
}

impl Repo {
    /// Copies to `dst` every snapshot of this repository that `dst` lacks and that `dst`'s
    /// retention `rules` keep. A second copy sends nothing.
    ///
    /// Non-exclusive locks on both, as restic's `copy`: on `dst` because this writes it (a
    /// prune there must not remove what the copy found present); on the source because a
    /// prune there would remove packs the copy is still reading.
    pub fn copy_to(&self, dst: &Repo, policy: Policy<'_>, now: &Zoned) -> Result<CopyResult> {
        let _dst_lock = dst.lock(LockKind::Shared)?;
        let _src_lock = self.lock(LockKind::Shared)?;
        let start = Instant::now();
        let (target, undo) = dst.reopen_undoable()?;
        let (wanted, not_wanted) = self.wanted_by(policy, now)?;
        let missing = missing(&target, &wanted)
            .ctx(|| format!("cannot list the snapshots of `{}`", dst.name))?;
        let present = wanted.len() - missing.len();
        if !missing.is_empty() {
            let source = self
                .reopen()?
                .to_indexed()
                .ctx(|| format!("cannot read the index of `{}`", self.name))?;
            let target = target
                .to_indexed_ids()
                .ctx(|| format!("cannot read the index of `{}`", dst.name))?;
            source
                .copy(&target, missing.iter())
                .inspect_err(|_| undo.abandon(&dst.name))
                .ctx(|| format!("copy from `{}` to `{}` failed", self.name, dst.name))?;
        }
        let mut copied: Vec<Snapshot> = missing.iter().map(Snapshot::from).collect();
        copied.sort_by_key(|s| s.time);
        Ok(CopyResult {
            copied,
            present,
            not_wanted,
            bytes: undo.written(),
            duration: start.elapsed(),
        })
    }

    /// The snapshots of this repository that `dst` lacks (and its retention would keep),
    /// oldest first: how far `dst` is behind.
    pub fn missing_in(&self, dst: &Repo, policy: Policy<'_>, now: &Zoned) -> Result<Vec<Snapshot>> {
        let (wanted, _) = self.wanted_by(policy, now)?;
        let target = dst.reopen()?;
        let mut out: Vec<Snapshot> = missing(&target, &wanted)
            .ctx(|| format!("cannot list the snapshots of `{}`", dst.name))?
            .iter()
            .map(Snapshot::from)
            .collect();
        out.sort_by_key(|s| s.time);
        Ok(out)
    }

    /// This repository's snapshots that `rules` keep, and how many they would remove.
    fn wanted_by(&self, policy: Policy<'_>, now: &Zoned) -> Result<(Vec<SnapshotFile>, usize)> {
        let raw = self.raw_snapshots()?;
        let plan = plan_retention(raw.clone(), policy, now)
            .ctx(|| "cannot apply retention rules".into())?;
        let keep: std::collections::HashSet<String> = plan
            .iter()
            .filter(|d| d.keep)
            .map(|d| d.snapshot.id.clone())
            .collect();
        let total = raw.len();
        let wanted: Vec<_> = raw
            .into_iter()
            .filter(|s| keep.contains(&s.id.to_hex().to_string()))
            .collect();
        let not_wanted = total - wanted.len();
        Ok((wanted, not_wanted))
    }
}

/// The snapshots of `wanted` that `target` does not hold yet.
fn missing(
    target: &Repository<rustic_core::OpenStatus>,
    wanted: &[SnapshotFile],
) -> RusticResult<Vec<SnapshotFile>> {
    Ok(target
        .relevant_copy_snapshots(|_| true, wanted)?
        .into_iter()
        .filter(|c| c.relevant)
        .map(|c| c.sn)
        .collect())
}

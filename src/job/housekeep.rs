//! Binlog housekeeping: a closed binlog file the archive holds whole becomes one snapshot, its
//! part snapshots are forgotten. The merged snapshot holds one file `FILE@000000000000` whose
//! content is the parts' blobs in order, so nothing is read from or written to the repository's
//! data but one tree (vendor/rustic_core patch 2). It is read back and its length and SHA-256
//! compared with the bytes rebuilt from the parts before any part may go, and the parts go only
//! where `chain::merge` proves every byte they hold is in a verified merged snapshot.
//!
//! Runs in the archiver after a file closes (what keeps the snapshot count low through a busy
//! day), and before retention in `forget` and `run` (the prune schedule: compacts what the
//! archiver could not, and repositories written before housekeeping existed). Merging writes
//! under non-exclusive locks like any backup; only forgetting takes the exclusive one, with no
//! lock of our own held meanwhile, so housekeeping never waits for itself.

mod rebuild;

use std::collections::{BTreeSet, HashSet};
use std::time::Instant;

use serde::Serialize;

use self::rebuild::{gather, read_back, Hashed, Trees};
use super::backup::{manifest, meta_files};
use super::dbarchive::BinlogDescription;
use super::Site;
use crate::config::SourceConfig;
use crate::manifest::{Manifest, MANIFEST_FILE};
use crate::repo::{BackupRequest, Content, Reader, Repo, Snapshot, Stream};
use crate::source::mysql::archiver::part_name;
use crate::source::mysql::binlog::Segment;
use crate::source::mysql::chain::describe::BINLOG_KIND;
use crate::source::mysql::chain::merge::{self, FileMerge, Superseded};

/// What one housekeeping pass did before forgetting.
#[derive(Debug, Default, Serialize)]
pub struct HousekeepReport {
    pub merged: Vec<MergedFile>,
    /// Closed files a dry run would merge (`SOURCE FILE`).
    pub would_merge: Vec<String>,
    /// Merged snapshots read back and found equal to their parts in this pass.
    pub verified: usize,
    /// Merges that failed or did not verify (a failed merge is removed; its parts stay).
    pub problems: Vec<String>,
    /// Closed files left as parts because two archivers stored overlapping bytes of them.
    pub overlapping: Vec<String>,
}

/// One closed file merged.
#[derive(Debug, Serialize)]
pub struct MergedFile {
    pub source: String,
    pub file: String,
    pub size: u64,
    pub parts: usize,
    pub snapshot: String,
    /// Bytes the merge added to the repository (its tree and manifest: the data is the parts').
    pub added_bytes: u64,
    pub seconds: f64,
}

/// Housekeeping for one process: remembers which merged snapshots it has read back, so a merge
/// is trusted only once checked, and checked once.
#[derive(Debug, Default)]
pub struct Housekeeper {
    verified: HashSet<String>,
}

impl Housekeeper {
    pub fn new() -> Self {
        Self::default()
    }

    /// Merges the closed files of `only` (or of every source) not merged yet, when `merge` (on
    /// the primary; copies receive merged snapshots from it), and reads back every merged
    /// snapshot that is to stand in for parts. Forgets nothing.
    pub fn prepare(
        &mut self,
        site: &Site,
        repo: &Repo,
        only: Option<&str>,
        merge: bool,
    ) -> anyhow::Result<HousekeepReport> {
        let snaps = repo.snapshots()?;
        let mut report = HousekeepReport::default();
        let plans: Vec<(String, merge::MergePlan)> = sources(&snaps)
            .into_iter()
            .filter(|s| only.is_none_or(|o| o == s))
            .map(|s| {
                let plan = merge::plan(&merge::binlog_snaps(&snaps, &s));
                (s, plan)
            })
            .collect();
        let mut to_verify: Vec<Snapshot> = Vec::new();
        for (source, plan) in &plans {
            report
                .overlapping
                .extend(plan.overlapping.iter().map(|f| format!("{source} {f}")));
            let pending = plan
                .to_verify
                .iter()
                .filter(|id| !self.verified.contains(*id));
            to_verify.extend(pending.filter_map(|id| snaps.iter().find(|s| &s.id == id).cloned()));
        }
        let merges = merge && plans.iter().any(|(_, p)| !p.merges.is_empty());
        if !merges && to_verify.is_empty() {
            return Ok(report);
        }
        if merges {
            let reader = repo.reader()?;
            for (source, plan) in &plans {
                let Ok((name, src)) = site.source(source) else {
                    tracing::warn!(source = %source, "binlog files not merged: the source is not in the config");
                    continue;
                };
                let mut trees = Trees::new(&reader, &snaps);
                for m in &plan.merges {
                    match merge_file(site, repo, &mut trees, name, src, m) {
                        Ok((merged, snap)) => {
                            report.merged.push(merged);
                            to_verify.push(snap);
                        }
                        Err(e) => report.problems.push(format!(
                            "cannot merge binlog {} of `{source}`: {e:#}; its parts stay",
                            m.file
                        )),
                    }
                }
            }
        }
        // A fresh reader: the merged snapshots' trees are in index files written since.
        let reader = repo.reader()?;
        for snap in &to_verify {
            match verify(&reader, snap) {
                Ok(()) => {
                    self.verified.insert(snap.id.clone());
                    report.verified += 1;
                }
                Err(e) => {
                    tracing::error!(snapshot = %snap.short_id(), "merged binlog snapshot does not match its parts: {e:#}; removing it");
                    repo.remove_snapshot(&snap.id)?;
                    report.problems.push(format!(
                        "merged snapshot {} removed: {e:#}; its parts stay",
                        snap.short_id()
                    ));
                }
            }
        }
        Ok(report)
    }

    /// The closed files [`prepare`](Self::prepare) would merge, changing nothing; merged
    /// snapshots already there count as verified for [`superseded`](Self::superseded).
    pub fn preview(&mut self, repo: &Repo) -> anyhow::Result<HousekeepReport> {
        let snaps = repo.snapshots()?;
        let mut report = HousekeepReport::default();
        for source in sources(&snaps) {
            let plan = merge::plan(&merge::binlog_snaps(&snaps, &source));
            report
                .would_merge
                .extend(plan.merges.iter().map(|m| format!("{source} {}", m.file)));
            self.verified.extend(plan.to_verify);
        }
        Ok(report)
    }

    /// The snapshots of `snaps` housekeeping may forget now: every part they hold is in a
    /// merged snapshot this housekeeper verified.
    pub fn superseded(&self, snaps: &[Snapshot]) -> Vec<Superseded> {
        sources(snaps)
            .iter()
            .flat_map(|s| merge::superseded(&merge::binlog_snaps(snaps, s), &self.verified))
            .collect()
    }

    /// [`superseded`](Self::superseded), as ids.
    pub fn superseded_ids(&self, snaps: &[Snapshot]) -> Vec<String> {
        self.superseded(snaps)
            .into_iter()
            .map(|s| s.snapshot)
            .collect()
    }
}

/// The sources that have binlog snapshots.
fn sources(snaps: &[Snapshot]) -> BTreeSet<String> {
    snaps
        .iter()
        .filter(|s| s.kind.as_deref() == Some(BINLOG_KIND))
        .filter_map(|s| s.source.clone())
        .collect()
}

/// Writes the merged snapshot of one closed file, described with the SHA-256 of the bytes its
/// parts rebuild.
fn merge_file(
    site: &Site,
    repo: &Repo,
    trees: &mut Trees<'_>,
    name: &str,
    src: &SourceConfig,
    m: &FileMerge,
) -> anyhow::Result<(MergedFile, Snapshot)> {
    let t0 = Instant::now();
    let (blobs, rebuilt) = gather(trees, &m.parts)?;
    anyhow::ensure!(
        rebuilt.len == m.size,
        "its parts rebuild {} of its {} bytes",
        rebuilt.len,
        m.size
    );
    let mut man = manifest(site, name, "binlog", src);
    man.binlog = Some(vec![segment(trees, m)]);
    let description = BinlogDescription {
        parts: vec![m.info.clone()],
        sha256: Some(rebuilt.sha256.clone()),
    };
    let req = BackupRequest {
        source: name.into(),
        kind: BINLOG_KIND.into(),
        tier: src.tier.clone(),
        host: site.host(),
        content: Content::streams(
            format!("/binlog/{name}"),
            vec![Stream::stored(part_name(&m.file, 0), m.size, blobs)],
        ),
        meta_files: meta_files(site, &man),
        meta_mtime: site.config_mtime,
        description: Some(serde_json::to_string(&description)?),
    };
    let snap = repo.backup_at(&req, Some(m.time))?.snapshot;
    let added = snap.summary.as_ref().map_or(0, |s| s.data_added_packed);
    let seconds = t0.elapsed().as_secs_f64();
    tracing::info!(source = %name, file = %m.file, parts = m.parts.len(), bytes = m.size, snapshot = %snap.short_id(), added, ms = (seconds * 1000.0) as u64, "binlog file merged");
    let merged = MergedFile {
        source: name.into(),
        file: m.file.clone(),
        size: m.size,
        parts: m.parts.len(),
        snapshot: snap.id.clone(),
        added_bytes: added,
        seconds,
    };
    Ok((merged, snap))
}

/// The merged file's segment: the one the newest part's manifest records for the file (it
/// counts the events from the file's start), or one made from the description.
fn segment(trees: &Trees<'_>, m: &FileMerge) -> Segment {
    let recorded = m.parts.last().and_then(|p| {
        let snap = trees.snapshot(&p.snapshot)?;
        let data = trees.reader().meta_file(snap, MANIFEST_FILE).ok()??;
        let man: Manifest = serde_json::from_slice(&data).ok()?;
        man.binlog?.into_iter().find(|s| s.file == m.file)
    });
    let i = &m.info;
    let second = |t: Option<i64>| t.and_then(|t| u32::try_from(t).ok());
    let mut seg = recorded.unwrap_or(Segment {
        file: m.file.clone(),
        size: m.size,
        first_event: second(i.first_event),
        last_event: second(i.last_event),
        first_gtid: i.first_gtid,
        last_gtid: i.last_gtid,
        closed: true,
        events: 0,
    });
    seg.size = m.size;
    seg.closed = true;
    seg
}

/// Reads a merged snapshot's file back: it must be as long as described and hash as the parts
/// did when it was made.
fn verify(reader: &Reader, snap: &Snapshot) -> anyhow::Result<()> {
    let d: BinlogDescription = serde_json::from_str(snap.description.as_deref().unwrap_or(""))?;
    let (Some(sha), [p]) = (&d.sha256, d.parts.as_slice()) else {
        anyhow::bail!("not a merged snapshot");
    };
    let got = read_back(reader, snap, &part_name(&p.file, 0))?;
    let want = Hashed {
        len: p.len,
        sha256: sha.clone(),
    };
    anyhow::ensure!(
        got == want,
        "read back {} bytes with SHA-256 {}, made from {} bytes with SHA-256 {}",
        got.len,
        got.sha256,
        want.len,
        want.sha256
    );
    Ok(())
}

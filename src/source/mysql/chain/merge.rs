//! Binlog housekeeping, planned: which closed files to merge into one snapshot each, and which
//! part snapshots the merges make redundant. Pure: binlog snapshots in (as read from their
//! descriptions), decisions out; reading, writing and forgetting are `job::housekeep`'s.
//!
//! The rule that keeps chains whole: a snapshot is forgotten only when every part it holds lies
//! in a file whose *keeper* (the oldest merged snapshot of it that was read back and matched)
//! holds that whole file. Keepers are never forgotten by housekeeping, so every byte stays
//! covered, whatever point a run is interrupted at: parts alone, parts and merged snapshot, or
//! merged snapshot and the parts not forgotten yet.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use super::cover::{Coverage, FileCover, PartRef};
use super::describe::{BinlogDescription, PartInfo, BINLOG_KIND};
use crate::repo::Snapshot;

/// A binlog snapshot of one source, as housekeeping sees it.
#[derive(Debug, Clone)]
pub struct BinlogSnap {
    pub id: String,
    pub time: jiff::Timestamp,
    pub parts: Vec<PartInfo>,
    /// Set on merged snapshots: the SHA-256 of the whole file.
    pub sha256: Option<String>,
}

impl BinlogSnap {
    /// The whole file this snapshot was merged into, if it is a merged snapshot.
    fn merged_file(&self) -> Option<&PartInfo> {
        match (&self.sha256, self.parts.as_slice()) {
            (Some(_), [p]) if p.offset == 0 && p.closed => Some(p),
            _ => None,
        }
    }
}

/// The binlog snapshots of `source`.
pub fn binlog_snaps(snaps: &[Snapshot], source: &str) -> Vec<BinlogSnap> {
    snaps
        .iter()
        .filter(|s| s.source.as_deref() == Some(source) && s.kind.as_deref() == Some(BINLOG_KIND))
        .filter_map(|s| {
            let d: BinlogDescription = serde_json::from_str(s.description.as_deref()?).ok()?;
            Some(BinlogSnap {
                id: s.id.clone(),
                time: s.time,
                parts: d.parts,
                sha256: d.sha256,
            })
        })
        .collect()
}

/// One closed file to merge: the parts that make it, in order, each starting where the one
/// before ends (so the merged file is their content, blob after blob).
#[derive(Debug, Clone, Serialize)]
pub struct FileMerge {
    pub file: String,
    pub size: u64,
    #[serde(skip)]
    pub parts: Vec<PartRef>,
    /// The merged snapshot's one part: the whole file.
    #[serde(skip)]
    pub info: PartInfo,
    /// The newest snapshot merged: the merged snapshot takes its time.
    #[serde(skip)]
    pub time: jiff::Timestamp,
}

/// What a housekeeping run has to do before anything can be forgotten.
#[derive(Debug, Clone, Default)]
pub struct MergePlan {
    pub merges: Vec<FileMerge>,
    /// Merged snapshots to read back before they can stand in for parts (the oldest merged
    /// snapshot of each file that has others holding it).
    pub to_verify: Vec<String>,
    /// Closed files whose parts overlap (two archivers stored the same bytes): left as they are.
    pub overlapping: Vec<String>,
}

/// Plans the merges of a source's closed files, and the merged snapshots to verify.
pub fn plan(snaps: &[BinlogSnap]) -> MergePlan {
    let cover = Coverage::build(&refs(snaps));
    let by_id: BTreeMap<&str, &BinlogSnap> = snaps.iter().map(|s| (s.id.as_str(), s)).collect();
    let mut out = MergePlan::default();
    for fc in cover
        .files()
        .filter(|f| f.closed && f.hole.is_none() && f.mixed.is_none())
    {
        let holders = holders(snaps, &fc.file);
        let merged = merged_of(snaps, fc);
        if let Some(first) = merged.first() {
            if holders.len() > 1 && !out.to_verify.contains(&first.id) {
                out.to_verify.push(first.id.clone());
            }
            continue;
        }
        // One snapshot holding just this whole file is what a merge would make.
        if let [only] = holders.as_slice() {
            if only.parts.len() == 1 {
                continue;
            }
        }
        if !contiguous(&fc.parts) {
            out.overlapping.push(fc.file.clone());
            continue;
        }
        out.merges.push(file_merge(fc, &by_id));
    }
    out
}

fn file_merge(fc: &FileCover, by_id: &BTreeMap<&str, &BinlogSnap>) -> FileMerge {
    let infos: Vec<&PartInfo> = fc
        .parts
        .iter()
        .filter_map(|p| {
            by_id.get(p.snapshot.as_str()).and_then(|s| {
                s.parts
                    .iter()
                    .find(|i| i.file == p.file && i.offset == p.offset && i.len == p.len)
            })
        })
        .collect();
    let time = fc
        .parts
        .iter()
        .filter_map(|p| by_id.get(p.snapshot.as_str()).map(|s| s.time))
        .max()
        .unwrap_or_default();
    FileMerge {
        file: fc.file.clone(),
        size: fc.stored,
        parts: fc.parts.clone(),
        info: PartInfo {
            file: fc.file.clone(),
            offset: 0,
            len: fc.stored,
            first_event: fc.first_event,
            last_event: fc.last_event,
            first_gtid: infos.iter().find_map(|i| i.first_gtid),
            last_gtid: fc.last_gtid,
            closed: true,
        },
        time,
    }
}

/// Each part starts exactly where the previous one ended, from byte 0.
fn contiguous(parts: &[PartRef]) -> bool {
    let mut end = 0;
    for p in parts {
        if p.offset != end {
            return false;
        }
        end = p.offset + p.len;
    }
    true
}

/// The snapshots holding bytes of `file`.
fn holders<'a>(snaps: &'a [BinlogSnap], file: &str) -> Vec<&'a BinlogSnap> {
    snaps
        .iter()
        .filter(|s| s.parts.iter().any(|p| p.file == file))
        .collect()
}

/// The merged snapshots of a closed file, oldest first; only those holding all of it.
fn merged_of<'a>(snaps: &'a [BinlogSnap], fc: &FileCover) -> Vec<&'a BinlogSnap> {
    let mut m: Vec<&BinlogSnap> = snaps
        .iter()
        .filter(|s| {
            s.merged_file()
                .is_some_and(|p| p.file == fc.file && p.len == fc.stored)
        })
        .collect();
    m.sort_by(|a, b| (a.time, &a.id).cmp(&(b.time, &b.id)));
    m
}

/// A snapshot housekeeping may forget, and the merged snapshots that hold its bytes now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Superseded {
    pub snapshot: String,
    pub by: Vec<String>,
}

/// The snapshots whose every part lies in a file with a keeper other than themselves, given
/// the merged snapshots read back and found equal (`verified`).
pub fn superseded(snaps: &[BinlogSnap], verified: &HashSet<String>) -> Vec<Superseded> {
    let cover = Coverage::build(&refs(snaps));
    let mut keepers: BTreeMap<&str, (&str, u64)> = BTreeMap::new();
    for fc in cover
        .files()
        .filter(|f| f.closed && f.hole.is_none() && f.mixed.is_none())
    {
        if let Some(k) = merged_of(snaps, fc)
            .into_iter()
            .find(|s| verified.contains(&s.id))
        {
            keepers.insert(fc.file.as_str(), (k.id.as_str(), fc.stored));
        }
    }
    let is_keeper = |id: &str| keepers.values().any(|(k, _)| *k == id);
    snaps
        .iter()
        .filter(|s| !s.parts.is_empty() && !is_keeper(&s.id))
        .filter_map(|s| {
            let mut by: Vec<String> = Vec::new();
            for p in &s.parts {
                let (k, size) = keepers.get(p.file.as_str())?;
                if p.offset + p.len > *size {
                    return None;
                }
                if !by.iter().any(|b| b == k) {
                    by.push((*k).to_string());
                }
            }
            Some(Superseded {
                snapshot: s.id.clone(),
                by,
            })
        })
        .collect()
}

fn refs(snaps: &[BinlogSnap]) -> Vec<PartRef> {
    snaps
        .iter()
        .flat_map(|s| {
            s.parts.iter().map(|p| PartRef {
                snapshot: s.id.clone(),
                file: p.file.clone(),
                offset: p.offset,
                len: p.len,
                first_event: p.first_event,
                last_event: p.last_event,
                last_gtid: p.last_gtid,
                closed: p.closed,
            })
        })
        .collect()
}

#[cfg(test)]
#[path = "merge_tests.rs"]
mod tests;

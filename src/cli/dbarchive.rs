//! What the repository holds for a mysql source, read from snapshot descriptions alone (no tree
//! reads): its fulls and its binlog parts. The repository, not the catalog, is the source of
//! truth here: after a disaster the catalog may be gone, the repository is what was saved.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::repo::{Reader, Snapshot};
use crate::source::mysql::archiver::Archived;
use crate::source::mysql::binlog::Gtid;
use crate::source::mysql::dump::Coordinates;
use crate::source::mysql::replay::{FullRef, SegmentRef};

/// How a binlog snapshot describes each part it stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartInfo {
    pub file: String,
    pub offset: u64,
    pub len: u64,
    pub first_event: Option<i64>,
    pub last_event: Option<i64>,
    pub first_gtid: Option<Gtid>,
    pub last_gtid: Option<Gtid>,
    pub closed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BinlogDescription {
    pub parts: Vec<PartInfo>,
}

#[derive(Debug, Clone, Deserialize)]
struct FullDescription {
    at: i64,
    binlog: Option<Coordinates>,
    gtid: Option<String>,
}

/// The fulls of a source, oldest first.
pub fn fulls(snaps: &[Snapshot], source: &str) -> Vec<FullRef> {
    snaps
        .iter()
        .filter(|s| s.source.as_deref() == Some(source) && s.kind.as_deref() == Some("mysql-full"))
        .filter_map(|s| {
            let d: FullDescription = serde_json::from_str(s.description.as_deref()?).ok()?;
            Some(FullRef {
                snapshot: s.id.clone(),
                at: d.at,
                binlog: d.binlog,
                gtid: d.gtid,
            })
        })
        .collect()
}

/// Every stored binlog part of a source with the snapshot holding it, oldest first.
pub fn parts(snaps: &[Snapshot], source: &str) -> Vec<(String, PartInfo)> {
    snaps
        .iter()
        .filter(|s| s.source.as_deref() == Some(source) && s.kind.as_deref() == Some("binlog"))
        .filter_map(|s| {
            Some((
                s,
                serde_json::from_str::<BinlogDescription>(s.description.as_deref()?).ok()?,
            ))
        })
        .flat_map(|(s, d)| d.parts.into_iter().map(move |p| (s.id.clone(), p)))
        .collect()
}

/// Per file, the bytes stored contiguously from the start, and whether the file is complete.
pub fn archived(parts: &[(String, PartInfo)]) -> BTreeMap<String, Archived> {
    let mut out: BTreeMap<String, Archived> = BTreeMap::new();
    let mut sorted: Vec<&PartInfo> = parts.iter().map(|(_, p)| p).collect();
    sorted.sort_by_key(|p| (p.file.clone(), p.offset));
    for p in sorted {
        let a = out.entry(p.file.clone()).or_default();
        // A part that starts past what is stored would leave a hole: not counted.
        if p.offset <= a.size {
            a.size = a.size.max(p.offset + p.len);
            a.closed |= p.closed;
        }
    }
    out
}

/// Files as the chain planner sees them.
pub fn segments(parts: &[(String, PartInfo)]) -> Vec<SegmentRef> {
    let sizes = archived(parts);
    let mut by_file: BTreeMap<&str, SegmentRef> = BTreeMap::new();
    for (snap, p) in parts {
        let seg = by_file.entry(&p.file).or_insert_with(|| SegmentRef {
            file: p.file.clone(),
            snapshot: snap.clone(),
            size: sizes.get(&p.file).map_or(0, |a| a.size),
            first_event: None,
            last_event: None,
            last_gtid: None,
            closed: sizes.get(&p.file).is_some_and(|a| a.closed),
        });
        seg.first_event = match (seg.first_event, p.first_event) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        seg.last_event = seg.last_event.max(p.last_event);
        seg.last_gtid = seg.last_gtid.max(p.last_gtid);
        seg.snapshot.clone_from(snap);
    }
    by_file.into_values().collect()
}

/// Rebuilds the chain's binlog files in `dir` from their parts; returns their paths in order.
pub fn extract(
    reader: &Reader,
    snaps: &[Snapshot],
    parts: &[(String, PartInfo)],
    files: &[SegmentRef],
    dir: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for seg in files {
        let path = dir.join(&seg.file);
        let mut f = std::fs::File::create(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let mut mine: Vec<&(String, PartInfo)> =
            parts.iter().filter(|(_, p)| p.file == seg.file).collect();
        mine.sort_by_key(|(_, p)| p.offset);
        let mut written = 0u64;
        for (snap_id, p) in mine {
            if p.offset + p.len <= written || p.len == 0 {
                continue;
            }
            anyhow::ensure!(
                p.offset == written,
                "binlog {} has a hole at byte {written}",
                seg.file
            );
            let snap = snaps
                .iter()
                .find(|s| &s.id == snap_id)
                .context("binlog snapshot vanished")?;
            let entries = reader.entries(snap, None)?;
            let name = crate::source::mysql::archiver::part_name(&p.file, p.offset);
            let entry = entries
                .iter()
                .find(|e| e.path.as_os_str() == name.as_str())
                .with_context(|| {
                    format!("part {name} missing from snapshot {}", snap.short_id())
                })?;
            reader.write_file(entry, &mut f)?;
            written = p.offset + p.len;
        }
        f.flush()?;
        out.push(path);
    }
    Ok(out)
}

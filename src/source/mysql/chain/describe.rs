//! What a repository holds for a mysql source, read from snapshot descriptions alone (no tree
//! reads): its fulls and its binlog parts. The repository, not the catalog, is the source of
//! truth here: after a disaster the catalog may be gone, the repository is what was saved.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Coverage, FullRef, PartRef};
use crate::repo::Snapshot;
use crate::source::mysql::archiver::Archived;
use crate::source::mysql::binlog::Gtid;
use crate::source::mysql::dump::Coordinates;

/// Snapshot kinds (`kind:` tags) of a mysql source.
pub const FULL_KIND: &str = "mysql-full";
pub const BINLOG_KIND: &str = "binlog";

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

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BinlogDescription {
    pub parts: Vec<PartInfo>,
    /// Set on a merged snapshot (one closed file whole, made from its parts by housekeeping):
    /// the SHA-256 of the file, so the merge can be checked by reading it back, here or in a
    /// copy, without the parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct FullDescription {
    at: i64,
    binlog: Option<Coordinates>,
    gtid: Option<String>,
}

fn of<'a>(
    snaps: &'a [Snapshot],
    source: &'a str,
    kind: &'a str,
) -> impl Iterator<Item = &'a Snapshot> {
    snaps
        .iter()
        .filter(move |s| s.source.as_deref() == Some(source) && s.kind.as_deref() == Some(kind))
}

/// The full a snapshot describes, if it is one.
pub fn full_of(s: &Snapshot) -> Option<FullRef> {
    let d: FullDescription = serde_json::from_str(s.description.as_deref()?).ok()?;
    Some(FullRef {
        snapshot: s.id.clone(),
        at: d.at,
        binlog: d.binlog,
        gtid: d.gtid,
    })
}

/// The parts a binlog snapshot stores.
pub fn parts_of(s: &Snapshot) -> Vec<PartRef> {
    let Some(d) = s
        .description
        .as_deref()
        .and_then(|d| serde_json::from_str::<BinlogDescription>(d).ok())
    else {
        return Vec::new();
    };
    d.parts
        .into_iter()
        .map(|p| PartRef {
            snapshot: s.id.clone(),
            file: p.file,
            offset: p.offset,
            len: p.len,
            first_event: p.first_event,
            last_event: p.last_event,
            last_gtid: p.last_gtid,
            closed: p.closed,
        })
        .collect()
}

/// The fulls of a source.
pub fn fulls(snaps: &[Snapshot], source: &str) -> Vec<FullRef> {
    of(snaps, source, FULL_KIND).filter_map(full_of).collect()
}

/// Every stored binlog part of a source.
pub fn parts(snaps: &[Snapshot], source: &str) -> Vec<PartRef> {
    of(snaps, source, BINLOG_KIND).flat_map(parts_of).collect()
}

/// A source's archive as the chain planner sees it.
pub fn coverage(snaps: &[Snapshot], source: &str) -> Coverage {
    Coverage::build(&parts(snaps, source))
}

/// Per file, the bytes stored contiguously from the start, and whether the file is complete:
/// where the archiver resumes.
pub fn archived(parts: &[PartRef]) -> BTreeMap<String, Archived> {
    Coverage::build(parts)
        .files()
        .map(|f| {
            (
                f.file.clone(),
                Archived {
                    size: f.stored,
                    closed: f.closed,
                    first_event: parts
                        .iter()
                        .filter(|p| p.file == f.file)
                        .find_map(|p| p.first_event),
                },
            )
        })
        .collect()
}

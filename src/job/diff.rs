//! What changed between two snapshots: files added, removed, modified, and for JSON files
//! (DataX jobs) what changed inside, by JSON path, secrets masked.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::Site;
use crate::datax::{diff_json, Change};
use crate::repo::{Entry, EntryKind, Reader, Snapshot};

/// The two snapshots and their differences, sorted by path.
pub struct Diff {
    pub a: Snapshot,
    pub b: Snapshot,
    pub changes: Vec<FileChange>,
}

#[derive(Debug, Serialize)]
pub struct FileChange {
    pub path: PathBuf,
    /// added, removed, modified, metadata
    pub change: &'static str,
    pub old_size: Option<u64>,
    pub new_size: Option<u64>,
    /// For JSON files (DataX jobs): what changed, by JSON path, secrets masked.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub json: Vec<Change>,
}

/// What changed between snapshots `a` and `b` (ids, `latest`, `latest:SOURCE`).
pub fn diff(site: &Site, a: &str, b: &str) -> anyhow::Result<Diff> {
    let repo = site.open_primary()?;
    let a = repo.find_snapshot(a, None)?;
    let b = repo.find_snapshot(b, None)?;
    if a.source != b.source {
        let name = |s: &Option<String>| s.clone().unwrap_or_else(|| "no source".into());
        tracing::warn!(
            "comparing snapshots of two sources ({} {} and {} {}): every difference between them is shown",
            a.short_id(),
            name(&a.source),
            b.short_id(),
            name(&b.source)
        );
    }
    let reader = repo.reader()?;
    let old = by_path(reader.entries(&a, None)?);
    let new = by_path(reader.entries(&b, None)?);
    let mut changes = Vec::new();
    for (path, o) in &old {
        match new.get(path) {
            None => changes.push(change(path, "removed", Some(o), None)),
            Some(n) if !o.same_content(n) => {
                let mut c = change(path, "modified", Some(o), Some(n));
                c.json = json_changes(&reader, path, o, n);
                changes.push(c);
            }
            Some(n) if o.meta.mode != n.meta.mode => {
                changes.push(change(path, "metadata", Some(o), Some(n)))
            }
            Some(_) => {}
        }
    }
    for (path, n) in &new {
        if !old.contains_key(path) {
            changes.push(change(path, "added", None, Some(n)));
        }
    }
    changes.sort_by(|x, y| x.path.cmp(&y.path));
    Ok(Diff { a, b, changes })
}

fn by_path(entries: Vec<Entry>) -> BTreeMap<PathBuf, Entry> {
    entries
        .into_iter()
        .filter(|e| !matches!(e.kind, EntryKind::Dir))
        .map(|e| (e.path.clone(), e))
        .collect()
}

fn change(
    path: &std::path::Path,
    kind: &'static str,
    o: Option<&Entry>,
    n: Option<&Entry>,
) -> FileChange {
    FileChange {
        path: path.to_path_buf(),
        change: kind,
        old_size: o.map(Entry::size),
        new_size: n.map(Entry::size),
        json: vec![],
    }
}

/// A semantic diff for JSON files small enough to read (jobs are a few KB).
fn json_changes(reader: &Reader, path: &std::path::Path, o: &Entry, n: &Entry) -> Vec<Change> {
    const MAX: u64 = 4 << 20;
    if path.extension().is_none_or(|e| e != "json") || o.size() > MAX || n.size() > MAX {
        return vec![];
    }
    let (Ok(old), Ok(new)) = (reader.read_to_vec(o), reader.read_to_vec(n)) else {
        return vec![];
    };
    diff_json(
        &String::from_utf8_lossy(&old),
        &String::from_utf8_lossy(&new),
    )
    .unwrap_or_default()
}

//! The history of one file across snapshots, and one version of it shown (JSON secrets
//! masked).

use anyhow::Context as _;
use serde::Serialize;

use super::Site;
use crate::repo::{Entry, EntryKind, Repo, Snapshot};

#[derive(Debug, Serialize)]
pub struct Version {
    pub snapshot: String,
    pub time: jiff::Timestamp,
    pub size: Option<u64>,
    /// new, changed, unchanged, deleted
    pub state: &'static str,
}

/// Paths are relative to the source root; a leading `./` or `/` is ignored.
fn relative(path: &str) -> &str {
    path.trim_start_matches("./").trim_start_matches('/')
}

fn find(reader: &crate::repo::Reader, s: &Snapshot, rel: &str) -> Option<Entry> {
    let path = format!("{}/{rel}", s.root().trim_end_matches('/'));
    reader.entries(s, Some(&path)).ok()?.into_iter().next()
}

/// One version of `path` as stored in snapshot `spec`, JSON secrets masked.
pub fn show(
    site: &Site,
    path: &str,
    spec: &str,
    source: Option<&str>,
) -> anyhow::Result<(Snapshot, Vec<u8>)> {
    let repo = site.open_primary()?;
    let reader = repo.reader()?;
    let rel = relative(path);
    let snap = repo.find_snapshot(spec, source)?;
    let entry = find(&reader, &snap, rel)
        .with_context(|| format!("no {rel} in snapshot {}", snap.short_id()))?;
    anyhow::ensure!(
        matches!(entry.kind, EntryKind::File { .. }),
        "{rel} is not a file in {}",
        snap.short_id()
    );
    let data = reader.read_to_vec(&entry)?;
    Ok((snap, masked(rel, data)))
}

/// Every version of `path` across the files snapshots (of `source`, or all), oldest first.
pub fn history(site: &Site, path: &str, source: Option<&str>) -> anyhow::Result<Vec<Version>> {
    let repo: Repo = site.open_primary()?;
    let reader = repo.reader()?;
    let rel = relative(path);
    let mut versions: Vec<Version> = Vec::new();
    let mut last: Option<Entry> = None;
    let snaps = repo.snapshots()?;
    for s in snaps.iter().filter(|s| s.kind.as_deref() == Some("files")) {
        if source.is_some() && s.source.as_deref() != source {
            continue;
        }
        let entry = find(&reader, s, rel);
        let state = match (&last, &entry) {
            (None, None) => continue,
            (Some(_), None) => "deleted",
            (None, Some(_)) => "new",
            (Some(l), Some(e)) if l.same_content(e) => "unchanged",
            _ => "changed",
        };
        versions.push(Version {
            snapshot: s.id.clone(),
            time: s.time,
            size: entry.as_ref().map(Entry::size),
            state,
        });
        last = entry;
    }
    anyhow::ensure!(
        !versions.is_empty(),
        "{rel} is in no snapshot; paths are relative to the source root, e.g. job/x.json"
    );
    Ok(versions)
}

/// JSON is shown with every password/accessKey/secret masked; anything else as stored. A `.json`
/// file that is not strict JSON (DataX's fastjson takes comments, single quotes, trailing
/// commas) is masked as text: shown as stored, it would print its passwords.
pub fn masked(path: &str, data: Vec<u8>) -> Vec<u8> {
    let json = path
        .len()
        .checked_sub(5)
        .and_then(|i| path.get(i..))
        .is_some_and(|ext| ext.eq_ignore_ascii_case(".json"));
    if !json {
        return data;
    }
    match serde_json::from_slice::<serde_json::Value>(&data) {
        Ok(mut v) => {
            crate::datax::mask_secrets(&mut v);
            let mut out = serde_json::to_vec_pretty(&v).unwrap_or(data);
            out.push(b'\n');
            out
        }
        Err(_) => crate::datax::mask_secrets_text(&String::from_utf8_lossy(&data)).into_bytes(),
    }
}

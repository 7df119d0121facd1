//! Reading what a merge is made of, and checking it: the blobs of a file's parts in order with
//! the SHA-256 of the bytes they rebuild, and a merged file read back and hashed. Data is hashed
//! as it streams; nothing is held in memory but a blob at a time.

use std::collections::HashMap;
use std::io::Write;

use anyhow::Context as _;
use sha2::{Digest, Sha256};

use crate::repo::{BlobRef, Entry, EntryKind, Reader, Snapshot};
use crate::source::mysql::archiver::part_name;
use crate::source::mysql::chain::PartRef;

/// Length and SHA-256 (hex) of some bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Hashed {
    pub len: u64,
    pub sha256: String,
}

/// The files of snapshot trees, each tree listed once.
pub(super) struct Trees<'a> {
    reader: &'a Reader,
    snaps: HashMap<&'a str, &'a Snapshot>,
    listed: HashMap<String, Vec<Entry>>,
}

impl<'a> Trees<'a> {
    pub fn new(reader: &'a Reader, snaps: &'a [Snapshot]) -> Self {
        Self {
            reader,
            snaps: snaps.iter().map(|s| (s.id.as_str(), s)).collect(),
            listed: HashMap::new(),
        }
    }

    /// The file `name` (`FILE@OFFSET`) of snapshot `id`.
    pub fn file(&mut self, id: &str, name: &str) -> anyhow::Result<Entry> {
        let snap = *self
            .snaps
            .get(id)
            .with_context(|| format!("snapshot {id} vanished; run housekeeping again"))?;
        if !self.listed.contains_key(id) {
            let entries = self.reader.entries(snap, None)?;
            self.listed.insert(id.to_string(), entries);
        }
        self.listed[id]
            .iter()
            .find(|e| e.path.as_os_str() == name)
            .cloned()
            .with_context(|| format!("part {name} missing from snapshot {}", snap.short_id()))
    }

    pub fn reader(&self) -> &'a Reader {
        self.reader
    }

    pub fn snapshot(&self, id: &str) -> Option<&'a Snapshot> {
        self.snaps.get(id).copied()
    }
}

/// The blobs of `parts` (contiguous, from byte 0) in order, and the length and hash of the bytes
/// they rebuild, read as `dbarchive::extract` reads them. Each part's stored file must be as
/// long as its description says.
pub(super) fn gather(
    trees: &mut Trees<'_>,
    parts: &[PartRef],
) -> anyhow::Result<(Vec<BlobRef>, Hashed)> {
    let mut blobs = Vec::new();
    let mut hash = HashWriter::default();
    for p in parts.iter().filter(|p| p.len > 0) {
        let name = part_name(&p.file, p.offset);
        let entry = trees.file(&p.snapshot, &name)?;
        let EntryKind::File { size, blobs: b } = &entry.kind else {
            anyhow::bail!(
                "part {name} of snapshot {} is not a file",
                short(&p.snapshot)
            );
        };
        anyhow::ensure!(
            *size == p.len && hash.len == p.offset,
            "part {name} of snapshot {} holds {size} bytes where its description says {}",
            short(&p.snapshot),
            p.len
        );
        trees.reader().write_file(&entry, &mut hash)?;
        anyhow::ensure!(
            hash.len == p.offset + p.len,
            "part {name} of snapshot {} read short",
            short(&p.snapshot)
        );
        blobs.extend(b.iter().copied());
    }
    Ok((blobs, hash.finish()))
}

/// The file `name` of snapshot `snap`, read back and hashed.
pub(super) fn read_back(reader: &Reader, snap: &Snapshot, name: &str) -> anyhow::Result<Hashed> {
    let entry = reader
        .entries(snap, None)?
        .into_iter()
        .find(|e| e.path.as_os_str() == name)
        .with_context(|| format!("{name} missing from snapshot {}", snap.short_id()))?;
    let mut hash = HashWriter::default();
    reader.write_file(&entry, &mut hash)?;
    anyhow::ensure!(
        hash.len == entry.size(),
        "{name} of snapshot {} read {} of its {} bytes",
        snap.short_id(),
        hash.len,
        entry.size()
    );
    Ok(hash.finish())
}

fn short(id: &str) -> &str {
    &id[..8.min(id.len())]
}

#[derive(Default)]
struct HashWriter {
    sha: Sha256,
    len: u64,
}

impl HashWriter {
    fn finish(self) -> Hashed {
        Hashed {
            len: self.len,
            sha256: hex::encode(self.sha.finalize()),
        }
    }
}

impl Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.sha.update(buf);
        self.len += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

//! Reading snapshots back: tree walks and blob-by-blob file contents.
//!
//! Restores go through here instead of rustic_core's `restore()`, which panics on one unreadable
//! blob and held 2 GB of RSS restoring 2 GB: reading blob by blob keeps memory bounded to a
//! blob per worker, and a damaged blob fails one file, not the run.

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use rustic_core::repofile::{BlobType, Node, NodeType};
use rustic_core::{BlobId, DataId, IndexedFullStatus, Repository};
use serde::Serialize;

use super::{Context, RepoError, Result, Snapshot, MANIFEST_DIR};

/// Blobs each reader of a file holds ahead of its writer (each at most rustic's largest
/// chunk, 8 MiB).
const READ_AHEAD_BLOBS: usize = 2;
/// Readers of one big file at once: a physical full's stream (1.4 GiB at TPC-H SF 1) took 11.8 s
/// to extract with one, which decrypted and decompressed every blob in turn.
const READ_WORKERS: usize = 3;

/// An opaque reference to one data blob (a content-defined chunk of a file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlobRef(pub(super) DataId);

/// File metadata as stored in the snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Meta {
    pub mode: Option<u32>,
    pub mtime: Option<jiff::Timestamp>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    File {
        size: u64,
        blobs: Vec<BlobRef>,
    },
    Dir,
    Symlink {
        target: PathBuf,
    },
    /// Devices, fifos and sockets: recorded, not restored.
    Other(String),
    /// A node no path can name, and why: a name that is empty, `.` or `..`, holds a `/` or a
    /// NUL, or repeats an earlier name of its folder; a folder without a tree. Only a crafted
    /// or damaged snapshot has one. Its path joins the raw name to
    /// its folder's, for messages only; nothing below it is listed.
    Invalid(String),
}

/// One node of a snapshot tree, with its path relative to the walked folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: PathBuf,
    pub kind: EntryKind,
    pub meta: Meta,
}

impl Entry {
    pub fn size(&self) -> u64 {
        match &self.kind {
            EntryKind::File { size, .. } => *size,
            _ => 0,
        }
    }

    /// Same content (same chunks) as another entry: cheap equality without reading data.
    pub fn same_content(&self, other: &Entry) -> bool {
        self.kind == other.kind
    }
}

/// A repository with its full index loaded, for reading trees and data.
pub struct Reader {
    repo: Repository<IndexedFullStatus>,
}

impl Reader {
    pub(super) fn new(repo: Repository<IndexedFullStatus>) -> Self {
        Self { repo }
    }

    /// Every entry below `sub` (an absolute path inside the snapshot; `None` = the snapshot's
    /// root), in tree order (a folder, then what it holds), paths relative to it.
    ///
    /// Walked here, not by rustic's `ls`: `ls` joins names to paths as they come, so a name
    /// such as `/etc` or `a/b` in a crafted tree moves every later path of its folder. Here
    /// such a node becomes an [`EntryKind::Invalid`] entry and the walk goes on beside it.
    pub fn entries(&self, snap: &Snapshot, sub: Option<&str>) -> Result<Vec<Entry>> {
        let node = self.node(snap, sub.unwrap_or(snap.root()))?;
        if !node.is_dir() {
            let name = PathBuf::from(node.name().into_owned());
            return Ok(vec![to_entry(name, &node)]);
        }
        let mut out = Vec::new();
        // Per open folder: its path, the nodes still to list, the names listed so far.
        let mut stack = vec![(PathBuf::new(), self.children(snap, &node)?, HashSet::new())];
        while let Some((dir, nodes, seen)) = stack.last_mut() {
            let Some(node) = nodes.next() else {
                stack.pop();
                continue;
            };
            let name = node.name().into_owned();
            if let Some(why) = invalid_name(&name, seen) {
                out.push(invalid(dir, &name, &node, why));
                continue;
            }
            if node.is_dir() && node.subtree.is_none() {
                out.push(invalid(
                    dir,
                    &name,
                    &node,
                    "a folder without content (a damaged tree)",
                ));
                continue;
            }
            let path = dir.join(&name);
            seen.insert(name);
            out.push(to_entry(path.clone(), &node));
            if node.is_dir() {
                let nodes = self.children(snap, &node)?;
                stack.push((path, nodes, HashSet::new()));
            }
        }
        Ok(out)
    }

    /// The nodes of a folder's tree, in stored order.
    fn children(&self, snap: &Snapshot, dir: &Node) -> Result<std::vec::IntoIter<Node>> {
        let Some(id) = dir.subtree else {
            return Ok(Vec::new().into_iter());
        };
        let tree = self
            .repo
            .get_tree(&id)
            .ctx(|| format!("cannot read a tree of snapshot {}", snap.short_id()))?;
        Ok(tree.nodes.into_iter())
    }

    fn node(&self, snap: &Snapshot, path: &str) -> Result<Node> {
        let snap_file = self
            .repo
            .get_snapshots(&[&snap.id])
            .ctx(|| format!("cannot load snapshot {}", snap.short_id()))?
            .pop()
            .ok_or_else(|| RepoError::NoSnapshot(snap.id.clone()))?;
        self.repo
            .node_from_snapshot_and_path(&snap_file, path)
            .ctx(|| format!("no `{path}` in snapshot {}", snap.short_id()))
    }

    /// The decrypted, verified content of one blob.
    pub fn blob(&self, blob: &BlobRef) -> Result<bytes::Bytes> {
        self.repo
            .get_blob_cached(&BlobId::from(*blob.0), BlobType::Data)
            .ctx(|| format!("cannot read blob {}", blob.0))
    }

    /// Writes a file's content to `w`, blob by blob. A file of several blobs is read ahead on
    /// a few threads (a few blobs each, bounded), so reading, decrypting and decompressing the
    /// next blobs overlaps with a slow writer (a database client fed a dump) and with each
    /// other instead of stalling it.
    pub fn write_file(&self, entry: &Entry, w: &mut impl Write) -> Result<()> {
        let EntryKind::File { blobs, .. } = &entry.kind else {
            return Ok(());
        };
        let write = |w: &mut dyn Write, data: &[u8]| {
            w.write_all(data).map_err(|source| RepoError::Io {
                context: format!("cannot write {}", entry.path.display()),
                source,
            })
        };
        if blobs.len() <= 2 {
            for b in blobs {
                write(w, &self.blob(b)?)?;
            }
            return Ok(());
        }
        // Blob k is fetched by worker k % n and taken from the workers in turn, so the
        // writer gets them in order while n blobs are read, decrypted and decompressed at once.
        let n = READ_WORKERS.min(blobs.len());
        std::thread::scope(|s| {
            let lanes: Vec<_> = (0..n)
                .map(|k| {
                    let (tx, rx) = std::sync::mpsc::sync_channel(READ_AHEAD_BLOBS);
                    s.spawn(move || {
                        for b in blobs.iter().skip(k).step_by(n) {
                            let data = self.blob(b);
                            let failed = data.is_err();
                            // A closed channel: the writer failed and stopped reading.
                            if tx.send(data).is_err() || failed {
                                return;
                            }
                        }
                    });
                    rx
                })
                .collect();
            for i in 0..blobs.len() {
                let data = lanes[i % n].recv().map_err(|_| RepoError::Io {
                    context: format!("cannot read {}", entry.path.display()),
                    source: std::io::Error::other("a blob reader stopped"),
                })?;
                write(w, &data?)?;
            }
            Ok(())
        })
    }

    /// The content of a small file (the manifest, a job JSON) as bytes.
    pub fn read_to_vec(&self, entry: &Entry) -> Result<Vec<u8>> {
        let mut v = Vec::with_capacity(entry.size() as usize);
        self.write_file(entry, &mut v)?;
        Ok(v)
    }

    /// A file stored under `/.dxbackup/` by dxbackup itself, if the snapshot has it.
    pub fn meta_file(&self, snap: &Snapshot, name: &str) -> Result<Option<Vec<u8>>> {
        self.file(snap, &Path::new(MANIFEST_DIR).join(name).to_string_lossy())
    }

    /// The content of the small file at `path` (absolute inside the snapshot), if there.
    pub fn file(&self, snap: &Snapshot, path: &str) -> Result<Option<Vec<u8>>> {
        let Ok(node) = self.node(snap, path) else {
            return Ok(None);
        };
        let name = PathBuf::from(node.name().into_owned());
        self.read_to_vec(&to_entry(name, &node)).map(Some)
    }
}

/// Why `name` cannot be a path component of a restore, if it cannot (see
/// [`EntryKind::Invalid`]).
fn invalid_name(name: &OsStr, seen: &HashSet<OsString>) -> Option<&'static str> {
    let b = name.as_bytes();
    if b.is_empty() {
        Some("an empty name")
    } else if b == b".." {
        Some("the name `..` (it would leave its folder)")
    } else if b == b"." {
        Some("the name `.` (it names its own folder)")
    } else if b.contains(&b'/') {
        Some("a name holding `/` (it would land in another folder)")
    } else if b.contains(&0) {
        Some("a name holding a NUL byte")
    } else if seen.contains(name) {
        Some("a second entry of this name in its folder")
    } else {
        None
    }
}

/// The entry of an invalid node; `dir` and `name` joined as bytes (`Path::join` would replace
/// the folder with an absolute name), so a message shows where it was.
fn invalid(dir: &Path, name: &OsStr, node: &Node, why: &str) -> Entry {
    let mut raw = dir.as_os_str().as_bytes().to_vec();
    if !raw.is_empty() {
        raw.push(b'/');
    }
    raw.extend_from_slice(name.as_bytes());
    let mut e = to_entry(PathBuf::from(OsString::from_vec(raw)), node);
    e.kind = EntryKind::Invalid(why.into());
    e
}

fn to_entry(path: PathBuf, node: &Node) -> Entry {
    let m = &node.meta;
    let meta = Meta {
        mode: m.mode,
        mtime: m.mtime,
        uid: m.uid,
        gid: m.gid,
    };
    let kind = match &node.node_type {
        NodeType::File => EntryKind::File {
            size: m.size,
            blobs: node
                .content
                .iter()
                .flatten()
                .map(|id| BlobRef(*id))
                .collect(),
        },
        NodeType::Dir => EntryKind::Dir,
        t @ NodeType::Symlink { .. } => EntryKind::Symlink {
            target: t.to_link().to_path_buf(),
        },
        other => EntryKind::Other(other.to_string()),
    };
    Entry { path, kind, meta }
}

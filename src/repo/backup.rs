//! Backing up a files source: rustic_core's archiver fed by our own `ReadSource`, which filters
//! the walk with the source's include/exclude rules and adds the manifest files under
//! `/.dxbackup/` so every snapshot explains itself (and a bare-metal restore can start from it).

use std::ffi::OsStr;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustic_core::repofile::{Metadata, Node, NodeType};
use rustic_core::{
    BackupOptions, IndexedIdsStatus, LocalSource, LocalSourceFilterOptions, LocalSourceSaveOptions,
    ParentOptions, ReadSource, ReadSourceEntry, ReadSourceOpen, Repository, RusticResult,
    SnapshotOptions,
};

mod stream;

use self::stream::FillReader;
pub use self::stream::Stream;
use super::lock::{LockKind, Wait};
use super::undo::Undo;
use super::{Context, Repo, RepoError, Result, Snapshot, MANIFEST_DIR, TAG};
use crate::source::files::Filter;

/// What to back up and how to label it.
pub struct BackupRequest {
    pub source: String,
    /// `files`, `mysql-full` or `binlog`: the `kind:` tag. A `binlog` part waits for an
    /// exclusive lock as long as it is held (see [`Repo::backup`]).
    pub kind: String,
    pub tier: String,
    pub host: String,
    pub content: Content,
    /// Extra files stored under `/.dxbackup/` (name, content): the manifest, the config used.
    pub meta_files: Vec<(String, Vec<u8>)>,
    /// Their mtime: stable (the config's), so an unchanged manifest is not a changed file.
    pub meta_mtime: jiff::Timestamp,
    /// Stored in the snapshot file itself: what listing snapshots must tell without reading
    /// trees (a dump's coordinates, a binlog segment's range).
    pub description: Option<String>,
}

/// What goes into the snapshot besides the manifest.
pub enum Content {
    /// A folder tree (absolute, canonical root), filtered.
    Files { root: PathBuf, filter: Filter },
    /// Streams (a dump, binlog files) stored as files named `name` in `dir` (absolute inside
    /// the snapshot), which is the snapshot's root.
    Streams {
        dir: PathBuf,
        streams: Mutex<Vec<Stream>>,
    },
}

impl Content {
    pub fn streams(dir: impl Into<PathBuf>, mut streams: Vec<Stream>) -> Self {
        streams.sort_by(|a, b| a.name.cmp(&b.name));
        Self::Streams {
            dir: dir.into(),
            streams: Mutex::new(streams),
        }
    }

    /// The snapshot's `paths` entry: what restores strip.
    fn root(&self) -> PathBuf {
        match self {
            Self::Files { root, .. } => root.clone(),
            Self::Streams { dir, .. } => dir.clone(),
        }
    }
}

pub struct BackupResult {
    pub snapshot: Snapshot,
    /// Entries that could not be read (they are missing from the snapshot).
    pub warnings: Vec<String>,
}

impl Repo {
    /// Backs up one source into a new snapshot, under a non-exclusive lock (as restic's
    /// `backup`), taken before the index is read: a prune must not remove data this backup
    /// has seen in the index and refers to instead of storing it again.
    ///
    /// The continuous binlog archiver stores each part with its own lock, so that between two
    /// parts there is none and a prune (waiting for an exclusive lock) gets in. While an
    /// exclusive lock is held, a `binlog` part waits as long as it is held, not `lock_wait`:
    /// the spool keeps the binlog meanwhile, so only the RPO suffers, for the prune's duration,
    /// where giving up would stop the archiver.
    pub fn backup(&self, req: &BackupRequest) -> Result<BackupResult> {
        self.backup_at(req, None)
    }

    /// [`backup`](Self::backup), the snapshot dated `time` instead of now: a merged binlog file
    /// keeps the time of the newest part it replaces, so listings stay in order.
    pub fn backup_at(
        &self,
        req: &BackupRequest,
        time: Option<jiff::Timestamp>,
    ) -> Result<BackupResult> {
        let _lock = if req.kind == "binlog" {
            self.lock_waiting(LockKind::Shared, Wait::WhileHeld)?
        } else {
            self.lock(LockKind::Shared)?
        };
        let (repo, undo) = self.indexed_ids()?;
        self.archive(&repo, req, time)
            .inspect_err(|_| undo.abandon(&self.name))
    }

    /// Stores each request as its own snapshot (with its own packs and index file, as separate
    /// backups would), under one lock and one read of the index: how the benchmark builds a
    /// day of binlog flushes in minutes. Content is not deduplicated between the requests.
    pub fn backup_batch(&self, reqs: &[BackupRequest]) -> Result<Vec<BackupResult>> {
        let _lock = self.lock(LockKind::Shared)?;
        let (repo, undo) = self.indexed_ids()?;
        reqs.iter()
            .map(|r| self.archive(&repo, r, None))
            .collect::<Result<_>>()
            .inspect_err(|_| undo.abandon(&self.name))
    }

    /// A repository to back up into; a failed backup takes back its packs through the
    /// [`Undo`] (what a full disk would otherwise keep full).
    fn indexed_ids(&self) -> Result<(Repository<IndexedIdsStatus>, Arc<Undo>)> {
        let (repo, undo) = self.reopen_undoable()?;
        let repo = repo
            .to_indexed_ids()
            .ctx(|| format!("cannot read the index of `{}`", self.name))?;
        Ok((repo, undo))
    }

    fn archive(
        &self,
        repo: &Repository<IndexedIdsStatus>,
        req: &BackupRequest,
        time: Option<jiff::Timestamp>,
    ) -> Result<BackupResult> {
        let tags = format!(
            "{TAG},source:{},kind:{},tier:{}",
            req.source, req.kind, req.tier
        );
        let mut opts = SnapshotOptions::default()
            .add_tags(&tags)
            .ctx(|| format!("bad tags {tags}"))?;
        opts.host = Some(req.host.clone());
        opts.label = Some(req.source.clone());
        opts.description.clone_from(&req.description);
        opts.time = time.map(|t| t.to_zoned(jiff::tz::TimeZone::system()));
        let snap = opts
            .to_snapshot()
            .ctx(|| "cannot prepare snapshot".into())?;

        let warnings = Arc::new(Mutex::new(Vec::new()));
        let src = SnapshotSource::new(req, warnings.clone())?;
        let root = req.content.root();
        // A stream never matches a parent's file (its mtime is now), so looking for a parent
        // would only read every snapshot file of the repository, at every binlog flush.
        let force = matches!(req.content, Content::Streams { .. });
        let opts = BackupOptions::default().parent_opts(ParentOptions::default().force(force));
        let snap = repo
            .archive(&opts, &src, snap, std::slice::from_ref(&root))
            .ctx(|| format!("backup of `{}` into `{}` failed", req.source, self.name))?;
        let warnings = std::mem::take(&mut *warnings.lock().expect("warnings lock"));
        Ok(BackupResult {
            snapshot: Snapshot::from(&snap),
            warnings,
        })
    }
}

type Warnings = Arc<Mutex<Vec<String>>>;

/// The entries of one snapshot: the manifest files, then the content.
struct SnapshotSource {
    local: Option<(LocalSource, PathBuf, Filter)>,
    streams: Option<(PathBuf, Mutex<Vec<Stream>>)>,
    meta_files: Vec<(String, Vec<u8>)>,
    meta_mtime: jiff::Timestamp,
    warnings: Warnings,
}

impl SnapshotSource {
    fn new(req: &BackupRequest, warnings: Warnings) -> Result<Self> {
        let mut src = Self {
            local: None,
            streams: None,
            meta_files: req.meta_files.clone(),
            meta_mtime: req.meta_mtime,
            warnings,
        };
        match &req.content {
            Content::Files { root, filter } => {
                src.local = Some((Self::walker(req, root)?, root.clone(), filter.clone()));
            }
            Content::Streams { dir, streams } => {
                let streams = std::mem::take(&mut *streams.lock().expect("streams lock"));
                src.streams = Some((dir.clone(), Mutex::new(streams)));
            }
        }
        Ok(src)
    }

    fn walker(req: &BackupRequest, root: &Path) -> Result<LocalSource> {
        if !root.is_dir() {
            return Err(RepoError::Io {
                context: format!(
                    "source `{}`: root {} is not a folder",
                    req.source,
                    root.display()
                ),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
        LocalSource::new(
            LocalSourceSaveOptions::default(),
            &rustic_core::Excludes::default(),
            &LocalSourceFilterOptions::default(),
            std::slice::from_ref(&root.to_path_buf()),
        )
        .ctx(|| format!("cannot walk {}", root.display()))
    }

    fn meta_entries(&self) -> Vec<RusticResult<ReadSourceEntry<Opener>>> {
        let meta = |mode: u32, size: u64| Metadata {
            mode: Some(mode),
            mtime: Some(self.meta_mtime),
            size,
            ..Metadata::default()
        };
        let dir = PathBuf::from(MANIFEST_DIR);
        let mut out = vec![Ok(ReadSourceEntry {
            path: dir.clone(),
            node: Node::new_node(OsStr::new(".dxbackup"), NodeType::Dir, meta(0o40700, 0)),
            open: None,
        })];
        let mut files = self.meta_files.clone();
        files.sort();
        for (name, data) in files {
            out.push(Ok(ReadSourceEntry {
                path: dir.join(&name),
                node: Node::new_node(
                    OsStr::new(&name),
                    NodeType::File,
                    meta(0o100600, data.len() as u64),
                ),
                open: Some(Opener::Mem(data)),
            }));
        }
        out
    }
}

/// A file on disk (opened by rustic's local source), bytes we generated, or a stream.
enum Opener {
    Local(<LocalSource as ReadSource>::Open, PathBuf, Warnings),
    Mem(Vec<u8>),
    Stream(Box<dyn Read + Send>),
}

impl ReadSourceOpen for Opener {
    type Reader = Box<dyn Read + Send>;

    fn open(self) -> RusticResult<Self::Reader> {
        match self {
            Self::Mem(data) => Ok(Box::new(Cursor::new(data))),
            Self::Stream(r) => Ok(Box::new(FillReader::new(r))),
            Self::Local(open, path, warnings) => match open.open() {
                Ok(r) => Ok(Box::new(r)),
                Err(e) => {
                    warnings.lock().expect("warnings lock").push(format!(
                        "cannot read {}: {}",
                        path.display(),
                        super::display(&e)
                    ));
                    Err(e)
                }
            },
        }
    }
}

type EntryIter = Box<dyn Iterator<Item = RusticResult<ReadSourceEntry<Opener>>> + Send>;

impl ReadSource for SnapshotSource {
    type Open = Opener;
    type Iter = EntryIter;

    fn size(&self) -> RusticResult<Option<u64>> {
        Ok(self
            .local
            .as_ref()
            .map(|(_, root, filter)| included_size(root, filter)))
    }

    fn entries(&self) -> Self::Iter {
        let meta = self.meta_entries().into_iter();
        if let Some((local, root, filter)) = &self.local {
            return Box::new(meta.chain(Self::local_entries(
                local,
                root.clone(),
                filter.clone(),
                self.warnings.clone(),
            )));
        }
        Box::new(meta.chain(self.stream_entries()))
    }
}

impl SnapshotSource {
    /// The streams' folders (private, like a dump should be), then the streams.
    fn stream_entries(&self) -> Vec<RusticResult<ReadSourceEntry<Opener>>> {
        let Some((dir, streams)) = &self.streams else {
            return vec![];
        };
        // `entries` is called once per backup: each stream is read once.
        let streams = std::mem::take(&mut *streams.lock().expect("streams lock"));
        let now = jiff::Timestamp::now();
        let meta = |mode: u32| Metadata {
            mode: Some(mode),
            mtime: Some(now),
            ..Metadata::default()
        };
        let mut out = Vec::new();
        let mut dirs: Vec<&Path> = dir.ancestors().filter(|p| p.parent().is_some()).collect();
        dirs.reverse();
        for d in dirs {
            let name = d.file_name().unwrap_or_default();
            out.push(Ok(ReadSourceEntry {
                path: d.to_path_buf(),
                node: Node::new_node(name, NodeType::Dir, meta(0o40700)),
                open: None,
            }));
        }
        for Stream {
            name,
            size,
            reader,
            stored,
        } in streams
        {
            let mut m = meta(0o100600);
            // Unknown (a dump's): the archiver records the bytes stored (vendor/rustic_core).
            m.size = size.unwrap_or(0);
            let mut node = Node::new_node(OsStr::new(&name), NodeType::File, m);
            // Blobs already stored: the node is saved as given (vendor/rustic_core, patch 2).
            let open = match stored {
                Some(blobs) => {
                    node.content = Some(blobs.into_iter().map(|b| b.0).collect());
                    None
                }
                None => Some(Opener::Stream(reader)),
            };
            out.push(Ok(ReadSourceEntry {
                path: dir.join(&name),
                node,
                open,
            }));
        }
        out
    }

    fn local_entries(
        local: &LocalSource,
        root: PathBuf,
        filter: Filter,
        warnings: Warnings,
    ) -> impl Iterator<Item = RusticResult<ReadSourceEntry<Opener>>> + Send + 'static {
        local.entries().filter_map(move |item| match item {
            Err(e) => {
                warnings
                    .lock()
                    .expect("warnings lock")
                    .push(super::display(&e));
                None
            }
            Ok(ReadSourceEntry { path, node, open }) => {
                let rel = path.strip_prefix(&root).unwrap_or(&path);
                filter.keeps(rel, node.is_dir()).then(|| {
                    let open = open.map(|o| Opener::Local(o, path.clone(), warnings.clone()));
                    Ok(ReadSourceEntry { path, node, open })
                })
            }
        })
    }
}

/// Bytes the filtered walk will read: the progress bar's total.
fn included_size(root: &Path, filter: &Filter) -> u64 {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(std::result::Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter(|e| filter.keeps(e.path().strip_prefix(root).unwrap_or(e.path()), false))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

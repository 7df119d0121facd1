//! Backing up a files source: rustic_core's archiver fed by our own `ReadSource`, which filters
//! the walk with the source's include/exclude rules and adds the manifest files under
//! `/.dxbackup/` so every snapshot explains itself (and a bare-metal restore can start from it).

use std::ffi::OsStr;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustic_core::repofile::{Metadata, Node, NodeType};
use rustic_core::{
    BackupOptions, LocalSource, LocalSourceFilterOptions, LocalSourceSaveOptions, ReadSource,
    ReadSourceEntry, ReadSourceOpen, RusticResult, SnapshotOptions,
};

use super::{Context, Repo, RepoError, Result, Snapshot, MANIFEST_DIR, TAG};
use crate::source::files::Filter;

/// What to back up and how to label it.
pub struct BackupRequest {
    pub source: String,
    pub tier: String,
    pub host: String,
    /// Absolute, canonical root folder.
    pub root: PathBuf,
    pub filter: Filter,
    /// Extra files stored under `/.dxbackup/` (name, content): the manifest, the config used.
    pub meta_files: Vec<(String, Vec<u8>)>,
}

pub struct BackupResult {
    pub snapshot: Snapshot,
    /// Entries that could not be read (they are missing from the snapshot).
    pub warnings: Vec<String>,
}

impl Repo {
    /// Backs up one files source into a new snapshot.
    pub fn backup(&self, req: &BackupRequest) -> Result<BackupResult> {
        let repo = self
            .reopen()?
            .to_indexed_ids()
            .ctx(|| format!("cannot read the index of `{}`", self.name))?;
        let tags = format!("{TAG},source:{},kind:files,tier:{}", req.source, req.tier);
        let mut opts = SnapshotOptions::default()
            .add_tags(&tags)
            .ctx(|| format!("bad tags {tags}"))?;
        opts.host = Some(req.host.clone());
        opts.label = Some(req.source.clone());
        let snap = opts
            .to_snapshot()
            .ctx(|| "cannot prepare snapshot".into())?;

        let warnings = Arc::new(Mutex::new(Vec::new()));
        let src = FilesSource::new(req, warnings.clone())?;
        let snap = repo
            .archive(
                &BackupOptions::default(),
                &src,
                snap,
                std::slice::from_ref(&req.root),
            )
            .ctx(|| format!("backup of `{}` into `{}` failed", req.source, self.name))?;
        let warnings = std::mem::take(&mut *warnings.lock().expect("warnings lock"));
        Ok(BackupResult {
            snapshot: Snapshot::from(&snap),
            warnings,
        })
    }
}

type Warnings = Arc<Mutex<Vec<String>>>;

struct FilesSource {
    local: LocalSource,
    root: PathBuf,
    filter: Filter,
    meta_files: Vec<(String, Vec<u8>)>,
    warnings: Warnings,
}

impl FilesSource {
    fn new(req: &BackupRequest, warnings: Warnings) -> Result<Self> {
        if !req.root.is_dir() {
            return Err(RepoError::Io {
                context: format!(
                    "source `{}`: root {} is not a folder",
                    req.source,
                    req.root.display()
                ),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
        let local = LocalSource::new(
            LocalSourceSaveOptions::default(),
            &rustic_core::Excludes::default(),
            &LocalSourceFilterOptions::default(),
            std::slice::from_ref(&req.root),
        )
        .ctx(|| format!("cannot walk {}", req.root.display()))?;
        Ok(Self {
            local,
            root: req.root.clone(),
            filter: req.filter.clone(),
            meta_files: req.meta_files.clone(),
            warnings,
        })
    }

    fn meta_entries(&self) -> Vec<RusticResult<ReadSourceEntry<Opener>>> {
        let now = jiff::Timestamp::now();
        let meta = |mode: u32, size: u64| Metadata {
            mode: Some(mode),
            mtime: Some(now),
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

/// Either a file on disk (opened by rustic's local source) or bytes we generated.
enum Opener {
    Local(<LocalSource as ReadSource>::Open, PathBuf, Warnings),
    Mem(Vec<u8>),
}

impl ReadSourceOpen for Opener {
    type Reader = Box<dyn Read + Send>;

    fn open(self) -> RusticResult<Self::Reader> {
        match self {
            Self::Mem(data) => Ok(Box::new(Cursor::new(data))),
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

impl ReadSource for FilesSource {
    type Open = Opener;
    type Iter = EntryIter;

    fn size(&self) -> RusticResult<Option<u64>> {
        Ok(Some(included_size(&self.root, &self.filter)))
    }

    fn entries(&self) -> Self::Iter {
        let root = self.root.clone();
        let filter = self.filter.clone();
        let warnings = self.warnings.clone();
        let local = self.local.entries().filter_map(move |item| match item {
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
        });
        // `/.dxbackup` sorts before any real root (`.` < letters), as the archiver needs.
        Box::new(self.meta_entries().into_iter().chain(local))
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

//! Restoring a files snapshot: `plan` decides what goes where (pure), `apply` writes it.
//!
//! Files are written by a small worker pool, blob by blob, to a temporary name beside the final
//! one and renamed into place: a reader of the target (DataX picking up a job) never sees a
//! half-written file. Folders are created first and get their mode and mtime last, deepest
//! first, so writing their content does not disturb them.

mod apply;
mod overwrite;

use std::path::{Component, Path, PathBuf};

use serde::Serialize;

pub use apply::{apply, RestoreReport};
pub use overwrite::{check_target, create_target, Overwrite};

use crate::repo::{Entry, EntryKind};
use crate::source::files::{Filter, FilterError};

/// How much to restore, and in which order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Everything, biggest files first (they bound the total time).
    #[default]
    Full,
    /// Core configuration and jobs (`conf/`, `job/`) first, then the rest: DataX can run again
    /// before the plugins finish.
    Fast,
    /// Only what `--only` selects.
    Partial,
}

/// Folders restored first in fast mode.
pub const FAST_FIRST: [&str; 2] = ["conf", "job"];

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("--mode partial needs --only, e.g. --only conf,job")]
    PartialWithoutOnly,
    #[error(transparent)]
    BadOnly(#[from] FilterError),
    // `dxbackup log` shows one file's versions, not a snapshot's files: the dry run lists them.
    #[error("the selection matches nothing in the snapshot; list its files with 'dxbackup restore SNAPSHOT --target DIR --dry-run' (without --only), or drop --only")]
    NothingSelected,
    #[error("cannot restore into {}: {} is a file, not a folder; pass --target a folder (it is created if missing)", target.display(), file.display())]
    TargetNotFolder { target: PathBuf, file: PathBuf },
    // `cause`, not `source`: shown once in the message, not again as anyhow's chain.
    #[error("cannot create restore target {}: {cause}; check the path and its permissions", target.display())]
    CreateTarget {
        target: PathBuf,
        cause: std::io::Error,
    },
    #[error("the restore would replace {count} existing path(s) in {} that differ from the snapshot: {named}; nothing was written. Pass --overwrite if-changed to replace them, --overwrite never to keep them and restore only what is missing, or --force to replace every existing file; --dry-run lists them", target.display())]
    WouldOverwrite {
        target: PathBuf,
        count: usize,
        named: String,
    },
}

/// What a restore will do.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RestorePlan {
    pub mode: Mode,
    #[serde(skip)]
    pub dirs: Vec<Entry>,
    /// In restore order.
    #[serde(skip)]
    pub files: Vec<Entry>,
    #[serde(skip)]
    pub links: Vec<Entry>,
    /// How many of `files`, from the front, are the fast-mode core.
    pub core_files: usize,
    /// Entries not restored because of their name, and why: one that would land outside the
    /// target or in another folder, or that repeats a name (see [`EntryKind::Invalid`]).
    pub refused: Vec<(PathBuf, String)>,
    /// Devices, fifos, sockets: not restored.
    pub skipped: Vec<PathBuf>,
    pub total_bytes: u64,
    /// What to do with paths the target already holds (see [`Self::resolve_existing`]).
    pub overwrite: Overwrite,
    /// Paths the target holds that the restore replaces.
    pub overwrites: Vec<PathBuf>,
    /// Paths the target holds that the restore leaves as they are (identical, or `never`).
    pub kept: Vec<PathBuf>,
}

impl RestorePlan {
    pub fn file_count(&self) -> usize {
        self.files.len()
    }
}

/// Plans a restore of `entries` (paths relative to the snapshot root).
pub fn plan(entries: Vec<Entry>, mode: Mode, only: &[String]) -> Result<RestorePlan, RestoreError> {
    let mode = if !only.is_empty() && mode == Mode::Full {
        Mode::Partial
    } else {
        mode
    };
    if mode == Mode::Partial && only.is_empty() {
        return Err(RestoreError::PartialWithoutOnly);
    }
    let filter = if only.is_empty() {
        None
    } else {
        Some(Filter::new(only, &[])?)
    };
    let mut p = RestorePlan {
        mode,
        ..RestorePlan::default()
    };
    for e in entries {
        if e.path.as_os_str().is_empty() {
            continue;
        }
        let refused = match &e.kind {
            EntryKind::Invalid(why) => Some(format!("refused: {why}")),
            _ if !is_safe(&e.path) => {
                Some("refused: the path would land outside the target".into())
            }
            _ => None,
        };
        if let Some(why) = refused {
            p.refused.push((e.path, why));
            continue;
        }
        let is_dir = matches!(e.kind, EntryKind::Dir);
        if filter.as_ref().is_some_and(|f| !f.keeps(&e.path, is_dir)) {
            continue;
        }
        match &e.kind {
            EntryKind::Dir => p.dirs.push(e),
            EntryKind::File { size, .. } => {
                p.total_bytes += size;
                p.files.push(e);
            }
            EntryKind::Symlink { .. } => p.links.push(e),
            // Invalid ones were refused above.
            EntryKind::Other(_) | EntryKind::Invalid(_) => p.skipped.push(e.path),
        }
    }
    if filter.is_some() && p.files.is_empty() && p.links.is_empty() {
        return Err(RestoreError::NothingSelected);
    }
    let core = |e: &Entry| mode == Mode::Fast && FAST_FIRST.iter().any(|c| e.path.starts_with(c));
    // Largest first bounds the wall time on a worker pool; the core goes before all of it.
    p.files
        .sort_by_key(|e| (!core(e), std::cmp::Reverse(e.size())));
    p.core_files = p.files.iter().take_while(|e| core(e)).count();
    Ok(p)
}

/// Only plain relative components: nothing may land outside the target.
fn is_safe(path: &Path) -> bool {
    path.components().all(|c| matches!(c, Component::Normal(_)))
}

/// Where an entry lands.
pub fn destination(target: &Path, entry: &Entry) -> PathBuf {
    target.join(&entry.path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::Meta;
    use rstest::rstest;

    fn file(p: &str, size: u64) -> Entry {
        Entry {
            path: p.into(),
            kind: EntryKind::File {
                size,
                blobs: vec![],
            },
            meta: Meta::default(),
        }
    }
    fn dir(p: &str) -> Entry {
        Entry {
            path: p.into(),
            kind: EntryKind::Dir,
            meta: Meta::default(),
        }
    }

    fn tree() -> Vec<Entry> {
        vec![
            dir("conf"),
            file("conf/core.json", 10),
            dir("job"),
            file("job/a.json", 20),
            dir("plugin"),
            file("plugin/big.jar", 1000),
            file("script/run.sh", 5),
            file("../escape", 1),
            file("/etc/passwd", 1),
        ]
    }

    #[test]
    fn refuses_paths_outside_the_target() {
        let p = plan(tree(), Mode::Full, &[]).unwrap();
        let refused: Vec<_> = p.refused.iter().map(|(p, _)| p.as_path()).collect();
        assert_eq!(refused, [Path::new("../escape"), Path::new("/etc/passwd")]);
        assert_eq!(p.file_count(), 4);
        assert_eq!(
            p.files[0].path,
            Path::new("plugin/big.jar"),
            "largest first"
        );
    }

    #[test]
    fn fast_mode_puts_core_first() {
        let p = plan(tree(), Mode::Fast, &[]).unwrap();
        assert_eq!(p.core_files, 2);
        assert!(p.files[..2]
            .iter()
            .all(|e| e.path.starts_with("conf") || e.path.starts_with("job")));
    }

    #[rstest]
    #[case(&["conf"], 1)]
    #[case(&["conf", "job"], 2)]
    #[case(&["job/*.json"], 1)]
    #[case(&["plugin/"], 1)]
    fn partial_selects(#[case] only: &[&str], #[case] files: usize) {
        let only: Vec<String> = only.iter().map(|s| s.to_string()).collect();
        let p = plan(tree(), Mode::Partial, &only).unwrap();
        assert_eq!(p.file_count(), files);
        assert_eq!(p.mode, Mode::Partial);
    }

    #[test]
    fn partial_needs_a_selection_that_matches() {
        assert!(matches!(
            plan(tree(), Mode::Partial, &[]),
            Err(RestoreError::PartialWithoutOnly)
        ));
        assert!(matches!(
            plan(tree(), Mode::Full, &["nope".into()]),
            Err(RestoreError::NothingSelected)
        ));
    }
}

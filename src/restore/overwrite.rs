//! What a restore finds already at its target, and what it does about it. A restore into the
//! live DataX home by mistake must not silently undo today's edits, so by default nothing that
//! differs from the snapshot is replaced: the restore stops before writing and names what it
//! would replace. `--overwrite` (restic's flag of that name) says what to do instead.

use std::fs::{self, Metadata};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{destination, RestoreError, RestorePlan};
use crate::repo::{Entry, EntryKind};

/// How many paths a refusal names; `--dry-run` lists them all.
const NAMED: usize = 5;

/// What to do with a path that the snapshot has and the target already holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Overwrite {
    /// No flag given: leave identical files as they are and refuse the whole restore if
    /// anything else would be replaced.
    #[default]
    #[value(skip)]
    Refuse,
    /// Keep every existing file; restore only what is missing.
    Never,
    /// Replace an existing file only when its size, modification time or mode differ from the
    /// snapshot's; identical ones are kept.
    IfChanged,
    /// Replace every existing file.
    Always,
}

/// Where the restore writes: the target or its first existing ancestor must be a folder.
/// Checked before anything is read or written, so a wrong `--target` is an error, not a
/// restore that fails file by file.
pub fn check_target(target: &Path) -> Result<(), RestoreError> {
    let mut p = target;
    loop {
        // `metadata` follows links: a link to a folder is a fine target.
        if let Ok(m) = fs::metadata(p) {
            if m.is_dir() {
                return Ok(());
            }
            return Err(RestoreError::TargetNotFolder {
                target: target.to_path_buf(),
                file: p.to_path_buf(),
            });
        }
        match p.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => p = parent,
            _ => return Ok(()),
        }
    }
}

/// Creates the target folder (and its parents) before the first file is written.
pub fn create_target(target: &Path) -> Result<(), RestoreError> {
    fs::create_dir_all(target).map_err(|cause| RestoreError::CreateTarget {
        target: target.to_path_buf(),
        cause,
    })
}

impl RestorePlan {
    /// Looks at what `target` already holds and applies `policy`: paths left as they are go to
    /// `kept` and out of the plan, paths that will be replaced go to `overwrites`. Under
    /// [`Overwrite::Refuse`] the plan still holds the differing paths: [`Self::refusal`] says
    /// whether the restore may go ahead.
    pub fn resolve_existing(&mut self, target: &Path, policy: Overwrite) {
        self.overwrite = policy;
        let empty = fs::read_dir(target).map_or(true, |mut d| d.next().is_none());
        if empty {
            return;
        }
        let mut drop: Vec<PathBuf> = Vec::new();
        // A file or link where the snapshot has a folder: kept under `never`, so nothing of
        // that folder can be restored.
        let mut blocked: Vec<PathBuf> = Vec::new();
        let entries = self.dirs.iter().chain(&self.files).chain(&self.links);
        for e in entries {
            let Some(unchanged) = existing(e, &destination(target, e)) else {
                continue;
            };
            let keep = match policy {
                Overwrite::Never => true,
                Overwrite::Refuse | Overwrite::IfChanged => unchanged,
                Overwrite::Always => false,
            };
            if keep {
                if matches!(e.kind, EntryKind::Dir) {
                    blocked.push(e.path.clone());
                }
                drop.push(e.path.clone());
            } else {
                self.overwrites.push(e.path.clone());
            }
        }
        if drop.is_empty() {
            return;
        }
        drop.sort();
        let gone = |e: &Entry| {
            drop.binary_search(&e.path).is_ok() || blocked.iter().any(|b| e.path.starts_with(b))
        };
        self.dirs.retain(|e| !gone(e));
        self.links.retain(|e| !gone(e));
        let mut core_kept = 0;
        let mut i = 0;
        self.files.retain(|e| {
            let keep = !gone(e);
            if !keep && i < self.core_files {
                core_kept += 1;
            }
            i += 1;
            keep
        });
        self.core_files -= core_kept;
        self.total_bytes = self.files.iter().map(Entry::size).sum();
        self.kept = drop;
    }

    /// Under the default policy, the error that stops a restore which would replace files that
    /// differ from the snapshot; `None` when the restore may go ahead.
    pub fn refusal(&self, target: &Path) -> Option<RestoreError> {
        if self.overwrite != Overwrite::Refuse || self.overwrites.is_empty() {
            return None;
        }
        let mut named: Vec<String> = self
            .overwrites
            .iter()
            .take(NAMED)
            .map(|p| p.display().to_string())
            .collect();
        if self.overwrites.len() > NAMED {
            named.push("...".into());
        }
        Some(RestoreError::WouldOverwrite {
            target: target.to_path_buf(),
            count: self.overwrites.len(),
            named: named.join(", "),
        })
    }
}

/// Whether the target holds `entry`'s path already: `None` if not (or it holds the folder the
/// snapshot has), `Some(true)` if what it holds is identical to the snapshot's.
fn existing(entry: &Entry, dest: &Path) -> Option<bool> {
    let m = fs::symlink_metadata(dest).ok()?;
    match &entry.kind {
        EntryKind::Dir => (!m.is_dir()).then_some(false),
        EntryKind::File { size, .. } => {
            Some(m.is_file() && m.len() == *size && same_meta(&m, entry))
        }
        EntryKind::Symlink { target } => Some(
            m.file_type().is_symlink()
                && fs::read_link(dest).is_ok_and(|t| t.as_path() == target.as_path()),
        ),
        EntryKind::Other(_) | EntryKind::Invalid(_) => None,
    }
}

/// Same modification time (to the nanosecond, as a restore sets it) and mode; a snapshot
/// without an mtime proves nothing, so such a file counts as changed.
fn same_meta(m: &Metadata, entry: &Entry) -> bool {
    let Some(t) = entry.meta.mtime else {
        return false;
    };
    let mode_ok = entry
        .meta
        .mode
        .is_none_or(|mode| mode & 0o7777 == m.permissions().mode() & 0o7777);
    mode_ok && m.mtime() == t.as_second() && m.mtime_nsec() == i64::from(t.subsec_nanosecond())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::Meta;
    use crate::restore::{plan, Mode};
    use rstest::rstest;

    const MTIME: i64 = 1_700_000_000;

    fn file(p: &str, content: &str) -> Entry {
        Entry {
            path: p.into(),
            kind: EntryKind::File {
                size: content.len() as u64,
                blobs: vec![],
            },
            meta: Meta {
                mode: Some(0o644),
                mtime: Some(jiff::Timestamp::from_second(MTIME).unwrap()),
                ..Meta::default()
            },
        }
    }

    fn dir(p: &str) -> Entry {
        Entry {
            path: p.into(),
            kind: EntryKind::Dir,
            meta: Meta::default(),
        }
    }

    /// A target holding `conf/` with an identical `same.json` and a changed `edited.json`, and
    /// a file `job` where the snapshot has a folder.
    fn target() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        fs::create_dir(t.path().join("conf")).unwrap();
        for (name, content) in [("same.json", "same"), ("edited.json", "EDITED!")] {
            let p = t.path().join("conf").join(name);
            fs::write(&p, content).unwrap();
            fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
            filetime::set_file_mtime(&p, filetime::FileTime::from_unix_time(MTIME, 0)).unwrap();
        }
        fs::write(t.path().join("job"), "a file").unwrap();
        t
    }

    fn snapshot() -> Vec<Entry> {
        vec![
            dir("conf"),
            file("conf/same.json", "same"),
            file("conf/edited.json", "edited"),
            file("conf/new.json", "new"),
            dir("job"),
            file("job/a.json", "a"),
        ]
    }

    fn paths(v: &[PathBuf]) -> Vec<&str> {
        v.iter().map(|p| p.to_str().unwrap()).collect()
    }

    #[rstest]
    #[case::refuse(Overwrite::Refuse, &["conf/edited.json", "job"], &["conf/same.json"], 5)]
    #[case::if_changed(Overwrite::IfChanged, &["conf/edited.json", "job"], &["conf/same.json"], 5)]
    #[case::always(Overwrite::Always, &["conf/same.json", "conf/edited.json", "job"], &[], 6)]
    #[case::never(Overwrite::Never, &[], &["conf/same.json", "conf/edited.json", "job"], 2)]
    fn existing_paths_follow_the_policy(
        #[case] policy: Overwrite,
        #[case] overwrites: &[&str],
        #[case] kept: &[&str],
        #[case] restored: usize,
    ) {
        let t = target();
        let mut p = plan(snapshot(), Mode::Full, &[]).unwrap();
        p.resolve_existing(t.path(), policy);
        let mut o = paths(&p.overwrites);
        o.sort();
        let mut want = overwrites.to_vec();
        want.sort();
        assert_eq!(o, want, "replaced");
        let mut k = paths(&p.kept);
        k.sort();
        let mut want = kept.to_vec();
        want.sort();
        assert_eq!(k, want, "kept");
        assert_eq!(p.files.len() + p.dirs.len(), restored, "{p:?}");
        if policy == Overwrite::Never {
            assert!(
                p.files.iter().all(|e| !e.path.starts_with("job")),
                "nothing restored below a kept file"
            );
        }
        assert_eq!(p.refusal(t.path()).is_some(), policy == Overwrite::Refuse);
    }

    #[test]
    fn a_missing_or_empty_target_holds_nothing() {
        let t = tempfile::tempdir().unwrap();
        for target in [t.path().join("missing"), t.path().to_path_buf()] {
            let mut p = plan(snapshot(), Mode::Full, &[]).unwrap();
            p.resolve_existing(&target, Overwrite::Refuse);
            assert!(p.overwrites.is_empty() && p.kept.is_empty());
            assert!(p.refusal(&target).is_none());
        }
    }

    #[test]
    fn a_file_is_no_target() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("f");
        fs::write(&f, "x").unwrap();
        for target in [f.clone(), f.join("below")] {
            assert!(matches!(
                check_target(&target),
                Err(RestoreError::TargetNotFolder { file, .. }) if file == f
            ));
        }
        assert!(check_target(&t.path().join("new/deeper")).is_ok());
        assert!(check_target(t.path()).is_ok());
    }
}

//! Writing a restore plan to disk.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use filetime::FileTime;
use indicatif::ProgressBar;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{destination, RestorePlan};
use crate::repo::{Entry, EntryKind, Meta, Reader};

/// What a restore did.
#[derive(Debug, Default, Serialize)]
pub struct RestoreReport {
    pub files: usize,
    pub dirs: usize,
    pub links: usize,
    pub bytes: u64,
    /// (path, what went wrong): damaged data, a refused entry, a write error.
    pub failed: Vec<(PathBuf, String)>,
    /// Fast mode: when `conf/` and `job/` were complete and usable.
    #[serde(rename = "core_ready_after_secs", with = "crate::units::secs::option")]
    pub core_ready_after: Option<Duration>,
    #[serde(rename = "duration_secs", with = "crate::units::secs")]
    pub duration: Duration,
}

struct Shared<'a> {
    reader: &'a Reader,
    target: &'a Path,
    next: AtomicUsize,
    core_files: usize,
    core_left: AtomicUsize,
    core_ready: OnceLock<Duration>,
    failed: Mutex<Vec<(PathBuf, String)>>,
    bytes: std::sync::atomic::AtomicU64,
    start: Instant,
    bar: &'a ProgressBar,
}

/// Restores `plan` into `target` with `threads` workers. Never aborts on one bad file: each
/// failure is recorded in the report and the rest is restored.
pub fn apply(
    reader: &Reader,
    plan: &RestorePlan,
    target: &Path,
    threads: usize,
    bar: &ProgressBar,
) -> RestoreReport {
    let start = Instant::now();
    let mut report = RestoreReport::default();
    for (p, why) in &plan.refused {
        tracing::warn!("not restored: {}: {why}", p.display());
        report.failed.push((p.clone(), why.clone()));
    }
    if let Err(e) = fs::create_dir_all(target) {
        report
            .failed
            .push((target.to_path_buf(), format!("cannot create target: {e}")));
        return report;
    }
    for d in &plan.dirs {
        match check_parents(target, &d.path).and_then(|()| make_dir(&destination(target, d))) {
            Ok(()) => report.dirs += 1,
            Err(e) => report.failed.push((d.path.clone(), e)),
        }
    }
    bar.set_length(plan.total_bytes);
    let shared = Shared {
        reader,
        target,
        next: AtomicUsize::new(0),
        core_files: plan.core_files,
        core_left: AtomicUsize::new(plan.core_files),
        core_ready: OnceLock::new(),
        failed: Mutex::new(Vec::new()),
        bytes: Default::default(),
        start,
        bar,
    };
    if plan.core_files == 0 && plan.mode == super::Mode::Fast {
        let _ = shared.core_ready.set(Duration::ZERO);
    }
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| worker(&shared, &plan.files));
        }
    });
    for l in &plan.links {
        match check_parents(target, &l.path).and_then(|()| make_link(&destination(target, l), l)) {
            Ok(()) => report.links += 1,
            Err(e) => report.failed.push((l.path.clone(), e)),
        }
    }
    // Deepest first, so setting a parent's mtime comes after its children changed it.
    for d in plan.dirs.iter().rev() {
        let path = destination(target, d);
        // Not through a link: set_meta follows one.
        let is_dir = fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
        if !is_dir || check_parents(target, &d.path).is_err() {
            continue;
        }
        if let Err(e) = set_meta(&path, &d.meta, false) {
            report.failed.push((d.path.clone(), e));
        }
    }
    let failed = shared.failed.into_inner().expect("failed lock");
    report.files = plan.files.len() - failed.len();
    report.failed.extend(failed);
    report.bytes = shared.bytes.into_inner();
    report.core_ready_after = shared.core_ready.get().copied();
    report.duration = start.elapsed();
    report
}

fn worker(sh: &Shared<'_>, files: &[Entry]) {
    loop {
        let i = sh.next.fetch_add(1, Ordering::Relaxed);
        let Some(entry) = files.get(i) else {
            return;
        };
        match restore_file(sh, entry) {
            Ok(n) => {
                sh.bytes.fetch_add(n, Ordering::Relaxed);
            }
            Err(e) => sh
                .failed
                .lock()
                .expect("failed lock")
                .push((entry.path.clone(), e)),
        }
        // Core files are at the front, so the last one to finish marks the core usable.
        if i < sh.core_files && sh.core_left.fetch_sub(1, Ordering::AcqRel) == 1 {
            let _ = sh.core_ready.set(sh.start.elapsed());
        }
    }
}

/// Writes one file under a temporary name and renames it into place.
fn restore_file(sh: &Shared<'_>, entry: &Entry) -> Result<u64, String> {
    let dest = destination(sh.target, entry);
    check_parents(sh.target, &entry.path)?;
    let tmp = partial_path(&dest).ok_or("no file name")?;
    let _ = fs::remove_file(&tmp);
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let mut written = 0u64;
    let result = (|| -> Result<(), String> {
        if let EntryKind::File { blobs, .. } = &entry.kind {
            for b in blobs {
                let data = sh
                    .reader
                    .blob(b)
                    .map_err(|e| format!("damaged data, file skipped: {e}"))?;
                w.write_all(&data)
                    .map_err(|e| format!("cannot write {}: {e}", dest.display()))?;
                written += data.len() as u64;
                sh.bar.inc(data.len() as u64);
            }
        }
        let file = w
            .into_inner()
            .map_err(|e| format!("cannot write {}: {e}", dest.display()))?;
        if written != entry.size() {
            return Err(format!(
                "size mismatch: restored {written} bytes, snapshot says {}",
                entry.size()
            ));
        }
        set_file_meta(&file, &tmp, &entry.meta)?;
        drop(file);
        fs::rename(&tmp, &dest)
            .map_err(|e| format!("cannot move into place {}: {e}", dest.display()))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map(|()| written)
}

/// The longest file name (NAME_MAX) and path (PATH_MAX less its NUL) Linux takes.
const NAME_MAX: usize = 255;
const PATH_MAX: usize = 4095;

/// Where a file is written before it is renamed to `dest`: beside it, so the rename is atomic,
/// as `.NAME.dxb-partial`; or, where that would pass the longest name or path (a name of 243
/// bytes or more: 81 CJK characters), as `.HASH.dxb-partial` from the name's SHA-256. Either
/// is the same on every run, so a restore removes what an interrupted one left of the file.
fn partial_path(dest: &Path) -> Option<PathBuf> {
    let name = dest.file_name()?.as_bytes();
    let long = [b".", name, b".dxb-partial"].concat();
    let dir_len = dest.as_os_str().len() - name.len();
    let tmp = if long.len() <= NAME_MAX && dir_len + long.len() <= PATH_MAX {
        long
    } else {
        let hash = hex::encode(&Sha256::digest(name)[..8]);
        format!(".{hash}.dxb-partial").into_bytes()
    };
    Some(dest.with_file_name(OsStr::from_bytes(&tmp)))
}

/// Every folder between the target and `rel` must be a folder of its own: a link there (planted
/// in the target, or restored from another snapshot) would carry the write outside the
/// target. A missing folder is fine: it is created as one. The target itself may be a link.
fn check_parents(target: &Path, rel: &Path) -> Result<(), String> {
    let mut p = target.to_path_buf();
    for c in rel.parent().into_iter().flat_map(Path::components) {
        p.push(c);
        match fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => {}
            Ok(m) if m.file_type().is_symlink() => {
                return Err(format!(
                    "refused: {} is a link, and nothing is written through a link; \
                     remove it (or restore into an empty folder) and restore again",
                    p.display()
                ))
            }
            Ok(_) => return Err(format!("cannot write below {}: it is a file", p.display())),
            Err(_) => return Ok(()),
        }
    }
    Ok(())
}

/// A folder the snapshot has; a symlink in its place (planted or stale) is replaced, so no
/// file of the restore can be written through it to somewhere outside the target.
fn make_dir(path: &Path) -> Result<(), String> {
    if let Ok(m) = fs::symlink_metadata(path) {
        if m.is_dir() {
            return Ok(());
        }
        fs::remove_file(path).map_err(|e| format!("cannot replace {}: {e}", path.display()))?;
    }
    fs::create_dir_all(path).map_err(|e| format!("cannot create {}: {e}", path.display()))
}

fn make_link(path: &Path, entry: &Entry) -> Result<(), String> {
    let EntryKind::Symlink { target } = &entry.kind else {
        return Ok(());
    };
    if let Ok(m) = fs::symlink_metadata(path) {
        if m.is_dir() {
            fs::remove_dir_all(path)
        } else {
            fs::remove_file(path)
        }
        .map_err(|e| format!("cannot replace {}: {e}", path.display()))?;
    }
    std::os::unix::fs::symlink(target, path)
        .map_err(|e| format!("cannot create link {}: {e}", path.display()))?;
    set_meta(path, &entry.meta, true)
}

fn set_file_meta(file: &File, path: &Path, meta: &Meta) -> Result<(), String> {
    if let Some(mode) = meta.mode {
        file.set_permissions(fs::Permissions::from_mode(mode & 0o7777))
            .map_err(|e| format!("cannot set mode of {}: {e}", path.display()))?;
    }
    chown(path, meta, false)?;
    if let Some(t) = meta.mtime {
        filetime::set_file_handle_times(file, None, Some(file_time(t)))
            .map_err(|e| format!("cannot set mtime of {}: {e}", path.display()))?;
    }
    Ok(())
}

fn set_meta(path: &Path, meta: &Meta, is_link: bool) -> Result<(), String> {
    if !is_link {
        if let Some(mode) = meta.mode {
            fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o7777))
                .map_err(|e| format!("cannot set mode of {}: {e}", path.display()))?;
        }
    }
    chown(path, meta, is_link)?;
    if let Some(t) = meta.mtime {
        let t = file_time(t);
        if is_link {
            filetime::set_symlink_file_times(path, t, t)
        } else {
            filetime::set_file_mtime(path, t)
        }
        .map_err(|e| format!("cannot set mtime of {}: {e}", path.display()))?;
    }
    Ok(())
}

/// Owners are restored only by root; anyone else keeps the files as their own.
fn chown(path: &Path, meta: &Meta, is_link: bool) -> Result<(), String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 || (meta.uid.is_none() && meta.gid.is_none()) {
        return Ok(());
    }
    let r = if is_link {
        std::os::unix::fs::lchown(path, meta.uid, meta.gid)
    } else {
        std::os::unix::fs::chown(path, meta.uid, meta.gid)
    };
    r.map_err(|e| format!("cannot set owner of {}: {e}", path.display()))
}

fn file_time(t: jiff::Timestamp) -> FileTime {
    FileTime::from_unix_time(t.as_second(), t.subsec_nanosecond().max(0) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[test]
    fn nothing_is_written_below_a_link() {
        let t = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        fs::create_dir(t.path().join("real")).unwrap();
        std::os::unix::fs::symlink(outside.path(), t.path().join("real/link")).unwrap();
        fs::write(t.path().join("file"), "x").unwrap();
        for rel in ["real/link/f", "real/link/deeper/f"] {
            let e = check_parents(t.path(), Path::new(rel)).unwrap_err();
            assert!(
                e.starts_with("refused: ") && e.contains("real/link is a link"),
                "{e}"
            );
        }
        assert!(check_parents(t.path(), Path::new("file/f")).is_err());
        for rel in ["f", "real/f", "real/link", "missing/deeper/f"] {
            check_parents(t.path(), Path::new(rel)).unwrap();
        }
        // The target itself may be a link to a folder.
        let via = outside.path().join("to-target");
        std::os::unix::fs::symlink(t.path(), &via).unwrap();
        check_parents(&via, Path::new("real/f")).unwrap();
    }

    #[rstest]
    #[case::short("conf/core.json", "conf/.core.json.dxb-partial")]
    // 242 bytes + 13 = 255: still fits.
    #[case::longest_readable(&format!("d/{}", "a".repeat(242)), &format!("d/.{}.dxb-partial", "a".repeat(242)))]
    fn partial_names_beside_the_file(#[case] dest: &str, #[case] want: &str) {
        assert_eq!(partial_path(Path::new(dest)).unwrap(), Path::new(want));
    }

    #[rstest]
    #[case::name_81_cjk(format!("d/{}", "名".repeat(81)))]
    #[case::name_255(format!("d/{}", "名".repeat(85)))]
    #[case::path_near_path_max(format!("{}/{}", "d".repeat(4000), "n".repeat(90)))]
    fn partial_names_fit_where_the_file_fits(#[case] dest: String) {
        let dest = Path::new(&dest);
        let tmp = partial_path(dest).unwrap();
        assert_eq!(
            tmp.parent(),
            dest.parent(),
            "same folder: the rename is atomic"
        );
        let name = tmp.file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with('.') && name.ends_with(".dxb-partial"),
            "{name}"
        );
        assert!(name.len() <= NAME_MAX && tmp.as_os_str().len() <= PATH_MAX);
        assert_eq!(
            partial_path(dest),
            Some(tmp.clone()),
            "the same on every run"
        );
        let other =
            dest.with_file_name(format!("x{}", dest.file_name().unwrap().to_str().unwrap()));
        assert_ne!(
            partial_path(&other),
            Some(tmp),
            "another file, another name"
        );
    }
}

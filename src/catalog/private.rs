//! The state directory holds what dxbackup knows about every run, and its spools hold database
//! dumps and binlogs: none of it is for other users, whatever the umask. The folder is created
//! 0700 and the catalog 0600; SQLite gives the catalog's `-wal` and `-shm` files the catalog's
//! own mode, so they are private too.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::{CatalogError, Result};

/// The state directory and the catalog's path in it, both made ready: see below.
pub(super) fn prepare(state_dir: &Path) -> Result<PathBuf> {
    self::state_dir(state_dir)?;
    let db = state_dir.join("catalog.db");
    catalog_file(&db)?;
    Ok(db)
}

/// Creates the state directory 0700 (its missing parents as the umask says: they are not
/// ours). An existing one is not changed, since `--state-dir` may name a shared folder such as
/// `/tmp` that must stay as it is, but one that others can enter is warned about.
fn state_dir(path: &Path) -> Result<()> {
    let err = |cause| CatalogError::StateDir {
        path: path.to_path_buf(),
        cause,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(err)?;
    }
    match DirBuilder::new().mode(0o700).create(path) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == ErrorKind::AlreadyExists && path.is_dir() => {}
        Err(e) => return Err(err(e)),
    }
    let mode = fs::metadata(path).map_err(err)?.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        tracing::warn!(
            path = %path.display(),
            mode = format!("{mode:04o}"),
            "the state directory is open to other users, who can see run records and spooled \
             dumps; run 'chmod 700' on it or pass --state-dir a private folder"
        );
    }
    Ok(())
}

/// Makes sure the catalog is created 0600 before SQLite first writes to it, and makes an
/// existing one (and its `-wal`/`-shm`, made by an older dxbackup under the umask) private.
fn catalog_file(db: &Path) -> Result<()> {
    let err = |path: &Path, cause| CatalogError::Private {
        path: path.to_path_buf(),
        cause,
    };
    // Only a missing catalog is created here. Opening an existing one with a file handle of
    // our own and closing it would drop every POSIX lock this process holds on it, the shared
    // lock of a catalog connection already open in it (the daemon's, the dashboard's) among
    // them: another process's connection would then take the catalog for its last, check-
    // point and delete the WAL under the open one (SQLITE_IOERR_SHORT_READ). Permissions are
    // changed by path, which takes no handle.
    if fs::symlink_metadata(db).is_err() {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(db)
            .map_err(|e| err(db, e))?;
    }
    for p in [db.to_path_buf(), suffixed(db, "-wal"), suffixed(db, "-shm")] {
        match fs::metadata(&p) {
            Ok(m) if m.permissions().mode() & 0o077 != 0 => {
                fs::set_permissions(&p, fs::Permissions::from_mode(0o600))
                    .map_err(|e| err(&p, e))?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn suffixed(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    /// The umask is the process's: this test does not change it, the integration test
    /// `privacy` runs dxbackup under 022 and 002. Here: files of an older dxbackup.
    #[test]
    fn an_existing_catalog_and_its_wal_are_made_private() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        fs::create_dir(&state).unwrap();
        let db = state.join("catalog.db");
        for p in [db.clone(), suffixed(&db, "-wal"), suffixed(&db, "-shm")] {
            fs::write(&p, "").unwrap();
            fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        }
        let cat = Catalog::open(&state).unwrap();
        cat.start_run("backup", None, None).unwrap();
        for p in [db.clone(), suffixed(&db, "-wal"), suffixed(&db, "-shm")] {
            assert_eq!(mode(&p), 0o600, "{}", p.display());
        }
    }

    #[test]
    fn a_new_state_dir_is_private_and_an_existing_one_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("a/b/state");
        drop(Catalog::open(&state).unwrap());
        assert_eq!(mode(&state), 0o700);
        assert_eq!(mode(&state.join("catalog.db")), 0o600);
        let shared = dir.path().join("shared");
        fs::create_dir(&shared).unwrap();
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
        drop(Catalog::open(&shared).unwrap());
        assert_eq!(
            mode(&shared),
            0o1777,
            "a folder we did not create stays as it is"
        );
        assert_eq!(mode(&shared.join("catalog.db")), 0o600);
    }
}

//! A full state directory. SQLite fails cleanly on it (a transaction that cannot be written is
//! rolled back), but says `database or disk is full` or, for its `-shm` file, `disk I/O
//! error`: here both become "no space left" naming the folder, and the catalog's WAL files are
//! kept so that a full disk does not also make the catalog unreadable.

use std::path::Path;

use rusqlite::Connection;

use super::CatalogError;

impl CatalogError {
    /// The error of a statement on the catalog at `path`.
    pub(super) fn of(path: &Path, source: rusqlite::Error) -> Self {
        let path = path.to_path_buf();
        let code = source.sqlite_error_code();
        let full = code == Some(rusqlite::ErrorCode::DiskFull)
            || (code == Some(rusqlite::ErrorCode::SystemIoFailure)
                && path.parent().is_some_and(no_room));
        if full {
            Self::Full { path, source }
        } else {
            Self::Sql { path, source }
        }
    }
}

/// Whether the disk holding `dir` is (as good as) full: less than SQLite's 32 KiB step for the
/// `-shm` file left to us.
fn no_room(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: a zeroed statvfs is a valid out-parameter.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is NUL-terminated and `s` is writable.
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return false;
    }
    (s.f_bavail as u64).saturating_mul(s.f_frsize as u64) < 32 * 1024
}

/// SQLite's persistent WAL: the `-wal` and `-shm` files stay when the last connection closes
/// (checkpointed, so `catalog.db` alone is still complete). Otherwise the next open must make
/// a new `-shm` and grow it, which a full disk refuses (SQLITE_IOERR_SHMSIZE): not even
/// `status` could read the catalog to say what is wrong. Every connection must ask for it: the
/// last one to close decides.
pub(super) fn keep_wal_files(conn: &Connection) -> rusqlite::Result<()> {
    let mut on: std::ffi::c_int = 1;
    // SAFETY: the handle is valid while `conn` lives; this opcode reads and writes one int.
    let rc = unsafe {
        rusqlite::ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            rusqlite::ffi::SQLITE_FCNTL_PERSIST_WAL,
            (&raw mut on).cast(),
        )
    };
    if rc == rusqlite::ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rc),
            Some("cannot keep the catalog's WAL files".into()),
        ))
    }
}

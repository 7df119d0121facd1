//! Local repositories (a folder, a NAS mount): read by rustic's local backend, written as restic
//! writes them, private. rustic's backend creates files and folders as the umask says (0644 and
//! 0755 under the usual 022): anyone on the machine could copy the packs and the key files and
//! try passwords offline. Here every file is created 0600 and every folder 0700, whatever the
//! umask. As restic does, a repository whose `config` is group-readable (restic's
//! "group-accessible repository", made on purpose with `chmod -R g+r`) keeps that: 0640/0750.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{ErrorKind as IoKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use rustic_backend::local::LocalBackend;
use rustic_core::{
    BytesList, ErrorKind, FileType, Id, RusticError, RusticResult, WriteBackend, ALL_FILE_TYPES,
};

/// The modes restic gives a repository's files and folders (`backend.DefaultModes`), and those
/// of a group-accessible one.
const PRIVATE: Modes = Modes {
    file: 0o600,
    dir: 0o700,
};
const GROUP: Modes = Modes {
    file: 0o640,
    dir: 0o750,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Modes {
    file: u32,
    dir: u32,
}

impl Modes {
    /// restic's `DeriveModesFromFileInfo`: the config's group-read bit decides.
    fn of(root: &Path) -> Self {
        match fs::metadata(root.join("config")) {
            Ok(m) if m.permissions().mode() & 0o040 != 0 => GROUP,
            _ => PRIVATE,
        }
    }
}

/// rustic's local backend for reading and removing; our own writes.
#[derive(Debug)]
pub(super) struct PrivateLocal {
    inner: LocalBackend,
    pub(super) root: PathBuf,
    modes: Modes,
}

/// The backend of the local repository at `path` (absolute).
pub fn backend(path: &str) -> RusticResult<Arc<dyn WriteBackend>> {
    Ok(Arc::new(PrivateLocal::open(path)?))
}

impl PrivateLocal {
    /// The local repository at `path` (absolute): also what `lock` writes its files through.
    pub(super) fn open(path: &str) -> RusticResult<Self> {
        let root = PathBuf::from(path);
        Ok(Self {
            inner: LocalBackend::new(path, std::iter::empty())?,
            modes: Modes::of(&root),
            root,
        })
    }
}

impl PrivateLocal {
    /// The folder and file name of a repository file: restic's layout, as rustic's backend.
    fn place(&self, tpe: FileType, id: &Id) -> (PathBuf, String) {
        let hex = id.to_hex();
        match tpe {
            FileType::Config => (self.root.clone(), "config".into()),
            FileType::Pack => (self.root.join("data").join(&hex[0..2]), hex.to_string()),
            _ => (self.root.join(tpe.dirname()), hex.to_string()),
        }
    }

    /// A folder of the repository, created with the repository's mode; an existing one (a NAS
    /// share prepared by an admin, say) is left as it is.
    fn make_dir(&self, dir: &Path) -> RusticResult<()> {
        match DirBuilder::new().mode(self.modes.dir).create(dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == IoKind::AlreadyExists && dir.is_dir() => Ok(()),
            Err(e) => Err(io_error("create the folder", dir, e)),
        }
    }
}

impl PrivateLocal {
    /// Under a temporary name (restic's `-tmp-`, skipped by listings), synced, then renamed:
    /// a crash never leaves a truncated file under a real name.
    pub(super) fn write_in(&self, dir: &Path, name: &str, content: &[Bytes]) -> RusticResult<()> {
        self.make_dir(dir)?;
        let path = dir.join(name);
        let tmp = dir.join(format!("{name}-tmp-{}", &*Id::random().to_hex()));
        let result = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(self.modes.file)
                .open(&tmp)?;
            // The umask may have taken bits the repository's mode has (a group one).
            f.set_permissions(fs::Permissions::from_mode(self.modes.file))?;
            for b in content {
                f.write_all(b)?;
            }
            f.sync_all()?;
            fs::rename(&tmp, &path)
        })();
        result.map_err(|e| {
            let _ = fs::remove_file(&tmp);
            io_error("write", &path, e)
        })
    }
}

pub(super) fn io_error(what: &str, path: &Path, err: std::io::Error) -> Box<RusticError> {
    // The cause (`No space left on device`) follows; permissions are not the problem then.
    let hint = if err.raw_os_error() == Some(libc::ENOSPC) {
        "cannot {what} `{path}`: its disk is full; free space there or grow the disk, then run \
         again (a failed backup, copy or prune removes what it wrote)"
    } else {
        "cannot {what} `{path}`; check the repository folder and its permissions"
    };
    RusticError::with_source(ErrorKind::InputOutput, hint, err)
        .attach_context("what", what.to_string())
        .attach_context("path", path.display().to_string())
}

forward_read_backend!(PrivateLocal);

impl WriteBackend for PrivateLocal {
    /// The root's missing parents are not the repository's: they get the umask's mode.
    fn create(&self) -> RusticResult<()> {
        if let Some(parent) = self.root.parent() {
            fs::create_dir_all(parent).map_err(|e| io_error("create the folder", parent, e))?;
        }
        self.make_dir(&self.root)?;
        for tpe in ALL_FILE_TYPES {
            self.make_dir(&self.root.join(tpe.dirname()))?;
        }
        for i in 0u8..=255 {
            self.make_dir(&self.root.join("data").join(format!("{i:02x}")))?;
        }
        Ok(())
    }

    fn write_bytes(
        &self,
        tpe: FileType,
        id: &Id,
        _cacheable: bool,
        content: BytesList,
    ) -> RusticResult<()> {
        let (dir, name) = self.place(tpe, id);
        self.write_in(&dir, &name, content.slice())
    }

    fn remove(&self, tpe: FileType, id: &Id, cacheable: bool) -> RusticResult<()> {
        self.inner.remove(tpe, id, cacheable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn files_and_folders_are_private_or_as_group_accessible_as_the_config() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        let be = backend(root.to_str().unwrap()).unwrap();
        be.create().unwrap();
        let id = Id::random();
        be.write_bytes(FileType::Pack, &id, false, Bytes::from("pack").into())
            .unwrap();
        be.write_bytes(
            FileType::Config,
            &Id::default(),
            false,
            Bytes::from("c").into(),
        )
        .unwrap();
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(&root.join("data/00")), 0o700);
        assert_eq!(mode(&root.join("config")), 0o600);
        let pack = root
            .join("data")
            .join(&id.to_hex()[..2])
            .join(&*id.to_hex());
        assert_eq!(mode(&pack), 0o600);
        assert_eq!(
            be.read_full(FileType::Pack, &id).unwrap(),
            Bytes::from("pack")
        );
        assert_eq!(
            be.list(FileType::Pack).unwrap(),
            [id],
            "no temporary file left"
        );

        fs::set_permissions(root.join("config"), fs::Permissions::from_mode(0o640)).unwrap();
        let be = backend(root.to_str().unwrap()).unwrap();
        be.write_bytes(FileType::Index, &id, false, Bytes::from("i").into())
            .unwrap();
        assert_eq!(mode(&root.join("index").join(&*id.to_hex())), 0o640);
    }
}

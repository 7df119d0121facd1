//! The spool folder, where the reader writes the server's binlog files (row data: private to
//! us whatever the umask), and how its new whole events become parts to store.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use super::super::binlog::{scan, scan_more, sequence, Segment};
use super::super::MysqlError;
use super::{Archived, Archiver, Part};

/// Makes the tool create its files readable by us only (0600), whatever umask we inherited.
pub(super) fn private_files(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: runs in the forked child before exec; umask is async-signal-safe and touches
    // nothing but the child's own file-creation mask.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0o077);
            Ok(())
        });
    }
}

impl Archiver<'_> {
    /// Creates the spool folder 0700 and makes what an older version left there private too.
    pub(super) fn prepare_spool(&self) -> Result<(), MysqlError> {
        let io = |what: &str| {
            let context = format!("cannot {what} spool {}", self.spool.display());
            move |source| MysqlError::Io { context, source }
        };
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.spool)
            .map_err(io("create"))?;
        // The mode given above is masked by the umask; this one is not.
        fs::set_permissions(&self.spool, fs::Permissions::from_mode(0o700))
            .map_err(io("protect"))?;
        for entry in fs::read_dir(&self.spool).map_err(io("read"))?.flatten() {
            fs::set_permissions(entry.path(), fs::Permissions::from_mode(0o600))
                .map_err(io("protect the files of"))?;
        }
        Ok(())
    }

    /// Removes spooled files after `start`: a reader starting there fetches them again, and
    /// [`collect`](Self::collect) may then take every file followed by another as complete.
    pub(super) fn forget_after(&self, start: &str) -> Result<(), MysqlError> {
        for f in self.spooled().map_err(|source| MysqlError::Io {
            context: format!("cannot read spool {}", self.spool.display()),
            source,
        })? {
            if sequence(&f) > sequence(start) {
                fs::remove_file(self.spool.join(&f)).map_err(|source| MysqlError::Io {
                    context: format!("cannot remove {f} from spool {}", self.spool.display()),
                    source,
                })?;
            }
        }
        Ok(())
    }

    /// The binlog files in the spool, in sequence order.
    fn spooled(&self) -> std::io::Result<Vec<String>> {
        let mut files: Vec<String> = fs::read_dir(&self.spool)?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|f| sequence(f).is_some())
            .collect();
        files.sort_by_key(|f| sequence(f));
        Ok(files)
    }

    /// The new whole events of every spooled file, as parts to store. `start` is where the
    /// running reader started: it writes files in order, each after the server sent all of the
    /// one before, so a file from there on that another follows is complete, and closed even
    /// without a rotate event (a server that crashed never wrote one into it).
    pub(super) fn collect(
        &mut self,
        start: &str,
        scans: &mut BTreeMap<String, Segment>,
    ) -> anyhow::Result<Vec<Part>> {
        // Listed before any file is read: a successor seen here means a finished predecessor.
        let files = self.spooled()?;
        let newest = files.last().cloned();
        let mut parts = Vec::new();
        for f in files {
            let done = self.archived.get(&f).cloned().unwrap_or_default();
            if done.closed {
                continue;
            }
            let path = self.spool.join(&f);
            let seg = match scans.get_mut(&f) {
                Some(s) => s,
                None => {
                    let Some(s) = initial_scan(&f, &path)? else {
                        continue;
                    };
                    scans.entry(f.clone()).or_insert(s)
                }
            };
            extend_scan(seg, &path)?;
            same_file(&f, &done, seg)?;
            if sequence(&f) >= sequence(start) && Some(&f) != newest.as_ref() {
                seg.closed = true;
            }
            if seg.size > done.size {
                let data = read_range(&path, done.size, seg.size)?;
                parts.push(Part {
                    segment: seg.clone(),
                    offset: done.size,
                    data,
                });
            } else if seg.closed && !done.closed && seg.size == done.size {
                parts.push(Part {
                    segment: seg.clone(),
                    offset: done.size,
                    data: vec![],
                });
            }
            let a = self.archived.entry(f).or_default();
            a.size = a.size.max(seg.size);
            a.first_event = a.first_event.or(seg.first_event.map(i64::from));
            a.closed |= seg.closed;
        }
        Ok(parts)
    }

    /// Closed files fully archived are not needed in the spool any more.
    pub(super) fn clean_spool(&self) {
        for (f, a) in &self.archived {
            if a.closed {
                let _ = fs::remove_file(self.spool.join(f));
            }
        }
    }
}

/// The server's file of a name the archive holds must be the file archived under it: a
/// `RESET MASTER`, or a server re-initialized or rebuilt, starts the names again, and appending
/// its bytes to the old file's would make a chain that replays another history. (Seen in the
/// SF 1 benchmark: a new server's mysql-bin.000002 shorter than the archived one, so nothing
/// was stored for five minutes, and the restore plan chained the old parts to the new full.)
fn same_file(file: &str, archived: &Archived, seg: &Segment) -> anyhow::Result<()> {
    let (Some(was), Some(is)) = (archived.first_event, seg.first_event) else {
        return Ok(());
    };
    if was == i64::from(is) {
        return Ok(());
    }
    let at =
        |t: i64| jiff::Timestamp::from_second(t).map_or_else(|_| t.to_string(), |t| t.to_string());
    anyhow::bail!(
        "binlog {file} on the server is not the file archived under that name (its first event is at {}, the archived one's at {}): the server's binary log was reset (RESET MASTER) or the server was re-initialized; archiving stops so that no chain mixes the two. Take a full backup into a new repository (or a new source name) and archive from there; the old archive still restores up to its end",
        at(i64::from(is)),
        at(was)
    )
}

fn initial_scan(file: &str, path: &Path) -> anyhow::Result<Option<Segment>> {
    let mut head = [0u8; 4];
    let mut f = fs::File::open(path)?;
    if f.read(&mut head)? < 4 {
        return Ok(None);
    }
    Ok(Some(scan(file, &head)?))
}

fn extend_scan(seg: &mut Segment, path: &Path) -> anyhow::Result<()> {
    let mut f = fs::File::open(path)?;
    f.seek(SeekFrom::Start(seg.size))?;
    let mut tail = Vec::new();
    f.read_to_end(&mut tail)?;
    scan_more(seg, &tail);
    Ok(())
}

fn read_range(path: &Path, from: u64, to: u64) -> anyhow::Result<Vec<u8>> {
    let mut f = fs::File::open(path)?;
    f.seek(SeekFrom::Start(from))?;
    let mut data = vec![0u8; (to - from) as usize];
    f.read_exact(&mut data)?;
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> crate::source::mysql::Server {
        crate::source::mysql::Server {
            host: None,
            port: 3306,
            socket: None,
            user: "u".into(),
            password: None,
        }
    }

    fn archiver<'a>(
        server: &'a crate::source::mysql::Server,
        spool: &Path,
        archived: BTreeMap<String, Archived>,
    ) -> Archiver<'a> {
        Archiver {
            server,
            flavor: None,
            spool: spool.to_path_buf(),
            flush: std::time::Duration::from_secs(1),
            first_file: None,
            archived,
            server_id: 1,
        }
    }

    #[test]
    fn spool_is_private_whatever_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("binlog/db");
        fs::create_dir_all(&spool).unwrap();
        fs::set_permissions(&spool, fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(spool.join("mysql-bin.000001"), b"rows").unwrap();
        fs::set_permissions(
            spool.join("mysql-bin.000001"),
            fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        let server = server();
        archiver(&server, &spool, BTreeMap::new())
            .prepare_spool()
            .unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&spool), 0o700);
        assert_eq!(mode(&spool.join("mysql-bin.000001")), 0o600);

        // A tool creating a file there (`touch` asks for 0666, less the umask).
        let mut touch = Command::new("touch");
        touch.arg(spool.join("new"));
        private_files(&mut touch);
        assert!(touch.status().unwrap().success());
        assert_eq!(mode(&spool.join("new")), 0o600);
    }

    fn event(ts: u32, kind: u8, body: &[u8]) -> Vec<u8> {
        let mut v = ts.to_le_bytes().to_vec();
        v.push(kind);
        v.extend_from_slice(&1u32.to_le_bytes());
        v.extend_from_slice(&(19 + body.len() as u32).to_le_bytes());
        v.extend_from_slice(&[0; 6]);
        v.extend_from_slice(body);
        v
    }

    /// A binlog file whose events after the format description are at `ts`.
    fn binlog(ts: u32) -> Vec<u8> {
        let mut f = b"\xfebin".to_vec();
        f.extend(event(ts - 1, 15, &[0; 40]));
        f.extend(event(ts, 2, &[7; 60]));
        f.extend(event(ts + 1, 2, &[8; 60]));
        f
    }

    #[test]
    fn a_file_of_an_archived_name_but_another_history_stops_the_archiver() {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().to_path_buf();
        let server = server();
        let collect = |archived_first: i64, server_first: u32| {
            fs::write(spool.join("mysql-bin.000001"), binlog(server_first)).unwrap();
            let archived = Archived {
                size: 70,
                closed: false,
                first_event: Some(archived_first),
            };
            archiver(
                &server,
                &spool,
                BTreeMap::from([("mysql-bin.000001".to_string(), archived)]),
            )
            .collect("mysql-bin.000001", &mut BTreeMap::new())
        };
        // The same file, grown: its new bytes are a part.
        let parts = collect(1_700_000_000, 1_700_000_000).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].offset, 70);
        // A file of that name from a reset binary log: refused, nothing stored.
        let err = match collect(1_700_000_000, 1_800_000_000) {
            Ok(parts) => panic!("{} part(s) stored from another history", parts.len()),
            Err(e) => e.to_string(),
        };
        assert!(
            err.contains("is not the file archived under that name")
                && err.contains("RESET MASTER"),
            "{err}"
        );
    }
}

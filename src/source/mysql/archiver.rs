//! The binlog archiver: a supervised `mariadb-binlog --read-from-remote-server --raw
//! --stop-never` writes byte-identical binlog files into a spool folder; every flush interval
//! the bytes added since the last flush (whole events only) are handed to `store` as parts.
//! A disconnect restarts the tool with backoff from the first file not yet closed; a file the
//! server no longer has is a gap, reported as an error, never skipped.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use serde::{Deserialize, Serialize};

use super::binlog::{scan, scan_more, sequence, with_sequence, Segment};
use super::{spawn_tool, Flavor, MysqlError, Result, Server};

/// Bytes `offset..offset+data.len()` of a binlog file, and what the file holds up to there.
pub struct Part {
    pub segment: Segment,
    pub offset: u64,
    pub data: Vec<u8>,
}

/// What the archive already holds of one file (from the repository).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Archived {
    pub size: u64,
    pub closed: bool,
}

pub struct Archiver<'a> {
    pub server: &'a Server,
    pub flavor: Flavor,
    pub spool: PathBuf,
    pub flush: Duration,
    /// The file to start from when the archive holds nothing yet.
    pub first_file: String,
    /// Per file: what the archive holds.
    pub archived: BTreeMap<String, Archived>,
    /// The replica id the tool registers with; must differ from every real replica's.
    pub server_id: u32,
}

impl Archiver<'_> {
    /// Runs until `stop` is set (then flushes once more), or a gap makes going on pointless.
    pub fn run(
        &mut self,
        stop: &AtomicBool,
        store: &mut dyn FnMut(Vec<Part>) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        fs::create_dir_all(&self.spool).map_err(|source| MysqlError::Io {
            context: format!("cannot create spool {}", self.spool.display()),
            source,
        })?;
        let mut backoff = Duration::from_secs(1);
        while !stop.load(Ordering::Relaxed) {
            let start = self.resume_file();
            self.check_on_server(&start)?;
            tracing::info!(file = %start, "binlog archiver connecting");
            let started = Instant::now();
            let (mut child, stderr) = self.spawn(&start)?;
            let mut scans: BTreeMap<String, Segment> = BTreeMap::new();
            let exited = loop {
                sleep_until(stop, self.flush, &mut child);
                // Called every flush, parts or not: an empty call says the archive is current.
                let parts = self.collect(&mut scans)?;
                store(parts)?;
                self.clean_spool();
                if stop.load(Ordering::Relaxed) {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
                if let Ok(Some(status)) = child.try_wait() {
                    break Some(status);
                }
            };
            if let Some(status) = exited {
                let err = stderr.join().unwrap_or_default();
                tracing::warn!(%status, stderr = %err, "binlog reader stopped; restarting in {:?}", backoff);
                std::thread::sleep(backoff);
                // A connection that lasted resets the backoff; a flapping one backs off to 30 s.
                backoff = if started.elapsed() > Duration::from_secs(60) {
                    Duration::from_secs(1)
                } else {
                    (backoff * 2).min(Duration::from_secs(30))
                };
            }
        }
        Ok(())
    }

    /// The first file not yet closed in the archive (its bytes are fetched again from the
    /// start, and only what is new is stored).
    fn resume_file(&self) -> String {
        match self.archived.iter().max_by_key(|(f, _)| sequence(f)) {
            None => self.first_file.clone(),
            Some((f, a)) if a.closed => with_sequence(f, sequence(f).unwrap_or(0) + 1),
            Some((f, _)) => f.clone(),
        }
    }

    /// A file the archive needs that the server has purged is a hole in the chain.
    fn check_on_server(&self, file: &str) -> Result<()> {
        let mut conn = self.server.connect()?;
        let logs: Vec<(String, u64)> = conn
            .query("SHOW BINARY LOGS")
            .map_err(self.server.query_err("SHOW BINARY LOGS"))?;
        if logs.iter().any(|(f, _)| f == file) {
            return Ok(());
        }
        let oldest = logs.first().map_or("none".to_string(), |l| l.0.clone());
        let newest_seq = logs.last().and_then(|l| sequence(&l.0));
        // Asking for the next file before the server rotated into it is not a gap.
        if newest_seq.is_some() && sequence(file) > newest_seq {
            return Err(MysqlError::Invalid(format!(
                "binlog {file} does not exist yet on {}; is binary logging still on?",
                self.server.describe()
            )));
        }
        Err(MysqlError::Invalid(format!(
            "gap: binlog {file} was purged from {} before it was archived (oldest there: {oldest}); \
             point-in-time restores cannot cross this gap: take a full backup now, and raise expire_logs_days/binlog_expire_logs_seconds",
            self.server.describe()
        )))
    }

    fn spawn(&self, start: &str) -> Result<(Child, std::thread::JoinHandle<String>)> {
        let defaults = self.server.defaults_file()?;
        let tool = self.flavor.binlog_tool();
        let mut prefix = self.spool.clone().into_os_string();
        prefix.push("/");
        let (child, stderr) = spawn_tool(
            self.server
                .tool(tool, &defaults)
                .args(["--read-from-remote-server", "--raw", "--stop-never"])
                .arg(format!("--stop-never-slave-server-id={}", self.server_id))
                .arg("--result-file")
                .arg(&prefix)
                .arg(start),
            Stdio::null(),
            Stdio::null(),
        )?;
        // The tool reads the option file at start; it may go once the tool has read it.
        std::thread::sleep(Duration::from_millis(300));
        drop(defaults);
        Ok((child, stderr))
    }

    /// The new whole events of every spooled file, as parts to store.
    fn collect(&mut self, scans: &mut BTreeMap<String, Segment>) -> anyhow::Result<Vec<Part>> {
        let mut files: Vec<String> = fs::read_dir(&self.spool)?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|f| sequence(f).is_some())
            .collect();
        files.sort_by_key(|f| sequence(f));
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
            let before = seg.size;
            extend_scan(seg, &path)?;
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
            let _ = before;
            let a = self.archived.entry(f).or_default();
            a.size = a.size.max(seg.size);
            a.closed |= seg.closed;
        }
        Ok(parts)
    }

    /// Closed files fully archived are not needed in the spool any more.
    fn clean_spool(&self) {
        for (f, a) in &self.archived {
            if a.closed {
                let _ = fs::remove_file(self.spool.join(f));
            }
        }
    }
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

/// Sleeps `d` in small steps, waking early on stop or when the child exits.
fn sleep_until(stop: &AtomicBool, d: Duration, child: &mut Child) {
    let end = Instant::now() + d;
    while Instant::now() < end && !stop.load(Ordering::Relaxed) {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The name a stored part has inside its snapshot: `FILE@OFFSET`, sortable.
pub fn part_name(file: &str, offset: u64) -> String {
    format!("{file}@{offset:012}")
}

/// Splits `FILE@OFFSET`.
pub fn parse_part_name(name: &str) -> Option<(&str, u64)> {
    let (f, o) = name.rsplit_once('@')?;
    Some((f, o.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_names_sort_by_offset() {
        let a = part_name("bin.000001", 4);
        let b = part_name("bin.000001", 120_000);
        assert!(a < b);
        assert_eq!(parse_part_name(&b), Some(("bin.000001", 120_000)));
    }
}

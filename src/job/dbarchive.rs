//! A mysql source's archive in the repository: what it holds (`chain::describe`, re-exported)
//! and the binlog files of a chain rebuilt from their parts.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::repo::{Reader, Snapshot};
pub use crate::source::mysql::chain::describe::{
    archived, coverage, fulls, parts, BinlogDescription, PartInfo,
};
use crate::source::mysql::chain::ChainFile;

/// Rebuilds the chain's binlog files in `dir` from their parts (the stored prefix of each, no
/// byte twice); returns their paths in order.
pub fn extract(
    reader: &Reader,
    snaps: &[Snapshot],
    files: &[ChainFile],
    dir: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for cf in files {
        let path = dir.join(&cf.file);
        let mut f = std::fs::File::create(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let mut written = 0u64;
        for p in &cf.parts {
            let end = (p.offset + p.len).min(cf.size);
            if end <= written {
                continue;
            }
            anyhow::ensure!(
                p.offset <= written,
                "binlog {} has a hole at byte {written}",
                cf.file
            );
            let snap = snaps
                .iter()
                .find(|s| s.id == p.snapshot)
                .context("binlog snapshot vanished")?;
            let entries = reader.entries(snap, None)?;
            let name = crate::source::mysql::archiver::part_name(&p.file, p.offset);
            let entry = entries
                .iter()
                .find(|e| e.path.as_os_str() == name.as_str())
                .with_context(|| {
                    format!("part {name} missing from snapshot {}", snap.short_id())
                })?;
            // An overlapping part contributes only the bytes not written yet.
            let mut w = Window {
                inner: &mut f,
                skip: written - p.offset,
                left: end - written,
            };
            reader.write_file(entry, &mut w)?;
            anyhow::ensure!(
                w.left == 0,
                "part {name} of snapshot {} is shorter than its description says",
                snap.short_id()
            );
            written = end;
        }
        anyhow::ensure!(
            written == cf.size,
            "binlog {}: rebuilt {written} of {} bytes",
            cf.file,
            cf.size
        );
        f.flush()?;
        out.push(path);
    }
    Ok(out)
}

/// Writes bytes `skip..skip+left` of what it is given and drops the rest.
struct Window<'a, W: Write> {
    inner: &'a mut W,
    skip: u64,
    left: u64,
}

impl<W: Write> Write for Window<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = buf.len();
        let from = (self.skip.min(n as u64)) as usize;
        self.skip -= from as u64;
        let take = ((n - from) as u64).min(self.left) as usize;
        self.inner.write_all(&buf[from..from + take])?;
        self.left -= take as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_skips_and_cuts() {
        let mut out = Vec::new();
        let mut w = Window {
            inner: &mut out,
            skip: 3,
            left: 4,
        };
        w.write_all(b"ab").unwrap();
        w.write_all(b"cdefghij").unwrap();
        assert_eq!(out, b"defg");
    }
}

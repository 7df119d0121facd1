//! A busy day of binlog flushes, made up: binlog bytes in the format the archiver reads (a
//! format description, then transactions of GTID, rows and XID events, a rotate at each file's
//! end), cut into one part per flush and stored as the archiver stores them (each flush its own
//! snapshot, packs and index file), without a server. What `scripts/bench binlog-open` measures
//! housekeeping on (`examples/binlog_day.rs`): 20,000 real 1 s flushes would take 5.5 hours.

use serde::Serialize;

use super::super::backup::{manifest, meta_files};
use super::super::Site;
use super::flush_request;
use crate::repo::{BackupRequest, Content, Stream};
use crate::source::mysql::archiver::Part;
use crate::source::mysql::binlog::{scan, scan_more, with_sequence, Segment};

const FORMAT_DESCRIPTION: u8 = 15;
const ROTATE: u8 = 4;
const MARIADB_GTID: u8 = 162;
const WRITE_ROWS: u8 = 30;
const XID: u8 = 16;
const SERVER: u32 = 1;

/// The day to make.
#[derive(Debug, Clone)]
pub struct DayOptions {
    pub flushes: usize,
    /// Bytes of events per flush (whole transactions, so a little more).
    pub flush_bytes: usize,
    /// A file is rotated in the flush that takes it past this size.
    pub file_bytes: u64,
    /// Unix seconds of the first flush; flushes are 1 s apart.
    pub start: i64,
    /// Flushes stored under one lock and one read of the index.
    pub batch: usize,
    pub seed: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct DaySummary {
    pub flushes: usize,
    pub files: usize,
    pub bytes: u64,
    pub seconds: f64,
}

/// Stores a full (its position at the first file's first event) and `opts.flushes` binlog
/// flushes of source `name` into the primary.
pub fn store_day(site: &Site, name: &str, opts: &DayOptions) -> anyhow::Result<DaySummary> {
    let t0 = std::time::Instant::now();
    let (name, src) = site.source(name)?;
    let repo = site.open_primary()?;
    let mut gen = Generator::new(opts.seed);
    let first = gen.file.clone();
    repo.backup(&full_request(site, name, src, opts.start - 1, &first))?;
    let base = manifest(site, name, "binlog", src);
    let mut summary = DaySummary::default();
    let mut batch: Vec<BackupRequest> = Vec::new();
    for i in 0..opts.flushes {
        let part = gen.flush(opts.start + i as i64, opts.flush_bytes, opts.file_bytes)?;
        summary.bytes += part.data.len() as u64;
        summary.files += usize::from(part.segment.closed);
        batch.push(flush_request(site, name, src, &base, vec![part])?.0);
        if batch.len() >= opts.batch.max(1) || i + 1 == opts.flushes {
            repo.backup_batch(&batch)?;
            batch.clear();
            tracing::info!(flushes = i + 1, "synthetic binlog flushes stored");
        }
    }
    summary.flushes = opts.flushes;
    // The file being written at the end of the day counts too.
    summary.files += 1;
    summary.seconds = t0.elapsed().as_secs_f64();
    Ok(summary)
}

fn full_request(
    site: &Site,
    name: &str,
    src: &crate::config::SourceConfig,
    at: i64,
    file: &str,
) -> BackupRequest {
    let dump = format!("-- synthetic full of {name} for the binlog benchmark\n").into_bytes();
    let description = serde_json::json!({
        "at": at,
        "binlog": {"file": file, "position": 4},
        "gtid": "0-1-0",
        "databases": ["bench"],
    });
    BackupRequest {
        source: name.into(),
        kind: "mysql-full".into(),
        tier: src.tier.clone(),
        host: site.host(),
        content: Content::streams(
            format!("/mysql/{name}"),
            vec![Stream::sized(
                "dump.sql",
                dump.len() as u64,
                std::io::Cursor::new(dump),
            )],
        ),
        meta_files: meta_files(site, &manifest(site, name, "mysql-full", src)),
        meta_mtime: site.config_mtime,
        description: Some(description.to_string()),
    }
}

/// The server side: one growing file at a time, scanned as the archiver scans its spool.
struct Generator {
    file: String,
    segment: Option<Segment>,
    gtid: u64,
    rng: u64,
}

impl Generator {
    fn new(seed: u64) -> Self {
        Self {
            file: with_sequence("mysql-bin.000000", 1),
            segment: None,
            gtid: 0,
            rng: seed | 1,
        }
    }

    /// The part of one flush at `t`: about `bytes` of transactions, and the rotate if the file
    /// reaches `file_bytes`.
    fn flush(&mut self, t: i64, bytes: usize, file_bytes: u64) -> anyhow::Result<Part> {
        let ts = u32::try_from(t)?;
        let mut data = Vec::with_capacity(bytes + 1024);
        if self.segment.is_none() {
            data.extend_from_slice(b"\xfebin");
            data.extend(event(ts, FORMAT_DESCRIPTION, &format_description(ts)));
        }
        while data.len() < bytes {
            self.transaction(ts, &mut data);
        }
        let offset = self.segment.as_ref().map_or(0, |s| s.size);
        if offset + data.len() as u64 >= file_bytes {
            let next = with_sequence(&self.file, self.seq() + 1);
            let mut body = 4u64.to_le_bytes().to_vec();
            body.extend_from_slice(next.as_bytes());
            data.extend(event(ts, ROTATE, &body));
        }
        let segment = match self.segment.as_mut() {
            Some(seg) => {
                scan_more(seg, &data);
                seg.clone()
            }
            None => self.segment.insert(scan(&self.file, &data)?).clone(),
        };
        anyhow::ensure!(
            segment.size == offset + data.len() as u64,
            "synthetic binlog scanned short"
        );
        if segment.closed {
            self.file = with_sequence(&self.file, self.seq() + 1);
            self.segment = None;
        }
        Ok(Part {
            segment,
            offset,
            data,
        })
    }

    fn seq(&self) -> u64 {
        crate::source::mysql::binlog::sequence(&self.file).unwrap_or(0)
    }

    /// GTID, one rows event of a few rows (text-like, so it compresses as row data does), XID.
    fn transaction(&mut self, ts: u32, out: &mut Vec<u8>) {
        self.gtid += 1;
        let mut gtid = self.gtid.to_le_bytes().to_vec();
        gtid.extend_from_slice(&0u32.to_le_bytes());
        gtid.push(0);
        out.extend(event(ts, MARIADB_GTID, &gtid));
        let mut rows = Vec::with_capacity(600);
        for _ in 0..4 {
            let r = self.next();
            rows.extend_from_slice(
                format!(
                    "id={} customer=customer-{:05} amount={}.{:02} status={} note=",
                    self.gtid,
                    r % 50_000,
                    (r >> 20) % 100_000,
                    (r >> 40) % 100,
                    ["new", "paid", "shipped", "returned"][(r >> 50) as usize % 4]
                )
                .as_bytes(),
            );
            rows.extend((0..24).map(|_| (self.next() % 26) as u8 + b'a'));
            rows.push(b'\n');
        }
        out.extend(event(ts, WRITE_ROWS, &rows));
        out.extend(event(ts, XID, &self.gtid.to_le_bytes()));
    }

    /// xorshift64: deterministic for a seed, good enough for row contents.
    fn next(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }
}

/// A v4 event: 19-byte header (timestamp, type, server id, length, next position, flags), body.
fn event(ts: u32, kind: u8, body: &[u8]) -> Vec<u8> {
    let len = u32::try_from(19 + body.len()).expect("small event");
    let mut v = Vec::with_capacity(len as usize);
    v.extend_from_slice(&ts.to_le_bytes());
    v.push(kind);
    v.extend_from_slice(&SERVER.to_le_bytes());
    v.extend_from_slice(&len.to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&0u16.to_le_bytes());
    v.extend_from_slice(body);
    v
}

/// Binlog version 4, a server version, the creation time, the header length.
fn format_description(ts: u32) -> Vec<u8> {
    let mut b = 4u16.to_le_bytes().to_vec();
    let mut version = b"10.11.0-MariaDB-synthetic".to_vec();
    version.resize(50, 0);
    b.extend(version);
    b.extend_from_slice(&ts.to_le_bytes());
    b.push(19);
    b.extend_from_slice(&[0; 40]);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flushes_are_contiguous_parts_and_files_rotate() {
        let mut g = Generator::new(7);
        let mut end = 0;
        let mut closed = Vec::new();
        for i in 0..40 {
            let p = g.flush(1_000 + i, 2_000, 20_000).unwrap();
            if p.offset == 0 {
                assert_eq!(&p.data[..4], b"\xfebin");
                end = 0;
            }
            assert_eq!(p.offset, end, "flush {i} follows the previous one");
            end = p.segment.size;
            assert!(p.segment.last_gtid.is_some());
            if p.segment.closed {
                closed.push(p.segment.file.clone());
            }
        }
        assert_eq!(closed[..2], ["mysql-bin.000001", "mysql-bin.000002"]);
    }
}

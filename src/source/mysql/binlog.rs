//! Reading binlog files as the archive needs them: where the last complete event ends (a
//! growing file is stored up to there, never with a torn event), first and last event times,
//! the GTID range, and whether the file was closed (rotated or stopped). Pure: bytes in, facts
//! out. Format: a 4-byte magic, then events with a 19-byte v4 header
//! (timestamp, type, server id, length, next position, flags).

use serde::{Deserialize, Serialize};

const MAGIC: &[u8; 4] = b"\xfebin";
pub(crate) const HEADER: usize = 19;
pub(crate) const STOP_EVENT: u8 = 3;
pub(crate) const ROTATE_EVENT: u8 = 4;
pub(crate) const FORMAT_DESCRIPTION_EVENT: u8 = 15;
pub(crate) const MARIADB_GTID_EVENT: u8 = 162;
const MYSQL_GTID_EVENT: u8 = 33;

/// The fields of a v4 event header that the archive and the replay read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// Unix seconds.
    pub ts: u32,
    pub kind: u8,
    pub server: u32,
    /// The whole event's length, header included.
    pub len: usize,
}

/// Decodes the first `HEADER` bytes of an event.
pub(crate) fn header(h: &[u8]) -> Header {
    let u32_at = |i: usize| u32::from_le_bytes(h[i..i + 4].try_into().expect("4 bytes"));
    Header {
        ts: u32_at(0),
        kind: h[4],
        server: u32_at(5),
        len: u32_at(9) as usize,
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BinlogError {
    #[error("{0} is not a binlog file (bad magic)")]
    NotABinlog(String),
}

/// A MariaDB GTID `domain-server-seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Gtid {
    pub domain: u32,
    pub server: u32,
    pub seq: u64,
}

impl std::fmt::Display for Gtid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}-{}", self.domain, self.server, self.seq)
    }
}

impl std::str::FromStr for Gtid {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a GTID like 0-1-100");
        let mut it = s.trim().split('-');
        let (d, sv, sq) = (
            it.next().ok_or_else(bad)?,
            it.next().ok_or_else(bad)?,
            it.next().ok_or_else(bad)?,
        );
        if it.next().is_some() {
            return Err(bad());
        }
        Ok(Self {
            domain: digits(d).ok_or_else(bad)?,
            server: digits(sv).ok_or_else(bad)?,
            seq: digits(sq).ok_or_else(bad)?,
        })
    }
}

/// What one binlog file (or the prefix of a growing one) holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub file: String,
    /// Bytes up to the end of the last complete event.
    pub size: u64,
    /// Unix seconds of the first and last event.
    pub first_event: Option<u32>,
    pub last_event: Option<u32>,
    pub first_gtid: Option<Gtid>,
    pub last_gtid: Option<Gtid>,
    /// Ends with a rotate or stop event: the file will not grow any more.
    pub closed: bool,
    pub events: u64,
}

/// Scans a binlog file's bytes (possibly still growing).
pub fn scan(file: &str, data: &[u8]) -> Result<Segment, BinlogError> {
    if data.len() < 4 || &data[..4] != MAGIC {
        return Err(BinlogError::NotABinlog(file.to_string()));
    }
    let mut seg = Segment {
        file: file.to_string(),
        size: 4,
        first_event: None,
        last_event: None,
        first_gtid: None,
        last_gtid: None,
        closed: false,
        events: 0,
    };
    scan_more(&mut seg, &data[4..]);
    Ok(seg)
}

/// Continues a scan with the bytes that follow `seg.size` (an event boundary): a growing file
/// is read once, not again at every flush.
pub fn scan_more(seg: &mut Segment, tail: &[u8]) {
    let base = seg.size as usize;
    let data = tail;
    let mut pos = 0usize;
    while pos + HEADER <= data.len() {
        let Header {
            ts,
            kind,
            server,
            len,
        } = header(&data[pos..pos + HEADER]);
        if len < HEADER || pos + len > data.len() {
            break;
        }
        let body = &data[pos + HEADER..pos + len];
        pos += len;
        seg.size = (base + pos) as u64;
        seg.events += 1;
        // The format description of a file written by a server is stamped with the file's
        // creation; events proper carry their commit times.
        if ts != 0 && kind != FORMAT_DESCRIPTION_EVENT {
            seg.first_event.get_or_insert(ts);
            seg.last_event = Some(ts);
        }
        match kind {
            MARIADB_GTID_EVENT if body.len() >= 12 => {
                let gtid = Gtid {
                    seq: u64::from_le_bytes(body[0..8].try_into().expect("8 bytes")),
                    domain: u32::from_le_bytes(body[8..12].try_into().expect("4 bytes")),
                    server,
                };
                seg.first_gtid.get_or_insert(gtid);
                seg.last_gtid = Some(gtid);
            }
            // MySQL GTIDs are UUID-based; the range is kept by position and time only.
            MYSQL_GTID_EVENT => {}
            ROTATE_EVENT | STOP_EVENT => seg.closed = true,
            _ => {}
        }
    }
}

/// The sequence number of a binlog file name (`mysql-bin.000042` -> 42); `None` for a name
/// without a base or whose suffix is not all digits.
pub fn sequence(file: &str) -> Option<u64> {
    let (base, n) = file.rsplit_once('.')?;
    digits(n).filter(|_| !base.is_empty())
}

/// A number written in ASCII digits only: `str::parse` also takes a leading `+`, which no
/// GTID or binlog name has, so `+1-2-3` would be read as `1-2-3`.
fn digits<T: std::str::FromStr>(s: &str) -> Option<T> {
    let ok = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    s.parse().ok().filter(|_| ok)
}

/// Finds holes in a list of archived files: every number between the first and the last must
/// be there. Returns the missing names.
pub fn gaps(files: &[String]) -> Vec<String> {
    let mut seqs: Vec<(u64, &String)> = files
        .iter()
        .filter_map(|f| Some((sequence(f)?, f)))
        .collect();
    seqs.sort();
    let mut missing = Vec::new();
    for w in seqs.windows(2) {
        let ((a, name), (b, _)) = (w[0], w[1]);
        for n in a + 1..b {
            missing.push(with_sequence(name, n));
        }
    }
    missing
}

/// `mysql-bin.000042` with another sequence number, same width.
pub fn with_sequence(file: &str, n: u64) -> String {
    match file.rsplit_once('.') {
        Some((base, digits)) => format!("{base}.{n:0width$}", width = digits.len()),
        None => format!("{file}.{n}"),
    }
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn event(ts: u32, kind: u8, server: u32, body: &[u8]) -> Vec<u8> {
        let len = (HEADER + body.len()) as u32;
        let mut v = Vec::new();
        v.extend_from_slice(&ts.to_le_bytes());
        v.push(kind);
        v.extend_from_slice(&server.to_le_bytes());
        v.extend_from_slice(&len.to_le_bytes());
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(&0u16.to_le_bytes());
        v.extend_from_slice(body);
        v
    }

    fn gtid_body(seq: u64, domain: u32) -> Vec<u8> {
        let mut b = seq.to_le_bytes().to_vec();
        b.extend_from_slice(&domain.to_le_bytes());
        b.push(0);
        b
    }

    fn file(closed: bool) -> Vec<u8> {
        let mut f = MAGIC.to_vec();
        f.extend(event(100, FORMAT_DESCRIPTION_EVENT, 1, &[0; 40]));
        f.extend(event(200, MARIADB_GTID_EVENT, 1, &gtid_body(7, 0)));
        f.extend(event(200, 30, 1, &[1; 25]));
        f.extend(event(205, MARIADB_GTID_EVENT, 1, &gtid_body(8, 0)));
        f.extend(event(206, 30, 1, &[2; 25]));
        if closed {
            f.extend(event(
                207,
                ROTATE_EVENT,
                1,
                b"\x04\0\0\0\0\0\0\0mysql-bin.000002",
            ));
        }
        f
    }

    #[test]
    fn scans_times_gtids_and_closure() {
        let s = scan("mysql-bin.000001", &file(true)).unwrap();
        assert_eq!((s.first_event, s.last_event), (Some(200), Some(207)));
        assert_eq!(s.first_gtid.unwrap().to_string(), "0-1-7");
        assert_eq!(s.last_gtid.unwrap().to_string(), "0-1-8");
        assert!(s.closed);
        assert_eq!(s.size as usize, file(true).len());
        assert!(!scan("x.1", &file(false)).unwrap().closed);
    }

    #[test]
    fn a_torn_event_is_left_out() {
        let whole = file(false);
        let torn = &whole[..whole.len() - 10];
        let s = scan("f.1", torn).unwrap();
        assert_eq!(s.size as usize, whole.len() - (HEADER + 25));
        assert_eq!(s.last_event, Some(205));
    }

    #[test]
    fn scanning_in_pieces_is_scanning_at_once() {
        let whole = file(true);
        let cut = 4 + 59 + 10;
        let mut s = scan("f.1", &whole[..cut]).unwrap();
        let from = s.size as usize;
        scan_more(&mut s, &whole[from..]);
        assert_eq!(s, scan("f.1", &whole).unwrap());
    }

    #[test]
    fn rejects_other_files() {
        assert!(scan("x", b"hello world").is_err());
    }

    #[rstest]
    #[case(&["b.000001", "b.000002", "b.000003"], &[])]
    #[case(&["b.000001", "b.000004"], &["b.000002", "b.000003"])]
    #[case(&["b.000010", "b.000009"], &[])]
    fn gap_detection(#[case] files: &[&str], #[case] missing: &[&str]) {
        let files: Vec<String> = files.iter().map(|s| s.to_string()).collect();
        assert_eq!(gaps(&files), missing);
    }

    #[test]
    fn gtid_parsing() {
        assert_eq!("0-1-100".parse::<Gtid>().unwrap().seq, 100);
        assert!("0-1".parse::<Gtid>().is_err());
        assert_eq!(with_sequence("mysql-bin.000099", 100), "mysql-bin.000100");
    }

    /// Found by the property tests: `str::parse` takes a leading `+`, so these were read as
    /// `0-1-100` and sequence 5 instead of refused; a name without a base had a sequence too.
    #[rstest]
    #[case("+0-1-100")]
    #[case("0-+1-100")]
    #[case("0-1-+100")]
    fn a_signed_gtid_is_refused(#[case] text: &str) {
        assert!(text.parse::<Gtid>().is_err(), "{text}");
    }

    #[rstest]
    #[case("mysql-bin.+5")]
    #[case(".000005")]
    #[case("mysql-bin.")]
    fn names_without_a_plain_sequence_have_none(#[case] name: &str) {
        assert_eq!(sequence(name), None, "{name}");
    }
}

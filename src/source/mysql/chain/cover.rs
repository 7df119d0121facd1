//! Which bytes of each binlog file the archive holds. A file is usable from byte 0 up to the
//! first byte no part stores (`stored`); anything stored beyond that is behind a hole and is
//! never replayed, because the events in the hole would be skipped silently.

use std::collections::BTreeMap;

use serde::Serialize;

use super::super::binlog::{sequence, Gtid};
use super::ChainFile;

/// One stored part of a binlog file (`FILE@OFFSET` in a binlog snapshot).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartRef {
    pub snapshot: String,
    pub file: String,
    pub offset: u64,
    pub len: u64,
    /// Event times and the last GTID of the file from its start up to the part's end.
    pub last_event: Option<i64>,
    pub first_event: Option<i64>,
    pub last_gtid: Option<Gtid>,
    /// The part ends with the file's rotate or stop event.
    pub closed: bool,
}

/// The first missing byte range of a file, with more stored after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Hole {
    pub from: u64,
    pub to: u64,
}

/// What the archive holds of one file.
#[derive(Debug, Clone, Serialize)]
pub struct FileCover {
    pub file: String,
    pub seq: u64,
    /// Bytes stored contiguously from byte 0.
    pub stored: u64,
    pub first_event: Option<i64>,
    /// Of the stored prefix.
    pub last_event: Option<i64>,
    pub last_gtid: Option<Gtid>,
    /// The stored prefix ends with the file's rotate or stop event.
    pub closed: bool,
    pub hole: Option<Hole>,
    /// Parts stored under this name come from two different files (their first events
    /// differ): the server's binary log was reset, or another server archived into this
    /// source. `(first event of the prefix's file, first event of the other)`. No chain goes
    /// through such a file, and housekeeping leaves it alone: which bytes belong to which
    /// history cannot be proven from the names.
    pub mixed: Option<(i64, i64)>,
    /// The parts making up the prefix, in offset order.
    #[serde(skip)]
    pub parts: Vec<PartRef>,
}

impl FileCover {
    pub fn to_chain_file(&self) -> ChainFile {
        ChainFile {
            file: self.file.clone(),
            size: self.stored,
            first_event: self.first_event,
            last_event: self.last_event,
            last_gtid: self.last_gtid,
            closed: self.closed,
            parts: self.parts.clone(),
        }
    }
}

/// Every file of one source's archive, by sequence number.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    files: BTreeMap<u64, FileCover>,
}

impl Coverage {
    /// Builds the coverage from parts in any order (duplicates and overlaps allowed).
    pub fn build(parts: &[PartRef]) -> Self {
        let mut by_file: BTreeMap<u64, Vec<&PartRef>> = BTreeMap::new();
        for p in parts {
            if let Some(seq) = sequence(&p.file) {
                by_file.entry(seq).or_default().push(p);
            }
        }
        let files = by_file
            .into_iter()
            .map(|(seq, mut ps)| {
                // Longest first at equal offsets, so a duplicate never shortens the prefix.
                ps.sort_by_key(|p| (p.offset, std::cmp::Reverse(p.len)));
                (seq, cover_file(seq, &ps))
            })
            .collect();
        Self { files }
    }

    pub fn file(&self, seq: u64) -> Option<&FileCover> {
        self.files.get(&seq)
    }

    /// Whether any file after `seq` holds something.
    pub fn has_after(&self, seq: u64) -> bool {
        self.files.range(seq + 1..).next().is_some()
    }

    pub fn files(&self) -> impl Iterator<Item = &FileCover> {
        self.files.values()
    }
}

fn cover_file(seq: u64, parts: &[&PartRef]) -> FileCover {
    let mut fc = FileCover {
        file: parts[0].file.clone(),
        seq,
        stored: 0,
        first_event: None,
        last_event: None,
        last_gtid: None,
        closed: false,
        hole: None,
        mixed: None,
        parts: Vec::new(),
    };
    // Every part of one file carries the file's first event (the archiver scans each file
    // from its start), so two values mean two files under one name.
    let mut firsts = parts.iter().filter_map(|p| p.first_event);
    if let Some(a) = firsts.next() {
        fc.mixed = firsts.find(|b| *b != a).map(|b| (a, b));
    }
    for p in parts {
        let end = p.offset + p.len;
        if p.offset > fc.stored {
            fc.hole = Some(Hole {
                from: fc.stored,
                to: p.offset,
            });
            break;
        }
        if fc.first_event.is_none() {
            fc.first_event = p.first_event;
        }
        if end > fc.stored || (end == fc.stored && p.closed && !fc.closed) {
            fc.stored = end;
            fc.last_event = p.last_event.or(fc.last_event);
            fc.last_gtid = p.last_gtid.or(fc.last_gtid);
            fc.closed = p.closed;
            fc.parts.push((*p).clone());
        }
    }
    fc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(file: &str, offset: u64, len: u64, last: i64, closed: bool) -> PartRef {
        PartRef {
            snapshot: format!("s{offset}"),
            file: file.into(),
            offset,
            len,
            first_event: Some(100),
            last_event: Some(last),
            last_gtid: None,
            closed,
        }
    }

    #[test]
    fn contiguous_parts_make_a_prefix() {
        let c = Coverage::build(&[
            part("b.000001", 100, 50, 120, false),
            part("b.000001", 0, 100, 110, false),
            part("b.000001", 150, 0, 120, true),
        ]);
        let f = c.file(1).unwrap();
        assert_eq!((f.stored, f.closed, f.hole), (150, true, None));
        assert_eq!(f.last_event, Some(120));
        assert_eq!(f.parts.len(), 3);
    }

    #[test]
    fn a_hole_stops_the_prefix_and_later_parts_are_not_used() {
        let c = Coverage::build(&[
            part("b.000001", 0, 100, 110, false),
            part("b.000001", 200, 50, 130, true),
        ]);
        let f = c.file(1).unwrap();
        assert_eq!(f.stored, 100);
        assert!(!f.closed);
        assert_eq!(f.hole, Some(Hole { from: 100, to: 200 }));
        assert_eq!(f.last_event, Some(110));
        assert_eq!(f.parts.len(), 1);
    }

    #[test]
    fn a_missing_start_is_a_hole_at_byte_zero() {
        let c = Coverage::build(&[part("b.000002", 4000, 10, 110, false)]);
        let f = c.file(2).unwrap();
        assert_eq!((f.stored, f.hole), (0, Some(Hole { from: 0, to: 4000 })));
    }

    #[test]
    fn duplicates_and_overlaps_do_not_shorten_or_double() {
        let c = Coverage::build(&[
            part("b.000001", 0, 100, 110, false),
            part("b.000001", 0, 60, 105, false),
            part("b.000001", 50, 100, 120, false),
        ]);
        let f = c.file(1).unwrap();
        assert_eq!(f.stored, 150);
        assert_eq!(f.parts.len(), 2, "the shorter duplicate adds nothing");
        assert!(c.has_after(0) && !c.has_after(1));
    }
}

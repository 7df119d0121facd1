//! Restore chains, proven: which bytes of which binlog files the archive holds (`Coverage`),
//! the chain from a full to a target (`plan`), and what a repository's archive can restore
//! (`health`). The rule everything here keeps: a plan either covers every byte from the full's
//! position to the target, or it is an error that names what is missing and the latest time
//! that *can* be restored exactly. Never a restore that stops short and calls it success.
//!
//! Pure: fulls and stored parts in (as read from snapshot descriptions), plans out.

mod cover;
pub mod describe;
mod health;
pub mod merge;
mod missing;
mod retention;

use serde::Serialize;

use super::binlog::{sequence, with_sequence, Gtid};
use super::dump::Coordinates;

pub use cover::{Coverage, FileCover, Hole, PartRef};
pub use health::{health, Health, HoleReport};
pub use missing::Missing;
pub use retention::{binlog_fates, BinlogChains};

/// Where a restore stops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Until {
    /// Everything archived.
    Latest,
    /// Every transaction committed up to and including this second (unix seconds).
    Time(i64),
    /// Up to and including this GTID.
    Gtid(Gtid),
    /// Up to this byte position of this binlog file.
    Position(Coordinates),
}

/// A full backup available in the repository.
#[derive(Debug, Clone, Serialize)]
pub struct FullRef {
    pub snapshot: String,
    /// Unix seconds of the backup's consistent point.
    pub at: i64,
    pub binlog: Option<Coordinates>,
    pub gtid: Option<String>,
}

impl FullRef {
    pub fn short(&self) -> &str {
        &self.snapshot[..8.min(self.snapshot.len())]
    }
}

/// One binlog file of a chain: the stored prefix to replay and the parts that make it up.
#[derive(Debug, Clone, Serialize)]
pub struct ChainFile {
    pub file: String,
    /// Bytes stored contiguously from the start: what is extracted and replayed.
    pub size: u64,
    pub first_event: Option<i64>,
    pub last_event: Option<i64>,
    pub last_gtid: Option<Gtid>,
    /// The stored prefix ends with the file's rotate or stop event.
    pub closed: bool,
    /// The parts, in offset order, that rebuild the prefix.
    #[serde(skip)]
    pub parts: Vec<PartRef>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Chain {
    pub full: FullRef,
    pub binlogs: Vec<ChainFile>,
    pub until: Until,
    /// The time of the last event the chain holds (or the full's time): what "latest" reaches.
    pub reaches: i64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChainError {
    #[error("no full backup of this source yet; run 'dxbackup backup SOURCE'")]
    NoFull,
    #[error("no full backup before the target; the oldest full is from {}", local(*.0))]
    NoFullBefore(i64),
    #[error("full {full} has no binlog coordinates (binary logging was off when it was taken), so it cannot be rolled forward: it restores the state of {} only; omit --until", local(*at))]
    NoCoordinates { full: String, at: i64 },
    #[error("cannot restore exactly to {target}: {missing}; the latest point that can be restored exactly is {} (full {full} and its binlogs): use --until \"{}\"{}", local(*restorable), local(*restorable), hint(missing, next_full))]
    NotCovered {
        target: String,
        missing: Missing,
        full: String,
        /// The latest time the chain restores exactly.
        restorable: i64,
        /// The next full after the missing part: targets from there on are restorable again.
        next_full: Option<i64>,
    },
    #[error("binlog position {file}:{position} does not exist: {file} ends at byte {size} (its rotate event is archived); give a position inside it, or one of the next file")]
    PositionPastEnd {
        file: String,
        position: u64,
        size: u64,
    },
}

fn hint(missing: &Missing, next_full: &Option<i64>) -> String {
    let mut s = String::new();
    if let Some(n) = next_full {
        s += &format!(", or a time from {} on (the next full)", local(*n));
    }
    if !missing.is_hole() {
        s += "; or start the binlog archiver ('dxbackup binlog SOURCE') and retry once it has caught up";
    }
    s
}

/// Chooses the full and the binlog files for a target, and proves the archive covers it.
pub fn plan(fulls: &[FullRef], cover: &Coverage, until: &Until) -> Result<Chain, ChainError> {
    let mut fulls: Vec<&FullRef> = fulls.iter().collect();
    fulls.sort_by_key(|f| f.at);
    let oldest = fulls.first().ok_or(ChainError::NoFull)?;
    let full = *fulls
        .iter()
        .rev()
        .find(|f| eligible(f, until))
        .ok_or(ChainError::NoFullBefore(oldest.at))?;
    let next_full = fulls.iter().map(|f| f.at).find(|at| *at > full.at);
    let walk = walk(full, cover, until);
    let fail = |missing: Missing| ChainError::NotCovered {
        target: describe(until),
        missing,
        full: full.short().to_string(),
        restorable: walk.reaches,
        next_full,
    };
    if let Until::Position(p) = until {
        // A closed file is whole: a position past its end is a typo, not a target to round
        // to the file's end (the walk would call the next file's start "reached").
        let past = |f: &&ChainFile| {
            sequence(&f.file) == sequence(&p.file) && f.closed && f.size < p.position
        };
        if let Some(f) = walk.files.iter().find(past) {
            return Err(ChainError::PositionPastEnd {
                file: p.file.clone(),
                position: p.position,
                size: f.size,
            });
        }
    }
    if walk.reached {
        return Ok(walk.into_chain(full, until));
    }
    if full.binlog.is_none() {
        return Err(ChainError::NoCoordinates {
            full: full.short().to_string(),
            at: full.at,
        });
    }
    let missing = walk.stop.clone().unwrap_or(Missing::End {
        file: String::new(),
        stored: 0,
    });
    match until {
        // "Latest" is what the archive holds, as long as nothing is missing before its end.
        Until::Latest if !missing.is_hole() => Ok(walk.into_chain(full, until)),
        // At the archive's end the last second is as complete as the archive is.
        Until::Time(t) if *t <= walk.reaches && !missing.is_hole() => {
            Ok(walk.into_chain(full, until))
        }
        _ => Err(fail(missing)),
    }
}

fn eligible(f: &FullRef, until: &Until) -> bool {
    match until {
        Until::Latest => true,
        Until::Time(t) => f.at <= *t,
        Until::Gtid(g) => f
            .gtid
            .as_deref()
            .and_then(|s| position_in_domain(s, g.domain))
            .is_none_or(|seq| seq <= g.seq),
        Until::Position(p) => f
            .binlog
            .as_ref()
            .is_none_or(|c| coord_key(c) <= coord_key(p)),
    }
}

/// How far the archive carries one full towards a target.
struct Walk {
    files: Vec<ChainFile>,
    reaches: i64,
    /// The target is proven covered.
    reached: bool,
    /// Why the walk stopped before the target, if it did.
    stop: Option<Missing>,
}

impl Walk {
    fn into_chain(self, full: &FullRef, until: &Until) -> Chain {
        Chain {
            full: full.clone(),
            binlogs: self.files,
            until: until.clone(),
            reaches: self.reaches,
        }
    }
}

fn walk(full: &FullRef, cover: &Coverage, until: &Until) -> Walk {
    let mut w = Walk {
        files: Vec::new(),
        reaches: full.at,
        reached: false,
        stop: None,
    };
    let Some(start) = &full.binlog else {
        // Without coordinates the full is its own end point.
        w.reached = matches!(until, Until::Latest);
        return w;
    };
    let Some(mut seq) = sequence(&start.file) else {
        w.stop = Some(Missing::File {
            file: start.file.clone(),
        });
        return w;
    };
    let first = seq;
    if let (Until::Gtid(g), Some(pos)) = (until, &full.gtid) {
        // The target is the full's own consistent point.
        if position_in_domain(pos, g.domain) == Some(g.seq) {
            w.reached = true;
            return w;
        }
    }
    loop {
        let name = with_sequence(&start.file, seq);
        let Some(fc) = cover.file(seq) else {
            w.stop = Some(if cover.has_after(seq) {
                Missing::File { file: name }
            } else {
                // Nothing stored from here on (yet): the archive ends.
                Missing::End {
                    file: name,
                    stored: 0,
                }
            });
            return w;
        };
        if let Some((a, b)) = fc.mixed {
            w.stop = Some(Missing::Mixed {
                file: fc.file.clone(),
                first: a,
                other: b,
            });
            return w;
        }
        if seq == first && fc.stored < start.position {
            w.stop = Some(match &fc.hole {
                Some(h) if h.from < start.position => Missing::Hole {
                    file: fc.file.clone(),
                    from: h.from,
                    to: h.to,
                },
                _ if cover.has_after(seq) => Missing::Rest {
                    file: fc.file.clone(),
                    from: fc.stored,
                },
                _ => Missing::FullPosition {
                    file: fc.file.clone(),
                    stored: fc.stored,
                    needed: start.position,
                },
            });
            return w;
        }
        if let Until::Position(p) = until {
            if sequence(&p.file) < Some(seq) {
                w.reached = true;
                return w;
            }
        }
        w.files.push(fc.to_chain_file());
        w.reaches = w.reaches.max(fc.last_event.unwrap_or(i64::MIN));
        if reached_in(fc, until) {
            w.reached = true;
            return w;
        }
        if let Some(h) = &fc.hole {
            w.stop = Some(Missing::Hole {
                file: fc.file.clone(),
                from: h.from,
                to: h.to,
            });
            return w;
        }
        if !fc.closed {
            w.stop = Some(if cover.has_after(seq) {
                Missing::Rest {
                    file: fc.file.clone(),
                    from: fc.stored,
                }
            } else {
                Missing::End {
                    file: fc.file.clone(),
                    stored: fc.stored,
                }
            });
            return w;
        }
        seq += 1;
    }
}

/// Whether the stored prefix of `fc` proves every event up to the target is there.
fn reached_in(fc: &FileCover, until: &Until) -> bool {
    match until {
        Until::Latest => false,
        // An event stored after the target second proves nothing of that second is missing.
        Until::Time(t) => fc.last_event.is_some_and(|e| e > *t),
        Until::Gtid(g) => fc
            .last_gtid
            .is_some_and(|l| l.domain == g.domain && l.seq >= g.seq),
        Until::Position(p) => sequence(&p.file) == Some(fc.seq) && fc.stored >= p.position,
    }
}

fn describe(until: &Until) -> String {
    match until {
        Until::Latest => "the latest archived event".into(),
        Until::Time(t) => local(*t),
        Until::Gtid(g) => format!("GTID {g}"),
        Until::Position(p) => format!("{}:{}", p.file, p.position),
    }
}

fn coord_key(c: &Coordinates) -> (u64, u64) {
    (sequence(&c.file).unwrap_or(0), c.position)
}

/// The sequence number of `domain` in a GTID position list such as `0-1-100,1-2-5`.
fn position_in_domain(list: &str, domain: u32) -> Option<u64> {
    list.split(',')
        .filter_map(|g| g.parse::<Gtid>().ok())
        .find(|g| g.domain == domain)
        .map(|g| g.seq)
}

/// Local wall-clock time, as `--until` takes it.
pub fn local(t: i64) -> String {
    jiff::Timestamp::from_second(t)
        .map(|t| {
            t.to_zoned(jiff::tz::TimeZone::system())
                .strftime("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|_| t.to_string())
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

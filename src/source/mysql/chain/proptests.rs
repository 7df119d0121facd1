//! Property tests of the chain planner on generated archives: a binlog history cut into parts,
//! then damaged (parts dropped, duplicated, overlapped, whole files lost, a growing end), with
//! fulls anywhere in it. The rule of the module, checked against the raw parts rather than
//! `Coverage`: a plan covers every byte from its full's position to the target, or the error
//! names something that really is missing. And an undamaged archive plans every target in it.

use proptest::prelude::*;
use proptest::test_runner::Config as Cases;

use super::*;

fn cases(n: u32) -> Cases {
    Cases {
        cases: n,
        failure_persistence: None,
        ..Cases::default()
    }
}

/// The true history: file `i` (sequence `i + 1`) has `size[i]` bytes, an event every 10 bytes,
/// one second and one GTID apart; files after the last are closed, the last maybe not.
#[derive(Debug, Clone)]
struct History {
    size: Vec<u64>,
    last_closed: bool,
}

impl History {
    fn name(seq: u64) -> String {
        format!("mysql-bin.{seq:06}")
    }
    /// Seconds and GTID sequence numbers both count events from the start of the history.
    fn clock(&self, seq: u64, byte: u64) -> i64 {
        let before: u64 = self.size[..seq as usize - 1]
            .iter()
            .map(|s| s / 10 + 1)
            .sum();
        1000 + (before + byte / 10) as i64
    }
    fn closed(&self, seq: u64) -> bool {
        seq < self.size.len() as u64 || self.last_closed
    }
    fn part(&self, seq: u64, offset: u64, end: u64) -> PartRef {
        let t = self.clock(seq, end);
        PartRef {
            snapshot: format!("p{seq}@{offset}"),
            file: Self::name(seq),
            offset,
            len: end - offset,
            first_event: Some(self.clock(seq, 0)),
            last_event: Some(t),
            last_gtid: Some(Gtid {
                domain: 0,
                server: 1,
                seq: t as u64,
            }),
            closed: self.closed(seq) && end == self.size[seq as usize - 1],
        }
    }
}

#[derive(Debug, Clone)]
enum Damage {
    Drop(prop::sample::Index),
    Duplicate(prop::sample::Index),
    /// A part stored again reaching further (or less far) than the original.
    Overlap(prop::sample::Index, u64),
    LoseFile(u64),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        any::<prop::sample::Index>().prop_map(Damage::Drop),
        any::<prop::sample::Index>().prop_map(Damage::Duplicate),
        (any::<prop::sample::Index>(), 0u64..300).prop_map(|(i, n)| Damage::Overlap(i, n)),
        (1u64..=5).prop_map(Damage::LoseFile),
    ]
}

/// The parts of `h`, each file cut at the given points, then damaged.
fn archive(h: &History, cuts: &[Vec<u64>], damage: &[Damage]) -> Vec<PartRef> {
    let mut parts = Vec::new();
    for (i, size) in h.size.iter().enumerate() {
        let mut points: Vec<u64> = cuts[i]
            .iter()
            .map(|c| c % size)
            .filter(|c| *c > 0)
            .collect();
        points.extend([0, *size]);
        points.sort();
        points.dedup();
        let seq = i as u64 + 1;
        parts.extend(points.windows(2).map(|w| h.part(seq, w[0], w[1])));
    }
    for d in damage {
        if parts.is_empty() {
            break;
        }
        match d {
            Damage::Drop(i) => drop(parts.remove(i.index(parts.len()))),
            Damage::Duplicate(i) => parts.push(parts[i.index(parts.len())].clone()),
            Damage::Overlap(i, n) => {
                let p = &parts[i.index(parts.len())];
                let (seq, size) = (
                    sequence(&p.file).unwrap(),
                    h.size[sequence(&p.file).unwrap() as usize - 1],
                );
                let end = (p.offset + n).min(size);
                parts.push(h.part(seq, p.offset, end));
            }
            Damage::LoseFile(seq) => parts.retain(|p| sequence(&p.file) != Some(*seq)),
        }
    }
    parts
}

fn fulls(h: &History, at: &[(u64, u64, bool)]) -> Vec<FullRef> {
    at.iter()
        .enumerate()
        .map(|(i, &(seq, byte, coords))| {
            let seq = seq % h.size.len() as u64 + 1;
            let byte = 4 + byte % (h.size[seq as usize - 1] - 3);
            let t = h.clock(seq, byte);
            FullRef {
                snapshot: format!("full{i:04}"),
                at: t,
                binlog: coords.then(|| Coordinates {
                    file: History::name(seq),
                    position: byte,
                }),
                gtid: coords.then(|| format!("0-1-{t}")),
            }
        })
        .collect()
}

fn until() -> impl Strategy<Value = Until> {
    prop_oneof![
        Just(Until::Latest),
        (900i64..1400).prop_map(Until::Time),
        (900u64..1400).prop_map(|seq| Until::Gtid(Gtid {
            domain: 0,
            server: 1,
            seq
        })),
        (1u64..=6, 0u64..700).prop_map(|(s, position)| Until::Position(Coordinates {
            file: History::name(s),
            position
        })),
    ]
}

/// Bytes of `seq` stored contiguously from byte 0, from the raw parts.
fn prefix(parts: &[PartRef], seq: u64) -> u64 {
    let mut spans: Vec<(u64, u64)> = parts
        .iter()
        .filter(|p| sequence(&p.file) == Some(seq))
        .map(|p| (p.offset, p.offset + p.len))
        .collect();
    spans.sort();
    spans.iter().fold(
        0,
        |stored, &(a, b)| if a <= stored { stored.max(b) } else { stored },
    )
}

/// Whether anything is stored after byte `from` of `seq` (in it, or in a later file).
fn stored_after(parts: &[PartRef], seq: u64, from: u64) -> bool {
    parts.iter().any(|p| {
        let s = sequence(&p.file).unwrap();
        s > seq || (s == seq && p.offset > from)
    })
}

/// A plan: consecutive files from the full's, each rebuilt from byte 0 to the end of what is
/// stored contiguously (as `dbarchive::extract` rebuilds it), every file but the last closed,
/// and the target reached, or the archive's end reached with nothing stored beyond it.
fn check_plan(h: &History, parts: &[PartRef], c: &Chain) -> Result<(), TestCaseError> {
    let Some(start) = &c.full.binlog else {
        prop_assert!(c.binlogs.is_empty() && c.until == Until::Latest);
        return Ok(());
    };
    let s0 = sequence(&start.file).unwrap();
    for (i, f) in c.binlogs.iter().enumerate() {
        let seq = s0 + i as u64;
        prop_assert_eq!(&f.file, &History::name(seq));
        prop_assert_eq!(
            f.size,
            prefix(parts, seq),
            "{} is used as far as it is stored",
            f.file
        );
        let mut written = 0;
        for p in &f.parts {
            prop_assert!(
                p.offset <= written,
                "{} rebuilt with a hole at {}",
                f.file,
                written
            );
            written = written.max((p.offset + p.len).min(f.size));
        }
        prop_assert_eq!(written, f.size);
        if i + 1 < c.binlogs.len() {
            prop_assert!(
                h.closed(seq) && f.size == h.size[seq as usize - 1],
                "{} not closed",
                f.file
            );
        }
    }
    if let Some(first) = c.binlogs.first() {
        prop_assert!(first.size >= start.position);
    }
    let (last, size) = match c.binlogs.last() {
        Some(f) => (sequence(&f.file).unwrap(), f.size),
        None => (s0, prefix(parts, s0)),
    };
    let at_end = !stored_after(parts, last, size);
    let end_clock = if c.binlogs.is_empty() {
        c.full.at
    } else {
        h.clock(last, size)
    };
    let reached = match &c.until {
        Until::Latest => at_end,
        Until::Time(t) => {
            c.full.at <= *t && (end_clock > *t || at_end && *t <= end_clock.max(c.full.at))
        }
        Until::Gtid(g) => {
            let full_seq = c.full.at as u64;
            full_seq <= g.seq
                && (full_seq == g.seq || !c.binlogs.is_empty() && end_clock as u64 >= g.seq)
        }
        Until::Position(p) => {
            let ps = sequence(&p.file).unwrap();
            ps == last && !c.binlogs.is_empty() && size >= p.position
        }
    };
    prop_assert!(
        reached,
        "plan stops short of {:?}: {:#?}",
        c.until,
        c.binlogs
    );
    Ok(())
}

/// An error names a part of the archive that really is missing.
fn check_missing(
    parts: &[PartRef],
    fulls: &[FullRef],
    m: &Missing,
    msg: &str,
) -> Result<(), TestCaseError> {
    let file = match m {
        Missing::Hole { file, .. }
        | Missing::File { file }
        | Missing::Rest { file, .. }
        | Missing::FullPosition { file, .. }
        | Missing::End { file, .. }
        | Missing::Mixed { file, .. } => file,
    };
    prop_assert!(msg.contains(file.as_str()), "{msg}");
    let seq = sequence(file).unwrap();
    let stored = prefix(parts, seq);
    match m {
        Missing::Hole { from, to, .. } => {
            prop_assert!(
                *from == stored
                    && to > from
                    && parts.iter().any(|p| p.file == *file && p.offset >= *to)
            );
        }
        Missing::File { .. } => {
            prop_assert!(
                stored == 0
                    && !parts.iter().any(|p| p.file == *file)
                    && stored_after(parts, seq, 0)
            );
        }
        Missing::Rest { from, .. } => {
            prop_assert!(*from == stored && stored_after(parts, seq, *from))
        }
        Missing::FullPosition {
            stored: s, needed, ..
        } => {
            prop_assert!(*s == stored && s < needed);
            prop_assert!(fulls.iter().any(|f| f
                .binlog
                .as_ref()
                .is_some_and(|c| c.file == *file && c.position == *needed)));
        }
        Missing::End { stored: s, .. } => {
            prop_assert!(*s == stored && !stored_after(parts, seq, *s))
        }
        // One server's history never reads as two.
        Missing::Mixed { .. } => prop_assert!(false, "{msg}"),
    }
    Ok(())
}

fn history() -> impl Strategy<Value = (History, Vec<Vec<u64>>)> {
    (prop::collection::vec(50u64..400, 1..=5), any::<bool>()).prop_flat_map(
        |(size, last_closed)| {
            let n = size.len();
            (
                Just(History { size, last_closed }),
                prop::collection::vec(prop::collection::vec(any::<u64>(), 0..4), n),
            )
        },
    )
}

proptest! {
    #![proptest_config(cases(3000))]

    /// Damaged archives: a plan covers its target without a gap, or the error is true.
    #[test]
    fn a_plan_never_skips_a_hole(
        (h, cuts) in history(),
        damage in prop::collection::vec(damage(), 0..5),
        at in prop::collection::vec((any::<u64>(), any::<u64>(), prop::bool::weighted(0.9)), 0..4),
        until in until(),
    ) {
        let parts = archive(&h, &cuts, &damage);
        let fulls = fulls(&h, &at);
        let cover = Coverage::build(&parts);
        let _ = health(&fulls, &cover);
        match plan(&fulls, &cover, &until) {
            Ok(c) => check_plan(&h, &parts, &c)?,
            Err(e @ ChainError::NotCovered { .. }) => {
                let msg = e.to_string();
                let ChainError::NotCovered { missing, .. } = e else { unreachable!() };
                check_missing(&parts, &fulls, &missing, &msg)?;
            }
            Err(ChainError::PositionPastEnd { position, size, .. }) => {
                let Until::Position(p) = &until else { unreachable!() };
                let seq = sequence(&p.file).unwrap();
                prop_assert!(h.closed(seq) && size == h.size[seq as usize - 1] && size < position);
            }
            Err(ChainError::NoFull) => prop_assert!(fulls.is_empty()),
            Err(ChainError::NoFullBefore(_)) => prop_assert!(!matches!(until, Until::Latest)),
            Err(ChainError::NoCoordinates { .. }) => prop_assert!(fulls.iter().any(|f| f.binlog.is_none())),
        }
    }

    /// An undamaged archive plans every target from its first full to its last event.
    #[test]
    fn an_intact_archive_plans_every_target_in_it(
        (h, cuts) in history(),
        at in prop::collection::vec((any::<u64>(), any::<u64>(), Just(true)), 1..4),
        pick in 0u64..10_000,
    ) {
        let parts = archive(&h, &cuts, &[]);
        let fulls = fulls(&h, &at);
        let n = h.size.len() as u64;
        let end = h.clock(n, h.size[n as usize - 1]);
        let first = fulls.iter().map(|f| f.at).min().unwrap();
        let t = first + (pick as i64) % (end - first + 1);
        let seq = 1 + pick % n;
        let pos = Coordinates { file: History::name(seq), position: pick % (h.size[seq as usize - 1] + 1) };
        let cover = Coverage::build(&parts);
        for until in [Until::Latest, Until::Time(t), Until::Gtid(Gtid { domain: 0, server: 1, seq: t as u64 })] {
            let c = plan(&fulls, &cover, &until);
            prop_assert!(c.is_ok(), "{until:?}: {c:?}");
            check_plan(&h, &parts, &c.unwrap())?;
        }
        let full_before = fulls.iter().any(|f| f.binlog.as_ref().is_some_and(|b| coord_key(b) <= coord_key(&pos)));
        if full_before {
            let c = plan(&fulls, &cover, &Until::Position(pos.clone()));
            prop_assert!(c.is_ok(), "{pos:?}: {c:?}");
        }
    }
}
